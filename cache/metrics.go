package cache

import "github.com/prometheus/client_golang/prometheus"

// Metrics are a cache's Prometheus collectors, labelled cache="<name>". A
// nil *Metrics records nothing.
type Metrics struct {
	hits, misses, stale prometheus.Counter
	evictions           prometheus.Counter
	coalesced           prometheus.Counter
	refreshes           prometheus.Counter
	bytes, entries      prometheus.Gauge
}

// NewMetrics registers a cache's collectors with reg. name ("search")
// becomes the constant label cache="search", so that several caches share
// the metric names; register each name once per registry.
func NewMetrics(reg prometheus.Registerer, name string) *Metrics {
	labels := prometheus.Labels{"cache": name}
	var all []prometheus.Collector
	counter := func(metric, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "commonshelf", Subsystem: "cache", Name: metric, Help: help, ConstLabels: labels,
		})
		all = append(all, c)
		return c
	}
	gauge := func(metric, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "commonshelf", Subsystem: "cache", Name: metric, Help: help, ConstLabels: labels,
		})
		all = append(all, g)
		return g
	}
	m := &Metrics{
		hits:      counter("hits_total", "Lookups answered by a fresh entry."),
		misses:    counter("misses_total", "Lookups that found no usable entry."),
		stale:     counter("stale_serves_total", "Lookups answered by an expired entry within its grace period while it is refreshed."),
		evictions: counter("evictions_total", "Entries evicted to stay within the entry and byte limits."),
		coalesced: counter("coalesced_callers_total", "Callers that waited for another caller's identical computation instead of starting their own."),
		refreshes: counter("refreshes_total", "Background refreshes of stale entries started."),
		bytes:     gauge("bytes", "Approximate bytes held."),
		entries:   gauge("entries", "Entries held (expired ones until read or evicted)."),
	}
	reg.MustRegister(all...)
	return m
}

func (m *Metrics) lookup(s State) {
	if m == nil {
		return
	}
	switch s {
	case Fresh:
		m.hits.Inc()
	case Stale:
		m.stale.Inc()
	default:
		m.misses.Inc()
	}
}

func (m *Metrics) evicted(n int) {
	if m != nil && n > 0 {
		m.evictions.Add(float64(n))
	}
}

func (m *Metrics) joined() {
	if m != nil {
		m.coalesced.Inc()
	}
}

func (m *Metrics) refreshed() {
	if m != nil {
		m.refreshes.Inc()
	}
}

func (m *Metrics) size(entries int, bytes int64) {
	if m != nil {
		m.entries.Set(float64(entries))
		m.bytes.Set(float64(bytes))
	}
}
