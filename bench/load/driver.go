package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Result sums up one load run.
type Result struct {
	Requests int           // requests completed (any status)
	Errors   int           // transport errors and timeouts
	Dropped  int           // open loop: requests not sent because too many were outstanding
	Statuses map[int]int   // completed requests by HTTP status
	Elapsed  time.Duration // wall time of the run
	Latency  *Histogram    // of completed requests; open loop measures from the scheduled start
	Bytes    int64         // response body bytes received
	// ByStatus is the latency of the completed requests of each status
	// (how soon a 503 came back, apart from the answered searches).
	ByStatus map[int]*Histogram
	// NoRetryAfter counts 503 answers without a Retry-After header.
	NoRetryAfter int
}

func newResult() Result {
	return Result{Statuses: map[int]int{}, Latency: &Histogram{}, ByStatus: map[int]*Histogram{}}
}

// record adds one completed request.
func (r *Result) record(rep Reply, lat time.Duration) {
	r.Latency.Record(lat)
	r.Statuses[rep.Status]++
	h := r.ByStatus[rep.Status]
	if h == nil {
		h = &Histogram{}
		r.ByStatus[rep.Status] = h
	}
	h.Record(lat)
	r.Requests++
	r.Bytes += int64(rep.Size)
	if rep.Status == fasthttp.StatusServiceUnavailable && rep.RetryAfter == "" {
		r.NoRetryAfter++
	}
}

// merge adds o's requests to r (not Elapsed or Dropped).
func (r *Result) merge(o *Result) {
	r.Latency.Merge(o.Latency)
	r.Requests += o.Requests
	r.Errors += o.Errors
	r.Bytes += o.Bytes
	r.NoRetryAfter += o.NoRetryAfter
	for k, v := range o.Statuses {
		r.Statuses[k] += v
	}
	for k, h := range o.ByStatus {
		if r.ByStatus[k] == nil {
			r.ByStatus[k] = &Histogram{}
		}
		r.ByStatus[k].Merge(h)
	}
}

// StatusLatency is the latency histogram of one status (empty if none).
func (r Result) StatusLatency(code int) *Histogram {
	if h := r.ByStatus[code]; h != nil {
		return h
	}
	return &Histogram{}
}

// Throughput is completed requests per second.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Share is the fraction of completed requests that had status code.
func (r Result) Share(code int) float64 {
	total := r.Requests + r.Errors + r.Dropped
	if total == 0 {
		return 0
	}
	return float64(r.Statuses[code]) / float64(total)
}

func (r Result) String() string {
	return fmt.Sprintf("%d requests in %v (%.0f/s), errors %d, dropped %d, p50 %v p99 %v max %v, statuses %v",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.Throughput(), r.Errors, r.Dropped,
		r.Latency.Percentile(0.5), r.Latency.Percentile(0.99), r.Latency.Max(), r.Statuses)
}

// Client sends GET requests to one loopback server over keep-alive
// connections.
type Client struct {
	hc      *fasthttp.HostClient
	timeout time.Duration
	// Observe, when set before a run, sees every answer (from many
	// goroutines at once; body is valid only during the call).
	Observe func(path string, status int, body []byte)
}

// Reply is what one request got back.
type Reply struct {
	Status     int
	Size       int    // body bytes
	RetryAfter string // the Retry-After header, if any
}

// NewClient returns a client for base ("http://127.0.0.1:8080") with up to
// conns connections. Only loopback addresses are accepted: load is never
// sent anywhere else.
func NewClient(base string, conns int, timeout time.Duration) (*Client, error) {
	host, ok := strings.CutPrefix(base, "http://")
	if !ok {
		return nil, fmt.Errorf("load target %q: only http:// loopback targets are supported", base)
	}
	host = strings.TrimSuffix(host, "/")
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		return nil, fmt.Errorf("load target %q: %w", base, err)
	}
	ip := net.ParseIP(h)
	if h == "localhost" {
		ip = net.IPv4(127, 0, 0, 1)
	}
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("load target %q: refusing a non-loopback address", base)
	}
	return &Client{
		hc: &fasthttp.HostClient{
			Addr: host, MaxConns: conns, MaxIdleConnDuration: time.Minute,
			ReadTimeout: timeout, WriteTimeout: timeout, MaxConnWaitTimeout: timeout,
		},
		timeout: timeout,
	}, nil
}

// Get sends one request and returns its status and body size.
func (c *Client) Get(path string, header map[string]string) (int, int, error) {
	rep, err := c.Do(path, header)
	return rep.Status, rep.Size, err
}

// Do sends one GET request.
func (c *Client) Do(path string, header map[string]string) (Reply, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + c.hc.Addr + path)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if err := c.hc.DoTimeout(req, resp, c.timeout); err != nil {
		return Reply{}, err
	}
	if c.Observe != nil {
		c.Observe(path, resp.StatusCode(), resp.Body())
	}
	return Reply{Status: resp.StatusCode(), Size: len(resp.Body()), RetryAfter: string(resp.Header.Peek("Retry-After"))}, nil
}

// Request picks the path of the i-th request.
type Request func(i int) (path string, header map[string]string)

// Closed runs conns workers, each sending its next request as soon as the
// previous one is answered, until total requests are done or ctx ends.
func Closed(ctx context.Context, c *Client, conns, total int, next Request) Result {
	var mu sync.Mutex
	res := newResult()
	var wg sync.WaitGroup
	var issued int
	var issueMu sync.Mutex
	start := time.Now()
	for range conns {
		wg.Go(func() {
			mine := newResult()
			for ctx.Err() == nil {
				issueMu.Lock()
				i := issued
				issued++
				issueMu.Unlock()
				if i >= total {
					break
				}
				path, hdr := next(i)
				t0 := time.Now()
				rep, err := c.Do(path, hdr)
				if err != nil {
					mine.Errors++
					continue
				}
				mine.record(rep, time.Since(t0))
			}
			mu.Lock()
			res.merge(&mine)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res
}

// ErrTooManyOutstanding is counted when the open loop would exceed its
// bound on requests in flight.
var ErrTooManyOutstanding = errors.New("too many requests outstanding")

// Open sends requests at a fixed rate for the given duration, whether or
// not earlier ones have been answered, and measures each latency from the
// moment it was due (so a stalled server is charged for the requests it
// delayed). At most maxOutstanding requests are in flight; beyond that a
// due request is dropped and counted.
func Open(ctx context.Context, c *Client, rate float64, duration time.Duration, maxOutstanding int, next Request) Result {
	res := newResult()
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxOutstanding)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	n := int(duration.Seconds() * rate)
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				n = i
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		default:
			mu.Lock()
			res.Dropped++
			mu.Unlock()
			continue
		}
		path, hdr := next(i)
		wg.Go(func() {
			defer func() { <-sem }()
			rep, err := c.Do(path, hdr)
			lat := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Errors++
				return
			}
			res.record(rep, lat)
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res
}
