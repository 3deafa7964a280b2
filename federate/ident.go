package federate

import (
	"strings"
)

// NormalizeISBN turns any spelling of an ISBN — ISBN-10 or ISBN-13, with
// hyphens or spaces, followed by a qualifier such as "(pbk.)" — into its
// 13-digit form. It reports false if no valid ISBN (check digit included)
// leads the string.
func NormalizeISBN(s string) (string, bool) {
	s = strings.ReplaceAll(s, "\u00a0", " ")
	s = strings.TrimSpace(s)
	if len(s) >= 4 && strings.EqualFold(s[:4], "isbn") { // "ISBN", "ISBN-10:", "ISBN-13 "
		s = strings.TrimLeft(s[4:], " ")
		if len(s) >= 3 && s[0] == '-' && (s[1:3] == "10" || s[1:3] == "13") {
			s = s[3:]
		}
		s = strings.TrimLeft(s, ": ")
	}
	var d []byte
	started := false
	for i := 0; i < len(s) && len(d) <= 13; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			d = append(d, c)
			started = true
		case (c == 'X' || c == 'x') && len(d) == 9:
			d = append(d, 'X')
			started = true
		case c == '-' || c == ' ':
			if started && c == ' ' && (len(d) == 10 || len(d) == 13) {
				i = len(s) // a space after a complete number ends it
			}
		default:
			if started {
				i = len(s)
			} else {
				return "", false
			}
		}
	}
	switch len(d) {
	case 10:
		if !validISBN10(d) {
			return "", false
		}
		out := append([]byte("978"), d[:9]...)
		out = append(out, isbn13Check(out))
		return string(out), true
	case 13:
		if d[12] == 'X' || (string(d[:3]) != "978" && string(d[:3]) != "979") || isbn13Check(d[:12]) != d[12] {
			return "", false
		}
		return string(d), true
	}
	return "", false
}

// ISBN10 returns the ISBN-10 form of a normalised ISBN-13, if it has one
// (only 978- ISBNs do).
func ISBN10(isbn13 string) (string, bool) {
	if len(isbn13) != 13 || !strings.HasPrefix(isbn13, "978") {
		return "", false
	}
	d := []byte(isbn13[3:12])
	sum := 0
	for i, c := range d {
		sum += (10 - i) * int(c-'0')
	}
	check := (11 - sum%11) % 11
	if check == 10 {
		return string(d) + "X", true
	}
	return string(d) + string(rune('0'+check)), true
}

func validISBN10(d []byte) bool {
	sum := 0
	for i, c := range d {
		v := int(c - '0')
		if c == 'X' {
			v = 10
		}
		sum += (10 - i) * v
	}
	return sum%11 == 0
}

// ISBN13CheckDigit returns the check digit of the ISBN-13 whose first 12
// digits are given.
func ISBN13CheckDigit(first12 string) byte { return isbn13Check([]byte(first12)) }

func isbn13Check(d []byte) byte {
	sum := 0
	for i, c := range d[:12] {
		w := 1
		if i%2 == 1 {
			w = 3
		}
		sum += w * int(c-'0')
	}
	return byte('0' + (10-sum%10)%10)
}

// NormalizeISSN returns the ISSN as "NNNN-NNNC" with its check digit
// validated, or false.
func NormalizeISSN(s string) (string, bool) {
	var d []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			d = append(d, c)
		case (c == 'X' || c == 'x') && len(d) == 7:
			d = append(d, 'X')
		case c == '-' || c == ' ':
		default:
			if len(d) > 0 {
				i = len(s)
			} else if !strings.ContainsRune("ISNisn:", rune(c)) {
				return "", false
			}
		}
		if len(d) > 8 {
			return "", false
		}
	}
	if len(d) != 8 {
		return "", false
	}
	sum := 0
	for i, c := range d[:7] {
		sum += (8 - i) * int(c-'0')
	}
	check := (11 - sum%11) % 11
	want := byte('0' + check)
	if check == 10 {
		want = 'X'
	}
	if d[7] != want {
		return "", false
	}
	return string(d[:4]) + "-" + string(d[4:]), true
}

// NormalizeOCLC returns an OCLC number as bare digits without leading zeros,
// from any of the spellings members use: "(OCoLC)ocm00012345",
// "(OCoLC)ocn123456789", "(OCoLC)on1234567890", "ocm12345", "12345".
func NormalizeOCLC(s string) (string, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "(OCoLC)")
	s = strings.TrimSpace(s)
	for _, p := range []string{"ocm", "ocn", "on"} {
		if strings.HasPrefix(s, p) {
			s = s[len(p):]
			break
		}
	}
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end == 0 || (end < len(s) && s[end] != ' ') {
		return "", false
	}
	n := strings.TrimLeft(s[:end], "0")
	if n == "" {
		return "", false
	}
	return n, true
}

// NormalizeLCCN applies the Library of Congress normalisation: blanks
// removed, anything from a slash on dropped, and a hyphenated serial part
// zero-padded to six digits ("n 78-890351" → "n78890351",
// "85-2 " → "85000002").
func NormalizeLCCN(s string) (string, bool) {
	s = strings.ToLower(strings.Join(strings.Fields(s), ""))
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		pre, serial := s[:i], s[i+1:]
		if len(serial) > 6 || !allDigits(serial) || serial == "" {
			return "", false
		}
		s = pre + strings.Repeat("0", 6-len(serial)) + serial
	}
	// prefix of 0–3 letters, then 8 or 10 digits
	i := 0
	for i < len(s) && s[i] >= 'a' && s[i] <= 'z' {
		i++
	}
	digits := s[i:]
	if i > 3 || !allDigits(digits) || (len(digits) != 8 && len(digits) != 10) {
		return "", false
	}
	return s, true
}

// NormalizeDOI returns a DOI lower-cased, without resolver prefix or "doi:".
func NormalizeDOI(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, p := range []string{"https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:"} {
		if strings.HasPrefix(s, p) {
			s = strings.TrimSpace(s[len(p):])
			break
		}
	}
	if !strings.HasPrefix(s, "10.") || !strings.Contains(s, "/") || strings.ContainsAny(s, " \t\n") {
		return "", false
	}
	return s, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Normalize rewrites r.Identifiers into their canonical forms (see
// Identifiers), dropping invalid values and duplicates. It is idempotent.
func (r *Record) Normalize() {
	r.Identifiers.ISBN = normalizeAll(r.Identifiers.ISBN, NormalizeISBN)
	r.Identifiers.ISSN = normalizeAll(r.Identifiers.ISSN, NormalizeISSN)
	r.Identifiers.OCLC = normalizeAll(r.Identifiers.OCLC, NormalizeOCLC)
	r.Identifiers.LCCN = normalizeAll(r.Identifiers.LCCN, NormalizeLCCN)
	r.Identifiers.DOI = normalizeAll(r.Identifiers.DOI, NormalizeDOI)
}

func normalizeAll(in []string, norm func(string) (string, bool)) []string {
	if len(in) == 0 {
		return in
	}
	out := in[:0:0]
	for _, v := range in {
		n, ok := norm(v)
		if !ok {
			continue
		}
		dup := false
		for _, o := range out {
			if o == n {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
