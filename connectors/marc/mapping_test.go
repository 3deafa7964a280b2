package marc

import (
	"errors"
	"reflect"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

// recordByID reads path and returns the record whose 001 (or, for Penn
// State, first 035) is id.
func recordByID(t *testing.T, path, id string) *Record {
	t.Helper()
	r, c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	recs, _, _ := readAll(t, r)
	for _, rec := range recs {
		if rec.ControlValue("001") == id {
			return rec
		}
		if f := rec.Fields("035"); rec.ControlValue("001") == "" && len(f) > 0 && f[0].Value('a') == id {
			return rec
		}
	}
	t.Fatalf("%s: no record %s", path, id)
	return nil
}

func TestToRecordKnownRecords(t *testing.T) {
	tests := []struct {
		title string
		path  string
		id    string
		want  federate.Record
	}{
		{
			title: "LoC Colombian exhibition catalogue: two ISBNs, Spanish, a corporate added entry",
			path:  "testdata/loc_bib_sample.mrc", id: "20593163",
			want: federate.Record{
				RecordID: "20593163", Title: "Atlas : Atlas",
				Authors: []string{"Vélez, Mario", "Museo De Arte de Pereira (Colombia)"},
				Year:    2017, Publisher: "Mesaestándar", Format: federate.FormatBook, Language: "spa",
				Subjects:    []string{"Vélez, Mario -- Criticism and interpretation", "Vélez, Mario", "Painting, Abstract -- Colombia", "Painting, Colombian -- 21st century", "Catalogs"},
				Identifiers: federate.Identifiers{ISBN: []string{"9789585946743", "9585946742"}, LCCN: []string{"2018406525"}},
			},
		},
		{
			title: "LoC atlas of Tallinn is a map with a parallel title",
			path:  "testdata/loc_bib_sample.mrc", id: "16901760",
			want: federate.Record{
				RecordID: "16901760", Title: "Tallinna : Linna atlas = Kaupunkin atlas = City atlas",
				Authors: []string{"E.O. Map (Firm)"}, Year: 1999, Publisher: "E.O. Map", Format: federate.FormatMap, Language: "est",
				Subjects:    []string{"Tallinn (Estonia)", "Tallinn Metropolitan Area (Estonia)", "Atlases", "Maps"},
				Identifiers: federate.Identifiers{ISBN: []string{"9985817362", "9789985817360"}, LCCN: []string{"2011593278"}},
			},
		},
		{
			title: "Penn State record without 001 takes its id from 035; ISBN qualifier dropped",
			path:  "testdata/pennstate-600.xml", id: "LIAS2244901",
			want: federate.Record{
				RecordID: "LIAS2244901",
				Title:    "Sectional nationalism : Massachusetts conservative leaders and the transformation of America, 1815-1836",
				Authors:  []string{"Sheidley, Harlow W."}, Year: 1998, Publisher: "Northeastern University Press",
				Format: federate.FormatBook, Language: "eng",
				Subjects: []string{
					"Conservatism -- Massachusetts -- History -- 19th century",
					"Political culture -- Massachusetts -- History -- 19th century",
					"Elite (Social sciences) -- Massachusetts -- Boston -- Political activity -- History -- 19th century",
					"Sectionalism (United States) -- History -- 19th century",
					"Massachusetts -- Politics and government -- 1775-1865",
				},
				Identifiers: federate.Identifiers{ISBN: []string{"1555533701"}, OCLC: []string{"39024816"}, LCCN: []string{"98023282"}},
			},
		},
		{
			title: "TRLN Duke journal with ISSN and a link without label",
			path:  "testdata/trln/base.mrc", id: "DUKE000168886",
			want: federate.Record{
				RecordID: "DUKE000168886", Title: "Variety", Year: 1905, Publisher: "[Variety Pub. Co.]",
				Format: federate.FormatJournal, Language: "eng",
				Subjects:    []string{"Theater", "Motion pictures", "Motion picture industry"},
				Identifiers: federate.Identifiers{ISSN: []string{"0042-2738"}, LCCN: []string{"ca 07004418"}},
				Links:       []federate.Link{{URL: "http://www.variety.com/", Label: "Online access"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			got, err := ToRecord(recordByID(t, tt.path, tt.id))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestToRecordFormats(t *testing.T) {
	tests := []struct {
		title, path, id, want string
	}{
		{"a dissertation (502) is a thesis", "testdata/trln/note_dissertation.mrc", "DUKE002981110", federate.FormatThesis},
		{"008/23 'o' is an ebook, even with a no-break space earlier in the 008", "testdata/trln/multibyte_char_in_008.xml", "DUKE008574710", federate.FormatEbook},
		{"projected medium (leader/06 g) is a video", "testdata/trln/bad-490.xml", "DUKE007459779", federate.FormatVideo},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			got, err := ToRecord(recordByID(t, tt.path, tt.id))
			if err != nil {
				t.Fatal(err)
			}
			if got.Format != tt.want {
				t.Errorf("format %q, want %q", got.Format, tt.want)
			}
		})
	}
}

// TestMapSamples maps every record of each sample and reports how many map
// cleanly.
func TestMapSamples(t *testing.T) {
	tests := []struct {
		title     string
		path      string
		wantOK    int
		wantNoID  int
		wantNoTtl int
	}{
		{"LoC: every record maps", "testdata/loc_bib_sample.mrc", 386, 0, 0},
		// 70 of Penn State's 300 records have neither 001 nor 035; one of
		// those is also the record the reader skips.
		{"Penn State: records without any control number are rejected", "testdata/pennstate-600.xml", 230, 69, 0},
		{"TRLN base", "testdata/trln/base.mrc", 6, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			r, c, err := Open(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			recs, _, _ := readAll(t, r)
			ok, noID, noTitle := 0, 0, 0
			formats := map[string]int{}
			for _, rec := range recs {
				fr, err := ToRecord(rec)
				switch {
				case errors.Is(err, ErrNoControlNumber):
					noID++
				case errors.Is(err, ErrNoTitle):
					noTitle++
				case err != nil:
					t.Fatal(err)
				default:
					ok++
					formats[fr.Format]++
				}
			}
			t.Logf("%d mapped, %d without control number, %d without title; formats %v", ok, noID, noTitle, formats)
			if ok != tt.wantOK || noID != tt.wantNoID || noTitle != tt.wantNoTtl {
				t.Errorf("got %d/%d/%d, want %d/%d/%d", ok, noID, noTitle, tt.wantOK, tt.wantNoID, tt.wantNoTtl)
			}
		})
	}
}

func df(tag string, ind1, ind2 byte, sf ...string) DataField {
	f := DataField{Tag: tag, Ind1: ind1, Ind2: ind2}
	for _, s := range sf {
		f.Subfields = append(f.Subfields, Subfield{Code: s[0], Value: s[1:]})
	}
	return f
}

func TestToRecordFields(t *testing.T) {
	base := func(extra ...DataField) *Record {
		r := &Record{
			Leader:  "00000nam a2200000 i 4500",
			Control: []ControlField{{Tag: "001", Value: " id1 "}, {Tag: "008", Value: "080101s2008    nyu           000 1 eng d"}},
			Data:    []DataField{df("245", '1', '0', "aA title :", "bthe subtitle /", "cby someone.")},
		}
		r.Data = append(r.Data, extra...)
		return r
	}
	tests := []struct {
		title string
		rec   *Record
		check func(federate.Record) any
		want  any
	}{
		{"title joins $a and $b with ' : ' and trims ISBD punctuation", base(), func(r federate.Record) any { return r.Title }, "A title : the subtitle"},
		{"title takes part number and name", &Record{Control: []ControlField{{Tag: "001", Value: "x"}}, Data: []DataField{df("245", '0', '0', "aJournal.", "nSeries B,", "pApplied.")}},
			func(r federate.Record) any { return r.Title }, "Journal. Series B. Applied"},
		{"record id is trimmed", base(), func(r federate.Record) any { return r.RecordID }, "id1"},
		{"ISBN qualifiers are dropped, hyphens kept, $z ignored", base(df("020", ' ', ' ', "a0394502884 (pbk.)"), df("020", ' ', ' ', "a978-0-439-02348-1"), df("020", ' ', ' ', "z0000000000"), df("020", ' ', ' ', "a(set)")),
			func(r federate.Record) any { return r.Identifiers.ISBN }, []string{"0394502884", "978-0-439-02348-1"}},
		{"ISBN-10 with X check digit", base(df("020", ' ', ' ', "a080442957X :", "c$20.00")), func(r federate.Record) any { return r.Identifiers.ISBN }, []string{"080442957X"}},
		{"OCLC numbers in every spelling, deduplicated", base(
			df("035", ' ', ' ', "a(OCoLC)ocm00012345"), df("035", ' ', ' ', "a(OCoLC)ocn123456789"), df("035", ' ', ' ', "a(OCoLC)on1234567890"),
			df("035", ' ', ' ', "a(OCoLC)12345"), df("035", ' ', ' ', "a(OCoLC)00012345"), df("035", ' ', ' ', "a(DLC)123"), df("035", ' ', ' ', "a(OCoLC)DLC-x")),
			func(r federate.Record) any { return r.Identifiers.OCLC }, []string{"12345", "123456789", "1234567890"}},
		{"OCLC number from 001 when 003 is OCoLC", &Record{Control: []ControlField{{Tag: "001", Value: "ocm00099"}, {Tag: "003", Value: "OCoLC"}}, Data: []DataField{df("245", '0', '0', "aT")}},
			func(r federate.Record) any { return r.Identifiers.OCLC }, []string{"99"}},
		{"DOIs from 024 and 856, lower-cased", base(df("024", '7', ' ', "a10.1000/ABC", "2doi"), df("024", '8', ' ', "a10.9/no", "2doi"), df("856", '4', '0', "uhttps://doi.org/10.1000/XYZ")),
			func(r federate.Record) any { return r.Identifiers.DOI }, []string{"10.1000/abc", "10.1000/xyz"}},
		{"ISSN and LCCN", base(df("022", ' ', ' ', "a0042-6601"), df("010", ' ', ' ', "a   98023282 ")),
			func(r federate.Record) any { return [2][]string{r.Identifiers.ISSN, r.Identifiers.LCCN} }, [2][]string{{"0042-6601"}, {"98023282"}}},
		{"year from 264 second indicator 1 wins over 260 and 008", base(df("264", ' ', '4', "c©2001"), df("264", ' ', '1', "aNew York :", "bScholastic,", "c[2008?]"), df("260", ' ', ' ', "c1999")),
			func(r federate.Record) any { return [2]any{r.Year, r.Publisher} }, [2]any{2008, "Scholastic"}},
		{"year from 260 'c2008.'", base(df("260", ' ', ' ', "bPub,", "cc2008.")), func(r federate.Record) any { return r.Year }, 2008},
		{"year from 008 when the imprint has none", base(df("260", ' ', ' ', "c[19--]")), func(r federate.Record) any { return r.Year }, 2008},
		{"authors: main entries first, corporate $a $b, duplicates dropped", base(
			df("700", '1', ' ', "aCollins, Suzanne,", "eauthor."), df("100", '1', ' ', "aCollins, Suzanne,", "d1962-"),
			df("710", '2', ' ', "aUnited States.", "bCongress.", "bHouse.")),
			func(r federate.Record) any { return r.Authors }, []string{"Collins, Suzanne", "United States Congress House"}},
		{"an initial keeps its full stop", base(df("100", '1', ' ', "aTolkien, J. R. R.")), func(r federate.Record) any { return r.Authors }, []string{"Tolkien, J. R. R."}},
		{"subjects join subdivisions with ' -- '", base(df("650", ' ', '0', "aHazardous wastes", "zPennsylvania.", "vMaps."), df("651", ' ', '0', "aParis (France)", "xHistory", "y1789-1799.")),
			func(r federate.Record) any { return r.Subjects }, []string{"Hazardous wastes -- Pennsylvania", "Paris (France) -- History -- 1789-1799"}},
		{"series from 490 with its volume", base(df("490", '1', ' ', "aThe hunger games ;", "v1"), df("830", ' ', '0', "aOther.")),
			func(r federate.Record) any { return r.Series }, "The hunger games ; 1"},
		{"series from 830 when there is no 490", base(df("830", ' ', '0', "aOxford world's classics.")), func(r federate.Record) any { return r.Series }, "Oxford world's classics"},
		{"language from 041 when 008 says und", &Record{Control: []ControlField{{Tag: "001", Value: "x"}, {Tag: "008", Value: "080101s2008    nyu           000 1 und d"}}, Data: []DataField{df("245", '0', '0', "aT"), df("041", '0', ' ', "aFREeng")}},
			func(r federate.Record) any { return r.Language }, "fre"},
		{"links take $y, else $3, else a default label", base(df("856", '4', '0', "uhttp://a", "yFull text"), df("856", '4', '1', "3Table of contents", "uhttp://b"), df("856", '4', '2', "uhttp://c")),
			func(r federate.Record) any { return r.Links }, []federate.Link{{URL: "http://a", Label: "Full text"}, {URL: "http://b", Label: "Table of contents"}, {URL: "http://c", Label: "Online access"}}},
		{"whitespace and invalid UTF-8 are cleaned", base(df("250", ' ', ' ', "a2nd\n   ed\xff.")), func(r federate.Record) any { return r.Edition }, "2nd ed\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			got, err := ToRecord(tt.rec)
			if err != nil {
				t.Fatal(err)
			}
			if v := tt.check(got); !reflect.DeepEqual(v, tt.want) {
				t.Errorf("got %#v, want %#v", v, tt.want)
			}
		})
	}
}

func TestToRecordFormatTable(t *testing.T) {
	tests := []struct {
		title  string
		leader string
		f008   string
		extra  []DataField
		want   string
	}{
		{"printed book", "00000nam a2200000 a 4500", "", nil, federate.FormatBook},
		{"online book (008/23 o)", "00000nam a2200000 a 4500", "080101s2008    nyu     o     000 1 eng d", nil, federate.FormatEbook},
		{"serial", "00000nas a2200000 a 4500", "", nil, federate.FormatJournal},
		{"article", "00000nab a2200000 a 4500", "", nil, federate.FormatArticle},
		{"manuscript thesis", "00000ntm a2200000 a 4500", "", []DataField{df("502", ' ', ' ', "aThesis (Ph.D.)")}, federate.FormatThesis},
		{"video", "00000ngm a2200000 a 4500", "", nil, federate.FormatVideo},
		{"music recording", "00000njm a2200000 a 4500", "", nil, federate.FormatAudio},
		{"spoken recording", "00000nim a2200000 a 4500", "", nil, federate.FormatAudio},
		{"score", "00000ncm a2200000 a 4500", "", nil, federate.FormatMusic},
		{"map", "00000nem a2200000 a 4500", "", nil, federate.FormatMap},
		{"mixed materials", "00000npc a2200000 a 4500", "", nil, federate.FormatArchive},
		{"computer file", "00000nmm a2200000 a 4500", "", nil, federate.FormatOther},
		{"no leader", "", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			rec := &Record{Leader: tt.leader, Control: []ControlField{{Tag: "001", Value: "x"}, {Tag: "008", Value: tt.f008}},
				Data: append([]DataField{df("245", '0', '0', "aT")}, tt.extra...)}
			got, err := ToRecord(rec)
			if err != nil {
				t.Fatal(err)
			}
			if got.Format != tt.want {
				t.Errorf("got %q, want %q", got.Format, tt.want)
			}
		})
	}
}

func TestToRecordErrors(t *testing.T) {
	tests := []struct {
		title string
		rec   *Record
		want  error
	}{
		{"no 001 and no 035", &Record{Data: []DataField{df("245", '0', '0', "aT")}}, ErrNoControlNumber},
		{"no 245", &Record{Control: []ControlField{{Tag: "001", Value: "x"}}}, ErrNoTitle},
		{"245 of punctuation only", &Record{Control: []ControlField{{Tag: "001", Value: "x"}}, Data: []DataField{df("245", '0', '0', "a /")}}, ErrNoTitle},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			if _, err := ToRecord(tt.rec); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestImprintYears(t *testing.T) {
	for in, want := range map[string]int{
		"c2008.": 2008, "[2008?]": 2008, "2008-": 2008, "19--": 0, "p1999, c2001": 1999,
		"12345": 0, "0999": 0, "2101": 2101, "1000": 1000, "": 0, "anno 1645": 1645,
	} {
		if got := federate.YearOf(in); got != want {
			t.Errorf("YearOf(%q) = %d, want %d", in, got, want)
		}
	}
}
