package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/demo"
	"github.com/commonshelf/commonshelf/index"
)

// The tests in this file are what an anonymous caller on the open web
// tried: each must neither break, poison nor exhaust the service.

// operatorKey is the operator token of trustConsortium.
const operatorKey = "trust-operator-token"

// trustKeys are trustConsortium's institution keys by "institution/role".
var trustKeys = map[string]string{
	"north/admin": "trust-north-admin", "north/instructor": "trust-north-instructor", "north/student": "trust-north-student",
}

// trustConsortium writes a consortium with one local member, north, and
// optionally a second member reached over Solr at solrURL, with the given
// server block; it returns the config file and a data directory.
func trustConsortium(t *testing.T, server, solrURL string) (cfg, data string) {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "north.xml"), []byte(`<?xml version="1.0"?><collection xmlns="http://www.loc.gov/MARC21/slim">`+
		marcRecord("n1", "9780199270293", "Clayden, Jonathan", "Organic chemistry", "2nd ed.", "Oxford University Press", "2012")+`</collection>`), 0o644)
	var slow string
	if solrURL != "" {
		slow = fmt.Sprintf("  - id: west\n    name: West\n    member: {connector: solr, url: %q, timeout_ms: 9000}\n", solrURL)
	}
	cfg = filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`%s
consortium:
  id: c
  name: C
  defaults:
    search: {timeout_ms: 9000, max_timeout_ms: 10000}
institutions:
  - id: north
    name: North
    member: {connector: local, files: [north.xml]}
    api_keys: [{sha256: %s, role: admin}, {sha256: %s, role: instructor}, {sha256: %s, role: student}]
%s`, server, sha(trustKeys["north/admin"]), sha(trustKeys["north/instructor"]), sha(trustKeys["north/student"]), slow)), 0o644)
	return cfg, filepath.Join(dir, "data")
}

func TestEveryIntegerParameterIsBoundedAndAFailedSearchReleasesItsSlot(t *testing.T) {
	base := demoServer(t)
	huge := []string{"9223372036854775807", "-9223372036854775808", "18446744073709551616", "99999999999999999999999", "-1", "1e9", "0x10", " 5"}
	for _, path := range []string{"/api/v1/lists/search", "/api/v1/search?q=dune"} {
		for _, param := range []string{"offset", "limit", "timeout_ms"} {
			if param == "timeout_ms" && strings.Contains(path, "lists") {
				continue
			}
			for _, v := range huge {
				sep := "?"
				if strings.Contains(path, "?") {
					sep = "&"
				}
				target := base + path + sep + param + "=" + url.QueryEscape(v)
				// Twice: a leaked slot shows on the next call.
				for range 2 {
					code, b := send(t, http.MethodGet, target, "", nil)
					if code != http.StatusBadRequest || !strings.Contains(string(b), `"field":"`+param+`"`) {
						t.Fatalf("%s: %d %s, want 400 naming %s", target, code, b, param)
					}
				}
			}
		}
	}
	code, b := send(t, http.MethodGet, base+"/api/v1/requests?limit=9223372036854775807", demo.APIKey("north", "admin"), nil)
	if code != http.StatusBadRequest || !strings.Contains(string(b), `"field":"limit"`) {
		t.Fatalf("requests limit: %d %s", code, b)
	}
	// The gateway clamps a hand-made offset instead of failing.
	for _, tab := range []string{"", "&tab=lists"} {
		code, b = send(t, http.MethodGet, base+"/?q=dune&offset=9223372036854775807"+tab, "", nil)
		if code != http.StatusOK {
			t.Fatalf("gateway%s with a huge offset: %d %.300s", tab, code, b)
		}
	}
	// Every list search slot is free: more searches than slots answer at once.
	var wg sync.WaitGroup
	errs := make(chan string, 32)
	for range 32 {
		wg.Go(func() {
			code, b := send(t, http.MethodGet, base+"/api/v1/lists/search?q=chemistry", "", nil)
			if code != http.StatusOK && code != http.StatusServiceUnavailable {
				errs <- fmt.Sprintf("%d %s", code, b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("list search after hostile offsets: %s", e)
	}
	if code, b := send(t, http.MethodGet, base+"/api/v1/lists/search?q=chemistry", "", nil); code != http.StatusOK {
		t.Fatalf("list search after hostile offsets: %d %s", code, b)
	}
}

func TestAStudentKeyFindsPublishedListsOfItsInstitutionButNoDrafts(t *testing.T) {
	base := demoServer(t)
	put := func(id, status, visibility string) {
		l := chemistryList(id)
		l.Name = "Zymurgy readings " + id
		l.Status, l.Visibility = status, visibility
		body, _ := json.Marshal(l)
		target := base + "/api/v1/institutions/north/lists/" + id
		if code, b := send(t, http.MethodPut, target, demo.APIKey("north", "instructor"), body); code != 201 && code != 200 {
			t.Fatalf("put %s: %d %s", id, code, b)
		}
		t.Cleanup(func() { send(t, http.MethodDelete, target, demo.APIKey("north", "admin"), nil) })
	}
	put("zym-draft", index.StatusDraft, index.VisibilityPublic)
	put("zym-members", index.StatusPublished, index.VisibilityInstitution)
	put("zym-public", index.StatusPublished, index.VisibilityPublic)
	found := func(key string) []string {
		code, b := send(t, http.MethodGet, base+"/api/v1/lists/search?q=zymurgy", key, nil)
		if code != http.StatusOK {
			t.Fatalf("list search: %d %s", code, b)
		}
		var res index.ListResults
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, h := range res.Hits {
			ids = append(ids, h.List.ID)
		}
		return ids
	}
	for _, c := range []struct {
		who, key string
		want     string
	}{
		{"anyone", "", "zym-public"},
		{"a student of another institution", demo.APIKey("south", "student"), "zym-public"},
		{"a student of north", demo.APIKey("north", "student"), "zym-members zym-public"},
		{"an instructor key of north", demo.APIKey("north", "instructor"), "zym-draft zym-members zym-public"},
	} {
		got := found(c.key)
		slices.Sort(got)
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s finds %v, want %s", c.who, got, c.want)
		}
	}
	// What list search shows, GET shows too: the student's 404 and its
	// search now agree.
	if code, _ := send(t, http.MethodGet, base+"/api/v1/lists/north/zym-draft", demo.APIKey("north", "student"), nil); code != http.StatusNotFound {
		t.Fatalf("a student GETs north's draft: %d", code)
	}
}

func TestBulkImportAnswersEveryLineInFlatMemory(t *testing.T) {
	cfg, data := trustConsortium(t, "", "")
	cmd, base, log := startServerLogged(t, cfg, data)
	defer stopServer(cmd)
	defer func() {
		if t.Failed() {
			t.Logf("server log:\n%s", log.String())
		}
	}()
	target := base + "/api/v1/institutions/north/lists:bulk"
	bulk := func(body io.Reader) (results []index.LineResult, summary index.ImportSummary, fatal string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, target, body)
		req.Header.Set("Authorization", "Bearer "+trustKeys["north/instructor"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("bulk: %d %s", resp.StatusCode, b)
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if bytes.HasPrefix(sc.Bytes(), []byte(`{"summary"`)) || bytes.HasPrefix(sc.Bytes(), []byte(`{"error"`)) {
				var end struct {
					Summary index.ImportSummary `json:"summary"`
					Error   string              `json:"error"`
				}
				json.Unmarshal(sc.Bytes(), &end)
				return results, end.Summary, end.Error
			}
			var r index.LineResult
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("result line %d: %s", len(results)+1, sc.Bytes())
			}
			results = append(results, r)
		}
		t.Fatalf("the answer has no summary after %d lines: %v", len(results), sc.Err())
		return
	}

	good, _ := json.Marshal(chemistryList("bulk-ok"))
	results, sum, fatal := bulk(strings.NewReader(strings.Repeat("{not json}\n", 250) + string(good) + "\n\n"))
	if len(results) != 252 || results[0].Line != 1 || results[0].Result != "invalid" || results[250].Result != "stored" ||
		results[250].ID != "bulk-ok" || results[251].Result != "skipped" || fatal != "" {
		t.Fatalf("%d results, the last %+v, error %q", len(results), results[max(0, len(results)-2):], fatal)
	}
	if sum.Lines != 252 || sum.Invalid != 250 || sum.Stored != 1 || sum.Skipped != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if code, _ := send(t, http.MethodGet, base+"/api/v1/lists/north/bulk-ok", "", nil); code != 200 {
		t.Fatalf("the stored line's list: %d", code)
	}

	// 600,000 invalid lines (about 12 MB) leave the server's memory flat:
	// nothing of a line is kept once its result is spooled, and the import
	// stops, saying why, past the lines one request may hold.
	before := vmRSS(t, cmd.Process.Pid)
	var peak atomic.Int64
	peak.Store(before)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if rss := rssOf(cmd.Process.Pid); rss > peak.Load() {
				peak.Store(rss)
			}
		}
	}()
	pr, pw := io.Pipe()
	go func() {
		line := []byte(`{"id":"x","name":1}` + "\n")
		for range 600_000 {
			if _, err := pw.Write(line); err != nil {
				return
			}
		}
		pw.Close()
	}()
	results, sum, fatal = bulk(pr)
	close(stop)
	<-sampled
	if len(results) != 200_000 || sum.Lines != 200_000 || sum.Invalid != 200_000 || !strings.Contains(fatal, "at most 200000 lines") {
		t.Fatalf("%d results, summary %+v, error %q", len(results), sum, fatal)
	}
	if grew := peak.Load() - before; grew > 64<<20 {
		t.Fatalf("the server grew by %d MB while importing 600,000 invalid lines (from %d MB)", grew>>20, before>>20)
	}
	t.Logf("RSS %d MB before, peak %d MB during the import", before>>20, peak.Load()>>20)
}

func TestAMalformedRequestIsNotEchoedInTheAnswerOrTheLog(t *testing.T) {
	cfg, data := trustConsortium(t, "", "")
	cmd, base, log := startServerLogged(t, cfg, data)
	defer stopServer(cmd)
	const secret = "s3cret-bearer-value-never-to-be-seen"
	for _, raw := range []string{
		"GET /api/v1/search?q=x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + secret + "\r\nBroken header line without colon\r\n\r\n",
		"GET /api/v1/search?q=x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + secret + "\r\nContent-Length: -5\r\n\r\n",
		"GET /api/v1/search?q=" + secret + " HTTP/1.1 extra\r\nHost: a\r\n\r\n",
		"GET /api/v1/search?q=x HTTP/1.1\r\nHost: a\r\nX-Request-Id: " + secret + "\r\nAuthorization: Bearer " + secret + "\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		io.WriteString(conn, raw)
		answer, _ := io.ReadAll(conn)
		conn.Close()
		if !bytes.HasPrefix(answer, []byte("HTTP/1.1 4")) {
			t.Errorf("%q: want a 4xx, got %.200s", raw, answer)
		}
		if bytes.Contains(answer, []byte(secret)) {
			t.Errorf("the answer to %q repeats the secret: %s", raw, answer)
		}
	}
	// The log is written as requests end; a search after them comes last.
	send(t, http.MethodGet, base+"/healthz", "", nil)
	if strings.Contains(log.String(), secret) {
		t.Fatalf("the log repeats the secret:\n%s", log.String())
	}
}

func TestOperationalDataNeedsAnOperator(t *testing.T) {
	cfg, data := trustConsortium(t, fmt.Sprintf("server:\n  operator: {keys: [{sha256: %s}]}\n", sha(operatorKey)), "")
	cmd, base := startServer(t, cfg, data)
	defer stopServer(cmd)
	for _, c := range []struct {
		what, path, key string
		want            int
	}{
		{"metrics, anonymous", "/metrics", "", 401},
		{"metrics, an institution's admin key", "/metrics", trustKeys["north/admin"], 403},
		{"metrics, the operator", "/metrics", operatorKey, 200},
		{"a bypassing search, anonymous", "/api/v1/search?q=chemistry&cache=bypass", "", 401},
		{"a bypassing search, an institution's admin key", "/api/v1/search?q=chemistry&cache=bypass", trustKeys["north/admin"], 403},
		{"a bypassing search, the operator", "/api/v1/search?q=chemistry&cache=bypass", operatorKey, 200},
		{"a search, anonymous", "/api/v1/search?q=chemistry", "", 200},
	} {
		code, b := send(t, http.MethodGet, base+c.path, c.key, nil)
		if code != c.want {
			t.Errorf("%s: %d %.200s, want %d", c.what, code, b, c.want)
		}
	}
	// Members: who they are for everyone; their live state for operators.
	_, anon := send(t, http.MethodGet, base+"/api/v1/members", "", nil)
	_, op := send(t, http.MethodGet, base+"/api/v1/members", operatorKey, nil)
	if !strings.Contains(string(anon), `"id":"north"`) || strings.Contains(string(anon), "breaker") || strings.Contains(string(anon), "recent") {
		t.Errorf("members, anonymous: %s", anon)
	}
	if !strings.Contains(string(op), `"breaker"`) {
		t.Errorf("members, the operator: %s", op)
	}
	// Storage use: the policy is public, the use the institution's admin's
	// and the operators'.
	for _, c := range []struct {
		who, key string
		sees     bool
	}{{"anyone", "", false}, {"north's student", trustKeys["north/student"], false}, {"north's admin", trustKeys["north/admin"], true}, {"the operator", operatorKey, true}} {
		code, b := send(t, http.MethodGet, base+"/api/v1/institutions/north/config", c.key, nil)
		if code != 200 || !strings.Contains(string(b), `"quota_bytes"`) || strings.Contains(string(b), `"used_bytes"`) != c.sees {
			t.Errorf("config as %s: %d %s", c.who, code, b)
		}
	}
}

func TestTheOperatorAddressNeedsNoKey(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opAddr := ln.Addr().String()
	ln.Close()
	cfg, data := trustConsortium(t, fmt.Sprintf("server:\n  operator: {listen: %q}\n", opAddr), "")
	cmd, base := startServer(t, cfg, data)
	defer stopServer(cmd)
	if code, _ := send(t, http.MethodGet, base+"/metrics", "", nil); code != 401 {
		t.Fatalf("metrics on the public address: %d", code)
	}
	if code, b := send(t, http.MethodGet, "http://"+opAddr+"/metrics", "", nil); code != 200 || !strings.Contains(string(b), "commonshelf_http_requests_total") {
		t.Fatalf("metrics on the operator address: %d %.200s", code, b)
	}
	if code, b := send(t, http.MethodGet, "http://"+opAddr+"/api/v1/search?q=chemistry&cache=bypass", "", nil); code != 200 {
		t.Fatalf("a bypassing search on the operator address: %d %s", code, b)
	}
}

func TestSearchesPastTheBoundAreShedAtOnceWithRetryAfter(t *testing.T) {
	// West's Solr holds every search for "held…" until the test lets it
	// go, and answers the others at once.
	var arrived atomic.Int32
	release := make(chan struct{})
	solr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.RawQuery, "held") {
			arrived.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"responseHeader":{"status":0},"response":{"numFound":0,"start":0,"docs":[]}}`)
	}))
	defer solr.Close()
	var once sync.Once
	letGo := func() { once.Do(func() { close(release) }) }
	defer letGo()
	cfg, data := trustConsortium(t, "server: {max_searches: 2}\n", solr.URL+"/solr/biblio")
	cmd, base := startServer(t, cfg, data)
	defer stopServer(cmd)

	if code, b := send(t, http.MethodGet, base+"/api/v1/search?q=warm", "", nil); code != 200 {
		t.Fatalf("a search before the slots are taken: %d %s", code, b)
	}
	held := make(chan int, 2)
	for i := range 2 {
		go func() {
			code, _ := send(t, http.MethodGet, base+fmt.Sprintf("/api/v1/search?q=held%d", i), "", nil)
			held <- code
		}()
	}
	for arrived.Load() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	// Both slots are taken: a third search, from the API, the gateway page
	// or an export, is refused at once, not queued.
	for _, path := range []string{"/api/v1/search?q=third", "/?q=third", "/export/ris?q=third&id=x"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s with every slot taken: %d Retry-After %q %.200s", path, resp.StatusCode, resp.Header.Get("Retry-After"), b)
		}
		if strings.HasPrefix(path, "/api/") && !strings.Contains(string(b), `"overloaded"`) {
			t.Fatalf("%s: %s", path, b)
		}
	}
	// What does not ask the members is still answered: an answer in the
	// cache, and what does not search at all.
	if code, b := send(t, http.MethodGet, base+"/api/v1/search?q=warm", "", nil); code != 200 || !strings.Contains(string(b), `"cached":true`) {
		t.Fatalf("a cached search while the slots are taken: %d %.200s", code, b)
	}
	for _, path := range []string{"/healthz", "/api/v1/lists/north/none", "/", "/api/v1/lists/search?q=chemistry"} {
		if code, _ := send(t, http.MethodGet, base+path, "", nil); code == http.StatusServiceUnavailable {
			t.Fatalf("%s while searches are held: %d", path, code)
		}
	}
	letGo()
	for range 2 {
		if code := <-held; code != 200 {
			t.Fatalf("a held search answered %d", code)
		}
	}
	if code, b := send(t, http.MethodGet, base+"/api/v1/search?q=third", "", nil); code != 200 {
		t.Fatalf("a search once the slots are free: %d %s", code, b)
	}
}

// rssOf is vmRSS for a goroutine: 0 when it cannot be read.
func rssOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	var kb int64
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
		}
	}
	return kb << 10
}
