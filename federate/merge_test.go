package federate

import (
	"strings"
	"testing"
)

func pagesOf(recsByMember map[string][]Record, order ...string) []Page {
	var pages []Page
	for _, m := range order {
		recs := recsByMember[m]
		for i := range recs {
			recs[i].Member = m
			if recs[i].Rank == 0 {
				recs[i].Rank = i + 1
			}
		}
		pages = append(pages, Page{Records: recs, Total: len(recs)})
	}
	return pages
}

func TestMergeJoinsTheSameWorkAndKeepsEveryHolding(t *testing.T) {
	tests := []struct {
		title    string
		members  map[string][]Record
		clusters int
		reason   string
	}{
		{"ISBN-10 at one member and ISBN-13 at another join",
			map[string][]Record{
				"north": {book("n1", "The Hunger Games", "Collins, Suzanne", 2008, "0439023483")},
				"south": {book("s1", "The Hunger Games", "Collins, Suzanne", 2008, "978-0-439-02348-1 (pbk.)")},
			}, 1, "shared isbn 9780439023481"},
		{"editions that share no identifier but agree on title, author and year join",
			map[string][]Record{
				"north":   {book("n1", "The Hunger Games", "Collins, Suzanne", 2008, "0439023483")},
				"central": {book("c1", "THE HUNGER GAMES (The Hunger Games, #1)", "Suzanne Collins", 2008)},
			}, 1, "same title, first author and year"},
		{"two works with the same generic title by different authors stay apart",
			map[string][]Record{
				"north": {book("n1", "Poems", "Dickinson, Emily", 1890)},
				"south": {book("s1", "Poems", "Plath, Sylvia", 1890)},
			}, 2, ""},
		{"same title and author in different years stay apart",
			map[string][]Record{
				"north": {book("n1", "Poems", "Eliot, T. S.", 1920)},
				"south": {book("s1", "Poems", "Eliot, T. S.", 1925)},
			}, 2, ""},
		{"a format conflict vetoes even a shared identifier",
			map[string][]Record{
				"north": {book("n1", "Dune", "Herbert, Frank", 1965, "0441172717")},
				"south": {func() Record {
					r := book("s1", "Dune", "Herbert, Frank", 1965, "0441172717")
					r.Format = FormatVideo
					return r
				}()},
			}, 2, ""},
		{"a record without identifiers joins a cluster formed by identifiers",
			map[string][]Record{
				"north":   {book("n1", "Dune", "Herbert, Frank", 1965, "0441172717")},
				"south":   {book("s1", "Dune", "Frank Herbert", 1965, "9780441172719")},
				"central": {book("c1", "Dune : a novel", "Herbert, Frank", 1965)},
			}, 1, "same title, first author and year"},
		{"one member's two copies of a work are both kept",
			map[string][]Record{
				"north": {book("n1", "Dune", "Herbert, Frank", 1965, "0441172717"), book("n2", "Dune", "Herbert, Frank", 1965, "0441172717")},
			}, 1, "shared isbn"},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			var order []string
			n := 0
			for _, m := range []string{"north", "south", "central"} {
				if recs, ok := tt.members[m]; ok {
					order = append(order, m)
					n += len(recs)
				}
			}
			got := Merge(pagesOf(tt.members, order...), map[string]int{"north": 1, "south": 2, "central": 3})
			if len(got) != tt.clusters {
				t.Fatalf("clusters = %d, want %d", len(got), tt.clusters)
			}
			holdings := 0
			for _, c := range got {
				holdings += len(c.Holdings)
			}
			if holdings != n {
				t.Fatalf("holdings = %d, want every one of the %d records", holdings, n)
			}
			if tt.reason != "" && !strings.Contains(strings.Join(got[0].MergedBy, "; "), tt.reason) {
				t.Fatalf("merged_by = %v, want %q", got[0].MergedBy, tt.reason)
			}
		})
	}
}

func TestMergedResultPrefersAReadableTitleAndPutsHomeFirst(t *testing.T) {
	members := map[string][]Record{
		"west":  {book("w1", "THE HUNGER GAMES", "Collins, Suzanne", 2008, "0439023483")},
		"east":  {book("e1", "The Hunger Games (The Hunger Games, #1)", "Collins, Suzanne", 2008, "0439023483")},
		"north": {book("n1", "The Hunger Games", "Collins, Suzanne", 2008, "0439023483")},
	}
	order := map[string]int{"north": 1, "east": 2, "west": 0} // west is home
	got := Merge(pagesOf(members, "west", "east", "north"), order)
	if len(got) != 1 {
		t.Fatalf("clusters = %d", len(got))
	}
	if got[0].Title != "The Hunger Games" {
		t.Errorf("title %q", got[0].Title)
	}
	if got[0].Holdings[0].Member != "west" {
		t.Errorf("first holding %q, want the home member", got[0].Holdings[0].Member)
	}
	if got[0].ID != "isbn:9780439023481" {
		t.Errorf("id %q", got[0].ID)
	}
}

func TestNormalizeTitle(t *testing.T) {
	tests := []struct{ in, want string }{
		{"The Hunger Games (The Hunger Games, #1)", "hunger games"},
		{"THE HUNGER GAMES", "hunger games"},
		{"Harry Potter and the Philosopher's Stone", "harry potter and the philosophers stone"},
		{"Cien años de soledad", "cien anos de soledad"},
		{"Dune : a novel", "dune"},
		{"The catcher in the rye / J.D. Salinger.", "catcher in the rye"},
		{"A", "a"},
	}
	for _, tt := range tests {
		if got := NormalizeTitle(tt.in); got != tt.want {
			t.Errorf("NormalizeTitle(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRankPutsTheExactWorkFirst(t *testing.T) {
	// Each member ranks differently; the exact title held by everyone wins.
	members := map[string][]Record{
		"north": {
			book("n2", "The Hunger Games Tribute Guide", "Egan, Kate", 2012, "0545457831"),
			book("n1", "The Hunger Games", "Collins, Suzanne", 2008, "0439023483"),
		},
		"south": {
			book("s1", "The Hunger Games", "Collins, Suzanne", 2008, "9780439023481"),
			book("s3", "Catching Fire (The Hunger Games, #2)", "Collins, Suzanne", 2009, "0439023491"),
		},
		"east": {
			book("e3", "Catching Fire", "Collins, Suzanne", 2009, "0439023491"),
			book("e1", "The Hunger Games (The Hunger Games, #1)", "Collins, Suzanne", 2008, "0439023483"),
		},
	}
	order := map[string]int{"north": 1, "south": 2, "east": 3}
	q := Query{Root: &And{Children: []Node{&Term{Text: "hunger"}, &Term{Text: "games"}}}}
	got := Assemble(Request{Query: q, Limit: 10, Explain: true}, pagesOf(members, "north", "south", "east"), order)
	if len(got.Results) != 3 {
		t.Fatalf("results %d", len(got.Results))
	}
	if got.Results[0].Title != "The Hunger Games" || len(got.Results[0].Holdings) != 3 {
		t.Fatalf("first result %q with %d holdings", got.Results[0].Title, len(got.Results[0].Holdings))
	}
	if got.Results[0].Explain == nil || got.Results[0].Explain.Exact != 1 {
		t.Fatalf("explain %+v", got.Results[0].Explain)
	}
	for _, f := range got.Facets {
		if f.Name == FacetMember && (len(f.Values) != 3 || f.Values[0].Count != 2) {
			t.Errorf("member facet %+v: counted per work, north and south hold 2 works each", f.Values)
		}
	}
}

func TestMergeResistsTheWaysRealCataloguesGlueWorksTogether(t *testing.T) {
	set := book("b1", "The Hunger Games Trilogy", "Collins, Suzanne", 2010, "0439023483", "0439023491", "0439023513")
	catching := book("c1", "Catching Fire", "Collins, Suzanne", 2009, "0439023491")
	mocking := book("m1", "Mockingjay", "Collins, Suzanne", 2010, "0439023513")
	hunger := book("h1", "The Hunger Games", "Collins, Suzanne", 2008, "0439023483")
	fellowship := book("f1", "The Lord of the Rings : The Fellowship of the Ring", "Tolkien, J. R. R.", 1954)
	towers := book("t1", "The Lord of the Rings : The Two Towers", "Tolkien, J. R. R.", 1954)
	ebook := book("e1", "Dune", "Herbert, Frank", 1965, "0441172717")
	ebook.Format = FormatEbook
	print1 := book("p1", "Dune", "Herbert, Frank", 1965, "0441172717")
	print2 := book("p2", "Dune", "Herbert, Frank", 1965, "0441172717")
	tests := []struct {
		title    string
		members  map[string][]Record
		clusters int
	}{
		{"a set ISBN does not chain three volumes into one work", map[string][]Record{
			"north": {set}, "south": {hunger, catching, mocking}}, 3},
		{"volumes with distinct subtitles stay apart", map[string][]Record{
			"north": {fellowship}, "south": {towers}}, 2},
		{"a veto against the first record still lets later ones join", map[string][]Record{
			"north": {ebook}, "south": {print1}, "central": {print2}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			var order []string
			for _, m := range []string{"north", "south", "central"} {
				if _, ok := tt.members[m]; ok {
					order = append(order, m)
				}
			}
			got := Merge(pagesOf(tt.members, order...), map[string]int{"north": 1, "south": 2, "central": 3})
			if len(got) != tt.clusters {
				for _, c := range got {
					t.Logf("%s %q %d holdings %v", c.ID, c.Title, len(c.Holdings), c.MergedBy)
				}
				t.Fatalf("clusters = %d, want %d", len(got), tt.clusters)
			}
			ids := map[string]bool{}
			for _, c := range got {
				if ids[c.ID] {
					t.Fatalf("two works share the id %s", c.ID)
				}
				ids[c.ID] = true
			}
		})
	}
}

func TestMergeDoesNotWriteIntoTheMembersRecords(t *testing.T) {
	a := book("a1", "Dune", "Herbert, Frank", 1965, "0441172717")
	a.Subjects = []string{"Ecology", "Science fiction"}
	b := book("b1", "Dune", "Herbert, Frank", 1965, "0441172717")
	b.Subjects = []string{"Deserts"}
	pages := []Page{{Records: []Record{a}}, {Records: []Record{b}}}
	pages[0].Records[0].Member, pages[1].Records[0].Member = "north", "south"
	for range 2 {
		Merge(pages, map[string]int{"north": 1, "south": 2})
	}
	if got := pages[0].Records[0].Subjects; len(got) != 2 || got[1] != "Science fiction" {
		t.Fatalf("the member's subjects became %v", got)
	}
}

func TestTokensAreTheSameForASCIIAndUnicodePaths(t *testing.T) {
	for _, s := range []string{"Harry Potter and the Philosopher's Stone", "  'Tis THE season -- 2nd ed.", "a'b'c d''e", "''", "Dune:Messiah", "C3PO & R2-D2"} {
		fast := asciiTokens(s)
		slow := Tokens(s + "é")[:0]
		for _, tok := range Tokens(s + " é") {
			if tok != "e" {
				slow = append(slow, tok)
			}
		}
		if strings.Join(fast, "|") != strings.Join(slow, "|") {
			t.Errorf("%q: ascii %q, unicode %q", s, fast, slow)
		}
	}
}
