package opensearch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDescriptionFixtures(t *testing.T) {
	for _, tc := range []struct {
		name, file, prefer string
		wantName           string
		wantType           string
		wantURL            string // filled with "dune", Window{Offset: 20, Limit: 10}
	}{
		{"several Url elements: Atom preferred and chosen despite its charset parameter",
			"description-catalogue.xml", TypeAtom, "Harbour Library", TypeAtom,
			"https://catalogue.harbour.example.org/opensearch/atom?q=dune&start=21&n=10&lang=&bbox=&ie=UTF-8"},
		{"several Url elements: RSS preferred and chosen",
			"description-catalogue.xml", TypeRSS, "Harbour Library", TypeRSS,
			"https://catalogue.harbour.example.org/opensearch/rss?q=dune&start=21&n=10"},
		{"indexOffset 0 and pageOffset 0, the OpenSearch namespace under a prefix",
			"description-index0.xml", TypeAtom, "Ridge Discovery", TypeAtom,
			"http://discovery.ridge.example.edu/api/os/dune/atom?offset=20&page=2&limit=10&oe=UTF-8"},
		{"RSS only: Atom preferred, RSS used; Latin-1 document",
			"description-rss-only.xml", TypeAtom, "Bibliothèque", TypeRSS,
			"http://opac.ville.example.fr/cgi-bin/opensearch?kw=dune&p=3&n=10&fmt=rss2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseDescription(readFixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if d.shortName != tc.wantName {
				t.Errorf("short name %q, want %q", d.shortName, tc.wantName)
			}
			tpl, err := d.pick(tc.prefer)
			if err != nil {
				t.Fatal(err)
			}
			if tpl.mediaType != tc.wantType {
				t.Errorf("type %q, want %q", tpl.mediaType, tc.wantType)
			}
			if got := tpl.fill("dune", federate.Window{Offset: 20, Limit: 10}); got != tc.wantURL {
				t.Errorf("URL %s\nwant %s", got, tc.wantURL)
			}
		})
	}
}

func TestDescriptionErrors(t *testing.T) {
	const head = `<?xml version="1.0"?><OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/"><ShortName>X</ShortName>`
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"an HTML page", `<!DOCTYPE html><html><head><title>Not found</title></head><body><p>Sorry</body></html>`,
			"HTML page, not an OpenSearch description document"},
		{"an XHTML page", `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>`,
			"HTML page"},
		{"another root element", `<feed xmlns="http://www.w3.org/2005/Atom"></feed>`, "root element is <feed>"},
		{"no Url element", head + `</OpenSearchDescription>`, "no <Url> element"},
		{"only an HTML Url", head + `<Url type="text/html" template="http://x.example/?q={searchTerms}"/></OpenSearchDescription>`,
			"offers no Atom or RSS results Url (it offers: text/html)"},
		{"only suggestions", head + `<Url type="application/atom+xml" rel="suggestions" template="http://x.example/?q={searchTerms}"/></OpenSearchDescription>`,
			"it offers: application/atom+xml (rel suggestions)"},
		{"a required extension parameter", head + `<Url xmlns:geo="http://a9.com/-/opensearch/extensions/geo/1.0/" type="application/atom+xml" template="http://x.example/?q={searchTerms}&amp;b={geo:box}"/></OpenSearchDescription>`,
			"required parameter {geo:box}"},
		{"a bad indexOffset", head + `<Url type="application/rss+xml" indexOffset="one" template="http://x.example/?q={searchTerms}"/></OpenSearchDescription>`,
			`indexOffset "one" is not an integer`},
		{"a relative template", head + `<Url type="application/rss+xml" template="/search?q={searchTerms}"/></OpenSearchDescription>`,
			"absolute http(s)"},
		{"truncated", head + `<Url type="application/rss+xml" template="http://x.exa`, "truncated"},
		{"empty", ``, "empty"},
		{"a second root element", head + `<Url type="application/rss+xml" template="http://x.example/?q={searchTerms}"/></OpenSearchDescription><A/>`, "after the root"},
		{"not XML", `Service Unavailable`, "not an XML document"},
		{"an undeclared entity", head + `&xxe;</OpenSearchDescription>`, "entity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseDescription([]byte(tc.doc))
			if err == nil {
				_, err = d.pick(TypeAtom)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestDescriptionIgnoresForeignMarkup(t *testing.T) {
	doc := `<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/" xmlns:x="http://example.org/ext">
	<ShortName>X</ShortName>
	<x:Url type="application/atom+xml" template="http://evil.example/?q={searchTerms}"/>
	<x:Wrapper><Url type="application/atom+xml" template="http://nested.example/?q={searchTerms}"/></x:Wrapper>
	<Url type="application/atom+xml" template="http://good.example/?q={searchTerms}" x:weight="3"/>
	</OpenSearchDescription>`
	d, err := parseDescription([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := d.pick(TypeAtom)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tpl.raw, "http://good.example/") {
		t.Errorf("picked %s", tpl.raw)
	}
}
