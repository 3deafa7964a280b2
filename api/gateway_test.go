package api

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/federate"
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
	h := New(logger, cfg, engine, reg).Handler()
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
