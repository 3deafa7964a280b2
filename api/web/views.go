package web

import (
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/commonshelf/commonshelf/federate"
	"github.com/commonshelf/commonshelf/index"
)

// MaxWindow is the deepest result the catalogue pages reach (the engine's
// offset+limit ceiling).
const MaxWindow = 300

type catalogueView struct {
	Count     string
	Range     string
	Empty     bool
	Partial   string
	Problems  []string
	Results   []resultView
	Prev      string
	Next      string
	Permalink string
}

type resultView struct {
	ID, Title, Authors, Year, Format, Language string
	Holdings                                   []holdingView
	ListsLabel                                 string
	Lists                                      []Link
	Exports                                    []Link
	Actions                                    *actionsView
}

type holdingView struct {
	Name, URL, LinkLabel string
	Home                 bool
}

// facetsView is the form of facet checkboxes beside a page of results
// (the catalogue's or the resource lists').
type facetsView struct {
	Facets   []facetView
	Hidden   []Option // the search's other parameters, kept by the facet form
	ClearURL string   // "" when no filter is chosen
}

type facetView struct {
	Param, Legend string
	Values        []facetValueView
}

type facetValueView struct {
	ID, Value, Label string
	Checked          bool
}

// newFacetsView builds the facet form from a search's facets: legend names
// a facet, label shows one of its values. Every chosen value stays on show,
// even when no result on this page has it (so it can be unticked), and so
// does a chosen facet the answer lacks.
func newFacetsView(p *page, facets []federate.Facet, legend func(name string) string, label func(name, value string) string) *facetsView {
	l, f := p.L, p.Form
	v := &facetsView{}
	seen := map[string]bool{}
	for _, fc := range facets {
		seen[fc.Name] = true
	}
	var missing []string
	for name := range f.Filters {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	for _, name := range missing {
		facets = append(slices.Clip(facets), federate.Facet{Name: name})
	}
	for _, fc := range facets {
		fv := facetView{Param: "filter." + fc.Name, Legend: legend(fc.Name)}
		values := fc.Values
		for _, sel := range f.Filters[fc.Name] {
			if !slices.ContainsFunc(values, func(x federate.FacetValue) bool { return x.Value == sel }) {
				values = append(slices.Clip(values), federate.FacetValue{Value: sel})
			}
		}
		for i, val := range values {
			fv.Values = append(fv.Values, facetValueView{
				ID:      "f-" + fc.Name + "-" + strconv.Itoa(i),
				Value:   val.Value,
				Label:   l.T("facet.value", label(fc.Name, val.Value), val.Count),
				Checked: f.Selected(fc.Name, val.Value),
			})
		}
		if len(fv.Values) > 0 {
			v.Facets = append(v.Facets, fv)
		}
	}
	hidden := []struct{ k, val string }{{"q", f.Q}, {"scope", f.Scope}, {"lang", f.Lang}}
	if f.Tab == TabLists {
		hidden = append(hidden, struct{ k, val string }{"tab", TabLists})
	}
	for _, kv := range hidden {
		if kv.val != "" {
			v.Hidden = append(v.Hidden, Option{Value: kv.val, Label: kv.k})
		}
	}
	if len(f.Filters) > 0 {
		cf := f
		cf.Filters, cf.Offset = nil, 0
		v.ClearURL = cf.URL(p.Base)
	}
	return v
}

func newCatalogueView(p *page, site Site, resp *federate.Response) *catalogueView {
	l, f := p.L, p.Form
	v := &catalogueView{Count: l.N("results.count", resp.Total), Empty: len(resp.Results) == 0}
	if !v.Empty {
		v.Range = l.T("results.range", f.Offset+1, f.Offset+len(resp.Results), resp.Total)
	}
	home := ""
	if site.Institution != nil {
		home = site.Institution.ID
	}
	ok := 0
	for _, m := range resp.Members {
		if m.Status == federate.StatusOK {
			ok++
			continue
		}
		name := site.Names[m.ID]
		if name == "" {
			name = m.ID
		}
		key := "member." + m.Status
		if !l.Has(key) {
			key = "member.error"
		}
		v.Problems = append(v.Problems, l.T(key, name))
	}
	if len(v.Problems) > 0 {
		v.Partial = l.N("partial.summary", len(resp.Members), ok)
	}
	for _, res := range resp.Results {
		v.Results = append(v.Results, newResultView(l, site, f, home, p.Base, &res))
	}
	p.Facets = newFacetsView(p, resp.Facets,
		func(name string) string { return l.T("facet." + name) },
		func(name, value string) string { return facetLabel(l, site, name, value) })
	if f.Offset > 0 {
		pf := f
		pf.Offset = max(0, f.Offset-f.Limit)
		v.Prev = pf.URL(p.Base)
	}
	if next := f.Offset + f.Limit; next < resp.Total && next+1 <= MaxWindow {
		nf := f
		nf.Offset = next
		v.Next = nf.URL(p.Base)
	}
	v.Permalink = f.URL(p.Base)
	return v
}

func newResultView(l *Localizer, site Site, f Form, home, base string, res *federate.Result) resultView {
	rv := resultView{ID: res.ID, Title: res.Title}
	if len(res.Authors) > 0 {
		rv.Authors = l.T("result.authors", strings.Join(res.Authors, "; "))
	}
	if res.Year != 0 {
		rv.Year = strconv.Itoa(res.Year)
	}
	if res.Format != "" {
		rv.Format = facetLabel(l, site, federate.FacetFormat, res.Format)
	}
	if res.Language != "" {
		rv.Language = facetLabel(l, site, federate.FacetLanguage, res.Language)
	}
	for _, h := range res.Holdings {
		hv := holdingView{Name: site.Names[h.Member], Home: h.Member == home && home != ""}
		if hv.Name == "" {
			hv.Name = h.Member
		}
		for _, link := range h.Links {
			if u, err := url.Parse(link.URL); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
				hv.URL, hv.LinkLabel = link.URL, l.T("result.record")
				break
			}
		}
		rv.Holdings = append(rv.Holdings, hv)
	}
	if n := len(res.Lists); n > 0 {
		rv.ListsLabel = l.N("result.lists", n)
		for _, cu := range res.Lists {
			name := site.Names[cu.Institution]
			if name == "" {
				name = cu.Institution
			}
			rv.Lists = append(rv.Lists, Link{Label: cu.CourseCode + " · " + name, URL: listURL(cu.Institution, cu.ListID, f.Lang)})
		}
	}
	for _, format := range []string{"ris", "bibtex"} {
		q := f.values()
		q.Del("offset")
		q.Del("lang")
		if home != "" {
			q.Set("home", home)
		}
		q.Set("id", res.ID)
		rv.Exports = append(rv.Exports, Link{Label: l.T("result.export." + format), Lang: l.T("result.export.label", res.Title, l.T("result.export."+format)),
			URL: "/export/" + format + "?" + q.Encode()})
	}
	rv.Actions = newActionsView(site, f, home, res)
	return rv
}

// facetLabel is how a facet value is shown: a member's name, a format or
// language in words; years as they are.
func facetLabel(l *Localizer, site Site, facet, value string) string {
	switch facet {
	case federate.FacetMember:
		if n := site.Names[value]; n != "" {
			return n
		}
	case federate.FacetFormat, federate.FacetLanguage:
		key := "format." + value
		if facet == federate.FacetLanguage {
			key = "lang." + value
		}
		if l.Has(key) {
			return l.T(key)
		}
	}
	return value
}

// ListFacetLegend is a resource-list facet's name in words (one of
// index.FacetNames; another name is shown as it is).
func ListFacetLegend(l *Localizer, name string) string {
	if key := "listfacet." + name; l.Has(key) {
		return l.T(key)
	}
	return name
}

// listFacetLabel is how a resource-list facet value is shown: an
// institution's name, a citation type or importance in words; departments,
// terms and years as they are.
func listFacetLabel(l *Localizer, site Site, facet, value string) string {
	key := ""
	switch facet {
	case "institution":
		if n := site.Names[value]; n != "" {
			return n
		}
	case "citation_type":
		key = "citetype." + value
	case "importance":
		key = "importance." + value
	}
	if key != "" && l.Has(key) {
		return l.T(key)
	}
	return value
}

func listURL(inst, id, lang string) string {
	u := "/lists/" + url.PathEscape(inst) + "/" + url.PathEscape(id)
	if lang != "" {
		u += "?lang=" + url.QueryEscape(lang)
	}
	return u
}

type listsView struct {
	Count     string
	Range     string
	Empty     bool
	Groups    []instGroup
	Prev      string
	Next      string
	Permalink string
}

type instGroup struct {
	Name    string
	Courses []courseGroup
}

type courseGroup struct {
	Course string
	Lists  []listHitView
}

type listHitView struct {
	Name, URL, Instructors, Term, Citations, More string
	Matches                                       []citeView
}

type citeView struct {
	TitleHTML  template.HTML
	Authors    string
	Importance string
}

func newListsView(p *page, site Site, res *index.ListResults) *listsView {
	l, f := p.L, p.Form
	v := &listsView{Count: l.N("lists.count", res.Total), Empty: len(res.Hits) == 0, Permalink: f.URL(p.Base)}
	if !v.Empty {
		v.Range = l.T("results.range", f.Offset+1, f.Offset+len(res.Hits), res.Total)
	}
	groupOf := map[string]int{}
	for _, h := range res.Hits {
		s := h.List
		gi, ok := groupOf[s.Institution]
		if !ok {
			name := site.Names[s.Institution]
			if name == "" {
				name = s.Institution
			}
			gi = len(v.Groups)
			groupOf[s.Institution] = gi
			v.Groups = append(v.Groups, instGroup{Name: name})
		}
		g := &v.Groups[gi]
		course := strings.TrimSpace(s.CourseCode + " " + s.CourseName)
		ci := slices.IndexFunc(g.Courses, func(c courseGroup) bool { return c.Course == course })
		if ci < 0 {
			ci = len(g.Courses)
			g.Courses = append(g.Courses, courseGroup{Course: course})
		}
		hv := listHitView{Name: s.Name, URL: listURL(s.Institution, s.ID, f.Lang), Citations: l.N("lists.citations", s.Citations)}
		if len(s.Instructors) > 0 {
			hv.Instructors = l.T("lists.instructors", strings.Join(s.Instructors, ", "))
		}
		if s.Term != "" {
			term := s.Term
			if s.Year != 0 && !strings.Contains(term, strconv.Itoa(s.Year)) {
				term += " " + strconv.Itoa(s.Year)
			}
			hv.Term = l.T("lists.term", term)
		}
		for _, c := range h.Citations {
			cv := citeView{TitleHTML: template.HTML(c.TitleHTML), Authors: strings.Join(c.Authors, "; ")} // TitleHTML is escaped by the index, with <mark> around matches
			if c.Importance != "" {
				cv.Importance = l.T("importance." + c.Importance)
			}
			hv.Matches = append(hv.Matches, cv)
		}
		if h.MoreCitations > 0 {
			hv.More = l.N("lists.more", h.MoreCitations)
		}
		g.Courses[ci].Lists = append(g.Courses[ci].Lists, hv)
	}
	p.Facets = newFacetsView(p, res.Facets,
		func(name string) string { return ListFacetLegend(l, name) },
		func(name, value string) string { return listFacetLabel(l, site, name, value) })
	if f.Offset > 0 {
		pf := f
		pf.Offset = max(0, f.Offset-f.Limit)
		v.Prev = pf.URL(p.Base)
	}
	if next := f.Offset + f.Limit; next < res.Total && next+1 <= index.MaxWindow {
		nf := f
		nf.Offset = next
		v.Next = nf.URL(p.Base)
	}
	return v
}

type listView struct {
	// Anchor tells apart the lists of one page (a launch may show several).
	Anchor                                                                         string
	Draft                                                                          bool
	Name, Course, Department, Instructors, Term, Updated, Description, Institution string
	Sections                                                                       []sectionView
	Back                                                                           string
}

type sectionView struct {
	Title     string
	Citations []fullCiteView
}

type fullCiteView struct {
	// ID is the citation's anchor on the list page ("c-" and its id: the
	// gateway's forms come back to #c-{id}); "" where there is none.
	ID, Title, Container, Authors, Year, Publisher, Importance, Note, FindURL, FindLabel, URL string
	Files                                                                                     []fileView
	Upload                                                                                    *uploadView
}

func newListView(p *page, site Site, ls *index.List) *listView {
	l := p.L
	v := &listView{Anchor: ls.ID, Draft: ls.Status != index.StatusPublished, Name: ls.Name, Course: strings.TrimSpace(ls.Course.Code + " " + ls.Course.Name), Description: ls.Description,
		Institution: site.Names[ls.Institution]}
	if v.Institution == "" {
		v.Institution = ls.Institution
	}
	if ls.Course.Department != "" {
		v.Department = l.T("list.department", ls.Course.Department)
	}
	if len(ls.Course.Instructors) > 0 {
		v.Instructors = l.T("lists.instructors", strings.Join(ls.Course.Instructors, ", "))
	}
	if ls.Course.Term != "" || ls.Course.Year != 0 {
		term := ls.Course.Term
		if ls.Course.Year != 0 && !strings.Contains(term, strconv.Itoa(ls.Course.Year)) {
			term = strings.TrimSpace(term + " " + strconv.Itoa(ls.Course.Year))
		}
		v.Term = l.T("lists.term", term)
	}
	if ls.Updated != "" {
		v.Updated = l.T("list.updated", l.Date(ls.Updated))
	}
	v.Back = Form{Tab: TabLists, Lang: p.Form.Lang}.URL(p.Base)
	for _, s := range ls.Sections {
		sv := sectionView{Title: s.Title}
		if sv.Title == "" {
			sv.Title = l.T("list.section.untitled")
		}
		for _, c := range s.Citations {
			cv := fullCiteView{ID: "c-" + c.ID, Title: c.Title, Container: c.ContainerTitle, Authors: strings.Join(c.Authors, "; "), Publisher: c.Publisher, Note: c.Note}
			cv.Files, cv.Upload = citationFiles(p, ls, &c, site.Viewer)
			if c.Year != 0 {
				cv.Year = strconv.Itoa(c.Year)
			}
			if c.Importance != "" {
				cv.Importance = l.T("importance." + c.Importance)
			}
			if u, err := url.Parse(c.URL); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
				cv.URL = c.URL
			}
			find := Form{Q: findQuery(&c), Lang: p.Form.Lang}
			if find.Q != "" {
				cv.FindURL, cv.FindLabel = find.URL(p.Base), l.T("list.findit.label", c.Title)
			}
			sv.Citations = append(sv.Citations, cv)
		}
		v.Sections = append(v.Sections, sv)
	}
	return v
}

// findQuery is a catalogue query for a citation: its ISBN or ISSN, else
// its title as a phrase.
func findQuery(c *index.Citation) string {
	switch {
	case len(c.ISBN) > 0:
		return "isbn:" + c.ISBN[0]
	case len(c.ISSN) > 0:
		return "issn:" + c.ISSN[0]
	}
	t := strings.Join(strings.Fields(strings.NewReplacer(`"`, " ", `\`, " ").Replace(c.Title)), " ")
	if t == "" {
		return ""
	}
	return `"` + t + `"`
}
