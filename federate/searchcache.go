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
	// 256 MiB (approximate).
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

// searchCached answers req from the cache, or searches once for everyone
// asking the same thing at the same time and caches the answer.
func (e *Engine) searchCached(ctx context.Context, req Request) (*Response, error) {
	start := time.Now()
	wreq := e.windowRequest(req)
	key := CacheKey(wreq, e.window)
	fill := func(ctx context.Context) (cache.Item[*window], error) {
		w := e.fillWindow(ctx, wreq)
		if err := ctx.Err(); err != nil {
			// The caller who asked went away (only a bypassing caller's
			// search runs on its own context): the members were skipped,
			// which says nothing worth keeping.
			return cache.Item[*window]{}, fmt.Errorf("search %q: %w", key, err)
		}
		it := cache.Item[*window]{Value: w, Size: w.size, TTL: e.cacheCfg.TTL, Grace: e.cacheCfg.StaleGrace, Tags: wreq.Members}
		if w.partial {
			it.TTL, it.Grace = e.cacheCfg.PartialTTL, 0
		}
		return it, nil
	}
	var (
		w   *window
		out cache.Outcome
		err error
	)
	if req.BypassCache {
		w, out, err = e.group.Recompute(ctx, key, fill)
	} else {
		w, out, err = e.group.Do(ctx, key, fill)
	}
	if err != nil {
		if pe, ok := errors.AsType[*cache.PanicError](err); ok {
			e.log.Error("search panicked", "q", req.Query.Canonical(), "panic", pe.Value, "stack", string(pe.Stack))
			return nil, fmt.Errorf("search %q: %w", req.Query.Canonical(), err)
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

// approxSize estimates the window's memory: fixed costs per value plus the
// text it holds. It is meant to be within a factor of two, for the cache's
// byte limit.
func (w *window) approxSize() int64 {
	const (
		perResult  = 512 // Result, its Explain and two small maps
		perRecord  = 320
		perHolding = 96
		perString  = 16
	)
	strs := func(l []string) int64 {
		n := int64(0)
		for _, s := range l {
			n += perString + int64(len(s))
		}
		return n
	}
	ids := func(i Identifiers) int64 {
		return strs(i.ISBN) + strs(i.ISSN) + strs(i.OCLC) + strs(i.LCCN) + strs(i.DOI)
	}
	n := int64(256)
	for _, r := range w.works {
		n += perResult + int64(len(r.ID)+len(r.Title)+len(r.Publisher)+len(r.Edition)+len(r.Series)) +
			strs(r.Authors) + strs(r.Subjects) + strs(r.MergedBy) + ids(r.Identifiers)
		for _, h := range r.Holdings {
			n += perHolding + int64(len(h.Member)+len(h.RecordID)+len(h.Title))
			for _, l := range h.Links {
				n += perString*2 + int64(len(l.URL)+len(l.Label))
			}
		}
		for _, rec := range r.records {
			n += perRecord + int64(len(rec.RecordID)+len(rec.Title)+len(rec.Publisher)+len(rec.Edition)+len(rec.Series)) +
				strs(rec.Authors) + strs(rec.Subjects) + ids(rec.Identifiers)
		}
	}
	for _, f := range w.facets {
		for _, v := range f.Values {
			n += perString + 8 + int64(len(v.Value))
		}
	}
	for _, m := range w.members {
		n += 128 + int64(len(m.Error)) + strs(m.Relaxed)
	}
	return n
}

// PurgeCache empties the hot-query cache (a no-op without one).
func (e *Engine) PurgeCache() {
	if e.group != nil {
		e.group.Cache().Purge()
	}
}
