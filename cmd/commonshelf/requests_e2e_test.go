package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/requests"
)

// The request tests serve a small consortium from a child process (so that
// it can be killed with SIGKILL and restarted on the same data) and receive
// its webhooks on a real HTTP server on loopback.

const (
	northKey = "north-librarian-key"
	southKey = "south-librarian-key"
	eastKey  = "east-librarian-key"
)

var hookSecrets = map[string]string{"north": "north-hook-secret", "south": "south-hook-secret"}

func marcRecord(id, isbn, author, title, edition, publisher, year string) string {
	return fmt.Sprintf(`<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">%s</controlfield>
<datafield tag="020" ind1=" " ind2=" "><subfield code="a">%s</subfield></datafield>
<datafield tag="100" ind1="1" ind2=" "><subfield code="a">%s</subfield></datafield>
<datafield tag="245" ind1="1" ind2="0"><subfield code="a">%s</subfield></datafield>
<datafield tag="250" ind1=" " ind2=" "><subfield code="a">%s</subfield></datafield>
<datafield tag="264" ind1=" " ind2="1"><subfield code="b">%s</subfield><subfield code="c">%s</subfield></datafield></record>`,
		id, isbn, author, title, edition, publisher, year)
}

// requestConsortium writes the configuration and catalogues of three
// institutions: north and south are members with webhooks on hook; east has
// no catalogue. South receives loans and copies but makes no purchases.
func requestConsortium(t *testing.T, hook string) (cfg, data string) {
	t.Helper()
	dir := t.TempDir()
	col := func(recs ...string) []byte {
		return []byte(`<?xml version="1.0"?><collection xmlns="http://www.loc.gov/MARC21/slim">` + strings.Join(recs, "\n") + `</collection>`)
	}
	os.WriteFile(filepath.Join(dir, "north.xml"), col(
		marcRecord("n1", "9780140449136", "Dostoyevsky, Fyodor", "Crime and punishment", "Penguin classics ed.", "Penguin", "2003")), 0o644)
	os.WriteFile(filepath.Join(dir, "south.xml"), col(
		marcRecord("s-77", "9780199535569", "Austen, Jane", "Pride and prejudice", "Oxford world's classics", "Oxford University Press", "2008"),
		marcRecord("s-78", "9780141439518", "Austen, Jane", "Emma", "Rev. ed.", "Penguin", "2003")), 0o644)
	cfg = filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`consortium:
  id: c
  name: C
  defaults:
    requests: {kinds: [loan, copy, purchase]}
institutions:
  - id: north
    name: North
    member: {connector: local, files: [north.xml], options: {record_url: "https://cat.north.example.org/r/{id}"}}
    api_keys: [{sha256: %s}]
    requests: {webhook: {url: %s/north, secret_env: CS_TEST_NORTH_HOOK}}
  - id: south
    name: South
    member: {connector: local, files: [south.xml], options: {record_url: "https://cat.south.example.org/r/{id}"}}
    api_keys: [{sha256: %s, role: instructor}]
    requests: {kinds: [loan, copy], webhook: {url: %s/south, secret_env: CS_TEST_SOUTH_HOOK}}
  - id: east
    name: East
    api_keys: [{sha256: %s}]
`, sha(northKey), hook, sha(southKey), hook, sha(eastKey))), 0o644)
	return cfg, filepath.Join(dir, "data")
}

// startServer runs serve in a child process and returns it and its base URL.
func startServer(t *testing.T, cfg, data string) (*exec.Cmd, string) {
	t.Helper()
	return startChild(t, cfg, data, io.Discard)
}

// startServerLogged is startServer keeping the child's log (its stderr).
func startServerLogged(t *testing.T, cfg, data string) (*exec.Cmd, string, *syncBuffer) {
	t.Helper()
	log := &syncBuffer{}
	cmd, base := startChild(t, cfg, data, log)
	return cmd, base, log
}

// startChild runs serve in a child process (TestServeChild), its log going
// to stderr (io.Discard: none).
func startChild(t *testing.T, cfg, data string, stderr io.Writer) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeChild$")
	cmd.Env = append(os.Environ(), "COMMONSHELF_E2E_CHILD=serve --config "+cfg+" --addr 127.0.0.1:0 --data-dir "+data,
		"CS_TEST_NORTH_HOOK="+hookSecrets["north"], "CS_TEST_SOUTH_HOOK="+hookSecrets["south"])
	if stderr != io.Discard {
		cmd.Env = append(cmd.Env, "COMMONSHELF_E2E_LOG=1")
	}
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	re := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+)/`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, out)
			return cmd, m[1]
		}
	}
	cmd.Wait()
	t.Fatal("child server did not start")
	return nil, ""
}

// syncBuffer is a buffer that a child process writes to while the test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func stopServer(cmd *exec.Cmd) { syscall.Kill(cmd.Process.Pid, syscall.SIGTERM); cmd.Wait() }

func killServer(cmd *exec.Cmd) { syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }

// hookReceiver is a webhook endpoint: while down it answers 503; it checks
// each delivery's signature and counts acknowledged deliveries by id.
type hookReceiver struct {
	t        *testing.T
	down     atomic.Bool
	mu       sync.Mutex
	attempts int
	acked    map[string]int // delivery id → times acknowledged
	got      []requests.Payload
	to       []string // institution of each acknowledged payload
}

func newHookReceiver(t *testing.T) (*hookReceiver, *httptest.Server) {
	h := &hookReceiver{t: t, acked: map[string]int{}}
	srv := httptest.NewServer(h) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	inst := strings.TrimPrefix(r.URL.Path, "/")
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts++
	if h.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	want := requests.Sign([]byte(hookSecrets[inst]), body)
	if !hmac.Equal([]byte(r.Header.Get(requests.HeaderSignature)), []byte(want)) {
		h.t.Errorf("delivery to %s: signature %q, want %q", inst, r.Header.Get(requests.HeaderSignature), want)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var p requests.Payload
	if err := json.Unmarshal(body, &p); err != nil || p.DeliveryID != r.Header.Get(requests.HeaderDelivery) {
		h.t.Errorf("delivery to %s: %v, id header %q, body %s", inst, err, r.Header.Get(requests.HeaderDelivery), body)
	}
	h.acked[p.DeliveryID]++
	if h.acked[p.DeliveryID] == 1 { // what a receiver that dedupes keeps
		h.got = append(h.got, p)
		h.to = append(h.to, inst)
	}
	w.WriteHeader(http.StatusNoContent)
}

// wait returns the first payload to inst that matches ok, waiting up to d.
func (h *hookReceiver) wait(t *testing.T, d time.Duration, inst string, ok func(requests.Payload) bool) requests.Payload {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		h.mu.Lock()
		for i, p := range h.got {
			if h.to[i] == inst && ok(p) {
				h.mu.Unlock()
				return p
			}
		}
		h.mu.Unlock()
	}
	t.Fatalf("no matching delivery to %s within %s", inst, d)
	return requests.Payload{}
}

func postRequest(t *testing.T, base, key, idem string, body any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/requests", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+key)
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func decodeRequest(t *testing.T, b []byte) requests.Request {
	t.Helper()
	var r requests.Request
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return r
}

// searchSnapshot searches member for q and makes the body of a request
// from the first result's holding at that member.
func searchSnapshot(t *testing.T, base, member, q string) map[string]any {
	t.Helper()
	code, b := send(t, http.MethodGet, base+"/api/v1/search?scope="+member+"&q="+url.QueryEscape(q), "", nil)
	var res struct {
		Results []struct {
			ID          string   `json:"id"`
			Title       string   `json:"title"`
			Authors     []string `json:"authors"`
			Year        int      `json:"year"`
			Publisher   string   `json:"publisher"`
			Edition     string   `json:"edition"`
			Identifiers struct {
				ISBN []string `json:"isbn"`
			} `json:"identifiers"`
			Holdings []struct {
				Member   string `json:"member"`
				RecordID string `json:"record_id"`
				Links    []struct{ URL string }
			} `json:"holdings"`
		} `json:"results"`
	}
	if code != 200 || json.Unmarshal(b, &res) != nil || len(res.Results) == 0 {
		t.Fatalf("search %q on %s: %d %s", q, member, code, b)
	}
	w := res.Results[0]
	i := slices.IndexFunc(w.Holdings, func(h struct {
		Member   string `json:"member"`
		RecordID string `json:"record_id"`
		Links    []struct{ URL string }
	}) bool {
		return h.Member == member
	})
	if i < 0 {
		t.Fatalf("the result has no holding at %s: %s", member, b)
	}
	h := w.Holdings[i]
	link := ""
	if len(h.Links) > 0 {
		link = h.Links[0].URL
	}
	return map[string]any{
		"kind": "loan", "supplier": member,
		"source": map[string]any{"work_id": w.ID, "member": member, "record_id": h.RecordID},
		"metadata": map[string]any{"title": w.Title, "authors": w.Authors, "year": w.Year, "publisher": w.Publisher, "edition": w.Edition,
			"identifiers": map[string]any{"isbn": w.Identifiers.ISBN}, "record_id": h.RecordID, "link": link},
		"needed_by": "2027-03-31", "pickup_location": "North main desk",
		"course": map[string]any{"institution": "north", "course_code": "ENG 210", "list_id": "eng210", "citation_id": "c3"},
	}
}

func TestALoanFromASearchResultReachesTheSupplierAcrossDowntimeAndRestart(t *testing.T) {
	if os.Getenv("COMMONSHELF_E2E_CHILD") != "" {
		t.Skip("child")
	}
	hooks, hookSrv := newHookReceiver(t)
	cfg, data := requestConsortium(t, hookSrv.URL)
	cmd, base := startServer(t, cfg, data)
	defer func() { stopServer(cmd) }()

	body := searchSnapshot(t, base, "south", "pride prejudice")
	hooks.down.Store(true) // south's receiver is down when the loan is made

	code, b := postRequest(t, base, northKey, "loan-1", body)
	if code != 201 {
		t.Fatalf("create: %d %s", code, b)
	}
	loan := decodeRequest(t, b)
	m := loan.Metadata
	if loan.Requester != "north" || loan.Supplier != "south" || loan.Status != requests.RequestReceived || loan.Source.RecordID != "s-77" ||
		m.Title != "Pride and prejudice" || m.Edition != "Oxford world's classics" || m.Publisher != "Oxford University Press" || m.Year != 2008 ||
		!slices.Equal(m.Identifiers.ISBN, []string{"9780199535569"}) || m.Link != "https://cat.south.example.org/r/s-77" ||
		loan.Course == nil || loan.Course.CitationID != "c3" {
		t.Fatalf("the loan does not carry south's record: %s", b)
	}

	t.Run("the same Idempotency-Key twice makes one request", func(t *testing.T) {
		code, b := postRequest(t, base, northKey, "loan-1", body)
		if code != 200 || decodeRequest(t, b).ID != loan.ID {
			t.Fatalf("again: %d %s", code, b)
		}
		changed := maps(body)
		changed["pickup_location"] = "Science library"
		if code, b := postRequest(t, base, northKey, "loan-1", changed); code != 422 || !strings.Contains(string(b), `"idempotency_conflict"`) {
			t.Fatalf("same key, another body: %d %s", code, b)
		}
		code, b = send(t, http.MethodGet, base+"/api/v1/requests?role=requester", northKey, nil)
		var list struct{ Requests []requests.Request }
		json.Unmarshal(b, &list)
		if code != 200 || len(list.Requests) != 1 {
			t.Fatalf("north's requests: %d %s", code, b)
		}
	})

	t.Run("only the two parties see the request", func(t *testing.T) {
		for _, c := range []struct {
			key  string
			want int
		}{{northKey, 200}, {southKey, 200}, {eastKey, 404}, {"", 401}, {"nonsense", 401}} {
			if code, b := send(t, http.MethodGet, base+"/api/v1/requests/"+loan.ID, c.key, nil); code != c.want {
				t.Errorf("key %q: %d %s, want %d", c.key, code, b, c.want)
			}
		}
		if code, _ := send(t, http.MethodGet, base+"/api/v1/requests/req-424242", northKey, nil); code != 404 {
			t.Errorf("a request that does not exist: %d", code)
		}
		tr, _ := json.Marshal(map[string]string{"to": "Cancelled"})
		if code, b := send(t, http.MethodPost, base+"/api/v1/requests/"+loan.ID+"/transitions", eastKey, tr); code != 404 {
			t.Errorf("east moving north's request: %d %s", code, b)
		}
		code, b := send(t, http.MethodGet, base+"/api/v1/requests?role=supplier", southKey, nil)
		if code != 200 || !strings.Contains(string(b), loan.ID) {
			t.Errorf("south's incoming requests: %d %s", code, b)
		}
		if code, b := send(t, http.MethodGet, base+"/api/v1/requests?role=supplier", eastKey, nil); code != 200 || strings.Contains(string(b), loan.ID) {
			t.Errorf("east's incoming requests: %d %s", code, b)
		}
	})

	// Let the deliverer fail at least once, then kill the server while the
	// delivery is still queued, restart it, and bring the receiver back.
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		hooks.mu.Lock()
		n := hooks.attempts
		hooks.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the deliverer never tried south's webhook")
		}
	}
	killServer(cmd)
	cmd, base = startServer(t, cfg, data)
	hooks.down.Store(false)
	p := hooks.wait(t, 15*time.Second, "south", func(p requests.Payload) bool { return p.Request.ID == loan.ID })
	if p.Event != requests.EventCreated || p.Request.Metadata.Title != "Pride and prejudice" || p.Request.Source.RecordID != "s-77" {
		t.Fatalf("south received %+v", p)
	}

	t.Run("illegal transitions are 409 with the allowed ones", func(t *testing.T) {
		move := func(key, to string) (int, []byte) {
			b, _ := json.Marshal(map[string]string{"to": to, "note": "via test"})
			return send(t, http.MethodPost, base+"/api/v1/requests/"+loan.ID+"/transitions", key, b)
		}
		if code, b := move(southKey, "LoanCompleted"); code != 409 || !strings.Contains(string(b), `"allowed":["ExpectToSupply","WillSupply","Unfilled"]`) {
			t.Fatalf("south skipping to LoanCompleted: %d %s", code, b)
		}
		if code, b := move(southKey, "WillSupply"); code != 200 || decodeRequest(t, b).Status != requests.WillSupply {
			t.Fatalf("south: WillSupply: %d %s", code, b)
		}
		if code, b := move(northKey, "Loaned"); code != 409 || !strings.Contains(string(b), `"allowed":["Cancelled"]`) {
			t.Fatalf("north marking its own loan as lent: %d %s", code, b)
		}
		if code, b := move(southKey, "Loaned"); code != 200 {
			t.Fatalf("south: Loaned: %d %s", code, b)
		}
		code, b := send(t, http.MethodGet, base+"/api/v1/requests/"+loan.ID, northKey, nil)
		r := decodeRequest(t, b)
		if code != 200 || r.Status != requests.Loaned || len(r.History) != 3 || r.History[2].Actor != "south" || r.History[2].Note != "via test" {
			t.Fatalf("history: %s", b)
		}
		// north hears of south's moves on its own webhook.
		hooks.wait(t, 10*time.Second, "north", func(p requests.Payload) bool {
			return p.Event == requests.EventStatusChanged && p.Request.Status == requests.Loaned
		})
	})

	t.Run("a purchase suggestion exports south's record as MARCXML", func(t *testing.T) {
		pb := searchSnapshot(t, base, "south", "emma")
		pb["kind"] = "purchase"
		delete(pb, "supplier")
		code, b := postRequest(t, base, northKey, "", pb)
		if code != 201 {
			t.Fatalf("purchase: %d %s", code, b)
		}
		pr := decodeRequest(t, b)
		code, x := send(t, http.MethodGet, base+"/api/v1/requests/"+pr.ID+"/marcxml", northKey, nil)
		for _, want := range []string{`<subfield code="a">9780141439518</subfield>`, `<subfield code="a">Emma</subfield>`, `<subfield code="b">Penguin</subfield>`, "https://cat.south.example.org/r/s-78"} {
			if code != 200 || !strings.Contains(string(x), want) {
				t.Fatalf("MARCXML lacks %s: %d %s", want, code, x)
			}
		}
		if code, b := postRequest(t, base, southKey, "", map[string]any{"kind": "purchase", "source": pb["source"], "metadata": pb["metadata"]}); code != 403 ||
			!strings.Contains(string(b), `"kind_disabled"`) {
			t.Fatalf("south (purchases not enabled) suggesting a purchase: %d %s", code, b)
		}
	})

	hooks.mu.Lock()
	defer hooks.mu.Unlock()
	for id, n := range hooks.acked {
		if n != 1 {
			t.Errorf("delivery %s acknowledged %d times", id, n)
		}
	}
	t.Logf("%d webhook attempts, %d distinct deliveries acknowledged", hooks.attempts, len(hooks.acked))
}

func maps(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// A burst of 1,000 creations from 8 clients, with a SIGKILL of the server
// in the middle: every acknowledged request is there after a restart, and
// replaying every creation with its Idempotency-Key creates no duplicate.
func TestKill9DuringABurstOfRequestCreationsLosesNoAcknowledgedRequest(t *testing.T) {
	if os.Getenv("COMMONSHELF_E2E_CHILD") != "" {
		t.Skip("child")
	}
	_, hookSrv := newHookReceiver(t)
	cfg, data := requestConsortium(t, hookSrv.URL)
	cmd, base := startServer(t, cfg, data)
	body := searchSnapshot(t, base, "south", "pride prejudice")
	const total = 1000
	var (
		mu    sync.Mutex
		acked = map[string]string{} // idempotency key → request id
		next  atomic.Int64
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	killed := make(chan time.Duration, 1)
	for range 8 {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > total {
					return
				}
				key := fmt.Sprintf("burst-%04d", n)
				b, _ := json.Marshal(body)
				req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/requests", bytes.NewReader(b))
				req.Header.Set("Authorization", "Bearer "+northKey)
				req.Header.Set("Idempotency-Key", key)
				resp, err := client.Do(req)
				if err != nil {
					continue // the server is gone: not acknowledged
				}
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 201 {
					continue
				}
				var r requests.Request
				json.Unmarshal(out, &r)
				mu.Lock()
				acked[key] = r.ID
				if len(acked) == 400 {
					killed <- time.Since(start)
					syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	cmd.Wait()
	took := <-killed
	cmd, base = startServer(t, cfg, data)
	defer stopServer(cmd)
	for key, id := range acked {
		code, b := send(t, http.MethodGet, base+"/api/v1/requests/"+id, northKey, nil)
		if code != 200 || decodeRequest(t, b).Metadata.Title != "Pride and prejudice" {
			t.Fatalf("acknowledged request %s (%s) after the restart: %d %s", id, key, code, b)
		}
	}
	ids := map[string]bool{}
	for n := 1; n <= total; n++ {
		key := fmt.Sprintf("burst-%04d", n)
		code, b := postRequest(t, base, northKey, key, body)
		r := decodeRequest(t, b)
		if want, ok := acked[key]; ok && (code != 200 || r.ID != want) {
			t.Fatalf("replaying acknowledged %s: %d %s, want 200 with %s", key, code, b, want)
		}
		if code != 200 && code != 201 {
			t.Fatalf("replaying %s: %d %s", key, code, b)
		}
		if ids[r.ID] {
			t.Fatalf("two keys made request %s", r.ID)
		}
		ids[r.ID] = true
	}
	t.Logf("400 creations acknowledged in %s (%.0f requests/s over HTTP, each committed with fsync) before the kill; %d acknowledged in all; all present after restart; %d replays made %d distinct requests",
		took.Round(time.Millisecond), 400/took.Seconds(), len(acked), total, len(ids))
}

// isoReceiver is an ISO 18626 endpoint on loopback: it parses each message,
// checks its header against the institution it was sent to and answers the
// matching confirmation with messageStatus OK.
type isoReceiver struct {
	t   *testing.T
	mu  sync.Mutex
	got map[string][]isoGot // institution → messages, in order
}

type isoGot struct {
	Kind      string // request, supplyingAgencyMessage, requestingAgencyMessage
	Supplier  string
	Requester string
	RequestID string
	Title     string
	RecordID  string
	Service   string
	Pickup    string
	Status    string
	Action    string
}

type isoAgencyXML struct {
	Type  string `xml:"agencyIdType"`
	Value string `xml:"agencyIdValue"`
}

type isoHeaderXML struct {
	Supplying  isoAgencyXML `xml:"supplyingAgencyId"`
	Requesting isoAgencyXML `xml:"requestingAgencyId"`
	Timestamp  string       `xml:"timestamp"`
	RequestID  string       `xml:"requestingAgencyRequestId"`
}

func (h *isoReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	inst := strings.TrimPrefix(r.URL.Path, "/iso/")
	var m struct {
		XMLName xml.Name `xml:"http://illtransactions.org/2013/iso18626 ISO18626Message"`
		Version string   `xml:"http://illtransactions.org/2013/iso18626 version,attr"`
		Request *struct {
			Header isoHeaderXML `xml:"header"`
			Bib    struct {
				RecordID string `xml:"supplierUniqueRecordId"`
				Title    string `xml:"title"`
			} `xml:"bibliographicInfo"`
			Service string `xml:"serviceInfo>serviceType"`
			Pickup  string `xml:"requestedDeliveryInfo>address>physicalAddress>line1"`
		} `xml:"request"`
		Sup *struct {
			Header isoHeaderXML `xml:"header"`
			Reason string       `xml:"messageInfo>reasonForMessage"`
			Status string       `xml:"statusInfo>status"`
		} `xml:"supplyingAgencyMessage"`
		Req *struct {
			Header isoHeaderXML `xml:"header"`
			Action string       `xml:"action"`
		} `xml:"requestingAgencyMessage"`
	}
	if err := xml.Unmarshal(body, &m); err != nil || m.Version != "1.2" || r.Header.Get("Content-Type") != "application/xml" {
		h.t.Errorf("message to %s: %v, version %q, Content-Type %q: %s", inst, err, m.Version, r.Header.Get("Content-Type"), body)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var g isoGot
	var hd isoHeaderXML
	switch {
	case m.Request != nil:
		hd, g = m.Request.Header, isoGot{Kind: "request", Title: m.Request.Bib.Title, RecordID: m.Request.Bib.RecordID, Service: m.Request.Service, Pickup: m.Request.Pickup}
	case m.Sup != nil:
		hd, g = m.Sup.Header, isoGot{Kind: "supplyingAgencyMessage", Status: m.Sup.Status}
		if m.Sup.Reason != "StatusChange" {
			h.t.Errorf("reasonForMessage %q", m.Sup.Reason)
		}
	case m.Req != nil:
		hd, g = m.Req.Header, isoGot{Kind: "requestingAgencyMessage", Action: m.Req.Action}
	default:
		h.t.Errorf("no message to %s: %s", inst, body)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	g.Supplier, g.Requester, g.RequestID = hd.Supplying.Value, hd.Requesting.Value, hd.RequestID
	if hd.Supplying.Type != requests.ISO18626AgencyIDType || hd.Requesting.Type != requests.ISO18626AgencyIDType || hd.Timestamp == "" ||
		(g.Kind == "supplyingAgencyMessage") != (inst == g.Requester) || (g.Kind != "supplyingAgencyMessage") != (inst == g.Supplier) {
		h.t.Errorf("header of the %s to %s: %+v", g.Kind, inst, hd)
	}
	h.mu.Lock()
	h.got[inst] = append(h.got[inst], g)
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/xml")
	fmt.Fprintf(w, `<?xml version="1.0"?><ISO18626Message xmlns="http://illtransactions.org/2013/iso18626" xmlns:ill="http://illtransactions.org/2013/iso18626" ill:version="1.2">`+
		`<%sConfirmation><confirmationHeader><timestamp>%s</timestamp><requestingAgencyRequestId>%s</requestingAgencyRequestId><timestampReceived>%[2]s</timestampReceived>`+
		`<messageStatus>OK</messageStatus></confirmationHeader></%[1]sConfirmation></ISO18626Message>`, g.Kind, time.Now().UTC().Format(time.RFC3339), g.RequestID)
}

func (h *isoReceiver) wait(t *testing.T, inst string, ok func(isoGot) bool) isoGot {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		h.mu.Lock()
		for _, g := range h.got[inst] {
			if ok(g) {
				h.mu.Unlock()
				return g
			}
		}
		h.mu.Unlock()
	}
	t.Fatalf("no matching ISO 18626 message to %s; got %+v", inst, h.got)
	return isoGot{}
}

func TestALoanReachesTheSuppliersISO18626EndpointAndStatusChangesComeBack(t *testing.T) {
	if os.Getenv("COMMONSHELF_E2E_CHILD") != "" {
		t.Skip("child")
	}
	iso := &isoReceiver{t: t, got: map[string][]isoGot{}}
	isoSrv := httptest.NewServer(iso) // listens on 127.0.0.1
	t.Cleanup(isoSrv.Close)
	cfg, data := requestConsortium(t, "http://unused.invalid")
	// north and south hear of requests by ISO 18626 instead of webhooks.
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := regexp.MustCompile(`webhook: \{url: [^,]+/(north|south), secret_env: \w+\}`).ReplaceAllString(string(b), "iso18626: {url: "+isoSrv.URL+"/iso/$1}")
	if strings.Count(c, "iso18626:") != 2 {
		t.Fatalf("configuration: %s", c)
	}
	os.WriteFile(cfg, []byte(c), 0o644)
	cmd, base := startServer(t, cfg, data)
	defer func() { stopServer(cmd) }()

	body := searchSnapshot(t, base, "south", "pride prejudice")
	code, out := postRequest(t, base, northKey, "", body)
	if code != 201 {
		t.Fatalf("create: %d %s", code, out)
	}
	loan := decodeRequest(t, out)
	g := iso.wait(t, "south", func(g isoGot) bool { return g.Kind == "request" && g.RequestID == loan.ID })
	if g.Supplier != "south" || g.Requester != "north" || g.Title != "Pride and prejudice" || g.RecordID != "s-77" || g.Service != "Loan" || g.Pickup != "North main desk" {
		t.Fatalf("south received %+v", g)
	}

	move := func(key, id, to string) {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"to": to})
		if code, out := send(t, http.MethodPost, base+"/api/v1/requests/"+id+"/transitions", key, b); code != 200 {
			t.Fatalf("%s: %d %s", to, code, out)
		}
	}
	move(southKey, loan.ID, "WillSupply")
	iso.wait(t, "north", func(g isoGot) bool {
		return g.Kind == "supplyingAgencyMessage" && g.RequestID == loan.ID && g.Status == "WillSupply"
	})
	move(northKey, loan.ID, "Cancelled")
	iso.wait(t, "south", func(g isoGot) bool {
		return g.Kind == "requestingAgencyMessage" && g.RequestID == loan.ID && g.Action == "Cancel"
	})
	iso.mu.Lock()
	defer iso.mu.Unlock()
	if n, s := len(iso.got["north"]), len(iso.got["south"]); n != 1 || s != 2 {
		t.Fatalf("north got %+v, south got %+v: each message once, in order", iso.got["north"], iso.got["south"])
	}
}
