package lti

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Platform is one LMS registration. An institution may have several (one per
// LMS, or several client ids at the same LMS).
type Platform struct {
	Name          string   // for people and logs, e.g. "North Moodle"; "" → Issuer
	Institution   string   // consortium institution id the registration belongs to; required
	Issuer        string   // iss, matched exactly; required
	ClientID      string   // our client_id at that platform (aud / azp); required
	DeploymentIDs []string // registered deployment ids; a launch with another is rejected; at least one
	AuthURL       string   // the platform's OIDC authorization endpoint; absolute http(s) URL
	JWKSURL       string   // the platform's JWKS; absolute http(s) URL
	// CourseClaim says where the course code is read from: "context.label"
	// (the default when ""), "context.title", "context.id",
	// "custom.<name>" (e.g. "custom.lis_course_code"),
	// "lis.course_offering_sourcedid" or "lis.course_section_sourcedid".
	CourseClaim string
	// FrameOrigins are origins besides the issuer's and the authorization
	// endpoint's whose pages frame the tool (for the HTTP layer's
	// frame-ancestors; the protocol does not use them).
	FrameOrigins []string
}

// Config configures a [Tool].
type Config struct {
	Platforms   []Platform // at least one; issuer+client_id pairs unique
	RedirectURI string     // our absolute launch URL (…/lti/launch) sent as redirect_uri; required
	// Keys are our signing keys for deep-linking responses; nil when deep
	// linking is not used (DeepLinkResponse then returns ErrNoKeys).
	Keys       *KeySet
	HTTPClient *http.Client     // for JWKS fetches; nil → a client with a 10 s timeout
	Now        func() time.Time // nil → time.Now
	StateTTL   time.Duration    // lifetime of a login's state; 0 → 10 minutes
	Leeway     time.Duration    // clock skew allowed on exp, iat and nbf; 0 → 60 s
	// StateKey signs login states (HMAC-SHA256); Login stores nothing (see
	// stateStore). Nil → 32 random bytes per Tool, so a restart ends the
	// logins in progress; tools sharing launches (several processes behind
	// one address) need the same key.
	StateKey []byte
	// MaxStates bounds the used states remembered to refuse their replay,
	// each until its expiry; only launches whose id_token a registered
	// platform signed add one. 0 → 100000. When full, further launches are
	// refused until older states expire (forgetting one would let it be
	// replayed).
	MaxStates int
	// JWKSMaxAge is how long a fetched JWKS is used before it is fetched
	// again; 0 → 1 hour.
	JWKSMaxAge time.Duration
	// JWKSRefetchInterval rate-limits refetches of a JWKS caused by an unknown
	// kid, and retries after a failed fetch, per JWKS URL; 0 → 1 minute. The
	// first unknown kid after a fetch always refetches.
	JWKSRefetchInterval time.Duration
}

// Defaults applied by [New] to zero Config fields.
const (
	DefaultStateTTL            = 10 * time.Minute
	DefaultLeeway              = 60 * time.Second
	DefaultMaxStates           = 100000
	DefaultJWKSMaxAge          = time.Hour
	DefaultJWKSRefetchInterval = time.Minute
	defaultHTTPTimeout         = 10 * time.Second
)

// Limits on what a platform or a browser can make us store or parse.
const (
	maxParamLen = 4096     // login_hint, lti_message_hint, target_link_uri, …
	maxTokenLen = 64 << 10 // id_token
	maxJWKSSize = 1 << 20  // JWKS response body
	maxJWKSKeys = 100      // keys kept from one JWKS
	minRSABits  = 2048     // smaller platform keys are ignored
	maxClaimLen = 4096     // single string claims kept in a Launch
)

// Tool is the LTI 1.3 tool: it answers logins and validates launches. It is
// safe for concurrent use.
type Tool struct {
	logger      *slog.Logger
	platforms   []*Platform
	byIssuer    map[string][]*Platform
	redirectURI string
	keys        *KeySet
	now         func() time.Time
	leeway      time.Duration
	states      *stateStore
	jwks        *jwksCache
}

// New validates cfg and returns a Tool. logger nil → logs are discarded.
func New(logger *slog.Logger, cfg Config) (*Tool, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := checkURL(cfg.RedirectURI); err != nil {
		return nil, fmt.Errorf("lti: redirect_uri: %w", err)
	}
	if len(cfg.Platforms) == 0 {
		return nil, errors.New("lti: no platforms configured")
	}
	t := &Tool{
		logger:      logger,
		byIssuer:    make(map[string][]*Platform),
		redirectURI: cfg.RedirectURI,
		keys:        cfg.Keys,
		now:         cfg.Now,
		leeway:      cfg.Leeway,
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.leeway == 0 {
		t.leeway = DefaultLeeway
	}
	ttl, maxStates := cfg.StateTTL, cfg.MaxStates
	if ttl == 0 {
		ttl = DefaultStateTTL
	}
	if maxStates == 0 {
		maxStates = DefaultMaxStates
	}
	if ttl < 0 || maxStates < 0 || t.leeway < 0 || cfg.JWKSMaxAge < 0 || cfg.JWKSRefetchInterval < 0 {
		return nil, errors.New("lti: negative duration or bound in config")
	}
	for i := range cfg.Platforms {
		p, err := checkPlatform(cfg.Platforms[i])
		if err != nil {
			return nil, fmt.Errorf("lti: platform %d (%q): %w", i+1, cfg.Platforms[i].Name, err)
		}
		for _, q := range t.byIssuer[p.Issuer] {
			if q.ClientID == p.ClientID {
				return nil, fmt.Errorf("lti: platforms %q and %q share issuer %q and client_id %q", q.Name, p.Name, p.Issuer, p.ClientID)
			}
		}
		for _, u := range []string{p.AuthURL, p.JWKSURL} {
			if insecureRemote(u) {
				logger.Warn("lti platform URL is plain http on a non-loopback host", "platform", p.Name, "url", u)
			}
		}
		t.platforms = append(t.platforms, p)
		t.byIssuer[p.Issuer] = append(t.byIssuer[p.Issuer], p)
	}
	t.states = newStateStore(cfg.StateKey, ttl, maxStates, t.now, t.platforms)
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: defaultHTTPTimeout}
	}
	maxAge, refetch := cfg.JWKSMaxAge, cfg.JWKSRefetchInterval
	if maxAge == 0 {
		maxAge = DefaultJWKSMaxAge
	}
	if refetch == 0 {
		refetch = DefaultJWKSRefetchInterval
	}
	t.jwks = newJWKSCache(logger, client, t.now, maxAge, refetch)
	return t, nil
}

// Platforms returns the validated registrations (with defaults applied). The
// pointers are the ones Launch.Platform refers to; they must not be modified.
func (t *Tool) Platforms() []*Platform {
	return append([]*Platform(nil), t.platforms...)
}

// checkPlatform validates p and returns a copy with defaults applied.
func checkPlatform(p Platform) (*Platform, error) {
	if p.Issuer == "" || strings.TrimSpace(p.Issuer) != p.Issuer {
		return nil, &PlatformError{Field: "issuer", Message: "issuer is empty or has surrounding spaces"}
	}
	if p.ClientID == "" || strings.TrimSpace(p.ClientID) != p.ClientID {
		return nil, &PlatformError{Field: "client_id", Message: "client_id is empty or has surrounding spaces"}
	}
	if p.Institution == "" {
		return nil, &PlatformError{Field: "institution", Message: "institution is empty"}
	}
	if p.Name == "" {
		p.Name = p.Issuer
	}
	if err := checkURL(p.AuthURL); err != nil {
		return nil, &PlatformError{Field: "auth_url", Message: "auth URL: " + err.Error()}
	}
	if err := checkURL(p.JWKSURL); err != nil {
		return nil, &PlatformError{Field: "jwks_url", Message: "JWKS URL: " + err.Error()}
	}
	if len(p.DeploymentIDs) == 0 {
		return nil, &PlatformError{Field: "deployment_ids", Message: "no deployment ids"}
	}
	p.DeploymentIDs = append([]string(nil), p.DeploymentIDs...)
	for _, d := range p.DeploymentIDs {
		if d == "" {
			return nil, &PlatformError{Field: "deployment_ids", Message: "empty deployment id"}
		}
	}
	if p.CourseClaim == "" {
		p.CourseClaim = "context.label"
	}
	if _, err := parseCourseClaim(p.CourseClaim); err != nil {
		return nil, &PlatformError{Field: "course_claim", Message: err.Error()}
	}
	return &p, nil
}

// PlatformError is a registration New refuses: the field at fault (named as
// in the configuration file: issuer, client_id, auth_url, jwks_url,
// deployment_ids, course_claim, institution) and what is wrong.
type PlatformError struct {
	Field   string
	Message string
}

func (e *PlatformError) Error() string { return e.Message }

// CheckPlatform reports whether New would refuse the registration p (nil
// if not; else a *PlatformError), so that a configuration can be checked
// without building a Tool.
func CheckPlatform(p Platform) error {
	_, err := checkPlatform(p)
	return err
}

// checkURL accepts absolute http and https URLs without a fragment.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	if u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q has a fragment or user info", raw)
	}
	return nil
}

// insecureRemote reports a plain-http URL whose host is not loopback.
func insecureRemote(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// Login handles the OIDC third-party login initiation. params come from the
// GET query or the POST form: iss, login_hint and target_link_uri are
// required; client_id picks the registration when several share an issuer;
// lti_deployment_id, when sent, must be registered; lti_message_hint is echoed
// to the platform. Login returns the URL of the platform's authorization
// endpoint to redirect the browser to, with a signed, expiring state and
// its nonce; it stores nothing, so anonymous logins cost no memory (see
// stateStore).
func (t *Tool) Login(params url.Values) (redirect string, err error) {
	iss := params.Get("iss")
	loginHint := params.Get("login_hint")
	target := params.Get("target_link_uri")
	clientID := params.Get("client_id")
	deployment := params.Get("lti_deployment_id")
	messageHint := params.Get("lti_message_hint")
	switch {
	case iss == "":
		return "", fail(CodeRequest, "The platform did not say who it is (iss is missing).")
	case loginHint == "":
		return "", fail(CodeRequest, "The platform did not send a login hint (login_hint is missing).")
	case target == "":
		return "", fail(CodeRequest, "The platform did not send the launch address (target_link_uri is missing).")
	}
	for _, v := range []string{iss, loginHint, target, clientID, deployment, messageHint} {
		if len(v) > maxParamLen {
			return "", fail(CodeRequest, "A login parameter is too long.")
		}
	}
	if checkURL(target) != nil {
		return "", fail(CodeRequest, "The launch address (target_link_uri) is not an absolute web address.")
	}

	p, lerr := t.lookup(iss, clientID, deployment)
	if lerr != nil {
		return "", lerr
	}
	state, nonce := t.states.issue(p)

	u, err := url.Parse(p.AuthURL) // validated in New
	if err != nil {
		return "", fmt.Errorf("lti: auth URL of %s: %w", p.Name, err)
	}
	q := u.Query()
	q.Set("scope", "openid")
	q.Set("response_type", "id_token")
	q.Set("response_mode", "form_post")
	q.Set("prompt", "none")
	q.Set("client_id", p.ClientID)
	q.Set("redirect_uri", t.redirectURI)
	q.Set("login_hint", loginHint)
	q.Set("state", state)
	q.Set("nonce", nonce)
	if messageHint != "" {
		q.Set("lti_message_hint", messageHint)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// lookup finds the registration for a login.
func (t *Tool) lookup(iss, clientID, deployment string) (*Platform, *Error) {
	candidates := t.byIssuer[iss]
	if len(candidates) == 0 {
		return nil, fail(CodeIssuer, "This learning platform is not registered with Commonshelf.")
	}
	var found *Platform
	if clientID != "" {
		for _, p := range candidates {
			if p.ClientID == clientID {
				found = p
			}
		}
		if found == nil {
			return nil, fail(CodeIssuer, "This learning platform registration (client_id) is not known to Commonshelf.")
		}
	} else {
		var matches []*Platform
		for _, p := range candidates {
			if deployment == "" || p.hasDeployment(deployment) {
				matches = append(matches, p)
			}
		}
		switch len(matches) {
		case 0:
			return nil, fail(CodeDeployment, "This deployment of Commonshelf is not registered for the learning platform.")
		case 1:
			found = matches[0]
		default:
			return nil, fail(CodeIssuer, "Several Commonshelf registrations exist for this learning platform; it must send client_id.")
		}
	}
	if deployment != "" && !found.hasDeployment(deployment) {
		return nil, fail(CodeDeployment, "This deployment of Commonshelf is not registered for the learning platform.")
	}
	return found, nil
}

func (p *Platform) hasDeployment(id string) bool { return slices.Contains(p.DeploymentIDs, id) }

// PendingLogins returns the number of login states the tool remembers (for
// metrics): the used states of platform-signed launches, each until it
// expires. Login initiations add none.
func (t *Tool) PendingLogins() int { return t.states.len() }
