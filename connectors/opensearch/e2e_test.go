package opensearch

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/connectors/remote"
	"github.com/commonshelf/commonshelf/federate"
)

// fakeBook is one record of the test member's catalogue.
type fakeBook struct {
	id, title, author, isbn string
	year                    int
}

var shelf = []fakeBook{
	{"b1", "The Hunger Games", "Collins, Suzanne", "9780439023481", 2008},
	{"b2", "Catching Fire", "Collins, Suzanne", "9780439023498", 2009},
	{"b3", "Mockingjay", "Collins, Suzanne", "9780439023511", 2010},
	{"b4", "Dune", "Herbert, Frank", "9780441013593", 1965},
	{"b5", "Dune Messiah", "Herbert, Frank", "", 1969},
	{"b6", "Children of Dune", "Herbert, Frank", "", 1976},
	{"b7", "Война и мир", "Толстой, Лев", "", 1869},
	{"b8", "Tom & Jerry: the movie", "Hanna, William", "", 1992},
}

// member is a loopback OpenSearch catalogue: a description document at
// /opensearch.xml and an Atom or RSS search at /search that matches every
// searchTerms word against titles and authors. mode makes it misbehave.
type member struct {
	srv          *httptest.Server
	mode         atomic.Value // string: "", "html", "500", "truncated", "desc404", "400", "slow", "garbage"
	descHits     atomic.Int32
	searchHits   atomic.Int32
	mu           sync.Mutex
	lastTerms    string
	lastRawQuery string
}

func newMember(t *testing.T, descTemplate string) *member {
	t.Helper()
	m := &member{}
	m.mode.Store("")
	mux := http.NewServeMux()
	mux.HandleFunc("/opensearch.xml", func(w http.ResponseWriter, r *http.Request) {
		m.descHits.Add(1)
		if m.mode.Load() == "desc404" {
			http.NotFound(w, r)
			return
		}
		tpl := strings.ReplaceAll(descTemplate, "BASE", m.srv.URL)
		w.Header().Set("Content-Type", "application/opensearchdescription+xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/">
  <ShortName>Test member</ShortName>
  <Description>A loopback catalogue.</Description>
  <Url type="text/html" template="%s/html?q={searchTerms}"/>
  %s
</OpenSearchDescription>`, m.srv.URL, tpl)
	})
	mux.HandleFunc("/search", m.search)
	m.srv = httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(m.srv.Close)
	return m
}

const atomAndRSS = `<Url type="application/atom+xml" template="BASE/search?q={searchTerms}&amp;start={startIndex?}&amp;n={count?}&amp;fmt=atom"/>
  <Url type="application/rss+xml" template="BASE/search?q={searchTerms}&amp;start={startIndex?}&amp;n={count?}&amp;fmt=rss"/>`

func (m *member) search(w http.ResponseWriter, r *http.Request) {
	m.searchHits.Add(1)
	q := r.URL.Query()
	m.mu.Lock()
	m.lastTerms, m.lastRawQuery = q.Get("q"), r.URL.RawQuery
	m.mu.Unlock()
	switch m.mode.Load() {
	case "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!DOCTYPE html>\n<html><head><title>Catalogue</title><body><p>Our catalogue has moved.")
		return
	case "500":
		http.Error(w, "java.lang.NullPointerException at SearchServlet", http.StatusInternalServerError)
		return
	case "400":
		http.Error(w, "query too complex", http.StatusBadRequest)
		return
	case "garbage":
		w.Header().Set("Content-Type", "application/atom+xml")
		fmt.Fprint(w, `{"error": "not xml"}`)
		return
	case "slow":
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	var hits []fakeBook
	words := strings.Fields(strings.ToLower(strings.ReplaceAll(q.Get("q"), `"`, " ")))
	for _, b := range shelf {
		hay := strings.ToLower(b.title + " " + b.author + " " + b.isbn)
		ok := len(words) > 0
		for _, w := range words {
			if !strings.Contains(hay, w) {
				ok = false
			}
		}
		if ok {
			hits = append(hits, b)
		}
	}
	start, _ := strconv.Atoi(q.Get("start"))
	start = max(start, 1)
	n, _ := strconv.Atoi(q.Get("n"))
	if n <= 0 {
		n = 3 // the member's own page size
	}
	page := hits[min(start-1, len(hits)):min(start-1+n, len(hits))]
	var b strings.Builder
	if q.Get("fmt") == "rss" {
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(&b, `<?xml version="1.0"?><rss version="2.0" xmlns:openSearch="http://a9.com/-/spec/opensearchrss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>x</title>
<openSearch:totalResults>%d</openSearch:totalResults><openSearch:startIndex>%d</openSearch:startIndex><openSearch:itemsPerPage>%d</openSearch:itemsPerPage>`, len(hits), start, n)
		for _, h := range page {
			fmt.Fprintf(&b, `<item><title>%s</title><link>/record/%s</link><guid>%s</guid><dc:creator>%s</dc:creator><dc:date>%d</dc:date><dc:identifier>urn:isbn:%s</dc:identifier></item>`,
				html.EscapeString(h.title), h.id, h.id, html.EscapeString(h.author), h.year, h.isbn)
		}
		b.WriteString(`</channel></rss>`)
	} else {
		w.Header().Set("Content-Type", "application/atom+xml")
		fmt.Fprintf(&b, `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:dc="http://purl.org/dc/elements/1.1/"><title>x</title>
<opensearch:totalResults>%d</opensearch:totalResults><opensearch:startIndex>%d</opensearch:startIndex><opensearch:itemsPerPage>%d</opensearch:itemsPerPage>`, len(hits), start, n)
		for _, h := range page {
			fmt.Fprintf(&b, `<entry><title>%s</title><id>%s</id><link href="/record/%s"/><author><name>%s</name></author><dc:date>%d</dc:date><dc:identifier>urn:isbn:%s</dc:identifier></entry>`,
				html.EscapeString(h.title), h.id, h.id, html.EscapeString(h.author), h.year, h.isbn)
		}
		b.WriteString(`</feed>`)
	}
	body := b.String()
	if m.mode.Load() == "truncated" {
		body = body[:len(body)*2/3]
	}
	fmt.Fprint(w, body)
}

func (m *member) terms() (string, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastTerms, m.lastRawQuery
}

func newConnector(t *testing.T, m *member, opts map[string]any) *Connector {
	t.Helper()
	c, err := New(slog.New(slog.DiscardHandler), "harbour", m.srv.URL+"/opensearch.xml", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func query(t *testing.T, s string) federate.Query {
	t.Helper()
	q, err := federate.ParseQuery(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func titles(p federate.Page) []string {
	var out []string
	for _, r := range p.Records {
		out = append(out, r.Title)
	}
	return out
}

func TestEndToEndSearches(t *testing.T) {
	m := newMember(t, atomAndRSS)
	for _, tc := range []struct {
		name       string
		opts       map[string]any
		q          string
		w          federate.Window
		wantTitles []string
		wantTotal  int
		wantTerms  string
		relaxed    bool
	}{
		{"Atom: two words", nil, "collins fire", federate.Window{Limit: 10},
			[]string{"Catching Fire"}, 1, "collins fire", false},
		{"Atom: second page by startIndex", nil, "collins", federate.Window{Offset: 1, Limit: 2},
			[]string{"Catching Fire", "Mockingjay"}, 3, "collins", false},
		{"RSS preferred", map[string]any{"type": TypeRSS}, "dune", federate.Window{Limit: 10},
			[]string{"Dune", "Dune Messiah", "Children of Dune"}, 3, "dune", false},
		{"a field is relaxed to a word", nil, "title:mockingjay", federate.Window{Limit: 10},
			[]string{"Mockingjay"}, 1, "mockingjay", true},
		{"delimiters reach the member as text", nil, `"tom & jerry:"`, federate.Window{Limit: 10},
			[]string{"Tom & Jerry: the movie"}, 1, `"tom & jerry:"`, false},
		{"non-Latin text", nil, "война", federate.Window{Limit: 10},
			[]string{"Война и мир"}, 1, "война", false},
		{"nothing found", nil, "zyzzyva", federate.Window{Limit: 10}, nil, 0, "zyzzyva", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConnector(t, m, tc.opts)
			p, err := c.Search(t.Context(), query(t, tc.q), tc.w)
			if err != nil {
				t.Fatal(err)
			}
			if got := titles(p); strings.Join(got, "|") != strings.Join(tc.wantTitles, "|") || p.Total != tc.wantTotal {
				t.Errorf("titles %q total %d, want %q %d", got, p.Total, tc.wantTitles, tc.wantTotal)
			}
			if terms, _ := m.terms(); terms != tc.wantTerms {
				t.Errorf("member saw searchTerms %q, want %q", terms, tc.wantTerms)
			}
			if (len(p.Relaxed) > 0) != tc.relaxed {
				t.Errorf("relaxed %q", p.Relaxed)
			}
			for i, r := range p.Records {
				if r.Member != "harbour" || r.Rank != tc.w.Offset+i+1 {
					t.Errorf("record %d: member %q rank %d", i, r.Member, r.Rank)
				}
				if len(r.Links) != 1 || !strings.HasPrefix(r.Links[0].URL, m.srv.URL+"/record/") {
					t.Errorf("record %d links %v", i, r.Links)
				}
			}
		})
	}
}

func TestEndToEndFetchesTheDescriptionOnce(t *testing.T) {
	m := newMember(t, atomAndRSS)
	c := newConnector(t, m, nil)
	if m.descHits.Load() != 0 {
		t.Fatal("New fetched the description")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.Search(t.Context(), query(t, "dune"), federate.Window{Limit: 5}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := m.descHits.Load(); n != 1 {
		t.Errorf("description fetched %d times", n)
	}
}

func TestEndToEndTemplateAndRecordURLOptions(t *testing.T) {
	m := newMember(t, atomAndRSS)
	c := newConnector(t, m, map[string]any{
		"template":   m.srv.URL + "/search?q={searchTerms}&start={startIndex}&n={count}&fmt=rss",
		"record_url": "https://catalogue.harbour.example.org/Record/{id}",
	})
	p, err := c.Search(t.Context(), query(t, "hunger"), federate.Window{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if m.descHits.Load() != 0 {
		t.Error("the description was fetched although a template is configured")
	}
	if len(p.Records) != 1 || p.Records[0].Links[0].URL != "https://catalogue.harbour.example.org/Record/b1" {
		t.Errorf("records %+v", p.Records)
	}
}

func TestEndToEndCQLFields(t *testing.T) {
	m := newMember(t, atomAndRSS)
	c := newConnector(t, m, map[string]any{"fields": "cql"})
	if _, err := c.Search(t.Context(), query(t, `title:dune year:1965`), federate.Window{Limit: 10}); err != nil {
		t.Fatal(err)
	}
	if terms, raw := m.terms(); terms != `dc.title = "dune" and dc.date = 1965` || strings.ContainsAny(raw, `" `) {
		t.Errorf("member saw %q (raw query %s)", terms, raw)
	}
}

func TestEndToEndFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     string
		want     string
		rejected bool // wraps federate.ErrQueryRejected
		is       error
	}{
		{"an HTML page with 200", "html", "opensearch harbour: search: read feed: member answered with an HTML page, not an OpenSearch feed", false, errHTML},
		{"a server error", "500", "HTTP 500 Internal Server Error: java.lang.NullPointerException", false, nil},
		{"a truncated feed", "truncated", "opensearch harbour: search: read feed: the document ends before its root element is closed (truncated?)", false, errTruncated},
		{"a missing description", "desc404", "opensearch harbour: search: fetch description " + "", false, nil},
		{"a 400 for the query", "400", "HTTP 400 Bad Request", true, nil},
		{"not XML at all", "garbage", "not an XML document", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMember(t, atomAndRSS)
			m.mode.Store(tc.mode)
			c := newConnector(t, m, nil)
			p, err := c.Search(t.Context(), query(t, "dune"), federate.Window{Limit: 10})
			if err == nil {
				t.Fatalf("no error; page %+v", p)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want one containing %q", err, tc.want)
			}
			if errors.Is(err, federate.ErrQueryRejected) != tc.rejected {
				t.Errorf("error %v: query rejected = %v, want %v", err, !tc.rejected, tc.rejected)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if tc.mode == "desc404" {
				var he *remote.HTTPError
				if !errors.As(err, &he) || he.Status != http.StatusNotFound {
					t.Errorf("error %v does not carry the 404", err)
				}
			}
		})
	}
}

func TestEndToEndDescriptionRetryWaitsForTheBackoff(t *testing.T) {
	m := newMember(t, atomAndRSS)
	m.mode.Store("desc404")
	c := newConnector(t, m, nil)
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }

	for i := range 3 {
		if _, err := c.Search(t.Context(), query(t, "dune"), federate.Window{Limit: 5}); err == nil {
			t.Fatalf("search %d: no error", i)
		} else if i > 0 && !strings.Contains(err.Error(), "next try in 30s") {
			t.Errorf("search %d: %v", i, err)
		}
	}
	if n := m.descHits.Load(); n != 1 {
		t.Fatalf("description fetched %d times within the backoff", n)
	}
	m.mode.Store("")
	now = now.Add(retryAfter)
	p, err := c.Search(t.Context(), query(t, "dune"), federate.Window{Limit: 5})
	if err != nil || len(p.Records) != 3 {
		t.Fatalf("after the backoff: %v %v", titles(p), err)
	}
	if n := m.descHits.Load(); n != 2 {
		t.Errorf("description fetched %d times", n)
	}
}

func TestEndToEndDeadline(t *testing.T) {
	m := newMember(t, atomAndRSS)
	c := newConnector(t, m, nil)
	// Load the description first so the deadline hits the search itself.
	if _, err := c.Search(t.Context(), query(t, "dune"), federate.Window{Limit: 5}); err != nil {
		t.Fatal(err)
	}
	m.mode.Store("slow")
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Search(ctx, query(t, "dune"), federate.Window{Limit: 5})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want the deadline", err)
	}
	// A cancelled description fetch is not remembered as the member's failure.
	m2 := newMember(t, atomAndRSS)
	c2 := newConnector(t, m2, nil)
	cctx, ccancel := context.WithCancel(t.Context())
	ccancel()
	if _, err := c2.Search(cctx, query(t, "dune"), federate.Window{Limit: 5}); err == nil {
		t.Fatal("a cancelled search succeeded")
	}
	if _, err := c2.Search(t.Context(), query(t, "dune"), federate.Window{Limit: 5}); err != nil {
		t.Errorf("the next search failed: %v", err)
	}
}

func TestEndToEndQueryWithNothingToSend(t *testing.T) {
	m := newMember(t, atomAndRSS)
	c := newConnector(t, m, nil)
	_, err := c.Search(t.Context(), query(t, "year:1990..2000"), federate.Window{Limit: 5})
	if !errors.Is(err, federate.ErrQueryRejected) {
		t.Errorf("error = %v, want a rejected query", err)
	}
	if m.searchHits.Load() != 0 || m.descHits.Load() != 0 {
		t.Error("the member was called")
	}
}

func TestNewValidatesItsArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  string
		opts map[string]any
		want string
	}{
		{"an unknown option", "http://127.0.0.1/os.xml", map[string]any{"max_concurrent": 4},
			`opensearch harbour: unknown option "max_concurrent" for the opensearch connector (known: fields, record_url, template, type)`},
		{"a wrong type", "http://127.0.0.1/os.xml", map[string]any{"type": "text/html"}, "must be application/atom+xml or application/rss+xml"},
		{"a non-string option", "http://127.0.0.1/os.xml", map[string]any{"fields": 3}, "option fields must be a string"},
		{"an unknown syntax", "http://127.0.0.1/os.xml", map[string]any{"fields": "lucene"}, `option fields is "lucene"; it must be plain or cql`},
		{"a record_url without {id}", "http://127.0.0.1/os.xml", map[string]any{"record_url": "https://x.example/r"}, "has no {id}"},
		{"a relative description URL", "/opensearch.xml", nil, "not an absolute http(s) URL"},
		{"no description URL and no template", "", nil, "not an absolute http(s) URL"},
		{"a template with a required extension parameter", "", map[string]any{"template": "http://127.0.0.1/s?q={searchTerms}&t={time:start}"},
			"option template: required parameter {time:start}"},
		{"a template without searchTerms", "", map[string]any{"template": "http://127.0.0.1/s"}, "no {searchTerms}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(nil, "harbour", tc.url, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	c, err := New(nil, "harbour", "", map[string]any{"template": "http://127.0.0.1/s?q={searchTerms}"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind() != "opensearch" || c.Close() != nil {
		t.Error("Kind or Close")
	}
}

// TestEngineOverOpenSearch runs a federated search over a working
// OpenSearch member and one whose catalogue fails: the answer is partial,
// the working member's records are merged, the failing one is reported.
func TestEngineOverOpenSearch(t *testing.T) {
	good := newMember(t, atomAndRSS)
	bad := newMember(t, atomAndRSS)
	bad.mode.Store("500")
	goodC := newConnector(t, good, nil)
	badC, err := New(nil, "downtown", bad.srv.URL+"/opensearch.xml", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer badC.Close()
	e, err := federate.NewEngine(slog.New(slog.DiscardHandler), federate.EngineConfig{}, nil, []federate.Member{
		{ID: "harbour", Name: "Harbour City Library", Connector: goodC},
		{ID: "downtown", Name: "Downtown Library", Connector: badC},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.Search(t.Context(), federate.Request{Query: query(t, "title:dune"), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Partial {
		t.Error("not partial")
	}
	byID := map[string]federate.MemberStatus{}
	for _, s := range resp.Members {
		byID[s.ID] = s
	}
	if s := byID["harbour"]; s.Status != federate.StatusOK || s.Hits != 3 || s.Returned != 3 || len(s.Relaxed) != 1 {
		t.Errorf("harbour: %+v", s)
	}
	if s := byID["downtown"]; s.Status != federate.StatusError || !strings.Contains(s.Error, "HTTP 500") {
		t.Errorf("downtown: %+v", s)
	}
	var got []string
	for _, r := range resp.Results {
		got = append(got, r.Title)
		if len(r.Holdings) != 1 || r.Holdings[0].Member != "harbour" {
			t.Errorf("result %q holdings %+v", r.Title, r.Holdings)
		}
	}
	if len(got) != 3 {
		t.Errorf("results %q", got)
	}
}
