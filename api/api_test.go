package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/federate"
	"github.com/prometheus/client_golang/prometheus"
)

// fakeConnector is a configurable member for tests through the front door.
type fakeConnector struct {
	delay   time.Duration
	err     error
	panics  bool
	records []federate.Record
	calls   atomic.Int32
}

func (f *fakeConnector) Kind() string { return "fake" }

func (f *fakeConnector) Search(ctx context.Context, q federate.Query, w federate.Window) (federate.Page, error) {
	f.calls.Add(1)
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return federate.Page{}, ctx.Err()
		}
	}
	if f.panics {
		var m map[string]int
		m["boom"]++ // a nil-map write: a real bug's panic
	}
	if f.err != nil {
		return federate.Page{}, f.err
	}
	return federate.Page{Records: append([]federate.Record(nil), f.records...), Total: len(f.records)}, nil
}

const testConfig = `
# These tests read operational data freely; operator access has its own.
server:
  operator: {open: true}
consortium:
  id: test
  name: Test Consortium
  defaults:
    search: {timeout_ms: 400, max_timeout_ms: 1000, page_size: 10}
institutions:
  - {id: good, name: Good University, overrides: {language: fr, search: {page_size: 5}}}
  - {id: fails, name: Failing College}
  - {id: sleeps, name: Sleepy Institute}
  - {id: panics, name: Panicky Library}
  - {id: malformed, name: Malformed Records Library}
  - {id: garbage, name: Garbage Body Library}
`

type testServer struct {
	base    string
	members map[string]*fakeConnector
}

func dune(member, id string) federate.Record {
	return federate.Record{RecordID: id, Title: "Dune", Authors: []string{"Herbert, Frank"}, Year: 1965,
		Format: federate.FormatBook, Identifiers: federate.Identifiers{ISBN: []string{"0441172717"}}}
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	cfg, err := consortium.Parse([]byte(testConfig), "test.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	members := map[string]*fakeConnector{
		"good":   {records: []federate.Record{dune("good", "g1")}},
		"fails":  {err: errors.New("HTTP 503 Service Unavailable")},
		"sleeps": {delay: time.Minute},
		"panics": {panics: true},
		"malformed": {records: []federate.Record{
			{RecordID: "m1", Title: ""},                                    // no title
			{RecordID: "", Title: "Orphan"},                                // no id
			{RecordID: "m3", Title: "Du\xffne", Authors: []string{"\xfe"}}, // invalid UTF-8
			{RecordID: "m4", Title: "Dune", Authors: []string{"Herbert, Frank"}, Year: 1965,
				Identifiers: federate.Identifiers{ISBN: []string{"not an isbn", "978-0-441-17271-9"}}},
		}},
		"garbage": {err: errors.New("read response: XML syntax error on line 1: unexpected EOF")},
	}
	var ms []federate.Member
	for _, in := range cfg.Institutions {
		ms = append(ms, federate.Member{ID: in.ID, Name: in.Name, Connector: members[in.ID], Timeout: 300 * time.Millisecond,
			BreakerFailures: 3, BreakerOpenFor: time.Hour})
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	engine, err := federate.NewEngine(logger, federate.EngineConfig{DefaultTimeout: 400 * time.Millisecond, MaxTimeout: time.Second},
		federate.NewMetrics(reg), ms)
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

func (ts *testServer) get(t *testing.T, path string, into any) int {
	t.Helper()
	return ts.do(t, http.MethodGet, path, into)
}

func (ts *testServer) do(t *testing.T, method, path string, into any) int {
	t.Helper()
	req, _ := http.NewRequest(method, ts.base+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); into != nil && !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s: content type %q: %s", path, ct, body)
	}
	if into != nil {
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatalf("%s: %v: %s", path, err, body)
		}
	}
	return resp.StatusCode
}

type searchJSON struct {
	Results []struct {
		ID       string `json:"id"`
		Title    string `json:"title"`
		Holdings []struct {
			Member   string `json:"member"`
			RecordID string `json:"record_id"`
		} `json:"holdings"`
	} `json:"results"`
	Members []federate.MemberStatus `json:"members"`
	Partial bool                    `json:"partial"`
	Total   int                     `json:"total"`
}

func TestFailingMembersGivePartialResultsNeverAFailedSearch(t *testing.T) {
	ts := startServer(t)
	var got searchJSON
	start := time.Now()
	if code := ts.get(t, "/api/v1/search?q=dune", &got); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	// The slowest member's deadline is 300ms; a generous margin keeps this
	// from depending on the machine's speed (exact timings are tested in
	// federate with a fake clock).
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("search took %v", took)
	}
	if !got.Partial {
		t.Error("partial = false with failing members")
	}
	want := map[string]string{"good": "ok", "fails": "error", "sleeps": "timeout", "panics": "error", "malformed": "ok", "garbage": "error"}
	for _, s := range got.Members {
		if s.Status != want[s.ID] {
			t.Errorf("member %s: status %q (%s), want %q", s.ID, s.Status, s.Error, want[s.ID])
		}
		if s.ID == "malformed" && (s.Rejected != 2 || s.Returned != 2) {
			t.Errorf("malformed member: returned %d rejected %d, want 2 and 2", s.Returned, s.Rejected)
		}
		if s.ID == "panics" && !strings.Contains(s.Error, "panicked") {
			t.Errorf("panicking member's error %q", s.Error)
		}
	}
	if len(got.Results) == 0 || got.Results[0].Title != "Dune" {
		t.Fatalf("results %+v", got.Results)
	}
	holders := map[string]bool{}
	for _, h := range got.Results[0].Holdings {
		holders[h.Member] = true
	}
	if !holders["good"] || !holders["malformed"] {
		t.Errorf("Dune holdings %v: want good's and malformed's readable record joined by ISBN", got.Results[0].Holdings)
	}
}

func TestRepeatedFailuresOpenTheBreakerAndStopCalls(t *testing.T) {
	ts := startServer(t)
	for range 3 {
		ts.get(t, "/api/v1/search?q=dune&scope=fails,good", nil)
	}
	var members struct {
		Members []federate.MemberInfo `json:"members"`
	}
	ts.get(t, "/api/v1/members", &members)
	state := map[string]string{}
	for _, m := range members.Members {
		state[m.ID] = m.Breaker
	}
	if state["fails"] != "open" || state["good"] != "closed" {
		t.Fatalf("breakers %v", state)
	}
	before := ts.members["fails"].calls.Load()
	var got searchJSON
	ts.get(t, "/api/v1/search?q=dune&scope=fails,good", &got)
	if got.Members[1].Status != "open" && got.Members[0].Status != "open" {
		t.Errorf("statuses %+v, want fails open", got.Members)
	}
	if after := ts.members["fails"].calls.Load(); after != before {
		t.Errorf("open breaker still called the member (%d → %d)", before, after)
	}
}

func TestBadInputGetsAClear4xx(t *testing.T) {
	ts := startServer(t)
	long := url.QueryEscape(strings.Repeat("word ", 201))
	tests := []struct {
		title, path string
		status      int
		code, field string
		message     string
	}{
		{"missing q", "/api/v1/search", 400, CodeInvalidQuery, "q", "required"},
		{"blank q", "/api/v1/search?q=%20%20", 400, CodeInvalidQuery, "q", "required"},
		{"unclosed quote", "/api/v1/search?q=%22hunger", 400, CodeInvalidQuery, "q", "column 1"},
		{"operator without operand", "/api/v1/search?q=dune%20AND", 400, CodeInvalidQuery, "q", ""},
		{"q over 1000 characters", "/api/v1/search?q=" + long, 400, CodeInvalidQuery, "q", "limit is 1000"},
		{"invalid UTF-8 in q", "/api/v1/search?q=%ff%fe", 400, CodeInvalidParameter, "q", "UTF-8"},
		{"unknown member", "/api/v1/search?q=dune&scope=nowhere", 400, CodeUnknownMember, "scope", "nowhere"},
		{"unknown home", "/api/v1/search?q=dune&home=nowhere", 400, CodeUnknownInstitution, "home", "nowhere"},
		{"scope=home without home", "/api/v1/search?q=dune&scope=home", 400, CodeInvalidParameter, "scope", "home="},
		{"limit zero", "/api/v1/search?q=dune&limit=0", 400, CodeInvalidParameter, "limit", "1 to 100"},
		{"limit over 100", "/api/v1/search?q=dune&limit=101", 400, CodeInvalidParameter, "limit", "1 to 100"},
		{"limit not a number", "/api/v1/search?q=dune&limit=ten", 400, CodeInvalidParameter, "limit", ""},
		{"negative offset", "/api/v1/search?q=dune&offset=-1", 400, CodeInvalidParameter, "offset", ""},
		{"paging too deep", "/api/v1/search?q=dune&offset=290&limit=20", 400, CodeInvalidParameter, "offset", "refine"},
		{"an offset that would overflow", "/api/v1/search?q=dune&offset=9223372036854775807&limit=1", 400, CodeInvalidParameter, "offset", "refine"},
		{"bad timeout", "/api/v1/search?q=dune&timeout_ms=soon", 400, CodeInvalidParameter, "timeout_ms", ""},
		{"unknown facet filter", "/api/v1/search?q=dune&filter.colour=red", 400, CodeInvalidParameter, "filter.colour", "unknown facet"},
		{"bad year filter", "/api/v1/search?q=dune&filter.year=recent", 400, CodeInvalidParameter, "filter.year", ""},
		{"misspelt parameter", "/api/v1/search?q=dune&limt=5", 400, CodeUnknownParameter, "limt", "unknown parameter"},
		{"unknown institution config", "/api/v1/institutions/nowhere/config", 404, CodeUnknownInstitution, "id", "nowhere"},
		{"unknown endpoint", "/api/v2/search", 404, CodeNotFound, "", "no such endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			var got struct {
				Error apiError `json:"error"`
			}
			code := ts.get(t, tt.path, &got)
			if code != tt.status || got.Error.Code != tt.code || got.Error.Field != tt.field || !strings.Contains(got.Error.Message, tt.message) {
				t.Fatalf("got %d %+v; want %d %s on %q mentioning %q", code, got.Error, tt.status, tt.code, tt.field, tt.message)
			}
		})
	}
	var got struct {
		Error apiError `json:"error"`
	}
	if code := ts.do(t, http.MethodPost, "/api/v1/search?q=dune", &got); code != 405 || got.Error.Code != CodeMethodNotAllowed {
		t.Fatalf("POST: %d %+v", code, got)
	}
}

func TestSearchParametersShapeTheAnswer(t *testing.T) {
	ts := startServer(t)
	var got searchJSON
	if code := ts.get(t, "/api/v1/search?q=dune&scope=good&explain=1&filter.format=book", &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if got.Partial || len(got.Members) != 1 || got.Members[0].ID != "good" {
		t.Fatalf("scope=good: partial %v members %+v", got.Partial, got.Members)
	}
	var filtered searchJSON
	ts.get(t, "/api/v1/search?q=dune&scope=good&filter.format=video", &filtered)
	if filtered.Total != 0 || len(filtered.Results) != 0 {
		t.Fatalf("filter.format=video kept %d results", filtered.Total)
	}
	var home searchJSON
	ts.get(t, "/api/v1/search?q=dune&scope=home&home=good", &home)
	if len(home.Members) != 1 || home.Members[0].ID != "good" {
		t.Fatalf("scope=home: %+v", home.Members)
	}
}

func TestInstitutionsAndEffectiveConfig(t *testing.T) {
	ts := startServer(t)
	var list struct {
		Institutions []institutionJSON `json:"institutions"`
	}
	if code := ts.get(t, "/api/v1/institutions", &list); code != 200 || len(list.Institutions) != 6 {
		t.Fatalf("%d %+v", code, list)
	}
	var eff consortium.Effective
	ts.get(t, "/api/v1/institutions/good/config", &eff)
	got := map[string]string{}
	for _, s := range eff.Settings {
		got[s.Key] = fmt.Sprintf("%v from %s", s.Value, s.Source)
	}
	if got["language"] != "fr from institution" || got["search.page_size"] != "5 from institution" || got["search.timeout_ms"] != "400 from consortium" {
		t.Fatalf("effective config %v", got)
	}
}

func TestOperationalEndpoints(t *testing.T) {
	ts := startServer(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if code := ts.get(t, p, nil); code != 200 {
			t.Errorf("%s: %d", p, code)
		}
	}
	ts.get(t, "/api/v1/search?q=dune", nil)
	resp, err := http.Get(ts.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`commonshelf_http_requests_total{code="200",route="search"} 1`,
		`commonshelf_member_searches_total{member="sleeps",status="timeout"} 1`,
		`commonshelf_member_breaker_state{member="good"} 0`,
		`commonshelf_http_request_seconds_bucket`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestAThousandCharacterQueryInAnyScriptIsRead(t *testing.T) {
	ts := startServer(t)
	q := url.QueryEscape(`"` + strings.TrimSpace(strings.Repeat("图书馆 ", 247)) + `"`) // a 989-character phrase, ~7 KB encoded
	var got searchJSON
	if code := ts.get(t, "/api/v1/search?scope=good&q="+q, &got); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	var tooLong struct {
		Error apiError `json:"error"`
	}
	if code := ts.get(t, "/api/v1/search?q="+url.QueryEscape(strings.Repeat("图", 1001)), &tooLong); code != 400 || tooLong.Error.Code != CodeInvalidQuery {
		t.Fatalf("1,001 characters: %d %+v", code, tooLong)
	}
}

func TestMethodNotAllowedNamesTheAllowedMethods(t *testing.T) {
	ts := startServer(t)
	req, _ := http.NewRequest(http.MethodDelete, ts.base+"/api/v1/members", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("%d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
