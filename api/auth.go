package api

import (
	"crypto/subtle"
	"fmt"

	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/lti"
	"github.com/valyala/fasthttp"
)

// sessionCookie names the cookie of a browser signed in through an LTI
// launch.
const sessionCookie = "commonshelf_session"

// principal is who is making a request: an API key's institution and role,
// or a person signed in through their learning platform.
type principal struct {
	Inst string
	// Role is admin, instructor or student.
	Role string
	// Name and Subject are the person's name and platform id (LTI only).
	Name, Subject string
	// Via is "api" or "lti".
	Via     string
	session *lti.Session
}

// staff reports whether the principal may manage its institution's lists
// and files (admin or instructor).
func (p principal) staff() bool {
	return p.Role == consortium.RoleAdmin || p.Role == consortium.RoleInstructor
}

// principal identifies the caller: an API key when the request carries one
// (a wrong key is not silently replaced by a cookie), else the session
// cookie. ok is false for an anonymous caller.
func (s *Server) principal(ctx *fasthttp.RequestCtx) (p principal, ok bool) {
	return s.principalOf(&ctx.Request.Header)
}

func (s *Server) principalOf(h *fasthttp.RequestHeader) (p principal, ok bool) {
	if bearerOf(h) != "" {
		inst, role, ok := s.callerOf(h)
		return principal{Inst: inst, Role: role, Subject: role + " key", Via: "api"}, ok
	}
	if sess := s.sessionOf(h); sess != nil {
		return sessionPrincipal(sess), true
	}
	return principal{}, false
}

// sessionPrincipal is the person of an LTI session.
func sessionPrincipal(sess *lti.Session) principal {
	return principal{Inst: sess.Institution, Role: sess.Role, Name: sess.Name, Subject: sess.Subject, Via: "lti", session: sess}
}

// session returns the LTI session of the request's cookie, or nil.
func (s *Server) session(ctx *fasthttp.RequestCtx) *lti.Session {
	return s.sessionOf(&ctx.Request.Header)
}

func (s *Server) sessionOf(h *fasthttp.RequestHeader) *lti.Session {
	if s.sessions == nil {
		return nil
	}
	id := h.Cookie(sessionCookie)
	if len(id) == 0 {
		return nil
	}
	sess, ok := s.sessions.Get(string(id))
	if !ok {
		return nil
	}
	return sess
}

// checkCSRF guards a state-changing request authenticated by the session
// cookie: it must carry the session's token in the X-CSRF-Token header or
// in form (a form field). API keys are not sent by browsers on their own
// and need no token.
func checkCSRF(ctx *fasthttp.RequestCtx, p principal, form string) *apiError {
	if p.Via != "lti" {
		return nil
	}
	token := string(ctx.Request.Header.Peek("X-CSRF-Token"))
	if token == "" {
		token = form
	}
	if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(p.session.CSRF)) != 1 {
		return &apiError{Status: fasthttp.StatusForbidden, Code: CodeForbidden,
			Message: "this change needs the page's form token (X-CSRF-Token); reload the page and try again"}
	}
	return nil
}

// unauthorized is the 401 for a request without a (valid) API key or
// session.
func unauthorized(ctx *fasthttp.RequestCtx) *apiError {
	ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="commonshelf"`)
	msg := "sign in through your course (LTI) or send an API key: Authorization: Bearer <key>"
	if bearer(ctx) != "" {
		msg = "the API key is not valid"
	}
	return &apiError{Status: fasthttp.StatusUnauthorized, Code: CodeUnauthorized, Message: msg}
}

// member checks that the caller acts for institution inst.
func (s *Server) member(ctx *fasthttp.RequestCtx, inst string) (principal, *apiError) {
	p, ok := s.principal(ctx)
	if !ok {
		return p, unauthorized(ctx)
	}
	if p.Inst != inst {
		return p, &apiError{Status: fasthttp.StatusForbidden, Code: CodeForbidden,
			Message: fmt.Sprintf("you act for %s; this belongs to %s", p.Inst, inst)}
	}
	return p, nil
}
