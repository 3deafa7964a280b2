package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/commonshelf/commonshelf/federate"
)

// shelf is a small catalogue: ISBNs in 10- and 13-digit spellings,
// diacritics, known and unknown years, several formats.
var shelf = []federate.Record{
	{RecordID: "b1", Title: "Die Königin der Nacht", Authors: []string{"Müller, Hans"}, Year: 1998,
		Publisher: "Suhrkamp", Format: federate.FormatBook, Language: "ger", Subjects: []string{"Opera"},
		Identifiers: federate.Identifiers{ISBN: []string{"3-16-148410-X"}}},
	{RecordID: "b2", Title: "Cien años de soledad", Authors: []string{"García Márquez, Gabriel"}, Year: 1967,
		Format: federate.FormatBook, Language: "spa", Subjects: []string{"Colombia -- Fiction"},
		Identifiers: federate.Identifiers{ISBN: []string{"978-0-06-088328-7 (pbk.)"}}},
	{RecordID: "b3", Title: "Harry Potter and the Philosopher's Stone", Authors: []string{"Rowling, J. K."}, Year: 1997,
		Series: "Harry Potter ; 1", Format: federate.FormatBook, Language: "eng",
		Identifiers: federate.Identifiers{ISBN: []string{"0747532699"}}},
	{RecordID: "b4", Title: "Harry Potter and the Chamber of Secrets", Authors: []string{"Rowling, J. K."}, Year: 1998,
		Series: "Harry Potter ; 2", Format: federate.FormatBook, Language: "eng",
		Identifiers: federate.Identifiers{ISBN: []string{"0-7475-3849-2"}}},
	{RecordID: "b5", Title: "The Potter and the Clay", Authors: []string{"Smith, Anne"},
		Format: federate.FormatEbook, Language: "eng", Subjects: []string{"Pottery"}},
	{RecordID: "j1", Title: "Journal of Documentation", Year: 1945, Publisher: "Emerald",
		Format: federate.FormatJournal, Language: "eng",
		Identifiers: federate.Identifiers{ISSN: []string{"0022-0418"}}},
	{RecordID: "g1", Title: "Gardens", Authors: []string{"Lee, Kim"}, Year: 2005, Format: federate.FormatBook},
	{RecordID: "g2", Title: "Flowers", Authors: []string{"Park, Jo"}, Year: 2006, Format: federate.FormatBook,
		Subjects: []string{"Gardens"}},
}

// AST builders.
func word(s string) *federate.Term { return &federate.Term{Text: s} }
func phrase(s string) *federate.Term {
	return &federate.Term{Text: s, Phrase: true}
}
func field(f federate.Field, s string) *federate.Term { return &federate.Term{Field: f, Text: s} }
func and(n ...federate.Node) *federate.And            { return &federate.And{Children: n} }
func or(n ...federate.Node) *federate.Or              { return &federate.Or{Children: n} }
func not(n federate.Node) *federate.Not               { return &federate.Not{Child: n} }
func years(from, to int) *federate.YearRange          { return &federate.YearRange{From: from, To: to} }
func newQuery(n federate.Node) federate.Query         { return federate.Query{Root: n, Raw: fmt.Sprint(n)} }

func sliceSource(recs []federate.Record) func() (federate.Record, error) {
	i := 0
	return func() (federate.Record, error) {
		if i == len(recs) {
			return federate.Record{}, io.EOF
		}
		i++
		return recs[i-1], nil
	}
}

func openIndex(t testing.TB, dir string, opts Options) *Index {
	t.Helper()
	x, err := Open(slog.New(slog.DiscardHandler), "north", dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func newShelf(t testing.TB, opts Options) *Index {
	t.Helper()
	x := openIndex(t, filepath.Join(t.TempDir(), "idx"), opts)
	t.Cleanup(func() { x.Close() })
	st, err := x.Import(t.Context(), sliceSource(shelf), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Indexed != len(shelf) || st.Rejected != 0 {
		t.Fatalf("import: %+v", st)
	}
	return x
}

func ids(p federate.Page) []string {
	out := make([]string, len(p.Records))
	for i, r := range p.Records {
		out[i] = r.RecordID
	}
	return out
}

func TestSearch(t *testing.T) {
	x := newShelf(t, Options{})
	tests := []struct {
		name  string
		q     federate.Node
		want  []string // in this order
		inAny bool     // want is a set: order not asserted
	}{
		{"a word in the title outranks the same word in a subject", word("gardens"), []string{"g1", "g2"}, false},
		{"equal scores fall back to record id", field(federate.FieldAuthor, "rowling"), []string{"b3", "b4"}, false},
		{"a word searches title, series and more", word("potter"), []string{"b3", "b4", "b5"}, true},
		{"title: searches only titles", field(federate.FieldTitle, "rowling"), nil, false},
		{"subject: searches only subjects", field(federate.FieldSubject, "pottery"), []string{"b5"}, false},
		{"a phrase matches words in order", phrase("chamber of secrets"), []string{"b4"}, false},
		{"a phrase out of order matches nothing", phrase("secrets chamber"), nil, false},
		{"an author phrase", &federate.Term{Field: federate.FieldAuthor, Text: "garcia marquez", Phrase: true}, []string{"b2"}, false},
		{"AND needs every word", and(word("potter"), word("chamber")), []string{"b4"}, false},
		{"OR takes any word", or(word("soledad"), word("nacht")), []string{"b1", "b2"}, true},
		{"NOT excludes", and(word("potter"), not(word("chamber"))), []string{"b3", "b5"}, true},
		{"NOT of an OR excludes both", and(word("potter"), not(or(word("chamber"), word("clay")))), []string{"b3"}, false},
		{"folding: plain query finds accented title", word("konigin"), []string{"b1"}, false},
		{"folding: accented query finds accented title", word("Königin"), []string{"b1"}, false},
		{"folding: decomposed accent (as from MARC-8) matches", word("Ko\u0308nigin"), []string{"b1"}, false},
		{"folding: Garcia Marquez finds García Márquez", and(word("Garcia"), word("Marquez")), []string{"b2"}, false},
		{"folding: upper case", word("SOLEDAD"), []string{"b2"}, false},
		{"isbn: ISBN-10 as catalogued", field(federate.FieldISBN, "316148410X"), []string{"b1"}, false},
		{"isbn: ISBN-10 with hyphens", field(federate.FieldISBN, "3-16-148410-X"), []string{"b1"}, false},
		{"isbn: the same book as ISBN-13", field(federate.FieldISBN, "9783161484100"), []string{"b1"}, false},
		{"isbn: ISBN-13 with hyphens", field(federate.FieldISBN, "978-3-16-148410-0"), []string{"b1"}, false},
		{"isbn: ISBN-10 of a record catalogued with ISBN-13", field(federate.FieldISBN, "0060883286"), []string{"b2"}, false},
		{"a bare ISBN in the keywords finds the book", word("0-7475-3849-2"), []string{"b4"}, false},
		{"issn: with hyphen", field(federate.FieldISSN, "0022-0418"), []string{"j1"}, false},
		{"issn: without hyphen", field(federate.FieldISSN, "00220418"), []string{"j1"}, false},
		{"year: one year", years(1998, 1998), []string{"b1", "b4"}, true},
		{"year: closed range is inclusive", years(1967, 1997), []string{"b2", "b3"}, true},
		{"year: open start", years(0, 1967), []string{"b2", "j1"}, true},
		{"year: open end leaves out unknown years", years(2000, 0), []string{"g1", "g2"}, true},
		{"year and author together", and(field(federate.FieldAuthor, "rowling"), years(1998, 1998)), []string{"b4"}, false},
		{"a word nobody has", word("zeppelin"), nil, false},
		{"NOT alone means everything else", not(word("potter")), []string{"b1", "b2", "g1", "g2", "j1"}, true},
		{"punctuation alone is left out of an AND", and(word("soledad"), word("&")), []string{"b2"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := x.Search(t.Context(), newQuery(tt.q), federate.Window{Limit: 20})
			if err != nil {
				t.Fatal(err)
			}
			got := ids(p)
			want := tt.want
			if tt.inAny {
				got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", ids(p), tt.want)
			}
			if p.Total != len(tt.want) {
				t.Errorf("Total %d, want %d", p.Total, len(tt.want))
			}
			for i, r := range p.Records {
				if r.Rank != i+1 || r.Member != "north" {
					t.Errorf("record %d: rank %d member %q", i, r.Rank, r.Member)
				}
			}
		})
	}
}

func TestSearchRebuildsRecord(t *testing.T) {
	x := newShelf(t, Options{RecordURL: "https://cat.example.org/record/{id}?lang=en"})
	p, err := x.Search(t.Context(), newQuery(field(federate.FieldISBN, "0747532699")), federate.Window{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 1 {
		t.Fatalf("got %v", ids(p))
	}
	r := p.Records[0]
	want := shelf[2]
	if r.Title != want.Title || !slices.Equal(r.Authors, want.Authors) || r.Year != want.Year ||
		r.Series != want.Series || r.Format != want.Format || r.Language != want.Language {
		t.Errorf("record %+v, want %+v", r, want)
	}
	if !slices.Equal(r.Identifiers.ISBN, []string{"9780747532699"}) {
		t.Errorf("ISBN %v, want normalised 9780747532699", r.Identifiers.ISBN)
	}
	wantLink := federate.Link{URL: "https://cat.example.org/record/b3?lang=en", Label: "Catalogue record"}
	if !slices.Equal(r.Links, []federate.Link{wantLink}) {
		t.Errorf("links %v", r.Links)
	}
}

func TestRecordLinkEscaping(t *testing.T) {
	tests := []struct{ name, tpl, id, want string }{
		{"path segment", "https://c.example/r/{id}", "a b/c", "https://c.example/r/a%20b%2Fc"},
		{"query value", "https://c.example/r?id={id}", "a b&c", "https://c.example/r?id=a+b%26c"},
		{"no template", "", "x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := &Index{opts: Options{RecordURL: tt.tpl}}
			if got := x.recordLink(tt.id); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSearchPaging(t *testing.T) {
	x := newShelf(t, Options{})
	q := newQuery(or(word("potter"), word("gardens"))) // 5 hits
	all, err := x.Search(t.Context(), q, federate.Window{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if all.Total != 5 || len(all.Records) != 5 {
		t.Fatalf("all: total %d, %v", all.Total, ids(all))
	}
	tests := []struct {
		name string
		w    federate.Window
		want []string
	}{
		{"first page", federate.Window{Offset: 0, Limit: 2}, ids(all)[:2]},
		{"second page", federate.Window{Offset: 2, Limit: 2}, ids(all)[2:4]},
		{"last page is short", federate.Window{Offset: 4, Limit: 2}, ids(all)[4:]},
		{"offset past the end is empty", federate.Window{Offset: 10, Limit: 5}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := x.Search(t.Context(), q, tt.w)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(p), tt.want) || p.Total != 5 {
				t.Errorf("got %v total %d, want %v total 5", ids(p), p.Total, tt.want)
			}
			for i, r := range p.Records {
				if r.Rank != tt.w.Offset+i+1 {
					t.Errorf("%s rank %d, want %d", r.RecordID, r.Rank, tt.w.Offset+i+1)
				}
			}
		})
	}
}

func TestSearchRelaxed(t *testing.T) {
	x := newShelf(t, Options{})
	tests := []struct {
		name    string
		q       federate.Node
		want    []string
		relaxed string
	}{
		{"an invalid ISBN matches nothing and says why", field(federate.FieldISBN, "3-16-148410-0"), nil, "isbn:3-16-148410-0 is not a valid ISBN"},
		{"an invalid ISSN matches nothing and says why", field(federate.FieldISSN, "1234-5678"), nil, "issn:1234-5678 is not a valid ISSN"},
		{"an invalid ISBN in an OR leaves the rest", or(field(federate.FieldISBN, "123"), word("soledad")), []string{"b2"}, "isbn:123 is not a valid ISBN"},
		{"a valid query relaxes nothing", word("soledad"), []string{"b2"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := x.Search(t.Context(), newQuery(tt.q), federate.Window{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(p), tt.want) {
				t.Errorf("got %v, want %v", ids(p), tt.want)
			}
			if got := strings.Join(p.Relaxed, "; "); got != tt.relaxed {
				t.Errorf("relaxed %q, want %q", got, tt.relaxed)
			}
		})
	}
}

func TestSearchEmptyQueryIsRejected(t *testing.T) {
	x := newShelf(t, Options{})
	_, err := x.Search(t.Context(), federate.Query{}, federate.Window{Limit: 10})
	if !errors.Is(err, federate.ErrQueryRejected) {
		t.Fatalf("err %v, want ErrQueryRejected", err)
	}
}

func TestSearchContext(t *testing.T) {
	x := newShelf(t, Options{MaxConcurrent: 1})
	q := newQuery(word("potter"))

	t.Run("an already cancelled context fails at once", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := x.Search(ctx, q, federate.Window{Limit: 10})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
	})
	t.Run("waiting for a busy slot ends at the deadline", func(t *testing.T) {
		if err := x.sem.Acquire(t.Context(), 1); err != nil { // the one slot is taken
			t.Fatal(err)
		}
		defer x.sem.Release(1)
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			start := time.Now()
			_, err := x.Search(ctx, q, federate.Window{Limit: 10})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err %v, want DeadlineExceeded", err)
			}
			if took := time.Since(start); took != 2*time.Second {
				t.Errorf("returned after %v, want exactly the 2s deadline", took)
			}
		})
	})
}

func TestConcurrentSearches(t *testing.T) {
	x := newShelf(t, Options{MaxConcurrent: 2})
	queries := []federate.Node{word("potter"), field(federate.FieldISBN, "0747532699"), years(1990, 2000),
		and(word("harry"), not(word("chamber")))}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				q := queries[(g+i)%len(queries)]
				if _, err := x.Search(t.Context(), newQuery(q), federate.Window{Limit: 10}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	// An import of the same records (upserts) runs alongside.
	wg.Go(func() {
		if _, err := x.Import(t.Context(), sliceSource(shelf), nil); err != nil {
			errs <- err
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, _ := x.Count(); n != uint64(len(shelf)) {
		t.Errorf("count %d after upserts, want %d", n, len(shelf))
	}
}

func TestFolding(t *testing.T) {
	m, err := newMapping()
	if err != nil {
		t.Fatal(err)
	}
	a := m.AnalyzerNamed(textAnalyzer)
	tests := []struct{ name, in, want string }{
		{"umlaut", "Königin", "konigin"},
		{"decomposed umlaut", "Ko\u0308nigin", "konigin"},
		{"acute accents", "García Márquez", "garcia marquez"},
		{"letters without a decomposition", "Łódź Øresund Straße Æsop", "lodz oresund strasse aesop"},
		{"ligature", "ﬁnance", "finance"},
		{"MARC double tilde halves", "T\uFE20s\uFE21arstvo", "tsarstvo"},
		{"Cyrillic stays Cyrillic; й loses its breve, as in ICU folding", "Война и мир", "воина и мир"},
		{"hyphenated words split", "e-book", "e book"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, tok := range a.Analyze([]byte(tt.in)) {
				got = append(got, string(tok.Term))
			}
			if s := strings.Join(got, " "); s != tt.want {
				t.Errorf("%q → %q, want %q", tt.in, s, tt.want)
			}
		})
	}
}

func TestTiesAreOrderedByIDAcrossPages(t *testing.T) {
	// 30 editions with identical metadata score the same; two more
	// records score higher. Inserted in a scrambled order.
	var recs []federate.Record
	for i := range 30 {
		id := fmt.Sprintf("e%02d", (i*7)%30)
		recs = append(recs, federate.Record{RecordID: id, Title: "Gardens of stone", Authors: []string{"Lee, Kim"}})
	}
	recs = append(recs,
		federate.Record{RecordID: "z1", Title: "Gardens"},
		federate.Record{RecordID: "a9", Title: "Stone walls and the gardens of the old town", Subjects: []string{"Gardens"}})
	x := openIndex(t, t.TempDir(), Options{})
	defer x.Close()
	for half := range 2 { // two imports: the ties span two segments
		if _, err := x.Import(t.Context(), sliceSource(recs[half*16:min(half*16+16, len(recs))]), nil); err != nil {
			t.Fatal(err)
		}
	}
	q := newQuery(word("gardens"))
	all, err := x.Search(t.Context(), q, federate.Window{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a9", "z1"} // title and subject; short title
	for i := range 30 {
		want = append(want, fmt.Sprintf("e%02d", i))
	}
	if !slices.Equal(ids(all), want) {
		t.Fatalf("full order %v, want %v", ids(all), want)
	}
	for _, limit := range []int{1, 2, 5, 7, 31, 32} {
		t.Run(fmt.Sprintf("pages of %d", limit), func(t *testing.T) {
			var got []string
			for off := 0; off < len(want)+limit; off += limit {
				p, err := x.Search(t.Context(), q, federate.Window{Offset: off, Limit: limit})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ids(p)...)
			}
			if !slices.Equal(got, want) {
				t.Errorf("pages joined %v, want %v", got, want)
			}
		})
	}
}
