package primo

import (
	"errors"
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

func TestBuildQuery(t *testing.T) {
	long := strings.Repeat("a", 1000)
	tests := []struct {
		title    string
		query    string
		q        string
		qInclude string
		relaxed  []string
	}{
		{"one word", `dune`, `any,contains,dune`, "", nil},
		{"two words are two ANDed clauses", `hunger games`, `any,contains,hunger,AND;any,contains,games`, "", nil},
		{"a phrase is quoted inside the value", `"the hunger games"`, `any,contains,"the hunger games"`, "", nil},
		{"fields map to Primo's names", `title:dune author:herbert subject:ecology`,
			`title,contains,dune,AND;creator,contains,herbert,AND;sub,contains,ecology`, "", nil},
		{"exclusion is NOT on the clause before", `dune -messiah`, `any,contains,dune,NOT;any,contains,messiah`, "", nil},
		{"OR of single clauses", `dune OR foundation`, `any,contains,dune,OR;any,contains,foundation`, "", nil},
		{"a nested OR is distributed exactly", `(dune OR foundation) herbert`,
			`any,contains,dune,AND;any,contains,herbert,OR;any,contains,foundation,AND;any,contains,herbert`, "", nil},
		{"a nested OR across fields is distributed exactly", `(title:dune OR author:herbert) sand`,
			`title,contains,dune,AND;any,contains,sand,OR;creator,contains,herbert,AND;any,contains,sand`, "", nil},
		{"NOT of a group follows De Morgan", `dune -(messiah children)`,
			`any,contains,dune,NOT;any,contains,messiah,OR;any,contains,dune,NOT;any,contains,children`, "", nil},
		{"an ISBN is searched in both forms", `isbn:978-0-439-02348-1`,
			`isbn,contains,9780439023481,OR;isbn,contains,0439023483`, "", nil},
		{"an excluded ISBN excludes both forms", `dune -isbn:0439023483`,
			`any,contains,dune,NOT;isbn,contains,9780439023481,NOT;isbn,contains,0439023483`, "", nil},
		{"an invalid ISBN is searched as typed", `isbn:12345`, `isbn,contains,12345`, "", nil},
		{"an ISSN is normalised", `issn:00280836`, `issn,contains,0028-0836`, "", nil},
		{"a top-level year range is a qInclude filter", `dune year:1990..2000`,
			`any,contains,dune`, "facet_searchcreationdate,exact,[1990 TO 2000]", nil},
		{"open ends are 0 and 9999", `dune year:1990..`, `any,contains,dune`, "facet_searchcreationdate,exact,[1990 TO 9999]", nil},
		{"several top-level ranges intersect", `dune year:1990..2000 year:..1995`, `any,contains,dune`,
			"facet_searchcreationdate,exact,[1990 TO 1995]", nil},
		{"a year inside OR is left out and said", `dune OR year:1990`, `any,contains,dune`, "",
			[]string{"year:1990: left out (Primo filters years only for the whole query, not inside OR or NOT)"}},
		{"an excluded year is left out and said", `dune -year:1990`, `any,contains,dune`, "",
			[]string{"year:1990: left out (Primo filters years only for the whole query, not inside OR or NOT)"}},
		{"a double quote in a phrase cannot end it", `title:"say \"hi\" now"`, `title,contains,"say hi now"`, "", nil},
		{"a backslash is punctuation", `"a\\b"`, `any,contains,"a b"`, "", nil},
		{"an asterisk is not a wildcard", `"dune*"`, `any,contains,dune`, "", nil},
		{"a parenthesis cannot group", `"(dune"`, `any,contains,dune`, "", nil},
		{"a colon cannot make a field", `"title:dune"`, `any,contains,"title dune"`, "", nil},
		{"a comma cannot start an operator part", `"smith, john"`, `any,contains,"smith john"`, "", nil},
		{"a semicolon cannot start a clause", `"a;title,exact,x"`, `any,contains,"a title exact x"`, "", nil},
		{"lower-case and is a word", `rock and roll`, `any,contains,rock,AND;any,contains,and,AND;any,contains,roll`, "", nil},
		{"upper-case AND in a phrase is written in lower case", `"rock AND roll"`, `any,contains,"rock and roll"`, "", nil},
		{"title:AND searches the word", `title:AND`, `title,contains,and`, "", nil},
		{"prox is an ordinary word", `prox dune`, `any,contains,prox,AND;any,contains,dune`, "", nil},
		{"non-Latin text passes unchanged", `"война и мир" 東京`, `any,contains,"война и мир",AND;any,contains,東京`, "", nil},
		{"a term of punctuation only is dropped and said", `dune ";"`, `any,contains,dune`, "",
			[]string{`";": left out (nothing Primo can search for in it)`}},
		{"a 1,000-character word is one clause", long, `any,contains,` + long, "", nil},
		{"too many alternatives: sent flat and said", `(a OR b) (c OR d) (e OR f)`,
			`any,contains,a,OR;any,contains,b,AND;any,contains,c,OR;any,contains,d,AND;any,contains,e,OR;any,contains,f`, "",
			[]string{`"(a OR b) AND (c OR d) AND (e OR f)": searched as "a OR b AND c OR d AND e OR f" (too many alternatives to rewrite exactly, and Primo's clause list has no parentheses: AND binds before OR)`}},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			q, err := federate.ParseQuery(tt.query)
			if err != nil {
				t.Fatalf("parse %q: %v", tt.query, err)
			}
			got, err := BuildQuery(q, DefaultFields)
			if err != nil {
				t.Fatalf("BuildQuery: %v", err)
			}
			if got.Q != tt.q {
				t.Errorf("q\n got %s\nwant %s", got.Q, tt.q)
			}
			if got.QInclude != tt.qInclude {
				t.Errorf("qInclude = %q, want %q", got.QInclude, tt.qInclude)
			}
			if strings.Join(got.Relaxed, "|") != strings.Join(tt.relaxed, "|") {
				t.Errorf("relaxed\n got %q\nwant %q", got.Relaxed, tt.relaxed)
			}
			checkStructure(t, got.Q)
		})
	}
}

// checkStructure asserts q is a well-formed clause list: every clause has
// three parts (four with an operator), the precision is "contains", the
// operator one of AND/OR/NOT, and no value holds a quote except around it.
func checkStructure(t *testing.T, q string) {
	t.Helper()
	clauses := strings.Split(q, ";")
	for i, c := range clauses {
		parts := strings.Split(c, ",")
		last := i == len(clauses)-1
		if (last && len(parts) != 3) || (!last && len(parts) != 4) {
			t.Fatalf("clause %d %q has %d parts", i, c, len(parts))
		}
		if parts[1] != "contains" {
			t.Errorf("clause %d precision %q", i, parts[1])
		}
		if !last {
			switch parts[3] {
			case "AND", "OR", "NOT":
			default:
				t.Errorf("clause %d operator %q", i, parts[3])
			}
		}
		v := strings.Trim(parts[2], `"`)
		if strings.ContainsAny(v, `"()*?\`) {
			t.Errorf("clause %d value %q holds syntax", i, parts[2])
		}
		for _, w := range strings.Fields(v) {
			if w == "AND" || w == "OR" || w == "NOT" {
				t.Errorf("clause %d value %q holds an operator", i, parts[2])
			}
		}
	}
}

func TestBuildQueryRefuses(t *testing.T) {
	for _, tt := range []struct{ title, query string }{
		{"a year alone is a filter with nothing to search", `year:1990`},
		{"only punctuation", `";,"`},
	} {
		t.Run(tt.title, func(t *testing.T) {
			q, err := federate.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			_, err = BuildQuery(q, DefaultFields)
			if !errors.Is(err, federate.ErrQueryRejected) || !errors.Is(err, ErrNothingToSearch) {
				t.Fatalf("err = %v, want ErrQueryRejected and ErrNothingToSearch", err)
			}
		})
	}
	if _, err := BuildQuery(federate.Query{}, DefaultFields); !errors.Is(err, federate.ErrQueryRejected) {
		t.Fatalf("empty query: %v", err)
	}
}

// Every query the parser accepts translates into a well-formed clause list.
func FuzzBuildQuery(f *testing.F) {
	for _, s := range []string{`dune`, `(a OR b) c -d`, `title:"x;y,z" isbn:0439023483`, `"AND" OR "(" year:1990..`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := federate.ParseQuery(s)
		if err != nil {
			return
		}
		tr, err := BuildQuery(q, DefaultFields)
		if err != nil {
			return
		}
		checkStructure(t, tr.Q)
	})
}
