package primo

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/commonshelf/commonshelf/federate"
)

// What Primo's documentation of GET /primo/v1/search says about q, and the
// decisions taken here:
//
//   - q is a list of clauses "field,precision,value", separated by ";". A
//     clause may carry a fourth part, the operator (AND, OR, NOT) that joins
//     it to the next clause; without one, AND. NOT means "the next clause
//     must not match". The list is flat: there are no parentheses between
//     clauses. Primo's search help gives the precedence: AND and NOT bind
//     before OR, each left to right.
//   - The value must not contain a semicolon, and the documentation gives no
//     escape for any character. A comma would be read as the start of the
//     operator part. Inside a value, quotes make a phrase, upper-case AND,
//     OR and NOT are operators, parentheses group, and ? and * are
//     wildcards. So user text is never passed through with these: the
//     characters , ; " ( ) [ ] { } ? * : \ ~ ^ ! | & are replaced by spaces,
//     a leading + or - is dropped from each word, and the words AND, OR and
//     NOT are written in lower case (Primo's searches are not
//     case-sensitive; its operators are). None of this changes what a word
//     matches: they are punctuation to Primo's word index. A term left with
//     nothing to search is dropped and reported in Relaxed.
//   - Year ranges are not clauses: they go to qInclude as
//     facet_searchcreationdate,exact,[FROM TO TO] (the documented date
//     filter), which narrows the whole query. So a year range is exact only
//     as a top-level conjunct; anywhere else it is left out and reported.
//     An open end is written as 0 or 9999.
//   - The query AST is rewritten into an OR of ANDed clauses (disjunctive
//     normal form), which the flat list expresses exactly under Primo's
//     precedence: "(dune OR foundation) herbert" is sent as
//     "dune AND herbert OR foundation AND herbert". When that would take more
//     than MaxClauses clauses, the query is written flat in its own order
//     and the change of meaning is reported.
//   - Words and phrases use precision "contains" (a phrase is quoted inside
//     the value); "exact" would require the whole field to be the value.
//     ISBNs are normalised and searched as ISBN-13 OR ISBN-10.

// MaxClauses bounds how far the exact rewriting may grow a query: to this
// many clauses, or to as many as the query has terms if that is more. A
// query whose rewriting needs more is sent flat and relaxed. (Our limit;
// Primo documents none.)
const MaxClauses = 20

// Fields maps the query language's fields to Primo search fields.
type Fields struct {
	Any, Title, Author, Subject, ISBN, ISSN string
}

// DefaultFields are the documented Primo field names.
var DefaultFields = Fields{Any: "any", Title: "title", Author: "creator", Subject: "sub", ISBN: "isbn", ISSN: "issn"}

func (f Fields) name(fl federate.Field) string {
	switch fl {
	case federate.FieldTitle:
		return f.Title
	case federate.FieldAuthor:
		return f.Author
	case federate.FieldSubject:
		return f.Subject
	case federate.FieldISBN:
		return f.ISBN
	case federate.FieldISSN:
		return f.ISSN
	}
	return f.Any
}

// Translation is a query in Primo's dialect.
type Translation struct {
	// Q is the q parameter.
	Q string
	// QInclude is the qInclude parameter ("" for none).
	QInclude string
	// Relaxed says, one sentence each, what could not be expressed.
	Relaxed []string
}

// ErrNothingToSearch is returned when no clause is left to send: Primo
// needs at least one word (a year range alone is a filter, not a search).
var ErrNothingToSearch = errors.New("nothing Primo can search for: the query needs at least one word")

// clause is one "field,contains,value" with its negation.
type clause struct {
	field, value string
	neg          bool
}

// BuildQuery translates q into Primo's q and qInclude. The error wraps
// federate.ErrQueryRejected when nothing searchable is left.
func BuildQuery(q federate.Query, f Fields) (Translation, error) {
	if q.Root == nil {
		return Translation{}, fmt.Errorf("%w: empty query", federate.ErrQueryRejected)
	}
	b := &builder{f: f}
	rest, years := topYears(q.Root)
	var t Translation
	if len(years) > 0 {
		// Several top-level ranges all apply: their intersection.
		from, to := 0, 0
		for _, y := range years {
			if y.From > from {
				from = y.From
			}
			if y.To != 0 && (to == 0 || y.To < to) {
				to = y.To
			}
		}
		lo, hi := "0", "9999"
		if from > 0 {
			lo = strconv.Itoa(from)
		}
		if to > 0 {
			hi = strconv.Itoa(to)
		}
		t.QInclude = "facet_searchcreationdate,exact,[" + lo + " TO " + hi + "]"
	}
	if rest == nil {
		return Translation{}, fmt.Errorf("%w: %w", federate.ErrQueryRejected, ErrNothingToSearch)
	}
	// The flat form, in the query's own order, is the fallback and sets
	// the budget: rewriting may use MaxClauses or as many clauses as the
	// query has terms, whichever is more.
	fb := &builder{f: f, limit: 1 << 30}
	flat, text := fb.flat(rest)
	b.limit = max(MaxClauses, count(flat))
	d, ok := b.dnf(rest)
	if ok {
		d = b.dropNegativeOnly(d)
	}
	if !ok {
		d = flat
		b.relaxed = fb.relaxed
		if len(d) > 0 {
			b.note(fmt.Sprintf("%q: searched as %q (too many alternatives to rewrite exactly, and Primo's clause list has no parentheses: AND binds before OR)",
				federate.Query{Root: rest}.Canonical(), text))
		}
	}
	if len(d) == 0 {
		return Translation{}, fmt.Errorf("%w: %w", federate.ErrQueryRejected, ErrNothingToSearch)
	}
	t.Q = render(d)
	t.Relaxed = b.relaxed
	return t, nil
}

// topYears splits the positive year ranges that constrain the whole query
// from the rest of it (nil when nothing else is left).
func topYears(root federate.Node) (federate.Node, []*federate.YearRange) {
	switch n := root.(type) {
	case *federate.YearRange:
		return nil, []*federate.YearRange{n}
	case *federate.And:
		var years []*federate.YearRange
		var kids []federate.Node
		for _, c := range n.Children {
			if y, ok := c.(*federate.YearRange); ok {
				years = append(years, y)
				continue
			}
			kids = append(kids, c)
		}
		if len(years) == 0 {
			return root, nil
		}
		switch {
		case len(kids) == 0:
			return nil, years
		case len(kids) == 1:
			if _, neg := kids[0].(*federate.Not); neg {
				// Cannot happen for a parsed query (only exclusions).
				return &federate.And{Children: kids}, years
			}
			return kids[0], years
		}
		return &federate.And{Children: kids}, years
	}
	return root, nil
}

type builder struct {
	f Fields
	// limit bounds the clauses of the rewritten query.
	limit   int
	relaxed []string
}

func (b *builder) note(s string) {
	for _, r := range b.relaxed {
		if r == s {
			return
		}
	}
	b.relaxed = append(b.relaxed, s)
}

// dnf rewrites n as an OR of conjunctions of clauses. nil with ok means
// "no constraint" (everything in n was dropped); ok false means the
// rewriting grew past MaxClauses.
func (b *builder) dnf(n federate.Node) ([][]clause, bool) {
	switch n := n.(type) {
	case *federate.Term:
		alts := b.term(n)
		if len(alts) == 0 {
			return nil, true // dropped: no constraint
		}
		out := make([][]clause, 0, len(alts))
		for _, a := range alts {
			out = append(out, []clause{a})
		}
		return out, true
	case *federate.YearRange:
		b.note(fmt.Sprintf("%s: left out (Primo filters years only for the whole query, not inside OR or NOT)",
			federate.Query{Root: n}.Canonical()))
		return nil, true
	case *federate.Or:
		var out [][]clause
		for _, c := range n.Children {
			d, ok := b.dnf(c)
			if !ok {
				return nil, false
			}
			out = append(out, d...)
			if count(out) > b.limit {
				return nil, false
			}
		}
		return out, true
	case *federate.And:
		out := [][]clause{{}}
		for _, c := range n.Children {
			var d [][]clause
			var ok bool
			if not, isNot := c.(*federate.Not); isNot {
				d, ok = b.dnf(not.Child)
				if ok && d != nil {
					d, ok = b.negate(d)
				}
			} else {
				d, ok = b.dnf(c)
			}
			if !ok {
				return nil, false
			}
			if d == nil { // dropped: no constraint
				continue
			}
			out, ok = b.product(out, d)
			if !ok {
				return nil, false
			}
		}
		if len(out) == 1 && len(out[0]) == 0 {
			return nil, true
		}
		return out, true
	case *federate.Not:
		d, ok := b.dnf(n.Child)
		if !ok || d == nil {
			return d, ok
		}
		return b.negate(d)
	}
	return nil, true
}

// count is the number of clauses the conjunctions take.
func count(d [][]clause) int {
	n := 0
	for _, c := range d {
		n += len(c)
	}
	return n
}

// product ANDs two disjunctions: every conjunction of a with every one of b.
func (b *builder) product(x, y [][]clause) ([][]clause, bool) {
	if len(x)*len(y) > b.limit {
		return nil, false
	}
	out := make([][]clause, 0, len(x)*len(y))
	for _, x := range x {
		for _, y := range y {
			c := make([]clause, 0, len(x)+len(y))
			c = append(append(c, x...), y...)
			out = append(out, c)
		}
	}
	return out, count(out) <= b.limit
}

// negate applies De Morgan: NOT (C1 OR C2) is NOT C1 AND NOT C2, and
// NOT (l1 AND l2) is NOT l1 OR NOT l2.
func (b *builder) negate(d [][]clause) ([][]clause, bool) {
	out := [][]clause{{}}
	for _, conj := range d {
		alts := make([][]clause, 0, len(conj))
		for _, l := range conj {
			l.neg = !l.neg
			alts = append(alts, []clause{l})
		}
		var ok bool
		out, ok = b.product(out, alts)
		if !ok {
			return nil, false
		}
	}
	return out, true
}

// dropNegativeOnly removes conjunctions with no positive clause, which a
// clause list cannot express (NOT needs something before it). A parsed
// query never produces one; the guard keeps the output well-formed.
func (b *builder) dropNegativeOnly(d [][]clause) [][]clause {
	out := d[:0]
	for _, c := range d {
		pos := false
		for _, l := range c {
			pos = pos || !l.neg
		}
		if pos {
			out = append(out, c)
		} else {
			b.note("an alternative made only of exclusions: left out (Primo needs a word before NOT)")
		}
	}
	return out
}

// flat writes n in its own order as one OR-list of AND/NOT chains, the
// way Primo will read it, and the same in the query language for the
// Relaxed sentence.
func (b *builder) flat(n federate.Node) ([][]clause, string) {
	var d [][]clause
	var text []string
	cur := []clause{}
	var walk func(n federate.Node, neg bool, op string)
	emit := func(c clause, label, op string) {
		if op == "OR" && len(cur) > 0 {
			d = append(d, cur)
			cur = []clause{}
		}
		if len(text) > 0 {
			if c.neg {
				text = append(text, "NOT")
			} else {
				text = append(text, op)
			}
		}
		cur = append(cur, c)
		text = append(text, label)
	}
	walk = func(n federate.Node, neg bool, op string) {
		switch n := n.(type) {
		case *federate.Term:
			alts := b.term(n)
			for i, a := range alts {
				a.neg = neg
				o := op
				if i > 0 {
					o = "OR"
				}
				emit(a, federate.Query{Root: n}.Canonical(), o)
			}
		case *federate.YearRange:
			b.dnf(n) // notes it
		case *federate.Or:
			for i, c := range n.Children {
				o := op
				if i > 0 {
					o = "OR"
				}
				walk(c, neg, o)
			}
		case *federate.And:
			for i, c := range n.Children {
				o := op
				if i > 0 {
					o = "AND"
				}
				walk(c, neg, o)
			}
		case *federate.Not:
			walk(n.Child, !neg, op)
		}
	}
	walk(n, false, "AND")
	if len(cur) > 0 {
		d = append(d, cur)
	}
	d = b.dropNegativeOnly(d)
	return d, strings.Join(text, " ")
}

// term returns the clauses a term stands for: one, two for an ISBN with
// both forms (searched as alternatives), none if nothing searchable is
// left of it.
func (b *builder) term(t *federate.Term) []clause {
	field := b.f.name(t.Field)
	switch t.Field {
	case federate.FieldISBN:
		if n, ok := federate.NormalizeISBN(t.Text); ok {
			out := []clause{{field: field, value: n}}
			if ten, ok := federate.ISBN10(n); ok {
				out = append(out, clause{field: field, value: ten})
			}
			return out
		}
	case federate.FieldISSN:
		if n, ok := federate.NormalizeISSN(t.Text); ok {
			return []clause{{field: field, value: n}}
		}
	}
	v := Sanitize(t.Text)
	if v == "" {
		b.note(fmt.Sprintf("%s: left out (nothing Primo can search for in it)", federate.Query{Root: t}.Canonical()))
		return nil
	}
	if t.Phrase && strings.ContainsRune(v, ' ') {
		v = `"` + v + `"`
	}
	return []clause{{field: field, value: v}}
}

// Sanitize makes user text safe as a Primo clause value (see the notes at
// the top of this file): no character or word of it can change the
// structure of q.
func Sanitize(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	for _, r := range s {
		switch r {
		case ',', ';', '"', '(', ')', '[', ']', '{', '}', '?', '*', ':', '\\', '~', '^', '!', '|', '&':
			sb.WriteByte(' ')
		default:
			if unicode.IsSpace(r) || unicode.IsControl(r) {
				sb.WriteByte(' ')
			} else {
				sb.WriteRune(r)
			}
		}
	}
	words := strings.Fields(sb.String())
	out := words[:0]
	for _, w := range words {
		w = strings.TrimLeft(w, "+-")
		switch w {
		case "":
			continue
		case "AND", "OR", "NOT":
			w = strings.ToLower(w)
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// render writes the conjunctions as q: clauses joined by ";", each
// carrying the operator to the next one.
func render(d [][]clause) string {
	var sb strings.Builder
	for i, conj := range d {
		// Positive clauses first: NOT needs something before it.
		ordered := make([]clause, 0, len(conj))
		for _, c := range conj {
			if !c.neg {
				ordered = append(ordered, c)
			}
		}
		for _, c := range conj {
			if c.neg {
				ordered = append(ordered, c)
			}
		}
		for j, c := range ordered {
			if i > 0 || j > 0 {
				// The operator joining the previous clause to this one.
				switch {
				case j == 0:
					sb.WriteString(",OR;")
				case c.neg:
					sb.WriteString(",NOT;")
				default:
					sb.WriteString(",AND;")
				}
			}
			sb.WriteString(c.field)
			sb.WriteString(",contains,")
			sb.WriteString(c.value)
		}
	}
	return sb.String()
}
