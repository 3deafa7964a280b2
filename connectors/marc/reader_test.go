package marc

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadSamples(t *testing.T) {
	tests := []struct {
		title       string
		path        string
		wantRecords int
		wantErrors  int
	}{
		{"LoC binary sample: every record reads", "testdata/loc_bib_sample.mrc", 386, 0},
		// 300 OAI-PMH envelopes, each with one MARC record (the README's
		// "600" counts both kinds of <record>); one record has a subfield
		// code that is a broken UTF-8 byte.
		{"Penn State OAI-PMH MARCXML: the broken subfield code is skipped", "testdata/pennstate-600.xml", 299, 1},
		{"TRLN Duke binary with several records", "testdata/trln/base.mrc", 6, 0},
		{"TRLN record with leader/09 blank", "testdata/trln/resource_type_19.mrc", 1, 0},
		{"TRLN MARCXML with marc: prefix", "testdata/trln/long_title.xml", 1, 0},
		{"TRLN bad-490 MARCXML is still well-formed", "testdata/trln/bad-490.xml", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			r, c, err := Open(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			recs, rerrs, fatal := readAll(t, r)
			if fatal != nil {
				t.Fatalf("fatal error: %v", fatal)
			}
			for _, re := range rerrs {
				t.Logf("skipped: %v", re)
			}
			if len(recs) != tt.wantRecords || len(rerrs) != tt.wantErrors {
				t.Errorf("read %d records and %d record errors, want %d and %d", len(recs), len(rerrs), tt.wantRecords, tt.wantErrors)
			}
			for _, rec := range recs {
				checkUTF8(t, rec)
			}
		})
	}
}

func TestPennStateRecordError(t *testing.T) {
	r, c, err := Open("testdata/pennstate-600.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, rerrs, _ := readAll(t, r)
	if len(rerrs) != 1 {
		t.Fatalf("got %d record errors", len(rerrs))
	}
	re := rerrs[0]
	if re.Index != 114 || !strings.Contains(re.Reason, "subfield code") {
		t.Errorf("got %+v, want record 114 with a bad subfield code", re)
	}
}

// loc returns the LoC sample and the byte offsets where its records start.
func loc(t testing.TB) ([]byte, []int) {
	data := readFile(t, "testdata/loc_bib_sample.mrc")
	var starts []int
	for i := 0; i < len(data); {
		starts = append(starts, i)
		j := bytes.IndexByte(data[i:], recordTerminator)
		if j < 0 {
			break
		}
		i += j + 1
	}
	return data, starts
}

func TestISO2709Damage(t *testing.T) {
	data, starts := loc(t)
	const first, second = "20593163", "16901760"
	tests := []struct {
		title      string
		damage     func(b []byte) []byte
		wantFirst  string // 001 of the first record read
		wantErrors int
		wantReads  int
		reason     string
	}{
		{
			title:     "a non-numeric record length is reported and the next record still reads",
			damage:    func(b []byte) []byte { copy(b, "02x11"); return b },
			wantFirst: second, wantErrors: 1, wantReads: 385, reason: "not a number",
		},
		{
			title:     "a numeric but wrong record length is recovered from the terminator",
			damage:    func(b []byte) []byte { copy(b, "00100"); return b },
			wantFirst: first, wantReads: 386,
		},
		{
			title:     "a length longer than the record is recovered from the terminator",
			damage:    func(b []byte) []byte { copy(b, "99999"); return b },
			wantFirst: first, wantReads: 386,
		},
		{
			title:     "a wrong base address is ignored",
			damage:    func(b []byte) []byte { copy(b[12:17], "00007"); return b },
			wantFirst: first, wantReads: 386,
		},
		{
			title: "a directory with wrong lengths is recovered when the field count matches",
			damage: func(b []byte) []byte {
				copy(b[24+3:24+7], "0001") // first entry's length
				return b
			},
			wantFirst: first, wantReads: 386,
		},
		{
			title: "a directory that lists a field too many is reported",
			damage: func(b []byte) []byte {
				// Replace the directory terminator by one more entry's worth.
				end := bytes.IndexByte(b, fieldTerminator)
				out := append([]byte{}, b[:end]...)
				out = append(out, "500000100000"...)
				return append(out, b[end:]...)
			},
			wantFirst: second, wantErrors: 1, wantReads: 385, reason: "directory",
		},
		{
			title:     "a file cut inside the third record ends with one record error",
			damage:    func(b []byte) []byte { return b[:starts[2]+100] },
			wantFirst: first, wantErrors: 1, wantReads: 2, reason: "truncated",
		},
		{
			title: "line breaks between records are skipped",
			damage: func(b []byte) []byte {
				return bytes.ReplaceAll(b, []byte{recordTerminator}, []byte{recordTerminator, '\r', '\n'})
			},
			wantFirst: first, wantReads: 386,
		},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			b := tt.damage(append([]byte{}, data...))
			recs, rerrs, fatal := readAll(t, NewReader(bytes.NewReader(b)))
			if fatal != nil {
				t.Fatalf("fatal: %v", fatal)
			}
			if len(recs) != tt.wantReads || len(rerrs) != tt.wantErrors {
				t.Fatalf("read %d, %d errors; want %d, %d (%v)", len(recs), len(rerrs), tt.wantReads, tt.wantErrors, rerrs)
			}
			if got := recs[0].ControlValue("001"); got != tt.wantFirst {
				t.Errorf("first record read is %q, want %q", got, tt.wantFirst)
			}
			if tt.wantErrors > 0 {
				if !strings.Contains(rerrs[0].Reason, tt.reason) {
					t.Errorf("reason %q does not mention %q", rerrs[0].Reason, tt.reason)
				}
				if rerrs[0].Index < 1 {
					t.Errorf("index %d", rerrs[0].Index)
				}
			}
		})
	}
}

func TestISO2709Encodings(t *testing.T) {
	tests := []struct {
		title string
		raw   string // value of 245 $a as bytes on the wire
		l09   byte
		want  string
	}{
		{"MARC-8 acute accent before its letter", "Caf\xE2e", ' ', "Café"},
		{"MARC-8 special letter", "\xA1od\xE2z", ' ', "Łodź"},
		{"MARC-8 unknown byte", "a\x85b", ' ', "a\uFFFDb"},
		{"MARC-8 escape to another set", "x \x1b$1\x21\x30\x21 y\x1b(B z", ' ', "x \uFFFD  z"},
		{"blank leader/09 but valid UTF-8", "Café", ' ', "Café"},
		{"UTF-8 record with a stray byte", "Caf\xe9", 'a', "Caf\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			rec := sampleRecord()
			rec.Leader = rec.Leader[:9] + string(tt.l09) + rec.Leader[10:]
			rec.Data[2].Subfields[0].Value = tt.raw
			got, err := NewReader(bytes.NewReader(encodeISO(rec))).Next()
			if err != nil {
				t.Fatal(err)
			}
			checkUTF8(t, got)
			if v := got.Fields("245")[0].Value('a'); v != tt.want {
				t.Errorf("got %q, want %q", v, tt.want)
			}
		})
	}
}

func TestXMLInputs(t *testing.T) {
	const rec1 = `<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">one</controlfield>` +
		`<datafield tag="245" ind1="1" ind2="0"><subfield code="a">First</subfield></datafield></record>`
	const rec2 = `<record><controlfield tag="001">two</controlfield></record>`
	tests := []struct {
		title     string
		in        string
		wantIDs   []string
		wantErrs  int
		wantFatal string
	}{
		{"a bare record without a collection", rec1, []string{"one"}, 0, ""},
		{"a collection in the slim namespace", `<?xml version="1.0"?><collection xmlns="http://www.loc.gov/MARC21/slim">` + rec1 + rec2 + `</collection>`, []string{"one", "two"}, 0, ""},
		{"marc: prefix, declared", `<marc:collection xmlns:marc="http://www.loc.gov/MARC21/slim"><marc:record><marc:controlfield tag="001">p</marc:controlfield></marc:record></marc:collection>`, []string{"p"}, 0, ""},
		{"marc: prefix, never declared", `<marc:record><marc:controlfield tag="001">q</marc:controlfield></marc:record>`, []string{"q"}, 0, ""},
		{"records inside an SRU envelope", `<searchRetrieveResponse xmlns="http://www.loc.gov/zing/srw/"><records><record><recordData>` +
			`<record xmlns="http://www.loc.gov/MARC21/slim"><controlfield tag="001">s</controlfield></record></recordData></record></records></searchRetrieveResponse>`, []string{"s"}, 0, ""},
		{"a bad subfield code skips that record only", `<collection><record><controlfield tag="001">bad</controlfield><datafield tag="245" ind1=" " ind2=" "><subfield code="ab">x</subfield></datafield></record>` + rec2 + `</collection>`, []string{"two"}, 1, ""},
		{"a bad tag skips that record only", `<collection><record><datafield tag="24" ind1=" " ind2=" "/></record>` + rec2 + `</collection>`, []string{"two"}, 1, ""},
		{"a bad indicator skips that record only", `<collection><record><datafield tag="245" ind1="10" ind2=" "/></record>` + rec2 + `</collection>`, []string{"two"}, 1, ""},
		{"invalid UTF-8 and control characters are cleaned", "<record><controlfield tag=\"001\">a\xff\x01b</controlfield></record>", []string{"a\uFFFDb"}, 0, ""},
		{"a Latin-1 document", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><record><controlfield tag=\"001\">caf\xe9</controlfield></record>", []string{"café"}, 0, ""},
		{"entities and CDATA", `<record><controlfield tag="001">a&amp;b<![CDATA[<c>]]></controlfield></record>`, []string{"a&b<c>"}, 0, ""},
		{"an unclosed document is fatal after the complete records", `<collection>` + rec1 + `<record><controlfield tag="001">x`, []string{"one"}, 0, "unexpected EOF"},
		{"mismatched tags are fatal", `<collection><record></collection>`, nil, 0, "closed by"},
		{"nesting deeper than the limit is fatal", strings.Repeat("<a>", MaxXMLDepth+1), nil, 0, "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			recs, rerrs, fatal := readAll(t, NewReader(strings.NewReader(tt.in)))
			var ids []string
			for _, r := range recs {
				checkUTF8(t, r)
				ids = append(ids, r.ControlValue("001"))
			}
			if !reflect.DeepEqual(ids, tt.wantIDs) {
				t.Errorf("ids %q, want %q", ids, tt.wantIDs)
			}
			if len(rerrs) != tt.wantErrs {
				t.Errorf("%d record errors, want %d: %v", len(rerrs), tt.wantErrs, rerrs)
			}
			switch {
			case tt.wantFatal == "" && fatal != nil:
				t.Errorf("fatal: %v", fatal)
			case tt.wantFatal != "" && (fatal == nil || !strings.Contains(fatal.Error(), tt.wantFatal)):
				t.Errorf("fatal %v, want %q", fatal, tt.wantFatal)
			}
		})
	}
}

func TestFatalErrorIsSticky(t *testing.T) {
	r := NewReader(strings.NewReader(`<collection><record></collection>`))
	_, err1 := r.Next()
	_, err2 := r.Next()
	if err1 == nil || err1 != err2 {
		t.Errorf("got %v then %v", err1, err2)
	}
}

func TestOversizedXMLRecordIsSkipped(t *testing.T) {
	big := strings.Repeat("x", MaxRecordBytes/4)
	var b strings.Builder
	b.WriteString(`<collection><record><controlfield tag="001">big</controlfield><datafield tag="500" ind1=" " ind2=" ">`)
	for range 5 {
		b.WriteString(`<subfield code="a">` + big + `</subfield>`)
	}
	b.WriteString(`</datafield></record><record><controlfield tag="001">next</controlfield></record></collection>`)
	recs, rerrs, fatal := readAll(t, NewReader(strings.NewReader(b.String())))
	if fatal != nil || len(recs) != 1 || len(rerrs) != 1 {
		t.Fatalf("recs %d errs %v fatal %v", len(recs), rerrs, fatal)
	}
	if rerrs[0].ID != "big" || recs[0].ControlValue("001") != "next" {
		t.Errorf("error %+v, next %q", rerrs[0], recs[0].ControlValue("001"))
	}
}

func TestOversizedXMLTokenIsFatal(t *testing.T) {
	in := `<record><controlfield tag="001">` + strings.Repeat("y", maxTokenBytes+10) + `</controlfield></record>`
	_, _, fatal := readAll(t, NewReader(strings.NewReader(in)))
	if !errors.Is(fatal, errTokenTooLarge) {
		t.Errorf("got %v", fatal)
	}
}

func TestOpenGzip(t *testing.T) {
	data := readFile(t, "testdata/loc_bib_sample.mrc")
	for _, name := range []string{"loc.mrc.gz", "loc-gzip-without-suffix.mrc"} {
		path := filepath.Join(t.TempDir(), name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		zw := gzip.NewWriter(f)
		zw.Write(data)
		zw.Close()
		f.Close()
		r, c, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		recs, rerrs, fatal := readAll(t, r)
		if err := c.Close(); err != nil {
			t.Error(err)
		}
		if len(recs) != 386 || len(rerrs) != 0 || fatal != nil {
			t.Errorf("%s: %d records, %d errors, fatal %v", name, len(recs), len(rerrs), fatal)
		}
	}
}

func TestOpenMissingFile(t *testing.T) {
	if _, _, err := Open("testdata/does-not-exist.mrc"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v", err)
	}
}

func TestEmptyInput(t *testing.T) {
	for _, in := range []string{"", "  \n", "\xef\xbb\xbf"} {
		if _, err := NewReader(strings.NewReader(in)).Next(); err != io.EOF {
			t.Errorf("%q: got %v, want io.EOF", in, err)
		}
	}
}
