package local

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/commonshelf/commonshelf/federate"
)

// anyFields are the fields a keyword without a field searches, with their
// boosts: a word in the title weighs most, one in the publisher least.
var anyFields = []struct {
	name  string
	boost float64
}{
	{fTitle, 3},
	{fAuthors, 2},
	{fSeries, 1.5},
	{fSubjects, 1},
	{fPublisher, 0.5},
}

// sortOrder ranks by score, ties by record id so that pages are stable.
// The _id tie-break costs bleve a stored-id lookup per matching document
// (about 80 ns a hit measured here, some 2x a score-only sort for a word
// matching most of the index). A score-only first pass that sorted ties
// itself and fell back to this order only for a tie across the window's edge
// was tried: catalogue duplicates (editions) tie so often that it cost more.
var sortOrder = []string{"-_score", "_id"}

// run returns hits from..from+size-1 of q, stored record included.
func (x *Index) run(ctx context.Context, q query.Query, from, size int) (*bleve.SearchResult, error) {
	req := bleve.NewSearchRequestOptions(q, size, from, false)
	req.SortBy(sortOrder)
	req.Fields = []string{fRecord}
	return x.idx.SearchInContext(ctx, req)
}

// Search runs q on the index and returns the records of window w, best
// first. It waits for a free search slot (see Options.MaxConcurrent) no
// longer than ctx allows, and the search itself stops at ctx's deadline.
func (x *Index) Search(ctx context.Context, q federate.Query, w federate.Window) (federate.Page, error) {
	if q.Root == nil {
		return federate.Page{}, fmt.Errorf("local %s: search: empty query: %w", x.member, federate.ErrQueryRejected)
	}
	t := translator{x: x}
	bq, err := t.node(q.Root)
	if err != nil {
		return federate.Page{}, fmt.Errorf("local %s: search %q: %w: %w", x.member, q.Raw, federate.ErrQueryRejected, err)
	}
	if bq == nil { // nothing searchable in the whole query
		bq = bleve.NewMatchNoneQuery()
	}
	from, size := max(w.Offset, 0), max(w.Limit, 0)

	// Acquire may succeed on a context that is already done; check first.
	if err := ctx.Err(); err != nil {
		return federate.Page{}, fmt.Errorf("local %s: search: %w", x.member, err)
	}
	if err := x.sem.Acquire(ctx, 1); err != nil {
		return federate.Page{}, fmt.Errorf("local %s: search: waiting for a slot: %w", x.member, err)
	}
	defer x.sem.Release(1)

	res, err := x.run(ctx, bq, from, size)
	if err != nil {
		return federate.Page{}, fmt.Errorf("local %s: search: %w", x.member, err)
	}

	page := federate.Page{
		Records: make([]federate.Record, 0, len(res.Hits)),
		Total:   int(res.Total),
		Relaxed: t.relaxed,
	}
	for _, h := range res.Hits {
		raw, _ := h.Fields[fRecord].(string)
		var r federate.Record
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			// Cannot happen for a record this package stored; the page
			// reports it rather than failing the member.
			page.Rejected++
			x.log.Warn("local record unreadable", "member", x.member, "id", h.ID, "err", err)
			continue
		}
		r.Member = x.member
		r.Rank = from + len(page.Records) + 1
		if link := x.recordLink(r.RecordID); link != "" {
			r.Links = append(r.Links, federate.Link{URL: link, Label: "Catalogue record"})
		}
		page.Records = append(page.Records, r)
	}
	return page, nil
}

// recordLink fills Options.RecordURL with id, escaped for where "{id}"
// stands: as a query value after a '?', as a path segment before it.
func (x *Index) recordLink(id string) string {
	tpl := x.opts.RecordURL
	if tpl == "" || id == "" {
		return ""
	}
	at := strings.Index(tpl, "{id}")
	if at < 0 {
		return tpl
	}
	esc := url.PathEscape
	if q := strings.IndexByte(tpl, '?'); q >= 0 && q < at {
		esc = url.QueryEscape
	}
	return strings.ReplaceAll(tpl, "{id}", esc(id))
}

// translator turns the query AST into bleve query objects, collecting what
// it had to relax. A nil query from a node means "nothing to search for"
// (a term that analyses to no words); the parent leaves it out.
type translator struct {
	x       *Index
	relaxed []string
}

func (t *translator) node(n federate.Node) (query.Query, error) {
	switch n := n.(type) {
	case *federate.Term:
		return t.term(n), nil
	case *federate.YearRange:
		return yearRange(n.From, n.To), nil
	case *federate.And:
		var must, mustNot []query.Query
		for _, c := range n.Children {
			if not, ok := c.(*federate.Not); ok {
				q, err := t.node(not.Child)
				if err != nil {
					return nil, err
				}
				if q != nil {
					mustNot = append(mustNot, q)
				}
				continue
			}
			q, err := t.node(c)
			if err != nil {
				return nil, err
			}
			if q != nil {
				must = append(must, q)
			}
		}
		return combine(must, mustNot), nil
	case *federate.Or:
		var any []query.Query
		for _, c := range n.Children {
			q, err := t.node(c)
			if err != nil {
				return nil, err
			}
			if q != nil {
				any = append(any, q)
			}
		}
		switch len(any) {
		case 0:
			return nil, nil
		case 1:
			return any[0], nil
		}
		d := bleve.NewDisjunctionQuery(any...)
		d.SetMin(1)
		return d, nil
	case *federate.Not:
		// Only under And in a parsed query; alone it means "everything
		// but", which bleve answers for a boolean query with only must-not.
		q, err := t.node(n.Child)
		if err != nil || q == nil {
			return nil, err
		}
		return combine(nil, []query.Query{q}), nil
	case nil:
		return nil, fmt.Errorf("empty query node")
	default:
		return nil, fmt.Errorf("unsupported query node %T", n)
	}
}

// combine builds "all of must and none of mustNot".
func combine(must, mustNot []query.Query) query.Query {
	if len(mustNot) == 0 {
		switch len(must) {
		case 0:
			return nil
		case 1:
			return must[0]
		}
		return bleve.NewConjunctionQuery(must...)
	}
	b := bleve.NewBooleanQuery()
	switch len(must) {
	case 0:
	case 1:
		b.AddMust(must[0])
	default:
		b.AddMust(bleve.NewConjunctionQuery(must...))
	}
	b.AddMustNot(mustNot...)
	return b
}

func (t *translator) term(n *federate.Term) query.Query {
	switch n.Field {
	case federate.FieldAny:
		return t.anyField(n)
	case federate.FieldTitle:
		return t.text(n, fTitle, 1)
	case federate.FieldAuthor:
		return t.text(n, fAuthors, 1)
	case federate.FieldSubject:
		return t.text(n, fSubjects, 1)
	case federate.FieldISBN:
		isbn, ok := federate.NormalizeISBN(n.Text)
		if !ok {
			t.relax(fmt.Sprintf("isbn:%s is not a valid ISBN", n.Text))
			return bleve.NewMatchNoneQuery()
		}
		return keywordQuery(fISBN, isbn)
	case federate.FieldISSN:
		issn, ok := federate.NormalizeISSN(n.Text)
		if !ok {
			t.relax(fmt.Sprintf("issn:%s is not a valid ISSN", n.Text))
			return bleve.NewMatchNoneQuery()
		}
		return keywordQuery(fISSN, issn)
	case federate.FieldYear:
		y, err := strconv.Atoi(strings.TrimSpace(n.Text))
		if err != nil {
			t.relax(fmt.Sprintf("year:%s is not a year", n.Text))
			return bleve.NewMatchNoneQuery()
		}
		return yearRange(y, y)
	default:
		t.relax(fmt.Sprintf("%s: searched as keywords", n.Field))
		return t.anyField(&federate.Term{Text: n.Text, Phrase: n.Phrase})
	}
}

// anyField searches a keyword over every text field, and over the ISBN and
// ISSN fields too when the word is a valid identifier (people paste them).
func (t *translator) anyField(n *federate.Term) query.Query {
	if !t.hasWords(n.Text) {
		t.relax(fmt.Sprintf("%q has no searchable words and was left out", n.Text))
		return nil
	}
	qs := make([]query.Query, 0, len(anyFields)+1)
	for _, f := range anyFields {
		qs = append(qs, matchQuery(n, f.name, f.boost))
	}
	if !n.Phrase {
		if isbn, ok := federate.NormalizeISBN(n.Text); ok && looksLikeISBN(n.Text) {
			qs = append(qs, keywordQuery(fISBN, isbn))
		}
		if issn, ok := federate.NormalizeISSN(n.Text); ok {
			qs = append(qs, keywordQuery(fISSN, issn))
		}
	}
	d := bleve.NewDisjunctionQuery(qs...)
	d.SetMin(1)
	return d
}

// looksLikeISBN keeps a plain number (a year, a page count) from being taken
// for an ISBN just because it happens to have a valid check digit: only 10-
// or 13-character spellings qualify.
func looksLikeISBN(s string) bool {
	n := 0
	for _, r := range s {
		if (r >= '0' && r <= '9') || r == 'X' || r == 'x' {
			n++
		}
	}
	return n == 10 || n == 13
}

func (t *translator) text(n *federate.Term, field string, boost float64) query.Query {
	if !t.hasWords(n.Text) {
		t.relax(fmt.Sprintf("%s:%q has no searchable words and was left out", n.Field, n.Text))
		return nil
	}
	return matchQuery(n, field, boost)
}

func matchQuery(n *federate.Term, field string, boost float64) query.Query {
	if n.Phrase {
		q := bleve.NewMatchPhraseQuery(n.Text)
		q.SetField(field)
		q.SetBoost(boost)
		return q
	}
	// A word may still analyse to several tokens ("e-book", "García-Márquez"):
	// all of them must be there.
	q := bleve.NewMatchQuery(n.Text)
	q.SetField(field)
	q.SetBoost(boost)
	q.SetOperator(query.MatchQueryOperatorAnd)
	return q
}

func keywordQuery(field, value string) query.Query {
	q := bleve.NewTermQuery(value)
	q.SetField(field)
	return q
}

// yearRange is from..to inclusive; 0 leaves that end open. Records of
// unknown year have no year field and never match.
func yearRange(from, to int) query.Query {
	var lo, hi *float64
	if from != 0 {
		f := float64(from)
		lo = &f
	}
	if to != 0 {
		f := float64(to)
		hi = &f
	}
	if lo == nil && hi == nil { // "any known year"
		f := float64(math.MinInt32)
		lo = &f
	}
	incl := true
	q := bleve.NewNumericRangeInclusiveQuery(lo, hi, &incl, &incl)
	q.SetField(fYear)
	return q
}

// hasWords reports whether text yields at least one token in the text
// fields' analyzer; a term that does not would match nothing and, under
// And, empty the whole answer.
func (t *translator) hasWords(text string) bool {
	a := t.x.idx.Mapping().AnalyzerNamed(textAnalyzer)
	if a == nil {
		return true
	}
	return len(a.Analyze([]byte(text))) > 0
}

func (t *translator) relax(s string) { t.relaxed = append(t.relaxed, s) }
