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
	"io"
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
	// opSrv serves the operator listener (see ServeOperator).
	opSrv *fasthttp.Server
	// door holds a place per search request being handled (see admit);
	// nil: no bound (the engine has none).
	door chan struct{}
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

// CacheBudget splits the configured cache budget (cache.max_mb) between the
// engine's answer cache and the encoded pages of cached answers: the pages
// get an eighth (a page is a few tens of KB beside an answer's hundreds),
// the answers the rest, so that the two together stay within max_mb. A
// budget of 0 or less is the built-in one.
func CacheBudget(maxMB int) (answers, pages int64) {
	if maxMB <= 0 {
		maxMB = consortium.DefaultCacheMaxMB
	}
	total := int64(maxMB) << 20
	return total - total/8, total / 8
}

// New builds a Server. reg receives the HTTP metrics and is served at
// /metrics (with whatever else is registered on it, such as the engine's).
func New(logger *slog.Logger, cfg *consortium.Config, engine *federate.Engine, reg *prometheus.Registry) *Server {
	s := &Server{log: logger, cfg: cfg, engine: engine, metrics: newHTTPMetrics(reg)}
	_, pageBytes := CacheBudget(cfg.Consortium.Defaults.Cache.MaxMB)
	s.pages = cache.New[encodedPage](cache.Options{MaxEntries: 4096, MaxBytes: pageBytes}, cache.NewMetrics(reg, "pages"))
	g, err := newGateway(cfg, engine)
	if err != nil {
		panic("gateway pages: " + err.Error()) // the templates and catalogues are embedded: a broken build
	}
	s.web = g
	s.prom = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if n := engine.MaxSearches(); n > 0 {
		s.door = make(chan struct{}, doorPerSearch*n)
	}
	s.srv = s.newHTTPServer(s.Handler())
	s.opSrv = s.newHTTPServer(func(ctx *fasthttp.RequestCtx) {
		ctx.SetUserValue(operatorListener, true)
		s.handler(ctx)
	})
	return s
}

// newHTTPServer is the fasthttp server of a listener, serving h.
func (s *Server) newHTTPServer(h fasthttp.RequestHandler) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:            h,
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
		HeaderReceived:        s.uploadHeaderReceived, // uploads are judged before their body
		NoDefaultServerHeader: false,
		NoDefaultDate:         false,
		Logger:                slogPrinter{s.log},
	}
}

// SetReady marks the server ready (or not): ready once every member's
// catalogue and the stores are open. Until then Serve answers /healthz,
// /readyz (503 not_ready) and /metrics, and every other request with 503
// not_ready and Retry-After, touching nothing else of the Server: so the
// setters (SetLists, SetRequests, SetLTI) may be called while Serve runs,
// as long as it is before SetReady(true).
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

// startupRoutes are answered before the server is ready.
var startupRoutes = map[string]bool{"healthz": true, "readyz": true, "metrics": true}

// notReadyRetry is the Retry-After of answers given while starting, in
// seconds.
const notReadyRetry = "5"

// notReady answers a request that arrived while the server is starting.
func notReady(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Retry-After", notReadyRetry)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	writeError(ctx, &apiError{Status: fasthttp.StatusServiceUnavailable, Code: CodeNotReady,
		Message: "Commonshelf is starting: member catalogues and resource lists are still being opened; try again in a few seconds"})
}

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
func (s *Server) Shutdown(ctx context.Context) error {
	// Both, even when the first fails: neither may keep serving.
	return errors.Join(s.opSrv.ShutdownWithContext(ctx), s.srv.ShutdownWithContext(ctx))
}

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
		return get("metrics", s.handleMetrics)
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
// malformed) in the API's JSON error shape. fasthttp's error quotes the
// raw request bytes, credentials included: neither the answer nor the log
// repeats them.
func (s *Server) transportError(ctx *fasthttp.RequestCtx, err error) {
	var big *fasthttp.ErrSmallBuffer
	// The answer says what went wrong in fasthttp's own words, up to the
	// first thing it quotes of the request.
	cause, _, _ := strings.Cut(redactTransport(err.Error()), "[")
	status, msg := fasthttp.StatusBadRequest, "the request could not be read: "+strings.TrimRight(cause, " :,(")
	switch {
	case errors.As(err, &big):
		status, msg = fasthttp.StatusRequestHeaderFieldsTooLarge, "the request line or headers are too large"
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, msg = fasthttp.StatusRequestEntityTooLarge, "the request body is too large"
	case errors.Is(err, io.ErrUnexpectedEOF):
		// The connection ended before the body it declared: for an upload
		// that is the upload's own error (nothing was stored).
		code := CodeInvalidParameter
		if _, ok := fileRoute(strings.TrimPrefix(string(ctx.Path()), "/api/v1/lists/")); ok {
			code = CodeUploadCut
		}
		s.log.Info("request body cut short", "remote", ctx.RemoteIP().String(), "path", string(ctx.Path()))
		ctx.SetConnectionClose()
		writeError(ctx, &apiError{Status: status, Code: code, Message: "the connection ended before the whole body arrived; nothing was stored"})
		return
	}
	s.log.Info("request not readable", "remote", ctx.RemoteIP().String(), "status", status, "err", redactTransport(err.Error()))
	ctx.SetConnectionClose()
	writeError(ctx, &apiError{Status: status, Code: CodeInvalidParameter, Message: msg})
}

// redactTransport cuts what a fasthttp error or log line quotes of the
// request or response bytes ("…: buffer size=N, contents: \"GET /…\""):
// whatever precedes it says what went wrong.
func redactTransport(msg string) string {
	for _, marker := range []string{"buffer size=", "contents:", "Buffer size="} {
		if i := strings.Index(msg, marker); i >= 0 {
			msg = strings.TrimRight(msg[:i], " :,") + " (request bytes not shown)"
		}
	}
	// Any other quoted text (Go-quoted, so a quote inside it is escaped)
	// may be a header value: keep only its length. An unclosed quote
	// hides the rest.
	var b strings.Builder
	for {
		i := strings.IndexByte(msg, '"')
		if i < 0 {
			b.WriteString(msg)
			break
		}
		b.WriteString(msg[:i])
		j, closed := i+1, false
		for ; j < len(msg); j++ {
			if msg[j] == '\\' {
				j++
				continue
			}
			if msg[j] == '"' {
				closed = true
				break
			}
		}
		if !closed {
			b.WriteString("[…]")
			break
		}
		fmt.Fprintf(&b, "[%d bytes]", j-i-1)
		msg = msg[j+1:]
	}
	return b.String()
}

// Handler is the server's request handler: request id, recovery, logging and
// metrics around the routes.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handler }

func (s *Server) handler(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	reqID := string(ctx.Request.Header.Peek("X-Request-Id"))
	if !validRequestID(reqID) {
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
		if !s.ready.Load() && !startupRoutes[rt.name] {
			notReady(ctx)
			return
		}
		if aerr != nil {
			if htmlRoutes[rt.name] {
				s.methodNotAllowedPage(ctx, method, aerr)
				return
			}
			writeError(ctx, aerr)
			return
		}
		release, ok := s.admit(ctx, rt.name)
		if !ok {
			s.shed(ctx, rt.name)
			return
		}
		defer release() // also when the handler panics
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

// validRequestID reports whether a caller's X-Request-Id may be kept (and
// so repeated in the answer and the log): 1–64 letters, digits, '.', '_'
// or '-'.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) handleSearch(ctx *fasthttp.RequestCtx, _ []string) {
	req, aerr := s.parseSearch(ctx.QueryArgs(), s.operator(ctx))
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	// A RequestCtx is no request context: it has no deadline and is
	// cancelled only at shutdown. The engine sets the deadline.
	resp, err := s.engine.Search(context.Background(), req)
	if errors.Is(err, federate.ErrOverloaded) {
		writeError(ctx, overloaded(ctx))
		return
	}
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
		// the TTL only bounds how long an unused one lingers. Its size is
		// what it keeps: body, ETag, key and the cache's entry.
		s.pages.Set(pageKey, cache.Item[encodedPage]{Value: p, Size: int64(cap(body)+cap(p.etag)+len(pageKey)) + 320, TTL: time.Minute})
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

// handleMembers lists the members: to operators with each one's live
// state (breaker, load, recent outcomes and errors), to others only who
// they are.
func (s *Server) handleMembers(ctx *fasthttp.RequestCtx, _ []string) {
	if s.operator(ctx) == opYes {
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"members": s.engine.Members()})
		return
	}
	type memberJSON struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		Connector string `json:"connector"`
	}
	infos := s.engine.Members()
	out := make([]memberJSON, len(infos))
	for i, m := range infos {
		out[i] = memberJSON{ID: m.ID, Name: m.Name, Connector: m.Connector}
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"members": out})
}

// handleMetrics serves the Prometheus metrics to operators.
func (s *Server) handleMetrics(ctx *fasthttp.RequestCtx, _ []string) {
	if aerr := s.operatorOnly(s.operator(ctx), "/metrics"); aerr != nil {
		writeError(ctx, aerr)
		return
	}
	s.prom(ctx)
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
		out.Files = &fileUsage{QuotaBytes: eff.FileQuotaBytes(),
			UploadMaxBytes: map[string]int64{consortium.RoleInstructor: eff.UploadMaxBytes(consortium.RoleInstructor), consortium.RoleStudent: eff.UploadMaxBytes(consortium.RoleStudent)},
			StudentUploads: eff.StudentUploads()}
		// What an institution stores is its own business and its
		// operators': the policy is public, the use is not.
		if p, ok := s.principal(ctx); (ok && p.Inst == id && p.Role == consortium.RoleAdmin && p.Via == "api") || s.operator(ctx) == opYes {
			used, err := s.lists.FileUsage(id)
			if err != nil {
				s.writeStoreError(ctx, err)
				return
			}
			out.Files.UsedBytes = &used
		}
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

// fileUsage is an institution's file storage in its config view.
type fileUsage struct {
	// UsedBytes is shown to the institution's admin key and operators.
	UsedBytes      *int64           `json:"used_bytes,omitempty"`
	QuotaBytes     int64            `json:"quota_bytes"`
	UploadMaxBytes map[string]int64 `json:"upload_max_bytes"`
	StudentUploads bool             `json:"student_uploads"`
}

func (s *Server) handleHealth(ctx *fasthttp.RequestCtx, _ []string) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReady(ctx *fasthttp.RequestCtx, _ []string) {
	if !s.ready.Load() {
		notReady(ctx)
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
	doorShed prometheus.Counter
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
	m.doorShed = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "commonshelf", Name: "front_door_shed_total",
		Help: "Search requests refused at the front door (503) because it was full.",
	})
	reg.MustRegister(m.requests, m.latency, m.doorShed)
	return m
}

func (m *httpMetrics) observe(route string, status int, took time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(took.Seconds())
}

// slogPrinter routes fasthttp's own log lines to slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, args ...any) {
	p.log.Warn(redactTransport(fmt.Sprintf(format, args...)))
}

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
