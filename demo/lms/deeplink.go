package lms

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/valyala/fasthttp"

	"github.com/commonshelf/commonshelf/lti"
)

// maxDeepLinkToken bounds the tool's deep-linking response token.
const maxDeepLinkToken = 32 << 10

// deepLinkClaims are the claims of an LtiDeepLinkingResponse the platform
// reads (jwt.Claims has iss, aud, exp, iat).
type deepLinkClaims struct {
	Nonce        string         `json:"nonce"`
	MessageType  string         `json:"https://purl.imsglobal.org/spec/lti/claim/message_type"`
	Version      string         `json:"https://purl.imsglobal.org/spec/lti/claim/version"`
	DeploymentID string         `json:"https://purl.imsglobal.org/spec/lti/claim/deployment_id"`
	ContentItems *[]contentItem `json:"https://purl.imsglobal.org/spec/lti-dl/claim/content_items"`
	Data         string         `json:"https://purl.imsglobal.org/spec/lti-dl/claim/data"`
	Msg          string         `json:"https://purl.imsglobal.org/spec/lti-dl/claim/msg"`
	ErrorMsg     string         `json:"https://purl.imsglobal.org/spec/lti-dl/claim/errormsg"`
}

// contentItem is one item of a deep-linking response. Custom values must
// be strings, as they travel back in launches as they are.
type contentItem struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Text   string            `json:"text"`
	URL    string            `json:"url"`
	Custom map[string]string `json:"custom"`
}

// linked is a verified deep-linking response.
type linked struct {
	inst   *Institution
	course string
	items  []resourceLink
	msg    string // the tool's msg, or its errormsg
}

// serveDeepLinkReturn: POST /demo-lms/deep-link-return — the tool's
// LtiDeepLinkingResponse (form field JWT): verified, then the page shows
// what was linked with buttons that open it.
func (p *Platform) serveDeepLinkReturn(ctx *fasthttp.RequestCtx) {
	form, err := readForm(ctx)
	if err != nil {
		p.problem(ctx, fasthttp.StatusBadRequest, "Bad deep-linking response", "The response could not be read: "+err.Error())
		return
	}
	// A RequestCtx has no deadline: the JWKS fetch gets its own.
	vctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	l, err := p.verifyDeepLink(vctx, form.Get("JWT"))
	if err != nil {
		p.log.Warn("demo lms deep-linking response rejected", "err", err)
		p.problem(ctx, fasthttp.StatusBadRequest, "Deep-linking response refused", "The tool's deep-linking response was refused: "+err.Error()+".")
		return
	}
	p.log.Info("demo lms deep link", "institution", l.inst.ID, "course", l.course, "items", len(l.items))
	p.linkedPage(ctx, l)
}

// verifyDeepLink checks a deep-linking response as a platform does: RS256
// with a key of the tool's JWKS (by kid), iss a client of this platform,
// aud this platform, exp and iat, the message type, LTI version and the
// client's deployment, a nonce not seen before, the data of a deep-linking
// request this platform made for that client, and content items it
// accepts (at most one resource link, on the tool's origin).
func (p *Platform) verifyDeepLink(ctx context.Context, token string) (*linked, error) {
	if token == "" {
		return nil, errors.New("the JWT field is missing")
	}
	if len(token) > maxDeepLinkToken {
		return nil, errors.New("the token is too large")
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("not an RS256-signed JWT (%v)", err)
	}
	kid := tok.Headers[0].KeyID
	if kid == "" {
		return nil, errors.New("the token does not name its key (kid)")
	}
	set, err := p.toolJWKS(ctx)
	if err != nil {
		return nil, err
	}
	keys := set.Key(kid)
	if len(keys) != 1 {
		return nil, fmt.Errorf("key %q is not in the tool's JWKS", kid)
	}
	var std jwt.Claims
	var c deepLinkClaims
	if err := tok.Claims(keys[0].Key, &std, &c); err != nil {
		return nil, fmt.Errorf("the signature or the claims are not valid (%v)", err)
	}
	in := p.byCli[std.Issuer]
	if in == nil {
		return nil, fmt.Errorf("iss %q is not a client of this platform", std.Issuer)
	}
	now := p.now()
	if std.Expiry == nil || std.IssuedAt == nil {
		return nil, errors.New("exp or iat is missing")
	}
	if err := std.ValidateWithLeeway(jwt.Expected{AnyAudience: jwt.Audience{p.ep.Issuer}, Time: now}, leeway); err != nil {
		return nil, fmt.Errorf("aud, exp or iat: %v", err)
	}
	switch {
	case c.MessageType != lti.MessageDeepLinkingResponse:
		return nil, fmt.Errorf("message_type is %q, want %s", c.MessageType, lti.MessageDeepLinkingResponse)
	case c.Version != lti.Version:
		return nil, fmt.Errorf("version is %q, want %s", c.Version, lti.Version)
	case c.DeploymentID != in.DeploymentID:
		return nil, fmt.Errorf("deployment_id %q is not the client's deployment", c.DeploymentID)
	case c.Nonce == "" || len(c.Nonce) > 1024:
		return nil, errors.New("nonce is missing or too long")
	case c.ContentItems == nil:
		return nil, errors.New("content_items is missing")
	}
	var data deepLinkData
	if err := p.seal.open(purposeData, c.Data, &data); err != nil {
		return nil, errors.New("data does not echo a deep-linking request of this platform")
	}
	if data.Institution != in.ID || now.After(time.Unix(data.Expires, 0)) {
		return nil, errors.New("data belongs to another client's request, or to one that has expired")
	}
	items := *c.ContentItems
	if len(items) > 1 {
		return nil, fmt.Errorf("%d content items, but the request accepted one", len(items))
	}
	l := &linked{inst: in, course: data.Course, msg: cmp.Or(c.Msg, c.ErrorMsg)}
	for i, it := range items {
		if it.Type != lti.ContentTypeResourceLink {
			return nil, fmt.Errorf("content item %d is a %q, but the request accepted %s only", i+1, it.Type, lti.ContentTypeResourceLink)
		}
		if it.URL != "" {
			u, err := url.Parse(it.URL)
			if err != nil || u.Scheme+"://"+u.Host != p.tool.origin || u.User != nil || u.Fragment != "" {
				return nil, fmt.Errorf("content item %d links %q, which is not on the tool's origin %s", i+1, it.URL, p.tool.origin)
			}
		}
		id, err := randomID()
		if err != nil {
			return nil, err
		}
		l.items = append(l.items, resourceLink{ID: id, Title: it.Title, Text: it.Text, URL: it.URL, Custom: it.Custom})
	}
	// The nonce last: a response refused for another reason may be fixed
	// and sent again.
	if !p.firstUse(c.Nonce, std.Expiry.Time().Add(leeway)) {
		return nil, errors.New("this response was already received (nonce replayed)")
	}
	return l, nil
}

// toolJWKS fetches the tool's public keys.
func (p *Platform) toolJWKS(ctx context.Context) (*jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.tool.jwks, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the tool's JWKS could not be fetched (%v)", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBody+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("the tool's JWKS could not be read (%v)", err)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("the tool's JWKS answered %d", resp.StatusCode)
	case len(body) > maxJWKSBody:
		return nil, errors.New("the tool's JWKS is too large")
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("the tool's JWKS is not a key set (%v)", err)
	}
	return &set, nil
}

// firstUse records a response nonce until forgetAt and reports whether it
// was new. Expired nonces are dropped; when the set is still full, the one
// expiring first goes (a response that old is refused by its exp anyway,
// or soon will be).
func (p *Platform) firstUse(nonce string, forgetAt time.Time) bool {
	p.nonceMu.Lock()
	defer p.nonceMu.Unlock()
	now := p.now()
	if t, ok := p.nonces[nonce]; ok && now.Before(t) {
		return false
	}
	if len(p.nonces) >= maxSeenNonces {
		var oldest string
		var oldestAt time.Time
		for n, t := range p.nonces {
			if !now.Before(t) {
				delete(p.nonces, n)
				continue
			}
			if oldest == "" || t.Before(oldestAt) {
				oldest, oldestAt = n, t
			}
		}
		if len(p.nonces) >= maxSeenNonces {
			delete(p.nonces, oldest)
		}
	}
	p.nonces[nonce] = forgetAt
	return true
}

func randomID() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random link id: %w", err)
	}
	return "link-" + base64.RawURLEncoding.EncodeToString(b), nil
}
