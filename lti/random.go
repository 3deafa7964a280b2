package lti

import (
	"crypto/rand"
	"encoding/base64"
)

// randomToken returns 32 bytes from crypto/rand, base64url without padding
// (43 characters). It is used for states, nonces, session ids, CSRF tokens and
// tickets. crypto/rand.Read never fails (the runtime aborts instead).
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
