// Package lti is the tool side of LTI 1.3 (1EdTech LTI 1.3 Core, the 1EdTech
// Security Framework and LTI Deep Linking 2.0): it lets a learning platform
// (Moodle, Canvas, Blackboard, …) launch Commonshelf inside a course.
//
// # The flow
//
// An LTI 1.3 launch is an OpenID Connect "third-party initiated login" with an
// implicit-flow id_token:
//
//  1. The platform sends the browser to our login URL with iss, login_hint,
//     target_link_uri and optionally client_id, lti_deployment_id and
//     lti_message_hint. [Tool.Login] finds the registration ([Platform]),
//     stores a random single-use state and nonce server side (bounded, with a
//     TTL) and returns the platform's authorization URL to redirect to.
//  2. The platform authenticates the user and form-POSTs an id_token (a JWT
//     signed RS256 with a key from its JWKS) and our state back to
//     Config.RedirectURI.
//  3. [Tool.Launch] consumes the state, checks the token (algorithm, issuer,
//     audience, signature against the platform's cached JWKS, expiry, nonce)
//     and the LTI claims (version, deployment, message type, resource link or
//     deep-linking settings, roles) and returns a [Launch] with the user, the
//     derived role and the course code.
//  4. The HTTP layer turns the Launch into a server-side browser session
//     ([Sessions.Create]). Browsers that block third-party cookies inside the
//     platform's iframe get a single-use ticket ([Sessions.Ticket]) to open
//     Commonshelf in a new window, where [Sessions.Redeem] sets the session up.
//  5. For an LtiDeepLinkingRequest the instructor picks works, and
//     [Tool.DeepLinkResponse] signs an LtiDeepLinkingResponse with our own key
//     ([KeySet], published as a JWKS) to be form-POSTed back to the platform.
//
// Every rejection of Login and Launch is an [*Error] whose Code is a stable
// word for programs and metrics and whose Message can be shown to a person.
//
// The package is a leaf: it knows nothing of the HTTP framework or of the
// consortium configuration. Nothing in it grows without bound: pending login
// states, sessions and tickets have a TTL and a maximum count, and the JWKS
// cache holds one entry per configured JWKS URL.
package lti
