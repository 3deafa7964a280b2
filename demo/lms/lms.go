// Package lms is the demo learning platform that `commonshelf serve --demo`
// mounts under /demo-lms/: a page of course links for every demo
// institution, each opening Commonshelf as a student or an instructor, or
// setting up the link with deep linking, through the real LTI 1.3 flow a
// learning management system (Moodle, Canvas…) drives:
//
//  1. a course link (GET /demo-lms/launch) sends the browser to the tool's
//     login initiation (/lti/login) with the issuer, a login hint naming the
//     fake user, the client and deployment ids and an lti_message_hint
//     naming the course, the role and the kind of launch (signed, so that
//     the platform can trust it when it comes back);
//  2. the tool sends the browser to the platform's authorization endpoint
//     (/demo-lms/auth), which checks the request as a real platform does
//     and answers with a page that form-posts a signed id_token and the
//     state to the tool's registered redirect_uri;
//  3. for deep linking, the tool form-posts its signed
//     LtiDeepLinkingResponse to /demo-lms/deep-link-return, which verifies
//     it against the tool's /.well-known/jwks.json and offers to open the
//     linked resource, whose custom parameters travel in its launches.
//
// The platform keeps no users: anyone may take any role, which is the point
// of a demo. Its RSA signing key and the key sealing its hints are made at
// start and live as long as the process.
package lms

import (
	"cmp"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/valyala/fasthttp"

	"github.com/commonshelf/commonshelf/index"
)

// Prefix is the path the platform is served under.
const Prefix = "/demo-lms/"

// Endpoints are the platform's absolute URLs on a server.
type Endpoints struct {
	Home           string // the page of course links (…/demo-lms/)
	Issuer         string // the issuer identifier (…/demo-lms)
	Auth           string // the OIDC authorization endpoint
	JWKS           string // the platform's public keys
	DeepLinkReturn string // where the tool posts deep-linking responses
}

// EndpointsAt returns the platform's URLs on the server at serverURL (an
// absolute URL without a trailing slash, e.g. http://127.0.0.1:8080).
func EndpointsAt(serverURL string) Endpoints {
	home := serverURL + Prefix
	return Endpoints{Home: home, Issuer: strings.TrimSuffix(home, "/"), Auth: home + "auth", JWKS: home + "jwks",
		DeepLinkReturn: home + "deep-link-return"}
}

// Config configures a [Platform].
type Config struct {
	// ServerURL is the absolute URL, without a trailing slash, of the server
	// the platform is mounted on at Prefix; required.
	ServerURL string
	// ToolURL is Commonshelf's public URL without a trailing slash: its
	// /lti/login, /lti/launch (the one registered redirect_uri and the
	// default target_link_uri) and /.well-known/jwks.json; required.
	ToolURL string
	// Institutions are the tool's registrations on the platform, one per
	// institution, in page order; at least one.
	Institutions []Institution
	// Key signs id_tokens (RS256); nil → a new 2048-bit key.
	Key *rsa.PrivateKey
	// HTTPClient fetches the tool's JWKS; nil → a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock; nil → time.Now.
	Now func() time.Time
}

// Institution is one institution on the platform: the tool's registration
// there and its courses.
type Institution struct {
	ID           string // the consortium's institution id; required
	Name         string // shown on the page; "" → ID
	ClientID     string // the client id the platform gave the tool; required, unique
	DeploymentID string // the tool's deployment; required
	Locale       string // launch_presentation.locale of its launches; "" → "en"
	Courses      []Course
}

// Course is a course of an institution on the platform.
type Course struct {
	Code       string // the context label, e.g. "CHEM 101"; required
	Title      string // the context title; "" → Code
	Department string // shown on the page
}

// Courses returns each institution's courses from resource lists: one per
// course code (the first list's title and department), sorted by code.
func Courses(lists []*index.List) map[string][]Course {
	out := map[string][]Course{}
	seen := map[string]bool{}
	for _, l := range lists {
		code := strings.TrimSpace(l.Course.Code)
		key := l.Institution + "\x00" + strings.ToUpper(code)
		if code == "" || seen[key] {
			continue
		}
		seen[key] = true
		out[l.Institution] = append(out[l.Institution], Course{Code: code, Title: cmp.Or(l.Course.Name, code), Department: l.Course.Department})
	}
	for _, cs := range out {
		slices.SortFunc(cs, func(a, b Course) int { return strings.Compare(a.Code, b.Code) })
	}
	return out
}

// Limits on what a browser or the tool can make the platform read or keep.
const (
	maxForm       = 64 << 10 // a form body (a deep-linking response is a few KB)
	maxJWKSBody   = 1 << 20  // the tool's JWKS
	maxSeenNonces = 10000    // deep-linking response nonces remembered against replay
	hintTTL       = 10 * time.Minute
	dataTTL       = time.Hour // a deep-linking request's data: the instructor may take a while
	idTokenTTL    = 5 * time.Minute
	leeway        = time.Minute
	fetchTimeout  = 10 * time.Second
)

// Platform is the demo learning platform. It is safe for concurrent use.
type Platform struct {
	log     *slog.Logger
	ep      Endpoints
	tool    toolURLs
	insts   []*Institution
	byID    map[string]*Institution
	byCli   map[string]*Institution
	key     *rsa.PrivateKey
	kid     string
	signer  jose.Signer
	jwks    []byte
	seal    *sealer
	client  *http.Client
	now     func() time.Time
	nonceMu sync.Mutex
	nonces  map[string]time.Time // deep-linking response nonce → when it may be forgotten
}

// toolURLs are the tool's endpoints.
type toolURLs struct {
	origin, login, launch, jwks string
}

// New checks cfg and returns a Platform. logger nil → logs are discarded.
func New(logger *slog.Logger, cfg Config) (*Platform, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := checkBaseURL(cfg.ServerURL); err != nil {
		return nil, fmt.Errorf("lms: server URL: %w", err)
	}
	if err := checkBaseURL(cfg.ToolURL); err != nil {
		return nil, fmt.Errorf("lms: tool URL: %w", err)
	}
	if len(cfg.Institutions) == 0 {
		return nil, errors.New("lms: no institutions")
	}
	p := &Platform{log: logger, ep: EndpointsAt(cfg.ServerURL), byID: map[string]*Institution{}, byCli: map[string]*Institution{},
		client: cfg.HTTPClient, now: cfg.Now, nonces: map[string]time.Time{}}
	tu, _ := url.Parse(cfg.ToolURL)
	p.tool = toolURLs{origin: tu.Scheme + "://" + tu.Host, login: cfg.ToolURL + "/lti/login", launch: cfg.ToolURL + "/lti/launch",
		jwks: cfg.ToolURL + "/.well-known/jwks.json"}
	if p.client == nil {
		p.client = &http.Client{Timeout: fetchTimeout}
	}
	if p.now == nil {
		p.now = time.Now
	}
	for i := range cfg.Institutions {
		in := cfg.Institutions[i]
		switch {
		case in.ID == "" || in.ClientID == "" || in.DeploymentID == "":
			return nil, fmt.Errorf("lms: institution %d: id, client id and deployment id are required", i+1)
		case p.byID[in.ID] != nil:
			return nil, fmt.Errorf("lms: institution %q is repeated", in.ID)
		case p.byCli[in.ClientID] != nil:
			return nil, fmt.Errorf("lms: client id %q is repeated", in.ClientID)
		}
		in.Name = cmp.Or(in.Name, in.ID)
		in.Locale = cmp.Or(in.Locale, "en")
		in.Courses = slices.Clone(in.Courses)
		for j, c := range in.Courses {
			if strings.TrimSpace(c.Code) == "" {
				return nil, fmt.Errorf("lms: institution %s: course %d has no code", in.ID, j+1)
			}
			in.Courses[j].Title = cmp.Or(c.Title, c.Code)
		}
		p.insts = append(p.insts, &in)
		p.byID[in.ID], p.byCli[in.ClientID] = &in, &in
	}
	p.key = cfg.Key
	if p.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("lms: generate signing key: %w", err)
		}
		p.key = k
	}
	pub := jose.JSONWebKey{Key: &p.key.PublicKey, Algorithm: string(jose.RS256), Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("lms: key thumbprint: %w", err)
	}
	p.kid = base64.RawURLEncoding.EncodeToString(thumb)
	pub.KeyID = p.kid
	if p.jwks, err = json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}}); err != nil {
		return nil, fmt.Errorf("lms: encode JWKS: %w", err)
	}
	p.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: p.key, KeyID: p.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("lms: signer: %w", err)
	}
	if p.seal, err = newSealer(); err != nil {
		return nil, err
	}
	return p, nil
}

// Endpoints returns the platform's URLs.
func (p *Platform) Endpoints() Endpoints { return p.ep }

func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.TrimSuffix(u.Path, "/") != u.Path ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not an absolute http(s) URL without a trailing slash, query or fragment", raw)
	}
	return nil
}

// Handle serves the platform's paths under Prefix (mount it there).
func (p *Platform) Handle(ctx *fasthttp.RequestCtx) {
	rest, ok := strings.CutPrefix(string(ctx.Path()), Prefix)
	if !ok {
		p.problem(ctx, fasthttp.StatusNotFound, "Not found", "The demo learning platform has no such page.")
		return
	}
	method := string(ctx.Method())
	only := func(methods ...string) bool {
		if method == fasthttp.MethodHead {
			method = fasthttp.MethodGet
		}
		if slices.Contains(methods, method) {
			return true
		}
		ctx.Response.Header.Set("Allow", strings.Join(methods, ", "))
		p.problem(ctx, fasthttp.StatusMethodNotAllowed, "Method not allowed",
			fmt.Sprintf("%s is not allowed here; use %s.", string(ctx.Method()), strings.Join(methods, " or ")))
		return false
	}
	switch rest {
	case "":
		if only(fasthttp.MethodGet) {
			p.serveHome(ctx)
		}
	case "launch":
		if only(fasthttp.MethodGet) {
			p.serveLaunch(ctx)
		}
	case "auth":
		if only(fasthttp.MethodGet, fasthttp.MethodPost) {
			p.serveAuth(ctx)
		}
	case "jwks":
		if only(fasthttp.MethodGet) {
			ctx.Response.Header.Set("Cache-Control", "public, max-age=300")
			ctx.SetContentType("application/json")
			ctx.SetBody(p.jwks)
		}
	case "deep-link-return":
		if only(fasthttp.MethodPost) {
			p.serveDeepLinkReturn(ctx)
		}
	case "style.css", "autopost.js":
		if only(fasthttp.MethodGet) {
			serveStatic(ctx, rest)
		}
	default:
		p.problem(ctx, fasthttp.StatusNotFound, "Not found", "The demo learning platform has no such page.")
	}
}
