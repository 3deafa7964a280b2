package lti

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// ErrNoKeys is returned by DeepLinkResponse when Config.Keys is nil.
var ErrNoKeys = errors.New("lti: no signing keys configured (Config.Keys)")

// deepLinkResponseTTL is the exp of a deep-linking response after its iat.
const deepLinkResponseTTL = 5 * time.Minute

// ContentItem is one item of a deep-linking response.
type ContentItem struct {
	Type   string            // "ltiResourceLink" ("" means that too)
	Title  string            // shown by the platform
	Text   string            // description
	URL    string            // launch URL of the item; "" → the tool's default launch URL
	Custom map[string]string // custom parameters sent back on launches of the item
}

type contentItemJSON struct {
	Type   string            `json:"type"`
	Title  string            `json:"title,omitempty"`
	Text   string            `json:"text,omitempty"`
	URL    string            `json:"url,omitempty"`
	Custom map[string]string `json:"custom,omitempty"`
}

type deepLinkResponseClaims struct {
	jwt.Claims
	Nonce        string            `json:"nonce"`
	DeploymentID string            `json:"https://purl.imsglobal.org/spec/lti/claim/deployment_id"`
	MessageType  string            `json:"https://purl.imsglobal.org/spec/lti/claim/message_type"`
	Version      string            `json:"https://purl.imsglobal.org/spec/lti/claim/version"`
	ContentItems []contentItemJSON `json:"https://purl.imsglobal.org/spec/lti-dl/claim/content_items"`
	Data         string            `json:"https://purl.imsglobal.org/spec/lti-dl/claim/data,omitempty"`
	Msg          string            `json:"https://purl.imsglobal.org/spec/lti-dl/claim/msg,omitempty"`
}

// DeepLinkResponse builds the LtiDeepLinkingResponse for a deep-linking
// launch: a JWT signed RS256 with the current key of Config.Keys (kid in the
// header), with iss our client_id, aud the platform's issuer, iat, exp five
// minutes later, a random nonce, the deployment id, the content items, the
// settings' data echoed and msg (omitted when ""). The browser must
// form-POST it as the field "JWT" to returnURL. An empty items list tells the
// platform that nothing was chosen.
//
// The Launch may be older than its own token's expiry: the instructor may
// take a while to choose.
func (t *Tool) DeepLinkResponse(l *Launch, items []ContentItem, msg string) (jwtString string, returnURL string, err error) {
	if t.keys == nil {
		return "", "", ErrNoKeys
	}
	if l == nil || l.Platform == nil || l.DeepLinking == nil || l.MessageType != MessageDeepLinking {
		return "", "", errors.New("lti: deep-linking response for a launch that is not a deep-linking request")
	}
	dl := l.DeepLinking
	if len(items) > 1 && !dl.AcceptMultiple {
		return "", "", fmt.Errorf("lti: platform %s accepts one content item, got %d", l.Platform.Name, len(items))
	}
	out := make([]contentItemJSON, 0, len(items))
	for i, it := range items {
		typ := it.Type
		if typ == "" {
			typ = ContentTypeResourceLink
		}
		if !slices.Contains(dl.AcceptTypes, typ) {
			return "", "", fmt.Errorf("lti: content item %d: platform %s does not accept type %q", i+1, l.Platform.Name, typ)
		}
		if it.URL != "" {
			if err := checkURL(it.URL); err != nil {
				return "", "", fmt.Errorf("lti: content item %d: %w", i+1, err)
			}
		}
		out = append(out, contentItemJSON{Type: typ, Title: it.Title, Text: it.Text, URL: it.URL, Custom: it.Custom})
	}

	signer, _ := t.keys.signer()
	now := t.now()
	claims := deepLinkResponseClaims{
		Claims: jwt.Claims{
			Issuer:   l.Platform.ClientID,
			Audience: jwt.Audience{l.Platform.Issuer},
			IssuedAt: jwt.NewNumericDate(now),
			Expiry:   jwt.NewNumericDate(now.Add(deepLinkResponseTTL)),
		},
		Nonce:        randomToken(),
		DeploymentID: l.DeploymentID,
		MessageType:  MessageDeepLinkingResponse,
		Version:      Version,
		ContentItems: out,
		Data:         dl.Data,
		Msg:          msg,
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", "", fmt.Errorf("lti: sign deep-linking response for %s: %w", l.Platform.Name, err)
	}
	return s, dl.ReturnURL, nil
}
