package federate

import (
	"context"
	"errors"
)

// Window is the slice of a member's ranked answer asked for: Limit records
// starting at Offset (0-based). Limit is always at least 1.
type Window struct {
	Offset int
	Limit  int
}

// Page is one member's answer to a search.
type Page struct {
	// Records in the member's own order, best first.
	Records []Record
	// Total is the member's count of all matching records (not just this
	// page); -1 if the member does not say.
	Total int
	// Relaxed says, one human sentence each, which parts of the query the
	// member could not express and how they were relaxed
	// ("subject: searched as keywords"). Empty if the query was expressed
	// exactly.
	Relaxed []string
	// Rejected counts records the member sent that could not be read; they
	// are left out of Records.
	Rejected int
}

// Connector is a member's discovery system as the Engine sees it. It
// translates the query AST into its own dialect, never pasting user text
// unescaped, and returns by the context's deadline.
//
// Errors: a connector wraps ErrQueryRejected when the member refused the
// query for reasons of the query itself (a diagnostic, a 400): that is not the
// member's fault and does not count against its breaker. Any other error
// (transport, 5xx, garbage body, deadline) is the member's failure.
type Connector interface {
	// Kind names the protocol ("local", "sru", …), for status pages.
	Kind() string
	Search(ctx context.Context, q Query, w Window) (Page, error)
}

// ErrQueryRejected marks a member's refusal of the query itself.
var ErrQueryRejected = errors.New("query rejected by member")
