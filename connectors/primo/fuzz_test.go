package primo

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParsePrimo feeds arbitrary bodies to the response parser: it must
// never panic, and what it returns must be usable (records with an id and
// a title, a count of rejects that is never negative).
func FuzzParsePrimo(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"info":{"total":"1"},"docs":[{"pnx":{"display":{"title":"$$Q","identifier":["$$C$$V","$$CISBN$$V;;"]},"control":{"recordid":["$$"]}}}]}`,
		`{"docs":[{"@id":"/","pnx":{"display":{"title":[[["x"]]],"creationdate":["99999999"]}}}]}`,
		`{"errorsExist":"true","errorList":{"error":[]}}`,
		`<html>`, `<errorsExist>true</errorsExist><errorMessage>`, `{"info":null,"docs":[null,1,"x",{}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := ParseResponse(body, Links{RecordURL: "https://x.example/fulldisplay?docid={id}&context={context}"})
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
