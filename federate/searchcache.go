package federate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/commonshelf/commonshelf/cache"
)

// CacheConfig configures the Engine's hot-query cache. The zero value turns
// the cache off.
type CacheConfig struct {
	// TTL is how long a complete answer is served from the cache. 0: no
	// cache at all (every search fans out).
	TTL time.Duration
	// PartialTTL is how long an answer that misses a member (partial) is
	// served. 0: partial answers are not stored (identical concurrent
	// searches still share one fan-out).
	PartialTTL time.Duration
	// StaleGrace is how long after its TTL a complete answer is still served
	// at once, marked stale, while one background search refreshes it. 0:
	// an expired answer is never served. Partial answers are never served
	// stale.
	StaleGrace time.Duration
	// MaxEntries and MaxBytes bound the cache; 0 means 10,000 entries and
	// 256 MiB. An answer counts as the heap it keeps (see approxSize, kept
	// within 1–1.3× of the measured cost); garbage between collections
	// comes on top of it, which the Go runtime's memory limit bounds.
	MaxEntries int
	MaxBytes   int64
	// Window is how many merged works of a query are cached, so that every
	// page within them is answered from one search; it is also how many
	// records each member is asked for in a cached search. Pages reaching
	// deeper are never cached. 0 means 100; at most EngineConfig.MaxDepth.
	Window int
}

// defaultCacheWindow is the cached works per query: five pages of 20.
const defaultCacheWindow = 100

// window is what the cache keeps for a query: the merged, ranked works of
// the first Window clusters with every score's parts, before filters and
// paging, and how the members fared. It is never modified once stored.
type window struct {
	works   []*Result
	facets  []Facet // of all works: the facets of a request without filters
	members []MemberStatus
	partial bool
	tookMS  int64
	size    int64  // approximate bytes
	version uint64 // unique among the windows of the process
}

// windowVersions numbers windows (see Response.Version).
var windowVersions atomic.Uint64

// CacheKey is the one key shared by the cache and singleflight. It covers
// everything that changes a cached window: the query's canonical form (so
// Title:Dune and title:dune meet, while the words of a phrase keep their
// order), the set of members searched (sorted, without duplicates: callers
// resolve an empty scope to every member first), the home institution when
// it is in that set (it lifts and orders its own holdings; otherwise it
// changes nothing), and the window size. Filters, the page, explain and the
// timeout do not change the window: filters and paging are applied to it
// per request, and score parts are always computed. The key encodes each
// part with its length, so no text of one part can pass for another.
func CacheKey(req Request, window int) string {
	members := slices.Clone(req.Members)
	slices.Sort(members)
	members = slices.Compact(members)
	home := ""
	if _, in := slices.BinarySearch(members, req.Home); in {
		home = req.Home
	}
	var b strings.Builder
	part := func(tag, s string) {
		b.WriteString(tag)
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	part("q", req.Query.Canonical())
	b.WriteString("m")
	b.WriteString(strconv.Itoa(len(members)))
	for _, m := range members {
		part(",", m)
	}
	part("h", home)
	b.WriteString("w")
	b.WriteString(strconv.Itoa(window))
	return b.String()
}

// windowRequest is the request a cached search actually runs: the resolved,
// sorted scope, the home institution only when in it, the whole window,
// every score's parts, no filter.
func (e *Engine) windowRequest(req Request) Request {
	var members []string
	if len(req.Members) == 0 {
		members = e.MemberIDs()
	} else {
		members = slices.Clone(req.Members)
	}
	slices.Sort(members)
	members = slices.Compact(members)
	home := ""
	if _, in := slices.BinarySearch(members, req.Home); in {
		home = req.Home
	}
	return Request{Query: req.Query, Members: members, Home: home, Limit: e.window, Explain: true, Timeout: req.Timeout}
}

// Answer qualities (cache.Item.Quality): a partial answer never replaces a
// complete one that is still fresh.
const (
	qualityPartial  = 0
	qualityComplete = 1
)

// keyBudget is the budget of the searcher a cached window stands for, wreq
// being its window request: the home institution's configured budget when
// the window is the home's own (the home is in the scope, so in the key),
// the engine's default otherwise — whatever home the caller named, since
// every caller of that key shares the window.
func (e *Engine) keyBudget(req, wreq Request) time.Duration {
	if wreq.Home == "" {
		return e.budget(Request{})
	}
	return e.budget(Request{Timeout: req.ConfiguredTimeout})
}

// searchCached answers req from the cache, or searches once for everyone
// asking the same thing at the same time and caches the answer.
//
// No caller changes what other callers see for the worse. A caller whose
// budget is shorter than its configured one is served a cached answer if
// there is one; otherwise it searches alone — it neither joins nor leads
// the shared search, so nobody else inherits its short budget — and its
// answer is cached only if complete. A stale answer it is served is
// refreshed with the configured budget. A bypass is a search alone too
// when its budget is short; otherwise it replaces the cached answer,
// unless its answer is partial and the cached one complete and fresh.
func (e *Engine) searchCached(ctx context.Context, req Request) (*Response, error) {
	start := time.Now()
	wreq := e.windowRequest(req)
	key := CacheKey(wreq, e.window)
	standard := e.keyBudget(req, wreq)
	short := e.budget(req) < standard
	var (
		w   *window
		out cache.Outcome
		err error
	)
	switch {
	case short && req.BypassCache:
		w, out, err = e.group.Alone(ctx, key, e.windowFill(key, wreq, true))
	case short:
		configured := wreq
		configured.Timeout = standard
		w, out = e.group.Cached(ctx, key, e.windowFill(key, configured, false))
		if out.State == cache.Miss {
			w, out, err = e.group.Alone(ctx, key, e.windowFill(key, wreq, true))
		}
	case req.BypassCache:
		w, out, err = e.group.Recompute(ctx, key, e.windowFill(key, wreq, false))
	default:
		w, out, err = e.group.Do(ctx, key, e.windowFill(key, wreq, false))
	}
	if err != nil {
		if pe, ok := errors.AsType[*cache.PanicError](err); ok {
			e.log.Error("search panicked", "q", req.Query.Canonical(), "panic", pe.Value, "stack", string(pe.Stack))
			return nil, fmt.Errorf("search %q: %w", req.Query.Canonical(), err)
		}
		if errors.Is(err, ErrOverloaded) {
			e.metrics.shed() // counted here: a refused refresh refuses nobody
			return nil, ErrOverloaded
		}
		// The caller gave up waiting: as for an uncached search, every
		// member is reported skipped.
		resp := &Response{Results: []Result{}, Facets: []Facet{}, Partial: true, TookMS: time.Since(start).Milliseconds()}
		for _, m := range e.scope(wreq) {
			resp.Members = append(resp.Members, MemberStatus{ID: m.ID, Name: m.Name, Status: StatusSkipped, Hits: -1,
				Error: "the search was cancelled"})
		}
		return resp, nil
	}
	resp := pageWorks(req, annotate(w.works, e.courses), w.facets)
	if e.courses != nil {
		resp.ListsVersion = e.courses.Version()
	}
	resp.Members = slices.Clone(w.members)
	resp.Partial = w.partial
	resp.Cached = out.State != cache.Miss
	resp.Stale = out.State == cache.Stale
	if resp.Cached {
		resp.Version = w.version
	}
	if !w.partial {
		resp.FreshUntil = out.Expires
	}
	resp.TookMS = time.Since(start).Milliseconds()
	if resp.Cached {
		// The answer is the original search's, and says how long that took;
		// it also keeps a cached answer's body, and so its ETag, the same
		// for as long as it is served.
		resp.TookMS = w.tookMS
		// Each member's status was logged with the search that made the
		// answer, and the api logs every request: a hit's line, at debug
		// level, says only what was served.
		e.log.Debug("search", "q", req.Query.Canonical(), "home", req.Home, "offset", req.Offset, "limit", req.Limit,
			"results", len(resp.Results), "total", resp.Total, "partial", resp.Partial, "cached", true, "stale", resp.Stale)
		return resp, nil
	}
	e.logSearch(req, resp)
	return resp, nil
}

// windowFill is the cache fill searching the members for wreq. With
// completeOnly, a partial answer is returned but not cached.
func (e *Engine) windowFill(key string, wreq Request, completeOnly bool) cache.Fill[*window] {
	return func(ctx context.Context) (cache.Item[*window], error) {
		release, ok := e.Admit()
		if !ok {
			return cache.Item[*window]{}, ErrOverloaded
		}
		defer release()
		w := e.fillWindow(ctx, wreq)
		if err := ctx.Err(); err != nil {
			// The caller who asked went away (only a bypassing caller's
			// search and a search alone run on the caller's context): the
			// members were skipped, which says nothing worth keeping.
			return cache.Item[*window]{}, fmt.Errorf("search %q: %w", key, err)
		}
		it := cache.Item[*window]{Value: w, Size: w.size + entrySize(key), TTL: e.cacheCfg.TTL, Grace: e.cacheCfg.StaleGrace,
			Tags: wreq.Members, Quality: qualityComplete}
		if w.partial {
			it.TTL, it.Grace, it.Quality = e.cacheCfg.PartialTTL, 0, qualityPartial
			if completeOnly {
				it.TTL = 0
			}
		}
		return it, nil
	}
}

// fillWindow searches the members for a window request and ranks the works.
func (e *Engine) fillWindow(ctx context.Context, wreq Request) *window {
	start := time.Now()
	pages, statuses := e.FanOut(ctx, wreq)
	works := rankWorks(wreq, pages, e.memberOrder(wreq.Home))
	for _, res := range works {
		// Full slices: a later step that appends to a copy's slice gets a
		// new array instead of writing into the cached one.
		res.Authors, res.Subjects, res.Holdings, res.MergedBy = slices.Clip(res.Authors),
			slices.Clip(res.Subjects), slices.Clip(res.Holdings), slices.Clip(res.MergedBy)
	}
	w := &window{works: works, facets: Facets(works), members: statuses, version: windowVersions.Add(1)}
	for _, s := range statuses {
		if s.Status != StatusOK {
			w.partial = true
		}
	}
	w.tookMS = time.Since(start).Milliseconds()
	w.size = w.approxSize()
	return w
}

// approxSize is what keeping the window costs the heap, counted the way
// the allocator spends it: every object the window keeps reachable, once,
// rounded up as to Go's size classes. Text a Result shares with its records
// (titles, names, holdings' ids and links) is counted with the records;
// what a Result holds of its own (its id, work key, merge reasons, the
// arrays of its slices, its score parts) with the Result. The constants
// were calibrated against the live heap of catalogue-like windows
// (TestWindowSizeCountsWhatAWindowCosts, which keeps approxSize between 1×
// and 1.3× of what a window really costs).
func (w *window) approxSize() int64 {
	n := allocSize(int(unsafe.Sizeof(window{}))) + allocSize(ptrSize*cap(w.works))
	for _, r := range w.works {
		n += allocSize(int(unsafe.Sizeof(Result{}))) + str(r.ID) + str(r.workKey) +
			strSlice(r.MergedBy) + allocSize(strHeader*cap(r.Authors)) + allocSize(strHeader*cap(r.Subjects)) +
			idArrays(r.Identifiers) + allocSize(int(unsafe.Sizeof(Holding{}))*cap(r.Holdings)) +
			allocSize(ptrSize*cap(r.records))
		if r.Explain != nil {
			n += allocSize(int(unsafe.Sizeof(Explain{}))) + mapSize(len(r.Explain.Weights), strHeader+8) +
				mapSize(len(r.Explain.MemberRanks), strHeader+8)
		}
		for _, rec := range r.records {
			n += allocSize(int(unsafe.Sizeof(Record{}))) + str(rec.RecordID) + str(rec.Title) + str(rec.Publisher) +
				str(rec.Edition) + str(rec.Series) + str(rec.Format) + str(rec.Language) +
				strSlice(rec.Authors) + strSlice(rec.Subjects) + allocSize(int(unsafe.Sizeof(Link{}))*cap(rec.Links))
			for _, l := range [][]string{rec.Identifiers.ISBN, rec.Identifiers.ISSN, rec.Identifiers.OCLC, rec.Identifiers.LCCN, rec.Identifiers.DOI} {
				n += strSlice(l)
			}
			for _, l := range rec.Links {
				n += str(l.URL) + str(l.Label)
			}
		}
	}
	n += allocSize(int(unsafe.Sizeof(Facet{})) * cap(w.facets))
	for _, f := range w.facets {
		n += allocSize(int(unsafe.Sizeof(FacetValue{})) * cap(f.Values))
		for _, v := range f.Values {
			n += str(v.Value)
		}
	}
	n += allocSize(int(unsafe.Sizeof(MemberStatus{})) * cap(w.members))
	for _, m := range w.members {
		n += str(m.Error) + strSlice(m.Relaxed)
	}
	return n
}

// entrySize is what the cache spends to keep an entry beside its value: the
// key, the entry, its list element and map slot (measured with the rest by
// TestACacheFullOfDistinctAnswersStaysWithinItsBudget).
func entrySize(key string) int64 { return str(key) + 256 }

// Sizes of a pointer and a string header.
const (
	ptrSize   = int(unsafe.Sizeof(uintptr(0)))
	strHeader = int(unsafe.Sizeof(""))
)

// allocSize is what an allocation of n bytes takes from the heap: n
// rounded up about as Go's size classes round it (never less).
func allocSize(n int) int64 {
	switch {
	case n <= 0:
		return 0
	case n <= 8:
		return 8
	case n <= 16:
		return 16
	case n <= 128:
		return int64((n + 15) &^ 15)
	case n <= 256:
		return int64((n + 31) &^ 31)
	case n <= 512:
		return int64((n + 63) &^ 63)
	case n <= 1024:
		return int64((n + 127) &^ 127)
	case n <= 32<<10:
		return int64(n + n/8) // classes are at most 12.5 % apart up to 32 KiB
	}
	return int64((n + 8191) &^ 8191) // whole pages
}

// str is a string's own allocation.
func str(s string) int64 { return allocSize(len(s)) }

// strSlice is a slice of strings: its array and every string.
func strSlice(l []string) int64 {
	n := allocSize(strHeader * cap(l))
	for _, s := range l {
		n += str(s)
	}
	return n
}

// idArrays are the arrays of a Result's identifier slices (the strings are
// its records').
func idArrays(ids Identifiers) int64 {
	return allocSize(strHeader*cap(ids.ISBN)) + allocSize(strHeader*cap(ids.ISSN)) + allocSize(strHeader*cap(ids.OCLC)) +
		allocSize(strHeader*cap(ids.LCCN)) + allocSize(strHeader*cap(ids.DOI))
}

// mapSize is a map of n entries of slot bytes each (key and value): Go's
// swiss tables keep groups of 8 slots and a control word, at most 7/8 full,
// and a directory and table header beyond 8 entries.
func mapSize(n, slot int) int64 {
	if n == 0 {
		return 0
	}
	const header = 48
	group := 8 + 8*slot
	if n <= 8 {
		return allocSize(header) + allocSize(group)
	}
	slots := 8
	for slots*7/8 < n {
		slots *= 2
	}
	return allocSize(header) + allocSize(64) + allocSize(8) + allocSize(slots/8*group)
}

// PurgeCache empties the hot-query cache (a no-op without one).
func (e *Engine) PurgeCache() {
	if e.group != nil {
		e.group.Cache().Purge()
	}
}
