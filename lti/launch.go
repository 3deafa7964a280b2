package lti

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Launch is a validated LTI launch.
type Launch struct {
	Platform          *Platform // the registration; shared, must not be modified
	MessageType       string    // MessageResourceLink or MessageDeepLinking
	Subject           string    // sub; "" for an anonymous launch
	Name, Email       string    // name (or given_name family_name) and email, if sent
	Roles             []string  // as sent (full URIs)
	Role              string    // RoleInstructor or RoleStudent, see MapRole
	DeploymentID      string
	CourseCode        string // from Platform.CourseClaim; "" if the claim is absent
	ContextID         string
	ContextLabel      string
	ContextTitle      string
	ResourceLinkID    string
	ResourceLinkTitle string
	TargetLinkURI     string
	Locale            string               // launch_presentation.locale
	ReturnURL         string               // launch_presentation.return_url; "" unless an absolute http(s) URL
	Custom            map[string]string    // the custom claim, values as strings
	DeepLinking       *DeepLinkingSettings // non-nil for LtiDeepLinkingRequest
	Expires           time.Time            // the id_token's exp
}

// DeepLinkingSettings are the deep_linking_settings of an
// LtiDeepLinkingRequest.
type DeepLinkingSettings struct {
	ReturnURL      string   // deep_link_return_url: where the response is form-POSTed
	AcceptTypes    []string // content item types the platform accepts
	AcceptMultiple bool     // more than one item may be returned
	Title, Text    string   // default title and text for items
	Data           string   // opaque; echoed in the response
}

// stateRejected is the message of a state that is forged, expired or used.
const stateRejected = "This launch has expired or was already used. Please start it again from your course."

// tokenHeader is the part of the JOSE header checked before any key lookup.
type tokenHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

// Launch validates a form-posted id_token and its state: the state's
// signature, expiry and that it is unused; the token's algorithm (RS256
// only), issuer, audience and signature; then the state is used up, so it
// is single use even when a later check fails; then the token's times and
// nonce, then the LTI claims. Every rejection is an *Error.
func (t *Tool) Launch(ctx context.Context, idToken, state string) (*Launch, error) {
	if state == "" || len(state) > maxParamLen {
		return nil, fail(CodeRequest, "The launch did not carry a valid state.")
	}
	if idToken == "" {
		return nil, fail(CodeRequest, "The launch did not carry a login token (id_token).")
	}
	pl, ok := t.states.check(state)
	if !ok {
		return nil, fail(CodeState, stateRejected)
	}
	p := pl.platform

	// The algorithm is checked on the raw header, before go-jose or any key
	// is involved, so "none" and HMAC tokens are refused outright.
	if len(idToken) > maxTokenLen {
		return nil, fail(CodeToken, "The login token is too large.")
	}
	hdr, herr := parseHeader(idToken)
	if herr != nil {
		return nil, herr
	}
	if hdr.Alg != string(jose.RS256) {
		return nil, fail(CodeAlgorithm, "The login token is signed with an algorithm Commonshelf does not accept (only RS256).")
	}
	tok, err := jwt.ParseSigned(idToken, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, failWith(CodeToken, "The login token is not a valid signed token.", err)
	}
	var payload json.RawMessage
	if err := tok.UnsafeClaimsWithoutVerification(&payload); err != nil {
		return nil, failWith(CodeToken, "The login token is not a valid signed token.", err)
	}
	c, cerr := decodeClaims(payload)
	if cerr != nil {
		return nil, cerr
	}

	// Issuer and audience come before the key lookup: a token meant for
	// another platform or tool must not make us fetch anything.
	if c.Issuer != p.Issuer {
		return nil, fail(CodeIssuer, "The login token was issued by a different platform than the one the login started at.")
	}
	if !c.Audience.Contains(p.ClientID) {
		return nil, fail(CodeAudience, "The login token is not meant for Commonshelf (audience).")
	}
	if (len(c.Audience) > 1 || c.AuthorizedParty != "") && c.AuthorizedParty != p.ClientID {
		return nil, fail(CodeAudience, "The login token is not meant for Commonshelf (authorized party).")
	}

	if hdr.Kid == "" {
		return nil, fail(CodeKey, "The login token does not say which platform key signed it (kid).")
	}
	key, err := t.jwks.key(ctx, p.JWKSURL, hdr.Kid)
	if err != nil {
		if errors.Is(err, errUnknownKID) {
			return nil, failWith(CodeKey, "The login token is signed with a key the platform does not publish.", err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, failWith(CodeKey, "The platform's signing keys could not be fetched. Please try again later.", err)
	}
	if err := tok.Claims(key); err != nil {
		return nil, failWith(CodeSignature, "The login token's signature is not valid.", err)
	}
	now := t.now()
	switch {
	case c.Expiry == nil:
		return nil, fail(CodeExpired, "The login token has no expiry time.")
	case now.After(c.Expiry.Time().Add(t.leeway)):
		return nil, fail(CodeExpired, "The login token has expired. Please start the launch again from your course.")
	case c.IssuedAt == nil:
		return nil, fail(CodeIssuedAt, "The login token has no issue time.")
	case c.IssuedAt.Time().After(now.Add(t.leeway)):
		return nil, fail(CodeIssuedAt, "The login token was issued in the future; the platform's clock may be wrong.")
	case c.NotBefore != nil && c.NotBefore.Time().After(now.Add(t.leeway)):
		return nil, fail(CodeIssuedAt, "The login token is not valid yet; the platform's clock may be wrong.")
	}
	if c.Nonce == "" || subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(pl.nonce)) != 1 {
		return nil, fail(CodeNonce, "The login token does not belong to this login (nonce).")
	}
	// The platform signed this token for this very login (its nonce is the
	// state's), and it is current: only now is the state used up. A token
	// signed for another login — an old one replayed with fresh states —
	// uses up nothing, so only real launches are remembered.
	if !t.states.use(pl) {
		return nil, fail(CodeState, stateRejected)
	}

	return t.ltiClaims(p, c)
}

// ltiClaims checks the LTI claims of a verified token and builds the Launch.
func (t *Tool) ltiClaims(p *Platform, c *idTokenClaims) (*Launch, error) {
	if c.Version != Version {
		return nil, fail(CodeVersion, "The platform launched with an LTI version other than 1.3.0.")
	}
	if c.DeploymentID == "" || !slices.Contains(p.DeploymentIDs, c.DeploymentID) {
		return nil, fail(CodeDeployment, "This deployment of Commonshelf is not registered for the learning platform.")
	}
	l := &Launch{
		Platform:      p,
		MessageType:   c.MessageType,
		Subject:       c.Subject,
		Name:          strings.TrimSpace(c.Name),
		Email:         c.Email,
		DeploymentID:  c.DeploymentID,
		TargetLinkURI: c.TargetLinkURI,
		Custom:        customStrings(c.Custom),
		Expires:       c.Expiry.Time(),
	}
	switch c.MessageType {
	case MessageResourceLink:
		if c.TargetLinkURI == "" {
			return nil, fail(CodeTargetLinkURI, "The launch does not say what to open (target_link_uri is missing).")
		}
		if c.ResourceLink == nil || c.ResourceLink.ID == "" {
			return nil, fail(CodeResourceLink, "The launch does not name its course link (resource_link.id is missing).")
		}
		l.ResourceLinkID, l.ResourceLinkTitle = c.ResourceLink.ID, c.ResourceLink.Title
	case MessageDeepLinking:
		dl := c.DeepLinking
		switch {
		case dl == nil:
			return nil, fail(CodeDeepLinking, "The content selection request has no deep-linking settings.")
		case checkURL(dl.ReturnURL) != nil:
			return nil, fail(CodeDeepLinking, "The content selection request has no valid return address (deep_link_return_url).")
		case !slices.Contains(dl.AcceptTypes, ContentTypeResourceLink):
			return nil, fail(CodeDeepLinking, "The platform does not accept the links Commonshelf creates (ltiResourceLink).")
		}
		l.DeepLinking = &DeepLinkingSettings{
			ReturnURL:      dl.ReturnURL,
			AcceptTypes:    dl.AcceptTypes,
			AcceptMultiple: dl.AcceptMultiple,
			Title:          dl.Title,
			Text:           dl.Text,
			Data:           dl.Data,
		}
		if c.ResourceLink != nil {
			l.ResourceLinkID, l.ResourceLinkTitle = c.ResourceLink.ID, c.ResourceLink.Title
		}
	default:
		return nil, fail(CodeMessageType, "The platform sent a kind of launch Commonshelf does not support.")
	}
	if c.Roles == nil {
		return nil, fail(CodeRoles, "The launch does not say what your role in the course is (roles claim missing).")
	}
	l.Roles = *c.Roles
	l.Role = MapRole(l.Roles)
	if l.Name == "" {
		l.Name = strings.TrimSpace(c.GivenName + " " + c.FamilyName)
	}
	if c.Context != nil {
		l.ContextID, l.ContextLabel, l.ContextTitle = c.Context.ID, c.Context.Label, c.Context.Title
	}
	if lp := c.LaunchPresentation; lp != nil {
		l.Locale = lp.Locale
		if checkURL(lp.ReturnURL) == nil {
			l.ReturnURL = lp.ReturnURL
		}
	}
	src, _ := parseCourseClaim(p.CourseClaim) // validated in New
	l.CourseCode = c.courseCode(src, l.Custom)
	for _, s := range []string{l.Subject, l.Name, l.Email, l.CourseCode, l.ContextID, l.ContextLabel, l.ContextTitle, l.ResourceLinkID, l.ResourceLinkTitle, l.Locale, l.TargetLinkURI, l.ReturnURL} {
		if len(s) > maxClaimLen {
			return nil, fail(CodeClaim, "The launch carries a claim that is too long.")
		}
	}
	return l, nil
}

// parseHeader decodes the protected header of a JWS compact serialization.
func parseHeader(token string) (tokenHeader, *Error) {
	var h tokenHeader
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return h, fail(CodeToken, "The login token is not a valid signed token.")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return h, failWith(CodeToken, "The login token is not a valid signed token.", err)
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return h, failWith(CodeToken, "The login token is not a valid signed token.", err)
	}
	return h, nil
}
