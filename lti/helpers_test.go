package lti_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/lti"
	"github.com/commonshelf/commonshelf/lti/ltitest"
)

// clock is a fake time source shared by the tool and the test platform.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const toolRedirect = "https://commonshelf.example/lti/launch"

// fixture is a test platform and a tool registered with it, on a fake clock.
type fixture struct {
	clock *clock
	plat  *ltitest.Platform
	tool  *lti.Tool
	keys  *lti.KeySet
}

func newFixture(t *testing.T, edit func(*lti.Config)) *fixture {
	t.Helper()
	clk := newClock()
	plat := ltitest.New(t, "commonshelf-client")
	plat.Now = clk.Now
	plat.RedirectURI = toolRedirect
	keys, err := lti.OpenKeySet(t.TempDir(), lti.KeyOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := lti.Config{
		Platforms:   []lti.Platform{plat.Registration("North Moodle", "north")},
		RedirectURI: toolRedirect,
		Keys:        keys,
		Now:         clk.Now,
	}
	if edit != nil {
		edit(&cfg)
	}
	tool, err := lti.New(nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{clock: clk, plat: plat, tool: tool, keys: keys}
}

// login runs the login initiation and the platform's side of the
// authorization request.
func (f *fixture) login(t *testing.T) (state, nonce string) {
	t.Helper()
	redirect, err := f.tool.Login(f.plat.LoginParams())
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	state, nonce, _ = f.plat.Authorize(t, redirect)
	return state, nonce
}

// launch logs in, builds claims with the login's nonce, lets edit change
// them (nil → no change), signs them with sign (nil → the platform key) and
// launches.
func (f *fixture) launch(t *testing.T, kind, role string, edit func(map[string]any), sign func(map[string]any) string) (*lti.Launch, string, error) {
	t.Helper()
	state, nonce := f.login(t)
	claims := f.plat.Claims(kind, role, "COURSE-101")
	claims["nonce"] = nonce
	if edit != nil {
		edit(claims)
	}
	if sign == nil {
		sign = f.plat.Sign
	}
	l, err := f.tool.Launch(context.Background(), sign(claims), state)
	return l, state, err
}

// wantCode fails unless err is an *lti.Error with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var le *lti.Error
	if !errors.As(err, &le) {
		t.Fatalf("error %v (%T), want *lti.Error with code %q", err, err, code)
	}
	if le.Code != code {
		t.Fatalf("error code %q (%v), want %q", le.Code, err, code)
	}
	if le.Message == "" {
		t.Fatalf("error %q has no message for people", le.Code)
	}
}

// serveJWKS publishes a key set's JWKS on loopback, as the API server does.
func serveJWKS(t *testing.T, k *lti.KeySet) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(k.JWKS())
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/jwks.json"
}
