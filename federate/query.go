package federate

import (
	"strconv"
	"strings"
)

// Field names a searchable field of the query language. FieldAny is a
// keyword search over every field.
type Field string

// Fields of the query language.
const (
	FieldAny     Field = ""
	FieldTitle   Field = "title"
	FieldAuthor  Field = "author"
	FieldSubject Field = "subject"
	FieldISBN    Field = "isbn"
	FieldISSN    Field = "issn"
	FieldYear    Field = "year"
)

// Node is one node of a parsed query: *Term, *YearRange, *And, *Or or *Not.
// The set is closed; connectors switch over it.
type Node interface {
	// Canonical writes the node's canonical form: lower-case fields and
	// words, single spaces, explicit operators, minimal parentheses. Two
	// queries that mean the same thing to every member have the same form.
	canonical(b *strings.Builder, parent int)
}

// Term is a word (Phrase false) or a quoted phrase (Phrase true), optionally
// restricted to a field. Text holds what the user typed, with the quotes
// removed and inner whitespace collapsed; for FieldISBN and FieldISSN it is
// the identifier as typed (normalisation is the connector's job, see
// NormalizeISBN).
type Term struct {
	Field  Field
	Text   string
	Phrase bool
}

// YearRange is year:1990..2000 (From 1990, To 2000), year:1990 (From = To),
// year:1990.. (To 0: open) or year:..2000 (From 0: open).
type YearRange struct {
	From, To int
}

// And matches records that match every child (two or more).
type And struct{ Children []Node }

// Or matches records that match any child (two or more).
type Or struct{ Children []Node }

// Not excludes records matching Child. It appears only as a child of And
// (a query "NOT x" alone is rejected by the parser: members cannot answer it).
type Not struct{ Child Node }

// Query is a parsed user query.
type Query struct {
	// Root is the query's AST; never nil for a parsed query.
	Root Node
	// Raw is the text the user typed.
	Raw string
}

// Canonical returns the canonical string form of the query (see Node).
func (q Query) Canonical() string {
	if q.Root == nil {
		return ""
	}
	var b strings.Builder
	q.Root.canonical(&b, precTop)
	return b.String()
}

// String is the canonical form.
func (q Query) String() string { return q.Canonical() }

// Operator precedences for minimal parenthesisation.
const (
	precTop = iota
	precOr
	precAnd
	precNot
)

func (t *Term) canonical(b *strings.Builder, _ int) {
	if t.Field != FieldAny {
		b.WriteString(string(t.Field))
		b.WriteByte(':')
	}
	text := strings.ToLower(t.Text)
	if t.Phrase || needsQuotes(text) {
		b.WriteByte('"')
		for _, r := range text {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
		return
	}
	b.WriteString(text)
}

// needsQuotes reports whether a bare word would not re-parse as itself.
func needsQuotes(s string) bool {
	if s == "" {
		return true
	}
	switch strings.ToUpper(s) {
	case "AND", "OR", "NOT":
		return true
	}
	if s[0] == '-' {
		return true
	}
	return strings.ContainsAny(s, " \t\r\n\"():\\")
}

func (y *YearRange) canonical(b *strings.Builder, _ int) {
	b.WriteString("year:")
	switch {
	case y.From == y.To:
		b.WriteString(strconv.Itoa(y.From))
	default:
		if y.From != 0 {
			b.WriteString(strconv.Itoa(y.From))
		}
		b.WriteString("..")
		if y.To != 0 {
			b.WriteString(strconv.Itoa(y.To))
		}
	}
}

func (a *And) canonical(b *strings.Builder, parent int) {
	writeList(b, parent, precAnd, " AND ", a.Children)
}

func (o *Or) canonical(b *strings.Builder, parent int) {
	writeList(b, parent, precOr, " OR ", o.Children)
}

func (n *Not) canonical(b *strings.Builder, _ int) {
	b.WriteString("NOT ")
	n.Child.canonical(b, precNot)
}

func writeList(b *strings.Builder, parent, prec int, sep string, children []Node) {
	paren := parent > prec
	if paren {
		b.WriteByte('(')
	}
	for i, c := range children {
		if i > 0 {
			b.WriteString(sep)
		}
		c.canonical(b, prec)
	}
	if paren {
		b.WriteByte(')')
	}
}

// Walk calls fn for n and every node below it, depth first, parents first.
func Walk(n Node, fn func(Node)) {
	fn(n)
	switch n := n.(type) {
	case *And:
		for _, c := range n.Children {
			Walk(c, fn)
		}
	case *Or:
		for _, c := range n.Children {
			Walk(c, fn)
		}
	case *Not:
		Walk(n.Child, fn)
	}
}

// PositiveTerms returns the terms of the query that are not negated, in
// order: what a result is expected to match, used by local re-scoring.
func (q Query) PositiveTerms() []*Term {
	var out []*Term
	var walk func(n Node, neg bool)
	walk = func(n Node, neg bool) {
		switch n := n.(type) {
		case *Term:
			if !neg {
				out = append(out, n)
			}
		case *And:
			for _, c := range n.Children {
				walk(c, neg)
			}
		case *Or:
			for _, c := range n.Children {
				walk(c, neg)
			}
		case *Not:
			walk(n.Child, !neg)
		}
	}
	if q.Root != nil {
		walk(q.Root, false)
	}
	return out
}
