package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/bench/sim"
	"github.com/commonshelf/commonshelf/connectors/marc"
)

const cacheTrustOperatorKey = "cache-trust-operator-key"

// cacheTrustConsortium runs a slow SRU member (answering in 400ms, well
// within the configured 3s budget and never within 1ms) beside a local
// one, and writes their consortium.
func cacheTrustConsortium(t *testing.T) (cfg, data string) {
	t.Helper()
	dir := t.TempDir()
	catalogue := filepath.Join(dir, "north.xml")
	os.WriteFile(catalogue, []byte(`<?xml version="1.0"?><collection xmlns="http://www.loc.gov/MARC21/slim">`+
		marcRecord("n1", "9780134414232", "Brown, Theodore L.", "Chemistry: the central science", "14th ed.", "Pearson", "2017")+
		marcRecord("n2", "9780199270293", "Clayden, Jonathan", "Organic chemistry", "2nd ed.", "Oxford University Press", "2012")+
		`</collection>`), 0o644)
	rd, closer, err := marc.Open(catalogue)
	if err != nil {
		t.Fatal(err)
	}
	var recs []*marc.Record
	for {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	closer.Close()
	slow, err := sim.Start(sim.SRU, recs, sim.Profile{Latency: sim.Latency{Fixed: 400 * time.Millisecond}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slow.Close() })
	cfg = filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`consortium:
  id: c
  name: C
  defaults:
    search: {timeout_ms: 3000}
    cache: {ttl: 5m, partial_ttl: 15s}
server:
  operator:
    keys: [{sha256: %s}]
institutions:
  - id: north
    name: North
    member: {connector: local, files: [north.xml]}
  - id: south
    name: South
    member: {connector: sru, url: '%s'}
`, sha(cacheTrustOperatorKey), slow.URL)), 0o644)
	return cfg, filepath.Join(dir, "data")
}

type trustAnswer struct {
	Partial bool `json:"partial"`
	Cached  bool `json:"cached"`
	Members []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"members"`
}

func (a trustAnswer) status(id string) string {
	for _, m := range a.Members {
		if m.ID == id {
			return m.Status
		}
	}
	return ""
}

func trustSearch(t *testing.T, base string, params url.Values, operator bool) trustAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/search?"+params.Encode(), nil)
	if operator {
		req.Header.Set("Authorization", "Bearer "+cacheTrustOperatorKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("search %v: %d %s", params, resp.StatusCode, body)
	}
	var a trustAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestACallersShortBudgetOrBypassNeverReachesOtherCallers(t *testing.T) {
	cfg, data := cacheTrustConsortium(t)
	cmd, base := startServer(t, cfg, data)
	defer stopServer(cmd)
	q := func(extra ...string) url.Values {
		v := url.Values{"q": {"chemistry"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	steps := []struct {
		title       string
		params      url.Values
		operator    bool
		wantPartial bool
		wantCached  bool
	}{
		{"an anonymous caller asks for timeout_ms=1: the slow member times out", q("timeout_ms", "1"), false, true, false},
		{"the next caller is not served that answer: a new, complete search", q(), false, false, false},
		{"which is now cached for everyone", q(), false, false, true},
		{"an operator bypasses the cache with timeout_ms=1: a partial answer, for the operator only", q("timeout_ms", "1", "cache", "bypass"), true, true, false},
		{"everyone else is still served the complete answer", q(), false, false, true},
		{"a short budget is served the complete cached answer too", q("timeout_ms", "1"), false, false, true},
	}
	for _, st := range steps {
		got := trustSearch(t, base, st.params, st.operator)
		if got.Partial != st.wantPartial || got.Cached != st.wantCached {
			t.Fatalf("%s: partial %v cached %v (members %+v); want partial %v cached %v",
				st.title, got.Partial, got.Cached, got.Members, st.wantPartial, st.wantCached)
		}
		if st.wantPartial && got.status("south") != "timeout" {
			t.Fatalf("%s: south %q, want timeout", st.title, got.status("south"))
		}
		if !st.wantPartial && !strings.EqualFold(got.status("south"), "ok") {
			t.Fatalf("%s: south %q, want ok", st.title, got.status("south"))
		}
	}
}
