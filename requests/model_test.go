package requests

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/federate"
)

func TestLifecycle(t *testing.T) {
	tests := []struct {
		title   string
		kind    Kind
		path    []Status // statuses moved through from RequestReceived
		by      []Party  // who makes each move
		wantErr bool     // the last move is refused
		allowed []Status // what the refusal lists
	}{
		{"a loan is lent and returned", KindLoan, []Status{ExpectToSupply, WillSupply, Loaned, LoanCompleted}, []Party{Supplier, Supplier, Supplier, Supplier}, false, nil},
		{"the supplier goes straight to WillSupply", KindLoan, []Status{WillSupply, Loaned}, []Party{Supplier, Supplier}, false, nil},
		{"the supplier cannot supply a loan", KindLoan, []Status{Unfilled}, []Party{Supplier}, false, nil},
		{"the requester cancels a loan before it is supplied", KindLoan, []Status{ExpectToSupply, Cancelled}, []Party{Supplier, Requester}, false, nil},
		{"the requester cannot cancel a loan once it is lent", KindLoan, []Status{WillSupply, Loaned, Cancelled}, []Party{Supplier, Supplier, Requester}, true, nil},
		{"the supplier may not cancel on the requester's behalf", KindLoan, []Status{Cancelled}, []Party{Supplier}, true, []Status{ExpectToSupply, WillSupply, Unfilled}},
		{"the requester may not mark its own loan as lent", KindLoan, []Status{WillSupply}, []Party{Requester}, true, []Status{Cancelled}},
		{"a loan cannot skip to LoanCompleted", KindLoan, []Status{LoanCompleted}, []Party{Supplier}, true, []Status{ExpectToSupply, WillSupply, Unfilled}},
		{"a loan never becomes CopyCompleted", KindLoan, []Status{WillSupply, CopyCompleted}, []Party{Supplier, Supplier}, true, []Status{Loaned, Unfilled}},
		{"a completed loan is final", KindLoan, []Status{WillSupply, Loaned, LoanCompleted, Loaned}, []Party{Supplier, Supplier, Supplier, Supplier}, true, nil},
		{"a copy is made", KindCopy, []Status{ExpectToSupply, WillSupply, CopyCompleted}, []Party{Supplier, Supplier, Supplier}, false, nil},
		{"a copy is never Loaned", KindCopy, []Status{WillSupply, Loaned}, []Party{Supplier, Supplier}, true, []Status{CopyCompleted, Unfilled}},
		{"a purchase is ordered and received by the requester", KindPurchase, []Status{Ordered, Received}, []Party{Requester, Requester}, false, nil},
		{"a purchase is cancelled after ordering", KindPurchase, []Status{Ordered, Cancelled}, []Party{Requester, Requester}, false, nil},
		{"a purchase cannot be received before it is ordered", KindPurchase, []Status{Received}, []Party{Requester}, true, []Status{Ordered, Cancelled}},
		{"a purchase has no ISO 18626 supply states", KindPurchase, []Status{WillSupply}, []Party{Requester}, true, []Status{Ordered, Cancelled}},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			r := &Request{Kind: tt.kind, Status: RequestReceived}
			now := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
			var err error
			for i, to := range tt.path {
				from := r.Status
				err = r.Transition(tt.by[i], "inst", to, "step", now)
				if i < len(tt.path)-1 && err != nil {
					t.Fatalf("move %d (%s→%s): %v", i, from, to, err)
				}
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("last move: err %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				if r.Status != tt.path[len(tt.path)-1] || len(r.History) != len(tt.path) {
					t.Fatalf("status %s, %d events", r.Status, len(r.History))
				}
				return
			}
			var te *TransitionError
			if !errors.As(err, &te) || !errors.Is(err, ErrIllegalTransition) {
				t.Fatalf("error %T %v", err, err)
			}
			if !slices.Equal(te.Allowed, tt.allowed) {
				t.Fatalf("allowed %v, want %v (%v)", te.Allowed, tt.allowed, err)
			}
			if len(r.History) != len(tt.path)-1 {
				t.Fatalf("a refused move was recorded: %d events", len(r.History))
			}
			for _, a := range tt.allowed {
				if !strings.Contains(err.Error(), string(a)) {
					t.Errorf("message %q does not name %s", err, a)
				}
			}
		})
	}
}

func validLoan() *Request {
	return &Request{Kind: KindLoan, Requester: "north", Supplier: "south",
		Source:         Source{WorkID: "isbn:9780439023481", Member: "south", RecordID: "s1"},
		Metadata:       Metadata{Title: "The Hunger Games", Authors: []string{"Collins, Suzanne"}, Year: 2008, Identifiers: federate.Identifiers{ISBN: []string{"9780439023481"}}},
		NeededBy:       "2027-03-31",
		PickupLocation: "Main library desk"}
}

func TestValidate(t *testing.T) {
	members := func(id string) bool { return id == "north" || id == "south" }
	tests := []struct {
		title  string
		change func(r *Request)
		fields []string
	}{
		{"a complete loan is valid", func(r *Request) {}, nil},
		{"a loan needs a supplier", func(r *Request) { r.Supplier = "" }, []string{"supplier"}},
		{"a loan needs a pickup location", func(r *Request) { r.PickupLocation = " " }, []string{"pickup_location"}},
		{"an institution cannot ask itself", func(r *Request) { r.Supplier, r.Source.Member = "north", "north" }, []string{"supplier"}},
		{"the record must come from the supplier", func(r *Request) { r.Source.Member = "north" }, []string{"source.member"}},
		{"an unknown supplier", func(r *Request) { r.Supplier, r.Source.Member = "east", "east" }, []string{"supplier", "source.member"}},
		{"an unknown kind", func(r *Request) { r.Kind = "borrow" }, []string{"kind"}},
		{"a purchase has no supplier", func(r *Request) { r.Kind = KindPurchase }, []string{"supplier"}},
		{"a purchase suggestion from another member's record", func(r *Request) { r.Kind, r.Supplier, r.PickupLocation = KindPurchase, "", "" }, nil},
		{"a title is required", func(r *Request) { r.Metadata.Title = "" }, []string{"metadata.title"}},
		{"a bad needed-by date", func(r *Request) { r.NeededBy = "31/03/2027" }, []string{"needed_by"}},
		{"an impossible date", func(r *Request) { r.NeededBy = "2027-02-30" }, []string{"needed_by"}},
		{"a link must be http(s)", func(r *Request) { r.Metadata.Link = "javascript:alert(1)" }, []string{"metadata.link"}},
		{"a snapshot of another record", func(r *Request) { r.Metadata.RecordID = "s2" }, []string{"metadata.record_id"}},
		{"a citation without its list", func(r *Request) { r.Course = &Course{Institution: "north", CitationID: "c1"} }, []string{"course.list_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			r := validLoan()
			tt.change(r)
			var got []string
			for _, fe := range r.Validate(members) {
				got = append(got, fe.Field)
			}
			if !slices.Equal(got, tt.fields) {
				t.Fatalf("fields %v, want %v", got, tt.fields)
			}
		})
	}
}
