package local

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

// BenchmarkSearch measures one search (first page of 20) on an index of
// 2000 synthetic records, slot acquisition and record decoding included:
// two any-field keywords in a conjunction, and one word every record has.
func BenchmarkSearch(b *testing.B) {
	// 100 words: "river" and "queen" each occur in about one record in
	// twelve, their conjunction in about one in 150.
	base := []string{"history", "garden", "river", "night", "queen", "war", "music", "city", "stone", "letters",
		"science", "children", "poems", "journey", "empire", "sea", "mountain", "winter", "glass", "bridge"}
	suffix := []string{"", "s", "ing", "ed", "er"}
	var words []string
	for _, s := range suffix {
		for _, w := range base {
			words = append(words, w+s)
		}
	}
	names := []string{"Müller, Hans", "García Márquez, Gabriel", "Smith, Anne", "Lee, Kim", "Dubois, Amélie", "Nowak, Łukasz"}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() string { return words[rng.IntN(len(words))] }
	recs := make([]federate.Record, 2000)
	for i := range recs {
		recs[i] = federate.Record{
			RecordID:  fmt.Sprintf("r%05d", i),
			Title:     fmt.Sprintf("The %s of the %s and %s", pick(), pick(), pick()),
			Authors:   []string{names[rng.IntN(len(names))]},
			Year:      1900 + rng.IntN(125),
			Subjects:  []string{pick(), pick() + " -- " + pick()},
			Publisher: "Press of " + pick(),
			Format:    federate.FormatBook,
			Language:  "eng",
		}
	}
	dir := filepath.Join(b.TempDir(), "idx")
	x := openIndex(b, dir, Options{})
	if _, err := x.Import(b.Context(), sliceSource(recs), nil); err != nil {
		b.Fatal(err)
	}
	// Reopen so that the measure is of a settled index, not of one still
	// persisting the import in the background.
	x.Close()
	x = openIndex(b, dir, Options{})
	defer x.Close()
	for _, bm := range []struct {
		name string
		q    federate.Node
	}{
		{"two words", and(word("river"), word("queen"))},
		{"one broad word", word("press")},      // every record: all scores tie
		{"one common word", word("gardening")}, // about one record in 12
	} {
		b.Run(bm.name, func(b *testing.B) {
			q := newQuery(bm.q)
			w := federate.Window{Limit: 20}
			p, err := x.Search(b.Context(), q, w)
			if err != nil || len(p.Records) == 0 {
				b.Fatalf("no hits (%v)", err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := x.Search(b.Context(), q, w); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(p.Total), "hits")
		})
	}
}
