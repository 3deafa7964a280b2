package sru

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

// AST builders.
func word(s string) *federate.Term                    { return &federate.Term{Text: s} }
func phrase(s string) *federate.Term                  { return &federate.Term{Text: s, Phrase: true} }
func field(f federate.Field, s string) *federate.Term { return &federate.Term{Field: f, Text: s} }
func fphrase(f federate.Field, s string) *federate.Term {
	return &federate.Term{Field: f, Text: s, Phrase: true}
}
func and(n ...federate.Node) *federate.And   { return &federate.And{Children: n} }
func or(n ...federate.Node) *federate.Or     { return &federate.Or{Children: n} }
func not(n federate.Node) *federate.Not      { return &federate.Not{Child: n} }
func years(from, to int) *federate.YearRange { return &federate.YearRange{From: from, To: to} }
func query(n federate.Node) federate.Query   { return federate.Query{Root: n, Raw: fmt.Sprint(n)} }

func TestToCQL(t *testing.T) {
	long := strings.Repeat("ab\"c\\d*", 142) + "xyzabc" // 1,000 characters
	longWant := "cql.serverChoice = \"" + strings.Repeat(`ab\"c\\d\*`, 142) + "xyzabc\""
	tests := []struct {
		name    string
		q       federate.Node
		want    string
		relaxed []string
	}{
		{"a word searches the server's choice of indexes", word("dune"),
			`cql.serverChoice = "dune"`, nil},
		{"a fielded word uses the field's dc index", field(federate.FieldTitle, "dune"),
			`dc.title = "dune"`, nil},
		{"author is dc.creator", field(federate.FieldAuthor, "herbert"),
			`dc.creator = "herbert"`, nil},
		{"subject is dc.subject", field(federate.FieldSubject, "ecology"),
			`dc.subject = "ecology"`, nil},
		{"a phrase asks for adjacency", phrase("the hunger games"),
			`cql.serverChoice adj "the hunger games"`, nil},
		{"a fielded phrase", fphrase(federate.FieldTitle, "queen of sheba"),
			`dc.title adj "queen of sheba"`, nil},
		{"a double quote in user text is escaped", word(`say "hi"`),
			`cql.serverChoice = "say \"hi\""`, nil},
		{"a backslash is escaped", word(`a\b`),
			`cql.serverChoice = "a\\b"`, nil},
		{"a trailing backslash cannot escape the closing quote", word(`dune\`),
			`cql.serverChoice = "dune\\"`, nil},
		{"masking characters are literal", word("oper*"),
			`cql.serverChoice = "oper\*"`, nil},
		{"a question mark is literal", word("orf?o"),
			`cql.serverChoice = "orf\?o"`, nil},
		{"an anchor is literal", word("^die"),
			`cql.serverChoice = "\^die"`, nil},
		{"a parenthesis stays inside the quotes", word("(dune"),
			`cql.serverChoice = "(dune"`, nil},
		{"a reserved word is only a word", word("and"),
			`cql.serverChoice = "and"`, nil},
		{"prox and sortby cannot change the structure", phrase("a prox b sortby dc.title"),
			`cql.serverChoice adj "a prox b sortby dc.title"`, nil},
		{"an equals sign is a word character", field(federate.FieldTitle, "x=y"),
			`dc.title = "x=y"`, nil},
		{"a whole injection attempt stays one term", field(federate.FieldTitle, `x" or dc.title="*`),
			`dc.title = "x\" or dc.title=\"\*"`, nil},
		{"non-Latin text is sent as is", field(federate.FieldTitle, "東京物語"),
			`dc.title = "東京物語"`, nil},
		{"Cyrillic and diacritics too", and(word("Война"), word("königin")),
			`cql.serverChoice = "Война" and cql.serverChoice = "königin"`, nil},
		{"a 1,000-character term keeps the structure", word(long), longWant, nil},
		{"control characters become spaces", word("a\tb"),
			`cql.serverChoice = "a b"`, nil},
		{"AND of words", and(word("hunger"), word("games")),
			`cql.serverChoice = "hunger" and cql.serverChoice = "games"`, nil},
		{"OR inside AND is parenthesised", and(or(word("dune"), word("foundation")), field(federate.FieldAuthor, "herbert")),
			`(cql.serverChoice = "dune" or cql.serverChoice = "foundation") and dc.creator = "herbert"`, nil},
		{"AND inside OR is parenthesised: CQL has no precedence", or(and(word("a"), word("b")), word("c")),
			`(cql.serverChoice = "a" and cql.serverChoice = "b") or cql.serverChoice = "c"`, nil},
		{"NOT follows the positive parts whatever the order", and(not(word("messiah")), word("dune")),
			`cql.serverChoice = "dune" not cql.serverChoice = "messiah"`, nil},
		{"two exclusions chain", and(word("dune"), not(word("messiah")), not(word("children"))),
			`cql.serverChoice = "dune" not cql.serverChoice = "messiah" not cql.serverChoice = "children"`, nil},
		{"several positives then an exclusion", and(word("a"), not(word("b")), word("c")),
			`cql.serverChoice = "a" and cql.serverChoice = "c" not cql.serverChoice = "b"`, nil},
		{"an excluded group is parenthesised", and(word("dune"), not(or(word("messiah"), word("children")))),
			`cql.serverChoice = "dune" not (cql.serverChoice = "messiah" or cql.serverChoice = "children")`, nil},
		{"an ISBN-10 is sent as ISBN-13 or ISBN-10", field(federate.FieldISBN, "0-439-02348-3"),
			`bath.isbn = "9780439023481" or bath.isbn = "0439023483"`, nil},
		{"an ISBN-13 also finds the ISBN-10 spelling", field(federate.FieldISBN, "978-0-439-02348-1"),
			`bath.isbn = "9780439023481" or bath.isbn = "0439023483"`, nil},
		{"a 979 ISBN has no ISBN-10 form", field(federate.FieldISBN, "9791032305690"),
			`bath.isbn = "9791032305690"`, nil},
		{"an ISBN under AND is parenthesised", and(field(federate.FieldISBN, "0439023483"), word("collins")),
			`(bath.isbn = "9780439023481" or bath.isbn = "0439023483") and cql.serverChoice = "collins"`, nil},
		{"an invalid ISBN is sent as typed and said so", field(federate.FieldISBN, "12345"),
			`bath.isbn = "12345"`, []string{"isbn:12345 is not a valid ISBN; sent as typed"}},
		{"an ISSN with and without hyphen", field(federate.FieldISSN, "0028-0836"),
			`bath.issn = "0028-0836" or bath.issn = "00280836"`, nil},
		{"a year", years(1997, 1997), `dc.date = "1997"`, nil},
		{"a year range", years(1990, 2000), `dc.date >= "1990" and dc.date <= "2000"`, nil},
		{"a year range under AND is parenthesised", and(word("poems"), years(1800, 1900)),
			`cql.serverChoice = "poems" and (dc.date >= "1800" and dc.date <= "1900")`, nil},
		{"an open start", years(0, 2000), `dc.date <= "2000"`, nil},
		{"an open end", years(1990, 0), `dc.date >= "1990"`, nil},
		{"punctuation alone is left out", and(word("dune"), word("--")),
			`cql.serverChoice = "dune"`, []string{`"--" has no searchable words and was left out`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, relaxed, err := ToCQL(query(tc.q), Indexes{})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("CQL\n got %s\nwant %s", got, tc.want)
			}
			if !slices.Equal(relaxed, tc.relaxed) {
				t.Errorf("relaxed %q, want %q", relaxed, tc.relaxed)
			}
		})
	}
}

func TestToCQLIndexesAndRelaxation(t *testing.T) {
	tests := []struct {
		name    string
		q       federate.Node
		idx     Indexes
		want    string
		relaxed []string
	}{
		{"configured indexes replace the defaults",
			and(field(federate.FieldSubject, "opera"), field(federate.FieldAuthor, "verdi"), word("aida")),
			Indexes{Subject: "bath.topicalSubject", Author: "bath.name", Any: "cql.anywhere"},
			`bath.topicalSubject = "opera" and bath.name = "verdi" and cql.anywhere = "aida"`, nil},
		{"an unsupported index is searched as keywords and said so",
			and(field(federate.FieldSubject, "opera"), field(federate.FieldTitle, "aida")),
			Indexes{Unsupported: []string{"dc.subject"}},
			`cql.serverChoice = "opera" and dc.title = "aida"`,
			[]string{"subject: searched as keywords (the member does not support dc.subject)"}},
		{"the relaxation is said once however often the field is used",
			or(field(federate.FieldSubject, "opera"), field(federate.FieldSubject, "operetta")),
			Indexes{Unsupported: []string{"DC.SUBJECT"}},
			`cql.serverChoice = "opera" or cql.serverChoice = "operetta"`,
			[]string{"subject: searched as keywords (the member does not support dc.subject)"}},
		{"an unsupported ISBN index keeps both forms as keywords",
			field(federate.FieldISBN, "0439023483"), Indexes{Unsupported: []string{"bath.isbn"}},
			`cql.serverChoice = "9780439023481" or cql.serverChoice = "0439023483"`,
			[]string{"isbn: searched as keywords (the member does not support bath.isbn)"}},
		{"a single year without a date index becomes a keyword",
			and(word("poems"), years(1850, 1850)), Indexes{Unsupported: []string{"dc.date"}},
			`cql.serverChoice = "poems" and cql.serverChoice = "1850"`,
			[]string{"year: searched as keywords (the member does not support dc.date)"}},
		{"a year range without a date index is left out",
			and(word("poems"), years(1800, 1900)), Indexes{Unsupported: []string{"dc.date"}},
			`cql.serverChoice = "poems"`,
			[]string{"year: left out (the member does not support dc.date)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, relaxed, err := ToCQL(query(tc.q), tc.idx)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("CQL\n got %s\nwant %s", got, tc.want)
			}
			if !slices.Equal(relaxed, tc.relaxed) {
				t.Errorf("relaxed %q, want %q", relaxed, tc.relaxed)
			}
		})
	}
}

func TestToCQLRefusals(t *testing.T) {
	tests := []struct {
		name string
		q    federate.Query
	}{
		{"an empty query", federate.Query{}},
		{"a query that only excludes", query(not(word("dune")))},
		{"an AND of exclusions", query(and(not(word("a")), not(word("b"))))},
		{"an exclusion inside OR", query(or(word("a"), not(word("b"))))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := ToCQL(tc.q, Indexes{})
			if !errors.Is(err, ErrUnexpressible) {
				t.Fatalf("got %q, %v; want ErrUnexpressible", got, err)
			}
		})
	}
	t.Run("nothing searchable is an empty CQL, not an error", func(t *testing.T) {
		got, relaxed, err := ToCQL(query(word("***")), Indexes{})
		if err != nil || got != "" || len(relaxed) != 1 {
			t.Fatalf("got %q %q %v", got, relaxed, err)
		}
	})
}

// TestToCQLFromParsedQueries runs the user's syntax through the real
// parser, so the translation is checked on the ASTs members will see.
func TestToCQLFromParsedQueries(t *testing.T) {
	tests := []struct{ name, q, want string }{
		{"two words", "hunger games", `cql.serverChoice = "hunger" and cql.serverChoice = "games"`},
		{"a title group", "title:(dune messiah)", `dc.title = "dune" and dc.title = "messiah"`},
		{"minus excludes", "dune -messiah", `cql.serverChoice = "dune" not cql.serverChoice = "messiah"`},
		{"OR binds looser than AND", "dune OR foundation herbert",
			`cql.serverChoice = "dune" or (cql.serverChoice = "foundation" and cql.serverChoice = "herbert")`},
		{"lower-case operators are words", "war and peace",
			`cql.serverChoice = "war" and cql.serverChoice = "and" and cql.serverChoice = "peace"`},
		{"a quoted phrase with CQL syntax inside", `"a) or (b"`, `cql.serverChoice adj "a) or (b"`},
		{"an escaped quote inside a phrase", `"say \"hi\""`, `cql.serverChoice adj "say \"hi\""`},
		{"a year range", "poems year:1800..1900",
			`cql.serverChoice = "poems" and (dc.date >= "1800" and dc.date <= "1900")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := federate.ParseQuery(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := ToCQL(q, DefaultIndexes())
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("CQL\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
