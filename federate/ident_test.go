package federate

import "testing"

func TestNormalizeISBN(t *testing.T) {
	tests := []struct {
		title, in, want string
		ok              bool
	}{
		{"plain ISBN-10 becomes ISBN-13", "0439023483", "9780439023481", true},
		{"hyphenated ISBN-13 keeps its digits", "978-0-439-02348-1", "9780439023481", true},
		{"qualifier after the number is dropped", "0394502884 (pbk.)", "9780394502885", true},
		{"ISBN-10 with X check digit", "080442957X", "9780804429573", true},
		{"lower-case x check digit", "080442957x", "9780804429573", true},
		{"ISBN prefix is tolerated", "ISBN 0-439-02348-3", "9780439023481", true},
		{"ISBN-13: prefix is tolerated", "ISBN-13: 978-0-439-02348-1", "9780439023481", true},
		{"a non-breaking space inside the number", "978\u00a00439023481", "9780439023481", true},
		{"979 prefix is valid", "979-10-90636-07-1", "9791090636071", true},
		{"wrong ISBN-10 check digit is rejected", "0439023484", "", false},
		{"wrong ISBN-13 check digit is rejected", "9780439023482", "", false},
		{"goodbooks lost a leading zero: nine digits are not an ISBN", "439023483", "", false},
		{"13 digits without a Bookland prefix", "1234567890128", "", false},
		{"empty", "", "", false},
		{"garbage", "(pbk.)", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			got, ok := NormalizeISBN(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("NormalizeISBN(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestISBN10RoundTrip(t *testing.T) {
	for _, in := range []string{"0439023483", "080442957X", "0394502884"} {
		n, _ := NormalizeISBN(in)
		back, ok := ISBN10(n)
		if !ok || back != in {
			t.Errorf("ISBN10(%s) = %q, %v; want %q", n, back, ok, in)
		}
	}
	if _, ok := ISBN10("9791090636071"); ok {
		t.Error("a 979 ISBN has no ISBN-10 form")
	}
}

func TestNormalizeOtherIdentifiers(t *testing.T) {
	tests := []struct {
		title string
		norm  func(string) (string, bool)
		in    string
		want  string
		ok    bool
	}{
		{"ISSN with hyphen", NormalizeISSN, "0028-0836", "0028-0836", true},
		{"ISSN without hyphen and X check", NormalizeISSN, "2434561x", "2434-561X", true},
		{"ISSN with bad check digit", NormalizeISSN, "0028-0837", "", false},
		{"OCLC ocm spelling", NormalizeOCLC, "(OCoLC)ocm00012345", "12345", true},
		{"OCLC ocn spelling", NormalizeOCLC, "(OCoLC)ocn123456789", "123456789", true},
		{"OCLC on spelling", NormalizeOCLC, "(OCoLC)on1234567890", "1234567890", true},
		{"OCLC bare with leading zeros", NormalizeOCLC, "(OCoLC)00012345", "12345", true},
		{"OCLC from another agency is not a number", NormalizeOCLC, "(DLC)  2001012345", "", false},
		{"LCCN with prefix and hyphen", NormalizeLCCN, "n 78-890351", "n78890351", true},
		{"LCCN short serial padded", NormalizeLCCN, "85-2 ", "85000002", true},
		{"LCCN with revision after slash", NormalizeLCCN, "   79139101 /AC/r932", "79139101", true},
		{"LCCN modern ten digits", NormalizeLCCN, "2001012345", "2001012345", true},
		{"LCCN nonsense", NormalizeLCCN, "abcd", "", false},
		{"DOI resolver URL", NormalizeDOI, "https://doi.org/10.1000/XYZ123", "10.1000/xyz123", true},
		{"DOI with doi: prefix", NormalizeDOI, "doi:10.1038/nphys1170", "10.1038/nphys1170", true},
		{"not a DOI", NormalizeDOI, "11.1/abc", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			got, ok := tt.norm(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRecordNormalizeIsIdempotentAndDedupes(t *testing.T) {
	r := Record{Identifiers: Identifiers{
		ISBN: []string{"0439023483", "978-0-439-02348-1", "bogus"},
		OCLC: []string{"(OCoLC)ocm00012345", "12345"},
	}}
	r.Normalize()
	if len(r.Identifiers.ISBN) != 1 || r.Identifiers.ISBN[0] != "9780439023481" {
		t.Fatalf("ISBN = %v", r.Identifiers.ISBN)
	}
	if len(r.Identifiers.OCLC) != 1 {
		t.Fatalf("OCLC = %v", r.Identifiers.OCLC)
	}
	before := r.Identifiers
	r.Normalize()
	if r.Identifiers.ISBN[0] != before.ISBN[0] || len(r.Identifiers.OCLC) != 1 {
		t.Fatal("Normalize is not idempotent")
	}
}
