package federate

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// trustEngine is a cached engine over a fast member and one answering in
// 300ms, both within the configured budget (1s) and neither within 1ms.
func trustEngine(t *testing.T) (*Engine, *fakeMember, *swappable) {
	t.Helper()
	fast := &fakeMember{Delay: 5 * time.Millisecond, Records: books("f", 5)}
	slow := &swappable{}
	slow.to(&fakeMember{Delay: 300 * time.Millisecond, Records: books("s", 5)})
	e := newCachedEngine(t, testCache, map[string]*fakeMember{"fast": fast}, "fast", "slow")
	e.byID["slow"].Connector = slow
	return e, fast, slow
}

// configured is a request with the budget the configuration gives it; a
// caller's own budget is set on top.
func configured(timeout time.Duration, bypass bool) Request {
	return Request{Query: word("dune"), Limit: 10, ConfiguredTimeout: time.Second, Timeout: timeout, BypassCache: bypass}
}

func complete(t *testing.T, what string, resp *Response, wantCached bool) {
	t.Helper()
	if resp.Partial || resp.Cached != wantCached || len(resp.Results) != 10 {
		t.Fatalf("%s: partial %v cached %v results %d; want a complete answer, cached %v (members %+v)",
			what, resp.Partial, resp.Cached, len(resp.Results), wantCached, resp.Members)
	}
}

func TestACallerChosenBudgetOrBypassNeverCachesAWorseAnswer(t *testing.T) {
	tests := []struct {
		title string
		run   func(t *testing.T, e *Engine, fast *fakeMember, slow *swappable)
	}{
		{"timeout_ms=1 on an empty cache: its all-timeout answer is not cached for anyone", func(t *testing.T, e *Engine, fast *fakeMember, slow *swappable) {
			short := search(t, e, configured(time.Millisecond, false))
			if !short.Partial || statusOf(short, "slow").Status != StatusTimeout || statusOf(short, "fast").Status != StatusTimeout {
				t.Fatalf("the 1ms search: partial %v members %+v; want both members timed out", short.Partial, short.Members)
			}
			complete(t, "the next caller", search(t, e, configured(0, false)), false)
			complete(t, "the one after", search(t, e, configured(0, false)), true)
		}},
		{"a short budget is served a fresh cached answer without searching", func(t *testing.T, e *Engine, fast *fakeMember, slow *swappable) {
			search(t, e, configured(0, false))
			complete(t, "the 1ms search", search(t, e, configured(time.Millisecond, false)), true)
			if got := []int32{fast.calls.Load(), slow.calls.Load()}; !slices.Equal(got, []int32{1, 1}) {
				t.Fatalf("calls %v, want the members searched once", got)
			}
		}},
		{"a home outside the scope, whose own budget is short, does not lead the search everyone shares", func(t *testing.T, e *Engine, fast *fakeMember, slow *swappable) {
			// The key leaves out a home that is not searched, so the window
			// is everyone's: the home's 50ms is a short budget for it.
			elsewhere := Request{Query: word("dune"), Limit: 10, Home: "elsewhere", ConfiguredTimeout: 50 * time.Millisecond, Timeout: 50 * time.Millisecond}
			if r := search(t, e, elsewhere); !r.Partial {
				t.Fatalf("the 50ms search: partial %v", r.Partial)
			}
			complete(t, "the next caller", search(t, e, configured(0, false)), false)
			complete(t, "the one after", search(t, e, configured(0, false)), true)
		}},
		{"cache=bypass with timeout_ms=1 does not replace a good answer", func(t *testing.T, e *Engine, fast *fakeMember, slow *swappable) {
			search(t, e, configured(0, false))
			if resp := search(t, e, configured(time.Millisecond, true)); !resp.Partial || resp.Cached {
				t.Fatalf("the bypass: partial %v cached %v; want its own partial answer", resp.Partial, resp.Cached)
			}
			complete(t, "after the bypass", search(t, e, configured(0, false)), true)
		}},
		{"cache=bypass with timeout_ms=1 on an empty cache caches nothing", func(t *testing.T, e *Engine, fast *fakeMember, slow *swappable) {
			search(t, e, configured(time.Millisecond, true))
			complete(t, "after the bypass", search(t, e, configured(0, false)), false)
		}},
		{"a bypass at the configured budget whose answer is partial does not replace a fresh complete one", func(t *testing.T, e *Engine, fast *fakeMember, slow *swappable) {
			search(t, e, configured(0, false))
			slow.to(&fakeMember{Err: errors.New("connection refused")})
			if resp := search(t, e, configured(0, true)); !resp.Partial || statusOf(resp, "slow").Status != StatusError {
				t.Fatalf("the bypass: partial %v slow %+v", resp.Partial, statusOf(resp, "slow"))
			}
			complete(t, "after the bypass", search(t, e, configured(0, false)), true)
		}},
		{"a bypass at the configured budget whose answer is complete replaces the cached one", func(t *testing.T, e *Engine, fast *fakeMember, slow *swappable) {
			search(t, e, configured(0, false))
			fast.Records = books("new", 6)
			complete(t, "the bypass", search(t, e, configured(0, true)), false)
			if resp := search(t, e, configured(0, false)); !resp.Cached || resp.Total != 11 {
				t.Fatalf("after the bypass: cached %v total %d, want the bypass's answer (11 works)", resp.Cached, resp.Total)
			}
		}},
		{"a short budget's complete answer is cached", func(t *testing.T, e *Engine, fast *fakeMember, slow *swappable) {
			slow.to(&fakeMember{Records: books("s", 5)})
			complete(t, "the 100ms search", search(t, e, configured(100*time.Millisecond, false)), false)
			complete(t, "the next caller", search(t, e, configured(0, false)), true)
		}},
		{"a caller with the configured budget does not join a short search in flight", func(t *testing.T, e *Engine, fast *fakeMember, slow *swappable) {
			var wg sync.WaitGroup
			wg.Go(func() { search(t, e, configured(time.Millisecond, false)) })
			time.Sleep(500 * time.Microsecond) // the short search is in flight
			complete(t, "the patient caller", search(t, e, configured(0, false)), false)
			wg.Wait()
			complete(t, "the next caller", search(t, e, configured(0, false)), true)
		}},
		{"a short caller does not join a shared search in flight and leaves it whole", func(t *testing.T, e *Engine, fast *fakeMember, slow *swappable) {
			var wg sync.WaitGroup
			var patient *Response
			wg.Go(func() { patient = search(t, e, configured(0, false)) })
			time.Sleep(10 * time.Millisecond)
			start := time.Now()
			if resp := search(t, e, configured(time.Millisecond, false)); !resp.Partial || time.Since(start) > time.Millisecond {
				t.Fatalf("the short caller: partial %v after %v; want its own answer within its budget", resp.Partial, time.Since(start))
			}
			wg.Wait()
			complete(t, "the patient caller", patient, false)
			complete(t, "the next caller", search(t, e, configured(0, false)), true)
		}},
		{"a stale answer served to a short caller is refreshed with the configured budget", func(t *testing.T, e *Engine, fast *fakeMember, slow *swappable) {
			search(t, e, configured(0, false))
			time.Sleep(testCache.TTL) // into the grace period
			if resp := search(t, e, configured(time.Millisecond, false)); !resp.Stale || resp.Partial {
				t.Fatalf("the short caller: stale %v partial %v; want the stale complete answer", resp.Stale, resp.Partial)
			}
			time.Sleep(time.Second) // the refresh runs
			synctest.Wait()
			resp := search(t, e, configured(0, false))
			complete(t, "after the refresh", resp, true)
			if resp.Stale || slow.calls.Load() != 2 {
				t.Fatalf("after the refresh: stale %v, slow called %d times; want a fresh answer from one refresh", resp.Stale, slow.calls.Load())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e, fast, slow := trustEngine(t)
				tt.run(t, e, fast, slow)
				time.Sleep(time.Second) // abandoned member calls end
				synctest.Wait()
			})
		})
	}
}

// A caller who names no budget of its own has the configured one, and one
// asking for more than it leads shared searches as before.
func TestBudgetsAtOrAboveTheConfiguredOneShareTheSearch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, fast, slow := trustEngine(t)
		var wg sync.WaitGroup
		for _, timeout := range []time.Duration{0, time.Second, 2 * time.Second, 0} {
			wg.Go(func() { complete(t, "a caller", search(t, e, configured(timeout, false)), false) })
		}
		wg.Wait()
		if got := []int32{fast.calls.Load(), slow.calls.Load()}; !slices.Equal(got, []int32{1, 1}) {
			t.Fatalf("calls %v, want one shared search", got)
		}
	})
}

func TestOneOffQueriesDoNotEvictHotAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeMember{Records: books("a", 20)}
		probe := newCachedEngine(t, testCache, map[string]*fakeMember{"a": a}, "a")
		search(t, probe, Request{Query: word("probe")})
		perAnswer := probe.group.Cache().Bytes()
		// A cache holding 50 answers, far fewer than the 1,000 one-off
		// queries sent between the hot ones.
		cc := testCache
		cc.MaxBytes = 50 * perAnswer
		e := newCachedEngine(t, cc, map[string]*fakeMember{"a": a}, "a")
		hot := []string{"dune", "hunger games", "beloved", "middlemarch", "ulysses", "emma", "kindred", "solaris", "walden", "ubik"}
		for range 2 {
			for _, q := range hot {
				search(t, e, Request{Query: word(q)})
			}
		}
		var hotSearches, hotHits int
		for i := range 1000 {
			search(t, e, Request{Query: word(fmt.Sprint("one-off ", i))})
			if i%10 == 0 { // the hot queries take turns, each asked once in 100 one-off queries
				hotSearches++
				if search(t, e, Request{Query: word(hot[i/10%len(hot)])}).Cached {
					hotHits++
				}
			}
		}
		ratio := float64(hotHits) / float64(hotSearches)
		t.Logf("hot answers' hit ratio %.3f among 1,000 one-off queries; %d answers cached", ratio, e.group.Cache().Len())
		if ratio < 0.9 {
			t.Fatalf("hot answers' hit ratio %.3f, want at least 0.9", ratio)
		}
		if e.group.Cache().Bytes() > cc.MaxBytes {
			t.Fatalf("cache holds %d bytes, over its %d", e.group.Cache().Bytes(), cc.MaxBytes)
		}
	})
}
