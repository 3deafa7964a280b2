package federate

import (
	"time"

	"github.com/commonshelf/commonshelf/cache"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// Metrics are the Engine's Prometheus collectors. A nil *Metrics records
// nothing.
type Metrics struct {
	outcomes *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	breaker  *prometheus.GaugeVec
	shedded  prometheus.Counter
	cache    *cache.Metrics
}

// NewMetrics registers the Engine's collectors with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "commonshelf", Name: "member_searches_total",
			Help: "Searches sent to a member, by outcome (ok, timeout, error, open, busy, skipped).",
		}, []string{"member", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "commonshelf", Name: "member_search_seconds",
			Help:    "Time a member took to answer or fail.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 1.5, 2, 3, 5, 10},
		}, []string{"member"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "commonshelf", Name: "member_breaker_state",
			Help: "A member's circuit breaker: 0 closed, 1 half-open, 2 open.",
		}, []string{"member"}),
	}
	m.shedded = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "commonshelf", Name: "searches_shed_total",
		Help: "Searches refused because the bound on searches in flight was reached.",
	})
	reg.MustRegister(m.outcomes, m.latency, m.breaker, m.shedded)
	m.cache = cache.NewMetrics(reg, "search")
	return m
}

// cacheMetrics are the hot-query cache's collectors (nil if m is).
func (m *Metrics) cacheMetrics() *cache.Metrics {
	if m == nil {
		return nil
	}
	return m.cache
}

func (m *Metrics) memberOutcome(member, status string, took time.Duration) {
	if m == nil {
		return
	}
	m.outcomes.WithLabelValues(member, status).Inc()
	if status == StatusOK || status == StatusError || status == StatusTimeout {
		m.latency.WithLabelValues(member).Observe(took.Seconds())
	}
}

func (m *Metrics) shed() {
	if m == nil {
		return
	}
	m.shedded.Inc()
}

func (m *Metrics) breakerState(member string, s gobreaker.State) {
	if m == nil {
		return
	}
	m.breaker.WithLabelValues(member).Set(float64(s))
}
