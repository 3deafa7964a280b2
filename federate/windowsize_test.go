package federate

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// catalogueMember answers like a real connector: every call decodes a new
// page, so no string or slice is shared between two answers, with records
// of catalogue-like lengths. Members draw on one pool of works (seeded by
// the query), so that a work is held by several members and merged.
type catalogueMember struct {
	id    string
	works int // the pool of works the query matches
}

func (m *catalogueMember) Kind() string { return "fake" }

var (
	surnames = []string{"Herbert", "Le Guin", "Atwood", "Okonkwo", "Nakamura", "Fitzgerald-Smythe", "Dostoyevsky", "Lindqvist", "García Márquez", "Adichie"}
	forename = []string{"Frank", "Ursula K.", "Margaret", "Chinua", "Haruki", "Eleanor", "Fyodor", "John Ajvide", "Gabriel", "Chimamanda Ngozi"}
	words    = []string{"desert", "planet", "history", "children", "empire", "science", "fiction", "memory", "winter", "river", "garden", "theory",
		"introduction", "letters", "politics", "chemistry", "an", "of", "the", "and"}
	subjects = []string{"Science fiction, American", "Deserts -- Fiction", "Ecology -- Fiction", "Interplanetary voyages -- Fiction",
		"Chemistry, Organic -- Textbooks", "World War, 1939-1945 -- Fiction", "Women -- Social conditions", "Nigeria -- History -- 20th century"}
	publishers = []string{"Ace Books", "Penguin Random House", "Oxford University Press", "Gollancz", "Houghton Mifflin Harcourt", "Vintage"}
)

func (m *catalogueMember) Search(ctx context.Context, q Query, w Window) (Page, error) {
	seed := uint64(len(q.Raw))
	for _, c := range q.Raw {
		seed = seed*31 + uint64(c)
	}
	memberSeed := uint64(0)
	for _, c := range m.id {
		memberSeed = memberSeed*31 + uint64(c)
	}
	pick := rand.New(rand.NewPCG(seed, memberSeed))
	n := min(w.Limit, m.works)
	recs := make([]Record, 0, n)
	for i := range n {
		work := pick.IntN(m.works)
		r := rand.New(rand.NewPCG(seed, uint64(work)))
		var title strings.Builder
		for j := range 3 + r.IntN(8) {
			if j > 0 {
				title.WriteByte(' ')
			}
			title.WriteString(words[r.IntN(len(words))])
		}
		a := r.IntN(len(surnames))
		rec := Record{
			RecordID:  fmt.Sprintf("%s-%09d", m.id, work),
			Title:     strings.Clone(title.String()),
			Authors:   []string{fmt.Sprintf("%s, %s, %d-", surnames[a], forename[a], 1900+r.IntN(90))},
			Year:      1950 + r.IntN(75),
			Publisher: strings.Clone(publishers[r.IntN(len(publishers))]),
			Format:    FormatBook,
			Language:  "eng",
			Identifiers: Identifiers{
				ISBN: []string{isbn13(seed%1000*1000000 + uint64(work))},
				OCLC: []string{fmt.Sprintf("ocm%08d", work)},
			},
			Links: []Link{{URL: fmt.Sprintf("https://catalogue.%s.example.edu/Record/%09d", m.id, work), Label: "Catalogue record"}},
			Rank:  i + 1,
		}
		if r.IntN(3) == 0 {
			rec.Authors = append(rec.Authors, fmt.Sprintf("%s, %s", surnames[r.IntN(len(surnames))], forename[r.IntN(len(forename))]))
		}
		for range 1 + r.IntN(4) {
			rec.Subjects = append(rec.Subjects, strings.Clone(subjects[r.IntN(len(subjects))]))
		}
		if r.IntN(4) == 0 {
			rec.Edition = fmt.Sprintf("%dth ed.", 2+r.IntN(12))
		}
		if r.IntN(5) == 0 {
			rec.Series = fmt.Sprintf("%s ; %d", strings.Clone(title.String()[:min(20, title.Len())]), 1+r.IntN(9))
		}
		recs = append(recs, rec)
	}
	return Page{Records: recs, Total: m.works}, nil
}

// isbn13 is a valid ISBN-13, hyphenated as catalogues often write it,
// made of n.
func isbn13(n uint64) string {
	d := fmt.Sprintf("978%09d", n%1000000000)
	sum := 0
	for i, c := range d {
		sum += int(c-'0') * (1 + 2*(i%2))
	}
	return fmt.Sprintf("%s-%s-%s-%d", d[:3], d[3:6], d[6:], (10-sum%10)%10)
}

// catalogueEngine is a cached engine over members answering catalogue-like
// pages; budget is the cache's byte limit.
func catalogueEngine(t testing.TB, members int, budget int64) *Engine {
	t.Helper()
	var ms []Member
	for i := range members {
		id := fmt.Sprintf("member%d", i+1)
		ms = append(ms, Member{ID: id, Name: "Member " + id, Connector: &catalogueMember{id: id, works: 160}, MaxInFlight: 64})
	}
	e, err := NewEngine(quietLogger(), EngineConfig{DefaultTimeout: time.Minute, MaxTimeout: time.Minute,
		Cache: CacheConfig{TTL: time.Hour, MaxBytes: budget, MaxEntries: 1 << 20}}, nil, ms)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// liveHeap is the heap in use by reachable objects, after a collection.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestWindowSizeCountsWhatAWindowCosts guards the cache's byte limit: a
// window's approxSize must be at least what keeping it costs the heap,
// and not much more (or the cache holds less than it could).
func TestWindowSizeCountsWhatAWindowCosts(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	for _, members := range []int{1, 4, 8} {
		t.Run(fmt.Sprintf("%d members", members), func(t *testing.T) {
			e := catalogueEngine(t, members, 0)
			wreq := e.windowRequest(Request{Query: word("warm-up")})
			e.fillWindow(context.Background(), wreq) // first-use allocations
			const n = 20
			windows := make([]*window, 0, n)
			before := liveHeap()
			for i := range n {
				wreq.Query = word(fmt.Sprint("query ", i))
				windows = append(windows, e.fillWindow(context.Background(), wreq))
			}
			measured := float64(liveHeap()-before) / n
			var est float64
			for _, w := range windows {
				est += float64(w.size)
			}
			est /= n
			ratio := est / measured
			t.Logf("%d works a window: approxSize %.0f bytes, heap %.0f bytes: %.2f×", len(windows[0].works), est, measured, ratio)
			if ratio < 1 || ratio > 1.3 {
				t.Errorf("approxSize is %.2f× the heap a window costs; want 1 to 1.3×", ratio)
			}
			runtime.KeepAlive(windows)
		})
	}
}

// TestACacheFullOfDistinctAnswersStaysWithinItsBudget fills the cache with
// more distinct answers than it holds, through Search, and reports the heap
// they keep beside the configured budget.
func TestACacheFullOfDistinctAnswersStaysWithinItsBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	const budget = 8 << 20
	e := catalogueEngine(t, 2, budget)
	search(t, e, Request{Query: word("warm-up")})
	e.PurgeCache()
	before := liveHeap()
	queries := 0
	for ; queries < 150; queries++ {
		search(t, e, Request{Query: word(fmt.Sprint("query ", queries)), Limit: 20})
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms) // before the collection: what the process held from the OS while filling
	resident := ms.HeapSys - ms.HeapReleased
	held := liveHeap() - before
	c := e.group.Cache()
	t.Logf("%d distinct searches: %d answers cached, %.1f MiB counted, %.1f MiB of live heap held (%.2f× the %.0f MiB budget); "+
		"heap obtained from the OS and not returned %.1f MiB (GOGC=%s: garbage between collections comes on top)",
		queries, c.Len(), float64(c.Bytes())/(1<<20), float64(held)/(1<<20), float64(held)/budget, float64(budget)/(1<<20),
		float64(resident)/(1<<20), cmp.Or(os.Getenv("GOGC"), "100"))
	if c.Bytes() > budget {
		t.Fatalf("counted %d bytes, over the budget", c.Bytes())
	}
	if float64(held) > 1.05*budget {
		t.Fatalf("the cache holds %.1f MiB of heap for a budget of %.1f MiB", float64(held)/(1<<20), float64(budget)/(1<<20))
	}
}
