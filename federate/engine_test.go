package federate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestEngine(t *testing.T, budget time.Duration, members map[string]*fakeMember, ids ...string) *Engine {
	t.Helper()
	var ms []Member
	for _, id := range ids {
		ms = append(ms, Member{ID: id, Name: strings.ToUpper(id), Connector: members[id], Timeout: budget,
			MaxInFlight: 4, BreakerFailures: 3, BreakerOpenFor: 10 * time.Second})
	}
	e, err := NewEngine(quietLogger(), EngineConfig{DefaultTimeout: budget, MaxTimeout: 2 * budget}, nil, ms)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func statusOf(resp *Response, id string) MemberStatus {
	for _, s := range resp.Members {
		if s.ID == id {
			return s
		}
	}
	return MemberStatus{}
}

func TestFanOutClassifiesEveryMember(t *testing.T) {
	const deadline = 1500 * time.Millisecond
	hunger := book("1", "The Hunger Games", "Collins, Suzanne", 2008, "0439023483")
	tests := []struct {
		title      string
		other      *fakeMember
		wantStatus string
		wantErr    string
		wantTook   time.Duration // the whole search
	}{
		{"both members answer", &fakeMember{Delay: 40 * time.Millisecond, Records: []Record{hunger}}, StatusOK, "", 40 * time.Millisecond},
		{"member 2 fails at once; member 1 answers", &fakeMember{Err: errors.New("HTTP 503 from member")}, StatusError, "HTTP 503", 10 * time.Millisecond},
		{"member 2 sleeps past the deadline; member 1 answers", &fakeMember{Delay: 5 * time.Second}, StatusTimeout, "did not answer in time", deadline},
		{"member 2 ignores its context and sleeps on; the search still ends at the deadline", &fakeMember{Delay: 5 * time.Second, IgnoreCtx: true}, StatusTimeout, "did not answer in time", deadline},
		{"member 2 panics", &fakeMember{Panic: "index out of range"}, StatusError, "panicked", 10 * time.Millisecond},
		{"member 2 refuses the query", &fakeMember{Err: fmt.Errorf("diagnostic 10: %w", ErrQueryRejected)}, StatusError, "diagnostic 10", 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				one := &fakeMember{Delay: 10 * time.Millisecond, Records: []Record{hunger}}
				e := newTestEngine(t, deadline, map[string]*fakeMember{"one": one, "two": tt.other}, "one", "two")
				start := time.Now()
				resp, err := e.Search(context.Background(), Request{Query: word("hunger"), Limit: 10})
				took := time.Since(start)
				if err != nil {
					t.Fatal(err)
				}
				if took != tt.wantTook {
					t.Errorf("search took %v, want exactly %v", took, tt.wantTook)
				}
				if s := statusOf(resp, "one"); s.Status != StatusOK {
					t.Errorf("member one: %+v", s)
				}
				s := statusOf(resp, "two")
				if s.Status != tt.wantStatus || !strings.Contains(s.Error, tt.wantErr) {
					t.Errorf("member two: status %q error %q; want %q containing %q", s.Status, s.Error, tt.wantStatus, tt.wantErr)
				}
				if resp.Partial != (tt.wantStatus != StatusOK) {
					t.Errorf("partial = %v", resp.Partial)
				}
				if len(resp.Results) != 1 {
					t.Fatalf("results = %d, want 1 (the answering member's record)", len(resp.Results))
				}
				time.Sleep(10 * time.Second) // let an abandoned connector finish its sleep
				synctest.Wait()
			})
		})
	}
}

func TestBreakerOpensAfterRepeatedFailuresAndProbesWhenHalfOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bad := &fakeMember{Err: errors.New("connection refused")}
		good := &fakeMember{Records: []Record{book("1", "Dune", "Herbert, Frank", 1965)}}
		e := newTestEngine(t, time.Second, map[string]*fakeMember{"good": good, "bad": bad}, "good", "bad")
		search := func() *Response {
			resp, err := e.Search(context.Background(), Request{Query: word("dune"), Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
		for i := range 3 {
			if s := statusOf(search(), "bad"); s.Status != StatusError {
				t.Fatalf("failure %d: status %q", i+1, s.Status)
			}
		}
		if st := e.Members()[1].Breaker; st != "open" {
			t.Fatalf("after 3 failures breaker is %q, want open", st)
		}
		for range 5 {
			if s := statusOf(search(), "bad"); s.Status != StatusOpen {
				t.Fatalf("breaker open: status %q, want open", s.Status)
			}
		}
		if n := bad.calls.Load(); n != 3 {
			t.Fatalf("member called %d times while open, want 3 in all", n)
		}
		time.Sleep(10*time.Second + time.Millisecond) // past the breaker's open period
		bad.Err = nil                                 // the member comes back
		if s := statusOf(search(), "bad"); s.Status != StatusOK {
			t.Fatalf("half-open probe: status %q, want ok", s.Status)
		}
		if n := bad.calls.Load(); n != 4 {
			t.Fatalf("calls = %d, want 4 (one probe)", n)
		}
		if st := e.Members()[1].Breaker; st != "closed" {
			t.Fatalf("after a good probe breaker is %q, want closed", st)
		}
	})
}

func TestTimeoutsCountAgainstTheBreakerButRejectedQueriesDoNot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := &fakeMember{Delay: time.Hour}
		picky := &fakeMember{Err: fmt.Errorf("unsupported index: %w", ErrQueryRejected)}
		e := newTestEngine(t, time.Second, map[string]*fakeMember{"slow": slow, "picky": picky}, "slow", "picky")
		for range 4 {
			if _, err := e.Search(context.Background(), Request{Query: word("x"), Limit: 10}); err != nil {
				t.Fatal(err)
			}
		}
		m := e.Members()
		if m[0].Breaker != "open" {
			t.Errorf("slow member's breaker %q, want open", m[0].Breaker)
		}
		if m[1].Breaker != "closed" {
			t.Errorf("picky member's breaker %q, want closed", m[1].Breaker)
		}
	})
}

func TestFullBulkheadAnswersBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stuck := &fakeMember{Delay: 30 * time.Second, IgnoreCtx: true}
		e, err := NewEngine(quietLogger(), EngineConfig{DefaultTimeout: time.Second}, nil, []Member{
			{ID: "stuck", Connector: stuck, MaxInFlight: 2, BreakerFailures: 10}})
		if err != nil {
			t.Fatal(err)
		}
		// Each abandoned call keeps its slot until the connector returns: two
		// searches fill the bulkhead of 2.
		var got []string
		for range 3 {
			resp, _ := e.Search(context.Background(), Request{Query: word("x"), Limit: 10})
			got = append(got, statusOf(resp, "stuck").Status)
		}
		time.Sleep(31 * time.Second)
		synctest.Wait()
		if want := []string{StatusTimeout, StatusTimeout, StatusBusy}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("statuses %v, want %v", got, want)
		}
		if n := e.Members()[0].InFlight; n != 0 {
			t.Fatalf("in flight after the connector returned: %d", n)
		}
	})
}

func TestCallerCancellationCancelsEveryMemberAndLeaksNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeMember{Delay: time.Minute}
		b := &fakeMember{Delay: time.Minute}
		e := newTestEngine(t, 5*time.Second, map[string]*fakeMember{"a": a, "b": b}, "a", "b")
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(100 * time.Millisecond); cancel() }()
		start := time.Now()
		resp, err := e.Search(ctx, Request{Query: word("x"), Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 100*time.Millisecond {
			t.Errorf("took %v, want the 100ms until the caller left", took)
		}
		for _, s := range resp.Members {
			if s.Status != StatusSkipped {
				t.Errorf("member %s: %q, want skipped", s.ID, s.Status)
			}
		}
		// A cancelled caller counts neither for nor against a member.
		for _, m := range e.Members() {
			if m.Breaker != "closed" {
				t.Errorf("member %s breaker %q", m.ID, m.Breaker)
			}
		}
		synctest.Wait() // every member goroutine has ended: synctest fails the test otherwise
	})
	_ = runtime.NumGoroutine
}

func TestValidateRejectsBadRequests(t *testing.T) {
	e := newTestEngine(t, time.Second, map[string]*fakeMember{"a": {}}, "a")
	tests := []struct {
		title string
		req   Request
		field string
	}{
		{"no query", Request{Limit: 10}, "q"},
		{"zero limit", Request{Query: word("x")}, "limit"},
		{"negative offset", Request{Query: word("x"), Limit: 10, Offset: -1}, "offset"},
		{"paging too deep", Request{Query: word("x"), Limit: 100, Offset: 250}, "offset"},
		{"unknown member", Request{Query: word("x"), Limit: 10, Members: []string{"nowhere"}}, "scope"},
		{"unknown facet", Request{Query: word("x"), Limit: 10, Filters: map[string][]string{"colour": {"red"}}}, "filter.colour"},
		{"bad year filter", Request{Query: word("x"), Limit: 10, Filters: map[string][]string{"year": {"last year"}}}, "filter.year"},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			_, err := e.Search(context.Background(), tt.req)
			var re *RequestError
			if !errors.As(err, &re) || re.Field != tt.field {
				t.Fatalf("err = %v, want a RequestError on %q", err, tt.field)
			}
		})
	}
}

func TestAShortCallerBudgetNeverTripsAMembersBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := &fakeMember{Delay: 50 * time.Millisecond, Records: []Record{book("1", "Dune", "Herbert, Frank", 1965)}}
		e := newTestEngine(t, time.Second, map[string]*fakeMember{"slow": slow}, "slow")
		for range 10 {
			resp, err := e.Search(context.Background(), Request{Query: word("dune"), Limit: 10, Timeout: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if s := statusOf(resp, "slow"); s.Status != StatusTimeout {
				t.Fatalf("status %q, want timeout", s.Status)
			}
		}
		if st := e.Members()[0].Breaker; st != "closed" {
			t.Fatalf("breaker %q after searches whose caller allowed 1ms: the caller's choice is not the member's fault", st)
		}
		resp, _ := e.Search(context.Background(), Request{Query: word("dune"), Limit: 10})
		if s := statusOf(resp, "slow"); s.Status != StatusOK {
			t.Fatalf("normal search: %q", s.Status)
		}
		synctest.Wait()
	})
}
