package index

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	bolt "go.etcd.io/bbolt"

	"github.com/commonshelf/commonshelf/federate"
)

// ListQuery is a search of the resource lists.
type ListQuery struct {
	// Text is the query in the list search syntax (see ParseListQuery):
	// words, "phrases", AND/OR/NOT, and the fields title:, author:,
	// subject:/tag:, isbn:, issn:, doi:, year: (the citations'), course:,
	// code:, instructor:, department: and list:. "" matches every list
	// the other parts allow.
	Text string
	// Institution limits the search to one institution's lists; "" searches
	// the whole consortium.
	Institution string
	// Filters keep lists having any of the values of each facet named (see
	// FacetNames); different facets must all hold.
	Filters map[string][]string
	// Offset and Limit choose the page of lists: Limit 0 means 20; Limit
	// may be at most MaxLimit and Offset+Limit at most MaxWindow.
	Offset, Limit int
	// IncludePrivateOf is an institution id whose own lists are searched
	// whatever their status and visibility, drafts included: the caller
	// manages that institution's lists (an admin or instructor key). ""
	// searches no drafts.
	IncludePrivateOf string
	// MemberOf is an institution id whose published lists are searched
	// whatever their visibility: the caller belongs to it (a student key,
	// say), and sees what its members see, but no drafts. "" searches
	// published public lists only (plus IncludePrivateOf's).
	MemberOf string
}

// Paging limits.
const (
	DefaultLimit = 20
	MaxLimit     = 100
	MaxWindow    = 1000
)

// FacetNames are the facets of ListResults and the keys of
// ListQuery.Filters: the owning institution, the course's department, term
// and year, and the types and importances of the list's citations.
var FacetNames = []string{"institution", "department", "term", "year", "citation_type", "importance"}

// maxFacetValues caps the values listed per facet; maxCitationsPerHit caps
// the matching citations shown per list.
const (
	maxFacetValues     = 30
	maxCitationsPerHit = 10
)

// ListResults is one page of lists matching a ListQuery, best first.
type ListResults struct {
	// Canonical is the query's canonical form ("" for an empty query).
	Canonical string `json:"canonical"`
	// Total is the number of matching lists.
	Total int       `json:"total"`
	Hits  []ListHit `json:"hits"`
	// Facets count matching lists (not citations) per value.
	Facets []federate.Facet `json:"facets"`
}

// ListHit is one matching list with the citations that matched.
type ListHit struct {
	List  ListSummary `json:"list"`
	Score float64     `json:"score"`
	// Citations are the list's citations that matched the query's words or
	// identifiers, in list order, at most 10; MoreCitations counts the rest.
	Citations     []CitationMatch `json:"citations,omitempty"`
	MoreCitations int             `json:"more_citations,omitempty"`
}

// ListSummary describes a list in search results.
type ListSummary struct {
	Institution string   `json:"institution"`
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Status      string   `json:"status"`
	Visibility  string   `json:"visibility"`
	Updated     string   `json:"updated,omitempty"`
	CourseCode  string   `json:"course_code"`
	CourseName  string   `json:"course_name"`
	Department  string   `json:"department,omitempty"`
	Term        string   `json:"term,omitempty"`
	Year        int      `json:"year,omitempty"`
	Instructors []string `json:"instructors,omitempty"`
	// Citations is the number of citations on the list.
	Citations int `json:"citations"`
}

// CitationMatch is a citation that matched, with its title and authors as
// HTML: escaped, the matched words wrapped in <mark>…</mark>.
type CitationMatch struct {
	ID          string   `json:"id"`
	Type        string   `json:"type"`
	Title       string   `json:"title"`
	Authors     []string `json:"authors,omitempty"`
	Importance  string   `json:"importance,omitempty"`
	TitleHTML   string   `json:"title_html"`
	AuthorsHTML []string `json:"authors_html,omitempty"`
}

// ErrInvalidQuery marks a caller's mistake in a ListQuery; the error is a
// *QueryError.
var ErrInvalidQuery = errors.New("invalid list query")

// QueryError says what is wrong with a ListQuery.
type QueryError struct {
	// Param names the part of the query: "text", "filters.<facet>",
	// "limit" or "offset".
	Param string
	// Pos is the 1-based column of the problem in Text (0 for others).
	Pos     int
	Message string
}

func (e *QueryError) Error() string {
	if e.Pos > 0 {
		return fmt.Sprintf("%s: column %d: %s", e.Param, e.Pos, e.Message)
	}
	return e.Param + ": " + e.Message
}

func (e *QueryError) Is(target error) bool { return target == ErrInvalidQuery }

// textField is a text field searched for a word, with its weight and
// whether it has a stemmed twin.
type textField struct {
	name  string
	stem  bool
	boost float64
}

// stemBoost weighs a match in a stemmed field against one in its plain
// twin: the exact word ranks first.
const stemBoost = 0.5

// Fields searched per query field; anyText for words without a field.
var (
	fieldsList       = []textField{{fName, true, 3}, {fDescription, true, 1}}
	fieldsCourse     = []textField{{fCourse, true, 2.5}, {fCodeText, false, 2}}
	fieldsInstructor = []textField{{fInstructors, false, 1.5}}
	fieldsDepartment = []textField{{fDepartment, true, 1}}
	fieldsTitle      = []textField{{fTitle, true, 2}, {fContainer, true, 1}}
	fieldsAuthor     = []textField{{fAuthors, false, 1.5}}
	fieldsTag        = []textField{{fTags, true, 1}}
	anyText          = concat(fieldsList, fieldsCourse, fieldsInstructor, fieldsDepartment,
		[]textField{{fCampus, false, 0.5}, {fTermText, false, 0.5}}, fieldsTitle, fieldsAuthor, fieldsTag)
)

func concat(parts ...[]textField) []textField {
	var out []textField
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Search finds the lists matching q that the caller may see, best first,
// with facets. It waits for a free search slot no longer than ctx allows.
// A mistake in q is a *QueryError (ErrInvalidQuery).
func (s *Store) Search(ctx context.Context, q ListQuery) (*ListResults, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	req, text, canonical, err := s.request(q)
	if err != nil {
		return nil, err
	}
	res := &ListResults{Canonical: canonical, Hits: []ListHit{}, Facets: []federate.Facet{}}
	if req == nil { // the query cannot match anything
		for _, name := range FacetNames {
			res.Facets = append(res.Facets, federate.Facet{Name: name, Values: []federate.FacetValue{}})
		}
		return res, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("search lists: %w", err)
	}
	sr, locs, err := s.runInSlot(ctx, req, text)
	if err != nil {
		return nil, fmt.Errorf("search lists %q: %w", q.Text, err)
	}
	res.Total = int(sr.Total)
	res.Facets = facets(sr)
	hits, err := s.hits(sr.Hits, locs)
	if err != nil {
		return nil, fmt.Errorf("search lists %q: %w", q.Text, err)
	}
	res.Hits = hits
	return res, nil
}

// request builds the bleve request for q; nil when q cannot match.
func (s *Store) request(q ListQuery) (*bleve.SearchRequest, query.Query, string, error) {
	limit := q.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return nil, nil, "", &QueryError{Param: "limit", Message: fmt.Sprintf("must be from 1 to %d", MaxLimit)}
	}
	if q.Offset < 0 {
		return nil, nil, "", &QueryError{Param: "offset", Message: "must not be negative"}
	}
	if q.Offset > MaxWindow-limit { // not q.Offset+limit: that overflows
		return nil, nil, "", &QueryError{Param: "offset", Message: fmt.Sprintf("offset+limit may be at most %d; narrow the search instead", MaxWindow)}
	}

	var text query.Query // nil: every list
	canonical := ""
	if strings.TrimSpace(q.Text) != "" {
		parsed, err := ParseListQuery(q.Text)
		if err != nil {
			var qe *federate.QueryError
			if errors.As(err, &qe) {
				return nil, nil, "", &QueryError{Param: "text", Pos: qe.Pos, Message: qe.Message}
			}
			return nil, nil, "", &QueryError{Param: "text", Message: err.Error()}
		}
		canonical = parsed.Canonical()
		t := translator{s: s}
		text, err = t.node(parsed.Root)
		if err != nil {
			return nil, nil, "", err
		}
		if text == nil { // nothing searchable: no words, only punctuation
			return nil, nil, canonical, nil
		}
	}

	// What the caller may see: published public lists, the published lists
	// of MemberOf, and everything of IncludePrivateOf's.
	var visible query.Query = conj(filterTerm(fStatus, StatusPublished), filterTerm(fVisibility, VisibilityPublic))
	if q.MemberOf != "" {
		visible = disj(visible, conj(filterTerm(fStatus, StatusPublished), filterTerm(fInstitution, q.MemberOf)))
	}
	if q.IncludePrivateOf != "" {
		visible = disj(visible, filterTerm(fInstitution, q.IncludePrivateOf))
	}
	// Without text every list scores the same; MatchAll gives that score
	// (filters alone, weighing nothing, would score NaN).
	var parts []query.Query
	if text != nil {
		parts = append(parts, text, visible)
	} else {
		parts = append(parts, bleve.NewMatchAllQuery(), visible)
	}
	if q.Institution != "" {
		parts = append(parts, filterTerm(fInstitution, q.Institution))
	}
	names := make([]string, 0, len(q.Filters))
	for name := range q.Filters {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		field := facetField(name)
		if field == "" {
			return nil, nil, "", &QueryError{Param: "filters." + name, Message: "is not a facet; use " + strings.Join(FacetNames, ", ")}
		}
		var any []query.Query
		for _, v := range q.Filters[name] {
			if v = strings.TrimSpace(v); v != "" {
				any = append(any, filterTerm(field, v))
			}
		}
		if len(any) == 0 {
			return nil, nil, "", &QueryError{Param: "filters." + name, Message: "needs at least one value"}
		}
		parts = append(parts, disj(any...))
	}

	req := bleve.NewSearchRequestOptions(conj(parts...), limit, q.Offset, false)
	req.SortBy([]string{"-_score", "_id"})
	for _, f := range facetFields {
		req.AddFacet(f.name, bleve.NewFacetRequest(f.field, maxFacetValues))
	}
	return req, text, canonical, nil
}

// ErrBusy is a list search that found every search slot taken for
// MaxSlotWait: the caller should try again shortly.
var ErrBusy = errors.New("every list search slot stayed taken")

// MaxSlotWait is how long a list search waits for a search slot (one per
// core) before it gives up with ErrBusy: a short queue smooths bursts, a
// long one would only make every search slow.
const MaxSlotWait = time.Second

// runInSlot runs req in a search slot, waiting for one no longer than
// MaxSlotWait or ctx allow; the slot is released however run ends, panics
// included.
func (s *Store) runInSlot(ctx context.Context, req *bleve.SearchRequest, text query.Query) (*bleve.SearchResult, map[string]*search.DocumentMatch, error) {
	wctx, cancel := context.WithTimeout(ctx, MaxSlotWait)
	err := s.sem.Acquire(wctx, 1)
	cancel()
	if err != nil {
		if ctx.Err() == nil { // the wait ran out, not the caller's time
			return nil, nil, fmt.Errorf("search lists: %w for %s", ErrBusy, MaxSlotWait)
		}
		return nil, nil, fmt.Errorf("search lists: waiting for a slot: %w", err)
	}
	defer s.sem.Release(1)
	return s.run(ctx, req, text)
}

// run answers req, then finds where text matched in the page's lists:
// asking for match locations in the first search would decode them for
// every matching list, not only the page's.
func (s *Store) run(ctx context.Context, req *bleve.SearchRequest, text query.Query) (*bleve.SearchResult, map[string]*search.DocumentMatch, error) {
	sr, err := s.idx.SearchInContext(ctx, req)
	if err != nil || text == nil || len(sr.Hits) == 0 {
		return sr, nil, err
	}
	ids := make([]string, len(sr.Hits))
	for i, h := range sr.Hits {
		ids[i] = h.ID
	}
	lreq := bleve.NewSearchRequestOptions(conj(bleve.NewDocIDQuery(ids), text), len(ids), 0, false)
	lreq.IncludeLocations = true
	lreq.Fields = []string{fSeq}
	lreq.Score = "none"
	lr, err := s.idx.SearchInContext(ctx, lreq)
	if err != nil {
		return nil, nil, err
	}
	locs := make(map[string]*search.DocumentMatch, len(lr.Hits))
	for _, h := range lr.Hits {
		locs[h.ID] = h
	}
	return sr, locs, nil
}

func facetField(name string) string {
	for _, f := range facetFields {
		if f.name == name {
			return f.field
		}
	}
	return ""
}

// filterTerm matches a keyword exactly without adding to the score.
func filterTerm(field, value string) query.Query {
	q := bleve.NewTermQuery(value)
	q.SetField(field)
	q.SetBoost(0)
	return q
}

func conj(qs ...query.Query) query.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	return bleve.NewConjunctionQuery(qs...)
}

func disj(qs ...query.Query) query.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	d := bleve.NewDisjunctionQuery(qs...)
	d.SetMin(1)
	return d
}

// translator turns the query AST into bleve queries. A nil query means
// "nothing to search for" (a term without words): its parent leaves it out.
type translator struct{ s *Store }

func (t *translator) node(n federate.Node) (query.Query, error) {
	switch n := n.(type) {
	case *federate.Term:
		return t.term(n)
	case *federate.YearRange:
		return yearRange(n.From, n.To), nil
	case *federate.And:
		var must, mustNot []query.Query
		for _, c := range n.Children {
			neg := false
			if not, ok := c.(*federate.Not); ok {
				c, neg = not.Child, true
			}
			q, err := t.node(c)
			if err != nil {
				return nil, err
			}
			switch {
			case q == nil:
			case neg:
				mustNot = append(mustNot, q)
			default:
				must = append(must, q)
			}
		}
		if len(must) == 0 {
			return nil, nil
		}
		if len(mustNot) == 0 {
			return conj(must...), nil
		}
		b := bleve.NewBooleanQuery()
		b.AddMust(conj(must...))
		b.AddMustNot(mustNot...)
		return b, nil
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
		if len(any) == 0 {
			return nil, nil
		}
		return disj(any...), nil
	case *federate.Not: // only under And in a parsed query
		return nil, nil
	}
	return nil, fmt.Errorf("unsupported query node %T", n)
}

func (t *translator) term(n *federate.Term) (query.Query, error) {
	switch n.Field {
	case federate.FieldAny:
		return t.anyField(n), nil
	case federate.FieldTitle:
		return t.text(n, fieldsTitle), nil
	case federate.FieldAuthor:
		return t.text(n, fieldsAuthor), nil
	case federate.FieldSubject, FieldTag:
		return t.text(n, fieldsTag), nil
	case FieldList:
		return t.text(n, fieldsList), nil
	case FieldInstructor:
		return t.text(n, fieldsInstructor), nil
	case FieldDepartment:
		return t.text(n, fieldsDepartment), nil
	case FieldCourse:
		q := t.text(n, fieldsCourse)
		if code := normaliseCode(n.Text); q != nil && code != "" {
			q = disj(q, boosted(kwQuery(fCode, code), 3))
		}
		return q, nil
	case FieldCode:
		code := normaliseCode(n.Text)
		if code == "" {
			return nil, nil
		}
		q := boosted(kwQuery(fCode, code), 3)
		if words := t.text(&federate.Term{Text: n.Text, Phrase: true}, []textField{{fCodeText, false, 1}}); words != nil {
			q = disj(q, words)
		}
		return q, nil
	case federate.FieldISBN:
		v, ok := federate.NormalizeISBN(n.Text)
		if !ok {
			return nil, &QueryError{Param: "text", Message: fmt.Sprintf("isbn:%s is not a valid ISBN-10 or ISBN-13", n.Text)}
		}
		return kwQuery(fISBN, v), nil
	case federate.FieldISSN:
		v, ok := federate.NormalizeISSN(n.Text)
		if !ok {
			return nil, &QueryError{Param: "text", Message: fmt.Sprintf("issn:%s is not a valid ISSN", n.Text)}
		}
		return kwQuery(fISSN, v), nil
	case FieldDOI:
		v, ok := federate.NormalizeDOI(n.Text)
		if !ok {
			return nil, &QueryError{Param: "text", Message: fmt.Sprintf("doi:%s is not a DOI (10.…/…)", n.Text)}
		}
		return kwQuery(fDOI, v), nil
	case federate.FieldYear:
		y, err := strconv.Atoi(strings.TrimSpace(n.Text))
		if err != nil {
			return nil, &QueryError{Param: "text", Message: fmt.Sprintf("year:%s is not a year", n.Text)}
		}
		return yearRange(y, y), nil
	}
	return nil, &QueryError{Param: "text", Message: fmt.Sprintf("unknown field %q", n.Field)}
}

// anyField searches a word in every text field, and as an identifier or a
// course code when it looks like one.
func (t *translator) anyField(n *federate.Term) query.Query {
	q := t.text(n, anyText)
	if q == nil || n.Phrase {
		return q
	}
	qs := []query.Query{q}
	if code := normaliseCode(n.Text); code != "" && hasDigit(code) {
		qs = append(qs, boosted(kwQuery(fCode, code), 3))
	}
	if v, ok := federate.NormalizeISBN(n.Text); ok && looksLikeISBN(n.Text) {
		qs = append(qs, kwQuery(fISBN, v))
	}
	if v, ok := federate.NormalizeISSN(n.Text); ok {
		qs = append(qs, kwQuery(fISSN, v))
	}
	if v, ok := federate.NormalizeDOI(n.Text); ok {
		qs = append(qs, kwQuery(fDOI, v))
	}
	return disj(qs...)
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

// looksLikeISBN keeps a number that merely has a valid check digit from
// being taken for an ISBN: only 10- or 13-digit spellings qualify.
func looksLikeISBN(s string) bool {
	n := 0
	for _, r := range s {
		if (r >= '0' && r <= '9') || r == 'X' || r == 'x' {
			n++
		}
	}
	return n == 10 || n == 13
}

// text matches n in fields: the folded words as typed, and for a word (not
// a phrase) also its stem in every language in use.
func (t *translator) text(n *federate.Term, fields []textField) query.Query {
	if !t.hasWords(n.Text) {
		return nil
	}
	var qs []query.Query
	for _, f := range fields {
		qs = append(qs, match(n, f.name, plainAnalyzer, f.boost))
		if f.stem && !n.Phrase {
			for _, lang := range t.s.stemLangs {
				qs = append(qs, match(n, f.name+stemSuffix, stemAnalyzer(lang), f.boost*stemBoost))
			}
		}
	}
	return disj(qs...)
}

func match(n *federate.Term, field, analyzer string, boost float64) query.Query {
	if n.Phrase {
		q := bleve.NewMatchPhraseQuery(n.Text)
		q.SetField(field)
		q.Analyzer = analyzer
		q.SetBoost(boost)
		return q
	}
	// One typed word may analyse to several tokens ("Lévi-Strauss"): all
	// of them must be there.
	q := bleve.NewMatchQuery(n.Text)
	q.SetField(field)
	q.Analyzer = analyzer
	q.SetBoost(boost)
	q.SetOperator(query.MatchQueryOperatorAnd)
	return q
}

func (t *translator) hasWords(text string) bool {
	a := t.s.idx.Mapping().AnalyzerNamed(plainAnalyzer)
	return a == nil || len(a.Analyze([]byte(text))) > 0
}

func kwQuery(field, value string) query.Query {
	q := bleve.NewTermQuery(value)
	q.SetField(field)
	return q
}

func boosted(q query.Query, b float64) query.Query {
	if bq, ok := q.(query.BoostableQuery); ok {
		bq.SetBoost(b)
	}
	return q
}

// yearRange is from..to inclusive over the citations' years; 0 leaves an
// end open.
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
	if lo == nil && hi == nil {
		f := float64(math.MinInt32)
		lo = &f
	}
	incl := true
	q := bleve.NewNumericRangeInclusiveQuery(lo, hi, &incl, &incl)
	q.SetField(fCitYear)
	return q
}

func facets(sr *bleve.SearchResult) []federate.Facet {
	out := make([]federate.Facet, 0, len(facetFields))
	for _, f := range facetFields {
		fc := federate.Facet{Name: f.name, Values: []federate.FacetValue{}}
		if fr, ok := sr.Facets[f.name]; ok && fr.Terms != nil {
			for _, t := range fr.Terms.Terms() {
				fc.Values = append(fc.Values, federate.FacetValue{Value: t.Term, Count: t.Count})
			}
		}
		sort.SliceStable(fc.Values, func(i, j int) bool {
			a, b := fc.Values[i], fc.Values[j]
			if a.Count != b.Count {
				return a.Count > b.Count
			}
			return a.Value < b.Value
		})
		out = append(out, fc)
	}
	return out
}

// hits reads the page's lists from the database (the source of truth: a
// list deleted since the index answered is left out) and finds their
// matching citations from the match locations. Only the summary and the
// matching citations are decoded, not whole lists.
func (s *Store) hits(dms search.DocumentMatchCollection, locs map[string]*search.DocumentMatch) ([]ListHit, error) {
	out := make([]ListHit, 0, len(dms))
	err := s.db.View(func(tx *bolt.Tx) error {
		lists := tx.Bucket(bucketLists)
		for _, dm := range dms {
			v := lists.Get([]byte(dm.ID))
			if v == nil || len(v) < 8 {
				continue
			}
			var l hitView
			if err := json.Unmarshal(v[8:], &l); err != nil {
				return fmt.Errorf("list %s: %w", dm.ID, err)
			}
			h := ListHit{List: l.summary(), Score: dm.Score}
			if math.IsNaN(h.Score) || math.IsInf(h.Score, 0) {
				h.Score = 0 // JSON has no NaN
			}
			// Locations index the citations as they were indexed; a list
			// rewritten since then cannot be highlighted.
			seq := strconv.FormatUint(binary.BigEndian.Uint64(v), 10)
			if lm := locs[dm.ID]; lm != nil {
				if stored, _ := lm.Fields[fSeq].(string); stored == seq {
					h.Citations, h.MoreCitations = matchedCitations(&l, lm.Locations)
				}
			}
			out = append(out, h)
		}
		return nil
	})
	return out, err
}

// hitView is the part of a stored list a search result shows; citations
// stay undecoded until one is known to match.
type hitView struct {
	Institution string `json:"institution"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	Status      string `json:"status"`
	Visibility  string `json:"visibility"`
	Updated     string `json:"updated"`
	Course      Course `json:"course"`
	Sections    []struct {
		Citations []json.RawMessage `json:"citations"`
	} `json:"sections"`
}

func (l *hitView) summary() ListSummary {
	n := 0
	for _, s := range l.Sections {
		n += len(s.Citations)
	}
	return ListSummary{
		Institution: l.Institution, ID: l.ID, Name: l.Name, Status: l.Status, Visibility: l.Visibility,
		Updated: l.Updated, CourseCode: l.Course.Code, CourseName: l.Course.Name,
		Department: l.Course.Department, Term: l.Course.Term, Year: l.Course.Year,
		Instructors: l.Course.Instructors, Citations: n,
	}
}

// citation decodes the ci'th citation of the list (sections flattened).
func (l *hitView) citation(ci int) (*Citation, bool) {
	for _, s := range l.Sections {
		if ci < len(s.Citations) {
			var c Citation
			if json.Unmarshal(s.Citations[ci], &c) != nil {
				return nil, false
			}
			return &c, true
		}
		ci -= len(s.Citations)
	}
	return nil, false
}

// span is a matched byte range of a field value.
type span struct{ start, end int }

// citationSpans are the matched ranges of one citation's title and authors.
type citationSpans struct {
	title   []span
	authors map[int][]span
}

// citationFields are the index fields whose matches name a citation.
var citationFields = map[string]bool{
	fTitle: true, fTitle + stemSuffix: true, fContainer: true, fContainer + stemSuffix: true,
	fAuthors: true, fTags: true, fTags + stemSuffix: true, fISBN: true, fISSN: true, fDOI: true,
}

func matchedCitations(l *hitView, locs search.FieldTermLocationMap) ([]CitationMatch, int) {
	matched := map[int]*citationSpans{}
	for field, terms := range locs {
		if !citationFields[field] {
			continue
		}
		for _, ls := range terms {
			for _, loc := range ls {
				if len(loc.ArrayPositions) == 0 {
					continue
				}
				ci := int(loc.ArrayPositions[0])
				cs := matched[ci]
				if cs == nil {
					cs = &citationSpans{}
					matched[ci] = cs
				}
				sp := span{int(loc.Start), int(loc.End)}
				switch field {
				case fTitle, fTitle + stemSuffix:
					cs.title = append(cs.title, sp)
				case fAuthors:
					if len(loc.ArrayPositions) > 1 {
						if cs.authors == nil {
							cs.authors = map[int][]span{}
						}
						ai := int(loc.ArrayPositions[1])
						cs.authors[ai] = append(cs.authors[ai], sp)
					}
				}
			}
		}
	}
	if len(matched) == 0 {
		return nil, 0
	}
	order := make([]int, 0, len(matched))
	for ci := range matched {
		order = append(order, ci)
	}
	sort.Ints(order)
	more := 0
	if len(order) > maxCitationsPerHit {
		more = len(order) - maxCitationsPerHit
		order = order[:maxCitationsPerHit]
	}
	out := make([]CitationMatch, 0, len(order))
	for _, ci := range order {
		c, ok := l.citation(ci)
		if !ok {
			continue
		}
		cs := matched[ci]
		m := CitationMatch{ID: c.ID, Type: c.Type, Title: c.Title, Authors: c.Authors, Importance: c.Importance,
			TitleHTML: markHTML(c.Title, cs.title)}
		if len(c.Authors) > 0 {
			m.AuthorsHTML = make([]string, len(c.Authors))
			for ai, a := range c.Authors {
				m.AuthorsHTML[ai] = markHTML(a, cs.authors[ai])
			}
		}
		out = append(out, m)
	}
	return out, more
}

// markHTML escapes s for HTML and wraps the given byte ranges of it in
// <mark>. Ranges out of bounds or not on character boundaries are ignored;
// overlapping ones are merged.
func markHTML(s string, spans []span) string {
	valid := spans[:0:0]
	for _, sp := range spans {
		if sp.start >= 0 && sp.start < sp.end && sp.end <= len(s) && boundary(s, sp.start) && boundary(s, sp.end) {
			valid = append(valid, sp)
		}
	}
	if len(valid) == 0 {
		return html.EscapeString(s)
	}
	sort.Slice(valid, func(i, j int) bool { return valid[i].start < valid[j].start })
	var b strings.Builder
	pos := 0
	for i := 0; i < len(valid); {
		cur := valid[i]
		for i++; i < len(valid) && valid[i].start <= cur.end; i++ {
			cur.end = max(cur.end, valid[i].end)
		}
		b.WriteString(html.EscapeString(s[pos:cur.start]))
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(s[cur.start:cur.end]))
		b.WriteString("</mark>")
		pos = cur.end
	}
	b.WriteString(html.EscapeString(s[pos:]))
	return b.String()
}

func boundary(s string, i int) bool {
	return i == len(s) || (s[i]&0xC0) != 0x80
}
