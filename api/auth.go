package api

import (
	"crypto/subtle"
	"fmt"

	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/index"
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
	// Issuer is the learning platform the person signed in through (LTI
	// only).
	Issuer string
	// Via is "api" or "lti".
	Via     string
	session *lti.Session
}

// staff reports whether the principal has a staff role (admin or
// instructor); what it may manage is decided per list by manages.
func (p principal) staff() bool {
	return p.Role == consortium.RoleAdmin || p.Role == consortium.RoleInstructor
}

// manages reports whether the principal may manage list l — see its drafts
// and every file, attach files as staff, change copyright, add citations:
// an admin or instructor API key of the list's institution (the
// institution's own systems), or a person signed in as an instructor of the
// list's course (its course code, or the list the course link was set up
// with). Being an instructor in one course gives nothing over another
// course's lists.
func (p principal) manages(l *index.List) bool {
	if !p.staff() || p.Inst != l.Institution {
		return false
	}
	if p.Via != "lti" {
		return true
	}
	sess := p.session
	if sess.Launch != nil && sess.Launch.Custom["list"] == l.ID {
		return true
	}
	return sess.CourseCode != "" && index.SameCourseCode(l.Course.Code, sess.CourseCode)
}

// seesList reports whether the principal (signed or not) may see list l:
// a published public list anyone; a published list of the institution its
// members; a draft only those who manage it.
func seesList(p principal, signed bool, l *index.List) bool {
	switch {
	case l.Status == index.StatusPublished && l.Visibility == index.VisibilityPublic:
		return true
	case !signed || p.Inst != l.Institution:
		return false
	case l.Status == index.StatusPublished:
		return true
	}
	return p.manages(l)
}

// uploaded reports whether the principal is the person who uploaded f
// (signed in through the same platform as the same, identified, person).
func (p principal) uploaded(f index.File) bool {
	return p.Via == "lti" && f.Uploader.Via == "lti" && p.Subject != "" &&
		p.Subject == f.Uploader.Subject && p.Issuer == f.Uploader.Issuer
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
	p := principal{Inst: sess.Institution, Role: sess.Role, Name: sess.Name, Subject: sess.Subject, Via: "lti", session: sess}
	if sess.Launch != nil {
		p.Issuer = sess.Launch.Platform.Issuer
	}
	return p
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
