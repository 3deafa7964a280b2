package marc

import (
	"bytes"
	"encoding/xml"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestXMLWriterEmptyCollection(t *testing.T) {
	var b bytes.Buffer
	w := NewXMLWriter(&b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<collection xmlns="http://www.loc.gov/MARC21/slim">` + "\n</collection>\n"
	if b.String() != want {
		t.Errorf("got %q", b.String())
	}
	if err := w.Write(sampleRecord()); !errors.Is(err, ErrWriterClosed) {
		t.Errorf("write after close: %v", err)
	}
}

// roundTrip writes recs as MARCXML and reads them back.
func roundTrip(t testing.TB, recs []*Record) ([]*Record, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := NewXMLWriter(&b)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, rerrs, fatal := readAll(t, NewReader(bytes.NewReader(b.Bytes())))
	if fatal != nil || len(rerrs) > 0 {
		t.Fatalf("reading back: %v %v", fatal, rerrs)
	}
	return got, b.Bytes()
}

func TestRoundTripLoC(t *testing.T) {
	recs, _, _ := readAll(t, NewReader(bytes.NewReader(readFile(t, "testdata/loc_bib_sample.mrc"))))
	got, out := roundTrip(t, recs)
	if !reflect.DeepEqual(got, recs) {
		for i := range recs {
			if i < len(got) && !reflect.DeepEqual(got[i], recs[i]) {
				t.Fatalf("record %d differs:\n got %+v\nwant %+v", i+1, got[i], recs[i])
			}
		}
		t.Fatalf("read back %d records, wrote %d", len(got), len(recs))
	}
	// The output is well-formed for a strict, namespace-aware parser.
	var doc struct {
		XMLName xml.Name
		Records []struct{} `xml:"record"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.XMLName.Space != Namespace || len(doc.Records) != 386 {
		t.Errorf("root %v with %d records", doc.XMLName, len(doc.Records))
	}
}

func TestXMLWriterEscaping(t *testing.T) {
	tests := []struct {
		title string
		in    string
		want  string // what reads back
	}{
		{"markup characters", `<a href="x">&amp;</a>`, `<a href="x">&amp;</a>`},
		{"carriage return and tab survive", "a\r\nb\tc", "a\r\nb\tc"},
		{"C0 controls are dropped", "a\x00b\x1fc\x1ed", "abcd"},
		{"invalid UTF-8 becomes U+FFFD", "caf\xe9", "caf\uFFFD"},
		{"noncharacters are dropped", "a\uFFFEb\uFFFFc", "abc"},
		{"non-Latin scripts pass", "東京 Москва القاهرة", "東京 Москва القاهرة"},
		{"CDATA end marker", "]]>", "]]>"},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			rec := sampleRecord()
			rec.Data[2].Subfields[0].Value = tt.in
			rec.Control[0].Value = tt.in
			got, _ := roundTrip(t, []*Record{rec})
			if v := got[0].Fields("245")[0].Value('a'); v != tt.want {
				t.Errorf("subfield: got %q, want %q", v, tt.want)
			}
			if v := got[0].ControlValue("001"); v != tt.want {
				t.Errorf("controlfield: got %q, want %q", v, tt.want)
			}
		})
	}
}

func TestXMLWriterOddIndicators(t *testing.T) {
	rec := sampleRecord()
	rec.Data[0].Ind1, rec.Data[0].Ind2 = 0, '"'
	got, out := roundTrip(t, []*Record{rec})
	if f := got[0].Data[0]; f.Ind1 != ' ' || f.Ind2 != '"' {
		t.Errorf("indicators %q %q", f.Ind1, f.Ind2)
	}
	if !strings.Contains(string(out), `ind1=" " ind2="&quot;"`) {
		t.Errorf("output: %s", out)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestXMLWriterReportsWriteErrors(t *testing.T) {
	w := NewXMLWriter(&failWriter{n: 100})
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = w.Write(sampleRecord())
	}
	if err == nil {
		err = w.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("got %v", err)
	}
}
