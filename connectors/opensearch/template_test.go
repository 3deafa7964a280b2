package opensearch

import (
	"net/url"
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

func mustTemplate(t *testing.T, raw string, ns map[string]string, indexOffset, pageOffset int) *urlTemplate {
	t.Helper()
	tpl, err := compileTemplate(raw, ns, indexOffset, pageOffset)
	if err != nil {
		t.Fatalf("compileTemplate(%q): %v", raw, err)
	}
	return tpl
}

func TestTemplateFillsPagingAndCoreParameters(t *testing.T) {
	geo := map[string]string{"geo": "http://a9.com/-/opensearch/extensions/geo/1.0/"}
	for _, tc := range []struct {
		name        string
		template    string
		ns          map[string]string
		index, page int
		w           federate.Window
		want        string
	}{
		{"startIndex counts from 1 by default", "https://c.example.org/s?q={searchTerms}&start={startIndex}&n={count}",
			nil, 1, 1, federate.Window{Offset: 0, Limit: 20}, "https://c.example.org/s?q=dune&start=1&n=20"},
		{"startIndex of the third page of 10", "https://c.example.org/s?q={searchTerms}&start={startIndex?}&n={count?}",
			nil, 1, 1, federate.Window{Offset: 20, Limit: 10}, "https://c.example.org/s?q=dune&start=21&n=10"},
		{"indexOffset 0 counts from 0", "https://c.example.org/s?q={searchTerms}&start={startIndex}",
			nil, 0, 1, federate.Window{Offset: 20, Limit: 10}, "https://c.example.org/s?q=dune&start=20"},
		{"startPage from pageOffset 1", "https://c.example.org/s?q={searchTerms}&p={startPage}&n={count}",
			nil, 1, 1, federate.Window{Offset: 20, Limit: 10}, "https://c.example.org/s?q=dune&p=3&n=10"},
		{"startPage from pageOffset 0", "https://c.example.org/s?q={searchTerms}&p={startPage?}&n={count}",
			nil, 1, 0, federate.Window{Offset: 20, Limit: 10}, "https://c.example.org/s?q=dune&p=2&n=10"},
		{"optional language is left empty, a required one is any language", "https://c.example.org/s?q={searchTerms}&l={language?}&L={language}",
			nil, 1, 1, federate.Window{Limit: 5}, "https://c.example.org/s?q=dune&l=&L=%2A"},
		{"encodings are UTF-8", "https://c.example.org/s?q={searchTerms}&ie={inputEncoding}&oe={outputEncoding?}",
			nil, 1, 1, federate.Window{Limit: 5}, "https://c.example.org/s?q=dune&ie=UTF-8&oe=UTF-8"},
		{"an optional extension parameter is left empty", "https://c.example.org/s?q={searchTerms}&box={geo:box?}",
			geo, 1, 1, federate.Window{Limit: 5}, "https://c.example.org/s?q=dune&box="},
		{"an optional unknown parameter is left empty", "https://c.example.org/s?q={searchTerms}&x={sortBy?}",
			nil, 1, 1, federate.Window{Limit: 5}, "https://c.example.org/s?q=dune&x="},
		{"a core parameter under a prefix bound to the OpenSearch namespace", "https://c.example.org/s?q={os:searchTerms}&n={os:count}",
			map[string]string{"os": nsOpenSearch11}, 1, 1, federate.Window{Limit: 7}, "https://c.example.org/s?q=dune&n=7"},
		{"searchTerms in the path", "https://c.example.org/api/{searchTerms}/atom",
			nil, 1, 1, federate.Window{Limit: 5}, "https://c.example.org/api/dune/atom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl := mustTemplate(t, tc.template, tc.ns, tc.index, tc.page)
			if got := tpl.fill("dune", tc.w); got != tc.want {
				t.Errorf("fill = %s\nwant   %s", got, tc.want)
			}
		})
	}
}

func TestTemplateEncodingNeverChangesTheURLStructure(t *testing.T) {
	long := strings.Repeat("ab&c=d ", 143)[:1000]
	for _, tc := range []struct {
		name, terms string
	}{
		{"ampersand and equals", "tom & jerry = cat"},
		{"hash and question mark", "c# programming? yes"},
		{"slash and plus", "and/or c++ 1+1"},
		{"percent signs", "100% %41 %zz"},
		{"Cyrillic", "Война и мир"},
		{"Chinese and Arabic", "紅樓夢 ألف ليلة وليلة"},
		{"quotes and brackets", `"the hobbit" (1937) [map]`},
		{"1,000 characters of delimiters", long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := mustTemplate(t, "https://c.example.org/s?q={searchTerms}&fmt=atom#top", nil, 1, 1)
			u, err := url.Parse(q.fill(tc.terms, federate.Window{Limit: 10}))
			if err != nil {
				t.Fatal(err)
			}
			vals := u.Query()
			if got := vals.Get("q"); got != tc.terms {
				t.Errorf("q decodes to %q, want %q", got, tc.terms)
			}
			if len(vals) != 2 || vals.Get("fmt") != "atom" || u.Fragment != "top" || u.Host != "c.example.org" {
				t.Errorf("structure changed: %s", u)
			}

			p := mustTemplate(t, "https://c.example.org/api/{searchTerms}/atom", nil, 1, 1)
			u, err = url.Parse(p.fill(tc.terms, federate.Window{Limit: 10}))
			if err != nil {
				t.Fatal(err)
			}
			seg := strings.Split(u.EscapedPath(), "/")
			if len(seg) != 4 || seg[3] != "atom" || u.RawQuery != "" || u.Fragment != "" {
				t.Fatalf("structure changed: %s", u)
			}
			if got, _ := url.PathUnescape(seg[2]); got != tc.terms {
				t.Errorf("path segment decodes to %q, want %q", got, tc.terms)
			}
		})
	}
}

func TestTemplateSpaceIsPercent20(t *testing.T) {
	tpl := mustTemplate(t, "https://c.example.org/s?q={searchTerms}", nil, 1, 1)
	if got := tpl.fill("a b+c", federate.Window{Limit: 1}); got != "https://c.example.org/s?q=a%20b%2Bc" {
		t.Errorf("got %s", got)
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, tc := range []struct {
		name, template, want string
	}{
		{"no searchTerms", "https://c.example.org/s?start={startIndex}", "no {searchTerms}"},
		{"relative URL", "/s?q={searchTerms}", "absolute http(s)"},
		{"another scheme", "ftp://c.example.org/s?q={searchTerms}", "absolute http(s)"},
		{"no host", "https:///s?q={searchTerms}", "no host"},
		{"unclosed parameter", "https://c.example.org/s?q={searchTerms", "never closed"},
		{"required extension parameter", "https://c.example.org/s?q={searchTerms}&b={geo:box}", "{geo:box}"},
		{"required unknown parameter", "https://c.example.org/s?q={searchTerms}&k={apiKey}", "{apiKey}"},
		{"empty parameter", "https://c.example.org/s?q={searchTerms}&x={}", `"{}" is not a parameter`},
		{"the host comes from an optional parameter", "https://{host?}/s?q={searchTerms}", "no host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compileTemplate(tc.template, nil, 1, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestPlanAdaptsTheWindowToTheTemplatesPaging(t *testing.T) {
	for _, tc := range []struct {
		name     string
		template string
		w        federate.Window
		want     request
	}{
		{"startIndex pages exactly", "https://c.example.org/?q={searchTerms}&s={startIndex}",
			federate.Window{Offset: 15, Limit: 10}, request{w: federate.Window{Offset: 15, Limit: 10}}},
		{"startPage on a page boundary", "https://c.example.org/?q={searchTerms}&p={startPage}&n={count}",
			federate.Window{Offset: 20, Limit: 10}, request{w: federate.Window{Offset: 20, Limit: 10}}},
		{"startPage between pages asks from the start", "https://c.example.org/?q={searchTerms}&p={startPage}&n={count}",
			federate.Window{Offset: 15, Limit: 10}, request{w: federate.Window{Offset: 0, Limit: 25}, skip: 15}},
		{"startPage without count: first page only", "https://c.example.org/?q={searchTerms}&p={startPage}",
			federate.Window{Offset: 10, Limit: 10}, request{w: federate.Window{Offset: 0, Limit: 20}, skip: 10}},
		{"no paging at all", "https://c.example.org/?q={searchTerms}",
			federate.Window{Offset: 0, Limit: 50}, request{w: federate.Window{Offset: 0, Limit: 50}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustTemplate(t, tc.template, nil, 1, 1).plan(tc.w); got != tc.want {
				t.Errorf("plan = %+v, want %+v", got, tc.want)
			}
		})
	}
}
