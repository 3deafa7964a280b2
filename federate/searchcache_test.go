package federate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

var testCache = CacheConfig{TTL: 5 * time.Minute, PartialTTL: 15 * time.Second, StaleGrace: time.Minute}

// newCachedEngine builds an engine over fake members with the cache on.
func newCachedEngine(t *testing.T, cc CacheConfig, members map[string]*fakeMember, ids ...string) *Engine {
	t.Helper()
	var ms []Member
	for _, id := range ids {
		ms = append(ms, Member{ID: id, Name: strings.ToUpper(id), Connector: members[id], Timeout: time.Second,
			MaxInFlight: 4, BreakerFailures: 3, BreakerOpenFor: 10 * time.Second})
	}
	e, err := NewEngine(quietLogger(), EngineConfig{DefaultTimeout: time.Second, MaxTimeout: 2 * time.Second, Cache: cc}, nil, ms)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// books makes n distinct works for a member.
func books(prefix string, n int) []Record {
	var out []Record
	for i := range n {
		out = append(out, book(fmt.Sprintf("%s%03d", prefix, i), fmt.Sprintf("Dune %s part %d", prefix, i), "Herbert, Frank", 1900+i))
	}
	return out
}

// swappable is a member whose behaviour a test changes while an abandoned
// call may still be running.
type swappable struct {
	cur   atomic.Pointer[fakeMember]
	calls atomic.Int32
}

func (s *swappable) to(f *fakeMember) { s.cur.Store(f) }
func (s *swappable) Kind() string     { return "fake" }
func (s *swappable) Search(ctx context.Context, q Query, w Window) (Page, error) {
	s.calls.Add(1)
	return s.cur.Load().Search(ctx, q, w)
}

func calls(ms ...*fakeMember) []int32 {
	var out []int32
	for _, m := range ms {
		out = append(out, m.calls.Load())
	}
	return out
}

func search(t *testing.T, e *Engine, req Request) *Response {
	t.Helper()
	if req.Query.Root == nil {
		req.Query = word("dune")
	}
	if req.Limit == 0 {
		req.Limit = 10
	}
	resp, err := e.Search(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func ids(resp *Response) []string {
	var out []string
	for _, r := range resp.Results {
		out = append(out, r.ID)
	}
	return out
}

func TestHundredConcurrentIdenticalSearchesCallEachMemberOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeMember{Delay: 50 * time.Millisecond, Records: books("a", 30)}
		b := &fakeMember{Delay: 80 * time.Millisecond, Records: books("b", 30)}
		e := newCachedEngine(t, testCache, map[string]*fakeMember{"a": a, "b": b}, "a", "b")
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Go(func() {
				// The same search as typed differently, asking for different
				// pages, filters and score parts: all one window.
				q, _ := ParseQuery([]string{"Dune", "dune", "DUNE"}[i%3])
				req := Request{Query: q, Offset: (i % 5) * 10, Limit: 10, Explain: i%2 == 0,
					Members: [][]string{nil, {"b", "a"}, {"a", "b", "a"}}[i%3]}
				if i%4 == 0 {
					req.Filters = map[string][]string{FacetFormat: {FormatBook}}
				}
				resp, err := e.Search(context.Background(), req)
				if err != nil || resp.Partial || len(resp.Results) != 10 {
					t.Errorf("search %d: %v partial %v results %d", i, err, resp.Partial, len(resp.Results))
				}
			})
		}
		wg.Wait()
		if got := calls(a, b); !slices.Equal(got, []int32{1, 1}) {
			t.Fatalf("member calls %v, want exactly one each", got)
		}
	})
}

func TestCachedAnswersLiveForTheirTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeMember{Delay: 100 * time.Millisecond, Records: books("a", 5)}
		e := newCachedEngine(t, CacheConfig{TTL: 5 * time.Minute}, map[string]*fakeMember{"a": a}, "a")
		first := search(t, e, Request{})
		if first.Cached || first.FreshUntil != time.Now().Add(5*time.Minute) {
			t.Fatalf("first search: cached %v fresh until %v", first.Cached, first.FreshUntil)
		}
		time.Sleep(5*time.Minute - time.Second)
		start := time.Now()
		hit := search(t, e, Request{})
		if !hit.Cached || hit.Stale || time.Since(start) != 0 || a.calls.Load() != 1 {
			t.Fatalf("within the TTL: cached %v stale %v took %v calls %d; want an instant hit without calling the member",
				hit.Cached, hit.Stale, time.Since(start), a.calls.Load())
		}
		if hit.TookMS != first.TookMS || !slices.Equal(ids(hit), ids(first)) {
			t.Fatalf("the hit differs from the original: took %d vs %d, %v vs %v", hit.TookMS, first.TookMS, ids(hit), ids(first))
		}
		time.Sleep(time.Second) // the TTL is over; no grace configured
		again := search(t, e, Request{})
		if again.Cached || a.calls.Load() != 2 {
			t.Fatalf("after the TTL: cached %v, calls %d; want a new search", again.Cached, a.calls.Load())
		}
	})
}

func TestStaleAnswersAreServedAtOnceAndRefreshedOnceInTheBackground(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeMember{Delay: 100 * time.Millisecond, Records: books("a", 5)}
		e := newCachedEngine(t, CacheConfig{TTL: time.Minute, StaleGrace: 30 * time.Second, PartialTTL: time.Second},
			map[string]*fakeMember{"a": a}, "a")
		search(t, e, Request{})
		time.Sleep(time.Minute + time.Second)
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				start := time.Now()
				resp := search(t, e, Request{})
				if !resp.Cached || !resp.Stale || time.Since(start) != 0 || !resp.FreshUntil.Before(time.Now()) {
					t.Errorf("in the grace period: cached %v stale %v took %v; want the old answer at once, marked stale",
						resp.Cached, resp.Stale, time.Since(start))
				}
			})
		}
		wg.Wait()
		time.Sleep(200 * time.Millisecond) // the background refresh finishes
		synctest.Wait()
		if n := a.calls.Load(); n != 2 {
			t.Fatalf("member calls %d, want 2: the first search and one background refresh", n)
		}
		if resp := search(t, e, Request{}); !resp.Cached || resp.Stale {
			t.Fatalf("after the refresh: cached %v stale %v, want a fresh hit", resp.Cached, resp.Stale)
		}
	})
}

func TestPartialAnswersAreMarkedAndExpireAfterThePartialTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		good := &fakeMember{Records: books("g", 5)}
		slow := &swappable{}
		slow.to(&fakeMember{Delay: time.Hour})
		e := newCachedEngine(t, testCache, map[string]*fakeMember{"good": good}, "good", "slow")
		e.byID["slow"].Connector = slow
		first := search(t, e, Request{})
		if !first.Partial || first.Cached || statusOf(first, "slow").Status != StatusTimeout {
			t.Fatalf("first: partial %v cached %v slow %+v", first.Partial, first.Cached, statusOf(first, "slow"))
		}
		time.Sleep(14 * time.Second)
		hit := search(t, e, Request{})
		if !hit.Partial || !hit.Cached || !hit.FreshUntil.IsZero() || statusOf(hit, "slow").Status != StatusTimeout {
			t.Fatalf("cached partial: partial %v cached %v fresh until %v; it must still say partial and give no freshness",
				hit.Partial, hit.Cached, hit.FreshUntil)
		}
		if got := []int32{good.calls.Load(), slow.calls.Load()}; !slices.Equal(got, []int32{1, 1}) {
			t.Fatalf("calls %v after a cached partial answer", got)
		}
		time.Sleep(time.Second)                      // 15s: the partial TTL is over, and partial answers have no grace
		slow.to(&fakeMember{Records: books("s", 5)}) // the member is back
		again := search(t, e, Request{})
		if again.Partial || again.Cached || again.Stale {
			t.Fatalf("after the partial TTL: partial %v cached %v stale %v; want a new, complete answer", again.Partial, again.Cached, again.Stale)
		}
		if got := []int32{good.calls.Load(), slow.calls.Load()}; !slices.Equal(got, []int32{2, 2}) {
			t.Fatalf("calls %v, want both members searched again", got)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
	})
}

func TestABreakerChangeInvalidatesTheAnswersThatSearchedTheMember(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		good := &fakeMember{Records: books("g", 5)}
		bad := &fakeMember{Err: errors.New("connection refused")}
		e := newCachedEngine(t, CacheConfig{TTL: time.Hour, PartialTTL: time.Hour}, map[string]*fakeMember{"good": good, "bad": bad}, "good", "bad")
		search(t, e, Request{Query: word("q0"), Members: []string{"good"}})
		for i := 1; i <= 3; i++ { // three failures open bad's breaker
			search(t, e, Request{Query: word(fmt.Sprint("q", i))})
		}
		if e.Members()[1].Breaker != "open" {
			t.Fatalf("bad's breaker %q, want open", e.Members()[1].Breaker)
		}
		before := good.calls.Load()
		resp := search(t, e, Request{Query: word("q1")})
		if resp.Cached || statusOf(resp, "bad").Status != StatusOpen || good.calls.Load() != before+1 {
			t.Fatalf("q1 after the breaker opened: cached %v bad %q; want a new search showing bad open", resp.Cached, statusOf(resp, "bad").Status)
		}
		if resp := search(t, e, Request{Query: word("q0"), Members: []string{"good"}}); !resp.Cached {
			t.Fatal("an answer that never searched bad was dropped")
		}

		time.Sleep(10*time.Second + time.Millisecond) // bad's breaker may let a probe through
		bad.Err = nil
		bad.Records = books("b", 5)
		search(t, e, Request{Query: word("q9")}) // a new query probes bad; its breaker closes
		if e.Members()[1].Breaker != "closed" {
			t.Fatalf("bad's breaker %q, want closed", e.Members()[1].Breaker)
		}
		resp = search(t, e, Request{Query: word("q1")})
		if resp.Cached || resp.Partial {
			t.Fatalf("q1 after the breaker closed: cached %v partial %v; want a new, complete answer", resp.Cached, resp.Partial)
		}
	})
}

func TestPagesWithinTheWindowCostNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeMember{Records: books("a", 80)}
		b := &fakeMember{Records: books("b", 80)}
		e := newCachedEngine(t, testCache, map[string]*fakeMember{"a": a, "b": b}, "a", "b")
		top := search(t, e, Request{Limit: 100})
		if len(top.Results) != 100 || top.Total != 160 {
			t.Fatalf("window: %d results of %d", len(top.Results), top.Total)
		}
		for _, tt := range []struct {
			title         string
			offset, limit int
		}{
			{"page 1", 0, 20}, {"page 2", 20, 20}, {"page 5", 80, 20}, {"an odd page", 37, 11},
		} {
			resp := search(t, e, Request{Offset: tt.offset, Limit: tt.limit})
			if !resp.Cached || !slices.Equal(ids(resp), ids(top)[tt.offset:tt.offset+tt.limit]) || resp.Total != 160 {
				t.Errorf("%s: cached %v total %d ids %v; want the window's slice", tt.title, resp.Cached, resp.Total, ids(resp))
			}
		}
		if got := calls(a, b); !slices.Equal(got, []int32{1, 1}) {
			t.Fatalf("calls %v, want one each for every page", got)
		}
		for range 2 {
			if resp := search(t, e, Request{Offset: 95, Limit: 10}); resp.Cached {
				t.Fatal("a page beyond the window was served from the cache")
			}
		}
		if got := calls(a, b); !slices.Equal(got, []int32{3, 3}) {
			t.Fatalf("calls %v, want pages beyond the window to search every time", got)
		}
	})
}

func TestFiltersAndExplainAreAppliedToTheCachedWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		recs := books("a", 10)
		recs[3].Format, recs[7].Format = FormatVideo, FormatVideo
		a := &fakeMember{Records: recs}
		e := newCachedEngine(t, testCache, map[string]*fakeMember{"a": a}, "a")
		plain := search(t, e, Request{})
		if plain.Results[0].Explain != nil {
			t.Fatal("score parts without explain")
		}
		video := search(t, e, Request{Filters: map[string][]string{FacetFormat: {FormatVideo}}})
		if !video.Cached || video.Total != 2 || len(video.Results) != 2 {
			t.Fatalf("filtered: cached %v total %d", video.Cached, video.Total)
		}
		for _, f := range video.Facets {
			if f.Name == FacetFormat && (len(f.Values) != 1 || f.Values[0] != (FacetValue{FormatVideo, 2})) {
				t.Fatalf("facets of the filtered answer: %+v", f.Values)
			}
		}
		explained := search(t, e, Request{Explain: true})
		if !explained.Cached || explained.Results[0].Explain == nil {
			t.Fatal("explain from the cache lacks the score parts")
		}
		if again := search(t, e, Request{}); again.Results[0].Explain != nil || again.Total != 10 {
			t.Fatalf("the cached window was changed by an earlier request: explain %v total %d", again.Results[0].Explain, again.Total)
		}
		if a.calls.Load() != 1 {
			t.Fatalf("calls %d, want 1", a.calls.Load())
		}
	})
}

func TestWhatChangesTheAnswerChangesTheKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeMember{Records: books("a", 5)}
		b := &fakeMember{Records: books("b", 5)}
		e := newCachedEngine(t, testCache, map[string]*fakeMember{"a": a, "b": b}, "a", "b")
		tests := []struct {
			title     string
			req       Request
			wantCalls []int32 // after this search
		}{
			{"the whole consortium", Request{}, []int32{1, 1}},
			{"every member named, in another order", Request{Members: []string{"b", "a", "b"}}, []int32{1, 1}},
			{"a home that is not in the scope ranks nothing", Request{Members: []string{"a"}, Home: "b"}, []int32{2, 1}},
			{"the same scope without a home", Request{Members: []string{"a"}}, []int32{2, 1}},
			{"a home in the scope changes the ranking", Request{Home: "a"}, []int32{3, 2}},
			{"another home", Request{Home: "b"}, []int32{4, 3}},
			{"another query", Request{Query: word("messiah")}, []int32{5, 4}},
			{"a phrase's word order matters", Request{Query: Query{Root: &Term{Text: "dune messiah", Phrase: true}}}, []int32{6, 5}},
			{"reversed", Request{Query: Query{Root: &Term{Text: "messiah dune", Phrase: true}}}, []int32{7, 6}},
			{"a field's case does not", Request{Query: Query{Root: &Term{Field: FieldTitle, Text: "Messiah Dune", Phrase: true}}}, []int32{8, 7}},
			{"same", Request{Query: Query{Root: &Term{Field: FieldTitle, Text: "messiah dune", Phrase: true}}}, []int32{8, 7}},
			{"a bypass always searches", Request{BypassCache: true}, []int32{9, 8}},
		}
		for _, tt := range tests {
			search(t, e, tt.req)
			if got := calls(a, b); !slices.Equal(got, tt.wantCalls) {
				t.Fatalf("%s: calls %v, want %v", tt.title, got, tt.wantCalls)
			}
		}
	})
}

func TestABypassReplacesTheCachedAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeMember{Records: books("a", 3)}
		e := newCachedEngine(t, testCache, map[string]*fakeMember{"a": a}, "a")
		search(t, e, Request{})
		a.Records = books("new", 4)
		if resp := search(t, e, Request{BypassCache: true}); resp.Cached || resp.Total != 4 {
			t.Fatalf("bypass: cached %v total %d", resp.Cached, resp.Total)
		}
		if resp := search(t, e, Request{}); !resp.Cached || resp.Total != 4 {
			t.Fatalf("after the bypass: cached %v total %d, want the bypass's answer", resp.Cached, resp.Total)
		}
	})
}

func TestPagingNeverChangesTheCachedWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeMember{Records: books("a", 5)}
		e := newCachedEngine(t, testCache, map[string]*fakeMember{"a": a}, "a")
		first := search(t, e, Request{})
		want := fmt.Sprintf("%+v", first.Results)
		// What a later step (such as annotating results) might do to its copy.
		first.Results[0].Title = "changed"
		first.Results[0].Holdings = append(first.Results[0].Holdings, Holding{Member: "x"})
		first.Results[1].Authors = append(first.Results[1].Authors, "Someone")
		first.Members[0].Status = "changed"
		first.Facets[0].Name = "changed"
		again := search(t, e, Request{})
		if got := fmt.Sprintf("%+v", again.Results); got != want || again.Members[0].Status != StatusOK || again.Facets[0].Name != FacetMember {
			t.Fatalf("the cached answer changed:\n%s\nwant\n%s", got, want)
		}
	})
}

func TestACallerThatGivesUpLeavesTheSharedSearchRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeMember{Delay: 500 * time.Millisecond, Records: books("a", 5)}
		e := newCachedEngine(t, testCache, map[string]*fakeMember{"a": a}, "a")
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		var wg sync.WaitGroup
		var patient *Response
		wg.Go(func() {
			time.Sleep(10 * time.Millisecond)
			patient = search(t, e, Request{})
		})
		gaveUp, err := e.Search(ctx, Request{Query: word("dune"), Limit: 10})
		if err != nil || !gaveUp.Partial || statusOf(gaveUp, "a").Status != StatusSkipped {
			t.Fatalf("the caller who left: %v %+v", err, gaveUp)
		}
		wg.Wait()
		if patient.Partial || len(patient.Results) != 5 || a.calls.Load() != 1 {
			t.Fatalf("the caller who waited: partial %v results %d calls %d", patient.Partial, len(patient.Results), a.calls.Load())
		}
		if resp := search(t, e, Request{}); !resp.Cached || resp.Partial {
			t.Fatalf("the shared answer was not cached complete: cached %v partial %v", resp.Cached, resp.Partial)
		}
	})
}

func TestWithoutACacheEverySearchFansOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeMember{Records: books("a", 5)}
		e := newCachedEngine(t, CacheConfig{}, map[string]*fakeMember{"a": a}, "a")
		for range 3 {
			if resp := search(t, e, Request{}); resp.Cached {
				t.Fatal("cached without a cache")
			}
		}
		if a.calls.Load() != 3 {
			t.Fatalf("calls %d, want 3", a.calls.Load())
		}
		e.PurgeCache() // a no-op
	})
}
