package index

// The list search syntax is the catalogue's (federate.ParseQuery: words,
// "phrases", AND/OR/NOT, -word, parentheses, field:value, field:(group))
// with more fields. federate's parser refuses fields it does not know, and
// pre-extracting ours from the text would break on groups, negation and OR
// ("-course:(a b) OR code:x"), so this file has its own small parser for the
// same grammar. It produces federate's AST (Term with one of the Field*
// constants below, YearRange, And, Or, Not) and *federate.QueryError
// errors, so canonical forms and error positions work as they do for
// catalogue queries.

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/commonshelf/commonshelf/federate"
)

// Fields of the list query language beyond federate's (title, author,
// subject, isbn, issn, year, which here mean the citations' title and
// container title, authors, tags, identifiers and publication year).
const (
	FieldCourse     federate.Field = "course"     // course name and code
	FieldCode       federate.Field = "code"       // course code, any spelling ("chem101", "CHEM-101")
	FieldInstructor federate.Field = "instructor" // the course's instructors
	FieldDepartment federate.Field = "department" // the course's department
	FieldList       federate.Field = "list"       // the list's name and description
	FieldDOI        federate.Field = "doi"        // a citation's DOI
	FieldTag        federate.Field = "tag"        // a citation's tags
)

var queryFields = map[string]federate.Field{
	"title": federate.FieldTitle, "author": federate.FieldAuthor, "subject": federate.FieldSubject,
	"isbn": federate.FieldISBN, "issn": federate.FieldISSN, "year": federate.FieldYear,
	"course": FieldCourse, "code": FieldCode, "instructor": FieldInstructor,
	"department": FieldDepartment, "list": FieldList, "doi": FieldDOI, "tag": FieldTag,
}

func knownFieldList() string {
	names := make([]string, 0, len(queryFields))
	for n := range queryFields {
		names = append(names, n+":")
	}
	sort.Strings(names)
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// ParseListQuery parses a list search as typed. Every error is a
// *federate.QueryError naming the column.
func ParseListQuery(s string) (federate.Query, error) {
	runes := []rune(s)
	if !utf8.ValidString(s) {
		return federate.Query{}, qerr(1, "query is not valid UTF-8; retype or re-paste it")
	}
	if len(runes) > federate.MaxQueryLength {
		return federate.Query{}, qerr(federate.MaxQueryLength+1, fmt.Sprintf("query is too long; use at most %d characters", federate.MaxQueryLength))
	}
	blank := true
	for i, r := range runes {
		if unicode.IsSpace(r) {
			continue
		}
		if unicode.IsControl(r) {
			return federate.Query{}, qerr(i+1, fmt.Sprintf("query contains an invisible control character (U+%04X); remove it", r))
		}
		blank = false
	}
	if blank {
		return federate.Query{}, qerr(1, "type something to search for")
	}
	toks, err := lexQuery(runes)
	if err != nil {
		return federate.Query{}, err
	}
	p := &qparser{toks: toks}
	root, err := p.or(federate.FieldAny)
	if err != nil {
		return federate.Query{}, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.kind == tRParen {
			return federate.Query{}, qerr(t.pos, "this ) has no matching (; remove it or add a ( before it")
		}
		return federate.Query{}, qerr(t.pos, "unexpected "+t.describe())
	}
	if onlyNot(root.n) {
		return federate.Query{}, qerr(root.pos, msgOnlyNot)
	}
	q := federate.Query{Root: root.n, Raw: s}
	if utf8.RuneCountInString(q.Canonical()) > federate.MaxQueryLength {
		return federate.Query{}, qerr(1, "query is too long once every field and operator is written out; use fewer words")
	}
	return q, nil
}

const msgOnlyNot = "a query cannot be only NOT terms; add a word to search for"

func qerr(pos int, msg string) *federate.QueryError {
	return &federate.QueryError{Pos: pos, Message: msg}
}

type tkind int

const (
	tEOF tkind = iota
	tWord
	tPhrase
	tLParen
	tRParen
	tAnd
	tOr
	tNot
	tMinus
	tField
)

type qtoken struct {
	kind  tkind
	pos   int // 1-based rune column
	text  string
	field federate.Field
}

func (t qtoken) describe() string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tLParen:
		return "("
	case tRParen:
		return ")"
	case tAnd:
		return "AND"
	case tOr:
		return "OR"
	case tNot:
		return "NOT"
	case tMinus:
		return "-"
	case tField:
		return string(t.field) + ":"
	}
	return fmt.Sprintf("%q", t.text)
}

func delim(r rune) bool { return unicode.IsSpace(r) || r == '"' || r == '(' || r == ')' }

func lexQuery(in []rune) ([]qtoken, error) {
	var toks []qtoken
	at := func(i int) rune {
		if i < len(in) {
			return in[i]
		}
		return 0
	}
	i := 0
	for {
		for i < len(in) && unicode.IsSpace(in[i]) {
			i++
		}
		if i >= len(in) {
			break
		}
		switch in[i] {
		case '(':
			toks = append(toks, qtoken{kind: tLParen, pos: i + 1})
			i++
			continue
		case ')':
			toks = append(toks, qtoken{kind: tRParen, pos: i + 1})
			i++
			continue
		case '"':
			open := i
			var b strings.Builder
			space, closed := false, false
			for i++; i < len(in); i++ {
				r := in[i]
				if r == '"' {
					closed = true
					i++
					break
				}
				if unicode.IsSpace(r) {
					space = b.Len() > 0
					continue
				}
				if r == '\\' && (at(i+1) == '"' || at(i+1) == '\\') {
					i++
					r = in[i]
				}
				if space {
					b.WriteByte(' ')
					space = false
				}
				b.WriteRune(r)
			}
			if !closed {
				return nil, qerr(open+1, `unclosed quote; add a closing "`)
			}
			if b.Len() == 0 {
				return nil, qerr(open+1, "empty quotes; put words between the quotes or remove them")
			}
			toks = append(toks, qtoken{kind: tPhrase, pos: open + 1, text: b.String()})
			continue
		}
		// A word: negations, an operator, a field or plain text.
		start, end := i, i
		for end < len(in) && !delim(in[end]) {
			end++
		}
		i = end
		ops := true
		for in[start] == '-' && end-start > 1 {
			toks = append(toks, qtoken{kind: tMinus, pos: start + 1})
			start++
			ops = false
		}
		if end-start == 1 && in[start] == '-' && (at(end) == '"' || at(end) == '(') {
			toks = append(toks, qtoken{kind: tMinus, pos: start + 1})
			continue
		}
		w, pos := string(in[start:end]), start+1
		if ops {
			switch w {
			case "AND":
				toks = append(toks, qtoken{kind: tAnd, pos: pos})
				continue
			case "OR":
				toks = append(toks, qtoken{kind: tOr, pos: pos})
				continue
			case "NOT":
				toks = append(toks, qtoken{kind: tNot, pos: pos})
				continue
			}
		}
		if colon := strings.IndexByte(w, ':'); colon > 0 && letters(w[:colon]) {
			name, rest := w[:colon], w[colon+1:]
			field, known := queryFields[strings.ToLower(name)]
			after := at(end)
			switch {
			case strings.HasPrefix(rest, "//"): // a web address
			case !known && rest == "" && after != '"' && after != '(': // "wars:" in a pasted title
			case !known:
				return nil, qerr(pos, fmt.Sprintf("unknown field %q; use %s (or put the text in quotes to search for it as typed)", name, knownFieldList()))
			case rest != "":
				toks = append(toks, qtoken{kind: tField, pos: pos, field: field},
					qtoken{kind: tWord, pos: pos + utf8.RuneCountInString(name) + 1, text: rest})
				continue
			case after == '"' || after == '(':
				toks = append(toks, qtoken{kind: tField, pos: pos, field: field})
				continue
			case unicode.IsSpace(after):
				return nil, qerr(pos, fmt.Sprintf("%s: needs its value right after the colon, without a space, like %s:%s", field, field, example(field)))
			default:
				return nil, qerr(pos, fmt.Sprintf("%s: needs something to search for right after the colon, like %s:%s", field, field, example(field)))
			}
		}
		toks = append(toks, qtoken{kind: tWord, pos: pos, text: w})
	}
	return append(toks, qtoken{kind: tEOF, pos: len(in) + 1}), nil
}

func example(f federate.Field) string {
	switch f {
	case federate.FieldYear:
		return "1990..2000"
	case federate.FieldISBN:
		return "978-0-439-02348-1"
	case federate.FieldISSN:
		return "0028-0836"
	case FieldDOI:
		return "10.1000/182"
	case FieldCode:
		return "CHEM101"
	case FieldInstructor, federate.FieldAuthor:
		return "smith"
	case FieldDepartment:
		return "chemistry"
	}
	return "kinetics"
}

func letters(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return s != ""
}

// qparser: recursive descent.
//
//	or      = and { "OR" and }
//	and     = unary { ["AND"] unary }
//	unary   = ("NOT" | "-") unary | primary
//	primary = word | phrase | field primary | "(" or ")"
type qparser struct {
	toks []qtoken
	i    int
}

type qnode struct {
	n   federate.Node
	pos int
}

func (p *qparser) peek() qtoken { return p.toks[p.i] }

func (p *qparser) next() qtoken {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func operand(t qtoken) bool {
	switch t.kind {
	case tWord, tPhrase, tLParen, tNot, tMinus, tField:
		return true
	}
	return false
}

func (p *qparser) or(f federate.Field) (qnode, error) {
	first, err := p.and(f)
	if err != nil || p.peek().kind != tOr {
		return first, err
	}
	branches := []qnode{first}
	for p.peek().kind == tOr {
		op := p.next()
		if !operand(p.peek()) {
			return qnode{}, missing(op)
		}
		b, err := p.and(f)
		if err != nil {
			return qnode{}, err
		}
		branches = append(branches, b)
	}
	var children []federate.Node
	for _, b := range branches {
		if onlyNot(b.n) {
			return qnode{}, qerr(b.pos, msgOnlyNot)
		}
		if o, ok := b.n.(*federate.Or); ok {
			children = append(children, o.Children...)
		} else {
			children = append(children, b.n)
		}
	}
	return qnode{n: &federate.Or{Children: children}, pos: first.pos}, nil
}

func (p *qparser) and(f federate.Field) (qnode, error) {
	first, err := p.unary(f)
	if err != nil {
		return qnode{}, err
	}
	parts := []federate.Node{first.n}
	for {
		t := p.peek()
		if t.kind == tAnd {
			p.next()
			if !operand(p.peek()) {
				return qnode{}, missing(t)
			}
		} else if !operand(t) {
			break
		}
		n, err := p.unary(f)
		if err != nil {
			return qnode{}, err
		}
		parts = append(parts, n.n)
	}
	if len(parts) == 1 {
		return first, nil
	}
	var children []federate.Node
	for _, c := range parts {
		if a, ok := c.(*federate.And); ok {
			children = append(children, a.Children...)
		} else {
			children = append(children, c)
		}
	}
	return qnode{n: &federate.And{Children: children}, pos: first.pos}, nil
}

func (p *qparser) unary(f federate.Field) (qnode, error) {
	t := p.peek()
	if t.kind != tNot && t.kind != tMinus {
		return p.primary(f)
	}
	p.next()
	if !operand(p.peek()) {
		return qnode{}, missing(t)
	}
	inner, err := p.unary(f)
	if err != nil {
		return qnode{}, err
	}
	if n, ok := inner.n.(*federate.Not); ok { // double negation
		return qnode{n: n.Child, pos: t.pos}, nil
	}
	if onlyNot(inner.n) {
		return qnode{}, qerr(inner.pos, msgOnlyNot)
	}
	return qnode{n: &federate.Not{Child: inner.n}, pos: t.pos}, nil
}

func (p *qparser) primary(f federate.Field) (qnode, error) {
	t := p.next()
	switch t.kind {
	case tWord, tPhrase:
		n, err := leaf(f, t.text, t.kind == tPhrase, t.pos)
		return qnode{n: n, pos: t.pos}, err
	case tField:
		inner, err := p.primary(t.field)
		return qnode{n: inner.n, pos: t.pos}, err
	case tLParen:
		switch p.peek().kind {
		case tRParen:
			return qnode{}, qerr(t.pos, "empty parentheses; put words inside them or remove them")
		case tEOF:
			return qnode{}, qerr(t.pos, "this ( is never closed; add a ) or remove it")
		}
		inner, err := p.or(f)
		if err != nil {
			return qnode{}, err
		}
		if p.peek().kind != tRParen {
			return qnode{}, qerr(t.pos, "this ( is never closed; add a ) or remove it")
		}
		p.next()
		return qnode{n: inner.n, pos: t.pos}, nil
	case tAnd, tOr:
		return qnode{}, missing(t)
	case tRParen:
		return qnode{}, qerr(t.pos, "this ) has no matching (; remove it or add a ( before it")
	}
	return qnode{}, qerr(t.pos, "expected a word to search for, found "+t.describe())
}

func missing(op qtoken) error {
	switch op.kind {
	case tNot:
		return qerr(op.pos, "NOT needs a word to leave out after it, like: kinetics NOT enzymes")
	case tMinus:
		return qerr(op.pos, "- needs a word to leave out right after it, like: kinetics -enzymes")
	}
	return qerr(op.pos, fmt.Sprintf("%s needs a word to search for on both sides, like: kinetics %s atkins", op.describe(), op.describe()))
}

// leaf builds a Term, or a YearRange for year:.
func leaf(f federate.Field, text string, phrase bool, pos int) (federate.Node, error) {
	if f != federate.FieldYear {
		return &federate.Term{Field: f, Text: text, Phrase: phrase}, nil
	}
	from, to, isRange := strings.Cut(strings.TrimSpace(text), "..")
	if !isRange {
		to = from
	}
	if from == "" && to == "" {
		return nil, qerr(pos, "year needs a number or a range like 1990..2000")
	}
	var ys [2]int
	for i, s := range []string{from, to} {
		if s == "" {
			continue
		}
		n := 0
		for _, r := range s {
			if r < '0' || r > '9' {
				return nil, qerr(pos, "year needs a number or a range like 1990..2000")
			}
			if n < 10000 {
				n = n*10 + int(r-'0')
			}
		}
		if n < 1 || n > 9999 {
			return nil, qerr(pos, "a year must be between 1 and 9999")
		}
		ys[i] = n
	}
	if ys[0] != 0 && ys[1] != 0 && ys[0] > ys[1] {
		return nil, qerr(pos, fmt.Sprintf("a year range must start with the earlier year, like %d..%d", ys[1], ys[0]))
	}
	return &federate.YearRange{From: ys[0], To: ys[1]}, nil
}

func onlyNot(n federate.Node) bool {
	switch n := n.(type) {
	case *federate.Not:
		return true
	case *federate.And:
		for _, c := range n.Children {
			if _, ok := c.(*federate.Not); !ok {
				return false
			}
		}
		return true
	}
	return false
}
