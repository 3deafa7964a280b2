package opensearch

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

func TestParseAtomFixture(t *testing.T) {
	base, _ := url.Parse("https://catalogue.harbour.example.org/opensearch/atom?q=war")
	f, err := parseFeed(readFixture(t, "feed-atom.xml"), base)
	if err != nil {
		t.Fatal(err)
	}
	if f.format != "atom" || f.total != 1284 || f.startIndex != 1 || f.itemsPerPage != 5 {
		t.Errorf("feed: format %s total %d startIndex %d itemsPerPage %d", f.format, f.total, f.startIndex, f.itemsPerPage)
	}
	if f.rejected != 1 {
		t.Errorf("rejected %d, want 1 (the entry without a title)", f.rejected)
	}
	want := []federate.Record{
		{
			RecordID: "https://catalogue.harbour.example.org/record/h0001", Title: "The Hunger Games",
			Authors: []string{"Collins, Suzanne"}, Year: 2008, Publisher: "Scholastic Press",
			Format: federate.FormatBook, Language: "eng",
			Subjects:    []string{"Survival -- Fiction", "Television programs -- Fiction"},
			Identifiers: federate.Identifiers{ISBN: []string{"9780439023481", "0-439-02348-3 (hardcover)"}},
			Links:       []federate.Link{{URL: "https://catalogue.harbour.example.org/record/h0001", Label: "Catalogue record"}},
		},
		{
			RecordID: "https://catalogue.harbour.example.org/record/j0042", Title: "Nature (London)",
			Year: 1869, Publisher: "Macmillan Journals", Format: federate.FormatJournal, Language: "eng",
			Identifiers: federate.Identifiers{ISSN: []string{"0028-0836"}},
			Links:       []federate.Link{{URL: "https://catalogue.harbour.example.org/record/j0042", Label: "Catalogue record"}},
		},
		{
			RecordID: "tag:harbour.example.org,2024:a0777",
			Title:    "Molecular structure of nucleic acids: a structure for deoxyribose nucleic acid",
			Authors:  []string{"Watson, J. D.", "Crick, F. H. C."}, Year: 1953, Format: federate.FormatArticle,
			Identifiers: federate.Identifiers{DOI: []string{"10.1038/171737a0", "10.1038/171737A0"}},
			Links:       []federate.Link{{URL: "https://catalogue.harbour.example.org/record/a0777", Label: "Catalogue record"}},
		},
		{
			RecordID: "https://catalogue.harbour.example.org/record/r0005", Title: "Война и мир",
			Authors: []string{"Толстой, Лев Николаевич"}, Year: 1869, Language: "rus",
			Subjects:    []string{"Russian fiction -- 19th century"},
			Identifiers: federate.Identifiers{OCLC: []string{"1234567"}},
			Links:       []federate.Link{{URL: "https://catalogue.harbour.example.org/record/r0005", Label: "Catalogue record"}},
		},
	}
	if !reflect.DeepEqual(f.records, want) {
		t.Errorf("records differ:\n got %+v\nwant %+v", f.records, want)
	}
	// What merging will make of the identifiers.
	r := f.records[0]
	r.Normalize()
	if !reflect.DeepEqual(r.Identifiers.ISBN, []string{"9780439023481"}) {
		t.Errorf("normalised ISBNs %v", r.Identifiers.ISBN)
	}
	r = f.records[2]
	r.Normalize()
	if !reflect.DeepEqual(r.Identifiers.DOI, []string{"10.1038/171737a0"}) {
		t.Errorf("normalised DOIs %v", r.Identifiers.DOI)
	}
}

func TestParseRSSFixture(t *testing.T) {
	base, _ := url.Parse("http://opac.ville.example.fr/cgi-bin/opensearch?kw=tolkien")
	f, err := parseFeed(readFixture(t, "feed-rss.xml"), base)
	if err != nil {
		t.Fatal(err)
	}
	if f.format != "rss" || f.total != 37 || f.startIndex != 1 || f.itemsPerPage != 3 || f.rejected != 0 {
		t.Errorf("feed: %+v", f)
	}
	want := []federate.Record{
		{
			RecordID: "ville-00123", Title: "The Fellowship of the Ring",
			Authors: []string{"Tolkien, J. R. R. (John Ronald Reuel), 1892-1973"}, Year: 1954,
			Publisher: "Allen & Unwin", Language: "eng", // dc:type "Text" stays unknown
			Subjects:    []string{"Middle Earth (Imaginary place) -- Fiction"},
			Identifiers: federate.Identifiers{ISBN: []string{"0-261-10235-4", "978-0-261-10235-4"}},
			Links:       []federate.Link{{URL: "http://opac.ville.example.fr/notice/00123", Label: "Catalogue record"}},
		},
		{
			RecordID: "http://opac.ville.example.fr/notice/00456", Title: "Le Seigneur des anneaux",
			Authors: []string{"Tolkien, J. R. R."}, Year: 2001, Language: "fre",
			Subjects: []string{"Romans fantastiques", "Terre du Milieu (lieu imaginaire)"},
			Links:    []federate.Link{{URL: "http://opac.ville.example.fr/notice/00456", Label: "Catalogue record"}},
		},
		{
			RecordID: "http://opac.ville.example.fr/notice/00789", Title: "The Lord of the Rings. The Fellowship of the Ring",
			Year: 2002, Language: "eng", Format: federate.FormatVideo,
			Identifiers: federate.Identifiers{OCLC: []string{"ocm48138432"}},
			Links:       []federate.Link{{URL: "http://opac.ville.example.fr/notice/00789", Label: "Catalogue record"}},
		},
	}
	if !reflect.DeepEqual(f.records, want) {
		t.Errorf("records differ:\n got %+v\nwant %+v", f.records, want)
	}
}

func TestParseFeedVariants(t *testing.T) {
	for _, tc := range []struct {
		name       string
		doc        string
		wantTotal  int
		wantTitles []string
	}{
		{"RSS with the 1.1 namespace",
			`<rss version="2.0" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"><channel><opensearch:totalResults>2</opensearch:totalResults>
			<item><title>A</title><link>http://x.example/a</link></item><item><title>B</title><guid>b</guid></item></channel></rss>`,
			2, []string{"A", "B"}},
		{"RSS with an atom:link in the item",
			`<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><item><title>A</title><atom:link rel="self" href="http://x.example/self"/><atom:link href="http://x.example/a"/></item></channel></rss>`,
			-1, []string{"A"}},
		{"no totalResults: total unknown",
			`<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>A</title><id>a</id></entry></feed>`,
			-1, []string{"A"}},
		{"an unreadable totalResults: total unknown",
			`<feed xmlns="http://www.w3.org/2005/Atom" xmlns:os="http://a9.com/-/spec/opensearch/1.1/"><os:totalResults>many</os:totalResults></feed>`,
			-1, nil},
		{"an empty answer",
			`<feed xmlns="http://www.w3.org/2005/Atom" xmlns:os="http://a9.com/-/spec/opensearch/1.1/"><os:totalResults>0</os:totalResults></feed>`,
			0, nil},
		{"RSS 1.0 (RDF)",
			`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel/><item><title>A</title><link>http://x.example/a</link></item></rdf:RDF>`,
			-1, []string{"A"}},
		{"HTML entities and a non-UTF-8 encoding",
			"<?xml version=\"1.0\" encoding=\"windows-1252\"?><rss><channel><item><title>Caf\xe9&nbsp;society \x93quoted\x94</title><guid>c</guid></item></channel></rss>",
			-1, []string{"Café society “quoted”"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseFeed([]byte(tc.doc), nil)
			if err != nil {
				t.Fatal(err)
			}
			var titles []string
			for _, r := range f.records {
				titles = append(titles, r.Title)
			}
			if f.total != tc.wantTotal || !reflect.DeepEqual(titles, tc.wantTitles) {
				t.Errorf("total %d titles %q, want %d %q", f.total, titles, tc.wantTotal, tc.wantTitles)
			}
		})
	}
}

func TestParseFeedErrors(t *testing.T) {
	atom := string(readFixture(t, "feed-atom.xml"))
	for _, tc := range []struct {
		name string
		doc  string
		is   error
		want string
	}{
		{"an HTML page", "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>Search</title>", errHTML, "HTML page, not an OpenSearch feed"},
		{"an HTML page without DOCTYPE", "<html><body>Maintenance</body></html>", errHTML, "HTML page"},
		{"a truncated feed", atom[:len(atom)/2], errTruncated, "truncated"},
		{"a feed cut inside a tag", atom[:strings.Index(atom, "<entry>")+4], errTruncated, "truncated"},
		{"a wrong root element", `<searchRetrieveResponse xmlns="http://docs.oasis-open.org/ns/search-ws/sruResponse"/>`, nil,
			`root element is <searchRetrieveResponse xmlns="http://docs.oasis-open.org/ns/search-ws/sruResponse">`},
		{"JSON", `{"results":[]}`, nil, "not an XML document"},
		{"empty", "  \n", errEmpty, "empty"},
		{"nested too deep", "<feed>" + strings.Repeat("<x>", 100) + strings.Repeat("</x>", 100) + "</feed>", errTooDeep, "deeper than 64"},
		{"an entry nested too deep", "<feed><entry>" + strings.Repeat("<x>", 80), errTooDeep, "deeper"},
		{"a second root element", `<feed xmlns="http://www.w3.org/2005/Atom"></feed><entry><title>x</title><id>1</id></entry>`, errAfterRoot, "after the root"},
		{"mismatched tags", "<rss><channel><item></channel></rss>", nil, "syntax error"},
		{"an entity declared in a DOCTYPE", `<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">]><rss><channel><item><title>&a;</title><guid>x</guid></item></channel></rss>`,
			nil, "entity"},
		{"an external entity", `<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><channel><item><title>&x;</title></item></channel></rss>`,
			nil, "entity"},
		{"an unknown character encoding", `<?xml version="1.0" encoding="EBCDIC-US"?><rss/>`, nil, "unsupported character encoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFeed([]byte(tc.doc), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

func TestParseFeedTokenCap(t *testing.T) {
	// Many tiny elements: far more tokens than any real feed of the size.
	doc := "<feed>" + strings.Repeat("<a/>", maxTokens/2+10) + "</feed>"
	if _, err := parseFeed([]byte(doc), nil); !errors.Is(err, errTooLong) {
		t.Errorf("error = %v, want the token cap", err)
	}
}

func TestIdentifiers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want federate.Identifiers
	}{
		{"urn:isbn:9780439023481", federate.Identifiers{ISBN: []string{"9780439023481"}}},
		{"ISBN 0-439-02348-3", federate.Identifiers{ISBN: []string{"0-439-02348-3"}}},
		{"isbn:0394502884 (pbk.)", federate.Identifiers{ISBN: []string{"0394502884 (pbk.)"}}},
		{"0-14-044926-4", federate.Identifiers{ISBN: []string{"0-14-044926-4"}}},
		{"0140449265", federate.Identifiers{}}, // wrong check digit, no scheme: not filed
		{"urn:issn:0028-0836", federate.Identifiers{ISSN: []string{"0028-0836"}}},
		{"0028-0836", federate.Identifiers{ISSN: []string{"0028-0836"}}},
		{"doi:10.1038/171737a0", federate.Identifiers{DOI: []string{"10.1038/171737a0"}}},
		{"https://doi.org/10.1000/xyz123", federate.Identifiers{DOI: []string{"10.1000/xyz123"}}},
		{"info:doi/10.1000/182", federate.Identifiers{DOI: []string{"10.1000/182"}}},
		{"10.1000/182", federate.Identifiers{DOI: []string{"10.1000/182"}}},
		{"(OCoLC)ocm00012345", federate.Identifiers{OCLC: []string{"ocm00012345"}}},
		{"info:lccn/n78890351", federate.Identifiers{LCCN: []string{"n78890351"}}},
		{"https://catalogue.example.org/record/1", federate.Identifiers{}},
		{"QA76.73.G63", federate.Identifiers{}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var got federate.Identifiers
			addIdentifier(&got, tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLanguageAndFormat(t *testing.T) {
	for in, want := range map[string]string{
		"en": "eng", "en-GB": "eng", "eng": "eng", "deu": "ger", "ger": "ger", "fr_CA": "fre", "French": "fre",
		"zho": "chi", "": "", "Klingon": "", "x": "",
	} {
		if got := languageCode(in); got != want {
			t.Errorf("languageCode(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"Book": federate.FormatBook, "eBook": federate.FormatEbook, "Journal article": federate.FormatArticle,
		"Periodical": federate.FormatJournal, "Doctoral thesis": federate.FormatThesis, "MovingImage": federate.FormatVideo,
		"Sound recording": federate.FormatAudio, "Music score": federate.FormatMusic, "Map": federate.FormatMap,
		"Manuscript": federate.FormatArchive, "Text": "", "Image": "",
	} {
		if got := formatOf(in); got != want {
			t.Errorf("formatOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLinksAreResolvedAndOnlyHTTP(t *testing.T) {
	base, _ := url.Parse("https://c.example.org/os/atom?q=x")
	for in, want := range map[string]string{
		"/record/1":                    "https://c.example.org/record/1",
		"record/2":                     "https://c.example.org/os/record/2",
		"http://other.example/r/3":     "http://other.example/r/3",
		"javascript:alert(1)":          "",
		"data:text/html,<b>x</b>":      "",
		"mailto:catalogue@example.org": "",
	} {
		if got := absLink(in, base); got != want {
			t.Errorf("absLink(%q) = %q, want %q", in, got, want)
		}
	}
}
