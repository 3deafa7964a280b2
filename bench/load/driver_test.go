package load

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func serve(t *testing.T, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

func TestClientRefusesNonLoopbackTargets(t *testing.T) {
	for _, target := range []string{"http://10.0.0.1:80", "http://192.168.1.1:8080", "http://example.org:80", "https://127.0.0.1:443"} {
		if _, err := NewClient(target, 1, time.Second); err == nil {
			t.Errorf("%s accepted", target)
		}
	}
	for _, target := range []string{"http://127.0.0.1:8080", "http://[::1]:8080", "http://localhost:8080"} {
		if _, err := NewClient(target, 1, time.Second); err != nil {
			t.Errorf("%s refused: %v", target, err)
		}
	}
}

func TestClosedLoopCountsEveryRequestAndStatus(t *testing.T) {
	base := serve(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/missing" {
			ctx.SetStatusCode(404)
		}
		ctx.SetBodyString("ok")
	})
	c, err := NewClient(base, 4, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	res := Closed(context.Background(), c, 4, 200, func(i int) (string, map[string]string) {
		if i%4 == 0 {
			return "/missing", nil
		}
		return "/", nil
	})
	if res.Requests != 200 || res.Statuses[200] != 150 || res.Statuses[404] != 50 || res.Errors != 0 {
		t.Fatalf("%v", res)
	}
	if res.Latency.Count() != 200 || res.Bytes != 400 {
		t.Fatalf("latency count %d bytes %d", res.Latency.Count(), res.Bytes)
	}
}

func TestOpenLoopSendsTheScheduledNumberOfRequests(t *testing.T) {
	base := serve(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	c, _ := NewClient(base, 16, 5*time.Second)
	res := Open(context.Background(), c, 200, 500*time.Millisecond, 100, func(int) (string, map[string]string) { return "/", nil })
	if got := res.Requests + res.Errors + res.Dropped; got != 100 {
		t.Fatalf("sent %d, want 100 (200/s for 0.5s): %v", got, res)
	}
}

func TestResultsKeepEachStatusLatencyAndCountSheddingWithoutRetryAfter(t *testing.T) {
	base := serve(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/shed":
			ctx.Response.Header.Set("Retry-After", "1")
			ctx.SetStatusCode(503)
		case "/bare503":
			ctx.SetStatusCode(503)
		default:
			time.Sleep(2 * time.Millisecond)
		}
	})
	c, err := NewClient(base, 4, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	c.Observe = func(path string, status int, body []byte) {
		if path == "/bare503" && status == 503 {
			seen++ // one worker: no race
		}
	}
	res := Closed(context.Background(), c, 1, 30, func(i int) (string, map[string]string) {
		return []string{"/", "/shed", "/bare503"}[i%3], nil
	})
	if res.Statuses[503] != 20 || res.NoRetryAfter != 10 || seen != 10 {
		t.Fatalf("503s %d, without Retry-After %d, observed %d: %v", res.Statuses[503], res.NoRetryAfter, seen, res)
	}
	if res.StatusLatency(200).Count() != 10 || res.StatusLatency(503).Count() != 20 || res.StatusLatency(404).Count() != 0 {
		t.Fatalf("per-status counts: %d %d", res.StatusLatency(200).Count(), res.StatusLatency(503).Count())
	}
	if res.StatusLatency(200).Percentile(0.5) < 2*time.Millisecond {
		t.Fatalf("answered p50 %v, want ≥ 2ms", res.StatusLatency(200).Percentile(0.5))
	}
}
