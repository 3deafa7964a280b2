package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/federate"
	"github.com/prometheus/client_golang/prometheus"
)

const cachedConfig = `
# These tests read operational data freely; operator access has its own.
server:
  operator: {open: true}
consortium:
  id: test
  name: Test Consortium
  defaults:
    search: {timeout_ms: 400, max_timeout_ms: 1000, page_size: 10}
institutions:
  - {id: good, name: Good University}
  - {id: fails, name: Failing College}
`

// startCachedServer serves a consortium of a good and a failing member with
// the hot-query cache on (TTLs long enough never to expire during a test:
// expiry is tested on a fake clock in federate and cache).
func startCachedServer(t *testing.T) *testServer {
	t.Helper()
	cfg, err := consortium.Parse([]byte(cachedConfig), "test.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	members := map[string]*fakeConnector{
		"good":  {records: []federate.Record{dune("good", "g1")}},
		"fails": {err: errors.New("HTTP 503 Service Unavailable")},
	}
	var ms []federate.Member
	for _, in := range cfg.Institutions {
		ms = append(ms, federate.Member{ID: in.ID, Name: in.Name, Connector: members[in.ID], Timeout: 300 * time.Millisecond,
			BreakerFailures: 100, BreakerOpenFor: time.Hour})
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	engine, err := federate.NewEngine(logger, federate.EngineConfig{DefaultTimeout: 400 * time.Millisecond, MaxTimeout: time.Second,
		Cache: federate.CacheConfig{TTL: time.Hour, PartialTTL: time.Hour, StaleGrace: time.Minute}}, federate.NewMetrics(reg), ms)
	if err != nil {
		t.Fatal(err)
	}
	srv := New(logger, cfg, engine, reg)
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
	return &testServer{base: "http://" + ln.Addr().String(), members: members}
}

// cachedReply is what a test looks at in a search response.
type cachedReply struct {
	status       int
	etag, cc     string
	body         []byte
	cached, part bool
}

func (ts *testServer) searchWith(t *testing.T, path string, header ...string) cachedReply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ts.base+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	r := cachedReply{status: resp.StatusCode, etag: resp.Header.Get("ETag"), cc: resp.Header.Get("Cache-Control"), body: body}
	if resp.StatusCode == http.StatusOK {
		var got struct {
			Cached  bool `json:"cached"`
			Partial bool `json:"partial"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%s: %v: %s", path, err, body)
		}
		r.cached, r.part = got.Cached, got.Partial
	}
	return r
}

func TestRepeatedSearchesComeFromTheCacheWithValidators(t *testing.T) {
	ts := startCachedServer(t)
	const path = "/api/v1/search?q=dune&scope=good"
	first := ts.searchWith(t, path)
	if first.status != 200 || first.cached || first.etag == "" || !strings.HasPrefix(first.cc, "public, max-age=") {
		t.Fatalf("first search: %d cached %v etag %q cache-control %q", first.status, first.cached, first.etag, first.cc)
	}
	if typed := ts.searchWith(t, "/api/v1/search?q=DUNE&scope=good"); !typed.cached { // the same query, typed differently
		t.Fatal("q=DUNE was not answered from the cache")
	}
	second, third := ts.searchWith(t, path), ts.searchWith(t, path)
	if !second.cached || !third.cached || second.etag != third.etag || string(second.body) != string(third.body) {
		t.Fatalf("cached searches: cached %v %v, etags %q %q; want identical cached answers", second.cached, third.cached, second.etag, third.etag)
	}
	if n := ts.members["good"].calls.Load(); n != 1 {
		t.Fatalf("member called %d times, want 1", n)
	}
	tests := []struct {
		title       string
		ifNoneMatch string
		want        int
	}{
		{"the current ETag", third.etag, 304},
		{"the current ETag, weak", "W/" + third.etag, 304},
		{"the current ETag in a list", `"other", ` + third.etag, 304},
		{"any ETag", "*", 304},
		{"an older ETag", first.etag, 200},
		{"an unrelated ETag", `"abc"`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			r := ts.searchWith(t, path, "If-None-Match", tt.ifNoneMatch)
			if r.status != tt.want || r.etag != third.etag {
				t.Fatalf("status %d etag %q, want %d with %q", r.status, r.etag, tt.want, third.etag)
			}
			if r.status == 304 && (len(r.body) != 0 || !strings.HasPrefix(r.cc, "public, max-age=")) {
				t.Fatalf("304 with body %q, cache-control %q", r.body, r.cc)
			}
		})
	}
}

func TestBypassAndPartialAnswersAreNotStoredByClients(t *testing.T) {
	ts := startCachedServer(t)
	ts.searchWith(t, "/api/v1/search?q=dune&scope=good")
	bypass := ts.searchWith(t, "/api/v1/search?q=dune&scope=good&cache=bypass")
	if bypass.cached || bypass.cc != "no-store" || ts.members["good"].calls.Load() != 2 {
		t.Fatalf("bypass: cached %v cache-control %q calls %d", bypass.cached, bypass.cc, ts.members["good"].calls.Load())
	}
	for i, want := range []bool{false, true} {
		r := ts.searchWith(t, "/api/v1/search?q=dune")
		if !r.part || r.cached != want || r.cc != "no-store" {
			t.Fatalf("partial search %d: partial %v cached %v cache-control %q; want partial, cached %v, no-store", i+1, r.part, r.cached, r.cc, want)
		}
	}
	var got struct {
		Error apiError `json:"error"`
	}
	if code := ts.get(t, "/api/v1/search?q=dune&cache=never", &got); code != 400 || got.Error.Field != "cache" {
		t.Fatalf("cache=never: %d %+v", code, got.Error)
	}
}

func TestCacheMetricsAreExported(t *testing.T) {
	ts := startCachedServer(t)
	for range 3 {
		ts.searchWith(t, "/api/v1/search?q=dune&scope=good")
	}
	resp, err := http.Get(ts.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`commonshelf_cache_hits_total{cache="search"} 2`,
		`commonshelf_cache_misses_total{cache="search"} 1`,
		`commonshelf_cache_stale_serves_total{cache="search"} 0`,
		`commonshelf_cache_evictions_total{cache="search"} 0`,
		`commonshelf_cache_coalesced_callers_total{cache="search"} 0`,
		`commonshelf_cache_entries{cache="search"} 1`,
		`commonshelf_cache_bytes{cache="search"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestEncodedPagesAreReusedOnlyForTheSameParameters(t *testing.T) {
	ts := startCachedServer(t)
	ts.searchWith(t, "/api/v1/search?q=dune&scope=good")
	for range 2 { // the second of each is the reused encoding
		plain := ts.searchWith(t, "/api/v1/search?q=dune&scope=good")
		explained := ts.searchWith(t, "/api/v1/search?q=dune&scope=good&explain=1")
		typed := ts.searchWith(t, "/api/v1/search?q=Dune&scope=good")
		if !plain.cached || !explained.cached || !typed.cached {
			t.Fatal("not cached")
		}
		if strings.Contains(string(plain.body), `"explain"`) || !strings.Contains(string(explained.body), `"explain"`) {
			t.Fatalf("explain mixed up:\n%s\n%s", plain.body, explained.body)
		}
		if !strings.Contains(string(typed.body), `"raw":"Dune"`) || plain.etag == typed.etag {
			t.Fatalf("the query as typed is not echoed: %s", typed.body)
		}
	}
	if n := ts.members["good"].calls.Load(); n != 1 {
		t.Fatalf("member called %d times, want 1", n)
	}
}
