package lms

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/valyala/fasthttp"

	"github.com/commonshelf/commonshelf/lti"
)

// fakeTool stands for Commonshelf: it publishes a JWKS and signs
// deep-linking responses.
type fakeTool struct {
	srv *httptest.Server
	key *rsa.PrivateKey
	kid string
}

// Keys are slow to make: the tests share them.
var (
	lmsKey  = mustKey()
	toolKey = mustKey()
)

func mustKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func newFakeTool(t *testing.T) *fakeTool {
	ft := &fakeTool{key: toolKey, kid: "tool-key-1"}
	ft.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &ft.key.PublicKey, KeyID: ft.kid, Algorithm: "RS256", Use: "sig"}}})
	}))
	t.Cleanup(ft.srv.Close)
	return ft
}

func (ft *fakeTool) sign(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type env struct {
	p    *Platform
	tool *fakeTool
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ft := newFakeTool(t)
	p, err := New(nil, Config{ServerURL: "http://lms.test", ToolURL: ft.srv.URL, Key: lmsKey, Institutions: []Institution{
		{ID: "north", Name: "North University", ClientID: "cs-north", DeploymentID: "north-1", Locale: "fr",
			Courses: []Course{{Code: "CHEM 101", Title: "General Chemistry"}}},
		{ID: "south", ClientID: "cs-south", DeploymentID: "south-1", Courses: []Course{{Code: "HIST 210"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return &env{p: p, tool: ft}
}

// response is an answer of the platform's handler.
type response struct {
	status   int
	location string
	csp      string
	body     string
}

func (e *env) do(t *testing.T, method, uri string, form url.Values) response {
	t.Helper()
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	if form != nil {
		req.Header.SetContentType("application/x-www-form-urlencoded")
		req.SetBodyString(form.Encode())
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil)
	e.p.Handle(&ctx)
	return response{status: ctx.Response.StatusCode(), location: string(ctx.Response.Header.Peek("Location")),
		csp: string(ctx.Response.Header.Peek("Content-Security-Policy")), body: string(ctx.Response.Body())}
}

// login opens a course link and returns the login initiation the browser is
// sent to.
func (e *env) login(t *testing.T, query string) url.Values {
	t.Helper()
	r := e.do(t, "GET", "http://lms.test/demo-lms/launch?"+query, nil)
	u, err := url.Parse(r.location)
	if r.status != fasthttp.StatusFound || err != nil || !strings.HasPrefix(r.location, e.tool.srv.URL+"/lti/login?") {
		t.Fatalf("launch %s: %d, Location %q: %s", query, r.status, r.location, r.body)
	}
	return u.Query()
}

// authRequest is the tool's authorization request for a login initiation.
func (e *env) authRequest(login url.Values) url.Values {
	return url.Values{
		"scope": {"openid"}, "response_type": {"id_token"}, "response_mode": {"form_post"}, "prompt": {"none"},
		"client_id": {login.Get("client_id")}, "redirect_uri": {e.tool.srv.URL + "/lti/launch"},
		"login_hint": {login.Get("login_hint")}, "lti_message_hint": {login.Get("lti_message_hint")},
		"state": {"state-1"}, "nonce": {"nonce-1"},
	}
}

// hidden returns a hidden field of an auto-posting page.
func hidden(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no field %s in\n%s", name, body)
	}
	return html.UnescapeString(m[1])
}

// idToken verifies an id_token with the platform's JWKS and returns its
// claims.
func (e *env) idToken(t *testing.T, tok string) map[string]any {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(e.do(t, "GET", "http://lms.test/demo-lms/jwks", nil).body), &set); err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(parsed.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in the JWKS", parsed.Headers[0].KeyID)
	}
	var claims map[string]any
	if err := parsed.Claims(keys[0].Key, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestAuthorizationEndpointChecksTheRequest(t *testing.T) {
	e := newEnv(t)
	login := e.login(t, "i=north&c=CHEM+101&as=instructor")
	if login.Get("iss") != "http://lms.test/demo-lms" || login.Get("client_id") != "cs-north" || login.Get("lti_deployment_id") != "north-1" ||
		login.Get("target_link_uri") != e.tool.srv.URL+"/lti/launch" || login.Get("login_hint") == "" {
		t.Fatalf("login initiation %v", login)
	}
	south := e.login(t, "i=south&c=HIST+210&as=student")
	cases := []struct {
		name   string
		change func(q url.Values)
		// page: refused with a page of its own (nothing may go to the
		// redirect_uri); else the OIDC error posted to the tool ("" → a
		// signed id_token).
		page      bool
		wantError string
	}{
		{"a correct request", func(url.Values) {}, false, ""},
		{"a request sent by POST works too", nil, false, ""},
		{"an unknown client_id", func(q url.Values) { q.Set("client_id", "someone-else") }, true, ""},
		{"no client_id", func(q url.Values) { q.Del("client_id") }, true, ""},
		{"a redirect_uri the tool did not register", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/steal") }, true, ""},
		{"no redirect_uri", func(q url.Values) { q.Del("redirect_uri") }, true, ""},
		{"scope without openid", func(q url.Values) { q.Set("scope", "profile") }, false, "invalid_scope"},
		{"response_type code", func(q url.Values) { q.Set("response_type", "code") }, false, "unsupported_response_type"},
		{"response_mode query", func(q url.Values) { q.Set("response_mode", "query") }, false, "invalid_request"},
		{"prompt login", func(q url.Values) { q.Set("prompt", "login") }, false, "invalid_request"},
		{"no nonce", func(q url.Values) { q.Del("nonce") }, false, "invalid_request"},
		{"no state", func(q url.Values) { q.Del("state") }, false, "invalid_request"},
		{"no login_hint", func(q url.Values) { q.Del("login_hint") }, false, "invalid_request"},
		{"a login_hint of another user", func(q url.Values) { q.Set("login_hint", "demo-student-north-chem101") }, false, "login_required"},
		{"no lti_message_hint", func(q url.Values) { q.Del("lti_message_hint") }, false, "invalid_request"},
		{"an altered lti_message_hint", func(q url.Values) {
			h := q.Get("lti_message_hint")
			q.Set("lti_message_hint", strings.Replace(h, h[:4], "eyJy", 1))
		}, false, "invalid_request"},
		{"another institution's lti_message_hint", func(q url.Values) {
			q.Set("lti_message_hint", south.Get("lti_message_hint"))
			q.Set("login_hint", south.Get("login_hint"))
		}, false, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := e.authRequest(login)
			var r response
			if tc.change == nil {
				r = e.do(t, "POST", "http://lms.test/demo-lms/auth", q)
			} else {
				tc.change(q)
				r = e.do(t, "GET", "http://lms.test/demo-lms/auth?"+q.Encode(), nil)
			}
			if tc.page {
				if r.status != fasthttp.StatusBadRequest || strings.Contains(r.body, "<form method=\"post\"") {
					t.Fatalf("want a 400 page without a form, got %d:\n%s", r.status, r.body)
				}
				return
			}
			if r.status != fasthttp.StatusOK || !strings.Contains(r.body, `action="`+e.tool.srv.URL+`/lti/launch"`) ||
				!strings.Contains(r.body, "data-autosubmit") || !strings.Contains(r.body, `src="/demo-lms/autopost.js"`) {
				t.Fatalf("want an auto-posting page to the tool, got %d:\n%s", r.status, r.body)
			}
			if strings.Contains(r.body, "<script>") || !strings.Contains(r.csp, "script-src 'self'") || !strings.Contains(r.csp, "form-action 'self' "+e.tool.srv.URL) {
				t.Errorf("inline script or CSP %q", r.csp)
			}
			if tc.wantError != "" {
				if got := hidden(t, r.body, "error"); got != tc.wantError {
					t.Errorf("error %q, want %q", got, tc.wantError)
				}
				if strings.Contains(r.body, `name="id_token"`) {
					t.Error("an id_token was issued for a refused request")
				}
				return
			}
			if hidden(t, r.body, "state") != "state-1" {
				t.Error("state not echoed")
			}
			c := e.idToken(t, hidden(t, r.body, "id_token"))
			ctxClaim, _ := c[lti.ClaimContext].(map[string]any)
			lp, _ := c[lti.ClaimLaunchPresentation].(map[string]any)
			roles, _ := c[lti.ClaimRoles].([]any)
			if c["iss"] != "http://lms.test/demo-lms" || c["aud"] != "cs-north" || c["nonce"] != "nonce-1" || c["sub"] != login.Get("login_hint") ||
				c[lti.ClaimVersion] != lti.Version || c[lti.ClaimDeploymentID] != "north-1" || c[lti.ClaimMessageType] != lti.MessageResourceLink ||
				c[lti.ClaimTargetLinkURI] != e.tool.srv.URL+"/lti/launch" || ctxClaim["label"] != "CHEM 101" || ctxClaim["title"] != "General Chemistry" ||
				lp["locale"] != "fr" || lp["return_url"] != "http://lms.test/demo-lms/#north" || len(roles) == 0 || roles[0] != roleURIInstructor {
				t.Errorf("claims %v", c)
			}
			if rl, _ := c[lti.ClaimResourceLink].(map[string]any); rl["id"] == "" {
				t.Errorf("resource_link %v", c[lti.ClaimResourceLink])
			}
		})
	}
}

func TestCourseLinks(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, query string
		status      int
	}{
		{"a student of a course", "i=north&c=CHEM+101&as=student", fasthttp.StatusFound},
		{"setting up a link", "i=north&c=CHEM+101&as=setup", fasthttp.StatusFound},
		{"an unknown role", "i=north&c=CHEM+101&as=dean", fasthttp.StatusBadRequest},
		{"an unknown institution", "i=mars&c=CHEM+101&as=student", fasthttp.StatusNotFound},
		{"another institution's course", "i=south&c=CHEM+101&as=student", fasthttp.StatusNotFound},
		{"a forged deep link", "link=eyJ4IjoxfQ.AAAA&as=student", fasthttp.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.do(t, "GET", "http://lms.test/demo-lms/launch?"+tc.query, nil); r.status != tc.status {
				t.Errorf("%d, want %d: %s", r.status, tc.status, r.body)
			}
		})
	}
	if r := e.do(t, "POST", "http://lms.test/demo-lms/launch", url.Values{}); r.status != fasthttp.StatusMethodNotAllowed {
		t.Errorf("POST /launch: %d", r.status)
	}
	home := e.do(t, "GET", "http://lms.test/demo-lms/", nil)
	if home.status != 200 || !strings.Contains(home.body, "Open as student") || !strings.Contains(home.body, "Set up the course link (instructor)") ||
		!strings.Contains(home.body, "CHEM 101") || strings.Contains(home.body, "<script") {
		t.Errorf("home page %d:\n%s", home.status, home.body)
	}
}

// deepLinkRequest runs a deep-linking launch and returns its claims.
func (e *env) deepLinkRequest(t *testing.T, inst, course string) map[string]any {
	t.Helper()
	login := e.login(t, url.Values{"i": {inst}, "c": {course}, "as": {"setup"}}.Encode())
	r := e.do(t, "GET", "http://lms.test/demo-lms/auth?"+e.authRequest(login).Encode(), nil)
	c := e.idToken(t, hidden(t, r.body, "id_token"))
	if c[lti.ClaimMessageType] != lti.MessageDeepLinking {
		t.Fatalf("claims %v", c)
	}
	return c
}

func TestDeepLinkReturnVerifiesTheToolsResponse(t *testing.T) {
	e := newEnv(t)
	req := e.deepLinkRequest(t, "north", "CHEM 101")
	settings := req[lti.ClaimDeepLinkingSettings].(map[string]any)
	if settings["deep_link_return_url"] != "http://lms.test/demo-lms/deep-link-return" || settings["accept_multiple"] != false {
		t.Fatalf("settings %v", settings)
	}
	data := settings["data"].(string)
	southData := e.deepLinkRequest(t, "south", "HIST 210")[lti.ClaimDeepLinkingSettings].(map[string]any)["data"].(string)
	item := map[string]any{"type": "ltiResourceLink", "title": "Core readings", "url": e.tool.srv.URL + "/lti/launch", "custom": map[string]any{"list": "chem101-core"}}
	valid := func() map[string]any {
		now := time.Now()
		return map[string]any{
			"iss": "cs-north", "aud": "http://lms.test/demo-lms", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
			"nonce": "n-" + now.Format(time.RFC3339Nano), lti.ClaimDeploymentID: "north-1", lti.ClaimMessageType: lti.MessageDeepLinkingResponse,
			lti.ClaimVersion: lti.Version, lti.ClaimDeepLinkingData: data, lti.ClaimContentItems: []any{item},
			lti.ClaimDeepLinkingMsg: "Linked the resource list Core readings",
		}
	}
	other := mustKey()
	replayed := e.tool.sign(t, e.tool.key, e.tool.kid, valid())
	cases := []struct {
		name  string
		token func() string
		want  string // "" → accepted
	}{
		{"a correct response", func() string { return replayed }, ""},
		{"the same response again", func() string { return replayed }, "nonce replayed"},
		{"signed with a key the tool does not publish", func() string { return e.tool.sign(t, other, e.tool.kid, valid()) }, "signature"},
		{"an unknown kid", func() string { return e.tool.sign(t, e.tool.key, "nope", valid()) }, "not in the tool's JWKS"},
		{"iss not a client", func() string { c := valid(); c["iss"] = "stranger"; return e.tool.sign(t, e.tool.key, e.tool.kid, c) }, "not a client"},
		{"aud another platform", func() string {
			c := valid()
			c["aud"] = "https://moodle.example"
			return e.tool.sign(t, e.tool.key, e.tool.kid, c)
		}, "aud"},
		{"expired", func() string {
			c := valid()
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			return e.tool.sign(t, e.tool.key, e.tool.kid, c)
		}, "exp"},
		{"no exp", func() string { c := valid(); delete(c, "exp"); return e.tool.sign(t, e.tool.key, e.tool.kid, c) }, "exp or iat is missing"},
		{"another deployment", func() string {
			c := valid()
			c[lti.ClaimDeploymentID] = "south-1"
			return e.tool.sign(t, e.tool.key, e.tool.kid, c)
		}, "deployment_id"},
		{"a launch instead of a response", func() string {
			c := valid()
			c[lti.ClaimMessageType] = lti.MessageResourceLink
			return e.tool.sign(t, e.tool.key, e.tool.kid, c)
		}, "message_type"},
		{"no nonce", func() string { c := valid(); delete(c, "nonce"); return e.tool.sign(t, e.tool.key, e.tool.kid, c) }, "nonce"},
		{"data of no request", func() string {
			c := valid()
			c[lti.ClaimDeepLinkingData] = "made-up"
			return e.tool.sign(t, e.tool.key, e.tool.kid, c)
		}, "data does not echo"},
		{"data of another client's request", func() string {
			c := valid()
			c[lti.ClaimDeepLinkingData] = southData
			return e.tool.sign(t, e.tool.key, e.tool.kid, c)
		}, "another client"},
		{"two items where one is accepted", func() string {
			c := valid()
			c[lti.ClaimContentItems] = []any{item, item}
			return e.tool.sign(t, e.tool.key, e.tool.kid, c)
		}, "accepted one"},
		{"an item on another origin", func() string {
			c := valid()
			c[lti.ClaimContentItems] = []any{map[string]any{"type": "ltiResourceLink", "url": "https://evil.example/launch"}}
			return e.tool.sign(t, e.tool.key, e.tool.kid, c)
		}, "not on the tool's origin"},
		{"an item of a type not accepted", func() string {
			c := valid()
			c[lti.ClaimContentItems] = []any{map[string]any{"type": "html", "html": "<p>hi</p>"}}
			return e.tool.sign(t, e.tool.key, e.tool.kid, c)
		}, "accepted ltiResourceLink only"},
		{"no content_items", func() string {
			c := valid()
			delete(c, lti.ClaimContentItems)
			return e.tool.sign(t, e.tool.key, e.tool.kid, c)
		}, "content_items is missing"},
		{"an unsigned token", func() string { return "eyJhbGciOiJub25lIn0.eyJpc3MiOiJjcy1ub3J0aCJ9." }, "RS256"},
		{"no token", func() string { return "" }, "JWT field is missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "POST", "http://lms.test/demo-lms/deep-link-return", url.Values{"JWT": {tc.token()}})
			body := html.UnescapeString(r.body)
			if tc.want != "" {
				if r.status != fasthttp.StatusBadRequest || !strings.Contains(body, tc.want) {
					t.Fatalf("want a 400 saying %q, got %d:\n%s", tc.want, r.status, body)
				}
				return
			}
			if r.status != fasthttp.StatusOK || !strings.Contains(body, "Core readings") || !strings.Contains(body, "chem101-core") ||
				!strings.Contains(body, "Commonshelf says: Linked the resource list Core readings") {
				t.Fatalf("%d:\n%s", r.status, body)
			}
			// The page's button opens the link as a student; the launch
			// carries the item's custom parameters and target.
			link := hidden(t, r.body, "link")
			login := e.login(t, url.Values{"link": {link}, "as": {"student"}}.Encode())
			a := e.do(t, "GET", "http://lms.test/demo-lms/auth?"+e.authRequest(login).Encode(), nil)
			c := e.idToken(t, hidden(t, a.body, "id_token"))
			custom, _ := c[lti.ClaimCustom].(map[string]any)
			ctxClaim, _ := c[lti.ClaimContext].(map[string]any)
			if custom["list"] != "chem101-core" || c[lti.ClaimMessageType] != lti.MessageResourceLink || ctxClaim["label"] != "CHEM 101" ||
				c[lti.ClaimTargetLinkURI] != e.tool.srv.URL+"/lti/launch" {
				t.Errorf("launch of the linked list: %v", c)
			}
		})
	}
}
