// Package cache is Commonshelf's hot-query cache: a bounded LRU whose
// entries carry their own expiry (checked on read, so there is no cleanup
// goroutine and the cache runs unchanged inside testing/synctest), tags that
// let a whole group of entries be dropped at once, and a Group that puts
// singleflight and stale-while-revalidate in front of it.
//
// The cache knows nothing of what it caches: the caller says how big a value
// is, how long it stays fresh, how long it may be served stale, and which
// tags it depends on.
package cache

import (
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
}

// entry is a stored Item.
type entry[V any] struct {
	item    Item[V]
	expires time.Time // end of freshness
	dies    time.Time // end of the grace period
}

// Cache is a bounded LRU of values with per-entry expiry and tags. It is
// safe for concurrent use. Values are handed out as stored: a caller must
// not modify a value it got from the cache.
type Cache[V any] struct {
	mu      sync.Mutex
	lru     *simplelru.LRU[string, *entry[V]]
	bytes   int64
	tags    map[string]map[string]struct{} // tag → keys of entries carrying it
	tagGen  map[string]uint64              // tag → generation of its last invalidation
	purgeAt uint64                         // generation of the last Purge
	gen     uint64                         // bumped by every invalidation
	opts    Options
	m       *Metrics
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
		tags:   map[string]map[string]struct{}{},
		tagGen: map[string]uint64{},
		opts:   opts,
		m:      metrics,
	}
	// simplelru is not safe for concurrent use: c.mu guards it, the byte
	// count and the tag index together, and its eviction callback runs
	// under c.mu, so the three never disagree.
	c.lru, _ = simplelru.NewLRU(opts.MaxEntries, c.onRemove) // MaxEntries > 0: cannot fail
	return c
}

// onRemove keeps the byte count and the tag index in step with the LRU; it
// runs for every entry leaving it (evicted, removed, replaced or purged).
func (c *Cache[V]) onRemove(key string, e *entry[V]) {
	c.bytes -= e.item.Size
	for _, t := range e.item.Tags {
		if keys := c.tags[t]; keys != nil {
			delete(keys, key)
			if len(keys) == 0 {
				delete(c.tags, t)
			}
		}
	}
}

// Get looks key up. A fresh entry is returned with Fresh; an entry past its
// TTL but within its grace period with Stale (the caller should refresh
// it); anything else is a Miss, and an entry past its grace is dropped.
func (c *Cache[V]) Get(key string) (V, Outcome) {
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	v, out := c.lookup(key, now)
	c.m.lookup(out.State)
	return v, out
}

// lookup is Get without metrics; c.mu is held.
func (c *Cache[V]) lookup(key string, now time.Time) (V, Outcome) {
	var zero V
	e, ok := c.lru.Get(key)
	switch {
	case !ok:
		return zero, Outcome{}
	case now.Before(e.expires):
		return e.item.Value, Outcome{State: Fresh, Expires: e.expires}
	case now.Before(e.dies):
		return e.item.Value, Outcome{State: Stale, Expires: e.expires}
	}
	c.lru.Remove(key)
	c.gauges()
	return zero, Outcome{}
}

// Set stores it under key (replacing any entry) and returns when it stops
// being fresh; zero if it was not stored (TTL ≤ 0 or bigger than MaxBytes).
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
	if it.TTL <= 0 || it.Size > c.opts.MaxBytes {
		// Whatever was stored is older than this answer: drop it too.
		c.lru.Remove(key)
		c.gauges()
		return time.Time{}
	}
	if it.Grace < 0 {
		it.Grace = 0
	}
	now := c.opts.Now()
	e := &entry[V]{item: it, expires: now.Add(it.TTL)}
	e.dies = e.expires.Add(it.Grace)
	c.lru.Remove(key) // a replaced entry goes through onRemove like any other
	evicted := 0
	if c.lru.Add(key, e) {
		evicted++
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
	for c.bytes > c.opts.MaxBytes {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			break
		}
		evicted++
	}
	c.m.evicted(evicted)
	c.gauges()
	return e.expires
}

// InvalidateTag drops every entry carrying tag, and keeps values computed
// before this call (by fills still in flight) from being stored.
func (c *Cache[V]) InvalidateTag(tag string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.tagGen[tag] = c.gen
	for key := range c.tags[tag] { // onRemove edits c.tags[tag]; ranging over a map being deleted from is safe
		c.lru.Remove(key)
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
	c.lru.Purge()
	c.gauges()
}

// Len is the number of entries (expired ones included until they are read
// or evicted).
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Bytes is the sum of the entries' approximate sizes.
func (c *Cache[V]) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// gauges exports the entry count and bytes; c.mu is held.
func (c *Cache[V]) gauges() { c.m.size(c.lru.Len(), c.bytes) }

// peekFresh is Get without metrics, for a fill's last look before it runs.
func (c *Cache[V]) peekFresh(key string) (V, Outcome) {
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lookup(key, now)
}
