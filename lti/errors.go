package lti

import "errors"

// Error codes of [Error]. They are stable: the HTTP layer and metrics may
// switch on them.
const (
	CodeRequest       = "request"         // missing or malformed parameters
	CodeIssuer        = "issuer"          // unknown issuer or client, or ambiguous registration
	CodeState         = "state"           // unknown, expired or replayed state
	CodeToken         = "token"           // not a parseable JWS
	CodeAlgorithm     = "algorithm"       // any signature algorithm but RS256
	CodeKey           = "key"             // kid not in the platform's JWKS, or the JWKS unavailable
	CodeSignature     = "signature"       // the signature does not verify
	CodeExpired       = "expired"         // exp missing or past
	CodeIssuedAt      = "issued_at"       // iat missing or in the future, or nbf in the future
	CodeAudience      = "audience"        // aud/azp do not name our client_id
	CodeNonce         = "nonce"           // nonce missing or not the one of the state
	CodeVersion       = "version"         // LTI version is not 1.3.0
	CodeDeployment    = "deployment"      // deployment_id not registered
	CodeMessageType   = "message_type"    // neither LtiResourceLinkRequest nor LtiDeepLinkingRequest
	CodeResourceLink  = "resource_link"   // resource link launch without resource_link.id
	CodeTargetLinkURI = "target_link_uri" // resource link launch without target_link_uri
	CodeRoles         = "roles"           // roles claim missing
	CodeDeepLinking   = "deep_linking"    // deep-linking settings missing or unusable
	CodeClaim         = "claim"           // any other malformed claim
)

// Error is every rejection by [Tool.Login] and [Tool.Launch]. Code is one of
// the Code* constants; Message is a sentence that may be shown to a person on
// an error page and never contains a token, state, nonce or key material.
type Error struct {
	Code    string
	Message string
	cause   error // detail for logs (e.g. a JWKS transport error); may be nil
}

// Error implements error. The text includes the underlying cause, if any, for
// logs; show Message to people instead.
func (e *Error) Error() string {
	s := "lti " + e.Code + ": " + e.Message
	if e.cause != nil {
		s += " (" + e.cause.Error() + ")"
	}
	return s
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, &lti.Error{Code: lti.CodeState}) works; Message is ignored.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Code == e.Code
}

func fail(code, msg string) *Error { return &Error{Code: code, Message: msg} }

func failWith(code, msg string, cause error) *Error {
	return &Error{Code: code, Message: msg, cause: cause}
}

// ErrorCode returns the Code of the *Error in err's chain, or "" if there is
// none.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
