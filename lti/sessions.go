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
	// FormPassTTL is how long a form pass lasts: time to read a page and
	// choose.
	FormPassTTL = 30 * time.Minute
)

// Sessions holds browser sessions in memory, single-use tickets that let a
// new window (opened when the platform's iframe has no cookies) take over a
// session, and single-use form passes that a framed form carries instead of
// the session id. All are bounded and expire; since every entry of a kind has the
// same lifetime, the oldest is evicted first when full. It is safe for
// concurrent use.
type Sessions struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu       sync.Mutex
	sessions ttlMap[*Session]
	tickets  ttlMap[string] // ticket → session id
	passes   ttlMap[string] // form pass → session id
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
	s.passes.init()
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
func (s *Sessions) Ticket(sessionID string) string { return s.issue(&s.tickets, sessionID, TicketTTL) }

// Redeem consumes a ticket and returns its session; false when the ticket is
// unknown, used, expired, or its session has ended.
func (s *Sessions) Redeem(ticket string) (*Session, bool) { return s.take(&s.tickets, ticket) }

// FormPass returns a single-use pass, valid for FormPassTTL, that a form on
// a page shown in the platform's frame carries instead of the session id
// (the frame may send no cookie); TakeFormPass turns it into the session.
// "" when the session is unknown or expired.
func (s *Sessions) FormPass(sessionID string) string {
	return s.issue(&s.passes, sessionID, FormPassTTL)
}

// TakeFormPass consumes a form pass and returns its session; false when the
// pass is unknown, used, expired, or its session has ended.
func (s *Sessions) TakeFormPass(pass string) (*Session, bool) { return s.take(&s.passes, pass) }

// issue puts a new single-use token for the session in m (whose entries all
// live ttl).
func (s *Sessions) issue(m *ttlMap[string], sessionID string, ttl time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if _, ok := s.sessions.get(sessionID, now); !ok {
		return ""
	}
	token := randomToken()
	// take checks the session again, so a token never outlives it.
	m.put(token, sessionID, now.Add(ttl), now, s.max)
	return token
}

// take consumes a token of m and returns a copy of its session.
func (s *Sessions) take(m *ttlMap[string], token string) (*Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	id, ok := m.take(token, now)
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
