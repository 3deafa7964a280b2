package opensearch

import (
	"errors"
	"strconv"
	"strings"

	"github.com/commonshelf/commonshelf/federate"
)

// Syntaxes of {searchTerms} (the fields option).
const (
	// SyntaxPlain sends words: OpenSearch defines free text only, so fields
	// are dropped (title:dune → dune), phrases keep their quotes, OR is
	// sent as the word OR, negations and year ranges are left out; each
	// relaxation is reported in Page.Relaxed.
	SyntaxPlain = "plain"
	// SyntaxCQL sends a CQL query (dc.title="dune" and dc.date>=1990),
	// for members whose searchTerms accept CQL.
	SyntaxCQL = "cql"
)

// errNothingToSearch is a query of which nothing can be sent.
var errNothingToSearch = errors.New("nothing in the query can be sent to this member (OpenSearch searches words; year ranges and exclusions alone cannot be expressed)")

// renderer turns the query AST into searchTerms, collecting relaxations.
type renderer struct {
	syntax  string
	relaxed []string
}

func (r *renderer) relax(msg string) {
	for _, m := range r.relaxed {
		if m == msg {
			return
		}
	}
	r.relaxed = append(r.relaxed, msg)
}

// render returns searchTerms for q, or an error if q cannot be sent at all.
func render(q federate.Query, syntax string) (string, []string, error) {
	if q.Root == nil {
		return "", nil, errors.New("empty query")
	}
	r := &renderer{syntax: syntax}
	var s string
	if syntax == SyntaxCQL {
		s = r.cql(q.Root)
	} else {
		s = r.plain(q.Root, false)
	}
	if strings.TrimSpace(s) == "" {
		return "", r.relaxed, errNothingToSearch
	}
	return s, r.relaxed, nil
}

// plain renders n as words. nested says n is inside an And, so an Or needs
// parentheses to keep its meaning.
func (r *renderer) plain(n federate.Node, nested bool) string {
	switch n := n.(type) {
	case *federate.Term:
		return r.plainTerm(n)
	case *federate.YearRange:
		r.relax(yearText(n) + ": left out; OpenSearch has no year search")
		return ""
	case *federate.And:
		var parts []string
		for _, c := range n.Children {
			if s := r.plain(c, true); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, " ")
	case *federate.Or:
		var parts []string
		for _, c := range n.Children {
			s := r.plain(c, true)
			if s == "" {
				// One alternative that cannot be sent makes the whole OR
				// unsendable: dropping it would narrow the answer.
				r.relax("an OR with a part that cannot be sent was left out")
				return ""
			}
			parts = append(parts, s)
		}
		r.relax("OR: sent as the word OR, which the member may not support")
		s := strings.Join(parts, " OR ")
		if nested {
			s = "(" + s + ")"
		}
		return s
	case *federate.Not:
		r.relax("NOT " + canonical(n.Child) + ": left out; OpenSearch cannot exclude")
		return ""
	}
	return ""
}

func (r *renderer) plainTerm(t *federate.Term) string {
	text := t.Text
	switch t.Field {
	case federate.FieldAny:
	case federate.FieldISBN:
		if isbn, ok := federate.NormalizeISBN(text); ok {
			text = isbn
		}
		r.relax("isbn: searched as a keyword")
	case federate.FieldISSN:
		if issn, ok := federate.NormalizeISSN(text); ok {
			text = issn
		}
		r.relax("issn: searched as a keyword")
	default:
		r.relax(string(t.Field) + ": searched as keywords")
	}
	// Quotes inside a word would unbalance the member's own parsing.
	text = strings.TrimSpace(strings.ReplaceAll(text, `"`, " "))
	if text == "" {
		return ""
	}
	if t.Phrase {
		return `"` + text + `"`
	}
	return text
}

// cqlIndex is the CQL index of each field.
var cqlIndex = map[federate.Field]string{
	federate.FieldAny:     "cql.serverChoice",
	federate.FieldTitle:   "dc.title",
	federate.FieldAuthor:  "dc.creator",
	federate.FieldSubject: "dc.subject",
	federate.FieldISBN:    "bath.isbn",
	federate.FieldISSN:    "bath.issn",
	federate.FieldYear:    "dc.date",
}

// cql renders n as CQL, every term quoted and escaped, every nested boolean
// parenthesised.
func (r *renderer) cql(n federate.Node) string {
	switch n := n.(type) {
	case *federate.Term:
		text := n.Text
		switch n.Field {
		case federate.FieldISBN:
			if isbn, ok := federate.NormalizeISBN(text); ok {
				text = isbn
			}
		case federate.FieldISSN:
			if issn, ok := federate.NormalizeISSN(text); ok {
				text = issn
			}
		}
		index, ok := cqlIndex[n.Field]
		if !ok {
			r.relax(string(n.Field) + ": searched as keywords")
			index = cqlIndex[federate.FieldAny]
		}
		rel := "="
		if n.Phrase {
			rel = "adj"
		}
		return index + " " + rel + " " + cqlQuote(text)
	case *federate.YearRange:
		switch {
		case n.From == n.To:
			return "dc.date = " + strconv.Itoa(n.From)
		case n.From == 0:
			return "dc.date <= " + strconv.Itoa(n.To)
		case n.To == 0:
			return "dc.date >= " + strconv.Itoa(n.From)
		}
		return "(dc.date >= " + strconv.Itoa(n.From) + " and dc.date <= " + strconv.Itoa(n.To) + ")"
	case *federate.And:
		var pos, neg []string
		for _, c := range n.Children {
			if not, ok := c.(*federate.Not); ok {
				neg = append(neg, r.cqlOperand(not.Child))
				continue
			}
			pos = append(pos, r.cqlOperand(c))
		}
		s := strings.Join(pos, " and ")
		if s == "" { // the parser never lets this through; stay safe
			s = "cql.allRecords = 1"
		}
		for _, x := range neg {
			s += " not " + x
		}
		return s
	case *federate.Or:
		parts := make([]string, 0, len(n.Children))
		for _, c := range n.Children {
			parts = append(parts, r.cqlOperand(c))
		}
		return strings.Join(parts, " or ")
	case *federate.Not:
		return "cql.allRecords = 1 not " + r.cqlOperand(n.Child)
	}
	return ""
}

// cqlOperand renders n for use inside a boolean: parenthesised if it is one.
func (r *renderer) cqlOperand(n federate.Node) string {
	s := r.cql(n)
	switch n.(type) {
	case *federate.And, *federate.Or, *federate.Not:
		return "(" + s + ")"
	}
	return s
}

// cqlQuote quotes s as a CQL search term: backslash and double quote are
// escaped, and so are the masking characters * ? ^, which a user's text
// means literally.
func cqlQuote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"', '*', '?', '^':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func yearText(y *federate.YearRange) string {
	return canonical(y)
}

// canonical is a node's canonical query text, for messages.
func canonical(n federate.Node) string {
	return federate.Query{Root: n}.Canonical()
}
