package federate

import (
	"errors"
	"runtime"
)

// ErrOverloaded is a search refused because the engine is already running
// EngineConfig.MaxSearches searches: the caller should try again shortly.
// Refusing at once keeps the searches being answered fast; queueing would
// make every one of them slow.
var ErrOverloaded = errors.New("the service is answering as many searches as it may at once; try again shortly")

// Admit takes one of the engine's search slots without waiting: release
// gives it back; ok is false when every slot is taken. A search that asks
// the members (a cache miss, a refresh, a page deeper than the cache) holds
// a slot while it does; an answer from the cache needs none.
func (e *Engine) Admit() (release func(), ok bool) {
	if e.slots == nil {
		return func() {}, true
	}
	select {
	case e.slots <- struct{}{}:
		return func() { <-e.slots }, true
	default:
		return nil, false
	}
}

// MaxSearches is the bound on searches in flight (0: none).
func (e *Engine) MaxSearches() int { return cap(e.slots) }

// DefaultMaxSearches is the bound on searches in flight a service uses when
// its configuration sets none: 4 per core, at least 8 — enough to keep the
// cores busy while searches wait on members that answer in milliseconds,
// few enough that an answered search does not wait long behind the others
// (make bench's overload, at twice the saturation rate on 2 cores: answered
// p99 64 ms with 4 in flight, 177 ms with 8, 448 ms with 16). Members that
// take hundreds of milliseconds need more: about searches/s × their latency.
func DefaultMaxSearches() int { return max(8, 4*runtime.GOMAXPROCS(0)) }
