//go:build unix

package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/api"
	"github.com/commonshelf/commonshelf/connectors"
	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/demo"
	"github.com/commonshelf/commonshelf/federate"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// The cached-search benchmark runs each server in a child process (this
// test binary again, in TestCacheBenchServer) so that the server's CPU is
// measured apart from the client's: the child reports its own getrusage
// when asked on stdin.
const (
	cacheBenchModeEnv = "COMMONSHELF_CACHE_BENCH_SERVER" // "api" or "bare"
	cacheBenchBodyEnv = "COMMONSHELF_CACHE_BENCH_BODY"   // the bare handler's body file
	// COMMONSHELF_CACHE_BENCH_PROFILE=FILE writes each server's CPU profile
	// to FILE.api and FILE.bare.
	cacheBenchProfileEnv = "COMMONSHELF_CACHE_BENCH_PROFILE"
	cacheBenchPath       = "/api/v1/search?q=harry+potter&limit=20"
	cacheBenchConns      = 16
	cacheBenchRound      = 20000 // requests per server per round
)

// BenchmarkCachedSearchHTTP serves one hot search through the real
// api.Server (demo consortium, cache on, logging formatted but discarded)
// and, in the same run, the same bytes from a bare fasthttp handler; both
// on loopback, driven by 16 keep-alive connections. One op is one round of
// 20,000 requests to each. Reported: requests/s of each and their ratio,
// and each server's CPU per request (user+system, its own process).
func BenchmarkCachedSearchHTTP(b *testing.B) {
	apiSrv := startCacheBenchServer(b, "api", "")
	// The first search fills the cache; the second is the cached answer
	// whose bytes the bare handler serves.
	status, _ := cacheBenchGet(b, apiSrv.addr)
	status2, body := cacheBenchGet(b, apiSrv.addr)
	if status != 200 || status2 != 200 || !bytes.Contains(body, []byte(`"cached":true`)) || bytes.Contains(body, []byte(`"partial":true`)) {
		b.Fatalf("warm-up: %d %d, want a complete cached answer: %.200s", status, status2, body)
	}
	bodyFile := filepath.Join(b.TempDir(), "body.json")
	if err := os.WriteFile(bodyFile, body, 0o644); err != nil {
		b.Fatal(err)
	}
	bare := startCacheBenchServer(b, "bare", bodyFile)

	var apiRun, bareRun cacheBenchTotals
	for _, s := range []*cacheBenchServer{apiSrv, bare} {
		driveCacheBench(b, s, 2000) // warm connections and code paths
	}
	for b.Loop() {
		bareRun.add(driveCacheBench(b, bare, cacheBenchRound))
		apiRun.add(driveCacheBench(b, apiSrv, cacheBenchRound))
	}
	b.ReportMetric(apiRun.rate(), "api-req/s")
	b.ReportMetric(bareRun.rate(), "bare-req/s")
	b.ReportMetric(apiRun.rate()/bareRun.rate(), "throughput-ratio")
	b.ReportMetric(apiRun.cpuPer(), "api-server-µs/req")
	b.ReportMetric(bareRun.cpuPer(), "bare-server-µs/req")
	b.ReportMetric(float64(len(body)), "body-bytes")
}

type cacheBenchTotals struct {
	requests int
	wall     time.Duration
	cpu      time.Duration
}

func (t *cacheBenchTotals) add(o cacheBenchTotals) {
	t.requests += o.requests
	t.wall += o.wall
	t.cpu += o.cpu
}

func (t cacheBenchTotals) rate() float64 { return float64(t.requests) / t.wall.Seconds() }
func (t cacheBenchTotals) cpuPer() float64 {
	return float64(t.cpu.Nanoseconds()) / 1000 / float64(t.requests)
}

// driveCacheBench sends n requests over cacheBenchConns connections and
// measures the wall time and the server's CPU.
func driveCacheBench(b *testing.B, s *cacheBenchServer, n int) cacheBenchTotals {
	b.Helper()
	client := &fasthttp.HostClient{Addr: s.addr, MaxConns: cacheBenchConns, ReadTimeout: 10 * time.Second}
	cpu0 := s.cpu(b)
	start := time.Now()
	var left atomic.Int64
	left.Store(int64(n))
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range cacheBenchConns {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://" + s.addr + cacheBenchPath)
			for left.Add(-1) >= 0 {
				if err := client.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	t := cacheBenchTotals{requests: n, wall: time.Since(start), cpu: s.cpu(b) - cpu0}
	if f := failed.Load(); f > 0 {
		b.Fatalf("%s: %d of %d requests failed", s.mode, f, n)
	}
	return t
}

func cacheBenchGet(b *testing.B, addr string) (int, []byte) {
	b.Helper()
	status, body, err := fasthttp.GetTimeout(nil, "http://"+addr+cacheBenchPath, 30*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	return status, body
}

// cacheBenchServer is a server child process.
type cacheBenchServer struct {
	mode string
	addr string
	in   io.WriteCloser
	out  *bufio.Reader
}

func startCacheBenchServer(b *testing.B, mode, bodyFile string) *cacheBenchServer {
	b.Helper()
	args := []string{"-test.run=^TestCacheBenchServer$", "-test.count=1", "-test.v=false"}
	if prof := os.Getenv(cacheBenchProfileEnv); prof != "" {
		args = append(args, "-test.cpuprofile="+prof+"."+mode)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), cacheBenchModeEnv+"="+mode, cacheBenchBodyEnv+"="+bodyFile)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("start %s server: %v", mode, err)
	}
	s := &cacheBenchServer{mode: mode, in: in, out: bufio.NewReader(outPipe)}
	b.Cleanup(func() {
		in.Close() // the child stops at the end of its input
		_ = cmd.Wait()
	})
	s.addr = s.expect(b, "addr")
	return s
}

// expect reads the child's lines until one starting with word, and returns
// the rest of it.
func (s *cacheBenchServer) expect(b *testing.B, word string) string {
	b.Helper()
	for {
		line, err := s.out.ReadString('\n')
		if err != nil {
			b.Fatalf("%s server: waiting for %q: %v", s.mode, word, err)
		}
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), word+" "); ok {
			return rest
		}
	}
}

// cpu asks the child for its CPU time so far.
func (s *cacheBenchServer) cpu(b *testing.B) time.Duration {
	b.Helper()
	if _, err := io.WriteString(s.in, "cpu\n"); err != nil {
		b.Fatal(err)
	}
	ns, err := strconv.ParseInt(s.expect(b, "cpu"), 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return time.Duration(ns)
}

// TestCacheBenchServer is the server side of BenchmarkCachedSearchHTTP; it
// does nothing unless started by it.
func TestCacheBenchServer(t *testing.T) {
	mode := os.Getenv(cacheBenchModeEnv)
	if mode == "" {
		t.Skip("the server process of BenchmarkCachedSearchHTTP")
	}
	var handler fasthttp.RequestHandler
	switch mode {
	case "bare":
		body, err := os.ReadFile(os.Getenv(cacheBenchBodyEnv))
		if err != nil {
			t.Fatal(err)
		}
		handler = func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("application/json; charset=utf-8")
			ctx.SetBody(body)
		}
	case "api":
		handler = cacheBenchAPI(t)
	default:
		t.Fatalf("unknown mode %q", mode)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: handler}
	go srv.Serve(ln)
	defer srv.Shutdown()
	fmt.Printf("addr %s\n", ln.Addr())
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("cpu %d\n", ru.Utime.Nano()+ru.Stime.Nano())
	}
}

// cacheBenchAPI is the real API over the demo consortium, with the cache as
// the demo configuration sets it (the built-in defaults).
func cacheBenchAPI(t *testing.T) fasthttp.RequestHandler {
	dir := filepath.Join(os.TempDir(), "commonshelf-bench-demo")
	path, err := demo.Generate(filepath.Join(dir, "demo"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := consortium.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	members, closers, err := connectors.BuildMembers(context.Background(), logger, cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range closers {
			c.Close()
		}
	})
	cc := cfg.Consortium.Defaults.Cache
	reg := prometheus.NewRegistry()
	engine, err := federate.NewEngine(logger, federate.EngineConfig{
		DefaultTimeout: time.Duration(cfg.Consortium.Defaults.Search.TimeoutMS) * time.Millisecond,
		MaxTimeout:     cfg.MaxTimeout(),
		Cache: federate.CacheConfig{TTL: cc.TTL, PartialTTL: cc.PartialTTL, StaleGrace: cc.StaleGrace,
			MaxEntries: cc.MaxEntries, MaxBytes: int64(cc.MaxMB) << 20},
	}, federate.NewMetrics(reg), members)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(logger, cfg, engine, reg)
	srv.SetReady(true)
	return srv.Handler()
}
