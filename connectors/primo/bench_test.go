package primo

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

// benchBody is a realistic 50-doc Primo answer: the fixture's books,
// articles, videos and journals repeated with distinct ids.
func benchBody(b *testing.B) []byte {
	var top struct {
		Info json.RawMessage   `json:"info"`
		Docs []json.RawMessage `json:"docs"`
	}
	if err := json.Unmarshal(readFixture(b, "search.json"), &top); err != nil {
		b.Fatal(err)
	}
	docs := make([]any, 0, 50)
	for i := 0; len(docs) < 50; i++ {
		var d map[string]any
		if json.Unmarshal(top.Docs[i%4], &d) != nil {
			b.Fatal("fixture doc")
		}
		pnx := d["pnx"].(map[string]any)
		pnx["control"] = map[string]any{"recordid": []string{fmt.Sprintf("alma99%08d", i)}, "sourceid": "alma"}
		docs = append(docs, d)
	}
	body, err := json.Marshal(map[string]any{"info": map[string]any{"total": 1234, "first": 1, "last": 50}, "docs": docs})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkParsePrimo measures reading one 50-record page into records.
func BenchmarkParsePrimo(b *testing.B) { benchParse(b, ParseResponse) }

// BenchmarkParsePrimoReference measures the reference parser on the same
// page, the baseline ParsePrimo is compared with in the same run.
func BenchmarkParsePrimoReference(b *testing.B) { benchParse(b, parseResponseReference) }

func benchParse(b *testing.B, parse func([]byte, Links) (federate.Page, error)) {
	body := benchBody(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	records := 0
	for b.Loop() {
		page, err := parse(body, Links{RecordURL: recordURL})
		if err != nil || len(page.Records) != 50 {
			b.Fatalf("%d records, %v", len(page.Records), err)
		}
		records = len(page.Records)
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
