package cache

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Fill computes the value for a key and says how to cache it. Group runs
// it detached from any one caller (see Do).
type Fill[V any] func(ctx context.Context) (Item[V], error)

// PanicError is a Fill that panicked: the panic is recovered (singleflight
// would otherwise re-raise it in a goroutine of its own, killing the
// process) and returned to every caller waiting for the fill.
type PanicError struct {
	Key   string
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("fill cache key %q: panic: %v", e.Key, e.Value)
}

// Group puts singleflight and stale-while-revalidate in front of a Cache:
// concurrent callers asking for the same missing key share one fill, and a
// stale entry is served at once while a single background fill refreshes
// it. It is safe for concurrent use.
type Group[V any] struct {
	log     *slog.Logger
	c       *Cache[V]
	sf      singleflight.Group
	timeout time.Duration

	mu         sync.Mutex
	refreshing map[string]bool
}

// NewGroup wraps c. fillTimeout bounds every fill (on top of whatever
// deadline the fill sets itself); 0 means no bound of the group's own.
func NewGroup[V any](logger *slog.Logger, c *Cache[V], fillTimeout time.Duration) *Group[V] {
	return &Group[V]{log: logger, c: c, timeout: fillTimeout, refreshing: map[string]bool{}}
}

// Cache is the group's cache.
func (g *Group[V]) Cache() *Cache[V] { return g.c }

// filled is what a shared fill hands to its callers.
type filled[V any] struct {
	v   V
	out Outcome
}

// Do returns the value for key:
//   - a fresh entry at once (Fresh);
//   - a stale entry at once (Stale), starting one background refresh for
//     the key unless one is running;
//   - otherwise the result of fill (Miss), which is stored as the Item
//     says. Concurrent callers for the same key share a single fill.
//
// The shared fill runs on context.WithoutCancel(ctx) of the caller that
// started it, bounded by the group's fill timeout: a caller that gives up
// does not cancel it for the others. A caller stops waiting when its own
// ctx is done and gets ctx's error. A fill's error is returned to every
// caller that waited for it, and nothing is stored.
func (g *Group[V]) Do(ctx context.Context, key string, fill Fill[V]) (V, Outcome, error) {
	if v, out := g.c.Get(key); out.State != Miss {
		if out.State == Stale {
			g.refresh(ctx, key, fill)
		}
		return v, out, nil
	}
	leader := false
	ch := g.sf.DoChan(key, func() (any, error) {
		leader = true
		return g.run(context.WithoutCancel(ctx), key, fill, shared)
	})
	select {
	case r := <-ch:
		var zero V
		if r.Err != nil {
			return zero, Outcome{}, r.Err
		}
		f := r.Val.(filled[V])
		if !leader { // set by the fill's goroutine before the result was sent
			f.out.Shared = true
			g.c.m.joined()
		}
		return f.v, f.out, nil
	case <-ctx.Done():
		var zero V
		return zero, Outcome{}, fmt.Errorf("wait for cache key %q: %w", key, ctx.Err())
	}
}

// Recompute runs fill on the caller's own ctx, ignoring any entry and any
// fill in flight, and stores the result: a caller's explicit request for a
// fresh answer, which also refreshes the cache for everyone else — unless
// the result is of lower Quality than a fresh entry, which stays.
func (g *Group[V]) Recompute(ctx context.Context, key string, fill Fill[V]) (V, Outcome, error) {
	f, err := g.run(ctx, key, fill, recompute)
	return f.v, f.out, err
}

// Cached is Do without the fill on a miss: a fresh or a stale entry is
// returned at once (a stale one starting one background refresh with fill,
// as Do does), and a miss returns the zero value with State Miss. With
// Alone it serves a caller whose own fill is not to be shared: the refresh
// of a stale entry is for everyone, so fill must compute what Do's would.
func (g *Group[V]) Cached(ctx context.Context, key string, fill Fill[V]) (V, Outcome) {
	v, out := g.c.Get(key)
	if out.State == Stale {
		g.refresh(ctx, key, fill)
	}
	return v, out
}

// Alone runs fill for one caller only: on the caller's own ctx, neither
// joining a fill in flight nor letting anyone join this one, so that no
// other caller waits for, or gets, what this caller's fill computes. Its
// result is stored as the Item says (and not over a fresh entry of higher
// Quality); an Item that is not to be stored (TTL ≤ 0) leaves the cache as
// it was, for one caller's unstored result says nothing about the entry
// everyone else is served.
func (g *Group[V]) Alone(ctx context.Context, key string, fill Fill[V]) (V, Outcome, error) {
	f, err := g.run(ctx, key, fill, alone)
	return f.v, f.out, err
}

// fillMode says whose fill run is doing.
type fillMode uint8

const (
	shared    fillMode = iota // singleflight's, for every caller of the key
	recompute                 // one caller's explicit refresh for everyone
	alone                     // one caller's, for that caller alone
)

// refresh starts a background fill of a stale key, unless one is running.
func (g *Group[V]) refresh(ctx context.Context, key string, fill Fill[V]) {
	g.mu.Lock()
	if g.refreshing[key] {
		g.mu.Unlock()
		return
	}
	g.refreshing[key] = true
	g.mu.Unlock()
	g.c.m.refreshed()
	detached := context.WithoutCancel(ctx)
	go func() {
		defer func() {
			g.mu.Lock()
			delete(g.refreshing, key)
			g.mu.Unlock()
		}()
		// Through singleflight, so that callers arriving after the grace
		// period has ended join this fill instead of starting another.
		r := <-g.sf.DoChan(key, func() (any, error) { return g.run(detached, key, fill, shared) })
		if r.Err != nil {
			g.logFillError("background refresh failed; the stale entry stays until its grace ends", key, r.Err)
		}
	}()
}

// run fills key and stores the result. A shared fill first looks again: a
// fresh entry stored since the caller looked (by a fill that finished in
// between) is returned instead of filling again.
func (g *Group[V]) run(ctx context.Context, key string, fill Fill[V], mode fillMode) (filled[V], error) {
	if mode == shared {
		if v, out := g.c.peekFresh(key); out.State == Fresh {
			return filled[V]{v, out}, nil
		}
	}
	gen := g.c.generation()
	if g.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.timeout)
		defer cancel()
	}
	it, err := safeFill(ctx, key, fill)
	if err != nil {
		return filled[V]{}, err
	}
	if mode == alone && it.TTL <= 0 {
		return filled[V]{it.Value, Outcome{State: Miss}}, nil
	}
	// A tag invalidated while the fill ran (a member's breaker changed)
	// means the value may rest on what is no longer true: it is returned to
	// the callers that asked, but not stored.
	exp := g.c.setSince(gen, key, it)
	return filled[V]{it.Value, Outcome{State: Miss, Expires: exp}}, nil
}

func safeFill[V any](ctx context.Context, key string, fill Fill[V]) (it Item[V], err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Key: key, Value: r, Stack: debug.Stack()}
		}
	}()
	return fill(ctx)
}

func (g *Group[V]) logFillError(msg, key string, err error) {
	if g.log == nil {
		return
	}
	if pe, ok := err.(*PanicError); ok {
		g.log.Error(msg, "key", key, "panic", pe.Value, "stack", string(pe.Stack))
		return
	}
	// A fill fails only when its caller went away or it was refused for
	// lack of capacity (members' failures are part of its value): under
	// load that is frequent and expected.
	g.log.Debug(msg, "key", key, "err", err)
}
