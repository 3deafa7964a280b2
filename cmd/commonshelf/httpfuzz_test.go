package main

// FuzzHTTP is the standing fuzz test of the HTTP front door: every input
// becomes one to three raw HTTP/1.1 requests — a method, a path from the
// route table (api/server.go, match) or a mutation of one, a query string
// of the route's parameters with hostile values, headers (Authorization
// with the demo keys and garbage, odd Content-Length, Expect, Range, …)
// and a body (JSON, NDJSON, multipart, forms, truncated) — sent over a
// plain TCP connection to a real demo server on loopback, started
// in-process with the serve command as the end-to-end tests do (so `go
// test -fuzz` sees the server's coverage). Each answer is checked:
//
//   - no 5xx, except 503 carrying Retry-After;
//   - no "handler panicked" and no ERROR-level line in the server's log;
//   - no answer, and no log line, repeats an Authorization credential;
//   - an answer within fuzzAnswerWait (the request is complete: the write
//     side is closed after it, so a short body is an end of input).
//
// Every few hundred inputs, and after the run, a catalogue search and a
// list search must still answer 200.
//
// `go test ./cmd/commonshelf -run FuzzHTTP` (and `make test`) replays the
// corpus under testdata/fuzz/FuzzHTTP and a few thousand inputs generated
// from a fixed seed, within fuzzShortBudget; `make fuzz` (or `go test
// ./cmd/commonshelf -run '^$' -fuzz '^FuzzHTTP$' -fuzztime 5m`) explores.
//
// An input that starts with "raw\n" is sent as it is (the rest of the
// input is the request, bytes for bytes): the hand-written seeds
// (fuzzRawSeeds) use it for requests the generator would take long to
// find. A failure prints the bytes sent, so it can be replayed with any
// client (printf '…' | nc 127.0.0.1 PORT).
//
// FUZZHTTP_ALLOW=REGEXP logs rather than fails the problems it matches,
// to explore past a known bug while its fix lands.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	gomaps "maps"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// fuzzGenerated inputs are generated from a fixed seed for the plain
	// (non-fuzzing) run, on top of the corpus.
	fuzzGenerated = 2000
	// fuzzShortBudget bounds the plain run: inputs past it are skipped
	// (and counted in the log), so a server that has started to hang
	// cannot hold `make test` for long.
	fuzzShortBudget = 35 * time.Second
	// fuzzAnswerWait is how long one request may take to be answered.
	fuzzAnswerWait = 12 * time.Second
	// Under -fuzz the engine kills a worker whose call of the fuzz
	// function passes 10 s (and discards its output): an input gets
	// fuzzInputBudget, a request fuzzFuzzingAnswerWait (searches end by
	// their members' deadlines, 3 s in the demo), and the requests that
	// would not fit are not sent.
	fuzzInputBudget       = 9 * time.Second
	fuzzFuzzingAnswerWait = 6 * time.Second
	// fuzzLivenessEvery inputs, the known searches must still answer.
	fuzzLivenessEvery = 250
)

func FuzzHTTP(f *testing.F) {
	fuzzing, worker := false, false
	if fl := flag.Lookup("test.fuzz"); fl != nil && fl.Value.String() != "" {
		fuzzing = true
	}
	if fl := flag.Lookup("test.fuzzworker"); fl != nil && fl.Value.String() == "true" {
		worker = true
	}
	for _, s := range fuzzRawSeeds {
		f.Add([]byte("raw\n" + s))
	}
	// A fixed seed: the plain run sends the same requests every time.
	n := fuzzGenerated
	switch {
	case fuzzing:
		n = 200 // a start for the fuzzer's corpus; it finds the rest
	case testing.Short():
		n = 300
	}
	rng := rand.New(rand.NewPCG(20261208, 0xc0ffee))
	for range n {
		b := make([]byte, 4+rng.IntN(300))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		f.Add(b)
	}
	ft := &fuzzTarget{statuses: map[int]int{}, wait: fuzzAnswerWait}
	if fuzzing {
		ft.wait, ft.budget = fuzzFuzzingAnswerWait, fuzzInputBudget
	}
	f.Cleanup(func() {
		if ft.stop != nil {
			ft.stop()
		}
	})
	// Under -fuzz the coordinating process runs no input: only each worker
	// (and the plain run) serves.
	if !fuzzing || worker {
		if err := ft.serve(fuzzing); err != nil {
			f.Fatal(err)
		}
	}
	deadline := time.Now().Add(fuzzShortBudget)
	var skipped int
	f.Cleanup(func() {
		if !ft.started() {
			return
		}
		if skipped > 0 {
			f.Logf("the time budget of %v ran out: %d inputs were skipped", fuzzShortBudget, skipped)
		}
		f.Logf("%d inputs, %d requests sent; answers by status: %v", ft.inputs, ft.requests, ft.statusCounts())
		if err := ft.alive(15 * time.Second); err != nil {
			f.Errorf("after the run: %v\nlast requests:\n%s", err, ft.recentRequests())
		}
		for _, p := range fuzzLogProblems(ft.log.take(), nil) {
			f.Errorf("after the run, the server log has: %s", p)
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		if !fuzzing && time.Now().After(deadline) {
			skipped++
			t.Skip("the plain run's time budget is spent")
		}
		if !ft.started() {
			t.Fatal("the server was not started")
		}
		ft.exercise(t, data)
	})
}

// fuzzTarget is the demo server under test and what it has logged.
type fuzzTarget struct {
	addr   string        // 127.0.0.1:port
	wait   time.Duration // for each answer
	budget time.Duration // for each input; 0: none
	log    *fuzzLogSink
	stop   func() // stops the server and removes its data (a no-op until started)
	// lastRequest, under -fuzz, holds the bytes of the request being sent:
	// a panic outside a handler ends the worker process, whose output the
	// fuzzing engine discards, so the crash report and the request are
	// kept in files (see serve).
	lastRequest *os.File

	mu       sync.Mutex
	inputs   int
	requests int
	statuses map[int]int
	recent   []string // the last requests, for a failing liveness check
}

func (ft *fuzzTarget) started() bool { return ft.addr != "" }

// serve starts the demo consortium in-process on a free loopback port,
// its log captured; ft.stop ends it.
func (ft *fuzzTarget) serve(fuzzing bool) error {
	// A fuzzing worker is stopped without its cleanups: the data of
	// workers that are gone is removed here (the pid is in the name).
	fuzzRemoveStaleData()
	dir, err := os.MkdirTemp("", fmt.Sprintf("commonshelf-httpfuzz-%d-", os.Getpid()))
	if err != nil {
		return err
	}
	removeFiles := func() {}
	if fuzzing {
		// A worker that dies leaves $TMPDIR/commonshelf-httpfuzz-PID.crash
		// (the runtime's report) and .request (what was being sent).
		base := filepath.Join(os.TempDir(), fmt.Sprintf("commonshelf-httpfuzz-%d", os.Getpid()))
		crash, err := os.Create(base + ".crash")
		if err != nil {
			return err
		}
		if err := debug.SetCrashOutput(crash, debug.CrashOptions{}); err != nil {
			return err
		}
		if ft.lastRequest, err = os.Create(base + ".request"); err != nil {
			return err
		}
		removeFiles = func() { // the worker ended well
			debug.SetCrashOutput(nil, debug.CrashOptions{})
			crash.Close()
			ft.lastRequest.Close()
			os.Remove(base + ".crash")
			os.Remove(base + ".request")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	ft.log = &fuzzLogSink{}
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--demo", "--addr", "127.0.0.1:0", "--data-dir", dir}, pw, ft.log)
		pw.Close()
	}()
	ft.stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			fmt.Fprintln(os.Stderr, "FuzzHTTP: the server did not stop within 30 s of its context ending")
		}
		os.RemoveAll(dir)
		removeFiles()
	}
	urlRE := regexp.MustCompile(`at http://(127\.0\.0\.1:\d+)/`)
	found := make(chan string, 1)
	go func(out chan<- string) {
		sent := false
		sc := bufio.NewScanner(pr)
		for sc.Scan() { // read to the end: serve must never block on its output
			if m := urlRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				out <- m[1]
				sent = true
			}
		}
		close(out)
	}(found)
	select {
	case addr, ok := <-found:
		if !ok {
			return fmt.Errorf("serve --demo exited with %d before serving; log:\n%s", <-done, strings.Join(ft.log.take(), "\n"))
		}
		ft.addr = addr
	case <-time.After(3 * time.Minute):
		return fmt.Errorf("serve --demo did not start within 3 minutes")
	}
	for _, p := range fuzzLogProblems(ft.log.take(), nil) { // start-up
		return fmt.Errorf("at start-up: %s", p)
	}
	return nil
}

// fuzzRemoveStaleData removes the data directories of servers whose
// process has ended.
func fuzzRemoveStaleData() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "commonshelf-httpfuzz-*-*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.Split(filepath.Base(d), "-")[2])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

// exercise builds the requests of one input, sends them and checks the
// answers and the log.
func (ft *fuzzTarget) exercise(t *testing.T, data []byte) {
	ft.mu.Lock()
	ft.inputs++
	input := ft.inputs
	ft.mu.Unlock()
	begin := time.Now()
	left := func() time.Duration { return ft.budget - time.Since(begin) }
	if ft.budget > 0 && input%fuzzLivenessEvery == 0 {
		if err := ft.alive(left() / 3); err != nil {
			t.Errorf("after %d inputs: %v\nlast requests:\n%s", input, err, ft.recentRequests())
		}
	}
	reqs := fuzzRequests(data, ft.addr)
	var harvested []string
	for i, r := range reqs {
		if ft.budget > 0 && left() < ft.wait {
			t.Logf("requests %d to %d of the input not sent: its time is spent", i+1, len(reqs))
			break
		}
		if r.build != nil {
			r = r.build(harvested)
		}
		ans := ft.send(r)
		ft.note(r, ans)
		harvested = append(harvested, fuzzHarvest(ans.data)...)
		problems := fuzzAnswerProblems(r, ans)
		problems = append(problems, fuzzLogProblems(ft.log.take(), r.secrets)...)
		problems = ft.dropBenignEchoes(r, problems, begin)
		problems = fuzzAllowed(t, problems, ans)
		if len(problems) > 0 {
			t.Errorf("request %d of %d: %s\nsent (%d bytes): %s\nproblems:\n  - %s\nanswer: %s",
				i+1, len(reqs), r.summary, len(r.raw), fuzzQuote(r.raw, 1500), strings.Join(problems, "\n  - "), fuzzQuote(ans.data, 600))
		}
	}
	if ft.budget == 0 && input%fuzzLivenessEvery == 0 {
		if err := ft.alive(15 * time.Second); err != nil {
			t.Errorf("after %d inputs: %v\nlast requests:\n%s", input, err, ft.recentRequests())
		}
	}
}

func (ft *fuzzTarget) note(r fuzzRequest, ans fuzzAnswer) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.requests++
	status := 0
	if len(ans.responses) > 0 {
		status = ans.responses[0].status
	}
	ft.statuses[status]++
	ft.recent = append(ft.recent, fmt.Sprintf("%s → %d", r.summary, status))
	if len(ft.recent) > 20 {
		ft.recent = ft.recent[len(ft.recent)-20:]
	}
}

func (ft *fuzzTarget) statusCounts() map[int]int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return gomaps.Clone(ft.statuses)
}

func (ft *fuzzTarget) recentRequests() string {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return "  " + strings.Join(ft.recent, "\n  ")
}

// alive checks that a known catalogue search and a list search answer 200.
func (ft *fuzzTarget) alive(timeout time.Duration) error {
	c := &http.Client{Timeout: timeout}
	for _, p := range []string{"/api/v1/search?q=hunger+games", "/api/v1/lists/search?q=dystopia"} {
		resp, err := c.Get("http://" + ft.addr + p)
		if err != nil {
			return fmt.Errorf("GET %s: %w", p, err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d %s", p, resp.StatusCode, fuzzQuote(body, 300))
		}
	}
	return nil
}

// fuzzRequest is one request as sent.
type fuzzRequest struct {
	raw     []byte   // every byte sent
	method  string   // the request line's method (HEAD answers have no body)
	summary string   // method and target, for messages
	secrets []string // Authorization credentials that must not come back
	// build, when set, makes the request once the answers of the input's
	// earlier requests are in (ids they named, such as a stored file's).
	build func(harvested []string) fuzzRequest
}

// fuzzAnswer is what came back on the connection.
type fuzzAnswer struct {
	data      []byte
	responses []fuzzResponse
	parseErr  error // bytes that are not HTTP responses
	readErr   error // a timeout, or a reset before anything came
}

type fuzzResponse struct {
	status int
	header http.Header
	body   []byte
}

// send writes r on a new connection, closes the write side (the request is
// complete: a declared length longer than the body is an end of input) and
// reads until the server closes.
func (ft *fuzzTarget) send(r fuzzRequest) fuzzAnswer {
	var ans fuzzAnswer
	conn, err := net.DialTimeout("tcp", ft.addr, 5*time.Second)
	if err != nil {
		ans.readErr = err
		return ans
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(ft.wait))
	if ft.lastRequest != nil {
		ft.lastRequest.Truncate(0)
		ft.lastRequest.WriteAt(r.raw, 0)
	}
	// The server may answer and close before reading everything (431, an
	// early 413): a failed write is not a failure; the answer is read.
	_, _ = conn.Write(r.raw)
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	ans.data, err = io.ReadAll(io.LimitReader(conn, 64<<20))
	var ne net.Error
	if err != nil && (errors.As(err, &ne) && ne.Timeout() || len(ans.data) == 0) {
		ans.readErr = err
	}
	ans.responses, ans.parseErr = fuzzParseResponses(ans.data, r.method)
	if ans.parseErr != nil && r.method == http.MethodHead {
		// A request the server could not read is answered with a body
		// even when it began with HEAD (and the connection is closed).
		if resps, err := fuzzParseResponses(ans.data, http.MethodGet); err == nil {
			ans.responses, ans.parseErr = resps, nil
		}
	}
	return ans
}

// fuzzParseResponses reads the responses in data (1xx interim answers
// left out); the first answers method, any later one a GET (the rest of a
// body the server took for another request).
func fuzzParseResponses(data []byte, method string) ([]fuzzResponse, error) {
	var out []fuzzResponse
	br := bufio.NewReader(bytes.NewReader(data))
	for {
		if _, err := br.Peek(1); err != nil {
			return out, nil
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return out, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return out, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 {
			continue
		}
		out = append(out, fuzzResponse{status: resp.StatusCode, header: resp.Header, body: body})
		method = http.MethodGet
	}
}

// fuzzAnswerProblems checks one answer.
func fuzzAnswerProblems(r fuzzRequest, ans fuzzAnswer) []string {
	var p []string
	if ans.readErr != nil {
		var ne net.Error
		if errors.As(ans.readErr, &ne) && ne.Timeout() {
			p = append(p, fmt.Sprintf("no answer in time (%d bytes had come)", len(ans.data)))
		}
		// A connection closed or reset without an answer is the server's
		// right for a request it cannot read.
	}
	if ans.parseErr != nil && !(len(ans.responses) > 0 && strings.Contains(ans.parseErr.Error(), "EOF")) {
		p = append(p, fmt.Sprintf("the answer is not HTTP: %v", ans.parseErr))
	}
	for i, resp := range ans.responses {
		which := ""
		if i > 0 {
			which = fmt.Sprintf(" (answer %d on the connection)", i+1)
		}
		if resp.status >= 500 && (resp.status != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "") {
			p = append(p, fmt.Sprintf("status %d%s without being a 503 with Retry-After: %s", resp.status, which, fuzzQuote(resp.body, 400)))
		}
	}
	for _, s := range r.secrets {
		if bytes.Contains(ans.data, []byte(s)) {
			p = append(p, fmt.Sprintf("the answer repeats the Authorization credential %s", fuzzQuote([]byte(s), 80)))
		}
	}
	return p
}

// fuzzLogProblems checks the log lines a request caused.
func fuzzLogProblems(lines, secrets []string) []string {
	var p []string
	for _, l := range lines {
		short := fuzzQuote([]byte(l), 700)
		switch {
		case strings.Contains(l, "handler panicked"):
			p = append(p, "the handler panicked: "+short)
		case strings.Contains(l, "level=ERROR"):
			p = append(p, "ERROR in the log: "+short)
		case strings.HasPrefix(l, "panic:"), strings.HasPrefix(l, "fatal error:"):
			p = append(p, "the log has: "+short)
		}
		for _, s := range secrets {
			if strings.Contains(l, s) {
				p = append(p, fmt.Sprintf("the log repeats the Authorization credential %s: %s", fuzzQuote([]byte(s), 80), short))
			}
		}
	}
	return p
}

// dropBenignEchoes drops the echo problems of credentials that the server
// would have sent or logged anyway ("Bearer", "commonshelf"): the request
// is sent again with each credential replaced by other letters of the same
// length, and a credential that still comes back was never an echo
// (without that control, for lack of time under -fuzz, the problems stay).
func (ft *fuzzTarget) dropBenignEchoes(r fuzzRequest, problems []string, begin time.Time) []string {
	var echoed []string
	for _, sec := range r.secrets {
		q := fuzzQuote([]byte(sec), 80)
		for _, p := range problems {
			if strings.Contains(p, "Authorization credential "+q) {
				echoed = append(echoed, sec)
				break
			}
		}
	}
	if len(echoed) == 0 || ft.budget > 0 && time.Since(begin) > ft.budget-ft.wait {
		return problems
	}
	control := r
	control.raw = slices.Clone(r.raw)
	for _, sec := range r.secrets {
		mask := make([]byte, len(sec))
		for i := range mask {
			mask[i] = 'x'
			if sec[i] == 'x' {
				mask[i] = 'y'
			}
		}
		control.raw = bytes.ReplaceAll(control.raw, []byte(sec), mask)
	}
	ft.log.take()
	ans := ft.send(control)
	logged := strings.Join(ft.log.take(), "\n")
	out := problems[:0:0]
	for _, p := range problems {
		benign := false
		for _, sec := range echoed {
			if strings.Contains(p, "Authorization credential "+fuzzQuote([]byte(sec), 80)) &&
				(bytes.Contains(ans.data, []byte(sec)) || strings.Contains(logged, sec)) {
				benign = true
			}
		}
		if !benign {
			out = append(out, p)
		}
	}
	return out
}

// fuzzAllowRE, from $FUZZHTTP_ALLOW, matches problems that are logged
// rather than failed: a way to explore past known bugs while their fixes
// land (FUZZHTTP_ALLOW='could not be read|error when serving connection').
var fuzzAllowRE = sync.OnceValue(func() *regexp.Regexp {
	if v := os.Getenv("FUZZHTTP_ALLOW"); v != "" {
		return regexp.MustCompile(v)
	}
	return nil
})

// fuzzAllowed drops the problems $FUZZHTTP_ALLOW allows (matched with the
// answer), logging them.
func fuzzAllowed(t *testing.T, problems []string, ans fuzzAnswer) []string {
	re := fuzzAllowRE()
	if re == nil {
		return problems
	}
	var out []string
	for _, p := range problems {
		if re.MatchString(p) || re.Match(ans.data) && strings.Contains(p, "the answer") {
			t.Logf("allowed by FUZZHTTP_ALLOW: %s", p)
			continue
		}
		out = append(out, p)
	}
	return out
}

// fuzzHarvest collects ids an answer named ("id":"…"), for the input's
// later requests.
func fuzzHarvest(data []byte) []string {
	var out []string
	for _, m := range fuzzIDRE.FindAllSubmatch(data, 8) {
		out = append(out, string(m[1]))
	}
	return out
}

var fuzzIDRE = regexp.MustCompile(`"id":"([A-Za-z0-9_.:-]{1,80})"`)

// fuzzQuote shows b as a Go string, cut to max bytes.
func fuzzQuote(b []byte, max int) string {
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + fmt.Sprintf("… (%d bytes in all)", len(b))
	}
	return strconv.Quote(string(b))
}

// fuzzLogSink keeps the server's log lines until a check takes them.
type fuzzLogSink struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
}

func (s *fuzzLogSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.lines = append(s.lines, string(s.partial[:i]))
		s.partial = s.partial[i+1:]
	}
	if len(s.lines) > 10000 { // nobody is taking them: keep the newest
		s.lines = slices.Delete(s.lines, 0, len(s.lines)-10000)
	}
	return len(p), nil
}

// take returns the lines written since the last take.
func (s *fuzzLogSink) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.lines
	s.lines = nil
	return out
}

// ---- building requests from bytes ----

// fuzzSrc hands out choices from the input's bytes; past the end every
// choice is 0, which is always the ordinary option, so a short input is
// an ordinary request and each byte more makes it odder.
type fuzzSrc struct {
	b   []byte
	pos int
}

func (s *fuzzSrc) byte() byte {
	if s.pos >= len(s.b) {
		return 0
	}
	c := s.b[s.pos]
	s.pos++
	return c
}

// n is a choice in [0, k) (k ≤ 65536).
func (s *fuzzSrc) n(k int) int {
	switch {
	case k <= 1:
		return 0
	case k <= 256:
		return int(s.byte()) % k
	}
	return (int(s.byte())<<8 | int(s.byte())) % k
}

// rare is true one time in k (never past the input's end).
func (s *fuzzSrc) rare(k int) bool { return s.n(k) == k-1 }

func fuzzPick[T any](s *fuzzSrc, xs []T) T { return xs[s.n(len(xs))] }

// bytesN takes up to n raw bytes of the input.
func (s *fuzzSrc) bytesN(n int) []byte {
	end := min(s.pos+n, len(s.b))
	out := slices.Clone(s.b[s.pos:end])
	s.pos = end
	return out
}

// hexN is n hex digits made from the input (zeros past its end).
func (s *fuzzSrc) hexN(n int) string {
	b := make([]byte, (n+1)/2)
	for i := range b {
		b[i] = s.byte()
	}
	return hex.EncodeToString(b)[:n]
}

var (
	fuzzInsts = []string{"north", "south", "east", "west", "central", "nowhere", "NORTH", "", "north%00", "..", "%2e%2e", "nörth",
		strings.Repeat("n", 300)}
	// fuzzDemoLists are published demo lists, one per institution.
	fuzzDemoLists = map[string]string{"north": "chlt-chlt111-2025sp", "south": "chlt-chlt135-2025sp", "east": "chlt-chlt136-2025sp",
		"west": "chlt-chlt114-2026au", "central": "chlt-chlt104-2026au"}
	fuzzListIDs   = []string{"fuzz-list-1", "fuzz-list-2", "chlt-chlt111-2025sp", "", "..", "a b", "fuzz%2flist", "l\u00e9", strings.Repeat("l", 300), "fuzz-list-1.json"}
	fuzzCitations = []string{"c1", "c2", "x1", "c3", "", "..", "c1%00", strings.Repeat("c", 200)}
	fuzzRoles     = []string{"instructor", "admin", "student", "guest", "", "ADMIN"}
	fuzzMethods   = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "get", "PROPFIND", "",
		"G\x00T", strings.Repeat("X", 300)}
	fuzzInts = []string{"1", "0", "-1", "20", "100", "101", "299", "300", "301", "500", "501", "1000", "1e9", "1000000000",
		"2147483647", "2147483648", "4294967296", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
		"-9223372036854775809", "99999999999999999999999999", "0x7f", "+1", " 1", "1 ", "01", "1.5", "NaN", "", "-0", "\u0663", "1_000"}
	fuzzTexts = []string{"hunger games", "dystopia", "", " ", "author:tolkien", "title:(dune messiah)", "isbn:978-0-439-02348-1",
		"year:1990..2000", `"unclosed`, "((((", "a OR", "-x", "NOT", "<script>alert(1)</script>", "%", "\x00", "\xff\xfe", "é",
		"\U0001D518\U0001D52B", "'; DROP TABLE lists; --", "../../etc/passwd", "{{.}}", "${jndi:ldap://127.0.0.1/x}", "*", "?",
		"year:99999999999999999999", "year:-1..9223372036854775807", "*:*", "title:", ":", `\`, "\u202e", "course:CHLT", "department:History",
		strings.Repeat("a", 1001), strings.Repeat("é ", 600), strings.Repeat("(", 500), strings.Repeat("a OR ", 200) + "b",
		strings.Repeat("\"a\" ", 300)}
	fuzzLangs = []string{"en", "fr", "de", "xx", "", "en-GB", "*", strings.Repeat("a", 500), "de;q=1e9", "\xff"}
)

// fuzzParam says what values a query parameter takes.
type fuzzParam struct {
	name  string
	usual []string // ordinary values; the hostile pools are added
	isInt bool
}

var (
	fuzzSearchParams = []fuzzParam{{name: "q", usual: []string{"hunger games", "poems", "author:tolkien"}},
		{name: "scope", usual: []string{"consortium", "home", "north,west", "north", ",", "nowhere", "north,,south", strings.Repeat("north,", 200)}},
		{name: "home", usual: []string{"north", "west", "nowhere"}}, {name: "limit", isInt: true}, {name: "offset", isInt: true},
		{name: "filter.member", usual: []string{"south", "north,south", "nowhere"}}, {name: "filter.format", usual: []string{"book", "video", "x"}},
		{name: "filter.year", usual: []string{"1800..1900", "..", "2000", "9223372036854775807..-9223372036854775808", "1..2..3", "abc"}},
		{name: "filter.language", usual: []string{"eng", "fre", "x"}}, {name: "filter.nope", usual: []string{"x"}},
		{name: "explain", usual: []string{"1", "0", "true", "x"}}, {name: "timeout_ms", isInt: true}, {name: "cache", usual: []string{"bypass", "x", ""}}}
	fuzzPageParams = append(slices.Clone(fuzzSearchParams[:8]), fuzzParam{name: "tab", usual: []string{"lists", "catalogue", "x"}},
		fuzzParam{name: "lang", usual: fuzzLangs}, fuzzParam{name: "id", usual: []string{"isbn:9780439023481", "x", ""}})
	fuzzListSearchParams = []fuzzParam{{name: "q", usual: []string{"dystopia", "author:collins", "course:CHLT"}},
		{name: "institution", usual: []string{"north", "nowhere"}}, {name: "limit", isInt: true}, {name: "offset", isInt: true},
		{name: "filter.institution", usual: []string{"east", "east,west"}}, {name: "filter.department", usual: []string{"Children's and Young Adult Literature", "x"}},
		{name: "filter.term", usual: []string{"Spring", "Autumn"}}, {name: "filter.year", usual: []string{"2026", "x", "9223372036854775807"}},
		{name: "filter.citation_type", usual: []string{"book", "article"}}, {name: "filter.importance", usual: []string{"required", "optional"}},
		{name: "filter.nope", usual: []string{"x"}}}
	fuzzRequestListParams = []fuzzParam{{name: "role", usual: []string{"requester", "supplier", "x"}},
		{name: "status", usual: []string{"RequestReceived", "WillSupply", "Cancelled", "x"}},
		{name: "institution", usual: []string{"north", "south"}}, {name: "limit", isInt: true}}
	fuzzUploadParams = []fuzzParam{{name: "filename", usual: []string{"notes.pdf", "../../etc/passwd", "", "a\x00b.pdf", strings.Repeat("n", 300) + ".pdf", "notes.exe"}},
		{name: "copyright", usual: []string{"cleared", "pending", "fair-use", "licensed", "x"}}, {name: "return", usual: []string{"page", "json"}},
		{name: "lang", usual: fuzzLangs}}
	fuzzLTILoginParams = []fuzzParam{{name: "iss", usual: []string{"http://127.0.0.1/demo-lms", "https://nowhere.example", ""}},
		{name: "login_hint", usual: []string{"u1", ""}}, {name: "target_link_uri", usual: []string{"http://127.0.0.1/lti/launch", "javascript:alert(1)"}},
		{name: "client_id", usual: []string{"demo-north", "x"}}, {name: "lti_deployment_id", usual: []string{"1", "x"}},
		{name: "lti_message_hint", usual: []string{"x", strings.Repeat("m", 5000)}}}
	fuzzLMSParams = []fuzzParam{{name: "as", usual: []string{"instructor", "student", "setup", "x"}}, {name: "i", usual: []string{"north", "nowhere"}},
		{name: "c", usual: []string{"CHLT 111", "x"}}, {name: "link", usual: []string{"x", "eyJhbGciOiJub25lIn0.e30."}}}
	fuzzLangParam = []fuzzParam{{name: "lang", usual: fuzzLangs}, {name: "v", usual: []string{"1", "x"}}}
)

// fuzzBody names how a route's body is made.
type fuzzBody int

const (
	bodyNone fuzzBody = iota
	bodyList
	bodyNDJSON
	bodyRequest
	bodyTransition
	bodyPatch
	bodyUpload
	bodyForm
	bodyRandom
	bodyKinds
)

// fuzzRoute is an endpoint of the route table: its usual method, a path
// maker, its query parameters and its body.
type fuzzRoute struct {
	method string
	path   func(s *fuzzSrc, h []string) string
	params []fuzzParam
	body   fuzzBody
}

func fixedPath(p string) func(*fuzzSrc, []string) string {
	return func(*fuzzSrc, []string) string { return p }
}

// fuzzInst is usually a demo institution, sometimes not.
func fuzzInst(s *fuzzSrc) string {
	if s.rare(4) {
		return fuzzPick(s, fuzzInsts[5:])
	}
	return fuzzPick(s, fuzzInsts[:5])
}

// fuzzInstList picks an institution and, usually, one of its lists.
func fuzzInstList(s *fuzzSrc) (string, string) {
	inst := fuzzInst(s)
	if id, ok := fuzzDemoLists[inst]; ok && s.n(3) == 0 {
		return inst, id
	}
	return inst, fuzzPick(s, fuzzListIDs)
}

// fuzzID is an id from an earlier answer of the same input, or a made-up one.
func fuzzID(s *fuzzSrc, h []string, made ...string) string {
	if len(h) > 0 && s.n(2) == 0 {
		return h[s.n(len(h))]
	}
	return fuzzPick(s, append(made, "0", "-1", "9223372036854775807", s.hexN(16), s.hexN(64), "", "..", strings.Repeat("f", 300)))
}

func esc(s string) string { return url.PathEscape(s) }

func fuzzPutListPath(s *fuzzSrc, _ []string) string {
	i, l := fuzzInstList(s)
	return "/api/v1/institutions/" + esc(i) + "/lists/" + esc(l)
}

func fuzzUploadPath(s *fuzzSrc, _ []string) string {
	i, l := fuzzInstList(s)
	return "/api/v1/lists/" + esc(i) + "/" + esc(l) + "/citations/" + esc(fuzzPick(s, fuzzCitations)) + "/files"
}

var fuzzRoutes = []fuzzRoute{
	{"GET", fixedPath("/api/v1/search"), fuzzSearchParams, bodyNone},
	{"GET", fixedPath("/api/v1/lists/search"), fuzzListSearchParams, bodyNone},
	{"GET", fixedPath("/"), fuzzPageParams, bodyNone},
	{"GET", func(s *fuzzSrc, _ []string) string { return "/i/" + esc(fuzzInst(s)) + "/" }, fuzzPageParams, bodyNone},
	{"GET", func(s *fuzzSrc, _ []string) string { return "/export/" + fuzzPick(s, []string{"ris", "bibtex", "x"}) }, fuzzPageParams, bodyNone},
	{"GET", func(s *fuzzSrc, _ []string) string {
		i, l := fuzzInstList(s)
		return "/api/v1/lists/" + esc(i) + "/" + esc(l)
	}, nil, bodyNone},
	{"PUT", fuzzPutListPath, nil, bodyList},
	{"PUT", fuzzPutListPath, nil, bodyList},
	{"PUT", fuzzPutListPath, nil, bodyList},
	{"POST", func(s *fuzzSrc, _ []string) string { return "/api/v1/institutions/" + esc(fuzzInst(s)) + "/lists:bulk" }, nil, bodyNDJSON},
	{"POST", fuzzUploadPath, fuzzUploadParams, bodyUpload},
	{"POST", fuzzUploadPath, fuzzUploadParams, bodyUpload},
	{"POST", fuzzUploadPath, fuzzUploadParams, bodyUpload},
	{"GET", func(s *fuzzSrc, h []string) string {
		i, l := fuzzInstList(s)
		return "/api/v1/lists/" + esc(i) + "/" + esc(l) + "/citations/" + esc(fuzzPick(s, fuzzCitations)) + "/files/" + esc(fuzzID(s, h))
	}, nil, bodyPatch},
	{"POST", fixedPath("/api/v1/requests"), fuzzRequestListParams, bodyRequest},
	{"POST", fixedPath("/api/v1/requests"), fuzzRequestListParams, bodyRequest},
	{"GET", fixedPath("/api/v1/requests"), fuzzRequestListParams, bodyNone},
	{"GET", func(s *fuzzSrc, h []string) string { return "/api/v1/requests/" + esc(fuzzID(s, h)) }, nil, bodyNone},
	{"POST", func(s *fuzzSrc, h []string) string { return "/api/v1/requests/" + esc(fuzzID(s, h)) + "/transitions" }, nil, bodyTransition},
	{"GET", func(s *fuzzSrc, h []string) string { return "/api/v1/requests/" + esc(fuzzID(s, h)) + "/marcxml" }, nil, bodyNone},
	{"GET", func(s *fuzzSrc, _ []string) string { return "/api/v1/institutions/" + esc(fuzzInst(s)) + "/config" }, nil, bodyNone},
	{"GET", fixedPath("/api/v1/members"), nil, bodyNone},
	{"GET", fixedPath("/api/v1/institutions"), nil, bodyNone},
	{"GET", fixedPath("/api/v1"), nil, bodyNone},
	{"GET", fixedPath("/healthz"), nil, bodyNone},
	{"GET", fixedPath("/readyz"), nil, bodyNone},
	{"GET", fixedPath("/metrics"), nil, bodyNone},
	{"GET", func(s *fuzzSrc, _ []string) string {
		return "/static/" + fuzzPick(s, []string{"style.css", "app.js", "x.js", "..%2fgo.mod", ""})
	}, fuzzLangParam, bodyNone},
	{"GET", func(s *fuzzSrc, _ []string) string { return "/i/" + esc(fuzzInst(s)) + "/brand.css" }, fuzzLangParam, bodyNone},
	{"GET", func(s *fuzzSrc, _ []string) string { return "/i/" + esc(fuzzInst(s)) }, fuzzPageParams, bodyNone},
	{"GET", func(s *fuzzSrc, _ []string) string {
		i, l := fuzzInstList(s)
		return "/lists/" + esc(i) + "/" + esc(l)
	}, fuzzLangParam, bodyNone},
	{"POST", fixedPath("/requests/new"), fuzzPageParams, bodyForm},
	{"POST", fixedPath("/lists/add"), fuzzPageParams, bodyForm},
	{"GET", func(s *fuzzSrc, h []string) string { return "/requests/" + esc(fuzzID(s, h)) }, fuzzLangParam, bodyNone},
	{"GET", fixedPath("/lti/login"), fuzzLTILoginParams, bodyNone},
	{"POST", fixedPath("/lti/login"), nil, bodyForm},
	{"POST", fixedPath("/lti/launch"), nil, bodyForm},
	{"GET", fixedPath("/lti/session"), []fuzzParam{{name: "ticket", usual: []string{"x", ""}}, {name: "lang", usual: fuzzLangs}}, bodyNone},
	{"POST", fixedPath("/lti/deeplink"), nil, bodyForm},
	{"GET", fixedPath("/.well-known/jwks.json"), nil, bodyNone},
	{"GET", func(s *fuzzSrc, _ []string) string {
		return "/demo-lms/" + fuzzPick(s, []string{"", "launch", "auth", "jwks", "deep-link-return", "style.css", "autopost.js", "x"})
	}, fuzzLMSParams, bodyNone},
	{"GET", func(s *fuzzSrc, _ []string) string {
		return fuzzPick(s, []string{"/nope", "/api/v2/search", "/api/v1/search/", "/api/v1/search.json", "/.env", "/static/", "/i/", "/lists/",
			"/api/v1/lists/", "/api/v1/requests/", "/api/v1/institutions//config", "/api/v1/institutions/", "/demo-lms", "/api//v1/search",
			"/API/V1/SEARCH", "/api/v1/lists/north/x/citations/c1/files/", "/api/v1/lists/north/x/citations//files", "/export/", "/requests/"})
	}, fuzzSearchParams, bodyNone},
}

// fuzzRequests turns an input into the requests to send.
func fuzzRequests(data []byte, addr string) []fuzzRequest {
	if rest, ok := bytes.CutPrefix(data, []byte("raw\n")); ok {
		return []fuzzRequest{fuzzRawRequest(rest)}
	}
	s := &fuzzSrc{b: data}
	count := 1
	if s.rare(4) {
		count = 2 + s.n(2)
	}
	var out []fuzzRequest
	for range count {
		// Each request takes its choices now, in order, so an input is one
		// sequence of requests; ids from earlier answers fill in later.
		sub := &fuzzSrc{b: s.bytesN(max(0, (len(data)-s.pos)/(count-len(out))))}
		out = append(out, fuzzRequest{build: func(h []string) fuzzRequest { return fuzzBuild(&fuzzSrc{b: sub.b}, h, addr) }})
	}
	return out
}

// fuzzRawRequest sends b as it is.
func fuzzRawRequest(b []byte) fuzzRequest {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	method, target, _ := strings.Cut(strings.TrimRight(string(line), "\r"), " ")
	target, _, _ = strings.Cut(target, " ")
	r := fuzzRequest{raw: b, method: method, summary: "raw " + fuzzQuote([]byte(method+" "+target), 200)}
	// Credentials: the value after the scheme of each Authorization line.
	var auth [][]byte
	rest := b
	for len(rest) > 0 {
		l, tail, _ := bytes.Cut(rest, []byte("\n"))
		rest = tail
		if name, v, ok := bytes.Cut(l, []byte(":")); ok && strings.EqualFold(strings.TrimSpace(string(name)), "authorization") {
			auth = append(auth, l)
			r.secrets = append(r.secrets, fuzzCredential(strings.TrimSpace(string(v))))
		}
	}
	r.secrets = fuzzUnique(r.secrets, b, auth)
	return r
}

// fuzzCredential is the part of an Authorization value that must stay
// secret: what follows the scheme, or the whole value.
func fuzzCredential(v string) string {
	if _, cred, ok := strings.Cut(v, " "); ok {
		return strings.TrimSpace(cred)
	}
	switch strings.ToLower(v) {
	case "bearer", "basic", "token", "digest", "negotiate":
		return "" // a scheme alone
	}
	return v
}

// fuzzUnique keeps the credentials long enough to recognise that appear
// nowhere in the request but in its Authorization lines (a credential the
// caller also put in the path may rightly come back with the path).
func fuzzUnique(creds []string, raw []byte, authLines [][]byte) []string {
	rest := raw
	for _, l := range authLines {
		rest = bytes.Replace(rest, l, nil, 1)
	}
	var out []string
	for _, c := range creds {
		if len(c) >= 6 && !bytes.Contains(rest, []byte(c)) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// fuzzBuild makes one request from s; h are ids from earlier answers.
func fuzzBuild(s *fuzzSrc, h []string, addr string) fuzzRequest {
	rt := fuzzPick(s, fuzzRoutes)
	method := rt.method
	if s.rare(8) {
		method = fuzzPick(s, fuzzMethods)
	} else if rt.method == "GET" && s.rare(8) {
		method = "HEAD"
	}
	path := fuzzMutatePath(s, rt.path(s, h))
	query := fuzzQuery(s, rt.params)
	target := path
	if query != "" || s.rare(20) {
		target += "?" + query
	}
	if s.rare(30) {
		target += "#" + fuzzPick(s, []string{"frag", "", "%ff", "a b"})
	}
	switch {
	case s.rare(40):
		target = "http://" + addr + target // absolute form
	case s.rare(60):
		target = fuzzPick(s, []string{"*", "", "//", "?", "http://127.0.0.1", "/%", "/%%", "/\x00", "/\x7f"})
	}
	version := "HTTP/1.1"
	if s.rare(25) {
		version = fuzzPick(s, []string{"HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "", "http/1.1", "HTTP/1.1 x", "HTTP/1.12", "HTTP/9"})
	}
	eol := "\r\n"
	if s.rare(40) {
		eol = "\n"
	}

	kind := rt.body
	if s.rare(10) {
		kind = fuzzBody(s.n(int(bodyKinds)))
	}
	body, contentType := fuzzMakeBody(s, kind, path)
	if rt.body == bodyPatch && method == "GET" && kind == bodyPatch {
		// The file route: GET usually, PATCH and DELETE with a body.
		method = fuzzPick(s, []string{"GET", "PATCH", "DELETE", "GET"})
		if method == "GET" {
			body, contentType = nil, ""
		}
	}
	if rt.method == "PUT" && s.n(4) == 3 {
		method, body, contentType = "DELETE", nil, ""
	}

	var hd []string // header lines, in order
	add := func(name, value string) { hd = append(hd, name+": "+value) }
	switch {
	case s.rare(40): // none
	case s.rare(10):
		add("Host", fuzzPick(s, []string{"127.0.0.1", "", "[::1]", "evil.example", strings.Repeat("h", 300), addr + "\r\nHost: second.example"}))
	default:
		add("Host", addr)
	}
	add("User-Agent", "commonshelf-httpfuzz")
	var secrets []string
	auths := []int{1, 1, 0, 2}[s.n(4)] // usually one Authorization header
	for range auths {
		v, cred := fuzzAuthorization(s, fuzzPathInst(path))
		add("Authorization", v)
		if cred != "" {
			secrets = append(secrets, cred)
		}
	}
	if contentType != "" && !s.rare(12) {
		add("Content-Type", contentType)
	} else if s.rare(8) {
		add("Content-Type", fuzzPick(s, []string{"application/json", "application/x-ndjson", "multipart/form-data", "multipart/form-data; boundary=",
			"multipart/form-data; boundary=\"unterminated", "application/x-www-form-urlencoded", "text/plain; charset=\xff", "", ";;;", strings.Repeat("x/", 2000)}))
	}
	// Framing: the right length usually; otherwise none, short, long,
	// nonsense, two of them, or chunked (well or badly).
	framing := s.n(48)
	switch {
	case framing <= 37:
		if len(body) > 0 || method == "POST" || method == "PUT" || method == "PATCH" {
			add("Content-Length", strconv.Itoa(len(body)))
		}
	case framing == 38: // none: the body is the start of another request
	case framing == 39:
		add("Content-Length", strconv.Itoa(len(body)/2))
	case framing == 40:
		add("Content-Length", strconv.Itoa(len(body)+1+s.n(1<<16)))
	case framing == 41:
		add("Content-Length", fuzzPick(s, []string{"-1", "abc", "99999999999999999999", "9223372036854775807", "1e3", " 5", "5 5", "0x10", "+5", "", "4294967296"}))
	case framing == 42:
		add("Content-Length", strconv.Itoa(len(body)))
		add("Content-Length", strconv.Itoa(len(body)+s.n(10)+1))
	default:
		if s.rare(4) {
			add("Content-Length", strconv.Itoa(len(body)))
		}
		add("Transfer-Encoding", fuzzPick(s, []string{"chunked", "chunked", "gzip, chunked", "Chunked", "chunked, identity", "identity"}))
		body = fuzzChunked(s, body)
	}
	fuzzExtraHeaders(s, add, &secrets)
	if s.rare(16) {
		hd = append(hd, fuzzMalformedHeader(s))
	}
	if s.rare(30) { // many headers
		for i := range 100 + s.n(200) {
			add(fmt.Sprintf("X-Many-%d", i), "x")
		}
	}
	var b bytes.Buffer
	b.WriteString(method + " " + target)
	if version != "" {
		b.WriteString(" " + version)
	}
	b.WriteString(eol)
	for _, l := range hd {
		b.WriteString(l + eol)
	}
	b.WriteString(eol)
	b.Write(body)
	if s.rare(25) { // something after the body: a second request, or junk
		b.WriteString(fuzzPick(s, []string{"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "\r\n\r\n", "GARBAGE", "\x00\x00"}))
	}
	raw := b.Bytes()
	var authLines [][]byte
	for _, l := range hd {
		if strings.HasPrefix(l, "Authorization:") {
			authLines = append(authLines, []byte(l))
		}
	}
	return fuzzRequest{raw: raw, method: method, summary: fmt.Sprintf("%s %s", fuzzQuote([]byte(method), 40), fuzzQuote([]byte(target), 300)),
		secrets: fuzzUnique(secrets, raw, authLines)}
}

// fuzzPathInst is the demo institution a path names, if any.
func fuzzPathInst(path string) string {
	if m := fuzzPathInstRE.FindStringSubmatch(path); m != nil {
		return m[1]
	}
	return ""
}

var fuzzPathInstRE = regexp.MustCompile(`/(?:institutions|lists|i)/(north|south|east|west|central)(?:/|$)`)

// fuzzMutatePath applies none, one or a few path tricks.
func fuzzMutatePath(s *fuzzSrc, p string) string {
	for range 3 {
		if !s.rare(6) {
			break
		}
		switch s.n(14) {
		case 0:
			p += "/"
		case 1:
			p = strings.Replace(p, "/", "//", 1+s.n(3))
		case 2:
			p += fuzzPick(s, []string{"/.", "/..", "/./", "/../x/..", "/%2e%2e/"})
		case 3: // percent-encode one byte (a slash too)
			if len(p) > 0 {
				i := s.n(len(p))
				p = p[:i] + fmt.Sprintf("%%%02X", p[i]) + p[i+1:]
			}
		case 4:
			p = strings.ToUpper(p)
		case 5:
			p += fuzzPick(s, []string{";jsessionid=x", "%00", "\x00", "%ff", "\xff", "%", "%zz", "%2F", "\\", " ", "\t", "é"})
		case 6: // a very long segment: past the 16 KB read buffer, or not
			p += "/" + strings.Repeat("a", fuzzPick(s, []int{256, 1024, 8 << 10, 20 << 10}))
		case 7:
			p = strings.ReplaceAll(p, "/", "\\")
		case 8:
			p = "/" + p
		case 9:
			p = strings.TrimPrefix(p, "/")
		case 10:
			if i := strings.LastIndexByte(p, '/'); i >= 0 {
				p = p[:i+1] + string(s.bytesN(1+s.n(8)))
			}
		case 11:
			var b strings.Builder
			for i := 0; i < len(p); i++ {
				if p[i] == '/' {
					b.WriteByte('/')
				} else {
					fmt.Fprintf(&b, "%%%02x", p[i])
				}
			}
			p = b.String()
		case 12:
			p = strings.Replace(p, "/", "/%2e/", 1)
		case 13:
			p += "/" + url.PathEscape(fuzzPick(s, fuzzTexts))
		}
	}
	return p
}

// fuzzQuery makes a query string of the route's parameters (and others).
func fuzzQuery(s *fuzzSrc, params []fuzzParam) string {
	var parts []string
	for range s.n(7) {
		var key, val string
		switch {
		case len(params) > 0 && !s.rare(6):
			p := fuzzPick(s, params)
			key = p.name
			switch {
			case p.isInt:
				val = fuzzPick(s, fuzzInts)
			case len(p.usual) > 0 && s.n(3) != 2:
				val = fuzzPick(s, p.usual)
			default:
				val = fuzzPick(s, fuzzTexts)
			}
		default:
			key = fuzzPick(s, []string{"x", "q", "filter." + fuzzPick(s, []string{"x", "", "member.", "year"}), "", "q[]", "\xff", "a=b",
				strings.Repeat("k", 2000), "limit", "offset", "%ff", "lang", "page"})
			val = fuzzPick(s, append(fuzzInts, fuzzTexts...))
		}
		var part string
		switch s.n(30) {
		case 29: // raw: spaces, non-UTF-8, & and = as they come
			part = key + "=" + val
		case 28, 27:
			part = url.QueryEscape(key) // a key alone
		case 26, 25, 24:
			part = url.QueryEscape(key) + "=" + url.QueryEscape(val) + "&" + url.QueryEscape(key) + "=" + url.QueryEscape(fuzzPick(s, append(fuzzInts, fuzzTexts...)))
		default:
			part = url.QueryEscape(key) + "=" + url.QueryEscape(val)
		}
		parts = append(parts, part)
	}
	if len(parts) > 0 && s.rare(15) {
		parts = append(parts, fuzzPick(s, []string{"", "&", "=", "==", "%", "q"}))
	}
	return strings.Join(parts, "&")
}

// fuzzAuthorization is an Authorization value and the credential in it
// ("" when too short or ordinary to recognise).
func fuzzAuthorization(s *fuzzSrc, prefer string) (value, cred string) {
	inst := prefer
	if inst == "" || s.rare(4) {
		inst = fuzzPick(s, []string{"north", "south", "east", "west", "central", "nowhere"})
	}
	switch s.n(16) {
	case 0, 1, 2, 3, 4, 5, 6:
		cred = "demo-" + inst + "-" + fuzzPick(s, []string{"instructor", "instructor", "admin", "student", "admin", fuzzPick(s, fuzzRoles)})
		value = fuzzPick(s, []string{"Bearer ", "bearer ", "BEARER  ", "Bearer\t"}) + cred
	case 7, 8, 9:
		cred = "sk-fuzz-" + s.hexN(8+s.n(32))
		value = "Bearer " + cred
	case 10, 11:
		cred = base64.StdEncoding.EncodeToString([]byte("fuzz-user:" + s.hexN(12)))
		value = "Basic " + cred
	case 12:
		cred = "sk-fuzz-long-" + s.hexN(16) + strings.Repeat("Z", fuzzPick(s, []int{100, 4000, 17000}))
		value = "Bearer " + cred
	case 13, 14:
		value = fuzzPick(s, []string{"Bearer", "Bearer ", "", " ", "Negotiate", "Bearer \xff\xfe", "Bearer a b c", "Digest x=\"y\""})
	default:
		cred = "sk-fuzz-" + s.hexN(10) + string(fuzzPick(s, [][]byte{{0}, {0xff}, []byte("\r"), []byte(" "), []byte("\"<>"), []byte("\x1b[31m")})) + s.hexN(6)
		value = "Token " + cred
	}
	return value, cred
}

// fuzzExtraHeaders adds headers the endpoints read, with odd values.
func fuzzExtraHeaders(s *fuzzSrc, add func(name, value string), secrets *[]string) {
	for range s.n(4) {
		switch s.n(16) {
		case 0:
			add("X-Request-Id", fuzzPick(s, []string{"fuzz-" + s.hexN(8), strings.Repeat("r", 65), strings.Repeat("r", 10000), "a b\xff", ""}))
		case 1:
			add("Expect", fuzzPick(s, []string{"100-continue", "100-Continue", "200-ok", "", strings.Repeat("e", 300)}))
		case 2:
			add("Range", fuzzPick(s, []string{"bytes=0-", "bytes=-1", "bytes=0-0", "bytes=99999999999999999999-", "bytes=5-1", "bytes=0-1,2-3",
				"bytes=-9223372036854775808", "lines=1-2", "bytes=", strings.Repeat("bytes=0-1,", 500)}))
		case 3:
			add("If-Range", fuzzPick(s, []string{"\"x\"", "W/\"x\"", "Tue, 08 Dec 2026 03:00:00 GMT", "\xff"}))
		case 4:
			add("If-None-Match", fuzzPick(s, []string{"*", "\"x\"", "W/\"x\", \"y\"", strings.Repeat("\"e\",", 2000), ""}))
		case 5:
			add("Accept-Language", fuzzPick(s, append(fuzzLangs, "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", strings.Repeat("de-DE;q=0.1,", 1000))))
		case 6:
			add("Cookie", fuzzPick(s, []string{"commonshelf_session=" + s.hexN(32), "commonshelf_lti_state=x", "=", ";;;", strings.Repeat("c=1; ", 2000), "a=\xff"}))
		case 7:
			add("X-CSRF-Token", fuzzPick(s, []string{s.hexN(32), "", strings.Repeat("t", 5000)}))
		case 8:
			add("Idempotency-Key", fuzzPick(s, []string{"1", s.hexN(8), "", strings.Repeat("i", 5000), "\xff"}))
		case 9:
			add("Content-Disposition", fuzzPick(s, []string{`attachment; filename="notes.pdf"`, `attachment; filename="../../etc/passwd"`,
				`attachment; filename*=UTF-8''%ff%fe.pdf`, `attachment; filename=`, `form-data; name="file"; filename="a` + strings.Repeat("a", 2000) + `"`, `;`}))
		case 10:
			add("Origin", fuzzPick(s, []string{"http://127.0.0.1", "null", "https://evil.example"}))
		case 11:
			add("Connection", fuzzPick(s, []string{"close", "keep-alive", "Upgrade", "TE, close"}))
			if s.rare(2) {
				add("Upgrade", fuzzPick(s, []string{"h2c", "websocket"}))
			}
		case 12:
			add("Accept-Encoding", fuzzPick(s, []string{"gzip", "br", "deflate, gzip;q=0", "*"}))
		case 13:
			add("X-Forwarded-For", fuzzPick(s, []string{"1.2.3.4", "::1", "garbage", strings.Repeat("1.1.1.1, ", 500)}))
		case 14: // the credential in another header: it must not come back either
			_, cred := fuzzAuthorization(s, "")
			if cred != "" {
				add("Proxy-Authorization", "Bearer "+cred)
			}
		default:
			add("Referer", fuzzPick(s, []string{"http://127.0.0.1/", "\xff", strings.Repeat("r", 3000)}))
		}
	}
}

// fuzzMalformedHeader is a header line HTTP does not allow.
func fuzzMalformedHeader(s *fuzzSrc) string {
	return fuzzPick(s, []string{
		"NoColonHere",
		" Folded: continuation",
		"Bad Name: x",
		"X-Ctl\x01: y",
		"X-Nul: a\x00b",
		"X-CR: a\rb",
		": empty-name",
		"X-Huge: " + strings.Repeat("h", 20<<10),
		"Authorization : Bearer sk-fuzz-spaced-name-0001",
		"Host: second.example",
		"Content-Length: 5\r\nContent-Length: 6",
		"X-Auth-Echo\x7f: Bearer sk-fuzz-in-a-bad-line-0002",
		"\tTabbed: x",
		"X-Latin1: caf\xe9",
	})
}

// fuzzChunked encodes body in chunks, sometimes wrongly.
func fuzzChunked(s *fuzzSrc, body []byte) []byte {
	var b bytes.Buffer
	for len(body) > 0 {
		n := min(len(body), 1+s.n(4096))
		size := strconv.FormatInt(int64(n), 16)
		switch {
		case s.rare(30):
			size = fuzzPick(s, []string{"zz", "-1", "ffffffffffffffffff", "", "7fffffffffffffff", size + ";ext=1", " " + size})
		case s.rare(30):
			size = strconv.FormatInt(int64(n+1+s.n(100)), 16) // longer than the data
		}
		b.WriteString(size + "\r\n")
		b.Write(body[:n])
		body = body[n:]
		if !s.rare(40) {
			b.WriteString("\r\n")
		}
	}
	switch {
	case s.rare(10): // no last chunk
	case s.rare(10):
		b.WriteString("0\r\nX-Trailer: x\r\n\r\n")
	default:
		b.WriteString("0\r\n\r\n")
	}
	return b.Bytes()
}

// fuzzMakeBody makes a body of a kind and its Content-Type.
func fuzzMakeBody(s *fuzzSrc, kind fuzzBody, path string) ([]byte, string) {
	inst, listID := "north", "fuzz-list-1"
	if parts := strings.Split(strings.Trim(path, "/"), "/"); len(parts) >= 6 && parts[2] == "institutions" && parts[4] == "lists" {
		inst, listID = parts[3], parts[5]
	}
	switch kind {
	case bodyNone:
		if s.rare(12) {
			return s.bytesN(s.n(256)), ""
		}
		return nil, ""
	case bodyList:
		return fuzzJSONBytes(s, fuzzListValue(inst, listID)), "application/json"
	case bodyNDJSON:
		var b bytes.Buffer
		for i := range 1 + s.n(6) {
			switch s.n(8) {
			case 6:
				b.WriteString(fuzzPick(s, []string{"", "{", "null", "[]", "\"x\"", strings.Repeat("x", 70<<10), "{\"id\":" + strings.Repeat("[", 3000)}))
			case 7:
				b.Write(s.bytesN(64))
			default:
				b.Write(fuzzJSONBytes(s, fuzzListValue(inst, fmt.Sprintf("fuzz-bulk-%d", i))))
			}
			if !s.rare(10) {
				b.WriteString(fuzzPick(s, []string{"\n", "\n", "\r\n", "\n\n"}))
			}
		}
		return b.Bytes(), "application/x-ndjson"
	case bodyRequest:
		return fuzzJSONBytes(s, map[string]any{"kind": fuzzPick(s, []string{"loan", "copy", "purchase", "x"}), "supplier": fuzzInst(s),
			"source":          map[string]any{"member": "south", "record_id": "s0000001", "work_id": "isbn:9780439023481"},
			"metadata":        map[string]any{"title": "The Hunger Games", "record_id": "s0000001", "authors": []any{"Collins, Suzanne"}, "year": 2008, "identifiers": map[string]any{"isbn": []any{"9780439023481"}}},
			"pickup_location": "Main desk", "needed_by": fuzzPick(s, []string{"2027-03-31", "2027-02-30", "x", "99999-01-01"}),
			"course": map[string]any{"institution": "north", "course_code": "CHLT 111", "list_id": "chlt-chlt111-2025sp", "citation_id": "c1"}}), "application/json"
	case bodyTransition:
		return fuzzJSONBytes(s, map[string]any{"to": fuzzPick(s, []string{"WillSupply", "Cancelled", "Loaned", "Ordered", "x", ""}), "note": "fuzz"}), "application/json"
	case bodyPatch:
		return fuzzJSONBytes(s, map[string]any{"copyright": fuzzPick(s, []string{"cleared", "pending", "fair-use", "licensed", "x"})}), "application/json"
	case bodyUpload:
		if s.rare(3) { // the raw body, its name in the query or Content-Disposition
			return fuzzFileContent(s), fuzzPick(s, []string{"application/pdf", "application/octet-stream", "text/plain", ""})
		}
		return fuzzMultipart(s)
	case bodyForm:
		v := url.Values{}
		for range s.n(6) {
			key := fuzzPick(s, []string{"csrf", "list", "kind", "member", "pickup_location", "needed_by", "nonce", "id_token", "state", "error",
				"error_description", "session", "iss", "login_hint", "target_link_uri", "client_id", "lti_message_hint", "x"})
			val := fuzzPick(s, append([]string{"eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.e30.c2ln", "loan", "south", "fuzz-list-1"}, fuzzTexts...))
			v.Add(key, val)
		}
		enc := v.Encode()
		if s.rare(8) {
			enc += "&%zz=%" + string(s.bytesN(8))
		}
		return []byte(enc), "application/x-www-form-urlencoded"
	default:
		switch s.n(4) {
		case 0:
			return s.bytesN(4096), ""
		case 1: // deep JSON
			d := 1 + s.n(20000)
			return []byte(strings.Repeat("[", d) + strings.Repeat("]", d)), "application/json"
		case 2:
			return bytes.Repeat([]byte("A"), fuzzPick(s, []int{1 << 10, 64 << 10, 300 << 10})), "application/octet-stream"
		}
		return fuzzJSONBytes(s, fuzzHostileJSON(s)), "application/json"
	}
}

func fuzzListValue(inst, id string) map[string]any {
	return map[string]any{"institution": inst, "id": id, "name": "Fuzz reading list", "status": "published", "visibility": "public",
		"course": map[string]any{"code": "FUZZ 101", "name": "Fuzzing", "department": "Computing", "term": "Autumn", "year": 2026,
			"instructors": []any{"Dr Fuzz"}},
		"sections": []any{map[string]any{"id": "core", "title": "Core", "citations": []any{
			map[string]any{"id": "c1", "type": "book", "title": "The Hunger Games", "authors": []any{"Collins, Suzanne"}, "year": 2008,
				"isbn": []any{"9780439023481"}, "importance": "required"},
			map[string]any{"id": "c2", "type": "article", "title": "Dystopia and the Adolescent Reader", "doi": "10.1000/xyz", "importance": "optional"},
		}}},
	}
}

// fuzzJSONBytes mutates v a few times, encodes it and sometimes spoils
// the encoding.
func fuzzJSONBytes(s *fuzzSrc, v any) []byte {
	for range max(0, s.n(8)-4) {
		v = fuzzMutateJSON(s, v, 0)
	}
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprint(v))
	}
	switch s.n(16) {
	case 13: // truncated
		if len(b) > 0 {
			b = b[:s.n(len(b))]
		}
	case 14:
		b = append(b, fuzzPick(s, []string{"}", " garbage", "\x00", "{}", "\n{}"})...)
	case 15:
		if len(b) > 0 {
			b[s.n(len(b))] = s.byte()
		}
	}
	return b
}

// fuzzMutateJSON replaces, removes or adds something somewhere in v.
func fuzzMutateJSON(s *fuzzSrc, v any, depth int) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) > 0 && depth < 8 && s.n(3) != 0 {
			keys := slices.Sorted(gomaps.Keys(x))
			k := keys[s.n(len(keys))]
			x[k] = fuzzMutateJSON(s, x[k], depth+1)
			return x
		}
		switch s.n(3) {
		case 0:
			if len(x) > 0 {
				keys := slices.Sorted(gomaps.Keys(x))
				delete(x, keys[s.n(len(keys))])
				return x
			}
		case 1:
			x[fuzzPick(s, []string{"unknown", "", "id", "\xff", "__proto__"})] = fuzzHostileJSON(s)
			return x
		}
	case []any:
		if len(x) > 0 && depth < 8 && s.n(3) != 0 {
			i := s.n(len(x))
			x[i] = fuzzMutateJSON(s, x[i], depth+1)
			return x
		}
		if len(x) > 0 && s.n(2) == 0 { // many copies of one element
			n := fuzzPick(s, []int{2, 50, 600, 5000})
			out := make([]any, 0, n)
			for range n {
				out = append(out, x[0])
			}
			return out
		}
	}
	return fuzzHostileJSON(s)
}

// fuzzHostileJSON is a value that should not be where it is put.
func fuzzHostileJSON(s *fuzzSrc) any {
	switch s.n(20) {
	case 0:
		return json.Number(fuzzPick(s, []string{"9223372036854775807", "9223372036854775808", "-9223372036854775809", "1e309", "-1", "0", "1e9", "0.5", "-0", "1E+2"}))
	case 1:
		return ""
	case 2:
		return strings.Repeat("x", fuzzPick(s, []int{300, 5000, 70 << 10}))
	case 3:
		return nil
	case 4:
		return true
	case 5:
		return []any{}
	case 6:
		return map[string]any{}
	case 7:
		d := fuzzPick(s, []int{100, 1000, 10000})
		return json.RawMessage(strings.Repeat("[", d) + strings.Repeat("]", d))
	case 8:
		return json.RawMessage("\"\xff\xfe\"")
	case 9:
		return fuzzPick(s, []string{"2026-13-45T99:99:99Z", "0000-00-00T00:00:00Z", "9999-12-31T23:59:59+99:99"})
	case 10:
		return fuzzPick(s, fuzzTexts)
	case 11:
		return json.RawMessage("[" + strings.TrimSuffix(strings.Repeat("1,", fuzzPick(s, []int{100, 5000})), ",") + "]")
	case 12:
		return json.RawMessage(`"\ud800"`)
	case 13:
		return fuzzPick(s, []string{"draft", "published", "public", "institution", "course", "book", "chapter", "article", "web", "video", "required", "recommended", "optional"})
	case 14:
		return map[string]any{"member": fuzzInst(s), "record_id": fuzzPick(s, []string{"n0000001", "", "x"})}
	case 15:
		return []any{fuzzPick(s, fuzzTexts), nil, 1}
	case 16:
		return fuzzPick(s, []string{"<mark>x</mark>", "<script>alert(1)</script>", "a\u0000b", "\u2028"})
	default:
		return json.Number(fuzzPick(s, fuzzInts[:17]))
	}
}

// fuzzFileContent is a file's bytes: a PDF, text, an image, an
// executable, or the input's own bytes.
func fuzzFileContent(s *fuzzSrc) []byte {
	switch s.n(6) {
	case 0:
		return []byte("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
	case 1:
		return []byte("Lecture notes, week 1.\n")
	case 2:
		return append([]byte("\x89PNG\r\n\x1a\n"), s.bytesN(64)...)
	case 3:
		return append([]byte("MZ\x90\x00"), s.bytesN(64)...)
	case 4:
		return bytes.Repeat([]byte("%PDF-1.4\n"), fuzzPick(s, []int{10, 10000, 30000}))
	}
	return s.bytesN(512)
}

// fuzzMultipart is a multipart/form-data upload, sometimes spoiled.
func fuzzMultipart(s *fuzzSrc) ([]byte, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	boundary := fuzzPick(s, []string{"fuzzboundary", "fuzzboundary", strings.Repeat("b", 70), "a b"})
	if err := w.SetBoundary(boundary); err != nil {
		boundary = w.Boundary()
	}
	for range s.n(3) {
		name := fuzzPick(s, []string{"csrf", "copyright", "x", strings.Repeat("n", 300)})
		val := fuzzPick(s, []string{"cleared", "pending", "x", strings.Repeat("v", 70<<10)})
		w.WriteField(name, val)
	}
	if !s.rare(8) {
		h := textproto.MIMEHeader{}
		fname := fuzzPick(s, []string{"notes.pdf", "../../etc/passwd", "", "a\x00b.pdf", "résumé.pdf", strings.Repeat("f", 500) + ".pdf", "x.exe", "\"quoted\".pdf"})
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, fuzzPick(s, []string{"file", "file", "other", ""}), fname))
		if s.n(2) == 0 {
			h.Set("Content-Type", fuzzPick(s, []string{"application/pdf", "text/html", "x"}))
		}
		if pw, err := w.CreatePart(h); err == nil {
			pw.Write(fuzzFileContent(s))
		}
	}
	if !s.rare(8) {
		w.Close()
	}
	body := b.Bytes()
	if s.rare(8) && len(body) > 0 {
		body = body[:s.n(len(body))]
	}
	ct := "multipart/form-data; boundary=" + boundary
	if strings.ContainsAny(boundary, " ") {
		ct = `multipart/form-data; boundary="` + boundary + `"`
	}
	if s.rare(10) {
		ct = fuzzPick(s, []string{"multipart/form-data", "multipart/form-data; boundary=other", "multipart/mixed; boundary=" + boundary})
	}
	return body, ct
}

// fuzzRawSeeds are requests sent as they are (each becomes the input
// "raw\n" + seed). Each targets something an engineer has seen go wrong
// in servers like this one.
var fuzzRawSeeds = []string{
	"GET /api/v1/lists/search?offset=9223372036854775807 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	"GET /api/v1/lists/search?q=dystopia&limit=9223372036854775807 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	"GET /api/v1/search?q=hunger+games&offset=9223372036854775807&limit=100 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	"GET /api/v1/search?q=poems&timeout_ms=9223372036854775807 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	"GET /api/v1/search?q=a&q=b&limit=-1&limit=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	"GET /api/v1/search?q=%ff%fe HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	"GET /?q=hunger&offset=9223372036854775807 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	"GET /api/v1/requests?limit=9223372036854775807 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer demo-north-instructor\r\n\r\n",
	"GET /api/v1/search?q=x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-fuzz-seed-secret-0003\r\nBad Header Line\r\n\r\n",
	"GET /api/v1/search?q=x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-fuzz-seed-secret-0004\r\nX-Nul: a\x00b\r\n\r\n",
	"GET /api/v1/lists/search?q=x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-fuzz-seed-secret-0005\r\n\r\n",
	"POST /api/v1/institutions/north/lists:bulk HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer demo-north-admin\r\nContent-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n{\"id\":\"fuzz-short\"",
	"PUT /api/v1/institutions/north/lists/fuzz-seed HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer demo-north-instructor\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
	"POST /api/v1/lists/north/chlt-chlt111-2025sp/citations/c1/files?filename=n.pdf HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer demo-north-student\r\nExpect: 100-continue\r\nContent-Length: 999999999999\r\n\r\n%PDF-1.4\n",
	"POST /api/v1/lists/north/chlt-chlt111-2025sp/citations/c1/files?filename=n.pdf HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer demo-north-instructor\r\nContent-Length: 50\r\n\r\n%PDF-1.4\n",
	"GET /api/v1/lists/north/chlt-chlt111-2025sp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer demo-north-student\r\nRange: bytes=99999999999999999999-\r\n\r\n",
	"POST /lti/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\niss=%zz&&",
	"GET /lti/login?iss=x&login_hint=y&target_link_uri=z HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic c2stZnV6ei1zZWVkOnNlY3JldA==\r\n\r\n",
	"GET /api/v1/search?q=x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
	"GET /api/v1/search?q=x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
	"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: " + strings.Repeat("h", 20<<10) + "\r\nAuthorization: Bearer sk-fuzz-seed-secret-0006\r\n\r\n",
	"GET /" + strings.Repeat("a", 20<<10) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	"GET /api/v1/search?q=x HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n",
	"\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n",
	"GET /api/v1/members HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-fuzz-seed-secret-0007\r\n\r\n",
	"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	"GET /api/v1/search?q=hunger+games&cache=bypass HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	// A quote in a header ends a quoted piece of an error message early.
	"G\x00T / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: \"\r\nAuthorization: Bearer sk-fuzz-seed-secret-0008\r\n\r\n",
}
