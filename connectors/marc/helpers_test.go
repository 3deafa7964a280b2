package marc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"unicode/utf8"
)

// readAll drains a Reader: the records, the record errors, and the fatal
// error if there was one (nil at a clean io.EOF).
func readAll(t testing.TB, r *Reader) (recs []*Record, rerrs []*RecordError, fatal error) {
	t.Helper()
	for i := 0; ; i++ {
		if i > 1_000_000 {
			t.Fatal("reader does not reach the end")
		}
		rec, err := r.Next()
		if err == io.EOF {
			return recs, rerrs, nil
		}
		var re *RecordError
		if errors.As(err, &re) {
			rerrs = append(rerrs, re)
			continue
		}
		if err != nil {
			return recs, rerrs, err
		}
		recs = append(recs, rec)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encodeISO writes rec as ISO 2709 with a correct leader length, base
// address and directory.
func encodeISO(rec *Record) []byte {
	var dir, data bytes.Buffer
	add := func(tag string, body []byte) {
		fmt.Fprintf(&dir, "%s%04d%05d", tag, len(body)+1, data.Len())
		data.Write(body)
		data.WriteByte(fieldTerminator)
	}
	for _, f := range rec.Control {
		add(f.Tag, []byte(f.Value))
	}
	for _, f := range rec.Data {
		b := []byte{f.Ind1, f.Ind2}
		for _, s := range f.Subfields {
			b = append(b, subfieldDelim, s.Code)
			b = append(b, s.Value...)
		}
		add(f.Tag, b)
	}
	dir.WriteByte(fieldTerminator)
	base := 24 + dir.Len()
	total := base + data.Len() + 1
	leader := []byte(rec.Leader)
	for len(leader) < 24 {
		leader = append(leader, ' ')
	}
	leader = leader[:24]
	copy(leader[0:5], fmt.Sprintf("%05d", total))
	copy(leader[12:17], fmt.Sprintf("%05d", base))
	out := append(leader, dir.Bytes()...)
	out = append(out, data.Bytes()...)
	return append(out, recordTerminator)
}

// checkUTF8 fails unless every string in rec is valid UTF-8.
func checkUTF8(t testing.TB, rec *Record) {
	t.Helper()
	bad := func(what, s string) {
		if !utf8.ValidString(s) {
			t.Fatalf("%s is not valid UTF-8: %q", what, s)
		}
	}
	bad("leader", rec.Leader)
	for _, f := range rec.Control {
		bad("tag", f.Tag)
		bad(f.Tag, f.Value)
	}
	for _, f := range rec.Data {
		bad("tag", f.Tag)
		for _, s := range f.Subfields {
			bad(f.Tag+"$"+string(s.Code), s.Value)
			if s.Code >= utf8.RuneSelf {
				t.Fatalf("subfield code %#x is not ASCII", s.Code)
			}
		}
		if f.Ind1 >= utf8.RuneSelf || f.Ind2 >= utf8.RuneSelf {
			t.Fatalf("indicators %#x %#x are not ASCII", f.Ind1, f.Ind2)
		}
	}
}

func sampleRecord() *Record {
	return &Record{
		Leader:  "00000nam a2200000 i 4500",
		Control: []ControlField{{Tag: "001", Value: "rec-1"}, {Tag: "008", Value: "080101s2008    nyu           000 1 eng d"}},
		Data: []DataField{
			{Tag: "020", Ind1: ' ', Ind2: ' ', Subfields: []Subfield{{Code: 'a', Value: "0439023483 (hbk.)"}}},
			{Tag: "100", Ind1: '1', Ind2: ' ', Subfields: []Subfield{{Code: 'a', Value: "Collins, Suzanne."}}},
			{Tag: "245", Ind1: '1', Ind2: '4', Subfields: []Subfield{{Code: 'a', Value: "The hunger games /"}, {Code: 'c', Value: "Suzanne Collins."}}},
		},
	}
}
