package lms

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// A sealer makes the opaque values the platform hands out and must trust
// when they come back — the lti_message_hint of a login, a deep-linking
// request's data, a deep-linked resource link: JSON with an HMAC-SHA256
// under a key made at start. Each kind of value has its own purpose, mixed
// into the MAC, so that one cannot stand for another.
type sealer struct{ key []byte }

// Purposes of sealed values.
const (
	purposeHint = "lti_message_hint"
	purposeData = "deep_linking_data"
	purposeLink = "resource_link"
)

// maxSealed bounds a sealed value (login parameters are at most 4 KB at the
// tool).
const maxSealed = 4096

var errBadSeal = errors.New("not issued by this platform, or altered")

func newSealer() (*sealer, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("lms: sealing key: %w", err)
	}
	return &sealer{key: key}, nil
}

func (s *sealer) mac(purpose string, payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)
}

// seal returns v as base64url(JSON) "." base64url(MAC).
func (s *sealer) seal(purpose string, v any) (string, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	out := enc.EncodeToString(payload) + "." + enc.EncodeToString(s.mac(purpose, payload))
	if len(out) > maxSealed {
		return "", fmt.Errorf("sealed %s is %d bytes, more than %d", purpose, len(out), maxSealed)
	}
	return out, nil
}

// open checks a sealed value's MAC and decodes it into v.
func (s *sealer) open(purpose, sealed string, v any) error {
	if len(sealed) > maxSealed {
		return errBadSeal
	}
	p64, m64, ok := strings.Cut(sealed, ".")
	if !ok {
		return errBadSeal
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p64)
	mac, err2 := enc.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac(purpose, payload)) {
		return errBadSeal
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return errBadSeal
	}
	return nil
}
