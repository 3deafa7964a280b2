package solr

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseResponseVuFindAnswer(t *testing.T) {
	page, err := ParseResponse(readFixture(t, "select.json"), DefaultFields(), "https://catalog.example.edu/Record/{id}")
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 57 || page.Rejected != 2 || len(page.Records) != 4 {
		t.Fatalf("total %d rejected %d records %d, want 57, 2 (no title; not an object), 4", page.Total, page.Rejected, len(page.Records))
	}
	for i := range page.Records {
		page.Records[i].Normalize()
	}
	want := []federate.Record{
		{
			RecordID: "in00000012345", Title: "The hunger games", Authors: []string{"Collins, Suzanne"}, Year: 2008,
			Publisher: "Scholastic Press", Edition: "1st ed.", Series: "The hunger games ; 1",
			Subjects: []string{"Survival -- Fiction.", "Television programs -- Fiction."},
			Format:   federate.FormatBook, Language: "eng",
			Identifiers: federate.Identifiers{ISBN: []string{"9780439023481"}, OCLC: []string{"181516677"}, LCCN: []string{"2007039987"}},
			Links: []federate.Link{
				{URL: "https://catalog.example.edu/Record/in00000012345", Label: "Catalogue record"},
				{URL: "https://catalog.example.edu/ebook/hg1", Label: "Online access"},
			},
		},
		{
			RecordID: "in00000099999", Title: "Catching fire", Authors: []string{"Collins, Suzanne", "Collins, Suzanne, narrator."},
			Year: 2009, Subjects: []string{"Survival -- Fiction."}, Format: federate.FormatAudio, Language: "eng",
			Identifiers: federate.Identifiers{ISBN: []string{"9780545101349"}},
			Links:       []federate.Link{{URL: "https://catalog.example.edu/Record/in00000099999", Label: "Catalogue record"}},
		},
		{
			RecordID: "4242", Title: "Nature", Year: 1869, Publisher: "Macmillan Journals Ltd.", Format: federate.FormatJournal,
			Language: "eng", Identifiers: federate.Identifiers{ISSN: []string{"0028-0836", "1476-4687"}},
			Links: []federate.Link{{URL: "https://catalog.example.edu/Record/4242", Label: "Catalogue record"}},
		},
		{
			RecordID: "in00000077777", Title: "Война и мир", Authors: []string{"Толстой, Лев"}, Year: 1869,
			Format: federate.FormatBook, Language: "rus",
			Links: []federate.Link{{URL: "https://catalog.example.edu/Record/in00000077777", Label: "Catalogue record"}},
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
		err     string
		code    int // SolrError code expected, 0 for none
		html    bool
	}{
		{"nothing found", string(readFixture(t, "empty.json")), 0, 0, "", 0, false},
		{"numFound as a string", `{"response":{"numFound":"3","docs":[{"id":"a","title":"T"}]}}`, 3, 1, "", 0, false},
		{"numFound missing", `{"response":{"docs":[{"id":"a","title":"T"}]}}`, -1, 1, "", 0, false},
		{"docs missing", `{"response":{"numFound":0}}`, 0, 0, "", 0, false},
		{"fields of odd types are skipped", `{"response":{"numFound":1,"docs":[{"id":"a","title":"T","author":{"x":1},"isbn":[true,null,7],"publishDate":false}]}}`, 1, 1, "", 0, false},
		{"a Solr error", string(readFixture(t, "error.json")), 0, 0, "Solr error 400: org.apache.solr.search.SyntaxError", 400, false},
		{"an error without msg", `{"error":{"trace":"java.lang.NullPointerException\n\tat x","code":500}}`, 0, 0, "Solr error 500: java.lang.NullPointerException", 500, false},
		{"an HTML page", `<html><body>Jetty</body></html>`, 0, 0, "HTML page", 0, true},
		{"docs a string", `{"response":{"numFound":1,"docs":"oops"}}`, 0, 0, "docs is a string, not a list", 0, false},
		{"response a list", `{"response":[]}`, 0, 0, "response section is a list", 0, false},
		{"no response section", `{"responseHeader":{"status":0}}`, 0, 0, "no \"response\" section", 0, false},
		{"a list", `[]`, 0, 0, "response is a list", 0, false},
		{"truncated", `{"response":{"numFound":1,"docs":[{"id":"a","ti`, 0, 0, "unreadable JSON", 0, false},
		{"empty", ``, 0, 0, "empty response body", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			page, err := ParseResponse([]byte(tt.body), DefaultFields(), "")
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
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			var se *SolrError
			if errors.As(err, &se) != (tt.code != 0) || (se != nil && se.Code != tt.code) {
				t.Errorf("SolrError %+v, want code %d", se, tt.code)
			}
			if errors.Is(err, ErrHTML) != tt.html {
				t.Errorf("ErrHTML %v, want %v", errors.Is(err, ErrHTML), tt.html)
			}
		})
	}
}
