package solr

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

// benchBody is a realistic 50-doc VuFind answer: the fixture's records
// repeated with distinct ids.
func benchBody(b *testing.B) []byte {
	var top struct {
		Response struct {
			Docs []json.RawMessage `json:"docs"`
		} `json:"response"`
	}
	if err := json.Unmarshal(readFixture(b, "select.json"), &top); err != nil {
		b.Fatal(err)
	}
	docs := make([]map[string]any, 0, 50)
	for i := 0; len(docs) < 50; i++ {
		var d map[string]any
		if err := json.Unmarshal(top.Response.Docs[i%4], &d); err != nil {
			b.Fatal(err)
		}
		d["id"] = fmt.Sprintf("in%011d", i)
		docs = append(docs, d)
	}
	body, err := json.Marshal(map[string]any{
		"responseHeader": map[string]any{"status": 0, "QTime": 3},
		"response":       map[string]any{"numFound": 1234, "start": 0, "numFoundExact": true, "docs": docs},
	})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkParseSolr measures reading one 50-record page into records.
func BenchmarkParseSolr(b *testing.B) { benchParse(b, ParseResponse) }

// BenchmarkParseSolrReference measures the reference parser on the same
// page, the baseline ParseSolr is compared with in the same run.
func BenchmarkParseSolrReference(b *testing.B) { benchParse(b, parseResponseReference) }

func benchParse(b *testing.B, parse func([]byte, Fields, string) (federate.Page, error)) {
	body := benchBody(b)
	fields := DefaultFields()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	records := 0
	for b.Loop() {
		page, err := parse(body, fields, "https://catalog.example.edu/Record/{id}")
		if err != nil || len(page.Records) != 50 {
			b.Fatalf("%d records, %v", len(page.Records), err)
		}
		records = len(page.Records)
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
