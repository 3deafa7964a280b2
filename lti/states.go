package lti

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"sync"
	"time"
)

// Login states are self-contained: Login stores nothing. The OIDC state is
// an HMAC-signed token carrying its expiry, the registration it was issued
// for and a random part the nonce is derived from, so anyone may start as
// many logins as they like without the tool holding anything for them.
//
// Single use is enforced at launch: a state whose id_token a registered
// platform signed is remembered as used until it expires. Only a platform
// can make the tool remember anything, never an anonymous caller, and what
// it remembers lasts no longer than the state's lifetime.
//
// A state's bytes, before base64url (no padding, 66 characters):
//
//	version (1) | expires, Unix nanoseconds (8) | platform (8) | random (16) | HMAC-SHA256 (16)
//
// platform is the first 8 bytes of SHA-256(issuer NUL client_id); the MAC
// covers everything before it.
const (
	stateVersion  = 1
	stateRandLen  = 16
	stateMACLen   = 16
	stateBodyLen  = 1 + 8 + 8 + stateRandLen
	stateLen      = stateBodyLen + stateMACLen
	stateKeyBytes = 32
)

// loginState is a state that verified: its registration, expiry and nonce.
type loginState struct {
	id       string // the random part, the key of the used-state set
	nonce    string
	expires  time.Time
	platform *Platform
}

// stateStore issues and checks login states and remembers the used ones.
type stateStore struct {
	key   []byte
	ttl   time.Duration
	limit int
	now   func() time.Time
	// platforms are the registrations by platformTag.
	platforms map[[8]byte]*Platform

	mu   sync.Mutex
	used ttlMap[struct{}] // by loginState.id, until the state expires
}

func newStateStore(key []byte, ttl time.Duration, limit int, now func() time.Time, platforms []*Platform) *stateStore {
	if len(key) == 0 {
		key = make([]byte, stateKeyBytes)
		_, _ = rand.Read(key) // never fails (the runtime aborts instead)
	}
	s := &stateStore{key: append([]byte(nil), key...), ttl: ttl, limit: limit, now: now, platforms: map[[8]byte]*Platform{}}
	for _, p := range platforms {
		s.platforms[platformTag(p)] = p
	}
	s.used.init()
	return s
}

func platformTag(p *Platform) [8]byte {
	sum := sha256.Sum256([]byte(p.Issuer + "\x00" + p.ClientID))
	return [8]byte(sum[:8])
}

func (s *stateStore) mac(body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(body)
	return m.Sum(nil)[:stateMACLen]
}

// nonceOf derives a state's nonce from its random part.
func (s *stateStore) nonceOf(random []byte) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("commonshelf lti nonce\x00"))
	m.Write(random)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// issue returns a new state and its nonce for a login at p. It stores
// nothing.
func (s *stateStore) issue(p *Platform) (state, nonce string) {
	b := make([]byte, stateBodyLen, stateLen)
	b[0] = stateVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(s.now().Add(s.ttl).UnixNano()))
	tag := platformTag(p)
	copy(b[9:17], tag[:])
	_, _ = rand.Read(b[17:stateBodyLen])
	b = append(b, s.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b), s.nonceOf(b[17:stateBodyLen])
}

// check verifies a state's signature and expiry and that it has not been
// used. It remembers nothing: see use.
func (s *stateStore) check(state string) (*loginState, bool) {
	b, err := base64.RawURLEncoding.DecodeString(state)
	if err != nil || len(b) != stateLen || b[0] != stateVersion {
		return nil, false
	}
	if subtle.ConstantTimeCompare(s.mac(b[:stateBodyLen]), b[stateBodyLen:]) != 1 {
		return nil, false
	}
	expires := time.Unix(0, int64(binary.BigEndian.Uint64(b[1:9])))
	now := s.now()
	if !now.Before(expires) {
		return nil, false
	}
	p, ok := s.platforms[[8]byte(b[9:17])]
	if !ok {
		return nil, false
	}
	ls := &loginState{id: string(b[17:stateBodyLen]), nonce: s.nonceOf(b[17:stateBodyLen]), expires: expires, platform: p}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, used := s.used.get(ls.id, now); used {
		return nil, false
	}
	return ls, true
}

// use marks a checked state used, once its id_token has been verified as
// signed by its platform. It reports false when the state was used
// meanwhile, or when limit used states are remembered already (then a
// launch is refused rather than an older state forgotten, which would let
// it be replayed).
func (s *stateStore) use(ls *loginState) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if _, used := s.used.get(ls.id, now); used {
		return false
	}
	s.used.sweep(now)
	if s.used.len() >= s.limit {
		return false
	}
	s.used.put(ls.id, struct{}{}, ls.expires, now, s.limit)
	return true
}

// len returns the number of used states remembered (expired ones included
// until they are swept).
func (s *stateStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used.sweep(s.now())
	return s.used.len()
}
