package lti

import (
	"sync"
	"time"
)

// Session is a browser session created by a launch. Values returned by
// [Sessions] are copies.
type Session struct {
	ID           string // the cookie value; 32 random bytes, base64url
	Institution  string // Platform.Institution of the launch
	Platform     string // Platform.Name of the launch
	Subject      string
	Name         string
	Role         string // RoleInstructor or RoleStudent
	CourseCode   string
	ContextTitle string
	Locale       string
	Expires      time.Time
	CSRF         string // random token for forms of this session
	// Launch is the launch that created the session, kept for
	// Tool.DeepLinkResponse (and for details not copied above). Shared: do
	// not modify.
	Launch *Launch
}

// SessionOptions configures [Sessions].
type SessionOptions struct {
	TTL time.Duration // session lifetime from creation; 0 → 8 hours
	// Max bounds the sessions and, separately, the pending tickets;
	// 0 → 100000. When full, the oldest is evicted.
	Max int
	Now func() time.Time // nil → time.Now
}

// Defaults of SessionOptions and the ticket lifetime.
const (
	DefaultSessionTTL = 8 * time.Hour
	DefaultMaxSession = 100000
	TicketTTL         = 2 * time.Minute
)

// Sessions holds browser sessions in memory, and single-use tickets that let
// a new window (opened when the platform's iframe has no cookies) take over a
// session. Both are bounded and expire; since every entry of a kind has the
// same lifetime, the oldest is evicted first when full. It is safe for
// concurrent use.
type Sessions struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu       sync.Mutex
	sessions ttlMap[*Session]
	tickets  ttlMap[string] // ticket → session id
}

// NewSessions returns an empty session store.
func NewSessions(opts SessionOptions) *Sessions {
	s := &Sessions{ttl: opts.TTL, max: opts.Max, now: opts.Now}
	if s.ttl <= 0 {
		s.ttl = DefaultSessionTTL
	}
	if s.max <= 0 {
		s.max = DefaultMaxSession
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.sessions.init()
	s.tickets.init()
	return s
}

// Create starts a session for a validated launch and returns it.
func (s *Sessions) Create(l *Launch) *Session {
	sess := &Session{
		ID:           randomToken(),
		Institution:  l.Platform.Institution,
		Platform:     l.Platform.Name,
		Subject:      l.Subject,
		Name:         l.Name,
		Role:         l.Role,
		CourseCode:   l.CourseCode,
		ContextTitle: l.ContextTitle,
		Locale:       l.Locale,
		CSRF:         randomToken(),
		Launch:       l,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	sess.Expires = now.Add(s.ttl)
	s.sessions.put(sess.ID, sess, sess.Expires, now, s.max)
	c := *sess
	return &c
}

// Get returns the session with id; false when unknown or expired.
func (s *Sessions) Get(id string) (*Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions.get(id, s.now())
	if !ok {
		return nil, false
	}
	c := *sess
	return &c, true
}

// Delete ends the session with id (logout); unknown ids are ignored.
func (s *Sessions) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions.remove(id)
}

// Ticket returns a single-use ticket, valid for TicketTTL, that Redeem turns
// into the session; "" when the session is unknown or expired.
func (s *Sessions) Ticket(sessionID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if _, ok := s.sessions.get(sessionID, now); !ok {
		return ""
	}
	ticket := randomToken()
	// Redeem checks the session again, so a ticket never outlives it.
	s.tickets.put(ticket, sessionID, now.Add(TicketTTL), now, s.max)
	return ticket
}

// Redeem consumes a ticket and returns its session; false when the ticket is
// unknown, used, expired, or its session has ended.
func (s *Sessions) Redeem(ticket string) (*Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	id, ok := s.tickets.take(ticket, now)
	if !ok {
		return nil, false
	}
	sess, ok := s.sessions.get(id, now)
	if !ok {
		return nil, false
	}
	c := *sess
	return &c, true
}

// Len returns the number of sessions held (expired ones included until they
// are swept).
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions.len()
}
