// Package api is Commonshelf's HTTP edge: fasthttp routes, JSON encoding,
// errors, request ids, logs and metrics. It parses a request, calls the
// engine and encodes the answer; nothing below it knows of HTTP.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/federate"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Server serves the JSON API.
type Server struct {
	log     *slog.Logger
	cfg     *consortium.Config
	engine  *federate.Engine
	metrics *httpMetrics
	prom    fasthttp.RequestHandler
	ready   atomic.Bool
	srv     *fasthttp.Server
}

// New builds a Server. reg receives the HTTP metrics and is served at
// /metrics (with whatever else is registered on it, such as the engine's).
func New(logger *slog.Logger, cfg *consortium.Config, engine *federate.Engine, reg *prometheus.Registry) *Server {
	s := &Server{log: logger, cfg: cfg, engine: engine, metrics: newHTTPMetrics(reg)}
	s.prom = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s.srv = &fasthttp.Server{
		Handler:               s.Handler(),
		Name:                  "commonshelf",
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		MaxRequestBodySize:    4 << 20,
		NoDefaultServerHeader: false,
		NoDefaultDate:         false,
		Logger:                slogPrinter{logger},
	}
	return s
}

// SetReady marks the server ready (or not) for /readyz: ready once every
// member's catalogue is open.
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Shutdown stops accepting connections and waits for requests in flight,
// at most until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.ShutdownWithContext(ctx) }

// route is a matched endpoint: its label for metrics and its handler.
type route struct {
	name    string
	handler func(ctx *fasthttp.RequestCtx, params []string)
	params  []string
}

// match finds the route for a method and path.
func (s *Server) match(method, path string) (route, *apiError) {
	get := func(name string, h func(*fasthttp.RequestCtx, []string), params ...string) (route, *apiError) {
		if method != fasthttp.MethodGet && method != fasthttp.MethodHead {
			return route{name: name}, &apiError{Status: fasthttp.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
				Message: fmt.Sprintf("%s is not allowed on %s; use GET", method, path)}
		}
		return route{name, h, params}, nil
	}
	switch path {
	case "/api/v1/search":
		return get("search", s.handleSearch)
	case "/api/v1/members":
		return get("members", s.handleMembers)
	case "/api/v1/institutions":
		return get("institutions", s.handleInstitutions)
	case "/healthz":
		return get("healthz", s.handleHealth)
	case "/readyz":
		return get("readyz", s.handleReady)
	case "/metrics":
		return get("metrics", func(ctx *fasthttp.RequestCtx, _ []string) { s.prom(ctx) })
	case "/", "/api/v1", "/api/v1/":
		return get("index", s.handleIndex)
	}
	if rest, ok := strings.CutPrefix(path, "/api/v1/institutions/"); ok {
		id, tail, _ := strings.Cut(rest, "/")
		if tail == "config" && id != "" {
			return get("institution_config", s.handleInstitutionConfig, id)
		}
	}
	return route{name: "unknown"}, &apiError{Status: fasthttp.StatusNotFound, Code: CodeNotFound,
		Message: fmt.Sprintf("no such endpoint: %s", path)}
}

// Handler is the server's request handler: request id, recovery, logging and
// metrics around the routes.
func (s *Server) Handler() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		reqID := string(ctx.Request.Header.Peek("X-Request-Id"))
		if reqID == "" || len(reqID) > 64 {
			reqID = newRequestID()
		}
		ctx.Response.Header.Set("X-Request-Id", reqID)
		method, path := string(ctx.Method()), string(ctx.Path())
		rt, aerr := s.match(method, path)
		func() {
			defer func() {
				if r := recover(); r != nil {
					s.log.Error("handler panicked", "request_id", reqID, "path", path, "panic", r, "stack", string(debug.Stack()))
					writeError(ctx, &apiError{Status: fasthttp.StatusInternalServerError, Code: CodeInternal,
						Message: "internal error; the server log has the details (request id " + reqID + ")"})
				}
			}()
			if aerr != nil {
				writeError(ctx, aerr)
				return
			}
			rt.handler(ctx, rt.params)
		}()
		took := time.Since(start)
		status := ctx.Response.StatusCode()
		s.metrics.observe(rt.name, status, took)
		if rt.name != "metrics" && rt.name != "healthz" && rt.name != "readyz" {
			s.log.Info("http", "request_id", reqID, "method", method, "path", path, "route", rt.name,
				"status", status, "took_ms", float64(took.Microseconds())/1000, "remote", ctx.RemoteIP().String())
		}
	}
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) handleSearch(ctx *fasthttp.RequestCtx, _ []string) {
	req, aerr := s.parseSearch(ctx.QueryArgs())
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	// A RequestCtx is no request context: it has no deadline and is
	// cancelled only at shutdown. The engine sets the deadline.
	resp, err := s.engine.Search(context.Background(), req)
	if err != nil {
		writeError(ctx, fromEngine(err))
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, searchResponse{Query: queryEcho{Raw: req.Query.Raw, Canonical: req.Query.Canonical()}, Response: resp})
}

func (s *Server) handleMembers(ctx *fasthttp.RequestCtx, _ []string) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"members": s.engine.Members()})
}

// institutionJSON is an institution as GET /api/v1/institutions lists it.
type institutionJSON struct {
	ID        string              `json:"id"`
	Name      string              `json:"name"`
	Member    bool                `json:"member"`
	Connector string              `json:"connector,omitempty"`
	Branding  consortium.Branding `json:"branding"`
}

func (s *Server) handleInstitutions(ctx *fasthttp.RequestCtx, _ []string) {
	out := make([]institutionJSON, 0, len(s.cfg.Institutions))
	for _, in := range s.cfg.Institutions {
		j := institutionJSON{ID: in.ID, Name: in.Name, Branding: in.Branding}
		if in.Member != nil {
			j.Member, j.Connector = true, in.Member.Connector
		}
		out = append(out, j)
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"consortium":   map[string]string{"id": s.cfg.Consortium.ID, "name": s.cfg.Consortium.Name},
		"institutions": out,
	})
}

func (s *Server) handleInstitutionConfig(ctx *fasthttp.RequestCtx, params []string) {
	id := params[0]
	eff, ok := s.cfg.Effective(id)
	if !ok {
		writeError(ctx, &apiError{Status: fasthttp.StatusNotFound, Code: CodeUnknownInstitution, Field: "id",
			Message: fmt.Sprintf("unknown institution %q", id)})
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, eff)
}

func (s *Server) handleHealth(ctx *fasthttp.RequestCtx, _ []string) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReady(ctx *fasthttp.RequestCtx, _ []string) {
	if !s.ready.Load() {
		writeError(ctx, &apiError{Status: fasthttp.StatusServiceUnavailable, Code: CodeNotReady, Message: "member catalogues are still being opened"})
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) handleIndex(ctx *fasthttp.RequestCtx, _ []string) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"name":       "Commonshelf",
		"consortium": s.cfg.Consortium.Name,
		"endpoints": []string{"/api/v1/search?q=…", "/api/v1/members", "/api/v1/institutions",
			"/api/v1/institutions/{id}/config", "/healthz", "/readyz", "/metrics"},
	})
}

// httpMetrics counts requests and their latency per route.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "commonshelf", Name: "http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "commonshelf", Name: "http_request_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

func (m *httpMetrics) observe(route string, status int, took time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(took.Seconds())
}

// slogPrinter routes fasthttp's own log lines to slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, args ...any) { p.log.Warn(fmt.Sprintf(format, args...)) }
