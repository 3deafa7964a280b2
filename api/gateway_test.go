package api

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/federate"
	"github.com/commonshelf/commonshelf/index"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

func TestGatewayPagesAndExports(t *testing.T) {
	ts := startServer(t)
	for _, tc := range []struct {
		title, path, accept string
		status              int
		contentType, has    string
	}{
		{"the gateway page carries a strict policy", "/", "", 200, "text/html", "Find books"},
		{"an institution's page speaks its language", "/i/good/?q=dune", "", 200, "text/html", `lang="fr"`},
		{"the browser's language beats the institution's", "/i/good/?q=dune", "de", 200, "text/html", `lang="de"`},
		{"a bad query is a friendly message with its position", "/?q=(dune", "", 400, "text/html", "character"},
		{"an unknown institution is an HTML 404", "/i/nobody/", "", 404, "text/html", "Page not found"},
		{"RIS export re-runs the search", "/export/ris?q=dune&id=isbn:9780441172719", "", 200, "application/x-research-info-systems", "TI  - Dune"},
		{"BibTeX export", "/export/bibtex?q=dune&id=isbn:9780441172719", "", 200, "application/x-bibtex", "@book{herbert1965dune,"},
		{"exporting a work the search lacks", "/export/ris?q=dune&id=isbn:1", "", 404, "text/plain", "no work"},
		{"the style sheet", "/static/style.css", "", 200, "text/css", ":root"},
	} {
		t.Run(tc.title, func(t *testing.T) {
			req, _ := http.NewRequest("GET", ts.base+tc.path, nil)
			if tc.accept != "" {
				req.Header.Set("Accept-Language", tc.accept)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.contentType) || !strings.Contains(string(body), tc.has) {
				t.Errorf("got %d %s, want %d %s containing %q:\n%.600s", resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, tc.contentType, tc.has, body)
			}
			if tc.contentType == "text/html" && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
				t.Errorf("no Content-Security-Policy: %q", resp.Header.Get("Content-Security-Policy"))
			}
		})
	}
}

// BenchmarkGatewayCachedSearchPage renders the gateway page of a search
// whose answer is cached, through the server's handler (no network).
func BenchmarkGatewayCachedSearchPage(b *testing.B) {
	cfg, err := consortium.Parse([]byte(testConfig), "test.yaml", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	var recs []federate.Record
	for i := range 40 {
		r := dune("good", "g"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		r.Title = "Dune " + r.RecordID
		r.Identifiers = federate.Identifiers{}
		r.Links = []federate.Link{{URL: "https://cat.example.org/" + r.RecordID, Label: "Catalogue record"}}
		recs = append(recs, r)
	}
	var ms []federate.Member
	for _, in := range cfg.Institutions {
		ms = append(ms, federate.Member{ID: in.ID, Name: in.Name, Connector: &fakeConnector{records: recs}, Timeout: 300 * time.Millisecond})
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	engine, err := federate.NewEngine(logger, federate.EngineConfig{DefaultTimeout: 400 * time.Millisecond, MaxTimeout: time.Second,
		Cache: federate.CacheConfig{MaxEntries: 100, MaxBytes: 16 << 20, TTL: time.Hour}}, federate.NewMetrics(reg), ms)
	if err != nil {
		b.Fatal(err)
	}
	srv := New(logger, cfg, engine, reg)
	srv.SetReady(true)
	h := srv.Handler()
	var ctx fasthttp.RequestCtx
	get := func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI("/i/good/?q=dune&lang=en")
		h(&ctx)
	}
	get() // fills the cache
	if ctx.Response.StatusCode() != 200 || !strings.Contains(string(ctx.Response.Body()), "Dune g") {
		b.Fatalf("first page: %d %.300s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	b.ReportAllocs()
	for b.Loop() {
		get()
	}
	b.ReportMetric(float64(len(ctx.Response.Body())), "bytes/page")
}

func TestInstitutionPageWithoutTrailingSlashRedirects(t *testing.T) {
	ts := startServer(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(ts.base + "/i/good?q=dune")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || !strings.HasSuffix(resp.Header.Get("Location"), "/i/good/?q=dune") {
		t.Fatalf("%d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// startListGateway serves the test consortium with a resource-list store
// holding three published lists: two of Good University's, one of Failing
// College's.
func startListGateway(t *testing.T) string {
	t.Helper()
	cfg, err := consortium.Parse([]byte(testConfig), "test.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var ms []federate.Member
	for _, in := range cfg.Institutions {
		ms = append(ms, federate.Member{ID: in.ID, Name: in.Name, Connector: &fakeConnector{}, Timeout: 300 * time.Millisecond})
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	engine, err := federate.NewEngine(logger, federate.EngineConfig{DefaultTimeout: 400 * time.Millisecond, MaxTimeout: time.Second},
		federate.NewMetrics(reg), ms)
	if err != nil {
		t.Fatal(err)
	}
	store, err := index.Open(logger, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for _, l := range []struct {
		inst, id, code, dept, term string
		year                       int
		typ, importance            string
	}{
		{"good", "hist", "HIST 101", "Arts, Humanities", "Autumn", 2024, index.TypeBook, index.ImportanceRequired},
		{"good", "chem", "CHEM 101", "Chemistry", "Spring", 2025, index.TypeArticle, index.ImportanceRecommended},
		{"fails", "phil", "PHIL 101", "Philosophy", "Autumn", 2024, index.TypeChapter, index.ImportanceOptional},
	} {
		list := &index.List{Institution: l.inst, ID: l.id, Name: "Readings for " + l.code, Status: index.StatusPublished,
			Visibility: index.VisibilityPublic, Course: index.Course{Code: l.code, Name: "Introduction", Department: l.dept, Term: l.term, Year: l.year},
			Sections: []index.Section{{Title: "Week 1", Citations: []index.Citation{{ID: "c1", Type: l.typ, Title: "Dune", Importance: l.importance}}}}}
		if _, err := store.Put(context.Background(), list); err != nil {
			t.Fatalf("put %s/%s: %v", l.inst, l.id, err)
		}
	}
	srv := New(logger, cfg, engine, reg)
	srv.SetLists(store)
	srv.SetReady(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}

func TestListsTabFacetsNarrowTheListsAndStayInTheLinks(t *testing.T) {
	base := startListGateway(t)
	courses := []string{"HIST 101", "CHEM 101", "PHIL 101"}
	for _, tc := range []struct {
		title, path string
		status      int
		lists       []string // the courses shown, when 200
		has, hasNot []string
	}{
		{"without a filter every list shows, with facets named in words", "/?tab=lists&lang=en", 200, courses,
			[]string{`class="facetform"`, `<legend>Institution</legend>`, `Good University (2)`, `Failing College (1)`,
				`value="good"`, `Arts, Humanities (1)`, `Book chapter (1)`, `Required (1)`, `<legend>Type of reading</legend>`,
				`<input type="hidden" name="tab" value="lists">`, `id="result-count" role="status"`},
			[]string{`class="clear"`}},
		{"an institution narrows to its lists", "/?tab=lists&filter.institution=good&lang=en", 200, []string{"HIST 101", "CHEM 101"},
			[]string{`name="filter.institution" value="good" checked`, `2 resource lists found`, `class="clear" href="/?lang=en&amp;tab=lists"`,
				`href="/?filter.institution=good&amp;lang=en&amp;tab=lists">Link to this search`,
				`href="/?filter.institution=good&amp;lang=de&amp;tab=lists"`},
			nil},
		{"a department with a comma is one value", "/?tab=lists&filter.department=Arts%2C+Humanities&lang=en", 200, []string{"HIST 101"},
			[]string{`value="Arts, Humanities" checked`, `filter.department=Arts%2C&#43;Humanities&amp;lang=en`}, nil},
		{"different facets must all hold", "/?tab=lists&filter.year=2024&filter.importance=required&lang=en", 200, []string{"HIST 101"}, nil, nil},
		{"values of one facet are alternatives, comma-separated or repeated", "/?tab=lists&filter.year=2024,2025&filter.term=Autumn&filter.term=Spring&lang=en", 200, courses, nil, nil},
		{"a year is read as a number", "/?tab=lists&filter.year=02025&lang=en", 200, []string{"CHEM 101"}, []string{`value="2025" checked`}, nil},
		{"filters and the query work together on an institution's page", "/i/good/?tab=lists&q=dune&filter.term=Autumn&lang=en", 200, []string{"HIST 101", "PHIL 101"},
			[]string{`action="/i/good/"`, `<input type="hidden" name="q" value="dune">`}, nil},
		{"a chosen value nothing has stays on show, escaped", "/?tab=lists&filter.term=%3Cscript%3Ealert(1)%3C/script%3E&lang=en", 200, nil,
			[]string{`value="&lt;script&gt;alert(1)&lt;/script&gt;" checked`, `filter.term=%3Cscript%3Ealert%281%29%3C%2Fscript%3E`, `No resource list matches`},
			[]string{`<script>alert`}},
		{"an unknown facet is a 400 naming the known ones", "/?tab=lists&filter.format=book&lang=en", 400, nil,
			[]string{`“filter.format” is not a filter of the resource lists; use filter.institution, filter.department`}, nil},
		{"a year that is not one is a 400", "/?tab=lists&filter.year=soon&lang=en", 400, nil, []string{`“soon” is not a year`}, nil},
		{"an unknown institution is a 400", "/?tab=lists&filter.institution=nobody&lang=en", 400, nil, []string{`no institution “nobody”`}, nil},
		{"a value outside a closed list is a 400 in the page's language", "/?tab=lists&filter.importance=essential&lang=fr", 400, nil,
			[]string{`Le filtre « Importance » ne peut pas valoir « essential »`, `required, recommended, optional`}, nil},
		{"a bad value is escaped on the error page", "/?tab=lists&filter.citation_type=%3Cscript%3E&lang=de", 400, nil,
			[]string{`„&lt;script&gt;“`}, []string{`<script>`}},
	} {
		t.Run(tc.title, func(t *testing.T) {
			resp, err := http.Get(base + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			body := string(b)
			if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("got %d %s, want %d HTML:\n%.1500s", resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, body)
			}
			if tc.status == 200 {
				for _, c := range courses {
					if shown := strings.Contains(body, "<h4>"+c+" Introduction</h4>"); shown != slices.Contains(tc.lists, c) {
						t.Errorf("%s shown: %v; want the lists of %q", c, shown, tc.lists)
					}
				}
			}
			for _, s := range tc.has {
				if !strings.Contains(body, s) {
					t.Errorf("the page lacks %s", s)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(body, s) {
					t.Errorf("the page has %s", s)
				}
			}
		})
	}
}
