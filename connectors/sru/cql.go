package sru

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/commonshelf/commonshelf/federate"
)

// Indexes maps the fields of the query language to a member's CQL indexes.
// An empty field means the default of DefaultIndexes.
type Indexes struct {
	// Any is the index of a keyword without a field; "" means
	// cql.serverChoice, the index every CQL server accepts (an unqualified
	// CQL term means it).
	Any string
	// Title, Author, Subject: "" means dc.title, dc.creator, dc.subject.
	Title, Author, Subject string
	// ISBN, ISSN: "" means bath.isbn, bath.issn (the Bath profile's
	// identifier indexes, the ones CQL servers for library catalogues carry).
	ISBN, ISSN string
	// Year: "" means dc.date, searched with >= and <= for ranges.
	Year string
	// Unsupported lists indexes the member is known not to support (learned
	// from its explain record or from a diagnostic 16). A field mapped to
	// one of them is searched as keywords with Any and reported as relaxed.
	// Nil: none known.
	Unsupported []string
}

// DefaultIndexes are the standard CQL indexes of the dc, bath and cql
// context sets, the ones Zebra's CQL-to-RPN mappings and most library SRU
// servers support.
func DefaultIndexes() Indexes {
	return Indexes{
		Any:     "cql.serverChoice",
		Title:   "dc.title",
		Author:  "dc.creator",
		Subject: "dc.subject",
		ISBN:    "bath.isbn",
		ISSN:    "bath.issn",
		Year:    "dc.date",
	}
}

// withDefaults fills the empty fields of x from DefaultIndexes.
func (x Indexes) withDefaults() Indexes {
	d := DefaultIndexes()
	for _, p := range []struct {
		dst *string
		def string
	}{
		{&x.Any, d.Any}, {&x.Title, d.Title}, {&x.Author, d.Author}, {&x.Subject, d.Subject},
		{&x.ISBN, d.ISBN}, {&x.ISSN, d.ISSN}, {&x.Year, d.Year},
	} {
		if *p.dst == "" {
			*p.dst = p.def
		}
	}
	return x
}

// index returns the CQL index of a field.
func (x Indexes) index(f federate.Field) string {
	switch f {
	case federate.FieldTitle:
		return x.Title
	case federate.FieldAuthor:
		return x.Author
	case federate.FieldSubject:
		return x.Subject
	case federate.FieldISBN:
		return x.ISBN
	case federate.FieldISSN:
		return x.ISSN
	case federate.FieldYear:
		return x.Year
	}
	return x.Any
}

// fieldsOf returns the fields (other than the keyword field) mapped to
// index, compared without case.
func (x Indexes) fieldsOf(index string) []federate.Field {
	var out []federate.Field
	for _, f := range searchFields {
		if strings.EqualFold(x.index(f), index) {
			out = append(out, f)
		}
	}
	return out
}

// searchFields are the fields that have their own index.
var searchFields = []federate.Field{
	federate.FieldTitle, federate.FieldAuthor, federate.FieldSubject,
	federate.FieldISBN, federate.FieldISSN, federate.FieldYear,
}

func (x Indexes) unsupported(index string) bool {
	return slices.ContainsFunc(x.Unsupported, func(u string) bool { return strings.EqualFold(u, index) })
}

// validIndexName reports whether s can stand as a CQL index: a name with an
// optional context-set prefix, nothing that could change the query's
// structure.
func validIndexName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'):
		default:
			return false
		}
	}
	return !strings.HasSuffix(s, ".") && !strings.Contains(s, "..")
}

// ErrUnexpressible is returned by ToCQL for a query no CQL can state, such
// as one that only excludes.
var ErrUnexpressible = errors.New("query cannot be expressed in CQL")

// ToCQL translates a query into CQL for a member whose indexes are idx.
//
// Every term is sent as `index relation "text"` with `\`, `"` and the
// masking characters `*`, `?`, `^` escaped, so user text never masks,
// anchors or changes the query's structure (and, or, not, prox, sortby and
// = are only words inside quotes). Words use `=`, phrases `adj` (in CQL 1.2
// and 2.0 alike `=` leaves the comparison to the server, `adj` asks for the
// words in order). Boolean operators are lower-case `and`/`or`/`not`;
// because CQL gives them equal precedence and groups left to right, every
// compound operand is parenthesised. NOT is binary in CQL: an AND's
// exclusions follow its positive parts (`a and b not c`). An ISBN is sent in
// its ISBN-13 form ORed with its ISBN-10 form (members index whichever the
// record had), an ISSN with and without its hyphen; year ranges become
// `>=` and `<=`.
//
// cql is "" when nothing in the query is searchable (every term was left
// out); relaxed then says why. relaxed lists, one sentence each, what was
// not sent as asked.
func ToCQL(q federate.Query, idx Indexes) (cql string, relaxed []string, err error) {
	if q.Root == nil {
		return "", nil, fmt.Errorf("%w: empty query", ErrUnexpressible)
	}
	t := translator{idx: idx.withDefaults()}
	e, err := t.node(q.Root)
	if err != nil {
		return "", t.relaxed, err
	}
	if e == nil {
		return "", t.relaxed, nil
	}
	return e.text, t.relaxed, nil
}

// expr is a CQL expression; compound is true when it contains a boolean
// operator and must be parenthesised as an operand.
type expr struct {
	text     string
	compound bool
}

func (e *expr) operand() string {
	if e.compound {
		return "(" + e.text + ")"
	}
	return e.text
}

type translator struct {
	idx     Indexes
	relaxed []string
}

func (t *translator) relax(s string) {
	if !slices.Contains(t.relaxed, s) {
		t.relaxed = append(t.relaxed, s)
	}
}

// node returns the expression of n, or nil when n has nothing to search.
func (t *translator) node(n federate.Node) (*expr, error) {
	switch n := n.(type) {
	case *federate.Term:
		return t.term(n), nil
	case *federate.YearRange:
		return t.years(n), nil
	case *federate.And:
		var pos, neg []*expr
		for _, c := range n.Children {
			if not, ok := c.(*federate.Not); ok {
				e, err := t.node(not.Child)
				if err != nil {
					return nil, err
				}
				if e != nil {
					neg = append(neg, e)
				}
				continue
			}
			e, err := t.node(c)
			if err != nil {
				return nil, err
			}
			if e != nil {
				pos = append(pos, e)
			}
		}
		if len(pos) == 0 {
			if len(neg) > 0 {
				return nil, fmt.Errorf("%w: a query cannot only exclude", ErrUnexpressible)
			}
			return nil, nil
		}
		if len(pos) == 1 && len(neg) == 0 {
			return pos[0], nil
		}
		var b strings.Builder
		for i, e := range pos {
			if i > 0 {
				b.WriteString(" and ")
			}
			b.WriteString(e.operand())
		}
		for _, e := range neg {
			b.WriteString(" not ")
			b.WriteString(e.operand())
		}
		return &expr{text: b.String(), compound: true}, nil
	case *federate.Or:
		var any []*expr
		for _, c := range n.Children {
			if _, ok := c.(*federate.Not); ok {
				return nil, fmt.Errorf("%w: an exclusion inside OR", ErrUnexpressible)
			}
			e, err := t.node(c)
			if err != nil {
				return nil, err
			}
			if e != nil {
				any = append(any, e)
			}
		}
		return join(any, " or "), nil
	case *federate.Not:
		return nil, fmt.Errorf("%w: a query cannot only exclude", ErrUnexpressible)
	case nil:
		return nil, fmt.Errorf("%w: empty query node", ErrUnexpressible)
	default:
		return nil, fmt.Errorf("%w: unsupported query node %T", ErrUnexpressible, n)
	}
}

// join combines expressions with op; nil for none.
func join(es []*expr, op string) *expr {
	switch len(es) {
	case 0:
		return nil
	case 1:
		return es[0]
	}
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.operand()
	}
	return &expr{text: strings.Join(parts, op), compound: true}
}

// fieldIndex returns the index to search field with, falling back to the
// keyword index (and saying so) when the member does not support it.
func (t *translator) fieldIndex(f federate.Field) (string, bool) {
	ix := t.idx.index(f)
	if f == federate.FieldAny || !t.idx.unsupported(ix) {
		return ix, true
	}
	t.relax(fmt.Sprintf("%s: searched as keywords (the member does not support %s)", f, ix))
	return t.idx.Any, false
}

func (t *translator) term(n *federate.Term) *expr {
	switch n.Field {
	case federate.FieldISBN:
		return t.isbn(n)
	case federate.FieldISSN:
		return t.issn(n)
	case federate.FieldYear:
		y, err := strconv.Atoi(strings.TrimSpace(n.Text))
		if err != nil || y < 1 || y > 9999 {
			t.relax(fmt.Sprintf("year:%s is not a year and was left out", n.Text))
			return nil
		}
		return t.years(&federate.YearRange{From: y, To: y})
	}
	if !hasWords(n.Text) {
		if n.Field == federate.FieldAny {
			t.relax(fmt.Sprintf("%q has no searchable words and was left out", n.Text))
		} else {
			t.relax(fmt.Sprintf("%s:%q has no searchable words and was left out", n.Field, n.Text))
		}
		return nil
	}
	ix, _ := t.fieldIndex(n.Field)
	rel := "="
	if n.Phrase {
		rel = "adj"
	}
	return &expr{text: clause(ix, rel, n.Text)}
}

// isbn searches the ISBN-13 form and, when there is one, the ISBN-10 form.
func (t *translator) isbn(n *federate.Term) *expr {
	ix, _ := t.fieldIndex(federate.FieldISBN)
	isbn13, ok := federate.NormalizeISBN(n.Text)
	if !ok {
		if !hasWords(n.Text) {
			t.relax(fmt.Sprintf("isbn:%q has no searchable words and was left out", n.Text))
			return nil
		}
		t.relax(fmt.Sprintf("isbn:%s is not a valid ISBN; sent as typed", n.Text))
		return &expr{text: clause(ix, "=", n.Text)}
	}
	forms := []*expr{{text: clause(ix, "=", isbn13)}}
	if isbn10, ok := federate.ISBN10(isbn13); ok {
		forms = append(forms, &expr{text: clause(ix, "=", isbn10)})
	}
	return join(forms, " or ")
}

// issn searches NNNN-NNNC and NNNNNNNC: catalogues store either.
func (t *translator) issn(n *federate.Term) *expr {
	ix, _ := t.fieldIndex(federate.FieldISSN)
	issn, ok := federate.NormalizeISSN(n.Text)
	if !ok {
		if !hasWords(n.Text) {
			t.relax(fmt.Sprintf("issn:%q has no searchable words and was left out", n.Text))
			return nil
		}
		t.relax(fmt.Sprintf("issn:%s is not a valid ISSN; sent as typed", n.Text))
		return &expr{text: clause(ix, "=", n.Text)}
	}
	return join([]*expr{{text: clause(ix, "=", issn)}, {text: clause(ix, "=", strings.ReplaceAll(issn, "-", ""))}}, " or ")
}

// years is a single year with =, a range with >= and <=, an open end left
// out. A member without a date index gets single years as keywords; a
// range cannot be said with keywords and is left out.
func (t *translator) years(y *federate.YearRange) *expr {
	ix := t.idx.Year
	if t.idx.unsupported(ix) {
		if y.From != 0 && y.From == y.To {
			t.relax(fmt.Sprintf("year: searched as keywords (the member does not support %s)", ix))
			return &expr{text: clause(t.idx.Any, "=", strconv.Itoa(y.From))}
		}
		t.relax(fmt.Sprintf("year: left out (the member does not support %s)", ix))
		return nil
	}
	switch {
	case y.From != 0 && y.From == y.To:
		return &expr{text: clause(ix, "=", strconv.Itoa(y.From))}
	case y.From != 0 && y.To != 0:
		return &expr{text: clause(ix, ">=", strconv.Itoa(y.From)) + " and " + clause(ix, "<=", strconv.Itoa(y.To)), compound: true}
	case y.From != 0:
		return &expr{text: clause(ix, ">=", strconv.Itoa(y.From))}
	case y.To != 0:
		return &expr{text: clause(ix, "<=", strconv.Itoa(y.To))}
	}
	// Both ends open: any known year.
	return &expr{text: clause(ix, ">=", "1")}
}

// clause is `index relation "term"`.
func clause(index, relation, term string) string {
	return index + " " + relation + " " + quote(term)
}

// quote returns term as a CQL quoted string in which nothing is special:
// backslash and double quote are escaped, and so are the masking and
// anchoring characters * ? ^ (unescaped, a server would truncate, mask or
// anchor). Control characters become spaces.
func quote(term string) string {
	var b strings.Builder
	b.Grow(len(term) + 2)
	b.WriteByte('"')
	for _, r := range term {
		switch {
		case r == '\\' || r == '"' || r == '*' || r == '?' || r == '^':
			b.WriteByte('\\')
			b.WriteRune(r)
		case unicode.IsControl(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// hasWords reports whether s has a letter or a digit: a term of
// punctuation alone matches nothing useful (Zebra, for one, folds it to an
// empty term that matches records at random).
func hasWords(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}
