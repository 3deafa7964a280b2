package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeAnswersNotReadyWhileAMemberIsOpening starts serve on a
// consortium whose local member's catalogue is a named pipe: indexing it
// cannot finish before the test writes the records, so whatever the
// machine's speed, the server is observed while a member is still opening.
// It must answer at once — healthz 200, readyz 503, searches 503 with
// Retry-After and a JSON error — and become ready once the records are in.
func TestServeAnswersNotReadyWhileAMemberIsOpening(t *testing.T) {
	if os.Getenv("COMMONSHELF_E2E_CHILD") != "" {
		t.Skip("child")
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "north.xml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(`consortium: {id: c, name: C}
institutions:
  - id: north
    name: North
    member: {connector: local, files: [north.xml]}
`), 0o644)

	cmd := exec.Command(os.Args[0], "-test.run=^TestServeChild$")
	cmd.Env = append(os.Environ(), "COMMONSHELF_E2E_CHILD=serve --config "+cfg+" --addr 127.0.0.1:0 --data-dir "+filepath.Join(dir, "data"))
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer killServer(cmd) // also when the test fails with the pipe unwritten

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// next waits for the child's next line matching re. The deadline only
	// keeps a broken server from hanging the test; nothing is timed.
	next := func(re *regexp.Regexp) string {
		t.Helper()
		deadline := time.After(2 * time.Minute)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("serve said nothing matching %s", re)
				}
				if m := re.FindStringSubmatch(l); m != nil {
					return m[1]
				}
			case <-deadline:
				t.Fatalf("serve did not say anything matching %s", re)
			}
		}
	}
	base := next(regexp.MustCompile(`starting on (http://127\.0\.0\.1:\d+)`))

	get := func(path string) (*http.Response, map[string]any) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("GET %s: %d, not JSON: %s", path, resp.StatusCode, b)
		}
		return resp, body
	}
	errorCode := func(body map[string]any) string {
		e, _ := body["error"].(map[string]any)
		s, _ := e["code"].(string)
		return s
	}

	t.Run("while the member is opening", func(t *testing.T) {
		if resp, _ := get("/healthz"); resp.StatusCode != http.StatusOK {
			t.Errorf("healthz: %d", resp.StatusCode)
		}
		if resp, body := get("/readyz"); resp.StatusCode != http.StatusServiceUnavailable || errorCode(body) != "not_ready" {
			t.Errorf("readyz: %d %v", resp.StatusCode, body)
		}
		for _, path := range []string{"/api/v1/search?q=crime", "/api/v1/members", "/"} {
			resp, body := get(path)
			if resp.StatusCode != http.StatusServiceUnavailable || errorCode(body) != "not_ready" {
				t.Errorf("%s: %d %v", path, resp.StatusCode, body)
			}
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("%s: no Retry-After", path)
			}
		}
	})

	// Feed the pipe: the import reads the records and reaches its end.
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, `<?xml version="1.0"?><collection xmlns="http://www.loc.gov/MARC21/slim">`+
		marcRecord("n1", "9780140449136", "Dostoyevsky, Fyodor", "Crime and punishment", "", "Penguin", "2003")+`</collection>`)
	w.Close()
	next(regexp.MustCompile(`is serving .* at (http://127\.0\.0\.1:\d+)/`))

	t.Run("once every member is open", func(t *testing.T) {
		if resp, body := get("/readyz"); resp.StatusCode != http.StatusOK {
			t.Fatalf("readyz: %d %v", resp.StatusCode, body)
		}
		resp, body := get("/api/v1/search?q=crime")
		if resp.StatusCode != http.StatusOK || !strings.Contains(fmt.Sprint(body["results"]), "Crime and punishment") {
			t.Fatalf("search: %d %v", resp.StatusCode, body)
		}
	})
	stopServer(cmd)
}
