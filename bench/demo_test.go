package bench

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/connectors"
	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/demo"
	"github.com/commonshelf/commonshelf/federate"
	"github.com/commonshelf/commonshelf/index"
)

// demoQueries are typical catalogue searches over the demo consortium.
var demoQueries = []string{
	"hunger games", "harry potter", "author:tolkien", "title:pride prejudice",
	`"the great gatsby"`, "isbn:9780439023481", "war peace", "poems", "love year:2000..2010", "murder mystery",
}

// demoEngine builds the demo consortium's engine once per benchmark binary.
func demoEngine(b *testing.B) (*federate.Engine, []federate.Member) {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "commonshelf-bench-demo")
	path, err := demo.Generate(filepath.Join(dir, "demo"))
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := consortium.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	members, closers, err := connectors.BuildMembers(context.Background(), logger, cfg, dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		for _, c := range closers {
			c.Close()
		}
	})
	e, err := federate.NewEngine(logger, federate.EngineConfig{}, nil, members)
	if err != nil {
		b.Fatal(err)
	}
	return e, members
}

func parsed(b *testing.B) []federate.Query {
	qs := make([]federate.Query, len(demoQueries))
	for i, s := range demoQueries {
		q, err := federate.ParseQuery(s)
		if err != nil {
			b.Fatal(err)
		}
		qs[i] = q
	}
	return qs
}

// BenchmarkDemoSearch is a whole uncached consortium search (five local
// members, merge, rank, facets) against its baseline: the same queries
// sent to the largest single member's connector alone. The ratio is what
// federation costs over searching one catalogue.
func BenchmarkDemoSearch(b *testing.B) {
	e, members := demoEngine(b)
	qs := parsed(b)
	b.Run("baseline=one-member-connector", func(b *testing.B) {
		c := members[0].Connector
		b.ReportAllocs()
		var lat []time.Duration
		i := 0
		for b.Loop() {
			start := time.Now()
			if _, err := c.Search(context.Background(), qs[i%len(qs)], federate.Window{Limit: 50}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
			i++
		}
		reportMedian(b, lat)
	})
	b.Run("consortium", func(b *testing.B) {
		b.ReportAllocs()
		var lat []time.Duration
		i := 0
		for b.Loop() {
			start := time.Now()
			resp, err := e.Search(context.Background(), federate.Request{Query: qs[i%len(qs)], Limit: 20})
			if err != nil {
				b.Fatal(err)
			}
			if resp.Partial {
				b.Fatalf("partial answer: %+v", resp.Members)
			}
			lat = append(lat, time.Since(start))
			i++
		}
		reportMedian(b, lat)
	})
}

// BenchmarkMergeRank isolates merging and ranking: prebuilt member pages of
// the demo's "hunger games" answer, merged, ranked and faceted.
func BenchmarkMergeRank(b *testing.B) {
	e, _ := demoEngine(b)
	q, _ := federate.ParseQuery("love")
	pages, _ := e.FanOut(context.Background(), federate.Request{Query: q, Limit: 50})
	order := map[string]int{}
	for i, id := range e.MemberIDs() {
		order[id] = i + 1
	}
	n := 0
	for _, p := range pages {
		n += len(p.Records)
	}
	b.ReportAllocs()
	for b.Loop() {
		federate.Assemble(federate.Request{Query: q, Limit: 20}, pages, order)
	}
	b.ReportMetric(float64(n), "records/op")
}

func reportMedian(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkDemoListSearch searches the demo consortium's resource lists
// (built into a fresh store once): keyword, fielded and faceted queries,
// with the store's own lookup for annotating catalogue answers as the
// baseline of what a list search costs beyond a map lookup.
func BenchmarkDemoListSearch(b *testing.B) {
	lists, err := demo.Lists()
	if err != nil {
		b.Fatal(err)
	}
	store, err := index.Open(slog.New(slog.NewTextHandler(io.Discard, nil)), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	start := time.Now()
	if _, err := store.PutBatch(context.Background(), lists); err != nil {
		b.Fatal(err)
	}
	citations := 0
	for _, l := range lists {
		citations += l.CitationCount()
	}
	b.Logf("%d lists, %d citations indexed in %v (%.0f citations/s)", len(lists), citations, time.Since(start), float64(citations)/time.Since(start).Seconds())
	queries := map[string][]index.ListQuery{
		"keyword": {{Text: "dystopia"}, {Text: "hunger games"}, {Text: "poetry reading"}, {Text: "history war"}},
		"fielded": {{Text: "instructor:okafor"}, {Text: `code:"CHLT 104"`}, {Text: "author:austen"}, {Text: "department:philosophy"}},
		"faceted": {{Text: "reading", Filters: map[string][]string{"department": {"History"}}}, {Text: "novel", Filters: map[string][]string{"institution": {"north"}}}},
	}
	for _, kind := range []string{"keyword", "fielded", "faceted"} {
		qs := queries[kind]
		b.Run(kind, func(b *testing.B) {
			b.ReportAllocs()
			var lat []time.Duration
			i := 0
			for b.Loop() {
				t0 := time.Now()
				if _, err := store.Search(context.Background(), qs[i%len(qs)]); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				i++
			}
			reportMedian(b, lat)
		})
	}
}
