package sru

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// compareParsers fails unless ParseResponse (with the fast envelope path)
// and the encoding/xml parser alone agree on body; it reports whether the
// fast path answered.
func compareParsers(t testing.TB, body []byte) (fast bool) {
	t.Helper()
	a, errA := parseResponse(body, true)
	b, errB := parseResponse(body, false)
	if (errA == nil) != (errB == nil) || errA != nil && errA.Error() != errB.Error() || !reflect.DeepEqual(a, b) {
		t.Fatalf("fast and slow differ:\nfast: %+v %v\nslow: %+v %v", a, errA, b, errB)
	}
	_, fast = parseFast(body)
	return fast
}

func TestFastEnvelopeMatchesSlow(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "wire", "*"))
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			body, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			fast := compareParsers(t, body)
			if want := strings.Contains(name, "marcxml"); fast != want {
				t.Errorf("fast path answered: %v, want %v", fast, want)
			}
			// Every cut of the body, at a stride.
			for i := 0; i < len(body); i += 1 + len(body)/400 {
				compareParsers(t, body[:i])
			}
		})
	}
}

func TestFastEnvelopeEdgeCases(t *testing.T) {
	page := string(wire(t, "sr12-marcxml.xml"))
	rec := `<zs:record><zs:recordSchema>marcxml</zs:recordSchema><zs:recordData><record xmlns="http://www.loc.gov/MARC21/slim">` +
		`<controlfield tag="001">x1</controlfield><datafield tag="245" ind1=" " ind2=" "><subfield code="a">T</subfield></datafield></record></zs:recordData></zs:record>`
	env := func(records string) string {
		return `<zs:searchRetrieveResponse xmlns:zs="http://www.loc.gov/zing/srw/"><zs:numberOfRecords> 7 </zs:numberOfRecords><zs:records>` + records + `</zs:records></zs:searchRetrieveResponse>`
	}
	tests := []struct {
		title string
		body  string
		fast  bool
	}{
		{"a plain page", env(rec + rec), true},
		{"SRU 2.0 namespace", strings.ReplaceAll(env(rec), "http://www.loc.gov/zing/srw/", NamespaceSRU20), true},
		{"comments, processing instructions and entities in the envelope", `<?xml version='1.0'?><!-- c --><?pi x?>` + strings.Replace(env(rec), "<zs:records>", `<zs:echo q="a&amp;b &#233; &#x1F4DA;">&lt;x&gt;</zs:echo><zs:records><!-- c -->`, 1), true},
		{"a record without recordData", env(`<zs:record><zs:recordPosition>1</zs:recordPosition></zs:record>` + rec), true},
		{"an empty recordData", env(`<zs:record><zs:recordData/></zs:record>` + rec), false},
		{"two recordData: the second is skipped", env(strings.Replace(rec, `</zs:record>`, `<zs:recordData><x/></zs:recordData></zs:record>`, 1)), true},
		{"a marc: prefix declared outside the record", strings.Replace(env(`<zs:record><zs:recordData><marc:record><marc:controlfield tag="001">p</marc:controlfield><marc:datafield tag="245" ind1=" " ind2=" "><marc:subfield code="a">T</marc:subfield></marc:datafield></marc:record></zs:recordData></zs:record>`), `<zs:records>`, `<zs:records xmlns:marc="http://www.loc.gov/MARC21/slim">`, 1), true},
		{"a record in another namespace", env(`<zs:record><zs:recordData><x:record xmlns:x="urn:other"/></zs:recordData></zs:record>`), false},
		{"a surrogate diagnostic", env(`<zs:record><zs:recordSchema>info:srw/schema/1/diagnostics-v1.1</zs:recordSchema><zs:recordData><record/></zs:recordData></zs:record>`), false},
		{"a DOCTYPE", `<!DOCTYPE x>` + env(rec), false},
		{"a CDATA section in the envelope", strings.Replace(env(rec), "<zs:records>", "<zs:x><![CDATA[y]]></zs:x><zs:records>", 1), false},
		{"an undefined entity", strings.Replace(env(rec), " 7 ", "&nbsp;", 1), false},
		{"a control character", strings.Replace(env(rec), " 7 ", "\x01", 1), false},
		{"invalid UTF-8 in the envelope", strings.Replace(env(rec), "<zs:records>", "<zs:x>\xff</zs:x><zs:records>", 1), false},
		{"valid UTF-8 in the envelope", strings.Replace(env(rec), "<zs:records>", "<zs:x>café</zs:x><zs:records>", 1), true},
		{"mismatched tags", strings.Replace(env(rec), "</zs:records>", "</zs:recordz>", 1), false},
		{"a truncated body", env(rec)[:len(env(rec))-10], false},
		{"a version 1.1 declaration", `<?xml version="1.1"?>` + env(rec), false},
		{"too deep", env(rec + `<zs:record><zs:x>` + strings.Repeat("<a>", MaxDepth) + strings.Repeat("</a>", MaxDepth) + `</zs:x></zs:record>`), false},
		{"an unquoted attribute", strings.Replace(env(rec), "<zs:records>", "<zs:records a=b>", 1), false},
		{"a broken MARC record is a reject, not a failure", env(strings.Replace(rec, `code="a"`, `code="ab"`, 1) + rec), true},
		{"records nested a level too deep are not records", env(`<zs:x>` + rec + `</zs:x>` + rec), true},
		{"the real page with its declaration", page, true},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			if fast := compareParsers(t, []byte(tt.body)); fast != tt.fast {
				t.Errorf("fast path answered: %v, want %v", fast, tt.fast)
			}
		})
	}
}

// FuzzFastEnvelopeMatchesSlow checks that the fast envelope path and the
// encoding/xml parser give the same response or error for any body.
func FuzzFastEnvelopeMatchesSlow(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "wire", "*.xml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 8<<10 {
			// Keep the seeds small, and keep the end of the document.
			cut := bytes.LastIndex(b[:6<<10], []byte("<zs:record>"))
			end := bytes.Index(b, []byte("</zs:records>"))
			if cut > 0 && end > 0 {
				b = append(append([]byte{}, b[:cut]...), b[end:]...)
			}
		}
		f.Add(b)
	}
	// And the corpus of FuzzParseResponse.
	corpus, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzParseResponse", "*"))
	for _, name := range corpus {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		lines := strings.SplitN(string(b), "\n", 3)
		if len(lines) < 2 || !strings.HasPrefix(lines[1], "[]byte(") {
			continue
		}
		if s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")); err == nil {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) { compareParsers(t, body) })
}
