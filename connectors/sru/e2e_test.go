//go:build unix

package sru

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/commonshelf/commonshelf/api"
	"github.com/commonshelf/commonshelf/connectors/sru/zebralab"
	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/demo"
	"github.com/commonshelf/commonshelf/federate"
)

// member is one member of a test consortium.
type member struct {
	id        string
	connector federate.Connector
}

func serve(t *testing.T, members []member) string {
	t.Helper()
	var yaml strings.Builder
	yaml.WriteString("consortium:\n  id: lab\n  name: Zebra Lab\n  defaults:\n    search: {timeout_ms: 2000, max_timeout_ms: 5000, page_size: 20}\ninstitutions:\n")
	var ms []federate.Member
	for _, m := range members {
		fmt.Fprintf(&yaml, "  - {id: %s, name: %q}\n", m.id, "Library "+m.id)
		ms = append(ms, federate.Member{ID: m.id, Name: "Library " + m.id, Connector: m.connector,
			Timeout: 500 * time.Millisecond, BreakerFailures: 100, BreakerOpenFor: time.Minute})
	}
	cfg, err := consortium.Parse([]byte(yaml.String()), "lab.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	engine, err := federate.NewEngine(logger, federate.EngineConfig{}, federate.NewMetrics(reg), ms)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(logger, cfg, engine, reg)
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

type searchAnswer struct {
	Results []federate.Result       `json:"results"`
	Members []federate.MemberStatus `json:"members"`
	Partial bool                    `json:"partial"`
}

func (a *searchAnswer) status(id string) federate.MemberStatus {
	for _, m := range a.Members {
		if m.ID == id {
			return m
		}
	}
	return federate.MemberStatus{ID: id, Status: "absent"}
}

// search sends q through the front door and returns the answer and how
// long it took.
func search(t *testing.T, base, q string) (searchAnswer, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := http.Get(base + "/api/v1/search?limit=50&q=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	took := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", q, resp.StatusCode, body)
	}
	var a searchAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("%s: %v: %s", q, err, body)
	}
	return a, took
}

// hungerGames is the ISBN-13 of The Hunger Games (demo book 1).
const hungerGames = "9780439023481"

// consortiumMembers are the three Zebra members over SRU and west's local
// index, with a logger that captures the CQL sent.
func consortiumMembers(t *testing.T, f *fixture, h *captureHandler) []member {
	var ms []member
	for _, id := range zebraMembers {
		ms = append(ms, member{id, f.connector(t, slog.New(h), id, f.servers[id].URL,
			map[string]any{"record_url": "https://catalogue." + id + ".example.org/record/{id}"})})
	}
	return append(ms, member{"west", f.west})
}

func TestZebraEndToEnd(t *testing.T) {
	f := zebra(t)
	h := &captureHandler{}
	base := serve(t, consortiumMembers(t, f, h))
	plan, err := demo.Plan()
	if err != nil {
		t.Fatal(err)
	}
	// Every member in the test holds book 1 (the most popular works are held
	// by all five members, and each subset starts at book 1).
	var holders []string
	for _, m := range plan.HoldersOf(1) {
		if m != "central" {
			holders = append(holders, m)
		}
	}
	if len(holders) != 4 {
		t.Fatalf("book 1 is held by %v", plan.HoldersOf(1))
	}

	tests := []struct {
		name string
		q    string
		cql  string // sent to every Zebra member
		// hunger is whether The Hunger Games must be among the results.
		hunger bool
	}{
		{"a title word", "title:hunger", `dc.title = "hunger"`, true},
		{"an author", "author:collins", `dc.creator = "collins"`, true},
		{"an ISBN-13 typed with hyphens finds ISBN-10 and ISBN-13 catalogues", "isbn:978-0-439-02348-1",
			`bath.isbn = "9780439023481" or bath.isbn = "0439023483"`, true},
		{"an ISBN-10", "isbn:0439023483", `bath.isbn = "9780439023481" or bath.isbn = "0439023483"`, true},
		{"a phrase", `"hunger games"`, `cql.serverChoice adj "hunger games"`, true},
		{"a boolean query", "(title:hunger OR title:potter) author:collins",
			`(dc.title = "hunger" or dc.title = "potter") and dc.creator = "collins"`, true},
		{"an exclusion", "author:collins -hunger", `dc.creator = "collins" not cql.serverChoice = "hunger"`, false},
		{"a year range", "title:hunger year:2008..2010",
			`dc.title = "hunger" and (dc.date >= "2008" and dc.date <= "2010")`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.reset()
			a, _ := search(t, base, tc.q)
			for _, id := range append(append([]string(nil), zebraMembers...), "west") {
				st := a.status(id)
				if st.Status != federate.StatusOK {
					t.Errorf("%s: status %s: %s", id, st.Status, st.Error)
				}
				if len(st.Relaxed) > 0 {
					t.Errorf("%s: relaxed %q", id, st.Relaxed)
				}
			}
			for _, id := range zebraMembers {
				if got := h.cql(id); !slices.Equal(got, []string{tc.cql}) {
					t.Errorf("%s: CQL sent %q, want %q", id, got, tc.cql)
				}
				if st := a.status(id); st.Hits <= 0 && tc.hunger {
					t.Errorf("%s: %d hits", id, st.Hits)
				}
			}
			var works []federate.Result
			for _, r := range a.Results {
				if slices.Contains(r.Identifiers.ISBN, hungerGames) {
					works = append(works, r)
				}
			}
			if !tc.hunger {
				if len(a.Results) == 0 {
					t.Error("no results")
				}
				for _, r := range works {
					t.Errorf("The Hunger Games is among the results: %+v", r.Holdings)
				}
				return
			}
			if len(works) != 1 {
				t.Fatalf("The Hunger Games is %d results, want 1", len(works))
			}
			var got []string
			for _, hd := range works[0].Holdings {
				got = append(got, hd.Member)
				if hd.Member != "west" && (len(hd.Links) == 0 || !strings.HasSuffix(hd.Links[0].URL, "/record/"+hd.RecordID)) {
					t.Errorf("%s holding without its catalogue link: %+v", hd.Member, hd)
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(holders))
			if !slices.Equal(got, want) {
				t.Errorf("holdings %q, want one from each of %q", got, want)
			}
		})
	}
}

// TestZebraDiagnosticIsRelaxedAndRetried: one member is configured with an
// index Zebra does not know (dc.rights for subject); the demo catalogues
// have no subject headings at all, so Zebra refuses dc.subject too (it
// names its own index, "subject", in the diagnostic). Both are retried
// once as keywords and say so.
func TestZebraDiagnosticIsRelaxedAndRetried(t *testing.T) {
	f := zebra(t)
	h := &captureHandler{}
	base := serve(t, []member{
		{"north", f.connector(t, slog.New(h), "north", f.servers["north"].URL, nil)},
		{"rights", f.connector(t, slog.New(h), "rights", f.servers["south"].URL, map[string]any{"indexes": []any{"subject=dc.rights"}})},
	})
	for i := range 2 {
		h.reset()
		a, _ := search(t, base, "subject:hunger")
		for _, tc := range []struct {
			id, index string
			cql       []string
		}{
			{"north", "dc.subject", []string{`dc.subject = "hunger"`, `cql.serverChoice = "hunger"`}},
			{"rights", "dc.rights", []string{`dc.rights = "hunger"`, `cql.serverChoice = "hunger"`}},
		} {
			st := a.status(tc.id)
			if st.Status != federate.StatusOK || st.Hits <= 0 {
				t.Errorf("search %d: %s: status %s, %d hits: %s", i+1, tc.id, st.Status, st.Hits, st.Error)
			}
			wantRelaxed := []string{"subject: searched as keywords (the member does not support " + tc.index + ")"}
			if !slices.Equal(st.Relaxed, wantRelaxed) {
				t.Errorf("search %d: %s: relaxed %q, want %q", i+1, tc.id, st.Relaxed, wantRelaxed)
			}
			want := tc.cql
			if i == 1 {
				want = tc.cql[1:] // learned: no second diagnostic
			}
			if got := h.cql(tc.id); !slices.Equal(got, want) {
				t.Errorf("search %d: %s: CQL sent %q, want %q", i+1, tc.id, got, want)
			}
		}
	}
}

// TestZebraMemberStoppedMidRun kills one member's zebrasrv between two
// searches: the second reports that member's error and still answers.
func TestZebraMemberStoppedMidRun(t *testing.T) {
	f := zebra(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	doomed, err := f.lab.Start(ctx, zebralab.Member{Name: "central", Files: []string{f.subsets["central"]}})
	if err != nil {
		t.Fatal(err)
	}
	defer doomed.Stop()
	base := serve(t, []member{
		{"north", f.connector(t, nil, "north", f.servers["north"].URL, nil)},
		{"central", f.connector(t, nil, "central", doomed.URL, nil)},
	})
	a, _ := search(t, base, "title:hunger")
	if st := a.status("central"); st.Status != federate.StatusOK || st.Hits <= 0 {
		t.Fatalf("before: central %s, %d hits: %s", st.Status, st.Hits, st.Error)
	}
	if err := doomed.Kill(); err != nil {
		t.Fatal(err)
	}
	a, took := search(t, base, "title:games")
	st := a.status("central")
	if st.Status != federate.StatusError || st.Error == "" {
		t.Errorf("after: central %s: %q", st.Status, st.Error)
	}
	if a.status("north").Status != federate.StatusOK || !a.Partial || len(a.Results) == 0 {
		t.Errorf("after: north %+v, partial %v, %d results", a.status("north"), a.Partial, len(a.Results))
	}
	if took > 5*time.Second {
		t.Errorf("the search took %s", took)
	}
	t.Logf("central after kill: %s: %s", st.Status, st.Error)
}

// TestFaultyMembers: what Zebra cannot do, small loopback servers do: a 200
// that is an HTML page, a member trickling bytes past its deadline, and one
// sending 50 MB. Each is that member's status; the search answers in time.
func TestFaultyMembers(t *testing.T) {
	f := zebra(t)
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		w.Write([]byte("<!DOCTYPE html>\n<html><head><title>Library portal</title></head><body><p>Please log in</p></body></html>"))
	}))
	defer html.Close()
	stop := make(chan struct{})
	trickle := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<?xml version="1.0"?><zs:searchRetrieveResponse xmlns:zs="http://www.loc.gov/zing/srw/">`))
		w.(http.Flusher).Flush()
		for {
			select {
			case <-stop:
				return
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := w.Write([]byte(" ")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		}
	}))
	defer trickle.Close()
	defer close(stop)
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(50<<20))
		w.Write([]byte(`<?xml version="1.0"?><zs:searchRetrieveResponse xmlns:zs="http://www.loc.gov/zing/srw/"><zs:records>`))
		chunk := bytes.Repeat([]byte("<zs:record/>"), 1<<16)
		for sent := 0; sent < 50<<20; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer huge.Close()

	base := serve(t, []member{
		{"north", f.connector(t, nil, "north", f.servers["north"].URL, nil)},
		{"portal", f.connector(t, nil, "portal", html.URL+"/db", nil)},
		{"trickle", f.connector(t, nil, "trickle", trickle.URL+"/db", nil)},
		{"huge", f.connector(t, nil, "huge", huge.URL+"/db", nil)},
	})
	a, took := search(t, base, "title:hunger")
	for _, tc := range []struct{ id, status, errText string }{
		{"north", federate.StatusOK, ""},
		{"portal", federate.StatusError, "member answered with an HTML page, not an SRU response"},
		{"trickle", federate.StatusTimeout, "did not answer in time"},
		{"huge", federate.StatusError, "response body exceeds the size limit"},
	} {
		st := a.status(tc.id)
		if st.Status != tc.status || !strings.Contains(st.Error, tc.errText) {
			t.Errorf("%s: %s %q, want %s with %q", tc.id, st.Status, st.Error, tc.status, tc.errText)
		}
	}
	if !a.Partial || len(a.Results) == 0 {
		t.Errorf("partial %v, %d results", a.Partial, len(a.Results))
	}
	if took > 5*time.Second {
		t.Errorf("the search took %s with a 500 ms member deadline", took)
	}
}
