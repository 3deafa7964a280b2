package solr

import (
	"errors"
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

func TestBuildQuery(t *testing.T) {
	long := strings.Repeat("é", 1000)
	tests := []struct {
		title string
		query string
		want  string
	}{
		{"one word", `dune`, `dune`},
		{"implicit AND is written out", `hunger games`, `hunger AND games`},
		{"a phrase", `"the hunger games"`, `"the hunger games"`},
		{"a field applies to its word", `title:dune`, `(title:(dune) OR title_short:(dune))`},
		{"author searches both author fields", `author:"collins, suzanne"`, `(author:"collins, suzanne" OR author2:"collins, suzanne")`},
		{"subject", `subject:ecology`, `topic:(ecology)`},
		{"exclusion stays inside its conjunction", `dune -messiah`, `dune AND NOT messiah`},
		{"grouping is explicit", `(dune OR foundation) herbert`, `(dune OR foundation) AND herbert`},
		{"NOT of a group", `dune -(messiah children)`, `dune AND NOT (messiah AND children)`},
		{"ISBN in both forms", `isbn:978-0-439-02348-1`, `isbn:(9780439023481 OR 0439023483)`},
		{"an invalid ISBN is escaped as typed", `isbn:12-34`, `isbn:(12\-34)`},
		{"ISSN normalised", `issn:00280836`, `issn:"0028-0836"`},
		{"year range", `year:1990..2000`, `publishDate:[1990 TO 2000]`},
		{"open year ranges", `year:1990.. OR year:..1800`, `publishDate:[1990 TO *] OR publishDate:[* TO 1800]`},
		{"a double quote in a phrase", `"say \"hi\""`, `"say \"hi\""`},
		{"a backslash in a phrase", `"a\\b"`, `"a\\b"`},
		{"an asterisk is not a wildcard", `dune*`, `dune\*`},
		{"a parenthesis cannot group", `"(dune"`, `"(dune"`},
		{"a colon cannot make a field", `"title:dune" 3:10`, `"title:dune" AND 3\:10`},
		{"comma and semicolon", `a,b;c`, `a,b\;c`},
		{"every special character in a word is escaped", `x+-&&||!{}[]^~*?:\/;`, `x\+\-\&\&\|\|\!\{\}\[\]\^\~\*\?\:\\\/\;`},
		{"lower-case and is quoted", `rock and roll`, `rock AND "and" AND roll`},
		{"upper-case AND as a field value is quoted", `title:AND`, `(title:"AND" OR title_short:"AND")`},
		{"AND inside a phrase is part of it", `"rock AND roll"`, `"rock AND roll"`},
		{"prox is an ordinary word", `dune prox`, `dune AND prox`},
		{"non-Latin text passes unchanged", `"война и мир" 東京`, `"война и мир" AND 東京`},
		{"a 1,000-character word", long, long},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			q, err := federate.ParseQuery(tt.query)
			if err != nil {
				t.Fatalf("parse %q: %v", tt.query, err)
			}
			got, relaxed, err := BuildQuery(q, DefaultFields())
			if err != nil || len(relaxed) != 0 {
				t.Fatalf("BuildQuery: %v %q", err, relaxed)
			}
			if got != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
			checkKeywords(t, q, got)
		})
	}
	if _, _, err := BuildQuery(federate.Query{}, DefaultFields()); !errors.Is(err, federate.ErrQueryRejected) {
		t.Fatalf("empty query: %v", err)
	}
}

// checkKeywords parses the Solr query strictly and checks that its keyword
// leaves are exactly the query's keywords, in order and unchanged: no user
// text became syntax.
func checkKeywords(t *testing.T, q federate.Query, solrQ string) {
	t.Helper()
	n, err := parseLucene(solrQ)
	if err != nil {
		t.Fatalf("Solr query %q does not parse: %v", solrQ, err)
	}
	var want, got []string
	federate.Walk(q.Root, func(n federate.Node) {
		if tm, ok := n.(*federate.Term); ok && tm.Field == federate.FieldAny {
			want = append(want, tm.Text)
		}
	})
	var walk func(*lnode)
	walk = func(n *lnode) {
		if n.op == "" && n.field == "" {
			got = append(got, n.text)
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(n)
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Fatalf("keywords of %q read back as %q, want %q", solrQ, got, want)
	}
}

// Every query the parser accepts becomes a Solr query that parses, with
// the user's keywords intact.
func FuzzBuildQuery(f *testing.F) {
	for _, s := range []string{`dune`, `(a OR b) c -d`, `title:"x;y,z" isbn:0439023483`, `"AND" OR "(" year:1990..`, `a\b "c\"d" e*f?`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := federate.ParseQuery(s)
		if err != nil {
			return
		}
		got, _, err := BuildQuery(q, DefaultFields())
		if err != nil {
			t.Fatal(err)
		}
		checkKeywords(t, q, got)
	})
}
