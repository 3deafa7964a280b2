package federate

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Facet names.
const (
	FacetMember   = "member"
	FacetFormat   = "format"
	FacetYear     = "year"
	FacetLanguage = "language"
)

var facetNames = []string{FacetMember, FacetFormat, FacetYear, FacetLanguage}

func knownFacet(name string) bool {
	for _, f := range facetNames {
		if f == name {
			return true
		}
	}
	return false
}

// maxFacetValues caps the values listed per facet.
const maxFacetValues = 30

// Facet counts the works (not the records) per value of one property.
type Facet struct {
	Name   string       `json:"name"`
	Values []FacetValue `json:"values"`
}

// FacetValue is one value and the number of works that have it.
type FacetValue struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// facetValues returns the values a result has for a facet.
func facetValues(res *Result, facet string) []string {
	switch facet {
	case FacetMember:
		var out []string
		for _, h := range res.Holdings {
			out = unionStr(out, []string{h.Member})
		}
		return out
	case FacetFormat:
		var out []string
		for _, r := range res.records {
			if r.Format != "" {
				out = unionStr(out, []string{r.Format})
			}
		}
		return out
	case FacetYear:
		if res.Year != 0 {
			return []string{strconv.Itoa(res.Year)}
		}
	case FacetLanguage:
		if res.Language != "" {
			return []string{res.Language}
		}
	}
	return nil
}

// Facets counts results per value of each facet, most frequent first
// (ties by value; years newest first).
func Facets(results []*Result) []Facet {
	out := make([]Facet, 0, len(facetNames))
	for _, name := range facetNames {
		counts := map[string]int{}
		for _, res := range results {
			for _, v := range facetValues(res, name) {
				counts[v]++
			}
		}
		f := Facet{Name: name, Values: []FacetValue{}}
		for v, c := range counts {
			f.Values = append(f.Values, FacetValue{v, c})
		}
		sort.Slice(f.Values, func(i, j int) bool {
			a, b := f.Values[i], f.Values[j]
			if a.Count != b.Count {
				return a.Count > b.Count
			}
			if name == FacetYear {
				return a.Value > b.Value
			}
			return a.Value < b.Value
		})
		if len(f.Values) > maxFacetValues {
			f.Values = f.Values[:maxFacetValues]
		}
		out = append(out, f)
	}
	return out
}

// parseYearFilter reads "2008", "1990..2000", "1990.." or "..2000".
func parseYearFilter(v string) (from, to int, ok bool) {
	y, msg := parseYears(strings.TrimSpace(v))
	if msg != "" {
		return 0, 0, false
	}
	return y.From, y.To, true
}

// matchesFilters reports whether a result passes every filter: for each
// facet, at least one of the accepted values.
func matchesFilters(res *Result, filters map[string][]string) bool {
	for name, accepted := range filters {
		if len(accepted) == 0 {
			continue
		}
		if !matchesFacet(res, name, accepted) {
			return false
		}
	}
	return true
}

func matchesFacet(res *Result, name string, accepted []string) bool {
	if name == FacetYear {
		for _, a := range accepted {
			from, to, ok := parseYearFilter(a)
			if ok && res.Year != 0 && res.Year >= from && (to == 0 || res.Year <= to) {
				return true
			}
		}
		return false
	}
	for _, v := range facetValues(res, name) {
		for _, a := range accepted {
			if strings.EqualFold(v, a) {
				return true
			}
		}
	}
	return false
}

// Assemble merges the members' pages, ranks the works, applies filters,
// counts facets and cuts the requested page. order is the holdings' member
// display order. It is rankWorks followed by pageWorks; the cache keeps what
// rankWorks makes and pages it per request.
func Assemble(req Request, pages []Page, order map[string]int) *Response {
	return pageWorks(req, rankWorks(req, pages, order), nil)
}

// rankWorks merges the members' pages into works and ranks them: the part
// of an answer that depends only on the query, the scope and the home
// institution (not on filters or the page).
func rankWorks(req Request, pages []Page, order map[string]int) []*Result {
	merged := Merge(pages, order)
	scopeSize := len(req.Members)
	if scopeSize == 0 {
		scopeSize = len(order)
	}
	Rank(merged, req.Query, req.Home, scopeSize, req.Explain)
	return merged
}

// pageWorks applies req's filters to the ranked works, counts facets and
// cuts req's page; works are only read. allFacets, if not nil, are the
// facets of all the works, used when req has no filter. Results are copies
// of the works (without Explain unless req asks for it); their slices are
// shared and must not be modified.
func pageWorks(req Request, works []*Result, allFacets []Facet) *Response {
	filtered := works
	if hasFilters(req.Filters) {
		filtered = make([]*Result, 0, len(works))
		for _, res := range works {
			if matchesFilters(res, req.Filters) {
				filtered = append(filtered, res)
			}
		}
		allFacets = nil
	}
	if allFacets == nil {
		allFacets = Facets(filtered)
	}
	resp := &Response{Facets: slices.Clone(allFacets), Total: len(filtered)}
	end := min(req.Offset+req.Limit, len(filtered))
	resp.Results = make([]Result, 0, max(end-req.Offset, 0))
	for i := req.Offset; i < end; i++ {
		res := *filtered[i]
		if !req.Explain {
			res.Explain = nil
		}
		resp.Results = append(resp.Results, res)
	}
	return resp
}

func hasFilters(filters map[string][]string) bool {
	for _, v := range filters {
		if len(v) > 0 {
			return true
		}
	}
	return false
}
