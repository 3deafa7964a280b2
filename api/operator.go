package api

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// Operational data — how the service and its members are doing, what each
// institution stores, and searches that bypass the shared answer cache —
// is for the consortium's operators, not for every caller on the open web.
// It is reached with an operator key (server.operator.keys), on the
// operator listener (server.operator.listen, see ServeOperator), or by
// anyone when the configuration says server.operator.open (the demo).

// operatorAccess is what a request may do as an operator.
type operatorAccess uint8

const (
	opNone     operatorAccess = iota // no operator key
	opWrongKey                       // a bearer token that is not an operator key
	opYes                            // an operator
)

// operatorListener marks a request that arrived on the operator listener.
const operatorListener = "commonshelf.operator"

// operator says whether the request comes from an operator.
func (s *Server) operator(ctx *fasthttp.RequestCtx) operatorAccess {
	o := &s.cfg.Server.Operator
	if o.Open || ctx.UserValue(operatorListener) != nil {
		return opYes
	}
	token := bearer(ctx)
	switch {
	case token == "":
		return opNone
	case o.IsKey(token):
		return opYes
	}
	return opWrongKey
}

// operatorOnly is the error for a caller without operator access to what,
// nil for an operator.
func (s *Server) operatorOnly(op operatorAccess, what string) *apiError {
	switch op {
	case opYes:
		return nil
	case opWrongKey:
		return &apiError{Status: fasthttp.StatusForbidden, Code: CodeForbidden,
			Message: fmt.Sprintf("%s is for the consortium's operators; this key is not an operator key", what)}
	}
	return &apiError{Status: fasthttp.StatusUnauthorized, Code: CodeUnauthorized, authenticate: true,
		Message: fmt.Sprintf("%s is for the consortium's operators: send an operator key (Authorization: Bearer <key>) or use the operator address", what)}
}

// ServeOperator serves on ln, until Shutdown, the same endpoints as Serve
// with operator access for every request: ln must be an address only
// operators reach. It may be called once, beside Serve.
func (s *Server) ServeOperator(ln net.Listener) error { return s.opSrv.Serve(ln) }

// DefaultMaxSearches is the bound on searches in flight when the
// configuration sets none: 4 per core, at least 8 — enough to keep the
// cores busy while searches wait on members that answer in milliseconds,
// few enough that an answered search does not wait long behind the others
// (make bench's overload: at twice the saturation rate on 2 cores, answered
// p99 64 ms with 4 in flight, 177 ms with 8, 448 ms with 16). Members that
// take hundreds of milliseconds need more: about searches/s × their latency.
func DefaultMaxSearches() int { return max(8, 4*runtime.GOMAXPROCS(0)) }

// searchRoutes are the routes whose work grows with the query: they take a
// slot of the front-door bound, or are refused when none is free.
var searchRoutes = map[string]bool{"search": true, "list_search": true, "export": true, "gateway": true,
	"request_form": true, "list_add": true} // the actions find their work with a search

// retryAfter is what a shed request is told to wait.
const retryAfter = time.Second

// admit takes a search slot for a request of route rt, without waiting:
// release gives it back (a no-op for a request that needs none); ok is
// false when every slot is taken and the request must be shed. A gateway
// page without a query searches nothing and needs no slot.
func (s *Server) admit(ctx *fasthttp.RequestCtx, rt string) (release func(), ok bool) {
	if !searchRoutes[rt] || (rt == "gateway" && len(ctx.URI().QueryString()) == 0) {
		return func() {}, true
	}
	select {
	case s.searches <- struct{}{}:
		return func() { <-s.searches }, true
	default:
		s.metrics.shed.Inc()
		return nil, false
	}
}

// shed answers a request refused for lack of a search slot: 503 with
// Retry-After, at once, as a page on browser routes.
func (s *Server) shed(ctx *fasthttp.RequestCtx, rt string) {
	ctx.Response.Header.Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
	e := &apiError{Status: fasthttp.StatusServiceUnavailable, Code: CodeOverloaded,
		Message: fmt.Sprintf("the service is answering %d searches already; try again in a second", cap(s.searches))}
	if htmlRoutes[rt] {
		p, _ := s.readPage(ctx, "")
		msg := s.web.r.Localize(p.lang, "error.busy")
		s.writePage(ctx, e.Status, p.lang, func(b *bytes.Buffer) error { return s.web.r.Problem(b, p.site, p.lang, p.form, msg) })
		return
	}
	writeError(ctx, e)
}
