package federate

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

var parseCases = []struct {
	title string
	in    string
	want  string // canonical form; empty when an error is expected
}{
	{"a single word is not wrapped in AND", "dune", "dune"},
	{"implicit AND between words", "hunger games", "hunger AND games"},
	{"explicit AND is the same as implicit", "hunger AND games", "hunger AND games"},
	{"words are lower-cased in the canonical form", "Hunger GAMES", "hunger AND games"},
	{"a phrase keeps its word order", `"the hunger games"`, `"the hunger games"`},
	{"whitespace inside a phrase collapses to one space", "\"  the\thunger \n games \"", `"the hunger games"`},
	{"escaped quote and backslash inside a phrase", `"say \"hi\" \\ bye"`, `"say \"hi\" \\ bye"`},
	{"a backslash before another character is kept", `"a\b"`, `"a\\b"`},
	{"upper-case field name is the same field", "Title:Foo", "title:foo"},
	{"field with a phrase", `author:"suzanne collins"`, `author:"suzanne collins"`},
	{"field applies to a parenthesised group", "title:(hunger games)", "title:hunger AND title:games"},
	{"a field inside a group overrides the group's field", "title:(hunger author:collins)", "title:hunger AND author:collins"},
	{"field on a group with OR", "subject:(cats OR dogs) pets", "(subject:cats OR subject:dogs) AND pets"},
	{"the whole sample query", `title:"the hunger games" author:collins year:2008..2010 -twilight`,
		`title:"the hunger games" AND author:collins AND year:2008..2010 AND NOT twilight`},
	{"parenthesised OR inside an implicit AND", "(a OR b) c", "(a OR b) AND c"},
	{"AND binds tighter than OR", "a b OR c", "a AND b OR c"},
	{"OR chains flatten", "a OR (b OR c)", "a OR b OR c"},
	{"AND chains flatten", "a (b c) AND d", "a AND b AND c AND d"},
	{"NOT binds tighter than AND", "a NOT b c", "a AND NOT b AND c"},
	{"NOT before a group", "a NOT (b OR c)", "a AND NOT (b OR c)"},
	{"NOT first, then a positive word", "NOT b a", "NOT b AND a"},
	{"minus excludes a phrase", `dune -"god emperor"`, `dune AND NOT "god emperor"`},
	{"minus excludes a field", "dune -title:messiah", "dune AND NOT title:messiah"},
	{"minus excludes a group", "dune -(messiah children)", "dune AND NOT (messiah AND children)"},
	{"negative group inside AND is fine", "a (-b -c)", "a AND NOT b AND NOT c"},
	{"double negation cancels", "NOT NOT dune", "dune"},
	{"double minus cancels", "--dune", "dune"},
	{"minus of a negated group cancels", "a -(-b)", "a AND b"},
	{"a lone minus is a plain word", "a - b", `a AND "-" AND b`},
	{"a hyphen inside a word is a plain word", "well-known facts", "well-known AND facts"},
	{"lower-case operators are ordinary words", "war and peace", `war AND "and" AND peace`},
	{"lower-case or and not are words", "to be or not", `to AND be AND "or" AND "not"`},
	{"an operator word after a minus is a plain word", "war -AND", `war AND NOT "and"`},
	{"isbn keeps hyphens", "isbn:978-0-439-02348-1", "isbn:978-0-439-02348-1"},
	{"isbn as a phrase", `isbn:"978 0 439 02348 1"`, `isbn:"978 0 439 02348 1"`},
	{"issn", "issn:0028-0836", "issn:0028-0836"},
	{"a single year", "year:1990", "year:1990"},
	{"a year range", "year:1990..2000", "year:1990..2000"},
	{"an open-ended year range", "year:1990..", "year:1990.."},
	{"a year range open at the start", "year:..2000", "year:..2000"},
	{"a year range of one year is that year", "year:1990..1990", "year:1990"},
	{"a year as a phrase", `year:"1990"`, "year:1990"},
	{"year applied to a group", "year:(1990 OR 2000..)", "year:1990 OR year:2000.."},
	{"a web address is a plain word", "https://example.org/x", `"https://example.org/x"`},
	{"a time is a plain word", "3:10 to yuma", `"3:10" AND to AND yuma`},
	{"a word ending in a colon is a plain word", "star wars: episode", `star AND "wars:" AND episode`},
	{"a field value is taken as typed", "title:AND", `title:"and"`},
	{"a colon inside a field value is kept", "title:re:birth", `title:"re:birth"`},
	{"a quote ends a word", `foo"bar baz"`, `foo AND "bar baz"`},
	{"a parenthesis ends a word", "foo(bar)", "foo AND bar"},
	{"words keep non-ASCII letters", "Émile Zola", "émile AND zola"},
	{"non-breaking space separates words", "a\u00a0b", "a AND b"},
	{"a phrase of an operator word", `"OR"`, `"or"`},
	{"a query of exactly the maximum length", strings.Repeat("a", MaxQueryLength), strings.Repeat("a", MaxQueryLength)},
}

func TestParseQuery(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.title, func(t *testing.T) {
			q, err := ParseQuery(tc.in)
			if err != nil {
				t.Fatalf("ParseQuery(%q): %v", tc.in, err)
			}
			if got := q.Canonical(); got != tc.want {
				t.Errorf("ParseQuery(%q).Canonical() = %q, want %q", tc.in, got, tc.want)
			}
			if q.Raw != tc.in {
				t.Errorf("Raw = %q, want %q", q.Raw, tc.in)
			}
			checkRoundTrip(t, tc.in, q)
		})
	}
}

func TestParseQueryTree(t *testing.T) {
	tests := []struct {
		title string
		in    string
		want  Node
	}{
		{"a word keeps the case it was typed in", "Dune", &Term{Text: "Dune"}},
		{"implicit AND between words", "hunger games",
			&And{Children: []Node{&Term{Text: "hunger"}, &Term{Text: "games"}}}},
		{"a field name in capitals gives the field", "Title:Foo", &Term{Field: FieldTitle, Text: "Foo"}},
		{"a phrase is marked", `"The Hunger Games"`, &Term{Text: "The Hunger Games", Phrase: true}},
		{"isbn is kept as typed", "isbn:978-0-439-02348-X", &Term{Field: FieldISBN, Text: "978-0-439-02348-X"}},
		{"year range", "year:..2000", &YearRange{To: 2000}},
		{"minus builds NOT inside AND", "a -b",
			&And{Children: []Node{&Term{Text: "a"}, &Not{Child: &Term{Text: "b"}}}}},
		{"OR of two ANDs", "a b OR c d",
			&Or{Children: []Node{
				&And{Children: []Node{&Term{Text: "a"}, &Term{Text: "b"}}},
				&And{Children: []Node{&Term{Text: "c"}, &Term{Text: "d"}}},
			}}},
	}
	for _, tc := range tests {
		t.Run(tc.title, func(t *testing.T) {
			q, err := ParseQuery(tc.in)
			if err != nil {
				t.Fatalf("ParseQuery(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(q.Root, tc.want) {
				t.Errorf("ParseQuery(%q).Root = %#v, want %#v", tc.in, q.Root, tc.want)
			}
		})
	}
}

var parseErrorCases = []struct {
	title string
	in    string
	pos   int
	msg   string // substring of the message
}{
	{"empty query", "", 1, "type something to search for"},
	{"whitespace-only query", " \t\n ", 1, "type something to search for"},
	{"unclosed quote points at the opening quote", `dune "god emperor`, 6, `unclosed quote; add a closing "`},
	{"an escaped quote does not close a phrase", `"a\"`, 1, "unclosed quote"},
	{"empty quotes", `dune ""`, 6, "empty quotes"},
	{"quotes around only spaces", `dune "   "`, 6, "empty quotes"},
	{"unclosed parenthesis points at it", "(a OR b", 1, "this ( is never closed"},
	{"the innermost unclosed parenthesis", "a ((b) c", 3, "this ( is never closed"},
	{"extra closing parenthesis points at it", "a OR b) c", 7, "this ) has no matching ("},
	{"closing parenthesis first", ") a", 1, "this ) has no matching ("},
	{"empty parentheses", "a () b", 3, "empty parentheses"},
	{"AND with nothing before it", "AND x", 1, "AND needs a word to search for on both sides"},
	{"OR with nothing after it", "x OR", 3, "OR needs a word to search for on both sides"},
	{"two ANDs in a row", "x AND AND y", 3, "AND needs a word"},
	{"OR before a closing parenthesis", "(a OR) b", 4, "OR needs a word"},
	{"NOT at the end", "dune NOT", 6, "NOT needs a word to leave out"},
	{"OR then AND", "x OR AND y", 3, "OR needs a word"},
	{"empty field value at the end", "title:", 1, "title: needs something to search for"},
	{"empty field value before a parenthesis", "(title:)", 2, "title: needs something"},
	{"space after a field colon", "title: dune", 1, "without a space"},
	{"field name in capitals in the message is lower-case", "Author: x", 1, "author: needs"},
	{"unknown field names the known fields", "dune foo:bar", 6, `unknown field "foo"; use title:, author:, subject:, isbn:, issn: or year:`},
	{"unknown field before a phrase", `foo:"bar"`, 1, "unknown field"},
	{"a year that is not a number", "year:nineteen", 6, "year needs a number or a range like 1990..2000"},
	{"a year range with nothing on either side", "year:..", 6, "year needs a number"},
	{"a year range with three parts", "year:1..2..3", 6, "year needs a number"},
	{"a year of zero", "year:0", 6, "between 1 and 9999"},
	{"a year too large", "year:10000", 6, "between 1 and 9999"},
	{"a huge year does not overflow", "year:99999999999999999999999", 6, "between 1 and 9999"},
	{"a backwards year range", "year:2000..1990", 6, "like 1990..2000"},
	{"a group of years with a word", "year:(1990 dune)", 12, "year needs a number"},
	{"only NOT", "NOT dune", 1, "a query cannot be only NOT terms; add a word to search for"},
	{"only minus", "-dune", 1, "only NOT terms"},
	{"two minus words", "-a -b", 1, "only NOT terms"},
	{"a branch of OR is only negative", "x OR -y", 6, "only NOT terms"},
	{"a negative branch inside a group", "a (b OR NOT c)", 9, "only NOT terms"},
	{"a negated group that is only negative", "a -(-b -c)", 4, "only NOT terms"},
	{"a group of only negatives by itself", "(-a -b)", 1, "only NOT terms"},
	{"a minus before a closing parenthesis is a word, but NOT needs one", "(a NOT)", 4, "NOT needs"},
	{"a control character", "dune\x07x", 5, "control character"},
	{"invalid UTF-8 points at the byte's character", "éa\xffb", 3, "query is not valid UTF-8"},
	{"too long", strings.Repeat("a", MaxQueryLength+1), MaxQueryLength + 1, "too long"},
	{"too long once the group's field is written out", "title:(" + strings.Repeat("a ", 400) + ")", 1, "too long once every field and operator is written out"},
	{"too long with spaces", strings.Repeat("a ", MaxQueryLength), MaxQueryLength + 1, "too long"},
}

func TestParseQueryErrors(t *testing.T) {
	for _, tc := range parseErrorCases {
		t.Run(tc.title, func(t *testing.T) {
			q, err := ParseQuery(tc.in)
			if err == nil {
				t.Fatalf("ParseQuery(%q) = %q, want an error", tc.in, q.Canonical())
			}
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("ParseQuery(%q) error %T is not a *QueryError", tc.in, err)
			}
			if qe.Pos != tc.pos {
				t.Errorf("ParseQuery(%q) error at column %d, want %d (%s)", tc.in, qe.Pos, tc.pos, qe.Message)
			}
			if !strings.Contains(qe.Message, tc.msg) {
				t.Errorf("ParseQuery(%q) message %q does not contain %q", tc.in, qe.Message, tc.msg)
			}
			checkMessage(t, qe)
			if q.Root != nil {
				t.Errorf("a failed parse returned a root: %#v", q.Root)
			}
		})
	}
}

func TestQueryErrorString(t *testing.T) {
	_, err := ParseQuery(`dune "god`)
	want := `column 6: unclosed quote; add a closing "`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestCanonicalForms(t *testing.T) {
	tests := []struct {
		title string
		a, b  string
		same  bool
	}{
		{"field name case does not matter", "Title:Foo", "title:foo", true},
		{"phrase word order matters", `"b a"`, `"a b"`, false},
		{"implicit and explicit AND are the same", "a b", "a AND b", true},
		{"minus and NOT are the same", "a -b", "a NOT b", true},
		{"extra parentheses do not matter", "((a)) (b)", "a b", true},
		{"a word and a phrase of it differ", "dune", `"dune"`, false},
		{"a field and no field differ", "title:dune", "dune", false},
	}
	for _, tc := range tests {
		t.Run(tc.title, func(t *testing.T) {
			qa, err := ParseQuery(tc.a)
			if err != nil {
				t.Fatal(err)
			}
			qb, err := ParseQuery(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if same := qa.Canonical() == qb.Canonical(); same != tc.same {
				t.Errorf("%q → %q and %q → %q: same = %v, want %v", tc.a, qa.Canonical(), tc.b, qb.Canonical(), same, tc.same)
			}
		})
	}
}

// checkRoundTrip checks the cache-key invariant: the canonical form parses,
// and its canonical form is itself.
func checkRoundTrip(t *testing.T, in string, q Query) {
	t.Helper()
	c := q.Canonical()
	q2, err := ParseQuery(c)
	if err != nil {
		t.Fatalf("ParseQuery(%q) gave canonical form %q, which does not parse: %v", in, c, err)
	}
	if c2 := q2.Canonical(); c2 != c {
		t.Fatalf("ParseQuery(%q): canonical form %q re-parses to %q", in, c, c2)
	}
}

// checkTree checks what connectors rely on: no empty term text, no NOT
// outside an AND, AND and OR with two or more children, no nested NOT.
func checkTree(t *testing.T, in string, n Node, parentAnd bool) {
	t.Helper()
	switch n := n.(type) {
	case *Term:
		if n.Text == "" {
			t.Fatalf("ParseQuery(%q): empty term text", in)
		}
	case *YearRange:
		if n.From == 0 && n.To == 0 || n.From < 0 || n.To > 9999 || n.To != 0 && n.From > n.To {
			t.Fatalf("ParseQuery(%q): bad year range %+v", in, *n)
		}
	case *And:
		if len(n.Children) < 2 {
			t.Fatalf("ParseQuery(%q): AND with %d children", in, len(n.Children))
		}
		for _, c := range n.Children {
			if _, ok := c.(*And); ok {
				t.Fatalf("ParseQuery(%q): AND directly inside AND", in)
			}
			checkTree(t, in, c, true)
		}
	case *Or:
		if len(n.Children) < 2 {
			t.Fatalf("ParseQuery(%q): OR with %d children", in, len(n.Children))
		}
		for _, c := range n.Children {
			if _, ok := c.(*Or); ok {
				t.Fatalf("ParseQuery(%q): OR directly inside OR", in)
			}
			checkTree(t, in, c, false)
		}
	case *Not:
		if !parentAnd {
			t.Fatalf("ParseQuery(%q): NOT outside an AND", in)
		}
		if _, ok := n.Child.(*Not); ok {
			t.Fatalf("ParseQuery(%q): NOT NOT", in)
		}
		checkTree(t, in, n.Child, false)
	default:
		t.Fatalf("ParseQuery(%q): unexpected node %T", in, n)
	}
}

// checkMessage checks that an error message reads as a sentence for a
// person: starts lower-case (or with a quote or operator name), no Go jargon.
func checkMessage(t *testing.T, qe *QueryError) {
	t.Helper()
	m := qe.Message
	if m == "" {
		t.Fatal("empty error message")
	}
	r, _ := utf8.DecodeRuneInString(m)
	if r >= 'A' && r <= 'Z' && !strings.HasPrefix(m, "AND ") && !strings.HasPrefix(m, "OR ") && !strings.HasPrefix(m, "NOT ") {
		t.Errorf("message %q starts with a capital", m)
	}
	for _, jargon := range []string{"token", "rune", "nil", "EOF", "parse", "%!", "byte"} {
		if strings.Contains(m, jargon) {
			t.Errorf("message %q contains %q", m, jargon)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.in)
	}
	for _, tc := range parseErrorCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuery(s)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("ParseQuery(%q) error %T is not a *QueryError", s, err)
			}
			n := utf8.RuneCountInString(s)
			if qe.Pos < 1 || qe.Pos > n+1 {
				t.Fatalf("ParseQuery(%q): error column %d outside 1..%d: %s", s, qe.Pos, n+1, qe.Message)
			}
			checkMessage(t, qe)
			return
		}
		if q.Root == nil {
			t.Fatalf("ParseQuery(%q): nil root without an error", s)
		}
		checkTree(t, s, q.Root, false)
		checkRoundTrip(t, s, q)
	})
}
