// Package requests holds the requests one member institution makes of
// another — interlibrary loans, copies (digitisation) — and the purchase
// suggestions an institution records for its own acquisitions, each with a
// snapshot of the catalogue record it came from. It defines the model, the
// status lifecycle of each kind and who may move it, a durable store with a
// delivery outbox, and the webhook deliverer that drains that outbox.
//
// Nothing here knows of HTTP servers or of the consortium file: the api
// package authenticates callers and decides who is notified; cmd wires the
// store, the deliverer and the webhook targets together.
package requests

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/commonshelf/commonshelf/federate"
)

// Kind is what is asked for.
type Kind string

// Request kinds.
const (
	// KindLoan asks the supplier to lend an item (interlibrary loan).
	KindLoan Kind = "loan"
	// KindCopy asks the supplier for a copy of part of an item (a chapter or
	// article digitised, for instance for a course).
	KindCopy Kind = "copy"
	// KindPurchase is a purchase suggestion internal to the requester: it
	// has no supplier; the source record is the metadata acquisitions uses.
	KindPurchase Kind = "purchase"
)

// Kinds lists every kind, in the order they are documented.
var Kinds = []Kind{KindLoan, KindCopy, KindPurchase}

// Status is a request's state. Loans and copies use ISO 18626 status names;
// purchase suggestions, which ISO 18626 does not cover, use Ordered and
// Received between the shared RequestReceived and Cancelled.
type Status string

// Statuses.
const (
	RequestReceived Status = "RequestReceived"
	ExpectToSupply  Status = "ExpectToSupply"
	WillSupply      Status = "WillSupply"
	Loaned          Status = "Loaned"
	LoanCompleted   Status = "LoanCompleted"
	CopyCompleted   Status = "CopyCompleted"
	Unfilled        Status = "Unfilled"
	Cancelled       Status = "Cancelled"
	// Ordered: acquisitions has ordered the suggested item (purchase only).
	Ordered Status = "Ordered"
	// Received: the ordered item has arrived (purchase only).
	Received Status = "Received"
)

// Party is the side of a request an institution is on.
type Party string

// Parties.
const (
	Requester Party = "requester"
	Supplier  Party = "supplier"
)

// Source is where the request came from: the work in a federated search
// and the member record chosen.
type Source struct {
	// WorkID is the search result's work id ("isbn:9780439023481"); may be "".
	WorkID string `json:"work_id,omitempty"`
	// Member is the member institution whose record was chosen; required.
	Member string `json:"member"`
	// RecordID is that member's record id; required.
	RecordID string `json:"record_id"`
}

// Metadata is the snapshot of the member's record taken when the request
// was made; it does not change when the catalogue does.
type Metadata struct {
	Title       string               `json:"title"`
	Authors     []string             `json:"authors,omitempty"`
	Edition     string               `json:"edition,omitempty"`
	Publisher   string               `json:"publisher,omitempty"`
	Year        int                  `json:"year,omitempty"`
	Identifiers federate.Identifiers `json:"identifiers"`
	// RecordID is the member's record id (the same as Source.RecordID).
	RecordID string `json:"record_id"`
	// Link is the record's page at the member; "" when it has none.
	Link string `json:"link,omitempty"`
}

// Course is the course a request serves, when it serves one.
type Course struct {
	Institution string `json:"institution"`
	CourseCode  string `json:"course_code,omitempty"`
	ListID      string `json:"list_id,omitempty"`
	CitationID  string `json:"citation_id,omitempty"`
}

// Event is one status change.
type Event struct {
	At time.Time `json:"at"`
	// Actor is the institution (and key role) that made the change.
	Actor string `json:"actor"`
	// From is "" for the creation.
	From Status `json:"from,omitempty"`
	To   Status `json:"to"`
	Note string `json:"note,omitempty"`
}

// Request is one request.
type Request struct {
	// ID is assigned by the store.
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	// Requester is the requesting institution (from the caller's API key).
	Requester string `json:"requester"`
	// Supplier is the member asked to supply (loan, copy); "" for purchase.
	Supplier string   `json:"supplier,omitempty"`
	Source   Source   `json:"source"`
	Metadata Metadata `json:"metadata"`
	// NeededBy is a date, YYYY-MM-DD; "" means no date.
	NeededBy string `json:"needed_by,omitempty"`
	// PickupLocation is where the requester's patron collects a loan.
	PickupLocation string    `json:"pickup_location,omitempty"`
	Course         *Course   `json:"course,omitempty"`
	Status         Status    `json:"status"`
	History        []Event   `json:"history"`
	Created        time.Time `json:"created"`
	Updated        time.Time `json:"updated"`
}

// Party returns the side institution inst is on, or false when it is
// neither requester nor supplier.
func (r *Request) Party(inst string) (Party, bool) {
	switch {
	case inst == "":
		return "", false
	case inst == r.Requester:
		return Requester, true
	case inst == r.Supplier:
		return Supplier, true
	}
	return "", false
}

// FieldError is one problem with a field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// ErrInvalid marks a request that failed validation; the error is a
// *ValidationError.
var ErrInvalid = errors.New("invalid request")

// ValidationError lists the problems that kept a request from being made.
type ValidationError struct{ Errors []FieldError }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		parts[i] = fe.Error()
	}
	return "invalid request: " + strings.Join(parts, "; ")
}

func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Limits on free text.
const (
	maxText   = 2000
	maxItems  = 50
	maxIDText = 200
)

var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// Validate checks a new request as the caller gave it (before the store
// assigns id, status and history). members says whether an institution id
// is a configured member (a supplier must be one).
func (r *Request) Validate(members func(string) bool) []FieldError {
	var fes []FieldError
	bad := func(field, format string, args ...any) {
		fes = append(fes, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	text := func(field, v string, required bool, max int) {
		switch {
		case required && strings.TrimSpace(v) == "":
			bad(field, "required")
		case len(v) > max:
			bad(field, "at most %d bytes", max)
		}
	}
	switch r.Kind {
	case KindLoan, KindCopy:
		switch {
		case r.Supplier == "":
			bad("supplier", "required for a %s request: the member asked to supply", r.Kind)
		case r.Supplier == r.Requester:
			bad("supplier", "an institution cannot ask itself to supply; use a purchase suggestion or its own catalogue")
		case !members(r.Supplier):
			bad("supplier", "%q is not a member of the consortium", r.Supplier)
		}
		if r.Source.Member != "" && r.Supplier != "" && r.Source.Member != r.Supplier {
			bad("source.member", "the record must come from the supplier %q, not %q", r.Supplier, r.Source.Member)
		}
	case KindPurchase:
		if r.Supplier != "" {
			bad("supplier", "a purchase suggestion has no supplier")
		}
	case "":
		bad("kind", "required: one of loan, copy, purchase")
	default:
		bad("kind", "%q is not a request kind (loan, copy, purchase)", r.Kind)
	}
	text("source.member", r.Source.Member, true, maxIDText)
	if r.Source.Member != "" && !members(r.Source.Member) {
		bad("source.member", "%q is not a member of the consortium", r.Source.Member)
	}
	text("source.record_id", r.Source.RecordID, true, maxIDText)
	text("source.work_id", r.Source.WorkID, false, maxIDText)
	text("metadata.title", r.Metadata.Title, true, maxText)
	if len(r.Metadata.Authors) > maxItems {
		bad("metadata.authors", "at most %d authors", maxItems)
	}
	for i, a := range r.Metadata.Authors {
		text(fmt.Sprintf("metadata.authors[%d]", i), a, true, maxText)
	}
	text("metadata.edition", r.Metadata.Edition, false, maxText)
	text("metadata.publisher", r.Metadata.Publisher, false, maxText)
	if r.Metadata.Year < 0 || r.Metadata.Year > 9999 {
		bad("metadata.year", "%d is not a year", r.Metadata.Year)
	}
	ids := r.Metadata.Identifiers
	if n := len(ids.ISBN) + len(ids.ISSN) + len(ids.OCLC) + len(ids.LCCN) + len(ids.DOI); n > maxItems {
		bad("metadata.identifiers", "at most %d identifiers", maxItems)
	}
	switch {
	case r.Metadata.RecordID == "":
		r.Metadata.RecordID = r.Source.RecordID
	case r.Metadata.RecordID != r.Source.RecordID:
		bad("metadata.record_id", "differs from source.record_id %q", r.Source.RecordID)
	}
	if r.Metadata.Link != "" && !strings.HasPrefix(r.Metadata.Link, "http://") && !strings.HasPrefix(r.Metadata.Link, "https://") {
		bad("metadata.link", "must be an absolute http(s) URL")
	}
	text("metadata.link", r.Metadata.Link, false, maxText)
	if r.NeededBy != "" {
		if _, err := time.Parse(time.DateOnly, r.NeededBy); err != nil || !datePattern.MatchString(r.NeededBy) {
			bad("needed_by", "%q is not a date like 2027-03-31", r.NeededBy)
		}
	}
	text("pickup_location", r.PickupLocation, r.Kind == KindLoan, maxText)
	if c := r.Course; c != nil {
		text("course.institution", c.Institution, true, maxIDText)
		text("course.course_code", c.CourseCode, false, maxIDText)
		text("course.list_id", c.ListID, false, maxIDText)
		text("course.citation_id", c.CitationID, false, maxIDText)
		if c.CitationID != "" && c.ListID == "" {
			bad("course.list_id", "required with course.citation_id")
		}
	}
	return fes
}

// rule is one allowed transition and who may make it.
type rule struct {
	to Status
	by Party
}

// Lifecycles are the transitions of each kind: from a status, the statuses
// it may move to and the party that may move it. The requester may cancel a
// loan or copy until it is supplied; the supplier moves every supply state.
// A purchase suggestion is the requester's alone.
var lifecycles = map[Kind]map[Status][]rule{
	KindLoan: {
		RequestReceived: {{ExpectToSupply, Supplier}, {WillSupply, Supplier}, {Unfilled, Supplier}, {Cancelled, Requester}},
		ExpectToSupply:  {{WillSupply, Supplier}, {Unfilled, Supplier}, {Cancelled, Requester}},
		WillSupply:      {{Loaned, Supplier}, {Unfilled, Supplier}, {Cancelled, Requester}},
		Loaned:          {{LoanCompleted, Supplier}},
	},
	KindCopy: {
		RequestReceived: {{ExpectToSupply, Supplier}, {WillSupply, Supplier}, {Unfilled, Supplier}, {Cancelled, Requester}},
		ExpectToSupply:  {{WillSupply, Supplier}, {Unfilled, Supplier}, {Cancelled, Requester}},
		WillSupply:      {{CopyCompleted, Supplier}, {Unfilled, Supplier}, {Cancelled, Requester}},
	},
	KindPurchase: {
		RequestReceived: {{Ordered, Requester}, {Cancelled, Requester}},
		Ordered:         {{Received, Requester}, {Cancelled, Requester}},
	},
}

// Allowed lists the statuses party may move a request of kind from status
// to, in the lifecycle's order.
func Allowed(kind Kind, from Status, party Party) []Status {
	var out []Status
	for _, r := range lifecycles[kind][from] {
		if r.by == party {
			out = append(out, r.to)
		}
	}
	return out
}

// KnownStatus reports whether s is a status of some kind.
func KnownStatus(s Status) bool {
	switch s {
	case RequestReceived, ExpectToSupply, WillSupply, Loaned, LoanCompleted, CopyCompleted, Unfilled, Cancelled, Ordered, Received:
		return true
	}
	return false
}

// ErrIllegalTransition marks a transition the lifecycle does not allow the
// party; the error is a *TransitionError.
var ErrIllegalTransition = errors.New("illegal transition")

// TransitionError says why a transition was refused and what is allowed.
type TransitionError struct {
	Kind    Kind
	From    Status
	To      Status
	Party   Party
	Allowed []Status
	// OtherParty is true when the lifecycle allows the move, but only to the
	// other party.
	OtherParty bool
}

func (e *TransitionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "a %s request cannot move from %s to %s", e.Kind, e.From, e.To)
	if e.OtherParty {
		fmt.Fprintf(&b, " by the %s", e.Party)
	}
	if len(e.Allowed) == 0 {
		fmt.Fprintf(&b, "; the %s can move it nowhere from %s", e.Party, e.From)
	} else {
		names := make([]string, len(e.Allowed))
		for i, s := range e.Allowed {
			names[i] = string(s)
		}
		fmt.Fprintf(&b, "; the %s may move it to %s", e.Party, strings.Join(names, ", "))
	}
	return b.String()
}

func (e *TransitionError) Is(target error) bool { return target == ErrIllegalTransition }

// Transition moves r to status to on behalf of party, recording the event.
// It changes nothing and returns a *TransitionError when the lifecycle does
// not allow it.
func (r *Request) Transition(party Party, actor string, to Status, note string, now time.Time) error {
	allowed := Allowed(r.Kind, r.Status, party)
	if !slices.Contains(allowed, to) {
		e := &TransitionError{Kind: r.Kind, From: r.Status, To: to, Party: party, Allowed: allowed}
		for _, ru := range lifecycles[r.Kind][r.Status] {
			if ru.to == to {
				e.OtherParty = true
			}
		}
		return e
	}
	r.History = append(r.History, Event{At: now, Actor: actor, From: r.Status, To: to, Note: note})
	r.Status, r.Updated = to, now
	return nil
}

// Final reports whether no transition leaves s for a request of kind.
func Final(kind Kind, s Status) bool { return len(lifecycles[kind][s]) == 0 }
