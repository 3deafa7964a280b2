package primo

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

const recordURL = "https://primo.example.org/discovery/fulldisplay?docid={id}&context={context}&vid=01INST:MAIN"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseResponseFullAnswer(t *testing.T) {
	page, err := ParseResponse(readFixture(t, "search.json"), Links{RecordURL: recordURL})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 4 {
		t.Errorf("Total = %d, want 4 (sent as the string \"4\")", page.Total)
	}
	if page.Rejected != 2 {
		t.Errorf("Rejected = %d, want 2 (a doc without title, a string in docs)", page.Rejected)
	}
	if len(page.Records) != 4 {
		t.Fatalf("%d records, want 4", len(page.Records))
	}
	for i := range page.Records {
		page.Records[i].Normalize()
	}
	want := []federate.Record{
		{
			RecordID: "alma9923198739103476",
			Title:    "Practical machine learning : tackle the real-world complexities of modern machine learning",
			Authors:  []string{"Gollapudi, Sunila", "Packt Publishing"}, Year: 2016,
			Publisher: "Packt Publishing", Edition: "1st edition", Series: "Community experience distilled",
			Subjects: []string{"Machine learning", "Big data"}, Format: federate.FormatBook, Language: "eng",
			Identifiers: federate.Identifiers{
				ISBN: []string{"9781784394011", "9781784399689"}, OCLC: []string{"939400288"}, LCCN: []string{"2016304221"},
			},
			Links: []federate.Link{
				{URL: "https://primo.example.org/discovery/fulldisplay?docid=alma9923198739103476&context=L&vid=01INST:MAIN", Label: "Catalogue record"},
				{URL: "https://learning.example.org/library/view/9781784394011/", Label: "Online access"},
			},
		},
		{
			RecordID: "cdi_crossref_primary_10_1000_xyz123",
			Title:    "Comparison of methods to reduce bias from clinical prediction models",
			Authors:  []string{"Park, Yoonyoung", "Hu, Jianying", "Singh, Moninder"}, Year: 2021,
			Publisher: "American Medical Association",
			Subjects:  []string{"Bias", "Machine learning", "Postpartum depression"},
			Format:    federate.FormatArticle, Language: "eng",
			Identifiers: federate.Identifiers{ISSN: []string{"2574-3805"}, DOI: []string{"10.1000/xyz123"}},
			Links: []federate.Link{
				{URL: "https://primo.example.org/discovery/fulldisplay?docid=cdi_crossref_primary_10_1000_xyz123&context=PC&vid=01INST:MAIN", Label: "Catalogue record"},
				{URL: "https://resolver.example.org/openurl?rft.doi=10.1000%2Fxyz123", Label: "Online access"},
				{URL: "https://doi.example.org/10.1000/xyz123", Label: "Online access"},
			},
		},
		{
			RecordID: "alma991000123450001", Title: "Casablanca [videorecording]", Authors: []string{"Curtiz, Michael"},
			Year: 1942, Publisher: "Burbank, CA : Warner Home Video", Subjects: []string{"Motion pictures"},
			Format: federate.FormatVideo, Language: "eng",
			Identifiers: federate.Identifiers{OCLC: []string{"12345678"}},
			Links: []federate.Link{
				{URL: "https://primo.example.org/discovery/fulldisplay?docid=alma991000123450001&context=L&vid=01INST:MAIN", Label: "Catalogue record"},
			},
		},
		{
			RecordID: "alma991000987650001", Title: "Nature", Year: 1869, Format: federate.FormatJournal, Language: "eng",
			Identifiers: federate.Identifiers{ISSN: []string{"0028-0836", "1476-4687"}, LCCN: []string{"12014944"}},
			Links: []federate.Link{
				{URL: "https://primo.example.org/discovery/fulldisplay?docid=alma991000987650001&context=L&vid=01INST:MAIN", Label: "Catalogue record"},
			},
		},
	}
	for i, w := range want {
		if !reflect.DeepEqual(page.Records[i], w) {
			t.Errorf("record %d\n got %+v\nwant %+v", i, page.Records[i], w)
		}
	}
}

func TestParseResponseShapes(t *testing.T) {
	tests := []struct {
		title   string
		body    string
		total   int
		records int
		err     string // substring; "" for success
		apiErr  bool
		html    bool
	}{
		{"no docs when nothing matched", string(readFixture(t, "empty.json")), 0, 0, "", false, false},
		{"docs null", `{"info":{"total":0},"docs":null}`, 0, 0, "", false, false},
		{"no info: total unknown", `{"docs":[{"pnx":{"display":{"title":["T"]},"control":{"recordid":["r1"]}}}]}`, -1, 1, "", false, false},
		{"id from @id when control is missing", `{"info":{"total":1},"docs":[{"@id":"https://x/pnxs/L/alma1","pnx":{"display":{"title":"T"}}}]}`, 1, 1, "", false, false},
		{"sections of the wrong type are ignored", `{"info":{"total":"1"},"docs":[{"pnx":{"display":{"title":["T"],"creator":{"x":1},"subject":7},"control":{"recordid":[5]},"addata":"oops"}}]}`, 1, 1, "", false, false},
		{"a total that is not a number is unknown", `{"info":{"total":"many"},"docs":[]}`, -1, 0, "", false, false},
		{"an error body", string(readFixture(t, "error.json")), 0, 0, "INVALID_PARAMETER: Invalid value for parameter q", true, false},
		{"an error body with one error object", `{"errorsExist":true,"errorList":{"error":{"errorCode":"UNAUTHORIZED","errorMessage":"API-key not defined or not configured to allow this API."}}}`, 0, 0, "UNAUTHORIZED", true, false},
		{"an XML error body", `<?xml version="1.0"?><web_service_result><errorsExist>true</errorsExist><errorList><error><errorCode>UNAUTHORIZED</errorCode><errorMessage>API-key not defined</errorMessage></error></errorList></web_service_result>`, 0, 0, "UNAUTHORIZED: API-key not defined", true, false},
		{"an HTML page", "<!DOCTYPE html><html><body>Please log in</body></html>", 0, 0, "HTML page", false, true},
		{"docs a string", `{"info":{"total":1},"docs":"oops"}`, 0, 0, "docs is a string, not a list", false, false},
		{"info a list", `{"info":[1],"docs":[]}`, 0, 0, "info is a list", false, false},
		{"a list instead of an object", `[{"docs":[]}]`, 0, 0, "response is a list", false, false},
		{"a bare string", `"hello"`, 0, 0, "response is a string", false, false},
		{"an empty object", `{}`, 0, 0, "neither info nor docs", false, false},
		{"an empty body", ``, 0, 0, "empty response body", false, false},
		{"truncated JSON", `{"info":{"total":3},"docs":[{"pnx":{"display":{"title":["T`, 0, 0, "unreadable JSON", false, false},
		{"plain text", `Service Unavailable`, 0, 0, "not JSON", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			page, err := ParseResponse([]byte(tt.body), Links{})
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if page.Total != tt.total || len(page.Records) != tt.records {
					t.Fatalf("total %d records %d, want %d and %d", page.Total, len(page.Records), tt.total, tt.records)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.err)
			}
			var ae *APIError
			if errors.As(err, &ae) != tt.apiErr {
				t.Errorf("APIError: %v, want %v", errors.As(err, &ae), tt.apiErr)
			}
			if errors.Is(err, ErrHTML) != tt.html {
				t.Errorf("ErrHTML: %v, want %v", errors.Is(err, ErrHTML), tt.html)
			}
		})
	}
}

func TestCleaning(t *testing.T) {
	for _, tt := range []struct{ title, in, clean, heading string }{
		{"plain text", "Nature", "Nature", "Nature"},
		{"display text with its query form", "Gollapudi, Sunila, author.$$QGollapudi, Sunila", "Gollapudi, Sunila, author.", "Gollapudi, Sunila"},
		{"only a query form", "$$QSmith, John", "Smith, John", "Smith, John"},
		{"label and value", "$$Cdoi$$V10.1000/x", "doi", "doi"},
		{"trailing ISBD punctuation", "The title /", "The title", "The title"},
		{"a lone marker", "$$", "", ""},
		{"a marker at the end", "abc$$Q", "abc", "abc"},
	} {
		t.Run(tt.title, func(t *testing.T) {
			if got := clean(tt.in); got != tt.clean {
				t.Errorf("clean = %q, want %q", got, tt.clean)
			}
			if got := heading(tt.in); got != tt.heading {
				t.Errorf("heading = %q, want %q", got, tt.heading)
			}
		})
	}
}
