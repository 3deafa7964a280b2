package marc

import (
	"bytes"
	"io"
	"testing"
)

func benchmarkRead(b *testing.B, path string) {
	data := readFile(b, path)
	recs, _, _ := readAll(b, NewReader(bytes.NewReader(data)))
	records := len(recs)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r := NewReader(bytes.NewReader(data))
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
		}
	}
	b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkReadISO2709 reads the 386-record LoC sample (525 KB) from memory.
func BenchmarkReadISO2709(b *testing.B) { benchmarkRead(b, "testdata/loc_bib_sample.mrc") }

// BenchmarkReadMARCXML reads the 300-record Penn State OAI-PMH file (2 MB)
// from memory.
func BenchmarkReadMARCXML(b *testing.B) { benchmarkRead(b, "testdata/pennstate-600.xml") }

// BenchmarkToRecord maps the LoC sample's records, already read.
func BenchmarkToRecord(b *testing.B) {
	recs, _, _ := readAll(b, NewReader(bytes.NewReader(readFile(b, "testdata/loc_bib_sample.mrc"))))
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range recs {
			ToRecord(r)
		}
	}
	b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
}
