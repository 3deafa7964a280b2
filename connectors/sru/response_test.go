package sru

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

func wire(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "wire", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseResponseRecords(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		version  string
		total    int
		records  int
		rejected int
		check    func(t *testing.T, recs []federate.Record)
	}{
		{"SRU 1.2 MARCXML from Zebra", "sr12-marcxml.xml", "1.2", 2, 1, 0, func(t *testing.T, recs []federate.Record) {
			r := recs[0]
			if r.RecordID != "5783341" || !strings.HasPrefix(r.Title, "Aïda") || len(r.Authors) == 0 || r.Authors[0] != "Verdi, Giuseppe" {
				t.Errorf("first record %+v", r)
			}
		}},
		{"SRU 1.2 Dublin Core with ISBN URNs", "sr12-dc.xml", "1.2", 1, 1, 0, func(t *testing.T, recs []federate.Record) {
			r := recs[0]
			if r.Title != "Global feminism : transnational women's activism, organizing, and human rights" {
				t.Errorf("title %q", r.Title)
			}
			if !slices.Equal(r.Authors, []string{"Ferree, Myra Marx", "Tripp, Aili Mari"}) {
				t.Errorf("authors %q", r.Authors)
			}
			if r.Year != 2006 || r.Language != "eng" || r.Format != federate.FormatBook || r.Publisher != "New York : New York University Press" {
				t.Errorf("year %d language %q format %q publisher %q", r.Year, r.Language, r.Format, r.Publisher)
			}
			if len(r.Identifiers.ISBN) != 4 || r.RecordID != "isbn:9780814727355" {
				t.Errorf("isbns %q id %q", r.Identifiers.ISBN, r.RecordID)
			}
			if len(r.Links) != 1 || !strings.HasPrefix(r.Links[0].URL, "http://www.loc.gov/catdir/toc/") {
				t.Errorf("links %+v", r.Links)
			}
			if !slices.Contains(r.Subjects, "Feminism--International cooperation") {
				t.Errorf("subjects %q", r.Subjects)
			}
		}},
		{"SRU 2.0 Dublin Core", "sr20-dc.xml", "2.0", 1, 1, 0, func(t *testing.T, recs []federate.Record) {
			if recs[0].Year != 2006 {
				t.Errorf("year %d", recs[0].Year)
			}
		}},
		{"a Dublin Core page without identifiers rejects the records it cannot name", "page1.xml", "1.2", 43, 0, 2, nil},
		{"50 MARCXML records of a demo member served by Zebra", "zebra-north-50-marcxml.xml", "1.2", 1370, 50, 0, func(t *testing.T, recs []federate.Record) {
			for _, r := range recs {
				if r.RecordID == "" || r.Title == "" || !strings.HasPrefix(r.RecordID, "n") {
					t.Fatalf("record %+v", r)
				}
			}
		}},
		{"SRU 2.0 Dublin Core from the lab's own stylesheet", "zebra-north-sru20-dc.xml", "2.0", 5, 3, 0, func(t *testing.T, recs []federate.Record) {
			r := recs[0]
			if r.RecordID != "n0000017" || r.Title != "Catching Fire" || r.Year != 2009 || r.Authors[0] != "Collins, Suzanne" ||
				r.Language != "eng" || r.Format != federate.FormatBook || !slices.Equal(r.Identifiers.ISBN, []string{"0439023491"}) {
				t.Errorf("record %+v", r)
			}
		}},
		{"a record packed as a string", "zebra-north-string-packing.xml", "1.2", 1, 1, 0, func(t *testing.T, recs []federate.Record) {
			if recs[0].RecordID != "n0000001" || recs[0].Title != "The Hunger Games" {
				t.Errorf("record %+v", recs[0])
			}
		}},
		{"a surrogate diagnostic counts as a rejected record", "ztest-surrogate.xml", "1.2", 5, 0, 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseResponse(wire(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if r.Version != tc.version || r.Total != tc.total || len(r.Records) != tc.records || r.Rejected != tc.rejected {
				t.Fatalf("version %s total %d records %d rejected %d (%q); want %s %d %d %d",
					r.Version, r.Total, len(r.Records), r.Rejected, r.RejectReasons, tc.version, tc.total, tc.records, tc.rejected)
			}
			if r.Fatal() != nil {
				t.Errorf("fatal diagnostic %v", r.Fatal())
			}
			if tc.check != nil {
				tc.check(t, r.Records)
			}
		})
	}
}

func TestParseResponseDiagnostics(t *testing.T) {
	tests := []struct {
		name          string
		file          string
		code          int
		fatal         bool
		queryRejected bool
		text          string
	}{
		{"1.2 query syntax error", "diag10.xml", 10, true, true, "SRU diagnostic 10 (query syntax error)"},
		{"2.0 query syntax error", "diag10-sru20.xml", 10, true, true, "SRU diagnostic 10 (query syntax error)"},
		{"unsupported index", "diag16.xml", 16, true, true, "SRU diagnostic 16 (unsupported index)"},
		{"unknown schema: the member's configuration, not the query", "diag66.xml", 66, true, false,
			"SRU diagnostic 66 (unknown schema for retrieval): mods"},
		{"first record beyond the end is an empty page", "diag61.xml", 61, false, false, ""},
		{"partial results are still results", "ztest-slow-diag59.xml", 59, false, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseResponse(wire(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Diagnostics) != 1 || r.Diagnostics[0].Code != tc.code {
				t.Fatalf("diagnostics %+v", r.Diagnostics)
			}
			d := r.Fatal()
			if (d != nil) != tc.fatal {
				t.Fatalf("fatal %v, want %v", d, tc.fatal)
			}
			if d == nil {
				return
			}
			err = &DiagnosticError{*d}
			if errors.Is(err, federate.ErrQueryRejected) != tc.queryRejected {
				t.Errorf("errors.Is(ErrQueryRejected) = %v, want %v", !tc.queryRejected, tc.queryRejected)
			}
			if err.Error() != tc.text {
				t.Errorf("text %q, want %q", err.Error(), tc.text)
			}
		})
	}
}

func TestParseResponseRefusals(t *testing.T) {
	page := wire(t, "zebra-north-50-marcxml.xml")
	http404 := wire(t, "http404.txt")
	_, html404, _ := bytes.Cut(http404, []byte("\r\n\r\n"))
	if len(html404) == 0 {
		_, html404, _ = bytes.Cut(http404, []byte("\n\n"))
	}
	deep := strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)
	tests := []struct {
		name string
		body string
		want error
	}{
		{"Zebra's 404 page for an unknown database", string(html404), ErrHTML},
		{"an HTML page sent with status 200", "<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body>Back soon</body></html>", ErrHTML},
		{"an XHTML page with a declaration", `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>`, ErrHTML},
		{"an HTML root found by the parser", "<!-- login --><HTML><body>sign in</body></HTML>", ErrHTML},
		{"JSON", `{"error":"nope"}`, ErrNotSRU},
		{"an empty body", "", ErrNotSRU},
		{"an explain response where a search answer belongs", string(wire(t, "explain.xml")), ErrNotSRU},
		{"a page cut in the middle", string(page[:len(page)/2]), ErrTruncated},
		{"a page cut inside a tag", string(page[:len(page)-30]), ErrTruncated},
		{"elements nested 100 deep", `<zs:searchRetrieveResponse xmlns:zs="http://www.loc.gov/zing/srw/">` + deep + `</zs:searchRetrieveResponse>`, ErrTooDeep},
		{"malformed XML", `<zs:searchRetrieveResponse xmlns:zs="http://www.loc.gov/zing/srw/"><a></b></zs:searchRetrieveResponse>`, ErrNotSRU},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseResponse([]byte(tc.body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseResponseLatin1(t *testing.T) {
	body := []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n" +
		`<searchRetrieveResponse xmlns="http://www.loc.gov/zing/srw/"><numberOfRecords>1</numberOfRecords><records><record>` +
		`<recordSchema>dc</recordSchema><recordData><dc xmlns="info:srw/schema/1/dc-schema">` +
		`<title xmlns="http://purl.org/dc/elements/1.1/">K` + "\xf6" + `nigin</title>` +
		`<identifier xmlns="http://purl.org/dc/elements/1.1/">k1</identifier></dc></recordData></record></records></searchRetrieveResponse>`)
	r, err := ParseResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Records) != 1 || r.Records[0].Title != "Königin" || r.Records[0].RecordID != "k1" {
		t.Fatalf("records %+v", r.Records)
	}
}

func TestParseExplain(t *testing.T) {
	got, err := ParseExplain(wire(t, "explain.xml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cql.anywhere", "dc.title", "dc.creator", "dc.subject", "dc.publisher", "dc.date", "bath.isbn", "bath.issn"}
	if !slices.Equal(got, want) {
		t.Fatalf("indexes %q, want %q", got, want)
	}
	if _, err := ParseExplain(wire(t, "sr12-dc.xml")); !errors.Is(err, ErrNotSRU) {
		t.Fatalf("a search response as explain: %v", err)
	}
}
