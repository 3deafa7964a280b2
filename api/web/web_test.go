package web

import (
	"bytes"
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
	"github.com/commonshelf/commonshelf/index"
)

func renderer(t testing.TB) *Renderer {
	t.Helper()
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var testSite = Site{Consortium: "Test Consortium", Members: []Member{{"north", "North University"}, {"west", "West University"}},
	Names: map[string]string{"north": "North University", "west": "West University"}}

func TestEveryMessageExistsInEveryLanguage(t *testing.T) {
	r := renderer(t)
	if len(r.cats) < 3 {
		t.Fatalf("%d catalogues; want English and at least two more", len(r.cats))
	}
	en := r.cats[DefaultLanguage]
	for code, c := range r.cats {
		for key, e := range en.messages {
			got, ok := c.messages[key]
			switch {
			case !ok:
				t.Errorf("%s lacks %q", code, key)
			case (e.Plural == nil) != (got.Plural == nil):
				t.Errorf("%s: %q is plural in one language and not the other", code, key)
			case e.Plural != nil && (got.Plural["one"] == "" || got.Plural["other"] == ""):
				t.Errorf("%s: %q needs the forms one and other", code, key)
			}
		}
		for key := range c.messages {
			if _, ok := en.messages[key]; !ok {
				t.Errorf("%s has %q, which English lacks", code, key)
			}
		}
	}
}

func TestLanguageNegotiation(t *testing.T) {
	r := renderer(t)
	for _, tc := range []struct {
		title                             string
		explicit, accept, inst, consortia string
		want                              string
	}{
		{"an explicit choice wins", "de", "fr-CA,fr;q=0.9", "fr", "en", "de"},
		{"the browser's language beats the institution's", "", "fr-CA,fr;q=0.9,en;q=0.5", "de", "en", "fr"},
		{"a browser language without a catalogue is passed over", "", "ja,de;q=0.8", "fr", "en", "de"},
		{"without a browser preference the institution decides", "", "", "fr", "en", "fr"},
		{"an unknown explicit choice falls through", "xx-!!", "", "", "de", "de"},
		{"nothing known gives English", "", "ja", "pt", "it", "en"},
	} {
		t.Run(tc.title, func(t *testing.T) {
			if got := r.Negotiate(tc.explicit, tc.accept, tc.inst, tc.consortia); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNumbersDatesAndPluralsFollowTheLanguage(t *testing.T) {
	r := renderer(t)
	for _, tc := range []struct {
		title, lang, got, want string
	}{
		{"English groups thousands with commas", "en", r.Localizer("en").N("results.count", 12345), "12,345 works found"},
		{"German groups with dots", "de", r.Localizer("de").N("results.count", 12345), "12.345 Werke gefunden"},
		{"English singular", "en", r.Localizer("en").N("results.count", 1), "1 work found"},
		{"French counts zero as singular", "fr", r.Localizer("fr").N("results.count", 0), "0 œuvre trouvée"},
		{"German long date", "de", r.Localizer("de").Date("2027-03-05T10:00:00Z"), "5. März 2027"},
		{"French long date", "fr", r.Localizer("fr").Date("2027-03-05"), "5 mars 2027"},
		{"English long date", "en", r.Localizer("en").Date("2027-03-05"), "March 5, 2027"},
	} {
		t.Run(tc.title, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestUserTextIsEscapedEverywhere(t *testing.T) {
	r := renderer(t)
	evil := `<script>alert(1)</script>`
	resp := &federate.Response{Total: 1, Results: []federate.Result{{ID: "isbn:1", Title: evil + " title", Authors: []string{evil},
		Holdings: []federate.Holding{{Member: "north", Links: []federate.Link{{URL: "javascript:alert(1)"}}}}}},
		Members: []federate.MemberStatus{{ID: "north", Status: "ok"}, {ID: "west", Status: "timeout"}},
		Facets:  []federate.Facet{{Name: "format", Values: []federate.FacetValue{{Value: evil, Count: 1}}}}}
	list := &index.List{Institution: "north", ID: "l1", Name: evil, Course: index.Course{Code: evil, Instructors: []string{evil}},
		Sections: []index.Section{{Title: evil, Citations: []index.Citation{{Title: evil, URL: "javascript:alert(1)"}}}}}
	for _, tc := range []struct {
		title  string
		render func(*bytes.Buffer) error
	}{
		{"a query on the home page", func(b *bytes.Buffer) error { return r.Home(b, testSite, "en", Form{Q: evil}) }},
		{"record titles, authors and facet values", func(b *bytes.Buffer) error {
			return r.Catalogue(b, testSite, "en", Form{Q: evil, Limit: 20}, resp)
		}},
		{"a problem message", func(b *bytes.Buffer) error { return r.Problem(b, testSite, "en", Form{Q: evil}, evil) }},
		{"a list's name, course and citations", func(b *bytes.Buffer) error { return r.ListPage(b, testSite, "en", Form{}, list) }},
		{"list facet values, chosen or found", func(b *bytes.Buffer) error {
			return r.ListResults(b, testSite, "en", Form{Tab: TabLists, Q: evil, Limit: 20, Filters: map[string][]string{"term": {evil}}},
				&index.ListResults{Facets: []federate.Facet{{Name: "department", Values: []federate.FacetValue{{Value: evil, Count: 1}}},
					{Name: "institution", Values: []federate.FacetValue{{Value: evil, Count: 1}}}}})
		}},
	} {
		t.Run(tc.title, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.render(&b); err != nil {
				t.Fatal(err)
			}
			html := b.String()
			if n := strings.Count(html, "<script"); n != 1 { // the page's own script only
				t.Errorf("%d script tags; the user's text was not escaped", n)
			}
			if !strings.Contains(html, "&lt;script&gt;") {
				t.Error("the text is not shown, escaped")
			}
			if strings.Contains(html, "javascript:") {
				t.Error("a javascript: link was rendered")
			}
		})
	}
}

func TestPartialAnswersNameTheSilentMembers(t *testing.T) {
	r := renderer(t)
	resp := &federate.Response{Members: []federate.MemberStatus{{ID: "north", Status: "ok"}, {ID: "west", Status: "timeout"}}}
	var b bytes.Buffer
	if err := r.Catalogue(&b, testSite, "en", Form{Q: "x", Limit: 20}, resp); err != nil {
		t.Fatal(err)
	}
	if want := "Results from 1 of 2 libraries</strong> — West University did not respond in time"; !strings.Contains(b.String(), want) {
		t.Errorf("the page lacks %q", want)
	}
}

func TestBrandColoursKeepTextReadable(t *testing.T) {
	for _, tc := range []struct{ title, colour, want string }{
		{"a dark colour is kept", "#1d4e89", ":root{--brand:#1d4e89}\n"},
		{"a short form is expanded", "#123", ":root{--brand:#112233}\n"},
	} {
		t.Run(tc.title, func(t *testing.T) {
			css, ok := BrandCSS(tc.colour)
			if !ok || string(css) != tc.want {
				t.Errorf("got %q, %v; want %q", css, ok, tc.want)
			}
		})
	}
	t.Run("a light colour is darkened to 4.5:1", func(t *testing.T) {
		css, _ := BrandCSS("#ffcc00")
		c, ok := parseHex(strings.TrimSuffix(strings.TrimPrefix(string(css), ":root{--brand:"), "}\n"))
		if !ok || contrastWithWhite(c) < 4.5 {
			t.Errorf("%s has contrast %.2f with white", css, contrastWithWhite(c))
		}
	})
	if _, ok := BrandCSS("red;}body{display:none"); ok {
		t.Error("a colour that is not hex was accepted")
	}
}

func TestCitationExports(t *testing.T) {
	res := &federate.Result{ID: "isbn:9780439023481", Title: "The Hunger Games: {50%} & more", Authors: []string{"Collins, Suzanne", "Doe, Jane"},
		Year: 2008, Publisher: "Scholastic", Format: federate.FormatBook, Language: "eng",
		Identifiers: federate.Identifiers{ISBN: []string{"9780439023481"}},
		Holdings:    []federate.Holding{{Member: "north", Links: []federate.Link{{URL: "https://cat.example.org/r/1"}}}}}
	for _, tc := range []struct{ title, got, want string }{
		{"RIS", RIS(res), "TY  - BOOK\r\nTI  - The Hunger Games: {50%} & more\r\nAU  - Collins, Suzanne\r\nAU  - Doe, Jane\r\nPY  - 2008\r\n" +
			"PB  - Scholastic\r\nSN  - 9780439023481\r\nLA  - eng\r\nUR  - https://cat.example.org/r/1\r\nER  - \r\n"},
		{"BibTeX, special characters escaped", BibTeX(res), "@book{collins2008hunger,\n  title = {The Hunger Games: \\{50\\%\\} \\& more},\n" +
			"  author = {Collins, Suzanne and Doe, Jane},\n  year = {2008},\n  publisher = {Scholastic},\n  isbn = {9780439023481},\n" +
			"  language = {eng},\n  url = {https://cat.example.org/r/1},\n}\n"},
		{"a work without author or year has a key from its title", BibTeX(&federate.Result{Title: "Ökologie\nheute"}), "@misc{okologie,\n  title = {Ökologie heute},\n}\n"},
	} {
		t.Run(tc.title, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", tc.got, tc.want)
			}
		})
	}
}

func TestListResultsFacetsKeepTheChosenValues(t *testing.T) {
	r := renderer(t)
	res := &index.ListResults{Total: 45,
		Hits: []index.ListHit{{List: index.ListSummary{Institution: "north", ID: "l1", Name: "Readings", CourseCode: "HIST 101", Citations: 2}}},
		Facets: []federate.Facet{
			{Name: "institution", Values: []federate.FacetValue{{Value: "north", Count: 40}, {Value: "west", Count: 5}}},
			{Name: "department", Values: []federate.FacetValue{{Value: "History", Count: 45}}},
			{Name: "citation_type", Values: []federate.FacetValue{{Value: "chapter", Count: 3}}},
			{Name: "importance", Values: []federate.FacetValue{{Value: "required", Count: 45}}},
		}}
	f := Form{Tab: TabLists, Q: "war", Lang: "fr", Limit: 20, Offset: 20,
		Filters: map[string][]string{"institution": {"north"}, "year": {"1999"}}}
	var b bytes.Buffer
	if err := r.ListResults(&b, testSite, "fr", f, res); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	form := html[strings.Index(html, `class="facetform"`):]
	form = form[:strings.Index(form, "</form>")]
	for _, tc := range []struct{ title, want string }{
		{"the institution facet shows names, not ids", `<label for="f-institution-0">North University (40)</label>`},
		{"the chosen institution is ticked", `name="filter.institution" value="north" checked`},
		{"an unchosen one is not", `name="filter.institution" value="west">`},
		{"a chosen year the answer lacks still shows, ticked", `name="filter.year" value="1999" checked`},
		{"legends are in the page's language", `<legend>Établissement</legend>`},
		{"citation types are in words", `Chapitre de livre (3)`},
		{"importances are in words", `Obligatoire (45)`},
		{"the form keeps the tab", `<input type="hidden" name="tab" value="lists">`},
		{"the form keeps the query", `<input type="hidden" name="q" value="war">`},
		{"the form keeps the language", `<input type="hidden" name="lang" value="fr">`},
		{"clearing keeps the query, drops filters and paging", `class="clear" href="/?lang=fr&amp;q=war&amp;tab=lists"`},
	} {
		if !strings.Contains(form, tc.want) {
			t.Errorf("%s: the facet form lacks %s:\n%s", tc.title, tc.want, form)
		}
	}
	for _, tc := range []struct{ title, want string }{
		{"the next page keeps the filters", `href="/?filter.institution=north&amp;filter.year=1999&amp;lang=fr&amp;offset=40&amp;q=war&amp;tab=lists" rel="next"`},
		{"the previous page keeps them", `href="/?filter.institution=north&amp;filter.year=1999&amp;lang=fr&amp;q=war&amp;tab=lists" rel="prev"`},
		{"the permalink keeps them", `href="/?filter.institution=north&amp;filter.year=1999&amp;lang=fr&amp;offset=20&amp;q=war&amp;tab=lists">`},
		{"a language switch keeps them", `href="/?filter.institution=north&amp;filter.year=1999&amp;lang=de&amp;offset=20&amp;q=war&amp;tab=lists"`},
	} {
		if !strings.Contains(html, tc.want) {
			t.Errorf("%s: the page lacks %s", tc.title, tc.want)
		}
	}
	tabs := html[strings.Index(html, `class="tabs"`):]
	if tabs = tabs[:strings.Index(tabs, "</nav>")]; strings.Contains(tabs, "filter.") {
		t.Errorf("switching tabs keeps the lists' filters, which the catalogue does not know: %s", tabs)
	}
}

func TestListResultsWithoutFacetValuesHaveNoFacetForm(t *testing.T) {
	r := renderer(t)
	res := &index.ListResults{Facets: []federate.Facet{{Name: "institution", Values: []federate.FacetValue{}}}}
	var b bytes.Buffer
	if err := r.ListResults(&b, testSite, "en", Form{Tab: TabLists, Q: "zzz", Limit: 20}, res); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "facetform") {
		t.Error("an empty answer without chosen filters shows a facet form")
	}
}
