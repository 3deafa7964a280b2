package sru

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/commonshelf/commonshelf/federate"
)

// Diagnostic is an SRU diagnostic: the member's structured account of why
// it could not do (all of) what was asked.
type Diagnostic struct {
	// URI identifies the condition ("info:srw/diagnostic/1/16").
	URI string
	// Code is the number of a diagnostic in the standard SRU set
	// (info:srw/diagnostic/1/N); 0 for any other URI.
	Code int
	// Details is the diagnostic's details: for most query diagnostics the
	// offending index, relation or term. Often empty.
	Details string
	// Message is the member's human message. Often empty.
	Message string
}

const diagPrefix = "info:srw/diagnostic/1/"

func newDiagnostic(uri, details, message string) Diagnostic {
	d := Diagnostic{URI: strings.TrimSpace(uri), Details: strings.TrimSpace(details), Message: strings.TrimSpace(message)}
	if rest, ok := strings.CutPrefix(d.URI, diagPrefix); ok {
		if n, err := strconv.Atoi(rest); err == nil && n > 0 {
			d.Code = n
		}
	}
	return d
}

// diagNames are the standard diagnostics a member is likely to send, by
// code, as this package names them in messages.
var diagNames = map[int]string{
	1: "general system error", 2: "system temporarily unavailable", 3: "authentication error",
	4: "unsupported operation", 5: "unsupported version", 6: "unsupported parameter value",
	7: "mandatory parameter not supplied", 8: "unsupported parameter",
	10: "query syntax error", 11: "unsupported query type", 12: "too many characters in query",
	13: "invalid or unsupported use of parentheses", 14: "invalid or unsupported use of quotes",
	15: "unsupported context set", 16: "unsupported index", 17: "unsupported combination of index and context set",
	18: "unsupported combination of indexes", 19: "unsupported relation", 20: "unsupported relation modifier",
	21: "unsupported combination of relation modifiers", 22: "unsupported combination of relation and index",
	23: "too many characters in term", 24: "unsupported combination of relation and term",
	25: "special characters not quoted in term", 26: "non special character escaped in term",
	27: "empty term unsupported", 28: "masking character not supported", 29: "masked words too short",
	30: "too many masking characters in term", 31: "anchoring character not supported",
	32: "anchoring character in unsupported position", 33: "combination of proximity/adjacency and masking characters not supported",
	34: "combination of proximity/adjacency and anchoring characters not supported",
	35: "term contains only stopwords", 36: "term in invalid format for index or relation",
	37: "unsupported boolean operator", 38: "too many boolean operators in query",
	39: "proximity not supported", 40: "unsupported proximity relation", 41: "unsupported proximity distance",
	42: "unsupported proximity unit", 43: "unsupported proximity ordering", 44: "unsupported combination of proximity modifiers",
	46: "unsupported boolean modifier", 47: "cannot process query; reason unknown", 48: "query feature unsupported",
	50: "result sets not supported", 58: "result set created with unpredictable partial results available",
	59: "result set created with valid partial results available", 60: "result set not created: too many matching records",
	61: "first record position out of range", 63: "system error in retrieving records",
	64: "record temporarily unavailable", 65: "record does not exist", 66: "unknown schema for retrieval",
	67: "record not available in this schema", 68: "not authorised to send record",
	69: "not authorised to send record in this schema", 70: "record too large to send",
	71: "unsupported record packing", 80: "sort not supported", 89: "unsupported sort path",
}

// queryCaused reports whether the diagnostic blames the query itself
// (codes 10–48: syntax, indexes, relations, terms, masking, booleans,
// proximity), which is not the member's fault.
func (d Diagnostic) queryCaused() bool { return d.Code >= 10 && d.Code <= 48 }

// nonFatal reports whether the diagnostic still leaves a usable answer:
// partial results (58, 59) or a start beyond the end (61, an empty page).
func (d Diagnostic) nonFatal() bool { return d.Code == 58 || d.Code == 59 || d.Code == 61 }

// String is "SRU diagnostic 16 (unsupported index): dc.subject".
func (d Diagnostic) String() string {
	var b strings.Builder
	name := diagNames[d.Code]
	switch {
	case d.Code != 0 && name != "":
		fmt.Fprintf(&b, "SRU diagnostic %d (%s)", d.Code, name)
	case d.Code != 0:
		fmt.Fprintf(&b, "SRU diagnostic %d", d.Code)
		if d.Message != "" {
			fmt.Fprintf(&b, " (%s)", d.Message)
		}
	default:
		fmt.Fprintf(&b, "SRU diagnostic %s", d.URI)
		if d.Message != "" {
			fmt.Fprintf(&b, " (%s)", d.Message)
		}
	}
	if d.Details != "" {
		b.WriteString(": ")
		b.WriteString(d.Details)
	}
	return b.String()
}

// DiagnosticError is a fatal diagnostic as an error. It wraps
// federate.ErrQueryRejected when the query caused it.
type DiagnosticError struct {
	Diagnostic
}

func (e *DiagnosticError) Error() string { return e.Diagnostic.String() }

// Unwrap makes errors.Is(err, federate.ErrQueryRejected) true for the
// diagnostics the query caused.
func (e *DiagnosticError) Unwrap() error {
	if e.queryCaused() {
		return federate.ErrQueryRejected
	}
	return nil
}
