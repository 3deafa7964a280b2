package index

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"
)

var (
	synthWords = []string{"chemistry", "kinetics", "history", "europe", "revolution", "biology", "cell", "genetics",
		"economics", "markets", "policy", "literature", "poetry", "novel", "physics", "quantum", "mechanics",
		"statistics", "methods", "introduction", "advanced", "theory", "practice", "society", "culture", "law",
		"ethics", "philosophy", "mind", "language", "music", "art", "design", "engineering", "systems", "networks",
		"ecology", "climate", "water", "energy", "health", "medicine", "nursing", "education", "learning", "data"}
	synthSurnames = []string{"Smith", "Müller", "García", "Nguyen", "Okafor", "Rossi", "Dubois", "Kowalski", "Tanaka", "Andersson"}
	synthDepts    = []string{"Chemistry", "History", "Biology", "Economics", "Literature", "Physics", "Law", "Engineering"}
	synthInsts    = []string{"north", "south", "east", "west", "central"}
	synthTerms    = []string{"Autumn", "Spring", "Summer"}
	synthTypes    = []string{TypeBook, TypeBook, TypeChapter, TypeArticle, TypeWeb, TypeVideo}
	synthImps     = []string{ImportanceRequired, ImportanceRecommended, ImportanceOptional, ""}
)

// rareWord is one of 5,000 made-up words ("bakuzo"): the specific words of
// real titles, each in a few lists only.
func rareWord(k int) string {
	const cons, vows = "bdfgklmnprstvz", "aeiou"
	var b strings.Builder
	for i := 0; i < 3; i++ {
		b.WriteByte(cons[k%len(cons)])
		k /= len(cons)
		b.WriteByte(vows[k%len(vows)])
		k /= len(vows)
	}
	return b.String()
}

// syntheticList builds list n with the given number of citations,
// deterministically.
func syntheticList(n, citations int) *List {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	words := func(k int) string {
		s := ""
		for i := range k {
			if i > 0 {
				s += " "
			}
			s += synthWords[r.IntN(len(synthWords))]
		}
		return s
	}
	dept := synthDepts[r.IntN(len(synthDepts))]
	l := &List{
		Institution: synthInsts[n%len(synthInsts)], ID: fmt.Sprintf("list%06d", n),
		Name: words(3), Description: words(8), Status: StatusPublished, Visibility: VisibilityPublic,
		Course: Course{Code: fmt.Sprintf("%s %d", strings.ToUpper(dept[:min(4, len(dept))]), 100+n%400), Name: words(3), Department: dept,
			Term: synthTerms[r.IntN(len(synthTerms))], Year: 2020 + r.IntN(6),
			Instructors: []string{synthSurnames[r.IntN(len(synthSurnames))] + ", A."}},
	}
	if n%10 == 0 {
		l.Status = StatusDraft
	}
	per := 10
	for s := 0; s*per < citations; s++ {
		sec := Section{ID: fmt.Sprintf("s%d", s), Title: "Week " + fmt.Sprint(s+1)}
		for c := s * per; c < min((s+1)*per, citations); c++ {
			cit := Citation{ID: fmt.Sprintf("c%d", c), Type: synthTypes[r.IntN(len(synthTypes))], Title: words(3) + " " + rareWord(r.IntN(5000)),
				Authors: []string{synthSurnames[r.IntN(len(synthSurnames))] + ", " + string(rune('A'+r.IntN(26)))},
				Year:    1950 + r.IntN(75), Importance: synthImps[r.IntN(len(synthImps))]}
			if r.IntN(2) == 0 {
				cit.ISBN = []string{isbn13(fmt.Sprintf("978%09d", r.IntN(20000)))}
			}
			sec.Citations = append(sec.Citations, cit)
		}
		l.Sections = append(l.Sections, sec)
	}
	return l
}

// BenchmarkPut stores lists of 40 citations one at a time (a transaction
// and an index update each) and in batches of 100.
func BenchmarkPut(b *testing.B) {
	const citations = 40
	b.Run("one-by-one", func(b *testing.B) {
		s := openTest(b, b.TempDir(), Options{})
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Put(context.Background(), syntheticList(n, citations)); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(n*citations)/b.Elapsed().Seconds(), "citations/s")
	})
	b.Run("batch-100", func(b *testing.B) {
		s := openTest(b, b.TempDir(), Options{})
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			ls := make([]*List, 100)
			for i := range ls {
				ls[i] = syntheticList(n, citations)
				n++
			}
			if _, err := s.PutBatch(context.Background(), ls); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n*citations)/b.Elapsed().Seconds(), "citations/s")
	})
}

// BenchmarkSearch searches 2,000 lists of 40 citations (80,000 citations)
// and reports the median latency of each kind of query. The synthetic
// titles mix 46 common words, found in nearly every list (the worst case:
// every list matches and is counted in the facets), with specific words
// found in a few lists each.
func BenchmarkSearch(b *testing.B) {
	dir := b.TempDir()
	s := openTest(b, dir, Options{})
	var ls []*List
	for i := range 2000 {
		ls = append(ls, syntheticList(i, 40))
	}
	if _, err := s.PutBatch(context.Background(), ls); err != nil {
		b.Fatal(err)
	}
	// Reopen, so that the load's background merges do not run during the
	// first measurement.
	s.Close()
	s = openTest(b, dir, Options{})
	for _, bc := range []struct {
		name string
		q    ListQuery
	}{
		{"keyword-common", ListQuery{Text: "quantum mechanics"}},
		{"keyword-specific", ListQuery{Text: rareWord(1234) + " " + rareWord(77) + " OR " + rareWord(4321)}},
		{"fielded", ListQuery{Text: "author:müller title:climate course:energy"}},
		{"code", ListQuery{Text: "code:chem120"}},
		{"faceted", ListQuery{Text: "history", Filters: map[string][]string{"department": {"History", "Law"}, "citation_type": {"video"}}}},
		{"scoped-private", ListQuery{Text: "data", Institution: "north", IncludePrivateOf: "north"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range 20 { // warm up
				s.Search(context.Background(), bc.q)
			}
			var took []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				if _, err := s.Search(context.Background(), bc.q); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
		})
	}
}
