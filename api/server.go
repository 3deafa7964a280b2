// Package api is Commonshelf's HTTP edge: fasthttp routes, JSON encoding,
// errors, request ids, logs and metrics. It parses a request, calls the
// engine and encodes the answer; nothing below it knows of HTTP.
package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/commonshelf/commonshelf/cache"
	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/federate"
	"github.com/commonshelf/commonshelf/index"
	"github.com/commonshelf/commonshelf/lti"
	"github.com/commonshelf/commonshelf/requests"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Server serves the JSON API.
type Server struct {
	lists *index.Store // nil: resource lists are not enabled
	// requests is the request store; nil: requests are not enabled.
	requests requests.Store
	log      *slog.Logger
	cfg      *consortium.Config
	engine   *federate.Engine
	metrics  *httpMetrics
	prom     fasthttp.RequestHandler
	ready    atomic.Bool
	srv      *fasthttp.Server
	// pages keeps the encoded bodies of pages of cached answers, so that a
	// hot page is encoded and hashed once (see Response.Version).
	pages *cache.Cache[encodedPage]
	// web renders the gateway pages.
	web *gateway
	// LTI (see SetLTI); lti nil: launches are not enabled.
	lti       *lti.Tool
	sessions  *lti.Sessions
	keys      *lti.KeySet
	publicURL string
	// mounts are handlers of whole path prefixes (see Mount).
	mounts []mount
}

// mount is a handler serving every path under prefix.
type mount struct {
	prefix  string // starts and ends with "/"
	handler fasthttp.RequestHandler
}

// encodedPage is a search response body and its ETag.
type encodedPage struct {
	body []byte
	etag []byte
}

// New builds a Server. reg receives the HTTP metrics and is served at
// /metrics (with whatever else is registered on it, such as the engine's).
func New(logger *slog.Logger, cfg *consortium.Config, engine *federate.Engine, reg *prometheus.Registry) *Server {
	s := &Server{log: logger, cfg: cfg, engine: engine, metrics: newHTTPMetrics(reg)}
	s.pages = cache.New[encodedPage](cache.Options{MaxEntries: 4096, MaxBytes: 64 << 20}, cache.NewMetrics(reg, "pages"))
	g, err := newGateway(cfg, engine)
	if err != nil {
		panic("gateway pages: " + err.Error()) // the templates and catalogues are embedded: a broken build
	}
	s.web = g
	s.prom = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s.srv = &fasthttp.Server{
		Handler:            s.Handler(),
		Name:               "commonshelf",
		ReadTimeout:        30 * time.Second,
		WriteTimeout:       30 * time.Second,
		IdleTimeout:        2 * time.Minute,
		MaxRequestBodySize: 4 << 20,
		// Bodies larger than MaxRequestBodySize, and chunked ones, reach
		// the handler as a stream: every reader caps what it reads (file
		// uploads by the uploader's limit), so nothing fills memory.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		// A 1,000-character query in a non-Latin script is up to 9 KB once
		// percent-encoded; the request line must fit.
		ReadBufferSize:        16 << 10,
		ErrorHandler:          s.transportError,
		ExpectHandler:         s.expectUpload,
		NoDefaultServerHeader: false,
		NoDefaultDate:         false,
		Logger:                slogPrinter{logger},
	}
	return s
}

// SetReady marks the server ready (or not) for /readyz: ready once every
// member's catalogue is open.
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

// Mount has h serve every path under prefix ("/demo-lms/": the path itself
// and everything below it; the path without its final slash is redirected
// there), whatever the method: h answers wrong methods and unknown paths
// itself. A mount takes precedence over the server's own routes, so its
// prefix should be a path of its own. The request id, recovery, logging
// and metrics (route label: the prefix) still wrap h. Mount must be called
// before Serve; it panics on a prefix that does not start and end with "/"
// or is "/".
func (s *Server) Mount(prefix string, h fasthttp.RequestHandler) {
	if len(prefix) < 3 || !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") {
		panic(fmt.Sprintf("api: Mount: prefix %q must start and end with / and name a path", prefix))
	}
	s.mounts = append(s.mounts, mount{prefix: prefix, handler: h})
}

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
				Message: fmt.Sprintf("%s is not allowed on %s; use GET", method, path), allow: "GET, HEAD"}
		}
		return route{name, h, params}, nil
	}
	for _, m := range s.mounts {
		if strings.HasPrefix(path, m.prefix) {
			return route{name: m.prefix, handler: func(ctx *fasthttp.RequestCtx, _ []string) { m.handler(ctx) }}, nil
		}
		if path == strings.TrimSuffix(m.prefix, "/") {
			return route{name: m.prefix, handler: func(ctx *fasthttp.RequestCtx, _ []string) {
				target := m.prefix
				if qs := ctx.URI().QueryString(); len(qs) > 0 {
					target += "?" + string(qs)
				}
				ctx.Redirect(target, fasthttp.StatusMovedPermanently)
			}}, nil
		}
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
	case "/api/v1", "/api/v1/":
		return get("index", s.handleIndex)
	case "/":
		return get("gateway", s.handleGateway, "")
	case "/export/ris", "/export/bibtex":
		return get("export", s.handleExport, strings.TrimPrefix(path, "/export/"))
	}
	if name, ok := strings.CutPrefix(path, "/static/"); ok && name != "" && !strings.Contains(name, "/") {
		return get("static", s.handleStatic, name)
	}
	if rest, ok := strings.CutPrefix(path, "/i/"); ok {
		if rest != "" && !strings.Contains(rest, "/") { // /i/north → /i/north/
			return get("gateway_redirect", func(ctx *fasthttp.RequestCtx, _ []string) {
				target := "/i/" + url.PathEscape(rest) + "/"
				if qs := ctx.URI().QueryString(); len(qs) > 0 {
					target += "?" + string(qs)
				}
				ctx.Redirect(target, fasthttp.StatusMovedPermanently)
			})
		}
		if inst, tail, ok := strings.Cut(rest, "/"); ok && inst != "" {
			switch tail {
			case "":
				return get("gateway", s.handleGateway, inst)
			case "brand.css":
				return get("brand_css", s.handleBrandCSS, inst)
			}
		}
	}
	if rest, ok := strings.CutPrefix(path, "/lists/"); ok {
		if inst, id, ok := strings.Cut(rest, "/"); ok && inst != "" && id != "" && !strings.Contains(id, "/") {
			return get("list_page", s.handleListPage, inst, id)
		}
	}
	// methods routes by method; handlers are method → handler.
	methods := func(name string, handlers map[string]func(*fasthttp.RequestCtx, []string), params ...string) (route, *apiError) {
		if method == fasthttp.MethodHead {
			method = fasthttp.MethodGet
		}
		if h, ok := handlers[method]; ok {
			return route{name, h, params}, nil
		}
		allowed := make([]string, 0, len(handlers))
		for _, m := range []string{fasthttp.MethodGet, fasthttp.MethodPost, fasthttp.MethodPut, fasthttp.MethodPatch, fasthttp.MethodDelete} {
			if _, ok := handlers[m]; ok {
				allowed = append(allowed, m)
			}
		}
		return route{name: name}, &apiError{Status: fasthttp.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
			Message: fmt.Sprintf("%s is not allowed on %s; use %s", method, path, strings.Join(allowed, " or ")), allow: strings.Join(allowed, ", ")}
	}
	switch path {
	case "/requests/new":
		return methods("request_form", map[string]func(*fasthttp.RequestCtx, []string){fasthttp.MethodPost: s.handleRequestForm})
	case "/lists/add":
		return methods("list_add", map[string]func(*fasthttp.RequestCtx, []string){fasthttp.MethodPost: s.handleAddToList})
	}
	if id, ok := strings.CutPrefix(path, "/requests/"); ok && id != "" && !strings.Contains(id, "/") {
		return get("request_page", s.handleRequestPage, id)
	}
	if path == "/api/v1/lists/search" {
		return get("list_search", s.handleListSearch)
	}
	if rest, ok := strings.CutPrefix(path, "/api/v1/lists/"); ok {
		if inst, id, ok := strings.Cut(rest, "/"); ok && inst != "" && id != "" && !strings.Contains(id, "/") {
			return get("list", s.handleGetList, inst, id)
		}
		if p, ok := fileRoute(rest); ok && len(p) == 3 {
			return methods("files", map[string]func(*fasthttp.RequestCtx, []string){fasthttp.MethodPost: s.handleUploadFile}, p...)
		} else if ok {
			return methods("file", map[string]func(*fasthttp.RequestCtx, []string){
				fasthttp.MethodGet: s.handleGetFile, fasthttp.MethodPatch: s.handlePatchFile, fasthttp.MethodDelete: s.handleDeleteFile,
			}, p...)
		}
	}
	switch path {
	case "/lti/login":
		return methods("lti_login", map[string]func(*fasthttp.RequestCtx, []string){fasthttp.MethodGet: s.handleLTILogin, fasthttp.MethodPost: s.handleLTILogin})
	case "/lti/launch":
		return methods("lti_launch", map[string]func(*fasthttp.RequestCtx, []string){fasthttp.MethodPost: s.handleLTILaunch})
	case "/lti/session":
		return get("lti_session", s.handleLTISession)
	case "/lti/deeplink":
		return methods("lti_deeplink", map[string]func(*fasthttp.RequestCtx, []string){fasthttp.MethodPost: s.handleLTIDeepLink})
	case "/.well-known/jwks.json":
		return get("jwks", s.handleJWKS)
	}
	if path == "/api/v1/requests" {
		return methods("requests", map[string]func(*fasthttp.RequestCtx, []string){
			fasthttp.MethodGet: s.handleListRequests, fasthttp.MethodPost: s.handleCreateRequest,
		})
	}
	if rest, ok := strings.CutPrefix(path, "/api/v1/requests/"); ok {
		id, tail, _ := strings.Cut(rest, "/")
		switch {
		case id == "":
		case tail == "" && !strings.HasSuffix(rest, "/"):
			return get("request", s.handleGetRequest, id)
		case tail == "transitions":
			return methods("request_transition", map[string]func(*fasthttp.RequestCtx, []string){fasthttp.MethodPost: s.handleTransition}, id)
		case tail == "marcxml":
			return get("request_marcxml", s.handleRequestMARCXML, id)
		}
	}
	if rest, ok := strings.CutPrefix(path, "/api/v1/institutions/"); ok {
		id, tail, _ := strings.Cut(rest, "/")
		switch {
		case id == "":
		case tail == "config":
			return get("institution_config", s.handleInstitutionConfig, id)
		case tail == "lists:bulk":
			return methods("lists_bulk", map[string]func(*fasthttp.RequestCtx, []string){fasthttp.MethodPost: s.handleBulk}, id)
		case strings.HasPrefix(tail, "lists/") && len(tail) > len("lists/") && !strings.Contains(tail[len("lists/"):], "/"):
			return methods("list_write", map[string]func(*fasthttp.RequestCtx, []string){
				fasthttp.MethodPut: s.handlePutList, fasthttp.MethodDelete: s.handleDeleteList,
			}, id, tail[len("lists/"):])
		}
	}
	return route{name: "unknown"}, &apiError{Status: fasthttp.StatusNotFound, Code: CodeNotFound,
		Message: fmt.Sprintf("no such endpoint: %s", path)}
}

// transportError answers a request fasthttp could not parse (too large,
// malformed) in the API's JSON error shape.
func (s *Server) transportError(ctx *fasthttp.RequestCtx, err error) {
	var big *fasthttp.ErrSmallBuffer
	status, msg := fasthttp.StatusBadRequest, "the request could not be read: "+err.Error()
	if errors.As(err, &big) {
		status, msg = fasthttp.StatusRequestHeaderFieldsTooLarge, "the request line or headers are too large"
	}
	writeError(ctx, &apiError{Status: status, Code: CodeInvalidParameter, Message: msg})
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
				if htmlRoutes[rt.name] {
					s.methodNotAllowedPage(ctx, method, aerr)
					return
				}
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
	cacheControl := searchCacheControl(req, resp, time.Now())
	// A page of a cached answer is the same bytes for the same parameters:
	// the query string (the query as typed, the page, filters…) and the
	// cached answer's version (which stands for scope, home and results).
	var pageKey string
	if resp.Version != 0 && !resp.Stale {
		pageKey = strconv.FormatUint(resp.Version, 36) + "." + strconv.FormatUint(resp.ListsVersion, 36) + "?" + string(ctx.URI().QueryString())
		if p, out := s.pages.Get(pageKey); out.State == cache.Fresh {
			writeCacheable(ctx, p, cacheControl)
			return
		}
	}
	body, err := json.Marshal(searchResponse{Query: queryEcho{Raw: req.Query.Raw, Canonical: req.Query.Canonical()}, Response: resp})
	if err != nil {
		writeError(ctx, &apiError{Status: fasthttp.StatusInternalServerError, Code: CodeInternal, Message: "could not encode the response"})
		return
	}
	p := encodedPage{body: body, etag: strongETag(body)}
	if pageKey != "" {
		// The version in the key retires the entry when the answer changes;
		// the TTL only bounds how long an unused one lingers.
		s.pages.Set(pageKey, cache.Item[encodedPage]{Value: p, Size: int64(len(body) + len(pageKey) + 64), TTL: time.Minute})
	}
	writeCacheable(ctx, p, cacheControl)
}

// strongETag is a quoted hash of the body (the first 128 bits of its
// SHA-256).
func strongETag(body []byte) []byte {
	sum := sha256.Sum256(body)
	etag := make([]byte, 2+32)
	etag[0], etag[len(etag)-1] = '"', '"'
	hex.Encode(etag[1:len(etag)-1], sum[:16])
	return etag
}

// searchCacheControl says how long clients and shared caches may keep a
// search answer: a complete answer for what remains of its freshness in the
// engine's cache; a stale or uncached one must be revalidated (its ETag
// makes that cheap); a partial answer, or one the caller asked to bypass
// the cache for, is not kept at all.
func searchCacheControl(req federate.Request, resp *federate.Response, now time.Time) string {
	switch {
	case resp.Partial || req.BypassCache:
		return "no-store"
	case resp.FreshUntil.After(now):
		return "public, max-age=" + strconv.FormatInt(int64(resp.FreshUntil.Sub(now)/time.Second), 10)
	}
	return "no-cache"
}

// writeCacheable sends a 200 JSON body with its strong ETag and
// cacheControl, or a bodiless 304 when the request's If-None-Match already
// names that ETag. p is only read.
func writeCacheable(ctx *fasthttp.RequestCtx, p encodedPage, cacheControl string) {
	ctx.Response.Header.SetBytesV("ETag", p.etag)
	ctx.Response.Header.Set("Cache-Control", cacheControl)
	if inm := ctx.Request.Header.Peek("If-None-Match"); inm != nil && etagMatches(inm, p.etag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		ctx.ResetBody()
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(p.body) // copies
}

// etagMatches reports whether an If-None-Match value (a list of entity
// tags, or *) names etag, comparing weakly as RFC 9110 says for
// If-None-Match.
func etagMatches(header, etag []byte) bool {
	for part := range bytes.SplitSeq(header, []byte(",")) {
		part = bytes.TrimSpace(part)
		if string(part) == "*" {
			return true
		}
		if bytes.Equal(bytes.TrimPrefix(part, []byte("W/")), etag) {
			return true
		}
	}
	return false
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
	out := struct {
		consortium.Effective
		// Files is the institution's use of its file storage quota.
		Files *fileUsage `json:"files,omitempty"`
	}{Effective: eff}
	if s.lists != nil && s.lists.FilesEnabled() && id != "" {
		used, err := s.lists.FileUsage(id)
		if err != nil {
			s.writeStoreError(ctx, err)
			return
		}
		out.Files = &fileUsage{UsedBytes: used, QuotaBytes: eff.FileQuotaBytes(),
			UploadMaxBytes: map[string]int64{consortium.RoleInstructor: eff.UploadMaxBytes(consortium.RoleInstructor), consortium.RoleStudent: eff.UploadMaxBytes(consortium.RoleStudent)},
			StudentUploads: eff.StudentUploads()}
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

// fileUsage is an institution's file storage in its config view.
type fileUsage struct {
	UsedBytes      int64            `json:"used_bytes"`
	QuotaBytes     int64            `json:"quota_bytes"`
	UploadMaxBytes map[string]int64 `json:"upload_max_bytes"`
	StudentUploads bool             `json:"student_uploads"`
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
		"endpoints": []string{"/", "/i/{institution}/", "/lists/{institution}/{list_id}", "/export/{ris|bibtex}?…", "/api/v1/search?q=…", "/api/v1/lists/search?q=…", "/api/v1/members", "/api/v1/institutions",
			"/api/v1/institutions/{id}/config", "/api/v1/lists/{institution}/{list_id}", "/api/v1/lists/{institution}/{list_id}/citations/{citation_id}/files[/{file_id}]",
			"/api/v1/requests", "/lti/login", "/lti/launch", "/.well-known/jwks.json", "/healthz", "/readyz", "/metrics"},
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

// htmlRoutes are the routes people open in a browser: their errors are
// pages, not JSON.
var htmlRoutes = map[string]bool{
	"gateway": true, "gateway_redirect": true, "list_page": true, "request_form": true, "list_add": true, "request_page": true,
	"lti_login": true, "lti_launch": true, "lti_session": true, "lti_deeplink": true,
}

// methodNotAllowedPage answers a browser route called with the wrong
// method with a page saying which methods it takes.
func (s *Server) methodNotAllowedPage(ctx *fasthttp.RequestCtx, method string, e *apiError) {
	ctx.Response.Header.Set("Allow", e.allow)
	p, _ := s.readPage(ctx, "")
	msg := s.web.r.Localize(p.lang, "error.method", method, e.allow)
	s.writePage(ctx, e.Status, p.lang, func(b *bytes.Buffer) error { return s.web.r.Problem(b, p.site, p.lang, p.form, msg) })
}
