package cache

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestExpiryIsCheckedOnRead(t *testing.T) {
	type read struct {
		at   time.Duration // since the Set
		want State
	}
	tests := []struct {
		title string
		item  Item[string]
		reads []read
	}{
		{"a complete answer is fresh for its TTL, then gone",
			Item[string]{Value: "v", TTL: 5 * time.Minute},
			[]read{{0, Fresh}, {5*time.Minute - time.Nanosecond, Fresh}, {5 * time.Minute, Miss}}},
		{"with a grace period it is served stale until the grace ends",
			Item[string]{Value: "v", TTL: time.Minute, Grace: 30 * time.Second},
			[]read{{59 * time.Second, Fresh}, {time.Minute, Stale}, {90*time.Second - time.Nanosecond, Stale}, {90 * time.Second, Miss}}},
		{"a short-lived (partial) answer expires after its short TTL and is never stale",
			Item[string]{Value: "v", TTL: 15 * time.Second},
			[]read{{14 * time.Second, Fresh}, {15 * time.Second, Miss}}},
		{"a zero TTL is not stored at all",
			Item[string]{Value: "v"},
			[]read{{0, Miss}}},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := New[string](Options{}, nil)
				start := time.Now()
				c.Set("k", tt.item)
				for _, r := range tt.reads {
					time.Sleep(start.Add(r.at).Sub(time.Now()))
					if _, out := c.Get("k"); out.State != r.want {
						t.Fatalf("at %v: %v, want %v", r.at, out.State, r.want)
					}
				}
			})
		})
	}
}

func TestAnEntryPastItsGraceIsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[string](Options{}, nil)
		c.Set("k", Item[string]{Value: "v", Size: 10, TTL: time.Minute, Grace: time.Minute})
		time.Sleep(2 * time.Minute)
		c.Get("k")
		if c.Len() != 0 || c.Bytes() != 0 {
			t.Fatalf("len %d bytes %d after the grace ended, want 0 and 0", c.Len(), c.Bytes())
		}
	})
}

func TestLimitsEvictTheLeastRecentlyUsed(t *testing.T) {
	tests := []struct {
		title      string
		opts       Options
		sizes      map[string]int64 // set in order a, b, c (after reading a)
		wantGone   []string
		wantKept   []string
		wantBytes  int64
		wantEvicts float64
	}{
		{"the entry limit evicts the least recently used", Options{MaxEntries: 2},
			map[string]int64{"a": 1, "b": 1, "c": 1}, []string{"b"}, []string{"a", "c"}, 2, 1},
		{"the byte limit evicts until under it", Options{MaxBytes: 100},
			map[string]int64{"a": 40, "b": 40, "c": 40}, []string{"b"}, []string{"a", "c"}, 80, 1},
		{"a big entry evicts several", Options{MaxBytes: 100},
			map[string]int64{"a": 30, "b": 30, "c": 95}, []string{"a", "b"}, []string{"c"}, 95, 2},
		{"a value bigger than the whole cache is not stored", Options{MaxBytes: 100},
			map[string]int64{"a": 40, "b": 40, "c": 101}, []string{"c"}, []string{"a", "b"}, 80, 0},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := NewMetrics(reg, "test")
			c := New[string](tt.opts, m)
			c.Set("a", Item[string]{Value: "a", Size: tt.sizes["a"], TTL: time.Hour})
			c.Set("b", Item[string]{Value: "b", Size: tt.sizes["b"], TTL: time.Hour})
			c.Get("a") // a is now more recently used than b
			c.Set("c", Item[string]{Value: "c", Size: tt.sizes["c"], TTL: time.Hour})
			for _, k := range tt.wantGone {
				if _, out := c.Get(k); out.State != Miss {
					t.Errorf("%s still cached", k)
				}
			}
			for _, k := range tt.wantKept {
				if v, out := c.Get(k); out.State != Fresh || v != k {
					t.Errorf("%s: %q %v, want it kept", k, v, out.State)
				}
			}
			if c.Bytes() != tt.wantBytes {
				t.Errorf("bytes %d, want %d", c.Bytes(), tt.wantBytes)
			}
			if got := value(m.evictions); got != tt.wantEvicts {
				t.Errorf("evictions %v, want %v", got, tt.wantEvicts)
			}
			if got := value(m.bytes); got != float64(tt.wantBytes) {
				t.Errorf("bytes gauge %v, want %v", got, tt.wantBytes)
			}
		})
	}
}

func TestReplacingAnEntryKeepsTheAccountsRight(t *testing.T) {
	c := New[string](Options{}, nil)
	c.Set("k", Item[string]{Value: "old", Size: 10, TTL: time.Hour, Tags: []string{"north"}})
	c.Set("k", Item[string]{Value: "new", Size: 30, TTL: time.Hour, Tags: []string{"south"}})
	if c.Len() != 1 || c.Bytes() != 30 {
		t.Fatalf("len %d bytes %d, want 1 and 30", c.Len(), c.Bytes())
	}
	c.InvalidateTag("north") // the old entry's tag no longer holds k
	if v, out := c.Get("k"); out.State != Fresh || v != "new" {
		t.Fatalf("after invalidating the replaced entry's tag: %q %v", v, out.State)
	}
	c.Set("k", Item[string]{Value: "gone"}) // TTL 0: drops what was there
	if c.Len() != 0 || c.Bytes() != 0 {
		t.Fatalf("len %d bytes %d after a zero-TTL set, want 0 and 0", c.Len(), c.Bytes())
	}
}

func TestInvalidateTagDropsWhatDependedOnIt(t *testing.T) {
	c := New[string](Options{}, nil)
	c.Set("north+south", Item[string]{Value: "1", Size: 1, TTL: time.Hour, Tags: []string{"north", "south"}})
	c.Set("south", Item[string]{Value: "2", Size: 2, TTL: time.Hour, Tags: []string{"south"}})
	c.Set("east", Item[string]{Value: "3", Size: 4, TTL: time.Hour, Tags: []string{"east"}})
	c.InvalidateTag("south")
	for key, want := range map[string]State{"north+south": Miss, "south": Miss, "east": Fresh} {
		if _, out := c.Get(key); out.State != want {
			t.Errorf("%s: %v, want %v", key, out.State, want)
		}
	}
	if c.Bytes() != 4 {
		t.Errorf("bytes %d, want 4", c.Bytes())
	}
	c.InvalidateTag("nobody") // a tag no entry carries is fine
	c.Purge()
	if c.Len() != 0 || c.Bytes() != 0 {
		t.Errorf("after Purge: len %d bytes %d", c.Len(), c.Bytes())
	}
}

func TestLookupsAreCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		m := NewMetrics(reg, "test")
		c := New[string](Options{}, m)
		c.Get("k")
		c.Set("k", Item[string]{Value: "v", Size: 7, TTL: time.Minute, Grace: time.Minute})
		c.Get("k")
		c.Get("k")
		time.Sleep(time.Minute)
		c.Get("k")
		for name, got := range map[string]float64{"hits": value(m.hits), "misses": value(m.misses),
			"stale": value(m.stale), "entries": value(m.entries), "bytes": value(m.bytes)} {
			want := map[string]float64{"hits": 2, "misses": 1, "stale": 1, "entries": 1, "bytes": 7}[name]
			if got != want {
				t.Errorf("%s = %v, want %v", name, got, want)
			}
		}
	})
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.lookup(Fresh)
	m.evicted(3)
	m.joined()
	m.refreshed()
	m.size(1, 2)
}

func TestTwoCachesShareTheMetricNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg, "search")
	NewMetrics(reg, "pages") // would panic on a clash
	families, err := reg.Gather()
	if err != nil || len(families) != 8 || len(families[0].GetMetric()) != 2 {
		t.Fatalf("%d families (%v); want 8, each with a series per cache", len(families), err)
	}
}
