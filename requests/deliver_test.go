package requests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// memOutbox is an in-memory Outbox for the deliverer's tests.
type memOutbox struct {
	mu     sync.Mutex
	ds     []Delivery
	queued chan struct{}
}

func (m *memOutbox) Pending(_ context.Context, after string, limit int) ([]Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Delivery
	for _, d := range m.ds {
		if d.ID > after && len(out) < limit {
			out = append(out, d)
		}
	}
	return out, nil
}

func (m *memOutbox) Ack(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, d := range m.ds {
		if d.ID == id {
			m.ds = append(m.ds[:i], m.ds[i+1:]...)
		}
	}
	return nil
}

func (m *memOutbox) Reschedule(_ context.Context, id string, attempts int, next time.Time, lastErr string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.ds {
		if m.ds[i].ID == id {
			m.ds[i].Attempts, m.ds[i].NextAt, m.ds[i].LastError = attempts, next, lastErr
		}
	}
	return nil
}

func (m *memOutbox) Fail(_ context.Context, id string, attempts int, lastErr string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.ds {
		if m.ds[i].ID == id {
			m.ds[i].Attempts, m.ds[i].LastError, m.ds[i].Failed = attempts, lastErr, true
		}
	}
	return nil
}

func (m *memOutbox) Queued() <-chan struct{} { return m.queued }

func (m *memOutbox) len() int { m.mu.Lock(); defer m.mu.Unlock(); return len(m.ds) }

// receiver is a fake webhook endpoint: it answers fail for its first
// failures attempts, then 200, recording when each attempt came.
type receiver struct {
	mu       sync.Mutex
	failures int
	fail     int
	attempts []time.Time
	ids      []string
	bodies   []string
	sigs     []string
}

func (r *receiver) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	body, _ := io.ReadAll(req.Body)
	r.attempts = append(r.attempts, time.Now())
	r.ids = append(r.ids, req.Header.Get(HeaderDelivery))
	r.bodies = append(r.bodies, string(body))
	r.sigs = append(r.sigs, req.Header.Get(HeaderSignature))
	code := 200
	if len(r.attempts) <= r.failures {
		code = r.fail
	}
	return &http.Response{StatusCode: code, Status: http.StatusText(code), Body: io.NopCloser(strings.NewReader(""))}, nil
}

func TestDelivererRetriesWithBackoffUntilAcknowledged(t *testing.T) {
	tests := []struct {
		title    string
		failures int
		fail     int
		gaps     []time.Duration // between attempts
	}{
		{"the receiver answers at once", 0, 0, nil},
		{"the receiver is down three times", 3, 503, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{"a 4xx is retried too (the receiver may be misconfigured for a while)", 1, 404, []time.Duration{time.Second}},
		{"the backoff stops growing at five minutes", 11, 500, []time.Duration{1 << 0 * time.Second, 2 * time.Second, 4 * time.Second,
			8 * time.Second, 16 * time.Second, 32 * time.Second, 64 * time.Second, 128 * time.Second, 256 * time.Second, 5 * time.Minute, 5 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ob := &memOutbox{queued: make(chan struct{}, 1)}
				ob.ds = []Delivery{{ID: "dlv-1", Institution: "south", Event: EventCreated, Request: validLoan(), NextAt: time.Now()}}
				rcv := &receiver{failures: tt.failures, fail: tt.fail}
				d := NewDeliverer(nil, DelivererConfig{Outbox: ob, Client: rcv,
					Targets: map[string]Target{"south": {URL: "http://127.0.0.1:1/hook", Secret: []byte("s3cret")}}})
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() { d.Run(ctx); close(done) }()
				time.Sleep(time.Hour)
				synctest.Wait()
				cancel()
				<-done
				if ob.len() != 0 {
					t.Fatalf("%d deliveries left in the outbox", ob.len())
				}
				if len(rcv.attempts) != tt.failures+1 {
					t.Fatalf("%d attempts, want %d", len(rcv.attempts), tt.failures+1)
				}
				for i, gap := range tt.gaps {
					if got := rcv.attempts[i+1].Sub(rcv.attempts[i]); got != gap {
						t.Errorf("gap %d: %s, want %s", i, got, gap)
					}
				}
				for i := range rcv.ids {
					if rcv.ids[i] != "dlv-1" || rcv.bodies[i] != rcv.bodies[0] {
						t.Errorf("attempt %d: delivery id %q or body changed between retries", i, rcv.ids[i])
					}
					if rcv.sigs[i] != Sign([]byte("s3cret"), []byte(rcv.bodies[i])) {
						t.Errorf("attempt %d: signature %q does not match the body", i, rcv.sigs[i])
					}
				}
				var p Payload
				if err := json.Unmarshal([]byte(rcv.bodies[0]), &p); err != nil || p.DeliveryID != "dlv-1" || p.Event != EventCreated || p.Request.Supplier != "south" {
					t.Fatalf("payload %s: %v", rcv.bodies[0], err)
				}
			})
		})
	}
}

func TestDelivererWakesOnNewDeliveries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ob := &memOutbox{queued: make(chan struct{}, 1)}
		rcv := &receiver{}
		d := NewDeliverer(nil, DelivererConfig{Outbox: ob, Client: rcv, Targets: map[string]Target{"south": {URL: "http://127.0.0.1:1/"}}})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go d.Run(ctx)
		synctest.Wait()
		start := time.Now()
		ob.mu.Lock()
		ob.ds = append(ob.ds, Delivery{ID: "dlv-2", Institution: "south", Event: EventCreated, Request: validLoan(), NextAt: start})
		ob.mu.Unlock()
		ob.queued <- struct{}{}
		synctest.Wait()
		if len(rcv.attempts) != 1 || rcv.attempts[0] != start {
			t.Fatalf("attempts %v, want one at once", rcv.attempts)
		}
	})
}

// byURL answers per target URL: the URLs in down fail until up is closed.
type byURL struct {
	mu   sync.Mutex
	down map[string]bool
	seen []string // "url id" of each acknowledged delivery, in order
}

func (b *byURL) Do(req *http.Request) (*http.Response, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	code := 200
	if b.down[req.URL.String()] {
		code = 503
	} else {
		b.seen = append(b.seen, req.URL.String()+" "+req.Header.Get(HeaderDelivery))
	}
	return &http.Response{StatusCode: code, Status: http.StatusText(code), Body: io.NopCloser(strings.NewReader(""))}, nil
}

func TestDelivererKeepsEachInstitutionsOrderAndDoesNotHoldOthersBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		ob := &memOutbox{queued: make(chan struct{}, 1)}
		for i, inst := range []string{"south", "south", "west", "south", "west"} {
			ob.ds = append(ob.ds, Delivery{ID: fmt.Sprintf("dlv-%d", i+1), Institution: inst, Event: EventCreated, Request: validLoan(), NextAt: now})
		}
		rcv := &byURL{down: map[string]bool{"http://south.test/": true}}
		d := NewDeliverer(nil, DelivererConfig{Outbox: ob, Client: rcv, Targets: map[string]Target{
			"south": {URL: "http://south.test/"}, "west": {URL: "http://west.test/"}}})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go d.Run(ctx)
		synctest.Wait()
		if got := strings.Join(rcv.seen, ","); got != "http://west.test/ dlv-3,http://west.test/ dlv-5" {
			t.Fatalf("while south is down: %s", got)
		}
		time.Sleep(10 * time.Second) // several failed attempts at south
		rcv.mu.Lock()
		rcv.down = nil
		rcv.mu.Unlock()
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := strings.Join(rcv.seen[2:], ","); got != "http://south.test/ dlv-1,http://south.test/ dlv-2,http://south.test/ dlv-4" {
			t.Fatalf("once south is back: %s", got)
		}
	})
}
