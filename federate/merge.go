package federate

import (
	"slices"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Holding is one member's record of a work.
type Holding struct {
	Member   string `json:"member"`
	RecordID string `json:"record_id"`
	// Title is the title as this member catalogued it.
	Title string `json:"title"`
	// Rank is the record's position in the member's own answer.
	Rank  int    `json:"rank"`
	Links []Link `json:"links,omitempty"`
}

// Result is one work in a merged answer: the records of every member that
// holds it, with the fullest record's description.
type Result struct {
	// ID identifies the work across searches: its strongest identifier
	// ("isbn:9780439023481") or, without one, a member record.
	ID          string      `json:"id"`
	Title       string      `json:"title"`
	Authors     []string    `json:"authors,omitempty"`
	Year        int         `json:"year,omitempty"`
	Publisher   string      `json:"publisher,omitempty"`
	Edition     string      `json:"edition,omitempty"`
	Format      string      `json:"format,omitempty"`
	Language    string      `json:"language,omitempty"`
	Subjects    []string    `json:"subjects,omitempty"`
	Series      string      `json:"series,omitempty"`
	Identifiers Identifiers `json:"identifiers"`
	// Holdings lists every member record of the work: the home
	// institution's first, then in member order. None is ever dropped.
	Holdings []Holding `json:"holdings"`
	// MergedBy says why the records were joined (empty for one record).
	MergedBy []string `json:"merged_by,omitempty"`
	Score    float64  `json:"score"`
	Explain  *Explain `json:"explain,omitempty"`
	// Lists are the published course resource lists that cite the work;
	// Courses counts the distinct courses among them.
	Lists   []CourseUse `json:"lists,omitempty"`
	Courses int         `json:"courses,omitempty"`

	records []*Record // the member records, for ranking and facets
	workKey string    // WorkKey of the describing record, for course lookups
}

// Merge clusters the records of all pages into works. A shared strong
// identifier (ISBN, ISSN, OCLC number, LCCN, DOI) joins records; without one,
// records join when their normalised title, first author's surname and year
// agree. Records whose formats conflict, or (for title joins) whose years
// conflict, never join. order gives the holdings' display order by member id.
func Merge(pages []Page, order map[string]int) []*Result {
	var recs []*Record
	for pi := range pages {
		for ri := range pages[pi].Records {
			r := pages[pi].Records[ri] // copy: the page may be shared (cached)
			r.Normalize()
			recs = append(recs, &r)
		}
	}
	uf := newClusters(recs)

	// Strong identifiers. Each key remembers every cluster it started, so
	// that a veto against one does not stop a join with another.
	seen := make(map[string][]int)
	for i, r := range recs {
		for _, key := range strongKeys(r) {
			uf.joinAny(seen, key, i, "shared "+strings.Replace(key, ":", " ", 1), false)
		}
	}
	// Title, first author and year.
	byTitle := make(map[string][]int)
	for i, r := range recs {
		if key := WorkKey(r); key != "" {
			uf.joinAny(byTitle, key, i, "same title, first author and year", true)
		}
	}
	return uf.results(order)
}

// strongKeys returns "kind:value" for each identifier that on its own
// identifies a work. An article's ISSN is its journal's, not its own.
func strongKeys(r *Record) []string {
	var keys []string
	add := func(kind string, vals []string) {
		for _, v := range vals {
			keys = append(keys, kind+":"+v)
		}
	}
	add("isbn", r.Identifiers.ISBN)
	if r.Format != FormatArticle {
		add("issn", r.Identifiers.ISSN)
	}
	add("oclc", r.Identifiers.OCLC)
	add("lccn", r.Identifiers.LCCN)
	add("doi", r.Identifiers.DOI)
	return keys
}

// WorkKey is the normalised title, first author surname and year of a
// record, joined with "|", or "" if any of them is missing.
func WorkKey(r *Record) string {
	if r.Year == 0 || len(r.Authors) == 0 {
		return ""
	}
	t := NormalizeTitle(r.Title)
	s := Surname(r.Authors[0])
	if t == "" || s == "" {
		return ""
	}
	return t + "|" + s + "|" + itoa(r.Year)
}

var leadingArticles = map[string]bool{
	"the": true, "a": true, "an": true, "le": true, "la": true, "les": true, "l": true,
	"der": true, "die": true, "das": true, "el": true, "los": true, "las": true, "il": true,
}

// noiseSubtitles are subtitles that say what kind of book it is rather than
// which work: "Dune : a novel" is Dune.
var noiseSubtitles = map[string]bool{
	"a novel": true, "novel": true, "a memoir": true, "a romance": true, "a tale": true, "a story": true,
	"a play": true, "a thriller": true, "a mystery": true, "a biography": true, "roman": true, "a novella": true,
	"stories": true, "poems": true, "a history": true, "a comedy": true, "a tragedy": true,
}

// NormalizeTitle reduces a title to what identifies the work: lower case,
// without diacritics or punctuation, without a leading article, a trailing
// series note in brackets ("(The Hunger Games, #1)"), a statement of
// responsibility (after " / ") or a subtitle that only names the genre
// ("a novel"). Other subtitles stay: "The Lord of the Rings : The Two
// Towers" is not "The Lord of the Rings : The Fellowship of the Ring".
func NormalizeTitle(t string) string {
	t = strings.TrimSpace(t)
	for { // trailing "(...)" or "[...]" series and edition notes
		t = strings.TrimSpace(t)
		if n := len(t); n > 0 && (t[n-1] == ')' || t[n-1] == ']') {
			open := strings.LastIndexAny(t, "([")
			if open > 0 {
				t = t[:open]
				continue
			}
		}
		break
	}
	if i := strings.Index(t, ":"); i > 0 {
		sub := strings.ToLower(strings.Trim(strings.TrimSpace(t[i+1:]), " ./;"))
		if sub == "" || noiseSubtitles[sub] {
			t = t[:i]
		}
	}
	return fullTitle(t)
}

// fullTitle normalises a title like NormalizeTitle but keeps its subtitle:
// what must match for a query to be "the title, exactly".
func fullTitle(t string) string {
	t = strings.TrimSpace(t)
	for {
		if n := len(t); n > 0 && (t[n-1] == ')' || t[n-1] == ']') {
			if open := strings.LastIndexAny(t, "(["); open > 0 {
				t = strings.TrimSpace(t[:open])
				continue
			}
		}
		break
	}
	if i := strings.Index(t, " / "); i > 0 {
		t = t[:i]
	}
	words := Tokens(t)
	if len(words) > 1 && leadingArticles[words[0]] {
		words = words[1:]
	}
	return strings.Join(words, " ")
}

// Surname returns the normalised surname of a name written either
// "Surname, Forenames" or "Forenames Surname".
func Surname(name string) string {
	name = strings.TrimSpace(name)
	if i := strings.Index(name, ","); i > 0 {
		toks := Tokens(name[:i])
		if len(toks) > 0 {
			return toks[len(toks)-1]
		}
		return ""
	}
	toks := Tokens(name)
	for len(toks) > 1 && (toks[len(toks)-1] == "jr" || toks[len(toks)-1] == "sr" || isDigits(toks[len(toks)-1])) {
		toks = toks[:len(toks)-1]
	}
	if len(toks) == 0 {
		return ""
	}
	return toks[len(toks)-1]
}

// Tokens splits s into lower-case words without diacritics; anything that
// is not a letter or a digit separates words, except an apostrophe, which
// is dropped ("Philosopher's" → "philosophers").
func Tokens(s string) []string {
	if isASCII(s) {
		return asciiTokens(s)
	}
	s = norm.NFD.String(s)
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
	}
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r), r == '\'', r == '\u2019':
			// combining marks and apostrophes vanish
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		default:
			flush()
		}
	}
	flush()
	return out
}

// asciiTokens is Tokens for ASCII text, without per-letter building.
func asciiTokens(s string) []string {
	lower := strings.ToLower(s)
	out := make([]string, 0, 8)
	start, apostrophe := -1, false
	for i := 0; i <= len(lower); i++ {
		if i < len(lower) {
			c := lower[i]
			if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'' {
				if start < 0 {
					start = i
				}
				apostrophe = apostrophe || c == '\''
				continue
			}
		}
		if start >= 0 {
			tok := lower[start:i]
			if apostrophe {
				tok = strings.ReplaceAll(tok, "'", "")
			}
			if tok != "" {
				out = append(out, tok)
			}
			start, apostrophe = -1, false
		}
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isDigits(s string) bool { return s != "" && allDigits(s) }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// clusters is a union-find over records that keeps, per root, what vetoes a
// join: the formats and years seen.
type clusters struct {
	recs    []*Record
	parent  []int
	formats [][]string
	years   [][]int
	titles  [][]string // normalised titles, for the identifier-join veto
	reasons [][]string
}

func newClusters(recs []*Record) *clusters {
	c := &clusters{
		recs:    recs,
		parent:  make([]int, len(recs)),
		formats: make([][]string, len(recs)),
		years:   make([][]int, len(recs)),
		titles:  make([][]string, len(recs)),
		reasons: make([][]string, len(recs)),
	}
	for i, r := range recs {
		c.parent[i] = i
		if r.Format != "" {
			c.formats[i] = []string{r.Format}
		}
		if r.Year != 0 {
			c.years[i] = []int{r.Year}
		}
		if t := NormalizeTitle(r.Title); t != "" {
			c.titles[i] = []string{t}
		}
	}
	return c
}

func (c *clusters) find(i int) int {
	for c.parent[i] != i {
		c.parent[i] = c.parent[c.parent[i]]
		i = c.parent[i]
	}
	return i
}

// join merges the clusters of records i and j unless a conflict vetoes it.
// checkYears applies the year veto (for joins without an identifier).
func (c *clusters) join(i, j int, reason string, checkYears bool) bool {
	a, b := c.find(i), c.find(j)
	if a == b {
		return true
	}
	if conflict(c.formats[a], c.formats[b]) {
		return false
	}
	if checkYears && conflictInt(c.years[a], c.years[b]) {
		return false
	}
	if !checkYears && !titlesCompatible(c.titles[a], c.titles[b]) {
		// A shared identifier on records of plainly different titles is a
		// set ISBN or a cataloguing slip, not one work.
		return false
	}
	if b < a {
		a, b = b, a
	}
	c.parent[b] = a
	c.formats[a] = unionStr(c.formats[a], c.formats[b])
	c.years[a] = unionInt(c.years[a], c.years[b])
	c.titles[a] = unionStr(c.titles[a], c.titles[b])
	c.reasons[a] = unionStr(unionStr(c.reasons[a], c.reasons[b]), []string{reason})
	return true
}

// joinAny joins record i with the clusters already holding key, and
// remembers i as a new cluster for the key when every join is vetoed.
func (c *clusters) joinAny(byKey map[string][]int, key string, i int, reason string, checkYears bool) {
	joined := false
	for _, j := range byKey[key] {
		if c.join(j, i, reason, checkYears) {
			joined = true
		}
	}
	if !joined {
		byKey[key] = append(byKey[key], i)
	}
}

// titlesCompatible reports whether two clusters' titles could name one
// work: some pair shares at least half its words (the smaller title's), or
// either side has no title.
func titlesCompatible(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	for _, x := range a {
		for _, y := range b {
			if wordOverlap(x, y) >= 0.5 {
				return true
			}
		}
	}
	return false
}

// wordOverlap is the share of the shorter title's distinct words found in
// the other.
func wordOverlap(x, y string) float64 {
	wx, wy := strings.Fields(x), strings.Fields(y)
	if len(wx) > len(wy) {
		wx, wy = wy, wx
	}
	set := make(map[string]bool, len(wy))
	for _, w := range wy {
		set[w] = true
	}
	shared, distinct := 0, map[string]bool{}
	for _, w := range wx {
		if distinct[w] {
			continue
		}
		distinct[w] = true
		if set[w] {
			shared++
		}
	}
	if len(distinct) == 0 {
		return 1
	}
	return float64(shared) / float64(len(distinct))
}

// conflict: both sides know their values and share none.
func conflict(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return false
			}
		}
	}
	return true
}

func conflictInt(a, b []int) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return false
			}
		}
	}
	return true
}

func unionStr(a, b []string) []string {
	for _, y := range b {
		found := false
		for _, x := range a {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			a = append(a, y)
		}
	}
	return a
}

func unionInt(a, b []int) []int {
	for _, y := range b {
		found := false
		for _, x := range a {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			a = append(a, y)
		}
	}
	return a
}

// results builds one Result per cluster, in the order of each cluster's
// first record.
func (c *clusters) results(order map[string]int) []*Result {
	byRoot := make(map[int]*Result)
	var out []*Result
	for i, r := range c.recs {
		root := c.find(i)
		res, ok := byRoot[root]
		if !ok {
			res = &Result{MergedBy: c.reasons[root]}
			byRoot[root] = res
			out = append(out, res)
		}
		res.records = append(res.records, r)
	}
	taken := make(map[string]bool, len(out))
	for _, res := range out {
		res.describe(order)
		if taken[res.ID] { // a vetoed join left two works sharing an identifier
			res.ID = recordWorkID(res)
		}
		taken[res.ID] = true
	}
	return out
}

// describe fills a Result from its records: the fullest record describes
// the work; identifiers are the union; holdings are every record.
func (res *Result) describe(order map[string]int) {
	best := res.records[0]
	bestScore := -1
	for _, r := range res.records {
		if s := completeness(r); s > bestScore {
			best, bestScore = r, s
		}
	}
	res.Title, res.Authors, res.Year = best.Title, best.Authors, best.Year
	res.Publisher, res.Edition, res.Format, res.Language = best.Publisher, best.Edition, best.Format, best.Language
	// Copies: the records may belong to a cached page shared with others.
	res.Authors = slices.Clone(best.Authors)
	res.Subjects, res.Series = slices.Clone(best.Subjects), best.Series
	var ids Identifiers
	for _, r := range res.records {
		ids.ISBN = unionStr(ids.ISBN, r.Identifiers.ISBN)
		ids.ISSN = unionStr(ids.ISSN, r.Identifiers.ISSN)
		ids.OCLC = unionStr(ids.OCLC, r.Identifiers.OCLC)
		ids.LCCN = unionStr(ids.LCCN, r.Identifiers.LCCN)
		ids.DOI = unionStr(ids.DOI, r.Identifiers.DOI)
		if res.Language == "" {
			res.Language = r.Language
		}
		if res.Year == 0 {
			res.Year = r.Year
		}
		res.Subjects = unionStr(res.Subjects, r.Subjects)
		res.Holdings = append(res.Holdings, Holding{Member: r.Member, RecordID: r.RecordID, Title: r.Title, Rank: r.Rank, Links: r.Links})
	}
	for _, l := range [][]string{ids.ISBN, ids.ISSN, ids.OCLC, ids.LCCN, ids.DOI} {
		sort.Strings(l)
	}
	res.Identifiers = ids
	sort.SliceStable(res.Holdings, func(i, j int) bool {
		hi, hj := res.Holdings[i], res.Holdings[j]
		if order[hi.Member] != order[hj.Member] {
			return order[hi.Member] < order[hj.Member]
		}
		return hi.Rank < hj.Rank
	})
	res.ID = workID(res)
	res.workKey = WorkKey(&Record{Title: res.Title, Authors: res.Authors, Year: res.Year})
}

// completeness scores how well a record describes its work; a title in
// capitals or carrying a series note is a poorer display title.
func completeness(r *Record) int {
	s := 2*len(r.Authors) + len(r.Subjects)
	if r.Year != 0 {
		s += 2
	}
	if r.Publisher != "" {
		s++
	}
	if !r.Identifiers.Empty() {
		s += 2
	}
	if r.Title != "" && r.Title == strings.ToUpper(r.Title) && r.Title != strings.ToLower(r.Title) {
		s -= 4
	}
	if strings.HasSuffix(strings.TrimSpace(r.Title), ")") {
		s -= 2
	}
	return s
}

// workID names a cluster by its smallest strongest identifier, or by its
// smallest member record.
func workID(res *Result) string {
	for _, kv := range []struct {
		kind string
		vals []string
	}{{"isbn", res.Identifiers.ISBN}, {"oclc", res.Identifiers.OCLC}, {"issn", res.Identifiers.ISSN},
		{"lccn", res.Identifiers.LCCN}, {"doi", res.Identifiers.DOI}} {
		if len(kv.vals) > 0 {
			return kv.kind + ":" + kv.vals[0]
		}
	}
	return recordWorkID(res)
}

// recordWorkID names a work by its smallest member record.
func recordWorkID(res *Result) string {
	least := ""
	for _, h := range res.Holdings {
		if id := h.Member + ":" + h.RecordID; least == "" || id < least {
			least = id
		}
	}
	return "rec:" + least
}
