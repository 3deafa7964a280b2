package lti_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"reflect"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/lti"
	"github.com/commonshelf/commonshelf/lti/ltitest"
)

func TestValidStudentLaunch(t *testing.T) {
	f := newFixture(t, nil)
	l, _, err := f.launch(t, lti.MessageResourceLink, "student", nil, nil)
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	got := struct {
		Platform, MessageType, Subject, Name, Role, Deployment, Course, ContextID, ContextTitle, ResourceLink, Locale, ReturnURL string
		Roles                                                                                                                    []string
		DeepLinking                                                                                                              bool
	}{
		l.Platform.Name, l.MessageType, l.Subject, l.Name, l.Role, l.DeploymentID, l.CourseCode, l.ContextID, l.ContextTitle, l.ResourceLinkID, l.Locale, l.ReturnURL,
		l.Roles, l.DeepLinking != nil,
	}
	want := got
	want.Platform, want.MessageType, want.Subject, want.Name, want.Role = "North Moodle", lti.MessageResourceLink, "ltitest-student-1", "Stu Student", lti.RoleStudent
	want.Deployment, want.Course, want.ContextID, want.ContextTitle = f.plat.DeploymentID, "COURSE-101", "ctx-COURSE-101", "COURSE-101 (test course)"
	want.ResourceLink, want.Locale, want.ReturnURL = "ltitest-resource-link-1", "en", f.plat.Issuer+"/return"
	want.Roles, want.DeepLinking = []string{ltitest.RoleLearner}, false
	if !reflect.DeepEqual(got, want) {
		t.Errorf("launch\n got %+v\nwant %+v", got, want)
	}
	if wantExp := f.clock.Now().Add(5 * time.Minute); !l.Expires.Equal(wantExp) {
		t.Errorf("Expires %v, want %v", l.Expires, wantExp)
	}
	if l.Platform.Institution != "north" {
		t.Errorf("institution %q, want north", l.Platform.Institution)
	}
}

func TestInstructorDeepLinkingLaunchAndResponse(t *testing.T) {
	f := newFixture(t, nil)
	l, _, err := f.launch(t, lti.MessageDeepLinking, "instructor", nil, nil)
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	if l.Role != lti.RoleInstructor || l.MessageType != lti.MessageDeepLinking {
		t.Fatalf("role %q, message type %q", l.Role, l.MessageType)
	}
	dl := l.DeepLinking
	if dl == nil || dl.ReturnURL != f.plat.Issuer+"/deep-link-return" || !dl.AcceptMultiple || dl.Data != "ltitest-opaque-data" {
		t.Fatalf("deep-linking settings %+v", dl)
	}

	items := []lti.ContentItem{
		{Title: "Middlemarch", Text: "George Eliot, 1871", URL: "https://commonshelf.example/lti/launch?work=w1", Custom: map[string]string{"work": "w1"}},
		{Type: "ltiResourceLink", Title: "Bleak House"},
	}
	token, returnURL, err := f.tool.DeepLinkResponse(l, items, "2 readings added")
	if err != nil {
		t.Fatalf("DeepLinkResponse: %v", err)
	}
	if returnURL != dl.ReturnURL {
		t.Errorf("return URL %q, want %q", returnURL, dl.ReturnURL)
	}
	claims := f.plat.VerifyDeepLinkResponse(t, serveJWKS(t, f.keys), token)
	if got := claims[lti.ClaimDeepLinkingData]; got != "ltitest-opaque-data" {
		t.Errorf("data %v, want the settings' data echoed", got)
	}
	if got := claims[lti.ClaimDeepLinkingMsg]; got != "2 readings added" {
		t.Errorf("msg %v", got)
	}
	got := claims[lti.ClaimContentItems].([]any)
	want := []any{
		map[string]any{"type": "ltiResourceLink", "title": "Middlemarch", "text": "George Eliot, 1871", "url": "https://commonshelf.example/lti/launch?work=w1", "custom": map[string]any{"work": "w1"}},
		map[string]any{"type": "ltiResourceLink", "title": "Bleak House"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("content items\n got %v\nwant %v", got, want)
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 300 {
		t.Errorf("exp-iat = %v s, want 300", exp-iat)
	}
}

func TestDeepLinkResponseRefusals(t *testing.T) {
	f := newFixture(t, nil)
	student, _, err := f.launch(t, lti.MessageResourceLink, "student", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	single, _, err := f.launch(t, lti.MessageDeepLinking, "instructor", func(c map[string]any) {
		c[lti.ClaimDeepLinkingSettings].(map[string]any)["accept_multiple"] = false
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	noKeys, err := lti.New(nil, lti.Config{Platforms: []lti.Platform{f.plat.Registration("x", "north")}, RedirectURI: toolRedirect})
	if err != nil {
		t.Fatal(err)
	}
	two := []lti.ContentItem{{Title: "a"}, {Title: "b"}}
	for _, tc := range []struct {
		title string
		tool  *lti.Tool
		l     *lti.Launch
		items []lti.ContentItem
	}{
		{"a resource link launch is not a deep-linking request", f.tool, student, two[:1]},
		{"two items for a platform that accepts one", f.tool, single, two},
		{"an item type the platform does not accept", f.tool, single, []lti.ContentItem{{Type: "file"}}},
		{"no signing keys configured", noKeys, single, two[:1]},
	} {
		t.Run(tc.title, func(t *testing.T) {
			if _, _, err := tc.tool.DeepLinkResponse(tc.l, tc.items, ""); err == nil {
				t.Fatal("DeepLinkResponse succeeded")
			}
		})
	}
	if _, _, err := noKeys.DeepLinkResponse(single, two[:1], ""); err != lti.ErrNoKeys {
		t.Errorf("without keys: %v, want ErrNoKeys", err)
	}
}

func TestLaunchRejections(t *testing.T) {
	f := newFixture(t, nil)
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&f.plat.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	set := func(k string, v any) func(map[string]any) { return func(c map[string]any) { c[k] = v } }
	del := func(k string) func(map[string]any) { return func(c map[string]any) { delete(c, k) } }
	now := f.clock.Now()
	for _, tc := range []struct {
		title string
		kind  string
		edit  func(map[string]any)
		sign  func(map[string]any) string
		code  string
	}{
		{title: "token expired two minutes ago (leeway is one)", edit: set("exp", now.Add(-2*time.Minute).Unix()), code: lti.CodeExpired},
		{title: "token without exp", edit: del("exp"), code: lti.CodeExpired},
		{title: "token meant for another tool", edit: func(c map[string]any) { c["aud"] = "another-tool"; delete(c, "azp") }, code: lti.CodeAudience},
		{title: "several audiences and no azp", edit: func(c map[string]any) { c["aud"] = []any{"commonshelf-client", "other"}; delete(c, "azp") }, code: lti.CodeAudience},
		{title: "azp names another client", edit: set("azp", "other"), code: lti.CodeAudience},
		{title: "nonce of another login", edit: set("nonce", "not-the-nonce"), code: lti.CodeNonce},
		{title: "LTI 1.1 version claim", edit: set(lti.ClaimVersion, "1.1"), code: lti.CodeVersion},
		{title: "resource link launch without resource_link", edit: del(lti.ClaimResourceLink), code: lti.CodeResourceLink},
		{title: "resource link launch without target_link_uri", edit: del(lti.ClaimTargetLinkURI), code: lti.CodeTargetLinkURI},
		{title: "unregistered deployment", edit: set(lti.ClaimDeploymentID, "deployment-99"), code: lti.CodeDeployment},
		{title: "no roles claim", edit: del(lti.ClaimRoles), code: lti.CodeRoles},
		{title: "roles claim is a string", edit: set(lti.ClaimRoles, "Instructor"), code: lti.CodeClaim},
		{title: "unsupported message type", edit: set(lti.ClaimMessageType, "LtiSubmissionReviewRequest"), code: lti.CodeMessageType},
		{title: "signed by a key not in the JWKS", sign: func(c map[string]any) string { return f.plat.SignWith(stranger, "stranger-kid", c) }, code: lti.CodeKey},
		{title: "signed by another key under the platform's kid", sign: func(c map[string]any) string { return f.plat.SignWith(stranger, f.plat.KID, c) }, code: lti.CodeSignature},
		{title: "HS256 token keyed with the platform's public key (key confusion)", sign: func(c map[string]any) string { return f.plat.SignHS256(publicPEM, c) }, code: lti.CodeAlgorithm},
		{title: "alg none token", sign: f.plat.SignNone, code: lti.CodeAlgorithm},
		{title: "not a JWS at all", sign: func(map[string]any) string { return "not-a-token" }, code: lti.CodeToken},
		{title: "issuer is another platform", edit: set("iss", "https://evil.example"), code: lti.CodeIssuer},
		{title: "issued five minutes in the future", edit: set("iat", now.Add(5*time.Minute).Unix()), code: lti.CodeIssuedAt},
		{title: "not valid before five minutes from now", edit: set("nbf", now.Add(5*time.Minute).Unix()), code: lti.CodeIssuedAt},
		{title: "deep linking without settings", kind: lti.MessageDeepLinking, edit: del(lti.ClaimDeepLinkingSettings), code: lti.CodeDeepLinking},
		{title: "deep linking that does not accept resource links", kind: lti.MessageDeepLinking, edit: func(c map[string]any) {
			c[lti.ClaimDeepLinkingSettings].(map[string]any)["accept_types"] = []any{"file"}
		}, code: lti.CodeDeepLinking},
		{title: "deep linking without a return URL", kind: lti.MessageDeepLinking, edit: func(c map[string]any) {
			delete(c[lti.ClaimDeepLinkingSettings].(map[string]any), "deep_link_return_url")
		}, code: lti.CodeDeepLinking},
	} {
		t.Run(tc.title, func(t *testing.T) {
			kind := tc.kind
			if kind == "" {
				kind = lti.MessageResourceLink
			}
			l, _, err := f.launch(t, kind, "student", tc.edit, tc.sign)
			if err == nil {
				t.Fatalf("launch accepted: %+v", l)
			}
			wantCode(t, err, tc.code)
		})
	}
}

func TestStateIsSingleUse(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()

	t.Run("replayed state after a good launch", func(t *testing.T) {
		state, nonce := f.login(t)
		c := f.plat.Claims(lti.MessageResourceLink, "student", "C1")
		c["nonce"] = nonce
		token := f.plat.Sign(c)
		if _, err := f.tool.Launch(ctx, token, state); err != nil {
			t.Fatalf("first launch: %v", err)
		}
		_, err := f.tool.Launch(ctx, token, state)
		wantCode(t, err, lti.CodeState)
	})
	t.Run("a token signed for another login leaves the state to its own, once", func(t *testing.T) {
		state, nonce := f.login(t)
		c := f.plat.Claims(lti.MessageResourceLink, "student", "C1")
		c["nonce"] = "wrong"
		_, err := f.tool.Launch(ctx, f.plat.Sign(c), state)
		wantCode(t, err, lti.CodeNonce)
		c["nonce"] = nonce
		token := f.plat.Sign(c)
		if _, err := f.tool.Launch(ctx, token, state); err != nil {
			t.Fatalf("the state's own token: %v", err)
		}
		_, err = f.tool.Launch(ctx, token, state)
		wantCode(t, err, lti.CodeState)
	})
	t.Run("unknown state", func(t *testing.T) {
		c := f.plat.Claims(lti.MessageResourceLink, "student", "C1")
		_, err := f.tool.Launch(ctx, f.plat.Sign(c), "made-up-state")
		wantCode(t, err, lti.CodeState)
	})
	t.Run("missing state or token", func(t *testing.T) {
		_, err := f.tool.Launch(ctx, "a.b.c", "")
		wantCode(t, err, lti.CodeRequest)
		state, _ := f.login(t)
		_, err = f.tool.Launch(ctx, "", state)
		wantCode(t, err, lti.CodeRequest)
	})
}

func TestJWKSCachedAndRefetchedOnUnknownKid(t *testing.T) {
	f := newFixture(t, nil)
	ok := func(step string) {
		t.Helper()
		if _, _, err := f.launch(t, lti.MessageResourceLink, "student", nil, nil); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	fetches := func(step string, want int) {
		t.Helper()
		if got := f.plat.JWKSFetches(); got != want {
			t.Fatalf("%s: %d JWKS fetches, want %d", step, got, want)
		}
	}
	ok("first launch")
	fetches("first launch", 1)
	ok("second launch")
	fetches("second launch uses the cached JWKS", 1)

	f.plat.RotateKey(t)
	ok("launch signed with the platform's new key")
	fetches("unknown kid refetches once", 2)

	// A flood of made-up kids refetches at most once per refetch interval.
	bogus, _ := f.plat.AddKey(t) // published, but not under the kids used below
	for i := range 5 {
		_, _, err := f.launch(t, lti.MessageResourceLink, "student", nil, func(c map[string]any) string {
			return f.plat.SignWith(bogus, "made-up-"+string(rune('a'+i)), c)
		})
		wantCode(t, err, lti.CodeKey)
	}
	fetches("the made-up kids right after a refetch", 2)
	f.clock.Advance(lti.DefaultJWKSRefetchInterval)
	_, _, err := f.launch(t, lti.MessageResourceLink, "student", nil, func(c map[string]any) string {
		return f.plat.SignWith(bogus, "made-up-z", c)
	})
	wantCode(t, err, lti.CodeKey)
	fetches("a made-up kid a refetch interval later", 3)
	ok("good launch in between")
	fetches("good launch with a cached kid", 3)

	f.clock.Advance(lti.DefaultJWKSMaxAge)
	ok("launch after the JWKS max age")
	fetches("JWKS older than its max age", 4)
}

func TestJWKSUnavailable(t *testing.T) {
	f := newFixture(t, func(c *lti.Config) { c.Platforms[0].JWKSURL = "http://127.0.0.1:1/jwks" })
	_, _, err := f.launch(t, lti.MessageResourceLink, "student", nil, nil)
	wantCode(t, err, lti.CodeKey)
}

func TestCourseClaim(t *testing.T) {
	for _, tc := range []struct {
		title, claim string
		edit         func(map[string]any)
		want         string
	}{
		{"default is the context label", "", nil, "COURSE-101"},
		{"context title", "context.title", nil, "COURSE-101 (test course)"},
		{"context id", "context.id", nil, "ctx-COURSE-101"},
		{"custom parameter", "custom.lis_course_code", func(c map[string]any) {
			c[lti.ClaimCustom] = map[string]any{"lis_course_code": "HIST-2042", "year": 2026}
		}, "HIST-2042"},
		{"custom parameter the platform could not substitute", "custom.lis_course_code", func(c map[string]any) {
			c[lti.ClaimCustom] = map[string]any{"lis_course_code": "$CourseSection.sourcedId"}
		}, ""},
		{"LIS course offering", "lis.course_offering_sourcedid", func(c map[string]any) {
			c[lti.ClaimLIS] = map[string]any{"course_offering_sourcedid": "2026-HIST-2042"}
		}, "2026-HIST-2042"},
		{"absent claim", "lis.course_section_sourcedid", nil, ""},
		{"no context at all", "", func(c map[string]any) { delete(c, lti.ClaimContext) }, ""},
	} {
		t.Run(tc.title, func(t *testing.T) {
			f := newFixture(t, func(c *lti.Config) { c.Platforms[0].CourseClaim = tc.claim })
			l, _, err := f.launch(t, lti.MessageResourceLink, "student", tc.edit, nil)
			if err != nil {
				t.Fatal(err)
			}
			if l.CourseCode != tc.want {
				t.Errorf("course code %q, want %q", l.CourseCode, tc.want)
			}
		})
	}
}

func TestCustomClaimValuesAreStrings(t *testing.T) {
	f := newFixture(t, nil)
	l, _, err := f.launch(t, lti.MessageResourceLink, "student", func(c map[string]any) {
		c[lti.ClaimCustom] = map[string]any{"code": "X1", "year": 2026, "flag": true}
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"code": "X1", "year": "2026", "flag": "true"}
	if !reflect.DeepEqual(l.Custom, want) {
		t.Errorf("custom %v, want %v", l.Custom, want)
	}
}

func TestConcurrentLaunchesShareOneJWKSFetch(t *testing.T) {
	f := newFixture(t, nil)
	const n = 8
	type attempt struct{ token, state string }
	var attempts []attempt
	for range n { // logins here: t.Fatal must not run on other goroutines
		state, nonce := f.login(t)
		c := f.plat.Claims(lti.MessageResourceLink, "student", "C1")
		c["nonce"] = nonce
		attempts = append(attempts, attempt{f.plat.Sign(c), state})
	}
	errs := make(chan error, n)
	for _, a := range attempts {
		go func() {
			_, err := f.tool.Launch(context.Background(), a.token, a.state)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := f.plat.JWKSFetches(); got != 1 {
		t.Errorf("%d JWKS fetches for %d concurrent launches, want 1", got, n)
	}
}
