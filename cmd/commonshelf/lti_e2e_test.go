package main

import (
	"cmp"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/index"
	"github.com/commonshelf/commonshelf/lti"
	"github.com/commonshelf/commonshelf/lti/ltitest"
)

// The LTI tests launch the server in a child process from a fake learning
// platform (ltitest) on loopback, over the real wire format: the login
// initiation, the platform's authorization endpoint and its form post of a
// signed id_token, deep linking back to the platform.

const (
	ltiNorthKey = "north-lti-admin-key"
	ltiSouthKey = "south-lti-admin-key"
	ltiClientID = "commonshelf-at-north-moodle"
)

// ltiConsortium writes a consortium where north registers platform p and
// south has no LTI.
func ltiConsortium(t *testing.T, p *ltitest.Platform) (cfg, data string) {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "north.xml"), []byte(`<?xml version="1.0"?><collection xmlns="http://www.loc.gov/MARC21/slim">`+
		marcRecord("n1", "9780134414232", "Brown, Theodore L.", "Chemistry: the central science", "14th ed.", "Pearson", "2017")+`</collection>`), 0o644)
	cfg = filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`consortium: {id: c, name: C}
institutions:
  - id: north
    name: North
    member: {connector: local, files: [north.xml]}
    api_keys: [{sha256: %s, role: admin}]
    lti:
      course_claim: context.label
      platforms:
        - {name: North Moodle, issuer: '%s', client_id: %s, deployment_ids: [%s],
           auth_url: '%s', jwks_url: '%s'}
  - id: south
    name: South
    api_keys: [{sha256: %s, role: admin}]
`, sha(ltiNorthKey), p.Issuer, ltiClientID, p.DeploymentID, p.AuthURL(), p.JWKSURL(), sha(ltiSouthKey))), 0o644)
	return cfg, filepath.Join(dir, "data")
}

func ltiList(id, name, code, status string, citations ...string) index.List {
	l := index.List{ID: id, Name: name, Status: status, Visibility: index.VisibilityInstitution,
		Course: index.Course{Code: code, Name: name + " (course)", Term: "Autumn", Year: 2027}}
	s := index.Section{Title: "Week 1"}
	for i, c := range citations {
		s.Citations = append(s.Citations, index.Citation{ID: fmt.Sprintf("c%d", i+1), Type: index.TypeBook, Title: c, Authors: []string{"Author, Some"}})
	}
	l.Sections = []index.Section{s}
	return l
}

// The lists of the test: north's published and draft lists of CHEM 101,
// a list of another of north's courses, and south's CHEM 101 list.
var (
	ltiCore  = ltiList("chem101-core", "General Chemistry: core readings", "CHEM 101", index.StatusPublished, "Chemistry: the central science", "Why atoms bond")
	ltiDraft = ltiList("chem101-next", "General Chemistry: next term draft", "CHEM 101", index.StatusDraft, "Spectroscopy for beginners")
	ltiHist  = ltiList("hist210", "Medieval Europe: sources", "HIST 210", index.StatusPublished, "The Carolingian world")
	ltiSouth = ltiList("chem101-south", "Southern chemistry readings", "CHEM 101", index.StatusPublished, "Reactions in the south")
)

// anyCookieJar keeps every cookie per host:port and sends them all back:
// net/http/cookiejar does not send Secure cookies over plain http, and the
// server on loopback is plain http while its session cookie is Secure (a
// browser treats http://127.0.0.1 as a secure context and sends it).
type anyCookieJar struct {
	mu      sync.Mutex
	cookies map[string]map[string]*http.Cookie // host → name → cookie
}

func (j *anyCookieJar) SetCookies(u *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cookies == nil {
		j.cookies = map[string]map[string]*http.Cookie{}
	}
	if j.cookies[u.Host] == nil {
		j.cookies[u.Host] = map[string]*http.Cookie{}
	}
	for _, c := range cs {
		if c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
			delete(j.cookies[u.Host], c.Name)
			continue
		}
		j.cookies[u.Host][c.Name] = c
	}
}

func (j *anyCookieJar) Cookies(u *url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.cookies[u.Host] {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

// newBrowser is a client with its own cookies that does not follow
// redirects.
func newBrowser() *http.Client {
	return &http.Client{Jar: &anyCookieJar{}, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// ltiPage is an answer of the server or the platform.
type ltiPage struct {
	status int
	header http.Header
	raw    string // the body as sent
	text   string // the body with HTML entities decoded, for matching text
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values) ltiPage {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return ltiPage{status: resp.StatusCode, header: resp.Header, raw: string(b), text: html.UnescapeString(string(b))}
}

// find returns the first submatch of re in the page's raw HTML, unescaped.
func (p ltiPage) find(t *testing.T, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(p.raw)
	if m == nil {
		t.Fatalf("no %s in the page:\n%s", re, p.raw)
	}
	return html.UnescapeString(m[1])
}

// cookie returns the Set-Cookie of name.
func (p ltiPage) cookie(t *testing.T, name string) *http.Cookie {
	t.Helper()
	for _, line := range p.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie among %q", name, p.header.Values("Set-Cookie"))
	return nil
}

// frameAncestors is the frame-ancestors directive of the page's CSP.
func (p ltiPage) frameAncestors() string {
	for d := range strings.SplitSeq(p.header.Get("Content-Security-Policy"), ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(d), "frame-ancestors "); ok {
			return v
		}
	}
	return ""
}

type ltiEnv struct {
	base string
	p    *ltitest.Platform
	log  *syncBuffer
}

// login starts a launch at the tool's login endpoint and returns the
// redirect to the platform's authorization endpoint, checked by the
// platform.
func (e *ltiEnv) login(t *testing.T, c *http.Client) string {
	t.Helper()
	pg := fetch(t, c, http.MethodGet, e.base+"/lti/login?"+e.p.LoginParams().Encode(), nil)
	loc := pg.header.Get("Location")
	if pg.status != http.StatusFound || loc == "" {
		t.Fatalf("login: %d, Location %q: %s", pg.status, loc, pg.raw)
	}
	e.p.Authorize(t, loc)
	return loc
}

// launch goes the whole way a browser goes: the login, the platform's
// authorization endpoint signing claims, and its form post to the tool.
func (e *ltiEnv) launch(t *testing.T, c *http.Client, claims map[string]any) ltiPage {
	t.Helper()
	e.p.SetAuthClaims(claims)
	defer e.p.SetAuthClaims(nil)
	auth := fetch(t, c, http.MethodGet, e.login(t, c), nil)
	if auth.status != http.StatusOK {
		t.Fatalf("the platform's authorization endpoint: %d %s", auth.status, auth.raw)
	}
	action := auth.find(t, `<form method="post" action="([^"]+)"`)
	if action != e.base+"/lti/launch" {
		t.Fatalf("the platform posts the launch to %s, want %s/lti/launch", action, e.base)
	}
	form := url.Values{"id_token": {auth.find(t, `name="id_token" value="([^"]+)"`)}, "state": {auth.find(t, `name="state" value="([^"]+)"`)}}
	return fetch(t, c, http.MethodPost, action, form)
}

// rejected checks an error page and the log line of its rejection.
func (e *ltiEnv) rejected(t *testing.T, pg ltiPage, step, code, message string) {
	t.Helper()
	reqID := pg.header.Get("X-Request-Id")
	if pg.status != http.StatusBadRequest || !strings.HasPrefix(pg.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(pg.text, message) || reqID == "" || !strings.Contains(pg.text, reqID) {
		t.Fatalf("want a 400 HTML page saying %q with reference %q; got %d %s:\n%s", message, reqID, pg.status, pg.header.Get("Content-Type"), pg.text)
	}
	if !strings.Contains(pg.text, "<title>The course link could not sign you in") {
		t.Errorf("the error page's title is not the failed course link's:\n%s", pg.text)
	}
	if cc := pg.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on an error page", cc)
	}
	// The platform shows the page in its frame.
	if fa := pg.frameAncestors(); !slices.Contains(strings.Fields(fa), e.p.Issuer) {
		t.Errorf("the error page may be framed by %q, not by the platform %s", fa, e.p.Issuer)
	}
	if sc := strings.Join(pg.header.Values("Set-Cookie"), "\n"); strings.Contains(sc, sessionCookieName) {
		t.Errorf("a rejected %s sets a session cookie: %s", step, sc)
	}
	line := e.waitLog(t, `msg="lti `+step+` rejected"`, "request_id="+reqID)
	if !strings.Contains(line, " code="+code+" ") {
		t.Fatalf("log line of the rejection has no code=%s: %s", code, line)
	}
}

// waitLog returns the first log line of the child containing every one of
// parts; the child writes it before answering, but the pipe from its
// stderr may lag.
func (e *ltiEnv) waitLog(t *testing.T, parts ...string) string {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		for line := range strings.SplitSeq(e.log.String(), "\n") {
			if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
				return line
			}
		}
		if time.Now().After(end) {
			t.Fatalf("no log line with %q in:\n%s", parts, e.log.String())
		}
	}
}

const sessionCookieName = "commonshelf_session"

func TestLTILaunchesFromALearningPlatform(t *testing.T) {
	if os.Getenv("COMMONSHELF_E2E_CHILD") != "" {
		t.Skip("child")
	}
	p := ltitest.New(t, ltiClientID)
	cfg, data := ltiConsortium(t, p)
	cmd, base, log := startServerLogged(t, cfg, data)
	defer stopServer(cmd)
	e := &ltiEnv{base: base, p: p, log: log}
	// The platform requires the tool's launch address as redirect_uri, and
	// launches it.
	p.RedirectURI = base + "/lti/launch"
	p.TargetLinkURI = base + "/lti/launch"
	for _, l := range []struct {
		inst, key string
		list      index.List
	}{{"north", ltiNorthKey, ltiCore}, {"north", ltiNorthKey, ltiDraft}, {"north", ltiNorthKey, ltiHist}, {"south", ltiSouthKey, ltiSouth}} {
		body, _ := json.Marshal(l.list)
		if code, b := send(t, http.MethodPut, base+"/api/v1/institutions/"+l.inst+"/lists/"+l.list.ID, l.key, body); code != 201 {
			t.Fatalf("put %s/%s: %d %s", l.inst, l.list.ID, code, b)
		}
	}
	names := func(ls ...index.List) (out []string) {
		for _, l := range ls {
			out = append(out, l.Name)
		}
		return out
	}
	// shows checks that a course page shows exactly the lists want, with
	// their citations, among the test's lists.
	shows := func(t *testing.T, pg ltiPage, want ...index.List) {
		t.Helper()
		if pg.status != http.StatusOK || !strings.HasPrefix(pg.header.Get("Content-Type"), "text/html") {
			t.Fatalf("course page: %d %s:\n%s", pg.status, pg.header.Get("Content-Type"), pg.text)
		}
		var wrong []string
		for _, l := range []index.List{ltiCore, ltiDraft, ltiHist, ltiSouth} {
			shown := strings.Contains(pg.text, l.Name)
			if shown != slices.ContainsFunc(want, func(w index.List) bool { return w.ID == l.ID }) {
				wrong = append(wrong, fmt.Sprintf("list %q shown: %v", l.Name, shown))
			}
			for _, c := range l.Sections[0].Citations {
				if shown && !strings.Contains(pg.text, c.Title) {
					wrong = append(wrong, fmt.Sprintf("list %q is shown without its citation %q", l.Name, c.Title))
				}
			}
		}
		if wrong != nil {
			t.Errorf("want exactly the lists %q: %s; page:\n%s", names(want...), strings.Join(wrong, "; "), pg.text)
		}
	}

	t.Run("a student's launch lands on the course's published list in the platform's frame", func(t *testing.T) {
		c := newBrowser()
		pg := e.launch(t, c, p.Claims(lti.MessageResourceLink, "student", "CHEM 101"))
		shows(t, pg, ltiCore)
		if !strings.Contains(pg.text, "Readings for CHEM 101") || !strings.Contains(pg.text, "Signed in as Stu Student (student, North) from the course CHEM 101 (test course).") {
			t.Errorf("no course heading or viewer line:\n%s", pg.text)
		}
		if ck := pg.cookie(t, sessionCookieName); !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteNoneMode || ck.Value == "" {
			t.Errorf("framed session cookie %q: want Secure, HttpOnly, SameSite=None", ck.Raw)
		}
		if fa := pg.frameAncestors(); fa != p.Issuer {
			t.Errorf("frame-ancestors %q, want the platform's origin %s (CSP %q)", fa, p.Issuer, pg.header.Get("Content-Security-Policy"))
		}
		if cc := pg.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q", cc)
		}

		link := pg.find(t, `href="(/lti/session\?ticket=[^"]+)"`)
		win := fetch(t, c, http.MethodGet, base+link, nil)
		shows(t, win, ltiCore)
		if ck := win.cookie(t, sessionCookieName); !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("first-party session cookie %q: want Secure, HttpOnly, SameSite=Lax", ck.Raw)
		}
		if fa := win.frameAncestors(); fa != "'none'" {
			t.Errorf("the page in its own window may be framed by %q", fa)
		}
		if strings.Contains(win.raw, "/lti/session?ticket=") {
			t.Error("the page in its own window offers to open a new window again")
		}
		e.rejected(t, fetch(t, newBrowser(), http.MethodGet, base+link, nil), "session", lti.CodeState, "This link has expired or was already used.")
	})

	t.Run("a launch posted from a browser that did not start the login shows the page but plants no session", func(t *testing.T) {
		// The attacker starts a login in their own browser and has the
		// victim's browser post the launch (login CSRF): the victim's
		// browser lacks the login's state cookie.
		attacker := newBrowser()
		e.p.SetAuthClaims(p.Claims(lti.MessageResourceLink, "student", "CHEM 101"))
		auth := fetch(t, attacker, http.MethodGet, e.login(t, attacker), nil)
		e.p.SetAuthClaims(nil)
		form := url.Values{"id_token": {auth.find(t, `name="id_token" value="([^"]+)"`)}, "state": {auth.find(t, `name="state" value="([^"]+)"`)}}
		pg := fetch(t, newBrowser(), http.MethodPost, base+"/lti/launch", form)
		shows(t, pg, ltiCore)
		for _, line := range pg.header.Values("Set-Cookie") {
			if c, err := http.ParseSetCookie(line); err == nil && c.Name == sessionCookieName {
				t.Fatalf("an unbound launch set the session cookie %q", line)
			}
		}
		e.waitLog(t, "lti launch", "browser_bound=false")
	})

	t.Run("an instructor's launch also shows the course's draft", func(t *testing.T) {
		pg := e.launch(t, newBrowser(), p.Claims(lti.MessageResourceLink, "instructor", "CHEM 101"))
		shows(t, pg, ltiCore, ltiDraft)
		if !strings.Contains(pg.text, "Ina Instructor") {
			t.Errorf("the page does not say who is signed in:\n%s", pg.text)
		}
	})

	t.Run("an instructor links a list through deep linking, and its launches land on that list", func(t *testing.T) {
		c := newBrowser()
		pg := e.launch(t, c, p.Claims(lti.MessageDeepLinking, "instructor", "CHEM 101"))
		if pg.status != http.StatusOK || !strings.Contains(pg.text, "Choose a resource list for this course") {
			t.Fatalf("chooser: %d\n%s", pg.status, pg.text)
		}
		if fa := pg.frameAncestors(); fa != p.Issuer {
			t.Errorf("chooser frame-ancestors %q, want %s", fa, p.Issuer)
		}
		var choices []string
		for _, m := range regexp.MustCompile(`name="list" id="dl-\d+" value="([^"]+)"`).FindAllStringSubmatch(pg.raw, -1) {
			choices = append(choices, html.UnescapeString(m[1]))
		}
		// The course's own lists first, then north's others; never south's.
		if len(choices) != 3 || !slices.Contains(choices[:2], ltiCore.ID) || !slices.Contains(choices[:2], ltiDraft.ID) || choices[2] != ltiHist.ID {
			t.Fatalf("choices %q, want CHEM 101's two lists, then %s", choices, ltiHist.ID)
		}
		csrf := pg.find(t, `name="csrf" value="([^"]+)"`)
		session := pg.find(t, `name="session" value="([^"]+)"`)

		if session == "" || strings.Contains(pg.raw, cookieOf(c, base)) {
			t.Fatal("the chooser's form carries the session id instead of a pass")
		}
		for _, bad := range []struct{ title, csrf string }{{"no form token", ""}, {"another form token", "not-" + csrf}} {
			t.Run(bad.title+" is refused", func(t *testing.T) {
				// A chooser of its own: a pass is used up by its first post.
				other := newBrowser()
				opg := e.launch(t, other, p.Claims(lti.MessageDeepLinking, "instructor", "CHEM 101"))
				pass := opg.find(t, `name="session" value="([^"]+)"`)
				pg := fetch(t, other, http.MethodPost, base+"/lti/deeplink", url.Values{"csrf": {bad.csrf}, "session": {pass}, "list": {ltiCore.ID}})
				e.rejected(t, pg, "deep link", lti.CodeRequest, "The form token is missing or wrong")
			})
		}

		// Before choosing, the instructor opens another course link in the
		// same browser: the cookie now names that launch's session, and the
		// chooser's form still names its own.
		before := cookieOf(c, base)
		shows(t, e.launch(t, c, p.Claims(lti.MessageResourceLink, "instructor", "HIST 210")), ltiHist)
		if before == "" || cookieOf(c, base) == "" || cookieOf(c, base) == before {
			t.Fatalf("the session cookie was %q, then %q: want the second launch to replace it", before, cookieOf(c, base))
		}

		back := fetch(t, c, http.MethodPost, base+"/lti/deeplink", url.Values{"csrf": {csrf}, "session": {session}, "list": {ltiCore.ID}})
		if back.status != http.StatusOK {
			t.Fatalf("deep link: %d\n%s", back.status, back.text)
		}
		if action := back.find(t, `<form method="post" action="([^"]+)"`); action != p.Issuer+"/deep-link-return" {
			t.Fatalf("the response is posted to %s, want the platform's deep_link_return_url", action)
		}
		if csp := back.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+p.Issuer) {
			t.Errorf("the auto-post page's CSP does not allow the form to the platform: %q", csp)
		}
		claims := p.VerifyDeepLinkResponse(t, base+"/.well-known/jwks.json", back.find(t, `name="JWT" value="([^"]+)"`))
		if d, _ := claims[lti.ClaimDeepLinkingData].(string); d != "ltitest-opaque-data" {
			t.Errorf("data %q not echoed", d)
		}
		items, _ := claims[lti.ClaimContentItems].([]any)
		item, _ := func() (map[string]any, bool) {
			if len(items) != 1 {
				return nil, false
			}
			m, ok := items[0].(map[string]any)
			return m, ok
		}()
		custom, _ := item["custom"].(map[string]any)
		if item["type"] != "ltiResourceLink" || item["url"] != base+"/lti/launch" || item["title"] != ltiCore.Name || len(custom) != 1 || custom["list"] != ltiCore.ID {
			t.Fatalf("content items %v, want one ltiResourceLink to %s/lti/launch with custom list=%s", items, base, ltiCore.ID)
		}

		// The platform now launches the link it created, with its custom
		// parameter: the instructor sees that list only, not the draft of
		// the same course.
		claims = p.Claims(lti.MessageResourceLink, "instructor", "CHEM 101")
		claims[lti.ClaimCustom] = custom
		claims[lti.ClaimTargetLinkURI] = item["url"]
		shows(t, e.launch(t, newBrowser(), claims), ltiCore)
	})

	t.Run("bad launches are refused with an error page and a log line", func(t *testing.T) {
		stray, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			title   string
			code    string
			message string
			kind    string                             // message type; "" → resource link
			mutate  func(map[string]any)               // changes the valid claims
			sign    func(claims map[string]any) string // nil → the platform's key, RS256
			replay  bool                               // post a valid launch twice
		}{
			{title: "an expired token", code: lti.CodeExpired, message: "The login token has expired.",
				mutate: func(c map[string]any) {
					c["iat"], c["exp"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-30*time.Minute).Unix()
				}},
			{title: "a token for another tool", code: lti.CodeAudience, message: "The login token is not meant for Commonshelf (audience).",
				mutate: func(c map[string]any) { c["aud"], c["azp"] = "another-tool", "another-tool" }},
			{title: "a token with another login's nonce", code: lti.CodeNonce, message: "The login token does not belong to this login (nonce).",
				mutate: func(c map[string]any) { c["nonce"] = "nonce-of-another-login" }},
			{title: "a state used twice", code: lti.CodeState, message: "This launch has expired or was already used.", replay: true},
			{title: "LTI 1.1", code: lti.CodeVersion, message: "an LTI version other than 1.3.0",
				mutate: func(c map[string]any) { c[lti.ClaimVersion] = "1.1.0" }},
			{title: "a resource link launch without a resource link", code: lti.CodeResourceLink, message: "resource_link.id is missing",
				mutate: func(c map[string]any) { delete(c, lti.ClaimResourceLink) }},
			{title: "an unregistered deployment", code: lti.CodeDeployment, message: "This deployment of Commonshelf is not registered",
				mutate: func(c map[string]any) { c[lti.ClaimDeploymentID] = "another-deployment" }},
			{title: "no roles", code: lti.CodeRoles, message: "roles claim missing",
				mutate: func(c map[string]any) { delete(c, lti.ClaimRoles) }},
			{title: "a student's deep-linking request", code: lti.CodeRoles, message: "Only instructors can choose the resource list of a course.",
				kind: lti.MessageDeepLinking},
			{title: "a key the platform does not publish", code: lti.CodeKey, message: "signed with a key the platform does not publish",
				sign: func(c map[string]any) string { return p.SignWith(stray, "stray-key", c) }},
			{title: "HS256", code: lti.CodeAlgorithm, message: "an algorithm Commonshelf does not accept (only RS256)",
				sign: func(c map[string]any) string { return p.SignHS256([]byte("a-shared-secret-of-32-bytes-long"), c) }},
			{title: `alg "none"`, code: lti.CodeAlgorithm, message: "an algorithm Commonshelf does not accept (only RS256)",
				sign: p.SignNone},
		} {
			t.Run(c.title, func(t *testing.T) {
				b := newBrowser()
				state, nonce, action := p.Authorize(t, e.login(t, b))
				claims := p.Claims(cmp.Or(c.kind, lti.MessageResourceLink), "student", "CHEM 101")
				claims["nonce"] = nonce
				if c.mutate != nil {
					c.mutate(claims)
				}
				sign := p.Sign
				if c.sign != nil {
					sign = c.sign
				}
				form := url.Values{"id_token": {sign(claims)}, "state": {state}}
				if c.replay {
					if pg := fetch(t, b, http.MethodPost, action, form); pg.status != http.StatusOK {
						t.Fatalf("the first use: %d\n%s", pg.status, pg.text)
					}
				}
				e.rejected(t, fetch(t, b, http.MethodPost, action, form), "launch", c.code, c.message)
			})
		}
	})

	t.Run("a course without a published list says so and offers the search", func(t *testing.T) {
		c := newBrowser()
		pg := e.launch(t, c, p.Claims(lti.MessageResourceLink, "student", "BIOL 999"))
		shows(t, pg)
		if !strings.Contains(pg.text, "No resource list has been published for BIOL 999 yet.") {
			t.Fatalf("no word of the missing list:\n%s", pg.text)
		}
		search := pg.find(t, `<a href="([^"]+)">Search the consortium`)
		if s := fetch(t, c, http.MethodGet, base+search, nil); s.status != http.StatusOK || !strings.Contains(s.raw, `<form`) {
			t.Fatalf("the search %s: %d\n%s", search, s.status, s.text)
		}
	})

	t.Run("a login from an unknown platform is refused with an error page", func(t *testing.T) {
		params := p.LoginParams()
		params.Set("iss", "https://lms.unknown.example.org")
		pg := fetch(t, newBrowser(), http.MethodGet, base+"/lti/login?"+params.Encode(), nil)
		if loc := pg.header.Get("Location"); loc != "" {
			t.Fatalf("redirected to %s", loc)
		}
		e.rejected(t, pg, "login", lti.CodeIssuer, "This learning platform is not registered with Commonshelf.")
	})

	t.Run("the tool's public keys are published as a JWKS", func(t *testing.T) {
		pg := fetch(t, http.DefaultClient, http.MethodGet, base+"/.well-known/jwks.json", nil)
		var set struct{ Keys []map[string]any }
		if pg.status != http.StatusOK || !strings.HasPrefix(pg.header.Get("Content-Type"), "application/json") || json.Unmarshal([]byte(pg.raw), &set) != nil || len(set.Keys) == 0 {
			t.Fatalf("JWKS: %d %s %s", pg.status, pg.header.Get("Content-Type"), pg.raw)
		}
		kids := map[string]bool{}
		for _, k := range set.Keys {
			kid, _ := k["kid"].(string)
			if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" || kid == "" || kids[kid] || k["n"] == nil || k["e"] == nil {
				t.Errorf("key %v: want an RSA RS256 signing key with a kid of its own", k)
			}
			kids[kid] = true
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := k[private]; ok {
					t.Errorf("key %s publishes its private part %q", kid, private)
				}
			}
		}
	})
}

// cookieOf is the session cookie the client holds for base ("" for none).
func cookieOf(c *http.Client, base string) string {
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookieName {
			return ck.Value
		}
	}
	return ""
}
