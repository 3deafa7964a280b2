package federate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/commonshelf/commonshelf/cache"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/errgroup"
)

// Member describes one member library's catalogue to the Engine.
type Member struct {
	// ID is the member's institution id; Name its display name.
	ID, Name string
	// Connector reaches the member's discovery system.
	Connector Connector
	// Timeout is the member's own deadline for one search; 0 means the
	// request's budget alone limits it.
	Timeout time.Duration
	// MaxInFlight bounds concurrent searches sent to the member (the
	// bulkhead); a search that finds it full is answered "busy" for this
	// member instead of queueing. 0 means 16.
	MaxInFlight int
	// BreakerFailures is the number of consecutive failures that opens the
	// member's circuit breaker; 0 means 5.
	BreakerFailures uint32
	// BreakerOpenFor is how long the breaker stays open before one probe is
	// let through (half-open); 0 means 30s.
	BreakerOpenFor time.Duration
}

// Status values of a member in a response.
const (
	StatusOK      = "ok"      // answered in time
	StatusTimeout = "timeout" // did not answer by its deadline
	StatusError   = "error"   // failed: transport, server error, unreadable answer, panic
	StatusOpen    = "open"    // not called: its circuit breaker is open
	StatusBusy    = "busy"    // not called: its bulkhead is full
	StatusSkipped = "skipped" // not called or abandoned: the caller went away
)

// MemberStatus reports how one member fared in one search.
type MemberStatus struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Status string `json:"status"`
	TookMS int64  `json:"took_ms"`
	// Hits is the member's own count of matching records (-1 unknown).
	Hits int `json:"hits"`
	// Returned is the number of records the member returned in this page.
	Returned int `json:"returned"`
	// Rejected counts records the member sent that could not be read.
	Rejected int `json:"rejected,omitempty"`
	// Relaxed lists what of the query the member could not express.
	Relaxed []string `json:"relaxed,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// EngineConfig are the Engine's search-wide limits.
type EngineConfig struct {
	// DefaultTimeout is the budget of a search that names none; 0 means 3s.
	DefaultTimeout time.Duration
	// MaxTimeout caps any budget a request asks for; 0 means 10s.
	MaxTimeout time.Duration
	// MaxDepth caps offset+limit: how deep into the merged answer a caller
	// may page; 0 means 300.
	MaxDepth int
	// MinFetch is how many records each member is asked for at least, so
	// that merging and re-ranking see more than one page; 0 means 50.
	MinFetch int
	// Cache configures the hot-query cache; the zero value turns it off.
	Cache CacheConfig
	// MaxSearches bounds the searches asking the members at once (see
	// Admit); one past it fails at once with ErrOverloaded. 0: no bound.
	MaxSearches int
}

// Engine fans a query out to the members, merges and ranks their answers.
// It is safe for concurrent use.
type Engine struct {
	log     *slog.Logger
	cfg     EngineConfig
	members []*member
	byID    map[string]*member
	metrics *Metrics
	courses CourseLookup // nil: results carry no resource lists
	// group is the hot-query cache (nil: off); cacheCfg its settings with
	// defaults applied; window the works cached per query.
	group    *cache.Group[*window]
	cacheCfg CacheConfig
	window   int
	// slots holds a token per search asking the members (nil: unbounded).
	slots chan struct{}
}

// member is a Member with its runtime state.
type member struct {
	Member
	slots   chan struct{}
	breaker *gobreaker.CircuitBreaker[Page]
	stats   memberStats
}

// NewEngine builds an Engine over members, in the given (display) order.
// metrics may be nil.
func NewEngine(logger *slog.Logger, cfg EngineConfig, metrics *Metrics, members []Member) (*Engine, error) {
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = 3 * time.Second
	}
	if cfg.MaxTimeout <= 0 {
		cfg.MaxTimeout = 10 * time.Second
	}
	if cfg.DefaultTimeout > cfg.MaxTimeout {
		cfg.DefaultTimeout = cfg.MaxTimeout
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = 300
	}
	if cfg.MinFetch <= 0 {
		cfg.MinFetch = 50
	}
	e := &Engine{log: logger, cfg: cfg, byID: make(map[string]*member), metrics: metrics}
	if cfg.MaxSearches > 0 {
		e.slots = make(chan struct{}, cfg.MaxSearches)
	}
	if cc := cfg.Cache; cc.TTL > 0 {
		if cc.Window <= 0 {
			cc.Window = defaultCacheWindow
		}
		cc.Window = min(cc.Window, cfg.MaxDepth)
		e.cacheCfg, e.window = cc, cc.Window
		c := cache.New[*window](cache.Options{MaxEntries: cc.MaxEntries, MaxBytes: cc.MaxBytes}, metrics.cacheMetrics())
		// The fan-out keeps its own deadline; this bound only guards
		// against a fill that never returns.
		e.group = cache.NewGroup(logger, c, 2*cfg.MaxTimeout)
	}
	for _, m := range members {
		if m.ID == "" || m.Connector == nil {
			return nil, fmt.Errorf("member %q: id and connector are required", m.ID)
		}
		if _, dup := e.byID[m.ID]; dup {
			return nil, fmt.Errorf("member %q: listed twice", m.ID)
		}
		if m.MaxInFlight <= 0 {
			m.MaxInFlight = 16
		}
		if m.BreakerFailures == 0 {
			m.BreakerFailures = 5
		}
		if m.BreakerOpenFor <= 0 {
			m.BreakerOpenFor = 30 * time.Second
		}
		mm := &member{Member: m, slots: make(chan struct{}, m.MaxInFlight)}
		mm.breaker = gobreaker.NewCircuitBreaker[Page](e.breakerSettings(mm))
		e.members = append(e.members, mm)
		e.byID[m.ID] = mm
		metrics.breakerState(m.ID, gobreaker.StateClosed)
	}
	return e, nil
}

func (e *Engine) breakerSettings(m *member) gobreaker.Settings {
	failures := m.BreakerFailures
	return gobreaker.Settings{
		Name:        m.ID,
		MaxRequests: 1,
		Timeout:     m.BreakerOpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		// A query the member refused is the caller's problem, not the
		// member's.
		IsSuccessful: func(err error) bool { return err == nil || errors.Is(err, ErrQueryRejected) },
		// The caller going away says nothing about the member.
		// nor does a deadline the caller chose shorter than the member's.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) || errors.Is(err, errShortBudget) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			e.log.Warn("member breaker changed state", "member", name, "from", from.String(), "to", to.String())
			e.metrics.breakerState(name, to)
			if e.group != nil {
				// Cached answers that searched this member said it was
				// answering (or not); that is no longer so.
				e.group.Cache().InvalidateTag(name)
			}
		},
	}
}

// SetCourseLookup makes every answer carry the resource lists citing each
// work, and rank works used on courses higher. Call it before serving.
func (e *Engine) SetCourseLookup(l CourseLookup) { e.courses = l }

// MemberIDs returns the members' ids in display order.
func (e *Engine) MemberIDs() []string {
	ids := make([]string, len(e.members))
	for i, m := range e.members {
		ids[i] = m.ID
	}
	return ids
}

// HasMember reports whether id is a member.
func (e *Engine) HasMember(id string) bool { _, ok := e.byID[id]; return ok }

// Request is one federated search.
type Request struct {
	Query Query
	// Members is the scope: member ids to search; empty means every member.
	Members []string
	// Home is the searcher's institution ("" if anonymous); its holdings
	// rank higher and come first.
	Home string
	// Offset and Limit select the page of merged results (Limit ≥ 1).
	Offset, Limit int
	// Filters restrict results by facet value: facet name → accepted
	// values (any of them). See Facet* names.
	Filters map[string][]string
	// Explain asks for each score's parts.
	Explain bool
	// Timeout is the caller's budget; 0 means the default, and it is
	// capped by the engine's maximum. A search shared by several callers
	// (see CacheKey) runs with the budget of the one that started it.
	Timeout time.Duration
	// ConfiguredTimeout is the budget the configuration gives this
	// searcher (its institution's search timeout); 0 means the engine's
	// default. A caller whose Timeout is shorter searches alone: its
	// answer is never shared with other callers, and cached only if
	// complete (see searchCached).
	ConfiguredTimeout time.Duration
	// BypassCache asks for a fresh search even when the cache holds the
	// answer; the fresh answer then replaces the cached one, unless it is
	// worse (partial, where the cached one is complete and fresh).
	BypassCache bool
}

// RequestError is a problem with a Request that the caller must fix.
type RequestError struct {
	Field, Message string
}

func (e *RequestError) Error() string { return e.Field + ": " + e.Message }

// Response is the answer to a search.
type Response struct {
	Results []Result       `json:"results"`
	Members []MemberStatus `json:"members"`
	Facets  []Facet        `json:"facets"`
	// Total is the number of works (clusters) in the merged answer that
	// pass the filters, within the depth the members were asked for.
	Total int `json:"total"`
	// Partial is true when at least one member in scope did not answer.
	Partial bool `json:"partial"`
	// TookMS is how long the search took; for a cached answer, how long it
	// took when it was made.
	TookMS int64 `json:"took_ms"`
	// Cached is true when the answer came from the hot-query cache; Stale
	// when that cached answer has expired and is being refreshed in the
	// background (it is served within the configured grace period).
	Cached bool `json:"cached"`
	Stale  bool `json:"stale"`
	// FreshUntil is when a complete answer that is (now) cached stops being
	// fresh; zero for an answer that is not cached, or is partial.
	FreshUntil time.Time `json:"-"`
	// Version identifies the cached answer a cached response was paged
	// from: every response paged from the same cached answer has the same
	// Version (a new search, a refresh or an invalidation gives a new one),
	// so an encoding of the same page may be reused. 0 when not cached.
	Version uint64 `json:"-"`
	// ListsVersion is the course lookup's version the annotations came
	// from (0 without one); a cached encoding is valid only for it.
	ListsVersion uint64 `json:"-"`
}

// Validate checks a request against the engine's limits.
func (e *Engine) Validate(req *Request) error {
	if req.Query.Root == nil {
		return &RequestError{"q", "a query is required"}
	}
	if req.Limit < 1 {
		return &RequestError{"limit", "limit must be at least 1"}
	}
	if req.Offset < 0 {
		return &RequestError{"offset", "offset must not be negative"}
	}
	if req.Offset > e.cfg.MaxDepth || req.Limit > e.cfg.MaxDepth-req.Offset {
		return &RequestError{"offset", fmt.Sprintf("offset+limit may not exceed %d; refine the query instead of paging deeper", e.cfg.MaxDepth)}
	}
	seen := make(map[string]bool, len(req.Members))
	members := req.Members[:0:0]
	for _, id := range req.Members {
		if _, ok := e.byID[id]; !ok {
			return &RequestError{"scope", fmt.Sprintf("unknown member %q", id)}
		}
		if !seen[id] { // a member named twice is searched, and counted, once
			seen[id] = true
			members = append(members, id)
		}
	}
	if len(req.Members) > 0 {
		req.Members = members
	}
	for name := range req.Filters {
		if !knownFacet(name) {
			return &RequestError{"filter." + name, fmt.Sprintf("unknown facet %q; known facets are member, format, year, language", name)}
		}
	}
	if vals := req.Filters[FacetYear]; len(vals) > 0 {
		for _, v := range vals {
			if _, _, ok := parseYearFilter(v); !ok {
				return &RequestError{"filter.year", fmt.Sprintf("%q is not a year or a range like 1990..2000", v)}
			}
		}
	}
	return nil
}

// Search runs req across the members in scope. It returns an error only for
// a bad request (a *RequestError), or when the search itself failed (a bug,
// logged); members' failures are reported in Response.Members and Partial.
// ctx is the caller's: when it is cancelled, every member call is
// cancelled — except that, with the cache on, a page within the cached
// window is answered by a search shared with identical concurrent requests,
// which runs on regardless and is cached (see CacheKey); the caller
// leaving only stops its wait.
func (e *Engine) Search(ctx context.Context, req Request) (*Response, error) {
	if err := e.Validate(&req); err != nil {
		return nil, err
	}
	if e.group != nil && req.Offset+req.Limit <= e.window {
		return e.searchCached(ctx, req)
	}
	release, ok := e.Admit()
	if !ok {
		e.metrics.shed()
		return nil, ErrOverloaded
	}
	defer release()
	start := time.Now()
	pages, statuses := e.FanOut(ctx, req)
	resp := pageWorks(req, annotate(rankWorks(req, pages, e.memberOrder(req.Home)), e.courses), nil)
	if e.courses != nil {
		resp.ListsVersion = e.courses.Version()
	}
	resp.Members = statuses
	for _, s := range statuses {
		if s.Status != StatusOK {
			resp.Partial = true
		}
	}
	resp.TookMS = time.Since(start).Milliseconds()
	e.logSearch(req, resp)
	return resp, nil
}

// budget is the search's overall time allowance.
func (e *Engine) budget(req Request) time.Duration {
	b := req.Timeout
	if b <= 0 {
		b = e.cfg.DefaultTimeout
	}
	return min(b, e.cfg.MaxTimeout)
}

// scope resolves the member set of a request, in display order.
func (e *Engine) scope(req Request) []*member {
	if len(req.Members) == 0 {
		return e.members
	}
	want := make(map[string]bool, len(req.Members))
	for _, id := range req.Members {
		want[id] = true
	}
	var out []*member
	for _, m := range e.members {
		if want[m.ID] {
			out = append(out, m)
		}
	}
	return out
}

// FanOut sends the query to every member in scope concurrently, each under
// its own deadline, bulkhead and breaker, and waits for all of them. Page i
// belongs to status i; a member that did not answer has an empty page.
func (e *Engine) FanOut(ctx context.Context, req Request) ([]Page, []MemberStatus) {
	scope := e.scope(req)
	budget := e.budget(req)
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	w := Window{Offset: 0, Limit: max(req.Offset+req.Limit, e.cfg.MinFetch)}
	pages := make([]Page, len(scope))
	statuses := make([]MemberStatus, len(scope))
	var g errgroup.Group // not WithContext: one member's failure must not cancel the others
	for i, m := range scope {
		g.Go(func() error {
			pages[i], statuses[i] = e.callMember(ctx, m, req.Query, w, budget)
			return nil
		})
	}
	_ = g.Wait()
	return pages, statuses
}

// errMemberDeadline is the cause of a member's own deadline; errShortBudget
// marks a deadline that came from a search budget shorter than the member's
// allowance, which says nothing about the member's health.
var (
	errMemberDeadline = errors.New("member deadline")
	errShortBudget    = errors.New("the search's time budget was shorter than the member's timeout")
)

// callMember searches one member and classifies the outcome. It returns
// by ctx's deadline (or the member's, if sooner) even if the connector does
// not. budget is the search's whole time allowance.
func (e *Engine) callMember(ctx context.Context, m *member, q Query, w Window, budget time.Duration) (page Page, st MemberStatus) {
	start := time.Now()
	st = MemberStatus{ID: m.ID, Name: m.Name, Hits: -1}
	defer func() {
		// Last line of defence: nothing a member does may take the search down.
		if r := recover(); r != nil {
			e.log.Error("member search panicked", "member", m.ID, "panic", r, "stack", string(debug.Stack()))
			page, st.Status, st.Error = Page{}, StatusError, fmt.Sprintf("internal error: %v", r)
		}
		st.TookMS = time.Since(start).Milliseconds()
		m.stats.record(st.Status, time.Since(start), st.Error)
		e.metrics.memberOutcome(m.ID, st.Status, time.Since(start))
	}()

	if err := ctx.Err(); err != nil {
		st.Status, st.Error = StatusSkipped, "search was cancelled before this member was called"
		if errors.Is(err, context.DeadlineExceeded) {
			st.Status, st.Error = StatusTimeout, "the search's time budget ran out before this member was called"
		}
		return Page{}, st
	}
	select {
	case m.slots <- struct{}{}:
	default:
		st.Status, st.Error = StatusBusy, fmt.Sprintf("member already has %d searches in flight", m.MaxInFlight)
		return Page{}, st
	}
	started := false // whether the connector was called (and so owns the slot)
	defer func() {
		if !started { // also when the breaker panics before calling it
			<-m.slots
		}
	}()
	mctx := ctx
	allowance := e.cfg.DefaultTimeout
	if m.Timeout > 0 {
		var cancel context.CancelFunc
		mctx, cancel = context.WithTimeoutCause(ctx, m.Timeout, errMemberDeadline)
		defer cancel()
		allowance = m.Timeout
	}
	page, err := m.breaker.Execute(func() (Page, error) {
		started = true
		p, err := e.guardedSearch(mctx, m, q, w)
		if err != nil && errors.Is(err, context.DeadlineExceeded) &&
			!errors.Is(context.Cause(mctx), errMemberDeadline) && budget < allowance {
			err = fmt.Errorf("%w: %w", errShortBudget, err)
		}
		return p, err
	})
	if err == nil {
		st.Status = StatusOK
		page.Records, page.Rejected = sanitize(m.ID, page.Records, w.Offset, page.Rejected)
		st.Hits, st.Returned, st.Rejected, st.Relaxed = page.Total, len(page.Records), page.Rejected, page.Relaxed
		return page, st
	}
	st.Status, st.Error = classify(ctx, mctx, err)
	if st.Status == StatusOK { // a rejected query: the member is fine, the answer empty
		st.Status = StatusError
	}
	return Page{}, st
}

// guardedSearch runs the connector in its own goroutine so that a connector
// that ignores its context, or panics, cannot hold up the search. It owns
// the member's bulkhead slot taken by the caller and releases it only when
// the connector really returns, so a stuck member fills its bulkhead instead of growing
// goroutines without bound.
func (e *Engine) guardedSearch(ctx context.Context, m *member, q Query, w Window) (Page, error) {
	type result struct {
		page Page
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-m.slots }()
		defer func() {
			if r := recover(); r != nil {
				e.log.Error("member connector panicked", "member", m.ID, "panic", r, "stack", string(debug.Stack()))
				done <- result{err: fmt.Errorf("search member %s: connector panicked: %v", m.ID, r)}
			}
		}()
		p, err := m.Connector.Search(ctx, q, w)
		if err != nil {
			err = fmt.Errorf("search member %s: %w", m.ID, err)
		}
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		if r.err == nil && ctx.Err() != nil {
			// Answered, but too late to count as in time.
			return Page{}, ctx.Err()
		}
		return r.page, r.err
	case <-ctx.Done():
		return Page{}, ctx.Err()
	}
}

// classify turns a member call's error into a status and a message.
func classify(parent, mctx context.Context, err error) (string, string) {
	switch {
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		return StatusOpen, "circuit breaker is open after repeated failures; the member is not being called"
	case errors.Is(parent.Err(), context.Canceled):
		return StatusSkipped, "the search was cancelled"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(mctx.Err(), context.DeadlineExceeded):
		return StatusTimeout, "did not answer in time"
	case errors.Is(err, ErrQueryRejected):
		return StatusError, err.Error()
	default:
		return StatusError, err.Error()
	}
}

// memberOrder is the display order of members for holdings: home first.
func (e *Engine) memberOrder(home string) map[string]int {
	order := make(map[string]int, len(e.members))
	for i, m := range e.members {
		order[m.ID] = i + 1
	}
	if _, ok := order[home]; ok {
		order[home] = 0
	}
	return order
}

func (e *Engine) logSearch(req Request, resp *Response) {
	attrs := make([]any, 0, len(resp.Members))
	for _, s := range resp.Members {
		attrs = append(attrs, slog.Group(s.ID, "status", s.Status, "took_ms", s.TookMS, "hits", s.Hits))
	}
	e.log.Info("search",
		"q", req.Query.Canonical(), "home", req.Home, "offset", req.Offset, "limit", req.Limit,
		"results", len(resp.Results), "total", resp.Total, "partial", resp.Partial, "took_ms", resp.TookMS,
		"cached", resp.Cached, "stale", resp.Stale,
		slog.Group("members", attrs...))
}

// MemberInfo is a member's current state for operators.
type MemberInfo struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Connector   string  `json:"connector"`
	Breaker     string  `json:"breaker"` // closed | half-open | open
	InFlight    int     `json:"in_flight"`
	MaxInFlight int     `json:"max_in_flight"`
	TimeoutMS   int64   `json:"timeout_ms"`
	Recent      Recent  `json:"recent"`
	ErrorRate   float64 `json:"error_rate"`
}

// Recent summarises a member's last calls.
type Recent struct {
	Calls    int            `json:"calls"`
	Outcomes map[string]int `json:"outcomes"`
	P50MS    float64        `json:"p50_ms"`
	P95MS    float64        `json:"p95_ms"`
	LastErr  string         `json:"last_error,omitempty"`
}

// Members reports every member's state, in display order.
func (e *Engine) Members() []MemberInfo {
	out := make([]MemberInfo, len(e.members))
	for i, m := range e.members {
		r := m.stats.snapshot()
		failed := r.Calls - r.Outcomes[StatusOK] - r.Outcomes[StatusSkipped]
		rate := 0.0
		if r.Calls > 0 {
			rate = float64(failed) / float64(r.Calls)
		}
		out[i] = MemberInfo{
			ID: m.ID, Name: m.Name, Connector: m.Connector.Kind(),
			Breaker: m.breaker.State().String(), InFlight: len(m.slots), MaxInFlight: m.MaxInFlight,
			TimeoutMS: m.Timeout.Milliseconds(), Recent: r, ErrorRate: rate,
		}
	}
	return out
}

// memberStats keeps the outcomes and latencies of a member's last calls.
type memberStats struct {
	mu      sync.Mutex
	ring    [100]call
	n, next int
	lastErr string
}

type call struct {
	status string
	took   time.Duration
}

func (s *memberStats) record(status string, took time.Duration, errText string) {
	s.mu.Lock()
	if errText != "" {
		s.lastErr = errText
	}
	s.ring[s.next] = call{status, took}
	s.next = (s.next + 1) % len(s.ring)
	if s.n < len(s.ring) {
		s.n++
	}
	s.mu.Unlock()
}

func (s *memberStats) snapshot() Recent {
	s.mu.Lock()
	calls := make([]call, s.n)
	copy(calls, s.ring[:s.n])
	r := Recent{Calls: len(calls), Outcomes: map[string]int{}, LastErr: s.lastErr}
	s.mu.Unlock()
	var lat []time.Duration
	for _, c := range calls {
		r.Outcomes[c.status]++
		if c.status == StatusOK {
			lat = append(lat, c.took)
		}
	}
	if len(lat) > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		r.P50MS = float64(lat[len(lat)/2].Microseconds()) / 1000
		r.P95MS = float64(lat[(len(lat)*95)/100].Microseconds()) / 1000
	}
	return r
}

// sanitize makes a member's records safe to merge and encode: every string
// valid UTF-8, member and rank set. A record without an id or a title
// cannot be shown or requested; it is dropped and counted as rejected.
func sanitize(memberID string, recs []Record, offset, rejected int) ([]Record, int) {
	out := make([]Record, 0, len(recs)) // the connector's slice may be shared: never write it
	for i, r := range recs {
		r.RecordID = validUTF8(r.RecordID)
		r.Title = validUTF8(r.Title)
		if strings.TrimSpace(r.RecordID) == "" || strings.TrimSpace(r.Title) == "" {
			rejected++
			continue
		}
		r.Member = memberID
		if r.Rank <= 0 {
			r.Rank = offset + i + 1
		}
		r.Authors, r.Subjects = validUTF8s(r.Authors), validUTF8s(r.Subjects)
		r.Publisher, r.Edition, r.Series = validUTF8(r.Publisher), validUTF8(r.Edition), validUTF8(r.Series)
		r.Format, r.Language = validUTF8(r.Format), validUTF8(r.Language)
		out = append(out, r)
	}
	return out, rejected
}

func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// validUTF8s returns l itself when every string is valid, else a repaired
// copy: a connector's slices may be shared and must not be written.
func validUTF8s(l []string) []string {
	for i, s := range l {
		if !utf8.ValidString(s) {
			out := append([]string(nil), l...)
			for j := i; j < len(out); j++ {
				out[j] = validUTF8(out[j])
			}
			return out
		}
	}
	return l
}
