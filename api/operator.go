package api

import (
	"bytes"
	"fmt"
	"net"
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

// searchRoutes are the routes whose work grows with the query: each
// request holds a place at the front door while it is handled (see admit).
var searchRoutes = map[string]bool{"search": true, "list_search": true, "export": true, "gateway": true,
	"request_form": true, "list_add": true} // the actions find their work with a search

// doorPerSearch is how many search requests may be in the handlers per
// search slot of the engine. The engine's bound decides which searches
// ask the members; this wider one only keeps requests that will be
// refused, or answered from the cache, from piling up in the handlers
// when more arrive than the cores can take (their memory and scheduling
// slowed everything, answered searches included).
const doorPerSearch = 8

// admit takes a place at the front door for a request of route rt without
// waiting: release gives it back (a no-op for a request that needs none);
// ok is false when every place is taken. A gateway page without a query
// searches nothing and needs none.
func (s *Server) admit(ctx *fasthttp.RequestCtx, rt string) (release func(), ok bool) {
	if s.door == nil || !searchRoutes[rt] || (rt == "gateway" && len(ctx.URI().QueryString()) == 0) {
		return func() {}, true
	}
	select {
	case s.door <- struct{}{}:
		return func() { <-s.door }, true
	default:
		s.metrics.doorShed.Inc()
		return nil, false
	}
}

// shed answers a request refused at the front door: 503 with Retry-After,
// at once, as a page on browser routes.
func (s *Server) shed(ctx *fasthttp.RequestCtx, rt string) {
	e := overloaded(ctx)
	if rt == "export" { // as the export answers its other errors
		ctx.SetStatusCode(e.Status)
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString(e.Message + "\n")
		return
	}
	if htmlRoutes[rt] {
		p, _ := s.readPage(ctx, "")
		msg := s.web.r.Localize(p.lang, "error.busy")
		s.writePage(ctx, e.Status, p.lang, func(b *bytes.Buffer) error { return s.web.r.Problem(b, p.site, p.lang, p.form, msg) })
		return
	}
	writeError(ctx, e)
}

// retryAfter is what a search refused for lack of a slot is told to wait.
const retryAfter = time.Second

// retryLater sets the Retry-After of a 503.
func retryLater(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
}

// overloaded is the answer to a search refused because the engine is
// already running as many as it may (federate.ErrOverloaded): 503 with
// Retry-After, at once. It sets the header on ctx.
func overloaded(ctx *fasthttp.RequestCtx) *apiError {
	retryLater(ctx)
	return &apiError{Status: fasthttp.StatusServiceUnavailable, Code: CodeOverloaded,
		Message: "the service is answering as many searches as it can at once; try again in a second"}
}
