package federate

// The user query language, as typed into the search box.
//
//	hunger games                 two words; both must match (implicit AND)
//	"the hunger games"           a phrase; \" and \\ escape inside quotes
//	title:dune  Title:"dune"     a field applies to the next word, phrase or
//	title:(dune messiah)         parenthesised group (a field written inside
//	                             the group wins for its own term)
//	author:herbert subject:ecology isbn:978-0-441-17271-9 issn:0028-0836
//	year:1965  year:1960..1970  year:1960..  year:..1970
//	a OR b   a AND b   NOT a   -a   -"a phrase"   -title:a   -(a b)
//	(a OR b) c                   parentheses group
//
// Decisions a reader of the grammar should know:
//   - Only the upper-case words AND, OR and NOT are operators; "and", "or" and
//     "not" are ordinary words. NOT binds tighter than AND (written or
//     implicit), which binds tighter than OR.
//   - A word is a run of characters up to whitespace, a quote or a
//     parenthesis: foo"bar" is the word foo followed by the phrase bar.
//   - '-' at the start of a word negates what follows it directly (a word,
//     phrase, field or group; after '-' the words AND, OR and NOT are plain
//     words). A '-' standing alone, or inside a word ("well-known"), is a
//     plain word.
//   - Double negation cancels out: NOT NOT x and -(-x) mean x.
//   - A query must ask for something: NOT may only narrow an AND that has a
//     positive part. "NOT x", "-a -b" and "x OR -y" are refused.
//   - letters:rest is a field. If the letters are not one of title, author,
//     subject, isbn, issn or year (in any case) the query is refused with a
//     message naming the known fields — except for web addresses (the colon
//     starts "://"), and for a word that merely ends in a colon
//     ("wars: episode"), which are plain words. A part before the colon that
//     is not all letters ("3:10", "10:30am") is never a field.
//   - The value must follow the colon directly: "title: dune" is refused
//     with a hint. After title:, the rest of the word is taken as typed
//     (title:AND searches for the word "and"); isbn: and issn: keep hyphens.
//   - year: takes a year from 1 to 9999 or a range; a range's first year
//     may not be after its second.
//   - At most MaxQueryLength characters, both as typed and written out in
//     canonical form (a field on a long group repeats for every word).
//   - Control characters other than whitespace are refused; any Unicode
//     whitespace separates words.

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxQueryLength is the longest query accepted, in characters (runes). It
// applies both to the text typed and to its canonical form.
const MaxQueryLength = 1000

// QueryError is a parse error a person can act on: where the problem is and
// what to do about it.
type QueryError struct {
	// Pos is the 1-based character (rune) column of the problem; it may be
	// one past the last character when something is missing at the end.
	Pos int
	// Message is a lower-case sentence for the person who typed the query.
	Message string
}

// Error returns "column N: message".
func (e *QueryError) Error() string {
	return fmt.Sprintf("column %d: %s", e.Pos, e.Message)
}

// Messages shared by several checks (tests match on parts of them).
const (
	msgEmpty       = "type something to search for"
	msgOnlyNot     = "a query cannot be only NOT terms; add a word to search for"
	msgYearSyntax  = "year needs a number or a range like 1990..2000"
	msgKnownFields = "title:, author:, subject:, isbn:, issn: or year:"
)

// ParseQuery parses a query typed by a user. Every error is a *QueryError.
func ParseQuery(s string) (Query, error) {
	runes, err := checkText(s)
	if err != nil {
		return Query{}, err
	}
	toks, err := lex(runes)
	if err != nil {
		return Query{}, err
	}
	p := &parser{toks: toks}
	root, err := p.parseOr(FieldAny)
	if err != nil {
		return Query{}, err
	}
	switch t := p.peek(); t.kind {
	case tokEOF:
	case tokRParen:
		return Query{}, qerr(t.pos, "this ) has no matching (; remove it or add a ( before it")
	default:
		// parseOr stops only at ')' or the end.
		return Query{}, qerr(t.pos, "unexpected "+t.describe())
	}
	if onlyNegative(root.n) {
		return Query{}, qerr(root.pos, msgOnlyNot)
	}
	q := Query{Root: root.n, Raw: s}
	// The canonical form is the cache key and must itself parse, so it is
	// held to the same limit. It can be several times longer than what was
	// typed: title:(a b) is written out as title:a AND title:b.
	if utf8.RuneCountInString(q.Canonical()) > MaxQueryLength {
		return Query{}, qerr(1, fmt.Sprintf("query is too long once every field and operator is written out; use fewer words (at most %d characters in full)", MaxQueryLength))
	}
	return q, nil
}

func qerr(pos int, msg string) *QueryError { return &QueryError{Pos: pos, Message: msg} }

// checkText rejects text that cannot be a query before any parsing: invalid
// UTF-8, too long, empty, or holding control characters.
func checkText(s string) ([]rune, error) {
	col := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		col++
		if r == utf8.RuneError && size == 1 {
			return nil, qerr(col, "query is not valid UTF-8; retype or re-paste it")
		}
		i += size
	}
	if col > MaxQueryLength {
		return nil, qerr(MaxQueryLength+1, fmt.Sprintf("query is too long; use at most %d characters", MaxQueryLength))
	}
	runes := []rune(s)
	blank := true
	for i, r := range runes {
		if unicode.IsSpace(r) {
			continue
		}
		if unicode.IsControl(r) {
			return nil, qerr(i+1, fmt.Sprintf("query contains an invisible control character (U+%04X); remove it", r))
		}
		blank = false
	}
	if blank {
		return nil, qerr(1, msgEmpty)
	}
	return runes, nil
}

// Lexer.

type tokKind int

const (
	tokEOF    tokKind = iota
	tokWord           // text; literal words are never operators
	tokPhrase         // text, unescaped, whitespace collapsed
	tokLParen         //
	tokRParen         //
	tokAnd            // upper-case AND
	tokOr             // upper-case OR
	tokNot            // upper-case NOT
	tokMinus          // '-' directly before a word, phrase, field or group
	tokField          // field; the value token follows
)

type token struct {
	kind  tokKind
	pos   int // 1-based rune column
	text  string
	field Field
}

// describe names a token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of query"
	case tokRParen:
		return ")"
	case tokLParen:
		return "("
	case tokAnd:
		return "AND"
	case tokOr:
		return "OR"
	case tokNot:
		return "NOT"
	case tokMinus:
		return "-"
	}
	return strconv.Quote(t.text)
}

var knownFields = map[string]Field{
	"title":   FieldTitle,
	"author":  FieldAuthor,
	"subject": FieldSubject,
	"isbn":    FieldISBN,
	"issn":    FieldISSN,
	"year":    FieldYear,
}

func isDelim(r rune) bool {
	return unicode.IsSpace(r) || r == '"' || r == '(' || r == ')'
}

type lexer struct {
	in   []rune
	i    int
	toks []token
}

func lex(in []rune) ([]token, error) {
	l := &lexer{in: in}
	for {
		for l.i < len(l.in) && unicode.IsSpace(l.in[l.i]) {
			l.i++
		}
		if l.i >= len(l.in) {
			break
		}
		var err error
		switch l.in[l.i] {
		case '(':
			l.emit(token{kind: tokLParen, pos: l.i + 1})
			l.i++
		case ')':
			l.emit(token{kind: tokRParen, pos: l.i + 1})
			l.i++
		case '"':
			err = l.phrase()
		default:
			err = l.word()
		}
		if err != nil {
			return nil, err
		}
	}
	l.emit(token{kind: tokEOF, pos: len(l.in) + 1})
	return l.toks, nil
}

func (l *lexer) emit(t token) { l.toks = append(l.toks, t) }

// at returns the rune at i, or 0 past the end.
func (l *lexer) at(i int) rune {
	if i < len(l.in) {
		return l.in[i]
	}
	return 0
}

// phrase reads a quoted phrase starting at the opening quote.
func (l *lexer) phrase() error {
	open := l.i
	var b strings.Builder
	space := false
	for j := open + 1; j < len(l.in); j++ {
		r := l.in[j]
		switch {
		case r == '"':
			text := b.String()
			if text == "" {
				return qerr(open+1, `empty quotes; put words between the quotes or remove them`)
			}
			l.emit(token{kind: tokPhrase, pos: open + 1, text: text})
			l.i = j + 1
			return nil
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case r == '\\' && (l.at(j+1) == '"' || l.at(j+1) == '\\'):
			j++
			r = l.in[j]
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return qerr(open+1, `unclosed quote; add a closing "`)
}

// word reads a run of non-delimiter characters and decides whether it is an
// operator, negations, a field or a plain word.
func (l *lexer) word() error {
	ops := true // after '-', AND, OR and NOT are plain words
	start := l.i
	end := start
	for end < len(l.in) && !isDelim(l.in[end]) {
		end++
	}
	l.i = end
	for l.in[start] == '-' {
		if end-start > 1 {
			l.emit(token{kind: tokMinus, pos: start + 1})
			start++
			ops = false
			continue
		}
		if r := l.at(end); r == '"' || r == '(' {
			l.emit(token{kind: tokMinus, pos: start + 1})
			return nil
		}
		break // a lone '-' is a plain word
	}
	w := string(l.in[start:end])
	pos := start + 1

	if ops {
		switch w {
		case "AND":
			l.emit(token{kind: tokAnd, pos: pos})
			return nil
		case "OR":
			l.emit(token{kind: tokOr, pos: pos})
			return nil
		case "NOT":
			l.emit(token{kind: tokNot, pos: pos})
			return nil
		}
	}

	if colon := strings.IndexByte(w, ':'); colon > 0 && allLetters(w[:colon]) {
		name, rest := w[:colon], w[colon+1:]
		field, known := knownFields[strings.ToLower(name)]
		after := l.at(end) // what follows the word when rest is empty
		switch {
		case strings.HasPrefix(rest, "//"):
			// A web address: a plain word.
		case !known && rest == "" && after != '"' && after != '(':
			// A word that ends in a colon, as in a pasted title: a plain word.
		case !known:
			return qerr(pos, fmt.Sprintf("unknown field %q; use %s (or put the text in quotes to search for it as typed)", name, msgKnownFields))
		case rest != "":
			l.emit(token{kind: tokField, pos: pos, field: field})
			l.emit(token{kind: tokWord, pos: pos + utf8.RuneCountInString(name) + 1, text: rest})
			return nil
		case after == '"' || after == '(':
			l.emit(token{kind: tokField, pos: pos, field: field})
			return nil
		case unicode.IsSpace(after):
			return qerr(pos, fmt.Sprintf("%s: needs its value right after the colon, without a space, like %s:%s", field, field, fieldExample(field)))
		default:
			return qerr(pos, fmt.Sprintf("%s: needs something to search for right after the colon, like %s:%s", field, field, fieldExample(field)))
		}
	}

	l.emit(token{kind: tokWord, pos: pos, text: w})
	return nil
}

// fieldExample is a sample value for field, for error messages.
func fieldExample(f Field) string {
	switch f {
	case FieldYear:
		return "1990..2000"
	case FieldISBN:
		return "978-0-439-02348-1"
	case FieldISSN:
		return "0028-0836"
	case FieldAuthor:
		return "collins"
	case FieldSubject:
		return "ecology"
	}
	return "dune"
}

func allLetters(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return s != ""
}

// Parser: recursive descent over the tokens.
//
//	or      = and { "OR" and }
//	and     = unary { ["AND"] unary }
//	unary   = ("NOT" | "-") unary | primary
//	primary = word | phrase | field primary | "(" or ")"

type parser struct {
	toks []token
	i    int
}

// pnode is a node with the column where its text starts, for errors.
type pnode struct {
	n   Node
	pos int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) advance() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// startsOperand reports whether t can begin a unary expression.
func startsOperand(t token) bool {
	switch t.kind {
	case tokWord, tokPhrase, tokLParen, tokNot, tokMinus, tokField:
		return true
	}
	return false
}

func (p *parser) parseOr(field Field) (pnode, error) {
	first, err := p.parseAnd(field)
	if err != nil {
		return pnode{}, err
	}
	if p.peek().kind != tokOr {
		return first, nil
	}
	branches := []pnode{first}
	for p.peek().kind == tokOr {
		op := p.advance()
		if !startsOperand(p.peek()) {
			return pnode{}, missingOperand(op)
		}
		next, err := p.parseAnd(field)
		if err != nil {
			return pnode{}, err
		}
		branches = append(branches, next)
	}
	var children []Node
	for _, b := range branches {
		if onlyNegative(b.n) {
			return pnode{}, qerr(b.pos, msgOnlyNot)
		}
		if o, ok := b.n.(*Or); ok {
			children = append(children, o.Children...)
		} else {
			children = append(children, b.n)
		}
	}
	return pnode{n: &Or{Children: children}, pos: first.pos}, nil
}

func (p *parser) parseAnd(field Field) (pnode, error) {
	first, err := p.parseUnary(field)
	if err != nil {
		return pnode{}, err
	}
	parts := []Node{first.n}
	for {
		t := p.peek()
		if t.kind == tokAnd {
			p.advance()
			if !startsOperand(p.peek()) {
				return pnode{}, missingOperand(t)
			}
		} else if !startsOperand(t) {
			break
		}
		next, err := p.parseUnary(field)
		if err != nil {
			return pnode{}, err
		}
		parts = append(parts, next.n)
	}
	if len(parts) == 1 {
		return first, nil
	}
	var children []Node
	for _, c := range parts {
		if a, ok := c.(*And); ok {
			children = append(children, a.Children...)
		} else {
			children = append(children, c)
		}
	}
	return pnode{n: &And{Children: children}, pos: first.pos}, nil
}

func (p *parser) parseUnary(field Field) (pnode, error) {
	t := p.peek()
	if t.kind != tokNot && t.kind != tokMinus {
		return p.parsePrimary(field)
	}
	p.advance()
	if !startsOperand(p.peek()) {
		return pnode{}, missingOperand(t)
	}
	inner, err := p.parseUnary(field)
	if err != nil {
		return pnode{}, err
	}
	if n, ok := inner.n.(*Not); ok {
		// Double negation cancels out.
		return pnode{n: n.Child, pos: t.pos}, nil
	}
	if onlyNegative(inner.n) {
		return pnode{}, qerr(inner.pos, msgOnlyNot)
	}
	return pnode{n: &Not{Child: inner.n}, pos: t.pos}, nil
}

func (p *parser) parsePrimary(field Field) (pnode, error) {
	t := p.advance()
	switch t.kind {
	case tokWord:
		n, err := makeTerm(field, t.text, false, t.pos)
		return pnode{n: n, pos: t.pos}, err
	case tokPhrase:
		n, err := makeTerm(field, t.text, true, t.pos)
		return pnode{n: n, pos: t.pos}, err
	case tokField:
		// The lexer puts a word, phrase or '(' right after a field.
		inner, err := p.parsePrimary(t.field)
		return pnode{n: inner.n, pos: t.pos}, err
	case tokLParen:
		switch p.peek().kind {
		case tokRParen:
			return pnode{}, qerr(t.pos, "empty parentheses; put words inside them or remove them")
		case tokEOF:
			return pnode{}, unclosedParen(t)
		}
		inner, err := p.parseOr(field)
		if err != nil {
			return pnode{}, err
		}
		if p.peek().kind != tokRParen {
			return pnode{}, unclosedParen(t)
		}
		p.advance()
		return pnode{n: inner.n, pos: t.pos}, nil
	case tokAnd, tokOr:
		return pnode{}, missingOperand(t)
	case tokRParen:
		return pnode{}, qerr(t.pos, "this ) has no matching (; remove it or add a ( before it")
	}
	return pnode{}, qerr(t.pos, "expected a word to search for, found "+t.describe())
}

func unclosedParen(t token) error {
	return qerr(t.pos, "this ( is never closed; add a ) or remove it")
}

func missingOperand(op token) error {
	switch op.kind {
	case tokNot:
		return qerr(op.pos, "NOT needs a word to leave out after it, like: dune NOT messiah")
	case tokMinus:
		return qerr(op.pos, "- needs a word to leave out right after it, like: dune -messiah")
	}
	name := op.describe()
	return qerr(op.pos, fmt.Sprintf("%s needs a word to search for on both sides, like: dune %s herbert", name, name))
}

// makeTerm builds the leaf for text in field: a YearRange for year:, a Term
// otherwise.
func makeTerm(field Field, text string, phrase bool, pos int) (Node, error) {
	if field != FieldYear {
		return &Term{Field: field, Text: text, Phrase: phrase}, nil
	}
	y, msg := parseYears(strings.TrimSpace(text))
	if msg != "" {
		return nil, qerr(pos, msg)
	}
	return y, nil
}

// parseYears reads 1990, 1990..2000, 1990.. or ..2000. It returns a message
// for the user when text is not one of these.
func parseYears(text string) (*YearRange, string) {
	from, to, isRange := strings.Cut(text, "..")
	if !isRange {
		to = from
	}
	if from == "" && to == "" {
		return nil, msgYearSyntax
	}
	var years [2]int
	for i, s := range []string{from, to} {
		if s == "" {
			continue
		}
		n, ok := parseYear(s)
		if !ok {
			return nil, msgYearSyntax
		}
		if n < 1 || n > 9999 {
			return nil, "a year must be between 1 and 9999"
		}
		years[i] = n
	}
	if years[0] != 0 && years[1] != 0 && years[0] > years[1] {
		return nil, fmt.Sprintf("a year range must start with the earlier year, like %d..%d", years[1], years[0])
	}
	return &YearRange{From: years[0], To: years[1]}, ""
}

// parseYear reads ASCII digits; values too large to be a year come back as
// 10000 rather than overflowing.
func parseYear(s string) (int, bool) {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		if n < 10000 {
			n = n*10 + int(r-'0')
		}
	}
	return n, true
}

// onlyNegative reports whether n excludes records without asking for any:
// a NOT, or an AND of NOTs only. (OR branches are checked as they are built.)
func onlyNegative(n Node) bool {
	switch n := n.(type) {
	case *Not:
		return true
	case *And:
		for _, c := range n.Children {
			if _, ok := c.(*Not); !ok {
				return false
			}
		}
		return true
	}
	return false
}
