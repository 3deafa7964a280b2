package marc

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/commonshelf/commonshelf/federate"
)

// FuzzReader feeds arbitrary bytes to the Reader. It must not panic, must
// reach io.EOF or a fatal error in a bounded number of calls, must only
// return valid UTF-8, and every record it returns must survive a round trip
// through the XML writer.
func FuzzReader(f *testing.F) {
	f.Add(encodeISO(sampleRecord()))
	f.Add([]byte(`<collection xmlns="http://www.loc.gov/MARC21/slim"><record><leader>00000nam a2200000 a 4500</leader>` +
		`<controlfield tag="001">x</controlfield><datafield tag="245" ind1="1" ind2="0"><subfield code="a">T &amp; U</subfield></datafield></record></collection>`))
	f.Add([]byte(`<marc:record xmlns:marc="http://www.loc.gov/MARC21/slim"><marc:datafield tag="020" ind1=" " ind2=" "><marc:subfield code="a">0394502884 (pbk.)</marc:subfield></marc:datafield></marc:record>`))
	f.Add([]byte("00026nam  2200025   4500\x1e\x1d"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		var recs []*Record
		for calls := 0; ; calls++ {
			if calls > len(data)+2 {
				t.Fatalf("%d calls to Next on %d bytes of input", calls, len(data))
			}
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			var re *RecordError
			if errors.As(err, &re) {
				if !utf8.ValidString(re.Error()) || re.Index < 1 {
					t.Fatalf("bad record error %#v", re)
				}
				continue
			}
			if err != nil {
				if _, err2 := r.Next(); err2 != err {
					t.Fatalf("fatal error not sticky: %v then %v", err, err2)
				}
				break
			}
			checkUTF8(t, rec)
			recs = append(recs, rec)
			if _, err := ToRecord(rec); err != nil && !errors.Is(err, ErrNoControlNumber) && !errors.Is(err, ErrNoTitle) {
				t.Fatal(err)
			}
		}
		if len(recs) == 0 {
			return
		}
		var b bytes.Buffer
		w := NewXMLWriter(&b)
		for _, rec := range recs {
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		back, rerrs, fatal := readAll(t, NewReader(&b))
		if fatal != nil || len(rerrs) > 0 {
			t.Fatalf("reading the writer's output: %v %v\n%s", fatal, rerrs, b.String())
		}
		if len(back) != len(recs) {
			t.Fatalf("wrote %d records, read %d", len(recs), len(back))
		}
		for i := range recs {
			if want := xmlVisible(recs[i]); !reflect.DeepEqual(back[i], want) {
				t.Fatalf("record %d changed in the round trip:\n got %#v\nwant %#v", i+1, back[i], want)
			}
		}
	})
}

// xmlVisible is rec as it reads back from MARCXML: characters XML 1.0 cannot
// carry are gone.
func xmlVisible(rec *Record) *Record {
	drop := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
				return -1
			}
			return r
		}, s)
	}
	out := &Record{Leader: drop(rec.Leader)}
	for _, c := range rec.Control {
		out.Control = append(out.Control, ControlField{Tag: c.Tag, Value: drop(c.Value)})
	}
	for _, d := range rec.Data {
		nd := DataField{Tag: d.Tag, Ind1: d.Ind1, Ind2: d.Ind2}
		for _, s := range d.Subfields {
			nd.Subfields = append(nd.Subfields, Subfield{Code: s.Code, Value: drop(s.Value)})
		}
		out.Data = append(out.Data, nd)
	}
	return out
}

// FuzzToRecord maps records built from arbitrary strings, invalid UTF-8
// included; the result must hold valid UTF-8 only.
func FuzzToRecord(f *testing.F) {
	f.Add("00000nam a2200000 a 4500", "080101s2008    nyu     o     000 1 eng d", "a0394502884 (pbk.)\x1fz1\x1fa(OCoLC)ocm0012", "aTitle :\x1fbsub /")
	f.Add("", "", "", "")
	f.Add("x", "\xff\xfe", "a\xff", "\x00")
	f.Fuzz(func(t *testing.T, leader, f008, ids, title string) {
		sub := func(s string) []Subfield {
			var out []Subfield
			for _, p := range strings.Split(s, "\x1f") {
				if p != "" {
					out = append(out, Subfield{Code: p[0], Value: p[1:]})
				}
			}
			return out
		}
		var data []DataField
		for _, tag := range []string{"010", "020", "022", "024", "035", "100", "110", "245", "250", "260", "264", "490", "650", "700", "830", "856"} {
			v := ids
			if tag == "245" || tag == "100" || tag == "650" {
				v = title
			}
			data = append(data, DataField{Tag: tag, Ind1: '7', Ind2: '1', Subfields: sub(v)})
		}
		rec := &Record{Leader: leader, Control: []ControlField{{Tag: "001", Value: ids}, {Tag: "003", Value: "OCoLC"}, {Tag: "008", Value: f008}}, Data: data}
		got, err := ToRecord(rec)
		if err != nil {
			return
		}
		checkMapped(t, got)
	})
}

func checkMapped(t *testing.T, r federate.Record) {
	t.Helper()
	all := []string{r.RecordID, r.Title, r.Publisher, r.Edition, r.Format, r.Language, r.Series}
	all = append(all, r.Authors...)
	all = append(all, r.Subjects...)
	for _, l := range [][]string{r.Identifiers.ISBN, r.Identifiers.ISSN, r.Identifiers.OCLC, r.Identifiers.LCCN, r.Identifiers.DOI} {
		all = append(all, l...)
	}
	for _, l := range r.Links {
		all = append(all, l.URL, l.Label)
	}
	for _, s := range all {
		if !utf8.ValidString(s) || s != strings.TrimSpace(s) {
			t.Fatalf("bad string %q in %+v", s, r)
		}
	}
	if r.Title == "" || r.RecordID == "" {
		t.Fatalf("empty title or id mapped without error: %+v", r)
	}
}
