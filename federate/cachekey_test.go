package federate

import (
	"slices"
	"strings"
	"testing"
)

func keyOf(t testing.TB, raw string, members []string, home string) string {
	t.Helper()
	q, err := ParseQuery(raw)
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", raw, err)
	}
	return CacheKey(Request{Query: q, Members: members, Home: home}, 100)
}

func TestCacheKeyMeetsOnlyWhatMeansTheSame(t *testing.T) {
	ab := []string{"a", "b"}
	tests := []struct {
		title string
		a, b  string
		am    []string
		bm    []string
		ah    string
		bh    string
		same  bool
	}{
		{"field and word case do not matter", "Title:Foo", "title:foo", ab, ab, "", "", true},
		{"implicit and explicit AND", "dune messiah", "dune AND messiah", ab, ab, "", "", true},
		{"redundant parentheses", "(dune) (messiah)", "dune messiah", ab, ab, "", "", true},
		{"member order and repeats do not matter", "dune", "dune", []string{"b", "a", "b"}, ab, "", "", true},
		{"a home outside the scope changes nothing", "dune", "dune", ab, ab, "c", "", true},
		{"a home in the scope does", "dune", "dune", ab, ab, "a", "", false},
		{"two homes in the scope differ", "dune", "dune", ab, ab, "a", "b", false},
		{"word order inside a phrase matters", `"dune messiah"`, `"messiah dune"`, ab, ab, "", "", false},
		{"a phrase is not its words", `"dune messiah"`, "dune messiah", ab, ab, "", "", false},
		{"a field is not a keyword", "title:dune", "dune", ab, ab, "", "", false},
		{"another member set", "dune", "dune", ab, []string{"a"}, "", "", false},
		{"a member id cannot smuggle another part", "dune", "dune", []string{"a,1:b"}, ab, "", "", false},
		{"query text cannot pass for members", `"dune m1,1:a"`, `"dune"`, nil, []string{"a"}, "", "", false},
		{"OR is not AND", "dune OR messiah", "dune messiah", ab, ab, "", "", false},
		{"NOT changes the meaning", "dune -messiah", "dune messiah", ab, ab, "", "", false},
		{"year ranges differ", "year:1990..2000", "year:1990..", ab, ab, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			ka, kb := keyOf(t, tt.a, tt.am, tt.ah), keyOf(t, tt.b, tt.bm, tt.bh)
			if (ka == kb) != tt.same {
				t.Fatalf("keys %q and %q: same = %v, want %v", ka, kb, ka == kb, tt.same)
			}
		})
	}
}

// sameMeaning compares two query trees the way members read them: fields,
// operators and year ranges exactly, words without regard to case, and a
// term that can only be written quoted as the phrase it is written as.
func sameMeaning(a, b Node) bool {
	switch a := a.(type) {
	case *Term:
		b, ok := b.(*Term)
		if !ok {
			return false
		}
		la, lb := strings.ToLower(a.Text), strings.ToLower(b.Text)
		return a.Field == b.Field && la == lb && (a.Phrase || needsQuotes(la)) == (b.Phrase || needsQuotes(lb))
	case *YearRange:
		b, ok := b.(*YearRange)
		return ok && *a == *b
	case *Not:
		b, ok := b.(*Not)
		return ok && sameMeaning(a.Child, b.Child)
	case *And:
		b, ok := b.(*And)
		return ok && sameChildren(a.Children, b.Children)
	case *Or:
		b, ok := b.(*Or)
		return ok && sameChildren(a.Children, b.Children)
	}
	return false
}

func sameChildren(a, b []Node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameMeaning(a[i], b[i]) {
			return false
		}
	}
	return true
}

func memberSet(l []string) []string {
	s := slices.Clone(l)
	slices.Sort(s)
	return slices.Compact(s)
}

func FuzzCacheKey(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.in, strings.ToUpper(tc.in), "a,b", "b,a", "a", "")
	}
	f.Add("Title:Foo", "title:foo", "north,south", "south,north,south", "north", "north")
	f.Add(`"a b"`, `"b a"`, "x", "x", "", "")
	f.Add("dune", "dune", "a,1:b", "a,b", "", "")
	f.Fuzz(func(t *testing.T, rawA, rawB, membersA, membersB, homeA, homeB string) {
		qa, errA := ParseQuery(rawA)
		qb, errB := ParseQuery(rawB)
		if errA != nil || errB != nil {
			return
		}
		ma, mb := strings.Split(membersA, ","), strings.Split(membersB, ",")
		ka := CacheKey(Request{Query: qa, Members: ma, Home: homeA}, 100)
		kb := CacheKey(Request{Query: qb, Members: mb, Home: homeB}, 100)

		// Canonicalising twice gives the same key: the canonical form
		// parses back to a query with the same key, and so do the members
		// in any order.
		again, err := ParseQuery(qa.Canonical())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", qa.Canonical(), rawA, err)
		}
		reversed := slices.Clone(ma)
		slices.Reverse(reversed)
		if k := CacheKey(Request{Query: again, Members: append(reversed, ma...), Home: homeA}, 100); k != ka {
			t.Fatalf("re-canonicalised %q: key %q, want %q", rawA, k, ka)
		}

		// Keys are equal exactly when what they cover is.
		effHome := func(m []string, h string) string {
			if slices.Contains(m, h) {
				return h
			}
			return ""
		}
		same := qa.Canonical() == qb.Canonical() && slices.Equal(memberSet(ma), memberSet(mb)) &&
			effHome(ma, homeA) == effHome(mb, homeB)
		if (ka == kb) != same {
			t.Fatalf("keys %q and %q: equal %v, but contents equal %v", ka, kb, ka == kb, same)
		}
		// Semantically different queries never share a key.
		if ka == kb && !sameMeaning(qa.Root, qb.Root) {
			t.Fatalf("%q and %q share key %q but mean different things", rawA, rawB, ka)
		}
		if CacheKey(Request{Query: qa, Members: ma, Home: homeA}, 50) == ka {
			t.Fatal("the window size is not in the key")
		}
	})
}
