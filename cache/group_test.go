package cache

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// slowFill is a fill that takes Delay, counts its calls and returns its
// call number as the value.
type slowFill struct {
	Delay time.Duration
	TTL   time.Duration
	Grace time.Duration
	Err   error
	Panic any
	calls atomic.Int32
	// sawCancel is set when the fill's context was cancelled before it
	// finished.
	sawCancel atomic.Bool
}

func (f *slowFill) fill(ctx context.Context) (Item[int], error) {
	n := int(f.calls.Add(1))
	select {
	case <-time.After(f.Delay):
	case <-ctx.Done():
		f.sawCancel.Store(true)
		return Item[int]{}, ctx.Err()
	}
	if f.Panic != nil {
		panic(f.Panic)
	}
	if f.Err != nil {
		return Item[int]{}, f.Err
	}
	return Item[int]{Value: n, Size: 1, TTL: f.TTL, Grace: f.Grace, Tags: []string{"north"}}, nil
}

func newGroup(t *testing.T) (*Group[int], *Metrics) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, "test")
	return NewGroup(slog.New(slog.NewTextHandler(io.Discard, nil)), New[int](Options{}, m), time.Minute), m
}

func TestHundredConcurrentCallersShareOneFill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, m := newGroup(t)
		f := &slowFill{Delay: 200 * time.Millisecond, TTL: time.Minute}
		var wg sync.WaitGroup
		var shared, values atomic.Int32
		for range 100 {
			wg.Go(func() {
				v, out, err := g.Do(context.Background(), "q", f.fill)
				if err != nil || out.State != Miss {
					t.Errorf("Do: %v %v", out.State, err)
				}
				if out.Shared {
					shared.Add(1)
				}
				values.Add(int32(v))
			})
		}
		wg.Wait()
		if n := f.calls.Load(); n != 1 {
			t.Fatalf("fill ran %d times, want 1", n)
		}
		if shared.Load() != 99 || values.Load() != 100 {
			t.Fatalf("shared %d (want 99), sum of values %d (want 100: every caller got fill #1)", shared.Load(), values.Load())
		}
		if got := value(m.coalesced); got != 99 {
			t.Fatalf("coalesced callers metric %v, want 99", got)
		}
		if _, out, _ := g.Do(context.Background(), "q", f.fill); out.State != Fresh || f.calls.Load() != 1 {
			t.Fatalf("after the fill: %v with %d fills, want a fresh hit without a fill", out.State, f.calls.Load())
		}
	})
}

func TestAWaiterThatGivesUpDoesNotCancelTheSharedFill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := newGroup(t)
		f := &slowFill{Delay: time.Second, TTL: time.Minute}
		// The first caller starts the fill and gives up after 100ms.
		impatient, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		var wg sync.WaitGroup
		var patientErr error
		var patientValue int
		wg.Go(func() {
			time.Sleep(10 * time.Millisecond)
			patientValue, _, patientErr = g.Do(context.Background(), "q", f.fill)
		})
		start := time.Now()
		_, _, err := g.Do(impatient, "q", f.fill)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 100*time.Millisecond {
			t.Fatalf("impatient caller: %v after %v, want its own deadline after 100ms", err, time.Since(start))
		}
		wg.Wait()
		if patientErr != nil || patientValue != 1 {
			t.Fatalf("patient caller: %d %v, want the shared fill's value", patientValue, patientErr)
		}
		if f.sawCancel.Load() || f.calls.Load() != 1 {
			t.Fatalf("fill cancelled %v, calls %d; want one uncancelled fill", f.sawCancel.Load(), f.calls.Load())
		}
	})
}

func TestTheFillTimeoutBoundsADetachedFill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := newGroup(t) // fill timeout 1 minute
		f := &slowFill{Delay: time.Hour, TTL: time.Minute}
		start := time.Now()
		_, _, err := g.Do(context.Background(), "q", f.fill)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Minute {
			t.Fatalf("%v after %v, want the group's deadline after 1m", err, time.Since(start))
		}
	})
}

func TestStaleEntriesAreServedAtOnceAndRefreshedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, m := newGroup(t)
		f := &slowFill{Delay: time.Second, TTL: time.Minute, Grace: 30 * time.Second}
		if v, _, _ := g.Do(context.Background(), "q", f.fill); v != 1 {
			t.Fatalf("first fill gave %d", v)
		}
		time.Sleep(time.Minute) // the entry is now stale
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				start := time.Now()
				v, out, err := g.Do(context.Background(), "q", f.fill)
				if err != nil || out.State != Stale || v != 1 || time.Since(start) != 0 {
					t.Errorf("stale read: %d %v %v after %v; want the old value at once", v, out.State, err, time.Since(start))
				}
			})
		}
		wg.Wait()
		synctest.Wait() // the background refresh is sleeping in its fill
		if n := f.calls.Load(); n != 2 {
			t.Fatalf("fills %d, want 2: the first and one background refresh", n)
		}
		time.Sleep(time.Second) // the refresh finishes
		synctest.Wait()
		v, out, _ := g.Do(context.Background(), "q", f.fill)
		if out.State != Fresh || v != 2 {
			t.Fatalf("after the refresh: %d %v, want the refreshed value, fresh", v, out.State)
		}
		if got := value(m.refreshes); got != 1 {
			t.Fatalf("refreshes metric %v, want 1", got)
		}
		if got := value(m.stale); got != 20 {
			t.Fatalf("stale serves metric %v, want 20", got)
		}
	})
}

func TestPastTheGraceACallerWaitsForTheRunningRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := newGroup(t)
		f := &slowFill{Delay: 10 * time.Second, TTL: time.Minute, Grace: 5 * time.Second}
		g.Do(context.Background(), "q", f.fill)
		time.Sleep(time.Minute)
		g.Do(context.Background(), "q", f.fill) // stale: starts the refresh
		time.Sleep(6 * time.Second)             // grace over, refresh still running
		v, out, err := g.Do(context.Background(), "q", f.fill)
		if err != nil || v != 2 || !out.Shared || f.calls.Load() != 2 {
			t.Fatalf("%d %+v %v with %d fills; want to join the refresh", v, out, err, f.calls.Load())
		}
	})
}

func TestFailedFillsAreNotStored(t *testing.T) {
	tests := []struct {
		title string
		fill  *slowFill
		check func(error) bool
	}{
		{"an error", &slowFill{Err: errors.New("members unreachable"), TTL: time.Minute}, func(err error) bool { return err != nil && err.Error() == "members unreachable" }},
		{"a panic", &slowFill{Panic: "boom", TTL: time.Minute}, func(err error) bool { pe, ok := err.(*PanicError); return ok && pe.Value == "boom" }},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g, _ := newGroup(t)
				for i := range 2 {
					_, _, err := g.Do(context.Background(), "q", tt.fill.fill)
					if !tt.check(err) {
						t.Fatalf("call %d: err %v", i+1, err)
					}
				}
				if n := tt.fill.calls.Load(); n != 2 || g.Cache().Len() != 0 {
					t.Fatalf("fills %d, entries %d; want every call to fill and nothing stored", n, g.Cache().Len())
				}
			})
		})
	}
}

func TestAnInvalidationDuringTheFillKeepsItsValueOutOfTheCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := newGroup(t)
		f := &slowFill{Delay: time.Second, TTL: time.Minute}
		go func() {
			time.Sleep(500 * time.Millisecond)
			g.Cache().InvalidateTag("north") // e.g. the member's breaker opened
		}()
		v, out, err := g.Do(context.Background(), "q", f.fill)
		if err != nil || v != 1 || !out.Expires.IsZero() {
			t.Fatalf("%d %+v %v; want the value, not stored", v, out, err)
		}
		if _, out := g.Cache().Get("q"); out.State != Miss {
			t.Fatalf("stored despite the invalidation: %v", out.State)
		}
	})
}

func TestRecomputeIgnoresTheEntryAndRefreshesIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := newGroup(t)
		f := &slowFill{TTL: time.Minute}
		g.Do(context.Background(), "q", f.fill)
		v, out, err := g.Recompute(context.Background(), "q", f.fill)
		if err != nil || v != 2 || out.State != Miss {
			t.Fatalf("recompute: %d %v %v", v, out.State, err)
		}
		if v, out, _ := g.Do(context.Background(), "q", f.fill); v != 2 || out.State != Fresh {
			t.Fatalf("after recompute: %d %v, want the recomputed value", v, out.State)
		}
	})
}
