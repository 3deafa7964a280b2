package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/commonshelf/commonshelf/api/web"
	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/index"
	"github.com/commonshelf/commonshelf/lti"
	"github.com/valyala/fasthttp"
)

// maxLTIForm caps the form body of a login initiation or a launch (an
// id_token is a few kilobytes).
const maxLTIForm = 128 << 10

// ltiLaunchTimeout bounds a launch's work, a JWKS fetch included.
const ltiLaunchTimeout = 15 * time.Second

// LTI is what the server needs to act as an LTI 1.3 tool.
type LTI struct {
	Tool     *lti.Tool
	Sessions *lti.Sessions
	// Keys sign deep-linking responses and are published at
	// /.well-known/jwks.json.
	Keys *lti.KeySet
	// PublicURL is the service's absolute address without a trailing
	// slash (deep links point under it).
	PublicURL string
}

// SetLTI enables launches from learning platforms.
func (s *Server) SetLTI(l LTI) {
	s.lti = l.Tool
	s.sessions = l.Sessions
	s.keys = l.Keys
	s.publicURL = l.PublicURL
}

func (s *Server) ltiEnabled(ctx *fasthttp.RequestCtx) bool {
	if s.lti == nil {
		s.notFoundPage(ctx, pageRequest{}, "error.notfound")
		return false
	}
	return true
}

// readForm reads a urlencoded form body (at most maxLTIForm bytes) or, for
// GET, the query string.
func readForm(ctx *fasthttp.RequestCtx) (url.Values, error) {
	if string(ctx.Method()) == fasthttp.MethodGet {
		return url.ParseQuery(string(ctx.URI().QueryString()))
	}
	data, err := io.ReadAll(io.LimitReader(bodyReader(ctx), maxLTIForm+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxLTIForm {
		return nil, fmt.Errorf("the form is larger than %d KB", maxLTIForm>>10)
	}
	return url.ParseQuery(string(data))
}

// ltiProblem answers a rejected login or launch with an error page in the
// consortium's language and one log line saying why.
func (s *Server) ltiProblem(ctx *fasthttp.RequestCtx, step string, err error, attrs ...any) {
	code, msg := "request", err.Error()
	var le *lti.Error
	if errors.As(err, &le) {
		code, msg = le.Code, le.Message
	}
	reqID := string(ctx.Response.Header.Peek("X-Request-Id"))
	// err.Error() carries the cause (a JWKS fetch, a signature check) for
	// the log; the page shows the message only.
	s.log.Warn("lti "+step+" rejected", append([]any{"code", code, "reason", msg, "err", err.Error(), "request_id", reqID}, attrs...)...)
	site := s.web.sites[""]
	lang := s.web.r.Negotiate("", string(ctx.Request.Header.Peek("Accept-Language")), "", s.cfg.Consortium.Defaults.Language)
	r := s.web.r
	s.writePage(ctx, fasthttp.StatusBadRequest, lang, func(b *bytes.Buffer) error {
		return r.LTIProblem(b, site, lang, r.Localize(lang, "lti.error", msg, reqID))
	})
	// Logins and launches arrive in the platform's frame, where the
	// gateway's frame-ancestors 'none' would hide the page behind the
	// browser's own error. Which platform sent a rejected request is not
	// known, so every registered platform may frame the page (it shows no
	// session and has nothing to click that changes anything).
	var frame []string
	for _, p := range s.lti.Platforms() {
		frame = append(frame, platformOrigins(p)...)
	}
	framedPolicy(ctx, origins(frame...))
}

// handleLTILogin: GET|POST /lti/login — OIDC third-party login initiation:
// answered with a redirect to the platform's authorization endpoint.
func (s *Server) handleLTILogin(ctx *fasthttp.RequestCtx, _ []string) {
	if !s.ltiEnabled(ctx) {
		return
	}
	form, err := readForm(ctx)
	if err != nil {
		s.ltiProblem(ctx, "login", &lti.Error{Code: lti.CodeRequest, Message: "The login request could not be read: " + err.Error()})
		return
	}
	redirect, err := s.lti.Login(form)
	if err != nil {
		s.ltiProblem(ctx, "login", err, "iss", form.Get("iss"))
		return
	}
	if u, err := url.Parse(redirect); err == nil {
		setStateCookie(ctx, u.Query().Get("state"))
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("Location", redirect)
	ctx.SetStatusCode(fasthttp.StatusFound)
}

// The browser that starts a login keeps a cookie naming its state, so that
// the launch can be bound to it: a launch whose state cookie the browser
// sends is this browser's own. Where the platform's frame gets no cookies,
// the launch still works, but sets no session cookie either — so a launch
// forged into someone else's browser (login CSRF) cannot plant a session
// there.
const stateCookiePrefix = "commonshelf_lti_"

// stateCookieName is the cookie of one pending login (several course links
// on one page may log in at once).
func stateCookieName(state string) string {
	sum := sha256.Sum256([]byte("commonshelf lti state\x00" + state))
	return stateCookiePrefix + hex.EncodeToString(sum[:8])
}

func setStateCookie(ctx *fasthttp.RequestCtx, state string) {
	if state == "" {
		return
	}
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(stateCookieName(state))
	sum := sha256.Sum256([]byte(state))
	c.SetValue(hex.EncodeToString(sum[:]))
	c.SetPath("/lti/")
	c.SetHTTPOnly(true)
	c.SetSecure(true)
	c.SetSameSite(fasthttp.CookieSameSiteNoneMode)
	c.SetMaxAge(int(stateCookieTTL / time.Second))
	ctx.Response.Header.SetCookie(c)
}

// stateCookieTTL matches the tool's pending-login lifetime.
const stateCookieTTL = lti.DefaultStateTTL

// stateBound reports whether the browser sent the state cookie of its own
// login; either way the cookie is cleared.
func stateBound(ctx *fasthttp.RequestCtx, state string) bool {
	if state == "" {
		return false
	}
	name := stateCookieName(state)
	got := ctx.Request.Header.Cookie(name)
	ctx.Response.Header.DelClientCookie(name)
	sum := sha256.Sum256([]byte(state))
	want := hex.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare(got, []byte(want)) == 1
}

// setSessionCookie sets the session cookie: SameSite=None inside the
// platform's frame (the cookie is third-party there), Lax in a window of
// its own.
func setSessionCookie(ctx *fasthttp.RequestCtx, sess *lti.Session, framed bool) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(sessionCookie)
	c.SetValue(sess.ID)
	c.SetPath("/")
	c.SetHTTPOnly(true)
	c.SetSecure(true)
	c.SetExpire(sess.Expires)
	if framed {
		c.SetSameSite(fasthttp.CookieSameSiteNoneMode)
	} else {
		c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	}
	ctx.Response.Header.SetCookie(c)
}

// platformOrigins are the origins that may frame a platform's launches:
// its issuer's, its authorization endpoint's and those it lists.
func platformOrigins(p *lti.Platform) []string {
	return origins(append([]string{p.Issuer, p.AuthURL}, p.FrameOrigins...)...)
}

// origins returns the scheme://host of URLs, without duplicates.
func origins(urls ...string) []string {
	var out []string
	for _, u := range urls {
		p, err := url.Parse(u)
		if err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http") {
			continue
		}
		o := p.Scheme + "://" + p.Host
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// framedPolicy is the gateway's policy for a page shown in the platform's
// frame: the platform's origins may frame it, and forms may also go to
// formTargets (the deep-linking return URL).
func framedPolicy(ctx *fasthttp.RequestCtx, frameOrigins []string, formTargets ...string) {
	ancestors := "'none'"
	if len(frameOrigins) > 0 {
		ancestors = strings.Join(frameOrigins, " ")
	}
	forms := strings.Join(append([]string{"'self'"}, origins(formTargets...)...), " ")
	ctx.Response.Header.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' https:; "+
		"form-action "+forms+"; base-uri 'none'; frame-ancestors "+ancestors)
	ctx.Response.Header.Set("Cache-Control", "no-store")
}

// handleLTILaunch: POST /lti/launch — the platform's form post of an
// id_token: validated, then the person lands on the course's list (a
// resource link) or on the list chooser (deep linking).
func (s *Server) handleLTILaunch(ctx *fasthttp.RequestCtx, _ []string) {
	if !s.ltiEnabled(ctx) {
		return
	}
	form, err := readForm(ctx)
	if err != nil {
		s.ltiProblem(ctx, "launch", &lti.Error{Code: lti.CodeRequest, Message: "The launch could not be read: " + err.Error()})
		return
	}
	if e := form.Get("error"); e != "" { // the platform refused the authentication request
		s.ltiProblem(ctx, "launch", &lti.Error{Code: lti.CodeRequest, Message: fmt.Sprintf("The learning platform answered %q: %s", e, form.Get("error_description"))})
		return
	}
	bound := stateBound(ctx, form.Get("state"))
	lctx, cancel := context.WithTimeout(context.Background(), ltiLaunchTimeout)
	defer cancel()
	launch, err := s.lti.Launch(lctx, form.Get("id_token"), form.Get("state"))
	if err != nil {
		s.ltiProblem(ctx, "launch", err)
		return
	}
	if _, ok := s.cfg.Institution(launch.Platform.Institution); !ok {
		s.ltiProblem(ctx, "launch", fmt.Errorf("the platform belongs to unknown institution %q", launch.Platform.Institution))
		return
	}
	if launch.DeepLinking != nil && launch.Role != lti.RoleInstructor {
		s.ltiProblem(ctx, "launch", &lti.Error{Code: lti.CodeRoles, Message: "Only instructors can choose the resource list of a course."},
			"platform", launch.Platform.Name, "sub", launch.Subject)
		return
	}
	// A session keeps what the pages need of the launch: its custom
	// parameters only the chosen list's.
	custom := launch.Custom
	launch.Custom = nil
	if id, ok := custom["list"]; ok {
		launch.Custom = map[string]string{"list": id}
	}
	sess := s.sessions.Create(launch)
	s.log.Info("lti launch", "platform", launch.Platform.Name, "institution", sess.Institution, "role", sess.Role,
		"message_type", launch.MessageType, "course", sess.CourseCode, "sub", sess.Subject, "browser_bound", bound)
	if bound {
		setSessionCookie(ctx, sess, true)
	}
	frame := origins(append(platformOrigins(launch.Platform), launch.ReturnURL)...)
	if launch.DeepLinking != nil {
		s.deepLinkChooser(ctx, sess, frame)
		return
	}
	s.coursePage(ctx, sess, frame, "/lti/session?ticket="+url.QueryEscape(s.sessions.Ticket(sess.ID)))
}

// viewer is the page's view of a session.
func (s *Server) viewer(sess *lti.Session, framed bool) *web.Viewer {
	if sess == nil {
		return nil
	}
	eff, _ := s.cfg.Effective(sess.Institution)
	staff := sess.Role == consortium.RoleInstructor || sess.Role == consortium.RoleAdmin
	v := &web.Viewer{Name: sess.Name, Role: sess.Role, Institution: sess.Institution, CSRF: sess.CSRF, Staff: staff,
		Files: s.lists != nil && s.lists.FilesEnabled(), StudentUploads: eff.StudentUploads(), Manages: sessionPrincipal(sess).manages}
	v.Course = strings.TrimSpace(sess.CourseCode + " " + strings.TrimSpace(strings.TrimPrefix(sess.ContextTitle, sess.CourseCode)))
	if staff {
		v.RequestKinds = s.cfg.RequestKinds(sess.Institution)
	}
	return v
}

// sessionLang is the page language for a session: ?lang=, the platform's
// locale, the browser's, then the institution's.
func (s *Server) sessionLang(ctx *fasthttp.RequestCtx, sess *lti.Session) string {
	eff, _ := s.cfg.Effective(sess.Institution)
	accept := string(ctx.Request.Header.Peek("Accept-Language"))
	if sess.Locale != "" {
		accept = sess.Locale + ", " + accept
	}
	return s.web.r.Negotiate(string(ctx.QueryArgs().Peek("lang")), accept, eff.Language(), s.cfg.Consortium.Defaults.Language)
}

// courseLists are the lists a session's course shows: the one a deep link
// chose (custom parameter "list"), else every list of the institution for
// the course code; students see published ones only.
func (s *Server) courseLists(sess *lti.Session) ([]*index.List, error) {
	if s.lists == nil {
		return nil, nil
	}
	all, err := s.lists.InstitutionLists(sess.Institution)
	if err != nil {
		return nil, err
	}
	chosen := ""
	if sess.Launch != nil {
		chosen = sess.Launch.Custom["list"]
	}
	p := sessionPrincipal(sess)
	var out []*index.List
	for _, l := range all {
		switch {
		case chosen != "" && l.ID != chosen:
			continue
		case chosen == "" && (sess.CourseCode == "" || !index.SameCourseCode(l.Course.Code, sess.CourseCode)):
			continue
		case !seesList(p, true, l):
			continue
		}
		filterFiles(l, p, true)
		out = append(out, l)
	}
	return out, nil
}

// coursePage renders the course view of a session: in the platform's frame
// (frame origins given) or in a window of its own.
func (s *Server) coursePage(ctx *fasthttp.RequestCtx, sess *lti.Session, frame []string, newWindow string) {
	lists, err := s.courseLists(sess)
	if err != nil {
		s.log.Error("lti course lists", "institution", sess.Institution, "err", err)
		ctx.Error("the course's lists could not be read; try again", fasthttp.StatusServiceUnavailable)
		return
	}
	site := s.web.sites[sess.Institution]
	site.Viewer = s.viewer(sess, frame != nil)
	lang := s.sessionLang(ctx, sess)
	course := strings.TrimSpace(sess.CourseCode)
	if course == "" {
		course = sess.ContextTitle
	}
	r := s.web.r
	s.writePage(ctx, fasthttp.StatusOK, lang, func(b *bytes.Buffer) error { return r.Launch(b, site, lang, course, lists, newWindow) })
	framedPolicy(ctx, frame)
}

// handleLTISession: GET /lti/session?ticket=… — the "open in a new window"
// fallback: a single-use ticket from the framed page becomes a first-party
// session cookie, then the course view.
func (s *Server) handleLTISession(ctx *fasthttp.RequestCtx, _ []string) {
	if !s.ltiEnabled(ctx) {
		return
	}
	sess, ok := s.sessions.Redeem(string(ctx.QueryArgs().Peek("ticket")))
	if !ok {
		s.ltiProblem(ctx, "session", &lti.Error{Code: lti.CodeState, Message: "This link has expired or was already used."})
		return
	}
	setSessionCookie(ctx, sess, false)
	s.coursePage(ctx, sess, nil, "")
}

// formSession finds the session of a framed form: the session field the
// page put in it, else the cookie (the field is missing where the page was
// not framed). The field comes first because the cookie belongs to the
// browser's latest launch, which may be another course link opened since
// the page was shown; the form's CSRF token is checked against the session
// found either way.
func (s *Server) formSession(ctx *fasthttp.RequestCtx, form url.Values) *lti.Session {
	if pass := form.Get("session"); pass != "" {
		if sess, ok := s.sessions.TakeFormPass(pass); ok {
			return sess
		}
	}
	return s.session(ctx)
}

// deepLinkChooser renders the instructor's choice of list.
func (s *Server) deepLinkChooser(ctx *fasthttp.RequestCtx, sess *lti.Session, frame []string) {
	all, err := s.institutionLists(sess.Institution)
	if err != nil {
		s.log.Error("lti deep link lists", "institution", sess.Institution, "err", err)
		ctx.Error("the lists could not be read; try again", fasthttp.StatusServiceUnavailable)
		return
	}
	var choices []web.DeepLinkChoice
	for _, l := range all {
		choices = append(choices, web.DeepLinkChoice{List: l, ForCourse: sess.CourseCode != "" && index.SameCourseCode(l.Course.Code, sess.CourseCode)})
	}
	slices.SortStableFunc(choices, func(a, b web.DeepLinkChoice) int {
		switch {
		case a.ForCourse == b.ForCourse:
			return strings.Compare(a.List.Name, b.List.Name)
		case a.ForCourse:
			return -1
		}
		return 1
	})
	site := s.web.sites[sess.Institution]
	site.Viewer = s.viewer(sess, true)
	site.Viewer.Session = s.sessions.FormPass(sess.ID)
	lang := s.sessionLang(ctx, sess)
	r := s.web.r
	s.writePage(ctx, fasthttp.StatusOK, lang, func(b *bytes.Buffer) error { return r.DeepLink(b, site, lang, choices) })
	framedPolicy(ctx, frame)
}

func (s *Server) institutionLists(inst string) ([]*index.List, error) {
	if s.lists == nil {
		return nil, nil
	}
	return s.lists.InstitutionLists(inst)
}

// handleLTIDeepLink: POST /lti/deeplink — the instructor's chosen list goes
// back to the platform as a signed LtiDeepLinkingResponse.
func (s *Server) handleLTIDeepLink(ctx *fasthttp.RequestCtx, _ []string) {
	if !s.ltiEnabled(ctx) {
		return
	}
	form, err := readForm(ctx)
	if err != nil {
		s.ltiProblem(ctx, "deep link", &lti.Error{Code: lti.CodeRequest, Message: "The choice could not be read: " + err.Error()})
		return
	}
	sess := s.formSession(ctx, form)
	if sess == nil || sess.Launch == nil || sess.Launch.DeepLinking == nil {
		s.ltiProblem(ctx, "deep link", &lti.Error{Code: lti.CodeState, Message: "This choice does not belong to a course link being set up, or it has expired."})
		return
	}
	if e := checkCSRF(ctx, sessionPrincipal(sess), form.Get("csrf")); e != nil {
		s.ltiProblem(ctx, "deep link", &lti.Error{Code: lti.CodeRequest, Message: "The form token is missing or wrong; start again from the course page."})
		return
	}
	id := form.Get("list")
	var l *index.List
	if s.lists != nil && id != "" {
		l, _, err = s.lists.Get(sess.Institution, id)
		if err != nil {
			s.log.Error("lti deep link list", "institution", sess.Institution, "list", id, "err", err)
		}
	}
	if l == nil {
		s.ltiProblem(ctx, "deep link", &lti.Error{Code: lti.CodeRequest, Message: fmt.Sprintf("%s has no resource list %q.", sess.Institution, id)})
		return
	}
	item := lti.ContentItem{Type: "ltiResourceLink", Title: l.Name, Text: strings.TrimSpace(l.Course.Code + " " + l.Course.Name),
		URL: s.publicURL + "/lti/launch", Custom: map[string]string{"list": l.ID}}
	token, returnURL, err := s.lti.DeepLinkResponse(sess.Launch, []lti.ContentItem{item}, "Linked the resource list "+l.Name)
	if err != nil {
		s.ltiProblem(ctx, "deep link", err)
		return
	}
	s.log.Info("lti deep link", "institution", sess.Institution, "list", l.ID, "platform", sess.Launch.Platform.Name, "sub", sess.Subject)
	lang := s.sessionLang(ctx, sess)
	r := s.web.r
	s.writePage(ctx, fasthttp.StatusOK, lang, func(b *bytes.Buffer) error {
		return r.AutoPost(b, lang, returnURL, []web.Option{{Label: "JWT", Value: token}})
	})
	framedPolicy(ctx, origins(append(platformOrigins(sess.Launch.Platform), returnURL)...), returnURL)
}

// handleJWKS: GET /.well-known/jwks.json — the public keys platforms check
// deep-linking responses with (the next key is published before it signs).
func (s *Server) handleJWKS(ctx *fasthttp.RequestCtx, _ []string) {
	if s.keys == nil {
		writeError(ctx, &apiError{Status: fasthttp.StatusNotFound, Code: CodeNotFound, Message: "this server has no LTI keys"})
		return
	}
	ctx.Response.Header.Set("Cache-Control", "public, max-age=300")
	ctx.SetContentType("application/json")
	ctx.SetBody(s.keys.JWKS())
}
