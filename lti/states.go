package lti

import (
	"sync"
	"time"
)

// pendingLogin is what Login remembers for Launch.
type pendingLogin struct {
	state    string
	nonce    string
	platform *Platform
}

// stateStore holds pending logins until they are consumed or expire. When
// it is full, the oldest pending login is evicted to make room: a flood of
// login requests can then only push out logins older than itself, whereas
// refusing new logins would let the same flood lock every user out until the
// TTL passes.
type stateStore struct {
	ttl   time.Duration
	limit int
	now   func() time.Time

	mu      sync.Mutex
	pending ttlMap[*pendingLogin] // by state
}

func newStateStore(ttl time.Duration, limit int, now func() time.Time) *stateStore {
	s := &stateStore{ttl: ttl, limit: limit, now: now}
	s.pending.init()
	return s
}

// put stores a new pending login for p and returns it.
func (s *stateStore) put(p *Platform) *pendingLogin {
	pl := &pendingLogin{state: randomToken(), nonce: randomToken(), platform: p}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.pending.put(pl.state, pl, now.Add(s.ttl), now, s.limit)
	return pl
}

// take removes the pending login of state and returns it if it had not
// expired. A state can be taken once.
func (s *stateStore) take(state string) (*pendingLogin, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending.take(state, s.now())
}

// len returns the number of pending logins (expired ones included until they
// are swept).
func (s *stateStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending.len()
}
