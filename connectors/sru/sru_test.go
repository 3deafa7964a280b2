package sru

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/connectors/remote"
	"github.com/commonshelf/commonshelf/federate"
)

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    map[string]any
		wantErr string
		check   func(t *testing.T, o Options)
	}{
		{"no options: SRU 1.2, MARCXML, the default indexes", nil, "", func(t *testing.T, o Options) {
			if o.Version != "1.2" || o.RecordSchema != "marcxml" || o.MaxRecords != 300 || o.Indexes.Subject != "dc.subject" || o.Explain {
				t.Errorf("%+v", o)
			}
		}},
		{"YAML reads version 2.0 as a number", map[string]any{"version": 2.0}, "", func(t *testing.T, o Options) {
			if o.Version != "2.0" {
				t.Errorf("version %q", o.Version)
			}
		}},
		{"and 1.2 as a number too", map[string]any{"version": 1.2}, "", func(t *testing.T, o Options) {
			if o.Version != "1.2" {
				t.Errorf("version %q", o.Version)
			}
		}},
		{"every option", map[string]any{"version": "2.0", "record_schema": "dc", "explain": true, "max_records": 20,
			"record_url": "https://x.example.org/r/{id}", "indexes": []any{"subject=bath.topicalSubject", "any=cql.anywhere"}}, "",
			func(t *testing.T, o Options) {
				if o.RecordSchema != "dc" || !o.Explain || o.MaxRecords != 20 || o.Indexes.Subject != "bath.topicalSubject" ||
					o.Indexes.Any != "cql.anywhere" || o.Indexes.Title != "dc.title" {
					t.Errorf("%+v", o)
				}
			}},
		{"indexes as one string", map[string]any{"indexes": "title=dc.title, author=bath.name"}, "", func(t *testing.T, o Options) {
			if o.Indexes.Author != "bath.name" {
				t.Errorf("%+v", o.Indexes)
			}
		}},
		{"indexes as a map", map[string]any{"indexes": map[string]any{"isbn": "dc.identifier"}}, "", func(t *testing.T, o Options) {
			if o.Indexes.ISBN != "dc.identifier" {
				t.Errorf("%+v", o.Indexes)
			}
		}},
		{"an unknown option is named", map[string]any{"timeout": 3}, `unknown option "timeout"`, nil},
		{"an unsupported version", map[string]any{"version": "1.1"}, `version: "1.1" is not supported`, nil},
		{"an unknown schema", map[string]any{"record_schema": "mods"}, `record_schema must be "marcxml" or "dc"`, nil},
		{"explain must be a boolean", map[string]any{"explain": "yes"}, "explain must be true or false", nil},
		{"max_records must not be negative", map[string]any{"max_records": -1}, "max_records must be a whole number", nil},
		{"an unknown field in indexes", map[string]any{"indexes": []any{"genre=dc.type"}}, `unknown field "genre"`, nil},
		{"an index that would inject CQL", map[string]any{"indexes": []any{`title=dc.title="x" or dc.title`}}, "is not a CQL index name", nil},
		{"an entry without =", map[string]any{"indexes": []any{"dc.title"}}, `"dc.title" is not "field=index"`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(nil, "north", "http://127.0.0.1:9/north", tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "sru north: ") {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.Kind() != "sru" {
				t.Errorf("kind %q", c.Kind())
			}
			tc.check(t, c.opts)
		})
	}
	if _, err := New(nil, "north", "ftp://example.org/x", nil); err == nil {
		t.Error("an ftp URL was accepted")
	}
}

func TestRequestURL(t *testing.T) {
	tests := []struct {
		name string
		base string
		opts map[string]any
		w    federate.Window
		want url.Values
	}{
		{"SRU 1.2: startRecord is offset+1, maximumRecords always sent", "http://127.0.0.1:9/north", nil,
			federate.Window{Offset: 20, Limit: 50}, url.Values{
				"version": {"1.2"}, "operation": {"searchRetrieve"}, "query": {`dc.title = "dune"`},
				"startRecord": {"21"}, "maximumRecords": {"50"}, "recordSchema": {"marcxml"}, "recordPacking": {"xml"}}},
		{"SRU 2.0 asks for XML records with recordXMLEscaping", "http://127.0.0.1:9/north", map[string]any{"version": "2.0", "record_schema": "dc"},
			federate.Window{Offset: 0, Limit: 10}, url.Values{
				"version": {"2.0"}, "query": {`dc.title = "dune"`},
				"startRecord": {"1"}, "maximumRecords": {"10"}, "recordSchema": {"dc"}, "recordXMLEscaping": {"xml"}}},
		{"max_records caps the page; the base URL's own parameters stay", "http://127.0.0.1:9/north?x-key=abc", map[string]any{"max_records": 25},
			federate.Window{Offset: 0, Limit: 300}, url.Values{
				"x-key": {"abc"}, "version": {"1.2"}, "operation": {"searchRetrieve"}, "query": {`dc.title = "dune"`},
				"startRecord": {"1"}, "maximumRecords": {"25"}, "recordSchema": {"marcxml"}, "recordPacking": {"xml"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(nil, "north", tc.base, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(c.requestURL(`dc.title = "dune"`, tc.w))
			if err != nil {
				t.Fatal(err)
			}
			got := u.Query()
			if len(got) != len(tc.want) {
				t.Errorf("parameters %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if !slices.Equal(got[k], v) {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// fakeSRU is a hand-written SRU member: it records the CQL of every
// searchRetrieve and answers with what answer returns.
type fakeSRU struct {
	mu       sync.Mutex
	queries  []string
	explains int
	answer   func(w http.ResponseWriter, r *http.Request, cql string)
	srv      *httptest.Server
}

func newFakeSRU(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, cql string)) *fakeSRU {
	f := &fakeSRU{answer: answer}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f.mu.Lock()
		if q.Get("operation") == "explain" {
			f.explains++
		} else {
			f.queries = append(f.queries, q.Get("query"))
		}
		f.mu.Unlock()
		f.answer(w, r, q.Get("query"))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSRU) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries...)
}

func xmlAnswer(body []byte) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, _ *http.Request, _ string) {
		w.Header().Set("Content-Type", "text/xml")
		w.Write(body)
	}
}

func diag16(details string) []byte {
	return []byte(`<?xml version="1.0"?><zs:searchRetrieveResponse xmlns:zs="http://www.loc.gov/zing/srw/"><zs:version>1.2</zs:version>` +
		`<zs:diagnostics xmlns:diag="http://www.loc.gov/zing/srw/diagnostic/"><diag:diagnostic><diag:uri>info:srw/diagnostic/1/16</diag:uri>` +
		`<diag:details>` + details + `</diag:details><diag:message>Unsupported index</diag:message></diag:diagnostic></zs:diagnostics></zs:searchRetrieveResponse>`)
}

func mustQuery(t testing.TB, s string) federate.Query {
	t.Helper()
	q, err := federate.ParseQuery(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestSearchPage(t *testing.T) {
	f := newFakeSRU(t, xmlAnswer(wire(t, "zebra-north-50-marcxml.xml")))
	c, err := New(nil, "north", f.srv.URL+"/north", map[string]any{"record_url": "https://north.example.org/record/{id}"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	page, err := c.Search(context.Background(), mustQuery(t, "the"), federate.Window{Offset: 0, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 1370 || len(page.Records) != 50 || page.Rejected != 0 || len(page.Relaxed) != 0 {
		t.Fatalf("total %d records %d rejected %d relaxed %q", page.Total, len(page.Records), page.Rejected, page.Relaxed)
	}
	r := page.Records[3]
	if r.Member != "north" || r.Rank != 4 || len(r.Links) != 1 || r.Links[0].URL != "https://north.example.org/record/"+r.RecordID {
		t.Errorf("record %+v", r)
	}
	if got := f.sent(); !slices.Equal(got, []string{`cql.serverChoice = "the"`}) {
		t.Errorf("sent %q", got)
	}
}

func TestSearchRelaxesUnsupportedIndex(t *testing.T) {
	page := wire(t, "zebra-north-50-marcxml.xml")
	tests := []struct {
		name     string
		details  string
		query    string
		opts     map[string]any
		sent     []string
		relaxed  []string
		thenSent string // the CQL of a second search, once learned
	}{
		{"Zebra names the use attribute: subject", "subject", "subject:opera title:aida", nil,
			[]string{`dc.subject = "opera" and dc.title = "aida"`, `cql.serverChoice = "opera" and dc.title = "aida"`},
			[]string{"subject: searched as keywords (the member does not support dc.subject)"},
			`cql.serverChoice = "opera" and dc.title = "aida"`},
		{"a server that names the CQL index", "dc.rights", "subject:opera", map[string]any{"indexes": []any{"subject=dc.rights"}},
			[]string{`dc.rights = "opera"`, `cql.serverChoice = "opera"`},
			[]string{"subject: searched as keywords (the member does not support dc.rights)"},
			`cql.serverChoice = "opera"`},
		{"no details: every fielded index is relaxed, nothing is learned", "", "subject:opera title:aida", nil,
			[]string{`dc.subject = "opera" and dc.title = "aida"`, `cql.serverChoice = "opera" and cql.serverChoice = "aida"`},
			[]string{"subject: searched as keywords (the member does not support dc.subject)",
				"title: searched as keywords (the member does not support dc.title)"},
			""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSRU(t, func(w http.ResponseWriter, r *http.Request, cql string) {
				if strings.Contains(cql, "dc.subject") || strings.Contains(cql, "dc.rights") {
					w.Write(diag16(tc.details))
					return
				}
				w.Write(page)
			})
			c, err := New(nil, "north", f.srv.URL+"/north", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			p, err := c.Search(context.Background(), mustQuery(t, tc.query), federate.Window{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(f.sent(), tc.sent) {
				t.Errorf("sent\n %q\nwant\n %q", f.sent(), tc.sent)
			}
			if !slices.Equal(p.Relaxed, tc.relaxed) {
				t.Errorf("relaxed %q, want %q", p.Relaxed, tc.relaxed)
			}
			if len(p.Records) == 0 {
				t.Error("no records after the retry")
			}
			learned := tc.thenSent != ""
			if !learned {
				// Nothing learned: the next search tries the index again.
				tc.thenSent = tc.sent[0]
			}
			if _, err := c.Search(context.Background(), mustQuery(t, tc.query), federate.Window{Limit: 10}); err != nil {
				t.Fatal(err)
			}
			sent := f.sent()
			if sent[len(tc.sent)] != tc.thenSent || (learned && len(sent) != len(tc.sent)+1) {
				t.Errorf("second search sent %q, want %q first (and only it once learned)", sent[len(tc.sent):], tc.thenSent)
			}
		})
	}
}

func TestSearchExplainRelaxesUpFront(t *testing.T) {
	explain := wire(t, "explain.xml") // lists dc.* and bath.isbn/issn, not dc.rights
	page := wire(t, "zebra-north-50-marcxml.xml")
	f := newFakeSRU(t, func(w http.ResponseWriter, r *http.Request, cql string) {
		if r.URL.Query().Get("operation") == "explain" {
			w.Write(explain)
			return
		}
		w.Write(page)
	})
	c, err := New(nil, "north", f.srv.URL+"/north", map[string]any{"explain": true, "indexes": []any{"subject=dc.rights"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 {
		p, err := c.Search(context.Background(), mustQuery(t, "subject:opera title:aida"), federate.Window{Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.Relaxed, []string{"subject: searched as keywords (the member does not support dc.rights)"}) {
			t.Errorf("relaxed %q", p.Relaxed)
		}
	}
	if f.explains != 1 {
		t.Errorf("%d explain requests, want 1", f.explains)
	}
	want := `cql.serverChoice = "opera" and dc.title = "aida"`
	if got := f.sent(); !slices.Equal(got, []string{want, want}) {
		t.Errorf("sent %q", got)
	}
}

func TestSearchErrors(t *testing.T) {
	diag := func(code, msg string) []byte {
		return []byte(`<zs:searchRetrieveResponse xmlns:zs="http://www.loc.gov/zing/srw/"><zs:diagnostics><diagnostic xmlns="http://www.loc.gov/zing/srw/diagnostic/">` +
			`<uri>info:srw/diagnostic/1/` + code + `</uri><message>` + msg + `</message></diagnostic></zs:diagnostics></zs:searchRetrieveResponse>`)
	}
	http404 := wire(t, "http404.txt")
	_, html404, _ := bytes.Cut(http404, []byte("\r\n\r\n"))
	if len(html404) == 0 {
		_, html404, _ = bytes.Cut(http404, []byte("\n\n"))
	}
	tests := []struct {
		name          string
		answer        func(http.ResponseWriter, *http.Request, string)
		queryRejected bool
		is            error
		text          string
	}{
		{"a syntax diagnostic is the query's fault", xmlAnswer(wire(t, "diag10.xml")), true, nil,
			"sru north: search: SRU diagnostic 10 (query syntax error)"},
		{"an unsupported relation too", xmlAnswer(diag("19", "Unsupported relation")), true, nil,
			"sru north: search: SRU diagnostic 19 (unsupported relation)"},
		{"a general system error is the member's", xmlAnswer(diag("1", "Permanent system error")), false, nil,
			"sru north: search: SRU diagnostic 1 (general system error)"},
		{"an unknown schema is the configuration's", xmlAnswer(wire(t, "diag66.xml")), false, nil,
			"sru north: search: SRU diagnostic 66 (unknown schema for retrieval): mods"},
		{"an HTML page with status 200", func(w http.ResponseWriter, _ *http.Request, _ string) {
			w.Header().Set("Content-Type", "text/xml") // the content type lies
			w.Write([]byte("<!DOCTYPE html><html><body>We are down for maintenance</body></html>"))
		}, false, ErrHTML, "sru north: search: member answered with an HTML page, not an SRU response"},
		{"an unknown database: Zebra's HTML 404", func(w http.ResponseWriter, _ *http.Request, _ string) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			w.Write(html404)
		}, false, nil, "sru north: search: HTTP 404 Not Found:"},
		{"an SRU 2.0 diagnostic sent with status 400", func(w http.ResponseWriter, _ *http.Request, _ string) {
			w.WriteHeader(http.StatusBadRequest)
			w.Write(wire(t, "diag10-sru20.xml"))
		}, true, nil, "sru north: search: SRU diagnostic 10 (query syntax error)"},
		{"a 503", func(w http.ResponseWriter, _ *http.Request, _ string) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}, false, nil, "sru north: search: HTTP 503 Service Unavailable"},
		{"a truncated page", xmlAnswer(wire(t, "zebra-north-50-marcxml.xml")[:5000]), false, ErrTruncated,
			"sru north: search: member's answer is truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSRU(t, tc.answer)
			c, err := New(nil, "north", f.srv.URL+"/north", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.Search(context.Background(), mustQuery(t, "dune"), federate.Window{Limit: 10})
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, federate.ErrQueryRejected) != tc.queryRejected {
				t.Errorf("ErrQueryRejected = %v, want %v (%v)", !tc.queryRejected, tc.queryRejected, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if !strings.HasPrefix(err.Error(), tc.text) {
				t.Errorf("error %q, want it to start with %q", err, tc.text)
			}
		})
	}
}

func TestSearchBeyondTheEndIsAnEmptyPage(t *testing.T) {
	f := newFakeSRU(t, xmlAnswer(wire(t, "diag61.xml")))
	c, _ := New(nil, "north", f.srv.URL+"/north", nil)
	defer c.Close()
	p, err := c.Search(context.Background(), mustQuery(t, "dune"), federate.Window{Offset: 98, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 43 || len(p.Records) != 0 {
		t.Fatalf("%+v", p)
	}
}

func TestSearchAcceptsGzip(t *testing.T) {
	body := wire(t, "zebra-north-50-marcxml.xml")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	var sawGzip bool
	f := newFakeSRU(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			sawGzip = true
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz.Bytes())
			return
		}
		w.Write(body)
	})
	c, _ := New(nil, "north", f.srv.URL+"/north", nil)
	defer c.Close()
	p, err := c.Search(context.Background(), mustQuery(t, "the"), federate.Window{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if !sawGzip || len(p.Records) != 50 {
		t.Fatalf("gzip offered %v, %d records", sawGzip, len(p.Records))
	}
}

func TestSearchBodyCap(t *testing.T) {
	f := newFakeSRU(t, func(w http.ResponseWriter, _ *http.Request, _ string) {
		w.Write([]byte(`<zs:searchRetrieveResponse xmlns:zs="http://www.loc.gov/zing/srw/"><zs:numberOfRecords>`))
		chunk := bytes.Repeat([]byte("0"), 1<<20)
		for range 50 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	c, err := NewWithOptions(nil, "north", f.srv.URL+"/north", Options{MaxBody: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Search(context.Background(), mustQuery(t, "dune"), federate.Window{Limit: 10})
	if !errors.Is(err, remote.ErrBodyTooLarge) {
		t.Fatalf("error %v, want ErrBodyTooLarge", err)
	}
}

func TestSearchLogsTheCQL(t *testing.T) {
	f := newFakeSRU(t, xmlAnswer(wire(t, "zebra-north-50-marcxml.xml")))
	h := &captureHandler{}
	c, _ := New(slog.New(h), "north", f.srv.URL+"/north", nil)
	defer c.Close()
	if _, err := c.Search(context.Background(), mustQuery(t, `title:"the hunger games"`), federate.Window{Limit: 5}); err != nil {
		t.Fatal(err)
	}
	if got := h.cql("north"); !slices.Equal(got, []string{`dc.title adj "the hunger games"`}) {
		t.Fatalf("logged %q", got)
	}
}

func TestSearchReturnsByTheDeadline(t *testing.T) {
	release := make(chan struct{})
	f := newFakeSRU(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		w.Write([]byte(`<zs:searchRetrieveResponse xmlns:zs="http://www.loc.gov/zing/srw/">`))
		w.(http.Flusher).Flush()
		for {
			select {
			case <-release:
				return
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
				w.Write([]byte(" "))
				w.(http.Flusher).Flush()
			}
		}
	})
	defer close(release)
	c, _ := New(nil, "north", f.srv.URL+"/north", nil)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Search(ctx, mustQuery(t, "dune"), federate.Window{Limit: 10})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the deadline", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("returned after %s", took)
	}
}

// captureHandler keeps the CQL of every "sru query" debug line.
type captureHandler struct {
	mu    sync.Mutex
	lines []struct{ member, cql string }
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *captureHandler) WithGroup(string) slog.Handler            { return h }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "sru query" {
		return nil
	}
	var member, cql string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "member":
			member = a.Value.String()
		case "cql":
			cql = a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, struct{ member, cql string }{member, cql})
	h.mu.Unlock()
	return nil
}

// cql returns the CQL sent to member, in order.
func (h *captureHandler) cql(member string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, l := range h.lines {
		if l.member == member {
			out = append(out, l.cql)
		}
	}
	return out
}

// reset forgets what was captured.
func (h *captureHandler) reset() {
	h.mu.Lock()
	h.lines = nil
	h.mu.Unlock()
}
