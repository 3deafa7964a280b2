package marc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// newSlowReader returns a Reader that never uses the fast MARCXML scanner:
// the reference the fast path is compared with.
func newSlowReader(r io.Reader) *Reader {
	rd := NewReader(r)
	rd.slowOnly = true
	return rd
}

// chunkReader returns its input in pieces of the given sizes, in turn, so
// that tokens straddle the fast path's reads at many places.
type chunkReader struct {
	b     []byte
	sizes []int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := c.sizes[c.i%len(c.sizes)]
	c.i++
	n = min(n, len(p), len(c.b))
	copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

// outcome is one call to Next, in a comparable form.
type outcome struct {
	rec   *Record
	rerr  *RecordError
	fatal string // "EOF" for io.EOF
}

func (o outcome) String() string {
	switch {
	case o.rec != nil:
		return fmt.Sprintf("record %#v", o.rec)
	case o.rerr != nil:
		return fmt.Sprintf("record error %#v", o.rerr)
	}
	return "fatal " + o.fatal
}

func nextOutcome(r *Reader) outcome {
	rec, err := r.Next()
	var re *RecordError
	switch {
	case err == nil:
		return outcome{rec: rec}
	case errors.As(err, &re):
		return outcome{rerr: re}
	case err == io.EOF:
		return outcome{fatal: "EOF"}
	}
	return outcome{fatal: err.Error()}
}

// compareReaders reads fast and slow to the end (or the first fatal
// error, then once more for stickiness) and fails at the first call where
// they differ. It reports whether the fast reader handed over to
// encoding/xml.
func compareReaders(t testing.TB, fast, slow *Reader) (calls int, fellBack bool) {
	t.Helper()
	for calls = 0; ; calls++ {
		if calls > 10_000_000 {
			t.Fatal("readers do not reach the end")
		}
		a, b := nextOutcome(fast), nextOutcome(slow)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("call %d differs (fast fell back: %v):\nfast: %v\nslow: %v", calls+1, fast.fellBack, a, b)
		}
		if a.fatal != "" {
			a, b = nextOutcome(fast), nextOutcome(slow)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("sticky error differs:\nfast: %v\nslow: %v", a, b)
			}
			return calls, fast.fellBack
		}
	}
}

// diffInput compares the readers on data, read whole and in odd pieces.
func diffInput(t testing.TB, data []byte, oneByte bool) (fellBack bool) {
	t.Helper()
	_, fellBack = compareReaders(t, NewReader(bytes.NewReader(data)), newSlowReader(bytes.NewReader(data)))
	compareReaders(t, NewReader(&chunkReader{b: data, sizes: []int{7, 1, 4093, 13, 2, 65536, 300}}), newSlowReader(bytes.NewReader(data)))
	if oneByte {
		compareReaders(t, NewReader(iotest.OneByteReader(bytes.NewReader(data))), newSlowReader(bytes.NewReader(data)))
	}
	return fellBack
}

// fuzzSeeds returns the inputs of a fuzz corpus directory.
func fuzzSeeds(t testing.TB, dir string) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		if len(lines) < 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "[]byte(") {
			t.Fatalf("%s: not a []byte corpus file", name)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, []byte(s))
	}
	return out
}

func TestFastReaderMatchesSlowOnTestdata(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.xml")
	more, _ := filepath.Glob("testdata/trln/*")
	wire, _ := filepath.Glob("../sru/testdata/wire/*.xml")
	files = append(append(append(files, more...), wire...), "testdata/loc_bib_sample.mrc")
	if len(wire) == 0 {
		t.Fatal("no SRU wire fixtures")
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			data := readFile(t, name)
			fellBack := diffInput(t, data, len(data) < 100<<10)
			// Every real file is regular MARCXML or an envelope of it: the
			// fast path must carry it to the end by itself.
			if fellBack && !strings.HasSuffix(name, "LICENSE.txt") {
				t.Errorf("the fast path gave up on %s", name)
			}
		})
	}
}

func TestFastReaderMatchesSlowOnFuzzCorpus(t *testing.T) {
	for _, dir := range []string{"testdata/fuzz/FuzzReader", "testdata/fuzz/FuzzFastReaderMatchesSlow"} {
		for i, data := range fuzzSeeds(t, dir) {
			t.Run(fmt.Sprintf("%s/%d", filepath.Base(dir), i), func(t *testing.T) { diffInput(t, data, true) })
		}
	}
}

// TestFastReaderEdgeCases covers what the fast path decodes itself and what
// it must hand over, each compared with encoding/xml's reading.
func TestFastReaderEdgeCases(t *testing.T) {
	const rec = `<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">one</controlfield>` +
		`<datafield tag="245" ind1="1" ind2="0"><subfield code="a">First</subfield><subfield code="b">Second</subfield></datafield></record>`
	lines := strings.Repeat("\n", 5000)
	tests := []struct {
		title    string
		in       string
		fallBack bool // the fast path is expected to hand over
	}{
		{"single quotes, attributes in any order, spaces around =", `<record><datafield ind2 = '0' tag= "245"  ind1='1' ><subfield code = 'a' >T</subfield></datafield></record>`, false},
		{"predefined entities and character references", `<record><controlfield tag="001">&lt;&gt;&amp;&apos;&quot;&#65;&#x42;&#x10FFFF;&#xD800;&#0000067;</controlfield></record>`, false},
		{"entities in attribute values", `<record><datafield tag="&#50;45" ind1="&#x31;" ind2="&quot;"><subfield code="&amp;">x</subfield></datafield></record>`, false},
		{"line ends are normalised, also around dropped characters", "<record><controlfield tag=\"001\">a\r\nb\rc\r\x01\nd\r\xef\xbf\xbe\ne&#13;\nf</controlfield></record>", false},
		{"invalid UTF-8, U+FFFE and control characters in text", "<record><controlfield tag=\"001\">\xff\xe2\x82\xef\xbf\xbf\x00\x1f\xed\xa0\x80ok\xf0\x9f\x93\x9a</controlfield></record>", false},
		{"CDATA, comments and processing instructions inside fields", `<record><controlfield tag="001">a<!-- c --><![CDATA[<b>&amp;]]><?pi x?>c</controlfield></record>`, false},
		{"an empty CDATA section and empty elements", `<record><leader/><controlfield tag="001"><![CDATA[]]></controlfield><datafield tag="500" ind1="" ind2=""/><datafield tag="245" ind1=" " ind2=" "><subfield code="a"/></datafield></record>`, false},
		{"a self-closing record", `<collection><record/>` + rec + `</collection>`, false},
		{"nested elements inside fields are skipped", `<record><controlfield tag="001">a<x>b<y/>c</x>d</controlfield><datafield tag="245" ind1=" " ind2=" "><note>n</note><subfield code="a">t<subfield code="b">u</subfield></subfield><leader>no</leader></datafield></record>`, false},
		{"the XML declaration, UTF-8 by another spelling", "<?xml version='1.0' encoding='utf8' standalone=\"yes\"?>\n" + rec, false},
		{"an XML declaration with another version", `<?xml version="1.1"?>` + rec, true},
		{"a Latin-1 declaration goes to encoding/xml at once", "<?xml version=\"1.0\" encoding=\"latin1\"?><record><controlfield tag=\"001\">\xe9</controlfield></record>", false},
		{"a DOCTYPE hands over", `<!DOCTYPE collection [<!ENTITY x "y">]><collection>` + rec + `</collection>`, true},
		{"an undefined entity hands over and is fatal", `<collection>` + rec + lines + `<record><controlfield tag="001">&nbsp;</controlfield></record></collection>`, true},
		{"a character reference to a control character is fatal", `<collection>` + rec + `<record><controlfield tag="001">&#1;</controlfield></record></collection>`, true},
		{"a bad reference in an ignored part is fatal too", `<collection><junk>&bogus;</junk>` + rec + `</collection>`, true},
		{"]]> in text is fatal", `<collection>` + rec + `<record><controlfield tag="001">a]]>b</controlfield></record></collection>`, true},
		{"]]> split by a dropped character is still ]]>", "<collection>" + rec + "<record><controlfield tag=\"001\">a]\x01]>b</controlfield></record></collection>", true},
		{"]] then an entity then > is fine", `<record><controlfield tag="001">a]]&amp;>b]&#93;>c</controlfield></record>`, false},
		{"-- in a comment is fatal", `<collection>` + rec + `<!-- a -- b -->` + rec + `</collection>`, true},
		{"mismatched end tag after many lines", `<collection>` + rec + lines + `<record></collection>`, true},
		{"end tag in another prefix", `<a:collection xmlns:a="x"><a:record></b:record></a:collection>`, true},
		{"unclosed document", `<collection>` + rec + lines + `<record><controlfield tag="001">x`, true},
		{"truncated inside a tag", `<collection>` + rec + `<record><controlfield tag="00`, true},
		{"nesting deeper than the limit", strings.Repeat("<a>\n", MaxXMLDepth+1), true},
		{"nesting at the limit inside a record", `<collection>` + strings.Repeat("<a>", MaxXMLDepth-3) + `<record><controlfield tag="001">x<b/></controlfield></record>` + strings.Repeat("</a>", MaxXMLDepth-3) + `</collection>`, true},
		{"self-closing element past the limit", strings.Repeat("<a>", MaxXMLDepth) + `<b/>`, true},
		{"non-ASCII element names hand over", `<collection><récord/>` + rec + `</collection>`, true},
		{"a name with two colons", `<collection><a:b:c/>` + rec + `</collection>`, true},
		{"a control character inside a tag", "<collection><record\x01><controlfield tag=\"001\">x</controlfield></record></collection>", true},
		{"unquoted attribute value", `<collection>` + rec + `<record><datafield tag=245/></record></collection>`, true},
		{"bad indicators, tags and codes are record errors", `<collection><record><controlfield tag="001"> id1 </controlfield><datafield tag="24" ind1="10" ind2="x"><subfield code="ab">x</subfield></datafield></record>` +
			`<record><controlfield tag=" 001 ">id2</controlfield><datafield tag="245" ind1="&#233;"/></record>` + rec + `</collection>`, false},
		{"a problem before the 001 leaves the error without an id", `<record><datafield tag="2x" ind1=" " ind2=" "/><controlfield tag="001">late</controlfield></record>`, false},
		{"attributes in other namespaces count by their local name", `<record xmlns:x="u"><controlfield x:tag="001" tag="002">v</controlfield><datafield tag="245" x:ind1="1" ind1="2"><subfield x:code="a">t</subfield></datafield></record>`, false},
		{"alphanumeric tags", `<record><controlfield tag="FMT">BK</controlfield><datafield tag="CAT" ind1=" " ind2=" "><subfield code="a">x</subfield></datafield></record>`, false},
		{"MARC record in SRU and OAI envelopes, prefixes and default namespaces", `<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords><record><metadata>` +
			`<m:record xmlns:m="http://www.loc.gov/MARC21/slim"><m:controlfield tag="001">oai</m:controlfield></m:record></metadata></record>` +
			`<record xmlns=""><controlfield tag="001">nons</controlfield></record><x:record xmlns:x="urn:other"/><y:record/><xml:record/><xmlns:record/>` +
			`<z:record xmlns:z="info:MARC21"/><record xmlns="urn:a:b"><q xmlns="http://www.loc.gov/MARC21/slim"><record/></q></record></ListRecords></OAI-PMH>`, false},
		{"namespace declarations are undone at end tags", `<a xmlns="urn:x:y"><b xmlns=""/><record/></a><record/>`, false},
		{"a hand-over restores prefixes and the default namespace", `<s:env xmlns:s="urn:s:e" xmlns="urn:d:x"><s:records xmlns:m="http://www.loc.gov/MARC21/slim" xmlns:q='a&quot;&lt;&#10;b'>` + lines +
			`<m:record><m:controlfield tag="001">a</m:controlfield></m:record><record/><m:record><m:controlfield tag="001">&bad;</m:controlfield></m:record><m:record/><record/></s:records>` + `</s:env>`, true},
		{"trailing text and comments after the root", rec + "\n tail <!-- c --> <?p?>", false},
		{"a bad reference in trailing text", rec + "\n &x; ", true},
		{"text before the first element", "  x <record/>", false},
		{"a processing instruction with an odd target", `<?a.b-c:d ?><?xml-stylesheet href="x"?><record/>`, false},
		{"a processing instruction named xml later on", `<record/><?xml version="2.0"?>`, true},
		{"a record larger than the limit", `<collection><record><controlfield tag="001">big</controlfield><datafield tag="500" ind1=" " ind2=" ">` +
			strings.Repeat(`<subfield code="a">`+strings.Repeat("x", 300<<10)+`</subfield>`, 4) + `</datafield></record>` + rec + `</collection>`, false},
		{"many empty subfields pass the limit by their overhead", `<collection><record><controlfield tag="001">many</controlfield><datafield tag="500" ind1=" " ind2=" ">` +
			strings.Repeat(`<subfield code="a"/>`, MaxRecordBytes/fieldOverhead+1) + `</datafield></record>` + rec + `</collection>`, false},
		{"one text token too large for the fast path", `<collection>` + rec + `<record><controlfield tag="001">` + strings.Repeat("y", fastMaxToken+1) + `</controlfield></record>` + rec + `</collection>`, true},
		{"a record too large for the window", `<collection>` + rec + `<record><controlfield tag="001">w</controlfield>` + strings.Repeat("<!--"+strings.Repeat(" ", 64<<10)+"-->", fastMaxWindow/(64<<10)+1) + `</record>` + rec + `</collection>`, true},
		{"a huge start tag", `<collection>` + rec + `<record a="` + strings.Repeat("z", fastMaxTag) + `"/>` + rec + `</collection>`, true},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			fellBack := diffInput(t, []byte(tt.in), len(tt.in) < 64<<10)
			if fellBack != tt.fallBack {
				t.Errorf("fast path handed over: %v, want %v", fellBack, tt.fallBack)
			}
		})
	}
}

// TestFastReaderReadError checks that a read error reaches the caller as
// from the encoding/xml path, after the records read before it.
func TestFastReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	body := `<collection><record><controlfield tag="001">a</controlfield></record><record><controlfield tag="001">b`
	for _, r := range []*Reader{NewReader(io.MultiReader(strings.NewReader(body), errReader{boom})), newSlowReader(io.MultiReader(strings.NewReader(body), errReader{boom}))} {
		recs, _, fatal := readAll(t, r)
		if len(recs) != 1 || !errors.Is(fatal, boom) {
			t.Errorf("slowOnly=%v: %d records, fatal %v", r.slowOnly, len(recs), fatal)
		}
	}
}

// FuzzFastReaderMatchesSlow checks that the fast MARCXML path returns what
// the encoding/xml path returns, call by call, for any input, read whole
// and in odd pieces.
func FuzzFastReaderMatchesSlow(f *testing.F) {
	for _, data := range fuzzSeeds(f, "testdata/fuzz/FuzzReader") {
		f.Add(data)
	}
	f.Add([]byte(`<?xml version="1.0"?><s:r xmlns:s="urn:s:x"><s:d><record xmlns="http://www.loc.gov/MARC21/slim"><leader>x</leader>` +
		`<controlfield tag="001">a&amp;&#233;<![CDATA[c]]></controlfield><datafield tag="245" ind1="1" ind2=' '><subfield code="a">T<!-- c --></subfield></datafield></record></s:d></s:r>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		compareReaders(t, NewReader(bytes.NewReader(data)), newSlowReader(bytes.NewReader(data)))
		compareReaders(t, NewReader(&chunkReader{b: data, sizes: []int{1, 3, 2, 17}}), newSlowReader(bytes.NewReader(data)))
	})
}

// TestFastReaderHandsOverMidStream damages the 2 MB Penn State file far
// from its start, so the window has moved many times before the fast path
// hands over; the records before, the error and its line number, and the
// records after must be those of encoding/xml.
func TestFastReaderHandsOverMidStream(t *testing.T) {
	data := readFile(t, "testdata/pennstate-600.xml")
	at := bytes.LastIndex(data[:len(data)*3/4], []byte(`<subfield code="a">`)) + len(`<subfield code="a">`)
	tests := []struct {
		title, insert string
	}{
		{"an undefined entity is fatal", "&nbsp;"},
		{"a CDATA section and a comment are read by the fast path", "<![CDATA[x]]><!-- y -->"},
		{"a DOCTYPE in the middle is fatal", "<!DOCTYPE x>"},
		{"a stray end tag is fatal", "</datafield>"},
		{"a character reference the fast path decodes", "&#x1F4DA;&#233;"},
		{"a processing instruction named xml", `<?xml version="1.0"?>`},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			in := append(append(append([]byte{}, data[:at]...), tt.insert...), data[at:]...)
			diffInput(t, in, false)
		})
	}
}
