package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// lookupCache is what the scan workload needs of a cache: look a key up,
// store it on a miss.
type lookupCache interface {
	hit(key string) bool
	store(key string)
}

type slru struct{ c *Cache[int] }

func (s slru) hit(key string) bool { _, out := s.c.Get(key); return out.State == Fresh }
func (s slru) store(key string)    { s.c.Set(key, Item[int]{Value: 1, Size: 1000, TTL: time.Hour}) }

// plainLRU is the policy the cache had before: one LRU list.
type plainLRU struct{ l *simplelru.LRU[string, int] }

func (p plainLRU) hit(key string) bool { _, ok := p.l.Get(key); return ok }
func (p plainLRU) store(key string)    { p.l.Add(key, 1) }

// scanWorkload asks for each of hot keys twice (they are hot before the
// scan starts), then sends oneOffs keys nobody asks for twice, with the hot
// keys (taking turns at random) in hotShare of the lookups, and returns the
// hot keys' hit ratio during the scan.
func scanWorkload(c lookupCache, hot int, hotShare float64, oneOffs int) float64 {
	for range 2 {
		for i := range hot {
			if key := fmt.Sprintf("hot-%d", i); !c.hit(key) {
				c.store(key)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var hotLookups, hotHits int
	for sent := 0; sent < oneOffs; {
		key := ""
		if rng.Float64() < hotShare {
			key = fmt.Sprintf("hot-%d", rng.IntN(hot))
			hotLookups++
		} else {
			key = fmt.Sprintf("once-%d", sent)
			sent++
		}
		if c.hit(key) {
			if key[0] == 'h' {
				hotHits++
			}
			continue
		}
		c.store(key)
	}
	return float64(hotHits) / float64(hotLookups)
}

func TestOneOffKeysDoNotEvictHotOnes(t *testing.T) {
	tests := []struct {
		title    string
		capacity int // values of 1,000 bytes the cache holds
		hot      int
	}{
		{"one hot key in 10% of lookups, a cache of 4 values", 4, 1},
		{"20 hot keys in 10% of lookups between them, a cache of 100 values", 100, 20},
		{"100 hot keys in 10% of lookups between them, a cache of 500 values", 500, 100},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			// The workload is hostile: under one LRU list the one-off keys
			// pass between two lookups of a hot key and push it out.
			l, _ := simplelru.NewLRU[string, int](tt.capacity, nil)
			lruRatio := scanWorkload(plainLRU{l}, tt.hot, 0.1, 10000)
			if lruRatio > 0.5 {
				t.Fatalf("plain LRU keeps a hit ratio of %.3f: the workload does not test scan resistance", lruRatio)
			}
			c := New[int](Options{MaxBytes: int64(tt.capacity) * 1000}, nil)
			ratio := scanWorkload(slru{c}, tt.hot, 0.1, 10000)
			t.Logf("hot keys' hit ratio %.3f among 10,000 one-off keys (one LRU list: %.3f)", ratio, lruRatio)
			if ratio < 0.9 {
				t.Fatalf("hot keys' hit ratio %.3f, want at least 0.9", ratio)
			}
			if c.Bytes() > int64(tt.capacity)*1000 || c.Len() > tt.capacity {
				t.Fatalf("%d entries, %d bytes: over the limit", c.Len(), c.Bytes())
			}
		})
	}
}

func TestEntryLimitIsScanResistantToo(t *testing.T) {
	c := New[int](Options{MaxEntries: 50, MaxBytes: 1 << 40}, nil)
	s := slru{c}
	rng := rand.New(rand.NewPCG(3, 4))
	var hotLookups, hotHits int
	for i := range 5000 {
		key := fmt.Sprint("once-", i)
		if rng.IntN(10) == 0 {
			key = fmt.Sprint("hot-", rng.IntN(10))
			hotLookups++
		}
		if s.hit(key) {
			hotHits++
			continue
		}
		s.store(key)
		if c.Len() > 50 {
			t.Fatalf("%d entries, limit 50", c.Len())
		}
	}
	if ratio := float64(hotHits) / float64(hotLookups); ratio < 0.9 {
		t.Fatalf("hot keys' hit ratio %.3f under the entry limit, want at least 0.9", ratio)
	}
}

func TestARefreshedHotEntryStaysProtected(t *testing.T) {
	c := New[int](Options{MaxBytes: 10 * 1000}, nil)
	s := slru{c}
	s.store("hot")
	s.hit("hot") // read once: protected
	for i := range 100 {
		s.store(fmt.Sprint("once-", i))
	}
	c.Set("hot", Item[int]{Value: 2, Size: 1000, TTL: time.Hour}) // a background refresh replaces it
	for i := range 100 {
		s.store(fmt.Sprint("again-", i))
	}
	if v, out := c.Get("hot"); out.State != Fresh || v != 2 {
		t.Fatalf("the refreshed hot entry: %d %v; want it kept through 200 one-off keys", v, out.State)
	}
}

func TestAWorseValueNeverReplacesABetterFreshOne(t *testing.T) {
	tests := []struct {
		title    string
		old, new Item[string]
		after    time.Duration // between the two sets
		want     string        // what Get returns after the second ("" = miss)
		stored   bool          // whether the second Set says it stored
	}{
		{"a worse value beside a fresh better one is refused",
			Item[string]{Value: "complete", TTL: time.Minute, Quality: 1}, Item[string]{Value: "partial", TTL: time.Minute}, 0, "complete", false},
		{"a worse value that is not to be stored leaves the better one",
			Item[string]{Value: "complete", TTL: time.Minute, Quality: 1}, Item[string]{Value: "partial"}, 0, "complete", false},
		{"once the better one is no longer fresh, the worse one replaces it",
			Item[string]{Value: "complete", TTL: time.Minute, Grace: time.Minute, Quality: 1}, Item[string]{Value: "partial", TTL: time.Minute}, time.Minute, "partial", true},
		{"an equal value replaces it",
			Item[string]{Value: "old", TTL: time.Minute, Quality: 1}, Item[string]{Value: "new", TTL: time.Minute, Quality: 1}, 0, "new", true},
		{"a better value replaces a worse one",
			Item[string]{Value: "partial", TTL: time.Minute}, Item[string]{Value: "complete", TTL: time.Minute, Quality: 1}, 0, "complete", true},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := New[string](Options{}, nil)
				c.Set("k", tt.old)
				time.Sleep(tt.after)
				if stored := !c.Set("k", tt.new).IsZero(); stored != tt.stored {
					t.Fatalf("second Set stored %v, want %v", stored, tt.stored)
				}
				if v, _ := c.Get("k"); v != tt.want {
					t.Fatalf("Get %q, want %q", v, tt.want)
				}
			})
		})
	}
}

func TestAloneNeitherJoinsNorLeadsASharedFill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := newGroup(t)
		aloneFill := func(ctx context.Context) (Item[int], error) {
			time.Sleep(time.Second)
			return Item[int]{Value: -1}, nil // not to be stored
		}
		done := make(chan int)
		go func() {
			v, out, err := g.Alone(context.Background(), "q", aloneFill)
			if err != nil || out.State != Miss || !out.Expires.IsZero() {
				t.Errorf("alone: %v %+v", err, out)
			}
			done <- v
		}()
		time.Sleep(100 * time.Millisecond)
		shared := &slowFill{Delay: 10 * time.Millisecond, TTL: time.Minute}
		start := time.Now()
		v, out, err := g.Do(context.Background(), "q", shared.fill)
		if err != nil || v != 1 || out.Shared || time.Since(start) != 10*time.Millisecond {
			t.Fatalf("Do beside a running Alone: %d %+v %v after %v; want its own fill, not a wait for Alone's",
				v, out, err, time.Since(start))
		}
		if v := <-done; v != -1 {
			t.Fatalf("Alone got %d, want its own value", v)
		}
		if v, out := g.Cache().Get("q"); out.State != Fresh || v != 1 {
			t.Fatalf("after Alone's unstored value: %d %v; want the shared fill's entry untouched", v, out.State)
		}
		// A value Alone may store is stored.
		if _, out, _ := g.Alone(context.Background(), "r", shared.fill); out.Expires.IsZero() {
			t.Fatal("Alone did not store a storable value")
		}
	})
}

func TestCachedServesWhatIsThereAndFillsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := newGroup(t)
		f := &slowFill{Delay: time.Second, TTL: time.Minute, Grace: time.Minute}
		if _, out := g.Cached(context.Background(), "q", f.fill); out.State != Miss || f.calls.Load() != 0 {
			t.Fatalf("a miss: %v, %d fills; want Miss and no fill", out.State, f.calls.Load())
		}
		g.Do(context.Background(), "q", f.fill)
		time.Sleep(time.Minute)
		start := time.Now()
		if v, out := g.Cached(context.Background(), "q", f.fill); out.State != Stale || v != 1 || time.Since(start) != 0 {
			t.Fatalf("stale: %d %v; want the stale value at once", v, out.State)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if v, out := g.Cached(context.Background(), "q", f.fill); out.State != Fresh || v != 2 {
			t.Fatalf("after the refresh: %d %v; want the refreshed value", v, out.State)
		}
	})
}
