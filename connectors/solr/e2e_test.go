package solr

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

var shelf = []fakeDoc{
	{"id": "v1", "title": "The hunger games /", "title_short": "The hunger games", "author": []string{"Collins, Suzanne"},
		"publishDate": []string{"2008"}, "isbn": []string{"978-0-439-02348-1"}, "format": []string{"Book"},
		"language": []string{"English"}, "topic": []string{"Survival -- Fiction."}, "institution": "MAIN"},
	{"id": "v2", "title": "Dune", "author": []string{"Herbert, Frank"}, "publishDate": []string{"1965"},
		"format": []string{"Book"}, "topic": []string{"Ecology"}, "institution": "MAIN"},
	{"id": "v3", "title": "Dune messiah", "author": []string{"Herbert, Frank"}, "publishDate": []string{"1969"},
		"format": []string{"Book"}, "institution": "MAIN"},
	{"id": "v4", "title": "C++ primer", "author": []string{"Lippman, Stanley B."}, "publishDate": []string{"2012"},
		"format": []string{"Book"}, "institution": "MAIN"},
	{"id": "v5", "title": "Dune", "author2": []string{"Lynch, David"}, "publishDate": 1984, "format": []string{"Video"},
		"institution": "BRANCH"},
	{"id": "v6", "title": "Война и мир", "author": []string{"Толстой, Лев"}, "publishDate": []string{"1869"},
		"format": []string{"Book"}, "institution": "MAIN"},
}

func mustParse(t testing.TB, s string) federate.Query {
	t.Helper()
	q, err := federate.ParseQuery(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func newTestConnector(t testing.TB, base string, opts map[string]any) *Connector {
	t.Helper()
	c, err := New(slog.New(slog.DiscardHandler), "west", base, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ids(p federate.Page) string {
	var out []string
	for _, r := range p.Records {
		out = append(out, r.RecordID)
	}
	return strings.Join(out, " ")
}

func TestSearchEndToEnd(t *testing.T) {
	fake := &fakeSolr{Docs: shelf}
	srv := fake.start(t)
	c := newTestConnector(t, srv.URL+"/solr/biblio", map[string]any{
		"record_url": "https://catalog.example.edu/Record/{id}",
	})
	tests := []struct {
		title  string
		query  string
		window federate.Window
		want   string
		total  int
	}{
		{"keywords", `hunger games`, federate.Window{Limit: 10}, "v1", 1},
		{"author over author and author2", `author:lynch`, federate.Window{Limit: 10}, "v5", 1},
		{"exclusion", `dune -messiah`, federate.Window{Limit: 10}, "v2 v5", 2},
		{"grouping", `(dune OR primer) herbert`, federate.Window{Limit: 10}, "v2 v3", 2},
		{"ISBN-10 typed finds the hyphenated ISBN-13", `isbn:0439023483`, federate.Window{Limit: 10}, "v1", 1},
		{"year range", `dune year:1980..`, federate.Window{Limit: 10}, "v5", 1},
		{"special characters are literal", `c++`, federate.Window{Limit: 10}, "v4", 1},
		{"a word that looks like syntax is searched, not obeyed", `"title:dune" OR 3:10`, federate.Window{Limit: 10}, "", 0},
		{"phrase", `"dune messiah"`, federate.Window{Limit: 10}, "v3", 1},
		{"non-Latin", `мир`, federate.Window{Limit: 10}, "v6", 1},
		{"paging", `dune`, federate.Window{Offset: 1, Limit: 1}, "v3", 3},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			page, err := c.Search(context.Background(), mustParse(t, tt.query), tt.window)
			if err != nil {
				t.Fatalf("%v (q sent: %q)", err, fake.queries()[len(fake.queries())-1:])
			}
			if got := ids(page); got != tt.want || page.Total != tt.total {
				t.Errorf("records %q total %d, want %q and %d (q sent: %q)", got, page.Total, tt.want, tt.total, fake.queries()[len(fake.queries())-1:])
			}
		})
	}
	t.Run("fq filters every search", func(t *testing.T) {
		c := newTestConnector(t, srv.URL+"/solr/biblio", map[string]any{"fq": []any{"institution:MAIN"}})
		page, err := c.Search(context.Background(), mustParse(t, "dune"), federate.Window{Limit: 10})
		if err != nil || ids(page) != "v2 v3" {
			t.Fatalf("%q %v", ids(page), err)
		}
	})
	t.Run("records carry their catalogue link", func(t *testing.T) {
		page, err := c.Search(context.Background(), mustParse(t, "hunger"), federate.Window{Limit: 10})
		if err != nil || len(page.Records) != 1 || len(page.Records[0].Links) != 1 ||
			page.Records[0].Links[0].URL != "https://catalog.example.edu/Record/v1" || page.Records[0].Language != "eng" {
			t.Fatalf("%+v %v", page.Records, err)
		}
	})
}

func TestSearchFailures(t *testing.T) {
	tests := []struct {
		title    string
		mode     string
		rejected bool
		want     string
	}{
		{"Solr refuses the query", "error", true, "undefined field xyz"},
		{"an HTML page with 200", "html", false, "HTML page"},
		{"a server error keeps Solr's message", "500", false, "java.lang.OutOfMemoryError"},
		{"access denied", "401", false, "access denied"},
		{"a truncated body", "truncated", false, "unreadable JSON"},
		{"docs of the wrong type", "wrongtype", false, "docs is a string, not a list"},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			fake := &fakeSolr{Docs: shelf, Mode: tt.mode}
			c := newTestConnector(t, fake.start(t).URL, nil)
			_, err := c.Search(context.Background(), mustParse(t, "dune"), federate.Window{Limit: 10})
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, federate.ErrQueryRejected) != tt.rejected {
				t.Errorf("ErrQueryRejected %v, want %v: %v", !tt.rejected, tt.rejected, err)
			}
			if !strings.HasPrefix(err.Error(), "solr west: search: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want %q", err, tt.want)
			}
		})
	}
	t.Run("a wrong handler path", func(t *testing.T) {
		fake := &fakeSolr{Docs: shelf}
		c := newTestConnector(t, fake.start(t).URL, map[string]any{"handler": "search"})
		_, err := c.Search(context.Background(), mustParse(t, "dune"), federate.Window{Limit: 10})
		if err == nil || errors.Is(err, federate.ErrQueryRejected) || !strings.Contains(err.Error(), "options.handler") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestOptions(t *testing.T) {
	tests := []struct {
		title string
		opts  map[string]any
		err   string
		check func(Options) bool
	}{
		{"none", nil, "", func(o Options) bool { return o.QF == "" && o.FQ == nil }},
		{"fields as a list", map[string]any{"fields": []any{"title=title_full", "author=author author2 author_corporate"}}, "",
			func(o Options) bool {
				return strings.Join(o.Fields.Title, " ") == "title_full" && len(o.Fields.Author) == 3
			}},
		{"fields as a map", map[string]any{"fields": map[string]any{"year": "publishDateSort"}}, "",
			func(o Options) bool { return o.Fields.Year[0] == "publishDateSort" }},
		{"fq as a string", map[string]any{"fq": "institution:MAIN"}, "", func(o Options) bool { return len(o.FQ) == 1 }},
		{"an unknown option names the known ones", map[string]any{"rows": 5},
			`unknown option "rows" for the solr connector (known: fields, qf, record_url, fq, handler)`, nil},
		{"a wrong type", map[string]any{"qf": 3.5}, "options.qf must be a string, not float64", nil},
		{"an unknown field", map[string]any{"fields": []any{"isbn13=isbn"}}, `unknown field "isbn13"`, nil},
		{"a field name that is not one", map[string]any{"fields": []any{"title=title:x"}}, "not a Solr field name", nil},
		{"fq of the wrong type", map[string]any{"fq": []any{1}}, "options.fq[0] must be a non-empty string", nil},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			o, err := ParseOptions(tt.opts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !tt.check(o) {
				t.Fatalf("%+v %v", o, err)
			}
		})
	}
	if _, err := New(nil, "west", "http://127.0.0.1:8983/solr/biblio", map[string]any{"zzz": 1}); err == nil || !strings.HasPrefix(err.Error(), "solr west: unknown option") {
		t.Fatalf("unknown option: %v", err)
	}
	c, err := New(nil, "west", "http://127.0.0.1:8983/solr/biblio/", map[string]any{"fields": []any{"title=title_full"}})
	if err != nil || c.Kind() != "solr" || c.endpoint.String() != "http://127.0.0.1:8983/solr/biblio/select" ||
		!strings.HasPrefix(c.fl, "id,title_full,author,author2,topic") {
		t.Fatalf("New: %v %+v", err, c)
	}
	c.Close()
}
