// Package cache is Commonshelf's hot-query cache: a bounded, scan-resistant
// cache whose entries carry their own expiry (checked on read, so there is
// no cleanup goroutine and the cache runs unchanged inside
// testing/synctest), tags that let a whole group of entries be dropped at
// once, and a Group that puts singleflight and stale-while-revalidate in
// front of it.
//
// The cache knows nothing of what it caches: the caller says how big a value
// is, how long it stays fresh, how long it may be served stale, which tags
// it depends on, and how good it is compared with another value of the same
// key.
//
// # Eviction: a segmented LRU bounded by bytes
//
// Anyone on the open web can send a stream of queries nobody else asks
// for. Under plain LRU each of them would push a hot answer out; the cache
// must resist such scans. It is a segmented LRU (SLRU) with a memory of
// evicted keys, as in 2Q: a stored value goes on probation; the first time
// it is read it moves to the protected segment. A value evicted from
// probation before its second request leaves its key's hash behind (the
// last max(MaxEntries, 4096) of them are kept, about 100 bytes each), and
// when it is stored again it goes straight to the protected segment: it
// was asked for twice. The protected segment may fill at most 80 % of the
// byte and entry limits; when a promotion takes it past them, its least
// recently used entries go back on probation. Eviction takes the least
// recently used entry on probation first, and touches the protected
// segment only when probation holds nothing else. So one-off values only
// ever displace each other in the probation segment (at least 20 % of the
// cache), and a value asked for twice is kept for as long as it is read
// more often than the protected segment turns over. (A scan that asks for
// every key twice does reach the protected segment; it then competes with
// the hot values on recency, as under plain LRU.)
//
// Why not golang-lru's 2Q or ARC: both bound the number of entries, and
// this cache is bounded by bytes (answers differ in size by a hundred
// times) as well as entries; it also keeps tags, per-entry expiry and a
// stale grace beside each entry. Why not a frequency sketch with admission
// (TinyLFU): it would also resist keys sent twice, but at the price of a
// sketch to size, age and reason about, and of refusing new answers whose
// second request is still to come; the answers cached here live for
// minutes, so two segments of recency are enough. The segments are
// simplelru lists used for order only: the limits are kept here, in bytes
// and entries.
package cache

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Built-in limits, used when Options leave them at zero.
const (
	DefaultMaxEntries = 10000
	DefaultMaxBytes   = 256 << 20
)

// Options bound a Cache.
type Options struct {
	// MaxEntries caps the number of entries; 0 means DefaultMaxEntries.
	MaxEntries int
	// MaxBytes caps the sum of the entries' approximate sizes; 0 means
	// DefaultMaxBytes. A value larger than MaxBytes on its own is not
	// stored.
	MaxBytes int64
	// Now is the clock; nil means time.Now (which is the fake clock inside
	// testing/synctest).
	Now func() time.Time
}

// State says how a value was found.
type State uint8

const (
	// Miss: no usable entry; the value (if any) was computed for this call.
	Miss State = iota
	// Fresh: an entry within its TTL.
	Fresh
	// Stale: an entry past its TTL but within its grace period; a refresh
	// has been started (by Group) or is due.
	Stale
)

func (s State) String() string {
	switch s {
	case Fresh:
		return "fresh"
	case Stale:
		return "stale"
	}
	return "miss"
}

// Outcome describes where a value came from.
type Outcome struct {
	State State
	// Expires is when the value stops (or stopped) being fresh: the entry's
	// expiry for a cached value, the new entry's for a value just stored;
	// zero when the value was not stored.
	Expires time.Time
	// Shared is true when the value was computed by another caller's fill
	// that this call waited for (singleflight).
	Shared bool
}

// Item is a value to store and its cache policy.
type Item[V any] struct {
	Value V
	// Size is the value's approximate size in bytes, counted against
	// Options.MaxBytes. Negative counts as 0.
	Size int64
	// TTL is how long the value is fresh. 0 or less: the value is not
	// stored.
	TTL time.Duration
	// Grace is how long after its TTL the value may still be served, marked
	// stale, while one refresh runs. 0: never served stale.
	Grace time.Duration
	// Tags name what the value depends on; InvalidateTag drops every entry
	// carrying the tag. Tags should come from a small set (such as member
	// ids): the cache remembers each tag's last invalidation.
	Tags []string
	// Quality ranks the values of one key: a value never replaces a fresh
	// entry of higher Quality (it is returned to whoever computed it, and
	// the better entry stays). Equal Quality — 0 for every value, say —
	// lets the newest win.
	Quality int
}

// entry is a stored Item.
type entry[V any] struct {
	item      Item[V]
	expires   time.Time // end of freshness
	dies      time.Time // end of the grace period
	protected bool      // in the protected segment (else on probation)
}

// Cache is a bounded, scan-resistant cache of values with per-entry expiry
// and tags (see the package doc for the eviction policy). It is safe for
// concurrent use. Values are handed out as stored: a caller must not
// modify a value it got from the cache.
type Cache[V any] struct {
	mu sync.Mutex
	// probation holds entries not read since they were stored; protected
	// those read at least once. Both are recency lists only: the byte and
	// entry limits are kept here, so they never evict by themselves.
	probation, protected *simplelru.LRU[string, *entry[V]]
	bytes                int64                          // of both segments
	protBytes            int64                          // of the protected segment
	tags                 map[string]map[string]struct{} // tag → keys of entries carrying it
	tagGen               map[string]uint64              // tag → generation of its last invalidation
	purgeAt              uint64                         // generation of the last Purge
	gen                  uint64                         // bumped by every invalidation
	opts                 Options
	// protMaxBytes and protMaxEntries bound the protected segment: what
	// the limits leave beyond them is the probation segment's least.
	protMaxBytes   int64
	protMaxEntries int
	// ghosts remembers the keys (hashed) of the entries most recently
	// evicted from probation: a key stored again while remembered has
	// been asked for twice, and goes straight to the protected segment.
	ghosts *simplelru.LRU[uint64, struct{}]
	seed   maphash.Seed
	m      *Metrics
}

// New builds a cache. metrics may be nil.
func New[V any](opts Options, metrics *Metrics) *Cache[V] {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Cache[V]{
		tags:           map[string]map[string]struct{}{},
		tagGen:         map[string]uint64{},
		opts:           opts,
		protMaxBytes:   opts.MaxBytes - opts.MaxBytes*probationPercent/100,
		protMaxEntries: opts.MaxEntries - opts.MaxEntries*probationPercent/100,
		m:              metrics,
	}
	// simplelru is not safe for concurrent use: c.mu guards both lists,
	// the byte counts and the tag index together. Each list could hold
	// every entry plus the one being added, so it never evicts on its own.
	c.probation, _ = simplelru.NewLRU[string, *entry[V]](opts.MaxEntries+1, nil) // size > 0: cannot fail
	c.protected, _ = simplelru.NewLRU[string, *entry[V]](opts.MaxEntries+1, nil)
	c.ghosts, _ = simplelru.NewLRU[uint64, struct{}](max(opts.MaxEntries, minGhosts), nil)
	c.seed = maphash.MakeSeed()
	return c
}

// minGhosts is the least number of evicted keys remembered (about 100
// bytes each, whatever the key's length, outside MaxBytes).
const minGhosts = 4096

// probationPercent is the share of the limits the probation segment keeps
// for itself: the protected segment holds at most the rest.
const probationPercent = 20

// peek finds key's entry without changing any recency; c.mu is held.
func (c *Cache[V]) peek(key string) (*entry[V], bool) {
	if e, ok := c.protected.Peek(key); ok {
		return e, true
	}
	return c.probation.Peek(key)
}

// remove drops key's entry, keeping the byte counts and the tag index in
// step; c.mu is held. It reports whether there was one.
func (c *Cache[V]) remove(key string) bool {
	e, ok := c.peek(key)
	if !ok {
		return false
	}
	if e.protected {
		c.protected.Remove(key)
		c.protBytes -= e.item.Size
	} else {
		c.probation.Remove(key)
	}
	c.bytes -= e.item.Size
	for _, t := range e.item.Tags {
		if keys := c.tags[t]; keys != nil {
			delete(keys, key)
			if len(keys) == 0 {
				delete(c.tags, t)
			}
		}
	}
	return true
}

// len is the number of entries; c.mu is held.
func (c *Cache[V]) len() int { return c.probation.Len() + c.protected.Len() }

// Get looks key up. A fresh entry is returned with Fresh; an entry past its
// TTL but within its grace period with Stale (the caller should refresh
// it); anything else is a Miss, and an entry past its grace is dropped. A
// hit moves an entry on probation to the protected segment.
func (c *Cache[V]) Get(key string) (V, Outcome) {
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	v, out := c.lookup(key, now, true)
	c.m.lookup(out.State)
	return v, out
}

// lookup is Get without metrics; c.mu is held. touch says whether a hit
// counts as a use (recency and promotion).
func (c *Cache[V]) lookup(key string, now time.Time, touch bool) (V, Outcome) {
	var zero V
	e, ok := c.peek(key)
	if !ok {
		return zero, Outcome{}
	}
	var out Outcome
	switch {
	case now.Before(e.expires):
		out = Outcome{State: Fresh, Expires: e.expires}
	case now.Before(e.dies):
		out = Outcome{State: Stale, Expires: e.expires}
	default:
		c.remove(key)
		c.gauges()
		return zero, Outcome{}
	}
	if touch {
		c.use(key, e)
	}
	return e.item.Value, out
}

// use records a read of key's entry: a protected entry becomes the most
// recently used; an entry on probation, read for the first time since it
// was stored, is promoted to the protected segment, whose least recently
// used entries go back on probation (as its most recent) to make room.
// c.mu is held.
func (c *Cache[V]) use(key string, e *entry[V]) {
	if e.protected {
		c.protected.Get(key)
		return
	}
	c.probation.Remove(key)
	e.protected = true
	c.protected.Add(key, e)
	c.protBytes += e.item.Size
	c.demote(key)
}

// demote moves the protected segment's least recently used entries to
// probation until it is within its limits, sparing key (the entry just
// promoted or stored); c.mu is held.
func (c *Cache[V]) demote(key string) {
	for c.protBytes > c.protMaxBytes || c.protected.Len() > c.protMaxEntries {
		k, e, ok := c.protected.GetOldest()
		if !ok || k == key {
			return
		}
		c.protected.Remove(k)
		c.protBytes -= e.item.Size
		e.protected = false
		c.probation.Add(k, e)
	}
}

// Set stores it under key (replacing any entry) and returns when it stops
// being fresh; zero if it was not stored (TTL ≤ 0, bigger than MaxBytes,
// or a fresh entry of higher Quality is kept).
func (c *Cache[V]) Set(key string, it Item[V]) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.set(key, it)
}

// generation is the current invalidation generation: a value computed from
// data read after it may be stored with setSince.
func (c *Cache[V]) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// setSince stores it unless one of its tags was invalidated (or the cache
// purged) after generation since: the value was computed from data that is
// no longer trusted.
func (c *Cache[V]) setSince(since uint64, key string, it Item[V]) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.purgeAt > since {
		return time.Time{}
	}
	for _, t := range it.Tags {
		if c.tagGen[t] > since {
			return time.Time{}
		}
	}
	return c.set(key, it)
}

// set stores an item; c.mu is held.
func (c *Cache[V]) set(key string, it Item[V]) time.Time {
	if it.Size < 0 {
		it.Size = 0
	}
	now := c.opts.Now()
	old, had := c.peek(key)
	if had && now.Before(old.expires) && old.item.Quality > it.Quality {
		// A worse answer never replaces a better one still fresh.
		return time.Time{}
	}
	if it.TTL <= 0 || it.Size > c.opts.MaxBytes {
		// Whatever was stored is older than this answer: drop it too.
		c.remove(key)
		c.gauges()
		return time.Time{}
	}
	if it.Grace < 0 {
		it.Grace = 0
	}
	e := &entry[V]{item: it, expires: now.Add(it.TTL)}
	e.dies = e.expires.Add(it.Grace)
	// A replaced entry keeps its place: a hot answer refreshed stays
	// protected, a one-off one stays on probation. A key evicted from
	// probation not long ago is asked for a second time: protected.
	e.protected = had && old.protected
	if !had && c.ghosts.Remove(maphash.String(c.seed, key)) {
		e.protected = true
	}
	c.remove(key)
	if e.protected {
		c.protected.Add(key, e)
		c.protBytes += it.Size
	} else {
		c.probation.Add(key, e)
	}
	c.bytes += it.Size
	for _, t := range it.Tags {
		keys := c.tags[t]
		if keys == nil {
			keys = map[string]struct{}{}
			c.tags[t] = keys
		}
		keys[key] = struct{}{}
	}
	if e.protected {
		c.demote(key)
	}
	evicted := 0
	for c.bytes > c.opts.MaxBytes || c.len() > c.opts.MaxEntries {
		if !c.evictOne(key) {
			break
		}
		evicted++
	}
	c.m.evicted(evicted)
	c.gauges()
	return e.expires
}

// evictOne drops the least recently used entry on probation, or, when
// probation holds nothing but key (the entry being stored), the protected
// segment's least recently used; c.mu is held.
func (c *Cache[V]) evictOne(key string) bool {
	if k, _, ok := c.probation.GetOldest(); ok && k != key {
		c.ghosts.Add(maphash.String(c.seed, k), struct{}{})
		return c.remove(k)
	}
	if k, _, ok := c.protected.GetOldest(); ok && k != key {
		return c.remove(k)
	}
	return false
}

// InvalidateTag drops every entry carrying tag, and keeps values computed
// before this call (by fills still in flight) from being stored.
func (c *Cache[V]) InvalidateTag(tag string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.tagGen[tag] = c.gen
	for key := range c.tags[tag] { // remove edits c.tags[tag]; ranging over a map being deleted from is safe
		c.remove(key)
	}
	c.gauges()
}

// Purge drops every entry, and keeps values computed before this call from
// being stored.
func (c *Cache[V]) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.purgeAt = c.gen
	c.probation.Purge()
	c.protected.Purge()
	c.ghosts.Purge()
	c.bytes, c.protBytes = 0, 0
	clear(c.tags)
	c.gauges()
}

// Len is the number of entries (expired ones included until they are read
// or evicted).
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.len()
}

// Bytes is the sum of the entries' approximate sizes.
func (c *Cache[V]) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// gauges exports the entry count and bytes; c.mu is held.
func (c *Cache[V]) gauges() { c.m.size(c.len(), c.bytes) }

// peekFresh is Get without metrics or use, for a fill's last look before
// it runs.
func (c *Cache[V]) peekFresh(key string) (V, Outcome) {
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lookup(key, now, false)
}
