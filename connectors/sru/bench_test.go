package sru

import (
	"testing"
	"time"
)

// BenchmarkParseMARCXMLResponse parses a 50-record MARCXML page that
// Zebra served for a demo member (testdata/wire/zebra-north-50-marcxml.xml)
// into federate.Records, and reports records/s.
func BenchmarkParseMARCXMLResponse(b *testing.B) {
	body := wire(b, "zebra-north-50-marcxml.xml")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	n := 0
	start := time.Now()
	for b.Loop() {
		r, err := ParseResponse(body)
		if err != nil || len(r.Records) != 50 {
			b.Fatalf("%d records, %v", len(r.Records), err)
		}
		n += len(r.Records)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkToCQL translates a typical fielded boolean query.
func BenchmarkToCQL(b *testing.B) {
	q := mustQuery(b, `(title:hunger OR title:potter) author:collins -"mockingjay" isbn:0439023483 year:2000..2010`)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ToCQL(q, DefaultIndexes()); err != nil {
			b.Fatal(err)
		}
	}
}
