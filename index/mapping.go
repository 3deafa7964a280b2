package index

import (
	"fmt"
	"github.com/commonshelf/commonshelf/federate/fold"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	unicodetok "github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"
	bleveindex "github.com/blevesearch/bleve_index_api"

	// The languages whose analysers (stop words, stemmer) can be chosen
	// per institution; importing them registers them with bleve.
	_ "github.com/blevesearch/bleve/v2/analysis/lang/da"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/de"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/en"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/es"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/fi"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/fr"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/hu"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/it"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/nl"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/no"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/pt"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/ro"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/ru"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/sv"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/tr"
)

// Languages lists the ISO 639-1 codes an institution's lists may be
// analysed in (Options.Languages): those bleve has a stemming analyser for.
var Languages = []string{"da", "de", "en", "es", "fi", "fr", "hu", "it", "nl", "no", "pt", "ro", "ru", "sv", "tr"}

func supportedLanguage(code string) bool {
	for _, l := range Languages {
		if l == code {
			return true
		}
	}
	return false
}

// Registry names of this package's analysis chain. They are written into
// the index's stored mapping: changing them needs a new mappingVersion.
const (
	foldTokenFilter = "commonshelf_index_fold"
	plainAnalyzer   = "commonshelf_index_plain"
	stemPrefix      = "commonshelf_index_stem_"
	docTypePrefix   = "list_"
)

// mappingVersion is stored in the index; an index written by another version
// is rebuilt from the database at Open.
const mappingVersion = "1"

func stemAnalyzer(lang string) string { return stemPrefix + lang }

func init() {
	registry.RegisterTokenFilter(foldTokenFilter, func(map[string]interface{}, *registry.Cache) (analysis.TokenFilter, error) {
		return foldFilter{}, nil
	})
	registry.RegisterAnalyzer(plainAnalyzer, func(_ map[string]interface{}, c *registry.Cache) (analysis.Analyzer, error) {
		tok, err := c.TokenizerNamed(unicodetok.Name)
		if err != nil {
			return nil, err
		}
		lower, err := c.TokenFilterNamed(lowercase.Name)
		if err != nil {
			return nil, err
		}
		return &analysis.DefaultAnalyzer{Tokenizer: tok, TokenFilters: []analysis.TokenFilter{lower, foldFilter{}}}, nil
	})
	for _, lang := range Languages {
		registry.RegisterAnalyzer(stemAnalyzer(lang), func(_ map[string]interface{}, c *registry.Cache) (analysis.Analyzer, error) {
			base, err := c.AnalyzerNamed(lang)
			if err != nil {
				return nil, err
			}
			da, ok := base.(*analysis.DefaultAnalyzer)
			if !ok {
				return nil, fmt.Errorf("analyzer %q is a %T, not a token-filter chain", lang, base)
			}
			filters := append(append([]analysis.TokenFilter(nil), da.TokenFilters...), foldFilter{})
			return &analysis.DefaultAnalyzer{CharFilters: da.CharFilters, Tokenizer: da.Tokenizer, TokenFilters: filters}, nil
		})
	}
}

// foldFilter folds each token to its accentless form (see package fold).
// It works on tokens, not on the text before tokenisation as
// connectors/local's character filter does, for two reasons: token offsets
// stay those of the original text, which highlighting needs; and it can run
// after a language's stemmer, which expects the accents.
type foldFilter struct{}

func (foldFilter) Filter(in analysis.TokenStream) analysis.TokenStream {
	for _, t := range in {
		t.Term = fold.Bytes(t.Term)
	}
	return in
}

// Field names of a list document. Text fields come in pairs: the folded
// words as written (plain) and, with suffix "_s", the same text through the
// institution's language analyser (stemmed). Citations are an array of
// objects under "c", so a match's array position is the citation's index in
// the list (sections flattened in order).
const (
	fInstitution = "inst"
	fStatus      = "status"
	fVisibility  = "vis"
	fName        = "name"
	fDescription = "desc"
	fCode        = "code"   // keyword: normaliseCode of the course code
	fCodeText    = "code_t" // the course code as words ("chem", "101")
	fCourse      = "course"
	fDepartment  = "dept"
	fInstructors = "instr"
	fCampus      = "campus"
	fTermText    = "term_t" // the term as words ("Autumn")
	fCourseState = "cstatus"
	fSeq         = "seq" // stored only: the sequence the document was indexed at

	fCitations = "c"
	fTitle     = "c.t"
	fContainer = "c.ct"
	fAuthors   = "c.a"
	fTags      = "c.tag"
	fISBN      = "c.isbn"
	fISSN      = "c.issn"
	fDOI       = "c.doi"
	fCitYear   = "c.y"

	// Facet fields: one keyword per distinct value per list, with doc values.
	fFacetInstitution = "f_inst"
	fFacetDepartment  = "f_dept"
	fFacetTerm        = "f_term"
	fFacetYear        = "f_year"
	fFacetType        = "f_type"
	fFacetImportance  = "f_imp"

	stemSuffix = "_s"
)

// Facet names of ListQuery.Filters and ListResults.Facets, with their fields.
var facetFields = []struct{ name, field string }{
	{"institution", fFacetInstitution},
	{"department", fFacetDepartment},
	{"term", fFacetTerm},
	{"year", fFacetYear},
	{"citation_type", fFacetType},
	{"importance", fFacetImportance},
}

// newMapping builds the index mapping: one document type per language, the
// same fields in each, differing only in the analyser of the stemmed fields.
func newMapping() *mapping.IndexMappingImpl {
	im := bleve.NewIndexMapping()
	im.DefaultAnalyzer = plainAnalyzer
	im.ScoringModel = bleveindex.BM25Scoring
	im.IndexDynamic = false
	im.StoreDynamic = false
	im.DocValuesDynamic = false
	for _, lang := range Languages {
		im.AddDocumentMapping(docTypePrefix+lang, listMapping(lang))
	}
	im.DefaultMapping = listMapping("en")
	return im
}

func listMapping(lang string) *mapping.DocumentMapping {
	plain := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = plainAnalyzer
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = true // positions for phrases, offsets for highlighting
		f.DocValues = false
		return f
	}
	stem := func(name string) *mapping.FieldMapping {
		f := plain()
		f.Name = name + stemSuffix
		f.Analyzer = stemAnalyzer(lang)
		return f
	}
	kw := func(docValues, vectors bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = vectors
		f.DocValues = docValues
		return f
	}
	doc := bleve.NewDocumentStaticMapping()
	doc.DefaultAnalyzer = plainAnalyzer
	for _, f := range []string{fInstitution, fStatus, fVisibility, fCode, fCourseState} {
		doc.AddFieldMappingsAt(f, kw(false, false))
	}
	for _, f := range []string{fFacetInstitution, fFacetDepartment, fFacetTerm, fFacetYear, fFacetType, fFacetImportance} {
		doc.AddFieldMappingsAt(f, kw(true, false))
	}
	for _, f := range []string{fName, fDescription, fCourse, fDepartment} {
		doc.AddFieldMappingsAt(f, plain(), stem(f))
	}
	for _, f := range []string{fCodeText, fInstructors, fCampus, fTermText} {
		doc.AddFieldMappingsAt(f, plain())
	}
	seq := bleve.NewKeywordFieldMapping()
	seq.Index = false
	seq.Store = true
	seq.IncludeInAll = false
	seq.IncludeTermVectors = false
	seq.DocValues = false
	doc.AddFieldMappingsAt(fSeq, seq)

	c := bleve.NewDocumentStaticMapping()
	c.AddFieldMappingsAt("t", plain(), stem("t"))
	c.AddFieldMappingsAt("ct", plain(), stem("ct"))
	c.AddFieldMappingsAt("a", plain())
	c.AddFieldMappingsAt("tag", plain(), stem("tag"))
	for _, f := range []string{"isbn", "issn", "doi"} {
		c.AddFieldMappingsAt(f, kw(false, true)) // vectors: an identifier match names its citation
	}
	y := bleve.NewNumericFieldMapping()
	y.Store = false
	y.IncludeInAll = false
	y.DocValues = false
	c.AddFieldMappingsAt("y", y)
	doc.AddSubDocumentMapping(fCitations, c)
	return doc
}

// normaliseCode is the keyword form of a course code: letters and digits
// only, upper case ("chem-101", "CHEM 101" → "CHEM101").
func normaliseCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(string(fold.Bytes([]byte(s)))) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// document is what gets indexed for a list stored at sequence seq, in the
// analysis of language lang.
func document(l *List, lang string, seq uint64) map[string]interface{} {
	d := map[string]interface{}{
		"_type":      docTypePrefix + lang,
		fInstitution: l.Institution,
		fStatus:      l.Status,
		fVisibility:  l.Visibility,
		fName:        l.Name,
		fSeq:         strconv.FormatUint(seq, 10),

		fFacetInstitution: l.Institution,
	}
	put := func(k, v string) {
		if v != "" {
			d[k] = v
		}
	}
	put(fDescription, l.Description)
	c := &l.Course
	put(fCode, normaliseCode(c.Code))
	put(fCodeText, c.Code)
	put(fCourse, c.Name)
	put(fDepartment, c.Department)
	put(fFacetDepartment, c.Department)
	put(fFacetTerm, c.Term)
	put(fTermText, c.Term)
	if c.Year != 0 {
		d[fFacetYear] = strconv.Itoa(c.Year)
	}
	if len(c.Instructors) > 0 {
		d[fInstructors] = c.Instructors
	}
	put(fCampus, c.Campus)
	put(fCourseState, c.Status)

	var cits []interface{}
	types := map[string]bool{}
	imps := map[string]bool{}
	for si := range l.Sections {
		for ci := range l.Sections[si].Citations {
			cit := &l.Sections[si].Citations[ci]
			// Every citation gets an element, even an empty one, so that
			// array positions stay the citations' indexes.
			m := map[string]interface{}{"t": cit.Title}
			if cit.ContainerTitle != "" {
				m["ct"] = cit.ContainerTitle
			}
			if len(cit.Authors) > 0 {
				m["a"] = cit.Authors
			}
			if len(cit.Tags) > 0 {
				m["tag"] = cit.Tags
			}
			ids := cit.Identifiers()
			if len(ids.ISBN) > 0 {
				m["isbn"] = ids.ISBN
			}
			if len(ids.ISSN) > 0 {
				m["issn"] = ids.ISSN
			}
			if len(ids.DOI) > 0 {
				m["doi"] = ids.DOI[0]
			}
			if cit.Year != 0 {
				m["y"] = float64(cit.Year)
			}
			cits = append(cits, m)
			types[cit.Type] = true
			if cit.Importance != "" {
				imps[cit.Importance] = true
			}
		}
	}
	if len(cits) > 0 {
		d[fCitations] = cits
	}
	if len(types) > 0 {
		d[fFacetType] = sortedKeys(types)
	}
	if len(imps) > 0 {
		d[fFacetImportance] = sortedKeys(imps)
	}
	return d
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
