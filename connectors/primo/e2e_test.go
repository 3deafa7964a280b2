package primo

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

var shelf = []fakeDoc{
	{ID: "alma001", Title: "The Hunger Games", Creator: "Collins, Suzanne", Type: "book", Year: 2008,
		ISBN: []string{"0439023483"}, Subjects: []string{"Survival", "Television programs"}},
	{ID: "alma002", Title: "Catching Fire", Creator: "Collins, Suzanne", Type: "book", Year: 2009,
		ISBN: []string{"9780439023498"}, Subjects: []string{"Survival"}},
	{ID: "alma003", Title: "Dune", Creator: "Herbert, Frank", Type: "book", Year: 1965,
		ISBN: []string{"9780441172719"}, Subjects: []string{"Ecology"}},
	{ID: "alma004", Title: "Dune Messiah", Creator: "Herbert, Frank", Type: "book", Year: 1969},
	{ID: "alma005", Title: "Foundation", Creator: "Asimov, Isaac", Type: "book", Year: 1951},
	{ID: "alma006", Title: "Война и мир", Creator: "Толстой, Лев", Type: "book", Year: 1869},
	{ID: "alma007", Title: "Dune (film)", Creator: "Lynch, David", Type: "video", Year: 1984},
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
	all := map[string]any{"vid": "01INST:MAIN", "tab": "Everything", "scope": "MyInst", "api_key": "secret-key"}
	for k, v := range opts {
		all[k] = v
	}
	c, err := New(slog.New(slog.DiscardHandler), "east", base, all)
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
	tests := []struct {
		title   string
		query   string
		window  federate.Window
		want    string
		total   int
		relaxed int
	}{
		{"keywords", `hunger games`, federate.Window{Limit: 10}, "alma001", 1, 0},
		{"author and title fields", `author:herbert title:messiah`, federate.Window{Limit: 10}, "alma004", 1, 0},
		{"exclusion", `dune -messiah`, federate.Window{Limit: 10}, "alma003 alma007", 2, 0},
		{"nested OR, distributed", `(dune OR foundation) herbert`, federate.Window{Limit: 10}, "alma003 alma004", 2, 0},
		{"ISBN-13 typed finds an ISBN-10 record", `isbn:978-0-439-02348-1`, federate.Window{Limit: 10}, "alma001", 1, 0},
		{"year range as qInclude", `collins year:2009..`, federate.Window{Limit: 10}, "alma002", 1, 0},
		{"phrase", `"dune messiah"`, federate.Window{Limit: 10}, "alma004", 1, 0},
		{"non-Latin text", `мир`, federate.Window{Limit: 10}, "alma006", 1, 0},
		{"paging", `dune`, federate.Window{Offset: 1, Limit: 1}, "alma004", 3, 0},
		{"punctuation cannot break the clause list", `"dune;title,exact,x" OR "a,OR"`, federate.Window{Limit: 10}, "", 0, 0},
		{"nothing found: no docs", `zebra`, federate.Window{Limit: 10}, "", 0, 0},
		{"a year inside OR is relaxed", `foundation OR year:1984`, federate.Window{Limit: 10}, "alma005", 1, 1},
	}
	for _, mode := range []string{"header", "query"} {
		fake := &fakePrimo{Key: "secret-key", KeyInQuery: mode == "query", Docs: shelf}
		srv := fake.start(t)
		c := newTestConnector(t, srv.URL, map[string]any{"api_key_in": mode})
		for _, tt := range tests {
			t.Run(mode+": "+tt.title, func(t *testing.T) {
				page, err := c.Search(context.Background(), mustParse(t, tt.query), tt.window)
				if err != nil {
					t.Fatal(err)
				}
				if got := ids(page); got != tt.want {
					t.Errorf("records %q, want %q (q sent: %v)", got, tt.want, fake.queries()[len(fake.queries())-1:])
				}
				if page.Total != tt.total {
					t.Errorf("total %d, want %d", page.Total, tt.total)
				}
				if len(page.Relaxed) != tt.relaxed {
					t.Errorf("relaxed %q, want %d sentences", page.Relaxed, tt.relaxed)
				}
			})
		}
	}
}

func TestSearchFailures(t *testing.T) {
	tests := []struct {
		title    string
		mode     string
		key      string
		rejected bool
		want     string
	}{
		{"Primo refuses the query", "error", "secret-key", true, "INVALID_PARAMETER: Search failed: invalid query"},
		{"a wrong API key (UNAUTHORIZED on 400)", "", "wrong-key", false, "API key rejected"},
		{"401", "401", "secret-key", false, "API key rejected"},
		{"an HTML login page with 200", "html", "secret-key", false, "member answered with an HTML page, not Primo JSON"},
		{"a server error", "500", "secret-key", false, "HTTP 500"},
		{"a truncated body", "truncated", "secret-key", false, "unreadable JSON"},
		{"docs of the wrong type", "wrongtype", "secret-key", false, "docs is a string, not a list"},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			fake := &fakePrimo{Key: "secret-key", Docs: shelf, Mode: tt.mode}
			srv := fake.start(t)
			c := newTestConnector(t, srv.URL, map[string]any{"api_key": tt.key})
			_, err := c.Search(context.Background(), mustParse(t, "dune"), federate.Window{Limit: 10})
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, federate.ErrQueryRejected) != tt.rejected {
				t.Errorf("ErrQueryRejected = %v, want %v (%v)", !tt.rejected, tt.rejected, err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "primo east: search: ") {
				t.Errorf("err = %q, want it to start with the member and contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret-key") || strings.Contains(err.Error(), tt.key) {
				t.Errorf("err %q reveals the API key", err)
			}
		})
	}
	t.Run("a year alone is refused before any request", func(t *testing.T) {
		fake := &fakePrimo{Docs: shelf}
		c := newTestConnector(t, fake.start(t).URL, nil)
		_, err := c.Search(context.Background(), mustParse(t, "year:1990"), federate.Window{Limit: 10})
		if !errors.Is(err, federate.ErrQueryRejected) || len(fake.queries()) != 0 {
			t.Fatalf("err = %v, requests %d", err, len(fake.queries()))
		}
	})
	t.Run("an unreachable member", func(t *testing.T) {
		srv := (&fakePrimo{}).start(t)
		url := srv.URL
		srv.Close()
		c := newTestConnector(t, url, nil)
		_, err := c.Search(context.Background(), mustParse(t, "dune"), federate.Window{Limit: 10})
		if err == nil || errors.Is(err, federate.ErrQueryRejected) || strings.Contains(err.Error(), "secret-key") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSearchLogsQueryNotKey(t *testing.T) {
	var buf strings.Builder
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fake := &fakePrimo{Key: "secret-key", KeyInQuery: true, Docs: shelf}
	srv := fake.start(t)
	c, err := New(logger, "east", srv.URL, map[string]any{"vid": "V", "api_key": "secret-key", "api_key_in": "query"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Search(context.Background(), mustParse(t, "dune"), federate.Window{Limit: 5}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "q=any,contains,dune") || strings.Contains(buf.String(), "secret-key") {
		t.Fatalf("log: %s", buf.String())
	}
}

func TestOptions(t *testing.T) {
	env := map[string]string{"PRIMO_KEY": "from-env"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		title string
		opts  map[string]any
		err   string
		check func(Options) bool
	}{
		{"the minimum", map[string]any{"vid": "V"}, "", func(o Options) bool { return o.VID == "V" && !o.KeyInQuery }},
		{"key from the environment", map[string]any{"vid": "V", "api_key_env": "PRIMO_KEY"}, "", func(o Options) bool { return o.APIKey == "from-env" }},
		{"fields as a list", map[string]any{"vid": "V", "fields": []any{"author=creator_search", "any=any"}}, "",
			func(o Options) bool { return o.Fields.Author == "creator_search" }},
		{"fields as a map", map[string]any{"vid": "V", "fields": map[string]any{"subject": "lsr01"}}, "",
			func(o Options) bool { return o.Fields.Subject == "lsr01" }},
		{"vid is required", map[string]any{"tab": "T"}, "options.vid is required", nil},
		{"an unknown option names the known ones", map[string]any{"vid": "V", "apikey": "x"},
			`unknown option "apikey" for the primo connector (known: vid, tab, scope, api_key, api_key_env, api_key_in, lang, record_url, fields)`, nil},
		{"a wrong type", map[string]any{"vid": 12}, "options.vid must be a string, not int", nil},
		{"api_key_in must be header or query", map[string]any{"vid": "V", "api_key_in": "cookie"}, "must be header or query", nil},
		{"an unset environment variable", map[string]any{"vid": "V", "api_key_env": "NOPE"}, "NOPE is not set", nil},
		{"both key options", map[string]any{"vid": "V", "api_key": "k", "api_key_env": "PRIMO_KEY"}, "both set", nil},
		{"an unknown field", map[string]any{"vid": "V", "fields": []any{"year=cdate"}}, `unknown field "year"`, nil},
		{"a field name with a comma", map[string]any{"vid": "V", "fields": []any{"title=title,exact"}}, "not a Primo field name", nil},
		{"a record_url that is not a URL", map[string]any{"vid": "V", "record_url": "record/{id}"}, "http(s) URL template", nil},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			o, err := ParseOptions(tt.opts, getenv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(o) {
				t.Fatalf("options %+v", o)
			}
		})
	}
	if _, err := New(nil, "east", "ftp://x", map[string]any{"vid": "V"}); err == nil || !strings.HasPrefix(err.Error(), "primo east: ") {
		t.Fatalf("bad base URL: %v", err)
	}
	if _, err := New(nil, "east", "https://x", map[string]any{"vid": "V", "zzz": 1}); err == nil || !strings.HasPrefix(err.Error(), "primo east: unknown option") {
		t.Fatalf("unknown option: %v", err)
	}
	c, err := New(nil, "east", "https://api-eu.hosted.exlibrisgroup.com/", map[string]any{"vid": "V"})
	if err != nil || c.Kind() != "primo" || c.search.String() != "https://api-eu.hosted.exlibrisgroup.com/primo/v1/search" {
		t.Fatalf("New: %v %v", c, err)
	}
	c.Close()
}
