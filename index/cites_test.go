package index

import (
	"context"
	"fmt"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

func idsISBN(v ...string) federate.Identifiers { return federate.Identifiers{ISBN: v} }

func TestCitedBy(t *testing.T) {
	s := loaded(t)
	dune := federate.WorkKey(&federate.Record{Title: "Dune", Authors: []string{"Herbert, Frank"}, Year: 1965})
	tests := []struct {
		name    string
		ids     federate.Identifiers
		workKey string
		want    string
	}{
		{"a catalogue ISBN-13 finds citations written as ISBN-10 and -13", idsISBN("9780439023481"), "",
			"[{north CHEM 101 chem101-2025 recommended} {sud BIO150 bio150 required}]"},
		{"a catalogue ISBN-10 finds them too", idsISBN("0-439-02348-3"), "",
			"[{north CHEM 101 chem101-2025 recommended} {sud BIO150 bio150 required}]"},
		{"by work key: the same title, first author and year", federate.Identifiers{}, dune,
			"[{north CHEM 101 chem101-2025 } {sud BIO150 bio150 recommended}]"},
		{"a DOI", federate.Identifiers{DOI: []string{"10.1038/nature12373"}}, "", "[{north CHEM 101 chem101-2025 required}]"},
		{"an article's ISSN is its journal's, not a work", federate.Identifiers{ISSN: []string{"0028-0836"}}, "", "[]"},
		{"a draft list is not counted", federate.Identifiers{}, "age of revolution|hobsbawm|1962", "[]"},
		{"an institution-only list is not counted", federate.Identifiers{}, "organic chemistry|clayden|2012", "[]"},
		{"an unknown work", idsISBN("9780441172719"), "nothing|nobody|2000", "[]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := fmt.Sprint(s.CitedBy(tc.ids, tc.workKey))
			if tc.want == "[]" && got == "[]" {
				return
			}
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCitedByTakesTheHighestImportance(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	l := validList("north", "a")
	l.Sections[0].Citations = []Citation{
		{ID: "c1", Type: TypeBook, Title: "X", ISBN: []string{"0439023483"}, Importance: ImportanceOptional},
		{ID: "c2", Type: TypeChapter, Title: "Y", ISBN: []string{"9780439023481"}, Importance: ImportanceRequired},
		{ID: "c3", Type: TypeBook, Title: "Z", ISBN: []string{"0439023483"}},
	}
	mustPut(t, s, l)
	refs := s.CitedBy(idsISBN("9780439023481"), "")
	if len(refs) != 1 || refs[0].Importance != ImportanceRequired {
		t.Errorf("refs %v", refs)
	}
}

func TestCitedByFollowsWrites(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	ctx := context.Background()
	l := validList("north", "a")
	l.Sections[0].Citations[0].ISBN = []string{"0439023483"}
	mustPut(t, s, l)
	steps := []struct {
		name string
		do   func()
		want int
	}{
		{"published and public", func() {}, 1},
		{"made a draft", func() { l.Status = StatusDraft; mustPut(t, s, l) }, 0},
		{"published again", func() { l.Status = StatusPublished; mustPut(t, s, l) }, 1},
		{"the ISBN removed", func() { l.Sections[0].Citations[0].ISBN = nil; mustPut(t, s, l) }, 0},
		{"the ISBN back", func() { l.Sections[0].Citations[0].ISBN = []string{"9780439023481"}; mustPut(t, s, l) }, 1},
		{"deleted", func() { s.Delete(ctx, "north", "a") }, 0},
	}
	for _, st := range steps {
		st.do()
		if got := len(s.CitedBy(idsISBN("9780439023481"), "")); got != st.want {
			t.Errorf("%s: cited by %d lists, want %d", st.name, got, st.want)
		}
	}
}

func BenchmarkCitedBy(b *testing.B) {
	s := openTest(b, b.TempDir(), Options{})
	var ls []*List
	for i := range 500 {
		ls = append(ls, syntheticList(i, 40))
	}
	if _, err := s.PutBatch(context.Background(), ls); err != nil {
		b.Fatal(err)
	}
	hit := ls[10].Sections[0].Citations[0].Identifiers()
	miss := idsISBN("9780441172719")
	b.ReportAllocs()
	for b.Loop() {
		s.CitedBy(hit, "some title|someone|2001")
		s.CitedBy(miss, "other title|other|1999")
	}
}
