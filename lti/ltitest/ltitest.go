// Package ltitest is a fake LTI 1.3 platform (an LMS) for tests. It speaks
// the real wire format over HTTP on loopback: it publishes its JWKS at /jwks
// (counting fetches), answers OIDC authorization requests at /auth with an
// auto-submitting form that posts a signed id_token to the tool, signs
// tokens with good and bad keys and algorithms, and verifies the tool's
// deep-linking responses against the tool's JWKS.
package ltitest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/commonshelf/commonshelf/lti"
)

// Platform is a fake LMS. Its exported fields may be changed before the
// platform is used concurrently; Key and KID change under RotateKey.
type Platform struct {
	Issuer       string // the server URL, e.g. http://127.0.0.1:41234
	ClientID     string // the tool's client_id at this platform
	DeploymentID string // "ltitest-deployment-1"
	Key          *rsa.PrivateKey
	KID          string
	Server       *httptest.Server

	TargetLinkURI string // target_link_uri of launches; default "https://tool.example/lti/launch"
	LoginHint     string // login_hint sent by LoginParams and required by Authorize
	MessageHint   string // lti_message_hint sent by LoginParams and required by Authorize ("" → not checked)
	RedirectURI   string // when set, Authorize requires this redirect_uri
	Now           func() time.Time

	mu         sync.Mutex
	published  []jose.JSONWebKey
	authClaims map[string]any // claims for /auth; nil → a student resource link launch
	keySerial  int

	jwksFetches atomic.Int64
	authCalls   atomic.Int64
}

// Role URIs used by Claims.
const (
	RoleInstructor = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
	RoleLearner    = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
)

// New starts a platform on 127.0.0.1 with a fresh 2048-bit key; the server
// is closed when the test ends.
func New(t testing.TB, clientID string) *Platform {
	t.Helper()
	p := &Platform{
		ClientID:      clientID,
		DeploymentID:  "ltitest-deployment-1",
		TargetLinkURI: "https://tool.example/lti/launch",
		LoginHint:     "ltitest-login-hint",
		MessageHint:   "ltitest-message-hint",
	}
	p.Key, p.KID = p.newKey(t)
	p.published = []jose.JSONWebKey{publicJWK(p.Key, p.KID)}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /jwks", p.serveJWKS)
	mux.HandleFunc("/auth", p.serveAuth)
	p.Server = httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(p.Server.Close)
	p.Issuer = p.Server.URL
	return p
}

// JWKSURL is where the platform publishes its keys.
func (p *Platform) JWKSURL() string { return p.Server.URL + "/jwks" }

// AuthURL is the platform's OIDC authorization endpoint.
func (p *Platform) AuthURL() string { return p.Server.URL + "/auth" }

// JWKSFetches returns how often /jwks was fetched.
func (p *Platform) JWKSFetches() int { return int(p.jwksFetches.Load()) }

// AuthRequests returns how often /auth was called.
func (p *Platform) AuthRequests() int { return int(p.authCalls.Load()) }

// Registration returns the tool-side registration of this platform.
func (p *Platform) Registration(name, institution string) lti.Platform {
	return lti.Platform{
		Name:          name,
		Institution:   institution,
		Issuer:        p.Issuer,
		ClientID:      p.ClientID,
		DeploymentIDs: []string{p.DeploymentID},
		AuthURL:       p.AuthURL(),
		JWKSURL:       p.JWKSURL(),
	}
}

// LoginParams are the parameters of a third-party login initiation for the
// tool's login endpoint.
func (p *Platform) LoginParams() url.Values {
	v := url.Values{
		"iss":               {p.Issuer},
		"login_hint":        {p.LoginHint},
		"target_link_uri":   {p.TargetLinkURI},
		"client_id":         {p.ClientID},
		"lti_deployment_id": {p.DeploymentID},
	}
	if p.MessageHint != "" {
		v.Set("lti_message_hint", p.MessageHint)
	}
	return v
}

// AddKey publishes an extra key (it does not sign) and returns it.
func (p *Platform) AddKey(t testing.TB) (*rsa.PrivateKey, string) {
	t.Helper()
	key, kid := p.newKey(t)
	p.mu.Lock()
	p.published = append(p.published, publicJWK(key, kid))
	p.mu.Unlock()
	return key, kid
}

// RotateKey replaces the signing key with a new one: the new key is
// published and the old one withdrawn from the JWKS.
func (p *Platform) RotateKey(t testing.TB) {
	t.Helper()
	key, kid := p.newKey(t)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Key, p.KID = key, kid
	p.published = []jose.JSONWebKey{publicJWK(key, kid)}
}

// SetAuthClaims sets the claims /auth signs (the nonce is filled in from the
// request); nil restores the default student resource link launch.
func (p *Platform) SetAuthClaims(claims map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.authClaims = claims
}

func (p *Platform) newKey(t testing.TB) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("ltitest: generate key: %v", err)
	}
	p.mu.Lock()
	p.keySerial++
	kid := "ltitest-key-" + strconv.Itoa(p.keySerial)
	p.mu.Unlock()
	return key, kid
}

func (p *Platform) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func publicJWK(key *rsa.PrivateKey, kid string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: &key.PublicKey, KeyID: kid, Algorithm: string(jose.RS256), Use: "sig"}
}

func (p *Platform) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	p.jwksFetches.Add(1)
	p.mu.Lock()
	set := jose.JSONWebKeySet{Keys: append([]jose.JSONWebKey(nil), p.published...)}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

var autoPost = template.Must(template.New("post").Parse(`<!DOCTYPE html>
<html><body onload="document.forms[0].submit()">
<form method="post" action="{{.Action}}">
<input type="hidden" name="id_token" value="{{.IDToken}}">
<input type="hidden" name="state" value="{{.State}}">
<noscript><button type="submit">Continue</button></noscript>
</form></body></html>
`))

// serveAuth answers an OIDC authorization request with an auto-submitting
// form that posts a signed id_token and the state to redirect_uri.
func (p *Platform) serveAuth(w http.ResponseWriter, r *http.Request) {
	p.authCalls.Add(1)
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	state, nonce, redirectURI, problems := p.checkAuthRequest(r.Form)
	if len(problems) > 0 {
		http.Error(w, "ltitest: bad authorization request: "+strings.Join(problems, "; "), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	claims := cloneMap(p.authClaims)
	p.mu.Unlock()
	if claims == nil {
		claims = p.Claims(lti.MessageResourceLink, "student", "COURSE-101")
	}
	claims["nonce"] = nonce
	key, kid := p.signingKey()
	tok, err := p.sign(key, kid, claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = autoPost.Execute(w, map[string]string{"Action": redirectURI, "IDToken": tok, "State": state})
}

// checkAuthRequest checks an OIDC authorization request of the tool.
func (p *Platform) checkAuthRequest(q url.Values) (state, nonce, redirectURI string, problems []string) {
	want := map[string]string{
		"scope":         "openid",
		"response_type": "id_token",
		"response_mode": "form_post",
		"prompt":        "none",
		"client_id":     p.ClientID,
		"login_hint":    p.LoginHint,
	}
	if p.MessageHint != "" {
		want["lti_message_hint"] = p.MessageHint
	}
	if p.RedirectURI != "" {
		want["redirect_uri"] = p.RedirectURI
	}
	for k, v := range want {
		if got := q.Get(k); got != v {
			problems = append(problems, fmt.Sprintf("%s is %q, want %q", k, got, v))
		}
	}
	state, nonce, redirectURI = q.Get("state"), q.Get("nonce"), q.Get("redirect_uri")
	for k, v := range map[string]string{"state": state, "nonce": nonce, "redirect_uri": redirectURI} {
		if v == "" {
			problems = append(problems, k+" is missing")
		}
	}
	if u, err := url.Parse(redirectURI); redirectURI != "" && (err != nil || !u.IsAbs()) {
		problems = append(problems, fmt.Sprintf("redirect_uri %q is not absolute", redirectURI))
	}
	return state, nonce, redirectURI, problems
}

// Authorize checks that redirect (from Tool.Login or the Location header of
// the tool's login endpoint) is a correct OIDC authorization request to this
// platform, and returns its state, nonce and redirect_uri.
func (p *Platform) Authorize(t testing.TB, redirect string) (state, nonce, redirectURI string) {
	t.Helper()
	u, err := url.Parse(redirect)
	if err != nil {
		t.Fatalf("ltitest: login redirect %q: %v", redirect, err)
	}
	auth, _ := url.Parse(p.AuthURL())
	if u.Scheme != auth.Scheme || u.Host != auth.Host || u.Path != auth.Path {
		t.Fatalf("ltitest: login redirects to %s://%s%s, want %s", u.Scheme, u.Host, u.Path, p.AuthURL())
	}
	state, nonce, redirectURI, problems := p.checkAuthRequest(u.Query())
	if len(problems) > 0 {
		t.Fatalf("ltitest: bad authorization request: %s", strings.Join(problems, "; "))
	}
	return state, nonce, redirectURI
}

// LaunchForm authorizes a login redirect like Authorize, puts its nonce into
// claims (a copy), signs them with the platform key, and returns where to
// POST and the form (id_token, state) a browser would post there.
func (p *Platform) LaunchForm(t testing.TB, redirect string, claims map[string]any) (action string, form url.Values) {
	t.Helper()
	state, nonce, redirectURI := p.Authorize(t, redirect)
	claims = cloneMap(claims)
	claims["nonce"] = nonce
	return redirectURI, url.Values{"id_token": {p.Sign(claims)}, "state": {state}}
}

// Claims returns a complete, valid claim set for a launch of kind
// (lti.MessageResourceLink or lti.MessageDeepLinking) by a user with role
// ("instructor", "student", or a full role URI) in the course courseLabel
// (no context claim when ""). The nonce is a placeholder to be replaced.
func (p *Platform) Claims(kind, role, courseLabel string) map[string]any {
	now := p.now()
	roleURI, name, sub := role, "Test User", "ltitest-user"
	switch role {
	case "instructor":
		roleURI, name, sub = RoleInstructor, "Ina Instructor", "ltitest-instructor-1"
	case "student":
		roleURI, name, sub = RoleLearner, "Stu Student", "ltitest-student-1"
	}
	c := map[string]any{
		"iss":                  p.Issuer,
		"aud":                  p.ClientID,
		"azp":                  p.ClientID,
		"sub":                  sub,
		"exp":                  now.Add(5 * time.Minute).Unix(),
		"iat":                  now.Unix(),
		"nonce":                "NONCE-PLACEHOLDER",
		"name":                 name,
		"email":                sub + "@example.edu",
		lti.ClaimVersion:       lti.Version,
		lti.ClaimDeploymentID:  p.DeploymentID,
		lti.ClaimMessageType:   kind,
		lti.ClaimTargetLinkURI: p.TargetLinkURI,
		lti.ClaimRoles:         []any{roleURI},
		lti.ClaimLaunchPresentation: map[string]any{
			"locale":          "en",
			"document_target": "iframe",
			"return_url":      p.Issuer + "/return",
		},
		"https://purl.imsglobal.org/spec/lti/claim/tool_platform": map[string]any{
			"guid": "ltitest-platform", "name": "ltitest", "product_family_code": "ltitest",
		},
	}
	if courseLabel != "" {
		c[lti.ClaimContext] = map[string]any{
			"id":    "ctx-" + courseLabel,
			"label": courseLabel,
			"title": courseLabel + " (test course)",
			"type":  []any{"http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"},
		}
	}
	switch kind {
	case lti.MessageResourceLink:
		c[lti.ClaimResourceLink] = map[string]any{"id": "ltitest-resource-link-1", "title": "Reading list"}
	case lti.MessageDeepLinking:
		c[lti.ClaimDeepLinkingSettings] = map[string]any{
			"deep_link_return_url":                 p.Issuer + "/deep-link-return",
			"accept_types":                         []any{"ltiResourceLink", "link"},
			"accept_presentation_document_targets": []any{"iframe", "window"},
			"accept_multiple":                      true,
			"auto_create":                          true,
			"title":                                "Choose readings",
			"data":                                 "ltitest-opaque-data",
		}
	}
	return c
}

// Sign signs claims RS256 with the platform's current key.
func (p *Platform) Sign(claims map[string]any) string {
	key, kid := p.signingKey()
	return p.SignWith(key, kid, claims)
}

func (p *Platform) signingKey() (*rsa.PrivateKey, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Key, p.KID
}

// SignWith signs claims RS256 with any key, e.g. one not in the JWKS.
func (p *Platform) SignWith(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	tok, err := p.sign(key, kid, claims)
	if err != nil {
		panic(fmt.Sprintf("ltitest: sign: %v", err))
	}
	return tok
}

func (p *Platform) sign(key *rsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// SignHS256 signs claims HMAC-SHA256 with secret (a token the tool must
// refuse), with the platform's kid in the header.
func (p *Platform) SignHS256(secret []byte, claims map[string]any) string {
	_, kid := p.signingKey()
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.HS256, Key: secret},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid),
	)
	if err != nil {
		panic(fmt.Sprintf("ltitest: HS256 signer: %v", err))
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		panic(fmt.Sprintf("ltitest: sign HS256: %v", err))
	}
	return tok
}

// SignNone returns an unsecured token (alg "none", empty signature), built
// by hand since go-jose rightly refuses to.
func (p *Platform) SignNone(claims map[string]any) string {
	_, kid := p.signingKey()
	header, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT", "kid": kid})
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(fmt.Sprintf("ltitest: encode claims: %v", err))
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(header) + "." + enc.EncodeToString(payload) + "."
}

// VerifyDeepLinkResponse fetches the tool's JWKS from toolJWKSURL, verifies
// the deep-linking response token with it as a platform would (RS256, kid,
// iss = client_id, aud = issuer, message type, version, deployment, times,
// nonce) and returns its claims.
func (p *Platform) VerifyDeepLinkResponse(t testing.TB, toolJWKSURL, token string) map[string]any {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(toolJWKSURL)
	if err != nil {
		t.Fatalf("ltitest: fetch tool JWKS: %v", err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("ltitest: fetch tool JWKS: status %d, %v", resp.StatusCode, err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("ltitest: decode tool JWKS: %v\n%s", err, body)
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("ltitest: parse deep-linking response: %v", err)
	}
	kid := tok.Headers[0].KeyID
	keys := set.Key(kid)
	if kid == "" || len(keys) != 1 {
		t.Fatalf("ltitest: deep-linking response kid %q: %d keys in the tool's JWKS", kid, len(keys))
	}
	var claims map[string]any
	var std jwt.Claims
	if err := tok.Claims(keys[0].Key, &claims, &std); err != nil {
		t.Fatalf("ltitest: verify deep-linking response: %v", err)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{
		Issuer:      p.ClientID,
		AnyAudience: jwt.Audience{p.Issuer},
		Time:        p.now(),
	}, time.Minute); err != nil {
		t.Fatalf("ltitest: deep-linking response claims: %v", err)
	}
	if std.Expiry == nil || std.IssuedAt == nil {
		t.Fatalf("ltitest: deep-linking response without exp or iat")
	}
	for k, want := range map[string]string{
		lti.ClaimMessageType:  lti.MessageDeepLinkingResponse,
		lti.ClaimVersion:      lti.Version,
		lti.ClaimDeploymentID: p.DeploymentID,
	} {
		if got, _ := claims[k].(string); got != want {
			t.Fatalf("ltitest: deep-linking response %s is %q, want %q", k, got, want)
		}
	}
	if n, _ := claims["nonce"].(string); n == "" {
		t.Fatalf("ltitest: deep-linking response without nonce")
	}
	if _, ok := claims[lti.ClaimContentItems].([]any); !ok {
		t.Fatalf("ltitest: deep-linking response without a content_items array")
	}
	return claims
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return maps.Clone(m)
}
