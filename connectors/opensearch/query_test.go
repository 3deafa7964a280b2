package opensearch

import (
	"errors"
	"reflect"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

func TestRenderPlain(t *testing.T) {
	for _, tc := range []struct {
		name, q, want string
		relaxed       []string
	}{
		{"words", "hunger games", "hunger games", nil},
		{"a phrase keeps its quotes", `"the hunger games"`, `"the hunger games"`, nil},
		{"a field becomes a word", "title:dune", "dune", []string{"title: searched as keywords"}},
		{"a field on a group", "title:(dune messiah) author:herbert", "dune messiah herbert",
			[]string{"title: searched as keywords", "author: searched as keywords"}},
		{"an ISBN in any spelling is sent as ISBN-13", "isbn:0-439-02348-3", "9780439023481", []string{"isbn: searched as a keyword"}},
		{"OR is sent as the word OR", "dune OR foundation", "dune OR foundation",
			[]string{"OR: sent as the word OR, which the member may not support"}},
		{"OR inside AND keeps its parentheses", "(dune OR foundation) herbert", "(dune OR foundation) herbert",
			[]string{"OR: sent as the word OR, which the member may not support"}},
		{"exclusions are left out", "dune -messiah", "dune", []string{"NOT messiah: left out; OpenSearch cannot exclude"}},
		{"year ranges are left out", "dune year:1960..1970", "dune", []string{"year:1960..1970: left out; OpenSearch has no year search"}},
		{"an OR with an unsendable part is left out whole", "dune (foundation OR year:1951)", "dune",
			[]string{"year:1951: left out; OpenSearch has no year search", "an OR with a part that cannot be sent was left out"}},
		{"non-Latin words", "Война мир", "Война мир", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := federate.ParseQuery(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			got, relaxed, err := render(q, SyntaxPlain)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || !reflect.DeepEqual(relaxed, tc.relaxed) {
				t.Errorf("render(%q) = %q %q, want %q %q", tc.q, got, relaxed, tc.want, tc.relaxed)
			}
		})
	}
}

func TestRenderCQL(t *testing.T) {
	for _, tc := range []struct {
		name, q, want string
	}{
		{"words", "hunger games", `cql.serverChoice = "hunger" and cql.serverChoice = "games"`},
		{"fields", `title:dune author:herbert`, `dc.title = "dune" and dc.creator = "herbert"`},
		{"a phrase", `subject:"science fiction"`, `dc.subject adj "science fiction"`},
		{"an identifier", "isbn:0-439-02348-3", `bath.isbn = "9780439023481"`},
		{"years", "dune year:1960..1970", `cql.serverChoice = "dune" and (dc.date >= 1960 and dc.date <= 1970)`},
		{"an open year range", "year:..1900 poems", `dc.date <= 1900 and cql.serverChoice = "poems"`},
		{"or and not", "(dune OR foundation) -messiah", `(cql.serverChoice = "dune" or cql.serverChoice = "foundation") not cql.serverChoice = "messiah"`},
		{"quotes, backslashes and masking characters are escaped", `title:"say \"hi\" *now* a\\b?"`,
			`dc.title adj "say \"hi\" \*now\* a\\b\?"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := federate.ParseQuery(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			got, relaxed, err := render(q, SyntaxCQL)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || len(relaxed) != 0 {
				t.Errorf("render(%q)\n = %s %q\nwant %s", tc.q, got, relaxed, tc.want)
			}
		})
	}
}

func TestRenderNothingToSend(t *testing.T) {
	q, err := federate.ParseQuery("year:1990..2000")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := render(q, SyntaxPlain); !errors.Is(err, errNothingToSearch) {
		t.Errorf("error = %v", err)
	}
	if _, _, err := render(federate.Query{}, SyntaxPlain); err == nil {
		t.Error("an empty query rendered")
	}
}
