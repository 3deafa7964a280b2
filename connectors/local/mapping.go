package local

import (
	"encoding/json"
	"github.com/commonshelf/commonshelf/federate/fold"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	unicodetok "github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/commonshelf/commonshelf/federate"
)

// Names under which the index mapping refers to this package's analysis
// chain. They are written into every index's stored mapping, so they must not
// change without bumping mappingVersion.
const (
	foldCharFilter = "commonshelf_fold"
	textAnalyzer   = "commonshelf_text"
)

// mappingVersion is stored in each index (internal key mappingKey). An index
// built with another version is refused at Open: the catalogue has to be
// re-imported into a fresh directory.
const (
	mappingVersion = "1"
	mappingKey     = "commonshelf.local.mapping"
)

// Field names of an indexed document.
const (
	fTitle     = "title"
	fAuthors   = "authors"
	fSubjects  = "subjects"
	fSeries    = "series"
	fPublisher = "publisher"
	fISBN      = "isbn"
	fISSN      = "issn"
	fOCLC      = "oclc"
	fLCCN      = "lccn"
	fDOI       = "doi"
	fFormat    = "format"
	fLanguage  = "language"
	fYear      = "year"
	// fRecord holds the whole federate.Record as JSON: stored, not indexed.
	fRecord = "rec"
)

func init() {
	registry.RegisterCharFilter(foldCharFilter, func(map[string]interface{}, *registry.Cache) (analysis.CharFilter, error) {
		return foldFilter{}, nil
	})
}

// foldFilter folds text to its accentless search form (see package fold)
// before tokenisation.
type foldFilter struct{}

func (foldFilter) Filter(in []byte) []byte { return fold.Bytes(in) }

// newMapping builds the index mapping: one document type, nothing dynamic,
// no _all field, term vectors only where phrase queries need positions.
func newMapping() (*mapping.IndexMappingImpl, error) {
	im := bleve.NewIndexMapping()
	err := im.AddCustomAnalyzer(textAnalyzer, map[string]interface{}{
		"type":          custom.Name,
		"char_filters":  []string{foldCharFilter},
		"tokenizer":     unicodetok.Name,
		"token_filters": []string{lowercase.Name},
	})
	if err != nil {
		return nil, err
	}
	im.DefaultAnalyzer = textAnalyzer
	im.ScoringModel = index.BM25Scoring
	im.IndexDynamic = false
	im.StoreDynamic = false
	im.DocValuesDynamic = false

	text := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = textAnalyzer
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = true // positions, for match-phrase
		f.DocValues = false
		return f
	}
	kw := func() *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = false
		return f
	}
	doc := bleve.NewDocumentStaticMapping()
	for _, name := range []string{fTitle, fAuthors, fSubjects, fSeries, fPublisher} {
		doc.AddFieldMappingsAt(name, text())
	}
	for _, name := range []string{fISBN, fISSN, fOCLC, fLCCN, fDOI, fFormat, fLanguage} {
		doc.AddFieldMappingsAt(name, kw())
	}
	year := bleve.NewNumericFieldMapping()
	year.Store = false
	year.IncludeInAll = false
	year.DocValues = false
	doc.AddFieldMappingsAt(fYear, year)

	rec := bleve.NewTextFieldMapping()
	rec.Analyzer = keyword.Name
	rec.Index = false
	rec.Store = true
	rec.IncludeInAll = false
	rec.IncludeTermVectors = false
	rec.DocValues = false
	doc.AddFieldMappingsAt(fRecord, rec)

	im.DefaultMapping = doc
	return im, nil
}

// document is what gets indexed for r: only non-empty fields, so that an
// unknown year is absent rather than 0 (an open year range must not match it).
func document(r *federate.Record) (map[string]interface{}, error) {
	stored, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	d := make(map[string]interface{}, 14)
	d[fRecord] = string(stored)
	d[fTitle] = r.Title
	putStrings(d, fAuthors, r.Authors)
	putStrings(d, fSubjects, r.Subjects)
	putString(d, fSeries, r.Series)
	putString(d, fPublisher, r.Publisher)
	putStrings(d, fISBN, r.Identifiers.ISBN)
	putStrings(d, fISSN, r.Identifiers.ISSN)
	putStrings(d, fOCLC, r.Identifiers.OCLC)
	putStrings(d, fLCCN, r.Identifiers.LCCN)
	putStrings(d, fDOI, r.Identifiers.DOI)
	putString(d, fFormat, r.Format)
	putString(d, fLanguage, r.Language)
	if r.Year != 0 {
		d[fYear] = float64(r.Year)
	}
	return d, nil
}

func putString(d map[string]interface{}, k, v string) {
	if v != "" {
		d[k] = v
	}
}

func putStrings(d map[string]interface{}, k string, v []string) {
	if len(v) > 0 {
		d[k] = v
	}
}
