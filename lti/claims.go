package lti

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/go-jose/go-jose/v4/jwt"
)

// Claim names of LTI 1.3 Core and Deep Linking 2.0.
const (
	ClaimMessageType         = "https://purl.imsglobal.org/spec/lti/claim/message_type"
	ClaimVersion             = "https://purl.imsglobal.org/spec/lti/claim/version"
	ClaimDeploymentID        = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
	ClaimTargetLinkURI       = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri"
	ClaimResourceLink        = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
	ClaimRoles               = "https://purl.imsglobal.org/spec/lti/claim/roles"
	ClaimContext             = "https://purl.imsglobal.org/spec/lti/claim/context"
	ClaimLaunchPresentation  = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"
	ClaimCustom              = "https://purl.imsglobal.org/spec/lti/claim/custom"
	ClaimLIS                 = "https://purl.imsglobal.org/spec/lti/claim/lis"
	ClaimDeepLinkingSettings = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
	ClaimContentItems        = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
	ClaimDeepLinkingData     = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
	ClaimDeepLinkingMsg      = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"
)

// Message types and the LTI version this package speaks.
const (
	MessageResourceLink        = "LtiResourceLinkRequest"
	MessageDeepLinking         = "LtiDeepLinkingRequest"
	MessageDeepLinkingResponse = "LtiDeepLinkingResponse"
	Version                    = "1.3.0"
	ContentTypeResourceLink    = "ltiResourceLink"
)

// idTokenClaims is the part of an LTI id_token this package reads.
type idTokenClaims struct {
	Issuer          string           `json:"iss"`
	Subject         string           `json:"sub"`
	Audience        jwt.Audience     `json:"aud"`
	AuthorizedParty string           `json:"azp"`
	Expiry          *jwt.NumericDate `json:"exp"`
	IssuedAt        *jwt.NumericDate `json:"iat"`
	NotBefore       *jwt.NumericDate `json:"nbf"`
	Nonce           string           `json:"nonce"`
	Name            string           `json:"name"`
	GivenName       string           `json:"given_name"`
	FamilyName      string           `json:"family_name"`
	Email           string           `json:"email"`

	MessageType   string    `json:"https://purl.imsglobal.org/spec/lti/claim/message_type"`
	Version       string    `json:"https://purl.imsglobal.org/spec/lti/claim/version"`
	DeploymentID  string    `json:"https://purl.imsglobal.org/spec/lti/claim/deployment_id"`
	TargetLinkURI string    `json:"https://purl.imsglobal.org/spec/lti/claim/target_link_uri"`
	Roles         *[]string `json:"https://purl.imsglobal.org/spec/lti/claim/roles"` // nil when missing

	ResourceLink *struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"https://purl.imsglobal.org/spec/lti/claim/resource_link"`

	Context *struct {
		ID    string `json:"id"`
		Label string `json:"label"`
		Title string `json:"title"`
	} `json:"https://purl.imsglobal.org/spec/lti/claim/context"`

	LaunchPresentation *struct {
		Locale    string `json:"locale"`
		ReturnURL string `json:"return_url"`
	} `json:"https://purl.imsglobal.org/spec/lti/claim/launch_presentation"`

	Custom map[string]json.RawMessage `json:"https://purl.imsglobal.org/spec/lti/claim/custom"`

	LIS *struct {
		CourseOfferingSourcedID string `json:"course_offering_sourcedid"`
		CourseSectionSourcedID  string `json:"course_section_sourcedid"`
	} `json:"https://purl.imsglobal.org/spec/lti/claim/lis"`

	DeepLinking *struct {
		ReturnURL      string   `json:"deep_link_return_url"`
		AcceptTypes    []string `json:"accept_types"`
		AcceptMultiple bool     `json:"accept_multiple"`
		Title          string   `json:"title"`
		Text           string   `json:"text"`
		Data           string   `json:"data"`
	} `json:"https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"`
}

// courseSource is a parsed Platform.CourseClaim.
type courseSource struct {
	kind string // "context", "custom" or "lis"
	name string
}

func parseCourseClaim(s string) (courseSource, error) {
	kind, name, ok := strings.Cut(s, ".")
	if ok && name != "" {
		switch kind {
		case "context":
			if name == "label" || name == "title" || name == "id" {
				return courseSource{kind, name}, nil
			}
		case "custom":
			return courseSource{kind, name}, nil
		case "lis":
			if name == "course_offering_sourcedid" || name == "course_section_sourcedid" {
				return courseSource{kind, name}, nil
			}
		}
	}
	return courseSource{}, fmt.Errorf("course claim %q: want context.label, context.title, context.id, custom.<name>, lis.course_offering_sourcedid or lis.course_section_sourcedid", s)
}

// courseCode reads the course code from the claims; "" when absent.
func (c *idTokenClaims) courseCode(src courseSource, custom map[string]string) string {
	switch src.kind {
	case "context":
		if c.Context == nil {
			return ""
		}
		switch src.name {
		case "label":
			return c.Context.Label
		case "title":
			return c.Context.Title
		default:
			return c.Context.ID
		}
	case "custom":
		v := custom[src.name]
		if strings.HasPrefix(v, "$") {
			return "" // a substitution variable the platform could not expand
		}
		return v
	case "lis":
		if c.LIS == nil {
			return ""
		}
		if src.name == "course_offering_sourcedid" {
			return c.LIS.CourseOfferingSourcedID
		}
		return c.LIS.CourseSectionSourcedID
	}
	return ""
}

// customStrings flattens the custom claim: strings as they are, other JSON
// values (numbers, booleans) as their JSON text; null and values whose text
// is longer than maxClaimLen are dropped.
func customStrings(raw map[string]json.RawMessage) map[string]string {
	if len(raw) == 0 {
		return nil
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		if len(v) > maxClaimLen || string(v) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			out[k] = s
			continue
		}
		out[k] = string(v)
	}
	return out
}

// decodeClaims decodes the payload: anything that is not a JSON object is a
// "token" error, a known claim of the wrong type a "claim" error.
func decodeClaims(payload []byte) (*idTokenClaims, *Error) {
	var object map[string]json.RawMessage
	if err := json.Unmarshal(payload, &object); err != nil || object == nil {
		return nil, failWith(CodeToken, "The login token is not a valid signed token.", errors.New("payload is not a JSON object"))
	}
	var c idTokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, failWith(CodeClaim, "The login token has a malformed claim.", err)
	}
	return &c, nil
}
