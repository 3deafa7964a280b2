package lti_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/commonshelf/commonshelf/lti"
)

func TestLoginRedirect(t *testing.T) {
	f := newFixture(t, nil)
	redirect, err := f.tool.Login(f.plat.LoginParams())
	if err != nil {
		t.Fatal(err)
	}
	state, nonce, redirectURI := f.plat.Authorize(t, redirect) // checks every parameter
	if redirectURI != toolRedirect {
		t.Errorf("redirect_uri %q", redirectURI)
	}
	// The state is a signed token (49 bytes: see lti/states.go), the nonce
	// 32 bytes derived from its random part; both base64url.
	if len(state) != 66 || len(nonce) != 43 || strings.Contains(state, nonce) {
		t.Errorf("state %q and nonce %q: want a 49-byte state and a different 32-byte nonce, base64url", state, nonce)
	}
}

func TestLoginValidation(t *testing.T) {
	f := newFixture(t, nil)
	ambiguous := newFixture(t, func(c *lti.Config) {
		second := c.Platforms[0]
		second.Name, second.ClientID = "North Moodle (second client)", "second-client"
		c.Platforms = append(c.Platforms, second)
	})
	shared := ambiguous.plat.LoginParams()
	without := func(params url.Values, keys ...string) url.Values {
		params = url.Values(cloneValues(params))
		for _, k := range keys {
			params.Del(k)
		}
		return params
	}
	with := func(params url.Values, k, v string) url.Values {
		params = url.Values(cloneValues(params))
		params.Set(k, v)
		return params
	}
	good := f.plat.LoginParams()
	for _, tc := range []struct {
		title  string
		tool   *lti.Tool
		params url.Values
		code   string
	}{
		{"missing login_hint", f.tool, without(good, "login_hint"), lti.CodeRequest},
		{"missing iss", f.tool, without(good, "iss"), lti.CodeRequest},
		{"missing target_link_uri", f.tool, without(good, "target_link_uri"), lti.CodeRequest},
		{"relative target_link_uri", f.tool, with(good, "target_link_uri", "/lti/launch"), lti.CodeRequest},
		{"oversized login_hint", f.tool, with(good, "login_hint", strings.Repeat("x", 5000)), lti.CodeRequest},
		{"unknown issuer", f.tool, with(good, "iss", "https://unknown.example"), lti.CodeIssuer},
		{"unknown client_id", f.tool, with(good, "client_id", "nobody"), lti.CodeIssuer},
		{"unregistered deployment", f.tool, with(good, "lti_deployment_id", "dep-99"), lti.CodeDeployment},
		{"two registrations share the issuer and no client_id", ambiguous.tool, without(shared, "client_id", "lti_deployment_id"), lti.CodeIssuer},
	} {
		t.Run(tc.title, func(t *testing.T) {
			redirect, err := tc.tool.Login(tc.params)
			if err == nil {
				t.Fatalf("login accepted: %s", redirect)
			}
			wantCode(t, err, tc.code)
		})
	}
	t.Run("client_id picks one of two registrations", func(t *testing.T) {
		redirect, err := ambiguous.tool.Login(with(without(shared, "lti_deployment_id"), "client_id", "second-client"))
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(redirect)
		if got := u.Query().Get("client_id"); got != "second-client" {
			t.Errorf("client_id %q, want second-client", got)
		}
	})
}

func cloneValues(v url.Values) map[string][]string {
	out := make(map[string][]string, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func TestNewValidatesConfig(t *testing.T) {
	base := lti.Platform{Name: "p", Institution: "i", Issuer: "https://lms.example", ClientID: "c",
		DeploymentIDs: []string{"d"}, AuthURL: "https://lms.example/auth", JWKSURL: "https://lms.example/jwks"}
	edit := func(fn func(*lti.Platform)) lti.Platform { p := base; fn(&p); return p }
	for _, tc := range []struct {
		title     string
		platforms []lti.Platform
		redirect  string
	}{
		{"no platforms", nil, toolRedirect},
		{"relative redirect URI", []lti.Platform{base}, "/lti/launch"},
		{"same issuer and client twice", []lti.Platform{base, edit(func(p *lti.Platform) { p.Name = "q" })}, toolRedirect},
		{"auth URL not http(s)", []lti.Platform{edit(func(p *lti.Platform) { p.AuthURL = "ftp://lms.example/auth" })}, toolRedirect},
		{"no JWKS URL", []lti.Platform{edit(func(p *lti.Platform) { p.JWKSURL = "" })}, toolRedirect},
		{"no deployments", []lti.Platform{edit(func(p *lti.Platform) { p.DeploymentIDs = nil })}, toolRedirect},
		{"no institution", []lti.Platform{edit(func(p *lti.Platform) { p.Institution = "" })}, toolRedirect},
		{"unknown course claim", []lti.Platform{edit(func(p *lti.Platform) { p.CourseClaim = "context.type" })}, toolRedirect},
	} {
		t.Run(tc.title, func(t *testing.T) {
			if _, err := lti.New(nil, lti.Config{Platforms: tc.platforms, RedirectURI: tc.redirect}); err == nil {
				t.Fatal("config accepted")
			}
		})
	}
	if _, err := lti.New(nil, lti.Config{Platforms: []lti.Platform{base, edit(func(p *lti.Platform) { p.ClientID = "c2" })}, RedirectURI: toolRedirect}); err != nil {
		t.Fatalf("two clients at one issuer: %v", err)
	}
}

// dummyTool is a tool whose platform is never contacted (state tests stop
// before any key lookup).
func dummyTool(t *testing.T, edit func(*lti.Config)) *lti.Tool {
	t.Helper()
	cfg := lti.Config{
		Platforms: []lti.Platform{{Name: "p", Institution: "i", Issuer: "https://lms.example", ClientID: "c",
			DeploymentIDs: []string{"d"}, AuthURL: "https://lms.example/auth", JWKSURL: "https://lms.example/jwks"}},
		RedirectURI: toolRedirect,
	}
	if edit != nil {
		edit(&cfg)
	}
	tool, err := lti.New(nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tool
}

func loginState(t *testing.T, tool *lti.Tool) string {
	t.Helper()
	redirect, err := tool.Login(url.Values{"iss": {"https://lms.example"}, "login_hint": {"u1"}, "target_link_uri": {toolRedirect}})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(redirect)
	return u.Query().Get("state")
}

func TestStateExpiresAfterTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tool := dummyTool(t, func(c *lti.Config) { c.StateTTL = 5 * time.Minute })
		ctx := context.Background()
		// A state within its TTL passes the state check and fails on the
		// token; an expired one fails on the state.
		fresh := loginState(t, tool)
		old := loginState(t, tool)
		time.Sleep(4 * time.Minute)
		_, err := tool.Launch(ctx, "garbage", fresh)
		wantCode(t, err, lti.CodeToken)
		time.Sleep(time.Minute)
		_, err = tool.Launch(ctx, "garbage", old)
		wantCode(t, err, lti.CodeState)
		if n := tool.PendingLogins(); n != 0 {
			t.Errorf("%d pending logins left", n)
		}
	})
}

// TestLoginsAreNotEvicted: login initiation stores nothing, so MaxStates
// (which bounds used states) cannot push out a login in progress: every
// state still passes the state check and fails on the token.
func TestLoginsAreNotEvicted(t *testing.T) {
	tool := dummyTool(t, func(c *lti.Config) { c.MaxStates = 2 })
	states := []string{loginState(t, tool), loginState(t, tool), loginState(t, tool)}
	if n := tool.PendingLogins(); n != 0 {
		t.Fatalf("%d login states stored, want none", n)
	}
	for _, s := range states {
		_, err := tool.Launch(context.Background(), "garbage", s)
		wantCode(t, err, lti.CodeToken)
	}
}

// TestForgedStatesAreRefused: a state is only good as issued, by this tool.
func TestForgedStatesAreRefused(t *testing.T) {
	tool := dummyTool(t, nil)
	other := dummyTool(t, nil) // another key
	good := loginState(t, tool)
	b := []byte(good)
	b[len(b)/2] ^= 1
	for _, s := range []string{string(b), good[:len(good)-1], loginState(t, other), good + "A"} {
		_, err := tool.Launch(context.Background(), "garbage", s)
		wantCode(t, err, lti.CodeState)
	}
}

// TestAuthEndpointPostsToTheTool goes through the platform's /auth endpoint
// over HTTP, as a browser would, and posts its form to the tool.
func TestAuthEndpointPostsToTheTool(t *testing.T) {
	f := newFixture(t, nil)
	f.plat.SetAuthClaims(f.plat.Claims(lti.MessageDeepLinking, "instructor", "LIT-7"))
	redirect, err := f.tool.Login(f.plat.LoginParams())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(redirect)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("auth: %d %s", resp.StatusCode, body)
	}
	field := func(name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("no %s in %s", name, body)
		}
		return string(m[1])
	}
	if !strings.Contains(string(body), `action="`+toolRedirect+`"`) {
		t.Fatalf("form does not post to the tool: %s", body)
	}
	l, err := f.tool.Launch(context.Background(), field("id_token"), field("state"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Role != lti.RoleInstructor || l.CourseCode != "LIT-7" || l.DeepLinking == nil {
		t.Errorf("launch role %q course %q deep linking %v", l.Role, l.CourseCode, l.DeepLinking)
	}
}
