package index

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestSearch(t *testing.T) {
	s := loaded(t)
	tests := []struct {
		name string
		q    ListQuery
		want []string // list keys, in any order
	}{
		{"a word in a citation title finds its list", ListQuery{Text: "thermodynamics"}, []string{"north/chem101-2025"}},
		{"a word in two institutions' lists finds both", ListQuery{Text: "dune"}, []string{"north/chem101-2025", "sud/bio150"}},
		{"a phrase", ListQuery{Text: `"chemical principles"`}, []string{"north/chem101-2025"}},
		{"words from the course name", ListQuery{Text: "introduction chemistry"}, []string{"north/chem101-2025"}},
		{"course code typed without the space", ListQuery{Text: "chem101"}, []string{"north/chem101-2025"}},
		{"code: with another spelling", ListQuery{Text: "code:chem-101"}, []string{"north/chem101-2025"}},
		{"course: matches the course name", ListQuery{Text: "course:cellulaire"}, []string{"sud/bio150"}},
		{"instructor:", ListQuery{Text: "instructor:lefevre"}, []string{"sud/bio150"}},
		{"department:", ListQuery{Text: "department:germanistik"}, []string{"ost/lit300"}},
		{"list: matches the list name", ListQuery{Text: "list:biologie"}, []string{"sud/bio150"}},
		{"title: matches a citation title, not the course", ListQuery{Text: "title:thermodynamics"}, []string{"north/chem101-2025"}},
		{"title: does not match a course name", ListQuery{Text: "title:introduction"}, nil},
		{"author: surname", ListQuery{Text: "author:atkins"}, []string{"north/chem101-2025"}},
		{"author: is not the instructor", ListQuery{Text: "author:lefevre"}, nil},
		{"isbn: ISBN-13 finds a citation written as ISBN-10", ListQuery{Text: "isbn:9780439023481"}, []string{"north/chem101-2025", "sud/bio150"}},
		{"isbn: hyphenated ISBN-10", ListQuery{Text: "isbn:0-439-02348-3"}, []string{"north/chem101-2025", "sud/bio150"}},
		{"an ISBN without a field", ListQuery{Text: "0439023483"}, []string{"north/chem101-2025", "sud/bio150"}},
		{"issn:", ListQuery{Text: "issn:00280836"}, []string{"north/chem101-2025"}},
		{"doi: any case, without resolver", ListQuery{Text: "doi:10.1038/nature12373"}, []string{"north/chem101-2025"}},
		{"year: of a citation", ListQuery{Text: "year:1960..1970"}, []string{"north/chem101-2025", "sud/bio150"}},
		{"a year range no citation is in finds nothing", ListQuery{Text: "year:1000..1001"}, nil},
		{"a stop word still matches as written", ListQuery{Text: "title:of"}, []string{"north/chem101-2025"}},
		{"subject: searches tags", ListQuery{Text: "subject:enzymes"}, []string{"north/chem101-2025"}},
		{"OR and NOT", ListQuery{Text: "dune -herbert OR thermodynamics"}, []string{"north/chem101-2025"}},
		{"NOT removes a list", ListQuery{Text: "dune NOT course:chemistry"}, []string{"sud/bio150"}},
		{"the term as a word", ListQuery{Text: "automne"}, []string{"sud/bio150"}},
		{"scope to one institution", ListQuery{Text: "dune", Institution: "sud"}, []string{"sud/bio150"}},
		{"empty text lists everything visible", ListQuery{}, []string{"north/chem101-2025", "sud/bio150", "ost/lit300"}},
		{"drafts are hidden", ListQuery{Text: "hobsbawm"}, nil},
		{"institution-only lists are hidden", ListQuery{Text: "clayden"}, nil},
		{"the owner sees its draft", ListQuery{Text: "hobsbawm", IncludePrivateOf: "north"}, []string{"north/hist200"}},
		{"the owner sees its institution-only list", ListQuery{Text: "organic", IncludePrivateOf: "north"}, []string{"north/chem201"}},
		{"another institution does not see them", ListQuery{Text: "hobsbawm OR clayden", IncludePrivateOf: "sud"}, nil},
		{"the owner sees everything of its own and public of others", ListQuery{IncludePrivateOf: "north"},
			[]string{"north/chem101-2025", "north/hist200", "north/chem201", "sud/bio150", "ost/lit300"}},
		{"filter by department", ListQuery{Filters: map[string][]string{"department": {"Chemistry"}}, IncludePrivateOf: "north"},
			[]string{"north/chem101-2025", "north/chem201"}},
		{"filter values of one facet are alternatives", ListQuery{Filters: map[string][]string{"term": {"Automne", "Winter"}}},
			[]string{"sud/bio150", "ost/lit300"}},
		{"filters of different facets must all hold", ListQuery{Filters: map[string][]string{"year": {"2025"}, "citation_type": {"video"}}},
			[]string{"north/chem101-2025"}},
		{"filter by importance", ListQuery{Filters: map[string][]string{"importance": {"required"}}},
			[]string{"north/chem101-2025", "sud/bio150"}},
		{"filter by institution", ListQuery{Filters: map[string][]string{"institution": {"ost"}}}, []string{"ost/lit300"}},
		{"diacritics: Muller finds Müller", ListQuery{Text: "author:muller"}, []string{"north/chem101-2025"}},
		{"diacritics: Müller finds Müller too", ListQuery{Text: "author:Müller"}, []string{"north/chem101-2025"}},
		{"diacritics: a decomposed ü in the query", ListQuery{Text: "author:mu\u0308ller"}, []string{"north/chem101-2025"}},
		{"diacritics: mecanismes finds mécanismes", ListQuery{Text: "mecanismes"}, []string{"sud/bio150"}},
		{"case: upper-case query", ListQuery{Text: "THERMODYNAMICS"}, []string{"north/chem101-2025"}},
		{"English stemming: reaction finds reactions", ListQuery{Text: "title:reaction"}, []string{"north/chem101-2025"}},
		{"English stemming: thermodynamic finds thermodynamics", ListQuery{Text: "thermodynamic"}, []string{"north/chem101-2025"}},
		{"French stemming: cellulaires finds cellulaire", ListQuery{Text: "course:cellulaires"}, []string{"sud/bio150"}},
		{"French stemming: mécanisme finds mécanismes", ListQuery{Text: "title:mécanisme"}, []string{"sud/bio150"}},
		{"German stemming: Buch finds Bücher", ListQuery{Text: "title:buch"}, []string{"ost/lit300"}},
		{"German stemming: Zeitung finds Zeitungen", ListQuery{Text: "zeitung"}, []string{"ost/lit300"}},
		{"a phrase is not stemmed", ListQuery{Text: `"enzyme reaction"`}, nil},
		{"punctuation only finds nothing", ListQuery{Text: "!!!"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Search(context.Background(), tc.q)
			if err != nil {
				t.Fatalf("search: %v", err)
			}
			got := hitKeys(res)
			sort.Strings(got)
			want := slices.Clone(tc.want)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
			if res.Total != len(want) {
				t.Errorf("total %d, want %d", res.Total, len(want))
			}
			if _, err := json.Marshal(res); err != nil { // a NaN score would fail here
				t.Errorf("results do not encode: %v", err)
			}
		})
	}
}

func TestSearchFacetsCountLists(t *testing.T) {
	s := loaded(t)
	res, err := s.Search(context.Background(), ListQuery{IncludePrivateOf: "north"})
	if err != nil {
		t.Fatal(err)
	}
	for facet, want := range map[string]string{
		// chem101 has two books and an article, chapter, video: it counts once per type.
		"citation_type": "book=5 article=1 chapter=1 video=1 ",
		"institution":   "north=3 ost=1 sud=1 ",
		"department":    "Chemistry=2 Biologie=1 Germanistik=1 History=1 ",
		"year":          "2025=3 2026=2 ",
		"importance":    "required=3 recommended=2 optional=1 ",
		"term":          "Spring=2 Automne=1 Autumn=1 Winter=1 ",
	} {
		if got := fmtFacet(res, facet); got != want {
			t.Errorf("facet %s: got %q, want %q", facet, got, want)
		}
	}
}

func TestSearchMatchingCitationsAndHighlighting(t *testing.T) {
	s := loaded(t)
	tests := []struct {
		name       string
		text       string
		wantIDs    []string
		wantTitle  string // TitleHTML of the first matching citation
		wantAuthor string // AuthorsHTML[0] of the first matching citation
	}{
		{"title word marked, the rest escaped", "kinetics", []string{"c2"},
			"<mark>Kinetics</mark> of &lt;enzyme&gt; reactions &amp; more", "Smith, Jane"},
		{"a word inside angle brackets is marked and escaped", "enzyme", []string{"c2"},
			"Kinetics of &lt;<mark>enzyme</mark>&gt; reactions &amp; more", "Smith, Jane"},
		{"a stemmed match marks the word as written", "reaction", []string{"c2"},
			"Kinetics of &lt;enzyme&gt; <mark>reactions</mark> &amp; more", "Smith, Jane"},
		{"an author match marks the author, Müller by Muller", "muller", []string{"c3"},
			"Thermodynamics", "<mark>Müller</mark>, Hans"},
		{"an ISBN match names the citation", "isbn:0439023483", []string{"c1"},
			"Chemical Principles", "Atkins, Peter"},
		{"several citations in list order", "chemical OR thermodynamics OR dune", []string{"c1", "c3", "c4"},
			"<mark>Chemical</mark> Principles", "Atkins, Peter"},
		{"a course-only match names no citation", "code:chem101", nil, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Search(context.Background(), ListQuery{Text: tc.text, Institution: "north"})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Hits) != 1 {
				t.Fatalf("hits %v, want chem101 only", hitKeys(res))
			}
			h := res.Hits[0]
			var ids []string
			for _, c := range h.Citations {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tc.wantIDs) {
				t.Fatalf("matching citations %v, want %v", ids, tc.wantIDs)
			}
			if len(ids) == 0 {
				return
			}
			if got := h.Citations[0].TitleHTML; got != tc.wantTitle {
				t.Errorf("title_html %q, want %q", got, tc.wantTitle)
			}
			if got := h.Citations[0].AuthorsHTML[0]; got != tc.wantAuthor {
				t.Errorf("authors_html[0] %q, want %q", got, tc.wantAuthor)
			}
			if h.List.CourseCode != "CHEM 101" || h.List.Department != "Chemistry" || h.List.Term != "Autumn" ||
				h.List.Year != 2025 || len(h.List.Instructors) != 1 || h.List.Citations != 4 {
				t.Errorf("summary %+v", h.List)
			}
		})
	}
}

func TestSearchRejectsMistakes(t *testing.T) {
	s := loaded(t)
	tests := []struct {
		name  string
		q     ListQuery
		param string
		msg   string
	}{
		{"unknown field", ListQuery{Text: "teacher:smith"}, "text", `unknown field "teacher"`},
		{"unclosed parenthesis", ListQuery{Text: "(dune"}, "text", "never closed"},
		{"only NOT", ListQuery{Text: "-dune"}, "text", "only NOT"},
		{"invalid ISBN", ListQuery{Text: "isbn:12345"}, "text", "not a valid ISBN"},
		{"unknown facet", ListQuery{Filters: map[string][]string{"colour": {"red"}}}, "filters.colour", "not a facet"},
		{"limit too large", ListQuery{Limit: 1000}, "limit", "from 1 to"},
		{"window too deep", ListQuery{Offset: 990, Limit: 20}, "offset", "at most"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Search(context.Background(), tc.q)
			var qe *QueryError
			if !errors.Is(err, ErrInvalidQuery) || !errors.As(err, &qe) {
				t.Fatalf("err %v, want a *QueryError", err)
			}
			if qe.Param != tc.param || !strings.Contains(qe.Message, tc.msg) {
				t.Errorf("got %s / %q, want %s / …%s…", qe.Param, qe.Message, tc.param, tc.msg)
			}
		})
	}
}

func TestSearchPages(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	for i := range 25 {
		l := validList("north", "l"+string(rune('a'+i)))
		mustPut(t, s, l)
	}
	seen := map[string]bool{}
	for off := 0; off < 25; off += 10 {
		res, err := s.Search(context.Background(), ListQuery{Text: "book", Offset: off, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != 25 {
			t.Fatalf("total %d", res.Total)
		}
		for _, k := range hitKeys(res) {
			if seen[k] {
				t.Errorf("%s on two pages", k)
			}
			seen[k] = true
		}
	}
	if len(seen) != 25 {
		t.Errorf("saw %d lists over the pages, want 25", len(seen))
	}
}
