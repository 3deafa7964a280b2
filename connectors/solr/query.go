package solr

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/commonshelf/commonshelf/federate"
)

// How the query AST becomes Solr's syntax (the standard Lucene syntax, which
// the edismax parser accepts):
//
//   - Structure comes only from the AST: every group is parenthesised,
//     every operator written out (AND, OR, NOT); q.op=AND covers any word
//     a member's analyser splits in two.
//   - User text can never add structure: in a word every character with a
//     meaning in the syntax (+ - & | ! ( ) { } [ ] ^ " ~ * ? : \ / ;) and
//     whitespace is escaped with a backslash, and a word that reads as an
//     operator (AND, OR, NOT, in any case, as some parsers accept lower-case
//     operators) is quoted. A phrase is quoted with " and \ escaped inside.
//   - A keyword without a field is left unfielded, for edismax to search
//     over qf. A fielded term becomes field:(word) or field:"phrase", ORed
//     over the member's fields for it (author → author, author2).
//   - ISBNs are normalised and searched in both forms:
//     isbn:(9780439023481 OR 0439023483). ISSNs are searched normalised.
//   - Years are ranges: publishDate:[1990 TO 2000], open ends as *.
//   - NOT is written inside the conjunction it narrows (a AND NOT b), never
//     as a clause of its own, which Lucene would read as matching nothing.

// BuildQuery translates q into a Solr q parameter for f's field names. The
// second result lists what could not be expressed (nothing, today: every
// node has an exact form; it is kept for symmetry with other connectors).
func BuildQuery(q federate.Query, f Fields) (string, []string, error) {
	if q.Root == nil {
		return "", nil, fmt.Errorf("%w: empty query", federate.ErrQueryRejected)
	}
	var sb strings.Builder
	node(&sb, q.Root, f, true)
	return sb.String(), nil, nil
}

func node(sb *strings.Builder, n federate.Node, f Fields, top bool) {
	switch n := n.(type) {
	case *federate.Term:
		term(sb, n, f)
	case *federate.YearRange:
		lo, hi := "*", "*"
		if n.From > 0 {
			lo = strconv.Itoa(n.From)
		}
		if n.To > 0 {
			hi = strconv.Itoa(n.To)
		}
		fielded(sb, f.Year, "["+lo+" TO "+hi+"]")
	case *federate.And:
		if !top {
			sb.WriteByte('(')
		}
		for i, c := range n.Children {
			if i > 0 {
				sb.WriteString(" AND ")
			}
			node(sb, c, f, false)
		}
		if !top {
			sb.WriteByte(')')
		}
	case *federate.Or:
		if !top {
			sb.WriteByte('(')
		}
		for i, c := range n.Children {
			if i > 0 {
				sb.WriteString(" OR ")
			}
			node(sb, c, f, false)
		}
		if !top {
			sb.WriteByte(')')
		}
	case *federate.Not:
		sb.WriteString("NOT ")
		node(sb, n.Child, f, false)
	}
}

// term writes a word or phrase, fielded unless it is a keyword.
func term(sb *strings.Builder, t *federate.Term, f Fields) {
	var val string
	switch t.Field {
	case federate.FieldISBN:
		if n, ok := federate.NormalizeISBN(t.Text); ok {
			val = "(" + n
			if ten, ok := federate.ISBN10(n); ok {
				val += " OR " + ten
			}
			val += ")"
		}
	case federate.FieldISSN:
		if n, ok := federate.NormalizeISSN(t.Text); ok {
			val = Phrase(n)
		}
	}
	if val == "" {
		if t.Phrase {
			val = Phrase(t.Text)
		} else {
			val = Word(t.Text)
		}
	}
	if t.Field == federate.FieldAny {
		sb.WriteString(val)
		return
	}
	if !strings.HasPrefix(val, "(") && !strings.HasPrefix(val, `"`) {
		val = "(" + val + ")"
	}
	fielded(sb, f.search(t.Field), val)
}

// fielded writes field:val, ORed over several fields.
func fielded(sb *strings.Builder, fields []string, val string) {
	if len(fields) > 1 {
		sb.WriteByte('(')
	}
	for i, name := range fields {
		if i > 0 {
			sb.WriteString(" OR ")
		}
		sb.WriteString(name)
		sb.WriteByte(':')
		sb.WriteString(val)
	}
	if len(fields) > 1 {
		sb.WriteByte(')')
	}
}

// Word escapes user text as one term: every character with a meaning in
// Solr's syntax, and whitespace, is backslash-escaped; a word that reads as
// an operator is quoted instead.
func Word(s string) string {
	switch strings.ToUpper(s) {
	case "AND", "OR", "NOT":
		return Phrase(s)
	}
	var sb strings.Builder
	sb.Grow(len(s) + 8)
	for _, r := range s {
		switch r {
		case '\\', '+', '-', '!', '(', ')', ':', '^', '[', ']', '"', '{', '}', '~', '*', '?', '|', '&', ';', '/', ' ', '\t', '\n', '\r', '\u00a0', '\u3000':
			sb.WriteByte('\\')
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// Phrase quotes user text as a phrase, escaping " and \ inside.
func Phrase(s string) string {
	var sb strings.Builder
	sb.Grow(len(s) + 4)
	sb.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			sb.WriteByte('\\')
		}
		sb.WriteRune(r)
	}
	sb.WriteByte('"')
	return sb.String()
}
