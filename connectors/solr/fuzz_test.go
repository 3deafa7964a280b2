package solr

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseSolr feeds arbitrary bodies to the response parser: it must
// never panic, and the records it returns have an id and a title.
func FuzzParseSolr(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"response":{"numFound":1e400,"docs":[{"id":[[]],"title":[""," "]}]}}`,
		`{"error":"boom"}`, `{"error":{"code":"400","msg":7}}`, `<`, `{"response":{"docs":[null,{},{"id":-1,"title":1}]}}`,
	} {
		f.Add([]byte(s))
	}
	fields := DefaultFields()
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := ParseResponse(body, fields, "https://x.example/Record/{id}")
		if err != nil {
			return
		}
		if page.Rejected < 0 || page.Total < -1 {
			t.Fatalf("page %+v", page)
		}
		for _, r := range page.Records {
			if r.RecordID == "" || r.Title == "" {
				t.Fatalf("record without id or title: %+v", r)
			}
			r.Normalize()
		}
	})
}
