package marc

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/commonshelf/commonshelf/federate"
)

// Errors ToRecord returns for records that cannot become a federate.Record.
var (
	ErrNoControlNumber = errors.New("record has no 001 control number")
	ErrNoTitle         = errors.New("record has no title (245)")
)

// ToRecord maps a MARC 21 bibliographic record to the shared record model.
//
// RecordID is the 001, or the first 035 $a when there is no 001. Identifiers
// are extracted as catalogued (an ISBN loses only its qualifier, an OCLC
// number its prefix and leading zeros); federate.Normalize makes them
// canonical. Every string is valid UTF-8 in normal form C, with whitespace
// collapsed and ISBD punctuation trimmed from the ends. A record with neither 001 nor 035, or
// without a 245 title, is an error.
func ToRecord(m *Record) (federate.Record, error) {
	var out federate.Record
	out.RecordID = clean(m.ControlValue("001"))
	if out.RecordID == "" {
		for _, f := range m.Fields("035") {
			if id := clean(f.Value('a')); id != "" {
				out.RecordID = id
				break
			}
		}
	}
	if out.RecordID == "" {
		return out, ErrNoControlNumber
	}
	out.Title = title(m)
	if out.Title == "" {
		return out, ErrNoTitle
	}
	out.Authors = authors(m)
	out.Year = year(m)
	out.Publisher = publisher(m)
	if f := m.Fields("250"); len(f) > 0 {
		out.Edition = trimPunct(f[0].Value('a'))
	}
	out.Language = language(m)
	out.Subjects = subjects(m)
	out.Series = series(m)
	out.Identifiers = identifiers(m)
	out.Links = links(m)
	out.Format = format(m)
	return out, nil
}

// clean makes s valid UTF-8 in Unicode normal form C (catalogues differ:
// the LoC sample is decomposed), collapses white space and control
// characters to one blank and trims the ends.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	simple := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\n' || c == '\r' || (c == ' ' && i+1 < len(s) && s[i+1] == ' ') || c >= utf8.RuneSelf {
			simple = false
			break
		}
	}
	if simple {
		return strings.TrimSpace(s)
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	return norm.NFC.String(s)
}

// trimPunct cleans s and removes the ISBD punctuation that cataloguing
// leaves at the end of a subfield (" /", " :", " ;", " =", ",", "."). A full
// stop after an initial ("Tolkien, J. R. R.") or in an ellipsis is kept.
func trimPunct(s string) string {
	s = clean(s)
	for {
		n := len(s)
		switch {
		case strings.HasSuffix(s, " /"), strings.HasSuffix(s, " :"), strings.HasSuffix(s, " ;"), strings.HasSuffix(s, " ="):
			s = s[:len(s)-2]
		case strings.HasSuffix(s, ","):
			s = s[:len(s)-1]
		case strings.HasSuffix(s, "...") || strings.HasSuffix(s, "…"):
			// an ellipsis is content
		case strings.HasSuffix(s, "."):
			if !endsWithInitial(s[:len(s)-1]) {
				s = s[:len(s)-1]
			}
		case strings.HasSuffix(s, "/") || strings.HasSuffix(s, ":") || strings.HasSuffix(s, ";"):
			s = s[:len(s)-1]
		}
		s = strings.TrimSpace(s)
		if len(s) == n {
			return s
		}
	}
}

// endsWithInitial reports whether s ends in a lone capital letter preceded
// by a blank, a full stop or nothing ("Smith, J" or "J. R. R").
func endsWithInitial(s string) bool {
	r, size := utf8.DecodeLastRuneInString(s)
	if !unicode.IsUpper(r) {
		return false
	}
	rest := s[:len(s)-size]
	if rest == "" {
		return true
	}
	p, _ := utf8.DecodeLastRuneInString(rest)
	return p == ' ' || p == '.'
}

func title(m *Record) string {
	fs := m.Fields("245")
	if len(fs) == 0 {
		return ""
	}
	f := fs[0]
	main := trimPunct(f.Value('a'))
	for _, s := range f.Subfields {
		if s.Code == 'n' || s.Code == 'p' {
			if v := trimPunct(s.Value); v != "" {
				if main != "" {
					main += ". "
				}
				main += v
			}
		}
	}
	if sub := trimPunct(f.Value('b')); sub != "" {
		if main == "" {
			return sub
		}
		return main + " : " + sub
	}
	return main
}

func authors(m *Record) []string {
	var out []string
	seen := map[string]bool{}
	add := func(name string) {
		if name != "" && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, group := range [][3]string{{"100", "110", "111"}, {"700", "710", "711"}} {
		for _, f := range m.Data {
			switch f.Tag {
			case group[0], group[2]:
				add(trimPunct(f.Value('a')))
			case group[1]:
				parts := []string{trimPunct(f.Value('a'))}
				for _, b := range f.Values('b') {
					parts = append(parts, trimPunct(b))
				}
				add(trimPunct(strings.Join(parts, " ")))
			}
		}
	}
	return out
}

// imprint returns the field that states publication: the first 264 with
// second indicator 1, else the first 260.
func imprint(m *Record) (DataField, bool) {
	for _, f := range m.Data {
		if f.Tag == "264" && f.Ind2 == '1' {
			return f, true
		}
	}
	for _, f := range m.Data {
		if f.Tag == "260" {
			return f, true
		}
	}
	return DataField{}, false
}

func year(m *Record) int {
	if f, ok := imprint(m); ok {
		for _, c := range f.Values('c') {
			if y := federate.YearOf(c); y != 0 {
				return y
			}
		}
	}
	return federate.YearOf(fixed(m.ControlValue("008"), 7, 11))
}

// fixed returns character positions [from, to) of a fixed-length field, or
// "" if the field is shorter. Positions count characters, not bytes: a stray
// non-ASCII character (a no-break space, say) must not shift the rest.
func fixed(s string, from, to int) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			r := []rune(s)
			if len(r) < to {
				return ""
			}
			return string(r[from:to])
		}
	}
	if len(s) < to {
		return ""
	}
	return s[from:to]
}

func publisher(m *Record) string {
	if f, ok := imprint(m); ok {
		return trimPunct(f.Value('b'))
	}
	return ""
}

func language(m *Record) string {
	if code := langCode(fixed(m.ControlValue("008"), 35, 38)); code != "" {
		return code
	}
	for _, f := range m.Fields("041") {
		if a := strings.TrimSpace(f.Value('a')); len(a) >= 3 {
			// Older records run several codes together ("engfre").
			if code := langCode(a[:3]); code != "" {
				return code
			}
		}
	}
	return ""
}

// langCode accepts three ASCII letters that name a language.
func langCode(s string) string {
	s = strings.ToLower(s)
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return ""
		}
	}
	if len(s) != 3 || s == "und" || s == "zxx" {
		return ""
	}
	return s
}

var subjectTags = map[string]bool{"600": true, "610": true, "611": true, "630": true, "650": true, "651": true, "655": true}

func subjects(m *Record) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range m.Data {
		if !subjectTags[f.Tag] {
			continue
		}
		var parts []string
		for _, s := range f.Subfields {
			switch s.Code {
			case 'a', 'x', 'y', 'z':
				if v := trimPunct(s.Value); v != "" {
					parts = append(parts, v)
				}
			}
		}
		if len(parts) == 0 {
			continue
		}
		h := strings.Join(parts, " -- ")
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}

func series(m *Record) string {
	for _, tag := range []string{"490", "830"} {
		for _, f := range m.Fields(tag) {
			s := trimPunct(f.Value('a'))
			if s == "" {
				continue
			}
			if v := trimPunct(f.Value('v')); v != "" {
				s += " ; " + v
			}
			return s
		}
	}
	return ""
}

func identifiers(m *Record) federate.Identifiers {
	var ids federate.Identifiers
	for _, f := range m.Fields("020") {
		for _, a := range f.Values('a') {
			if v := isbnToken(a); v != "" {
				ids.ISBN = appendUnique(ids.ISBN, v)
			}
		}
	}
	for _, f := range m.Fields("022") {
		for _, a := range f.Values('a') {
			if v := issnToken(a); v != "" {
				ids.ISSN = appendUnique(ids.ISSN, v)
			}
		}
	}
	for _, f := range m.Fields("035") {
		for _, a := range f.Values('a') {
			if v := oclcNumber(a); v != "" {
				ids.OCLC = appendUnique(ids.OCLC, v)
			}
		}
	}
	if strings.EqualFold(strings.TrimSpace(m.ControlValue("003")), "OCoLC") {
		if v := oclcDigits(m.ControlValue("001")); v != "" {
			ids.OCLC = appendUnique(ids.OCLC, v)
		}
	}
	for _, f := range m.Fields("010") {
		if v := clean(f.Value('a')); v != "" {
			ids.LCCN = appendUnique(ids.LCCN, v)
		}
	}
	for _, f := range m.Fields("024") {
		if f.Ind1 == '7' && strings.EqualFold(strings.TrimSpace(f.Value('2')), "doi") {
			if v := doi(f.Value('a')); v != "" {
				ids.DOI = appendUnique(ids.DOI, v)
			}
		}
	}
	for _, f := range m.Fields("856") {
		for _, u := range f.Values('u') {
			if i := strings.Index(strings.ToLower(u), "doi.org/"); i >= 0 {
				if v := doi(u[i+len("doi.org/"):]); v != "" {
					ids.DOI = appendUnique(ids.DOI, v)
				}
			}
		}
	}
	return ids
}

func appendUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// isbnToken returns the leading ISBN-looking token of an 020 $a ("0394502884
// (pbk.)" gives "0394502884"): digits, hyphens and a final X, with 10 or 13
// digits. Anything else gives "".
func isbnToken(s string) string {
	s = strings.TrimSpace(s)
	end := 0
	digits := 0
	for end < len(s) {
		c := s[end]
		if c >= '0' && c <= '9' || c == 'X' || c == 'x' {
			digits++
		} else if c != '-' {
			break
		}
		end++
	}
	tok := strings.Trim(s[:end], "-")
	if digits != 10 && digits != 13 {
		return ""
	}
	// X is only a check digit.
	if i := strings.IndexAny(tok, "Xx"); i >= 0 && i != len(tok)-1 {
		return ""
	}
	return tok
}

// issnToken returns the leading "NNNN-NNNC" (hyphen optional) of a 022 $a.
func issnToken(s string) string {
	s = strings.TrimSpace(s)
	end, digits := 0, 0
	for end < len(s) {
		c := s[end]
		if c >= '0' && c <= '9' || c == 'X' || c == 'x' {
			digits++
		} else if c != '-' {
			break
		}
		end++
	}
	if digits != 8 {
		return ""
	}
	return strings.ToUpper(s[:end])
}

// oclcNumber extracts the number from a 035 $a in any of the spellings
// "(OCoLC)ocm00012345", "(OCoLC)ocn123456789", "(OCoLC)on1234567890",
// "(OCoLC)12345"; other prefixes ("(OCoLC)DLC...") are not OCLC numbers.
func oclcNumber(s string) string {
	s = strings.TrimSpace(s)
	const p = "(OCoLC)"
	if len(s) < len(p) || !strings.EqualFold(s[:len(p)], p) {
		return ""
	}
	return oclcDigits(s[len(p):])
}

func oclcDigits(s string) string {
	s = strings.TrimSpace(s)
	for _, pre := range []string{"ocm", "ocn", "on"} {
		if len(s) > len(pre) && strings.EqualFold(s[:len(pre)], pre) {
			s = strings.TrimSpace(s[len(pre):])
			break
		}
	}
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end == 0 || (end < len(s) && s[end] != ' ') {
		return ""
	}
	d := strings.TrimLeft(s[:end], "0")
	return d
}

// doi returns a DOI ("10.…") in lower case, or "".
func doi(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(strings.ToLower(s), "doi:"); i == 0 {
		s = s[4:]
	}
	s = strings.ToLower(clean(s))
	if !strings.HasPrefix(s, "10.") || !strings.Contains(s, "/") {
		return ""
	}
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		s = s[:i]
	}
	return s
}

func links(m *Record) []federate.Link {
	var out []federate.Link
	for _, f := range m.Fields("856") {
		label := clean(f.Value('y'))
		if label == "" {
			label = trimPunct(f.Value('3'))
		}
		if label == "" {
			label = "Online access"
		}
		for _, u := range f.Values('u') {
			if u = strings.TrimSpace(strings.ToValidUTF8(u, "")); u != "" {
				out = append(out, federate.Link{URL: u, Label: label})
			}
		}
	}
	return out
}

// format maps leader/06 (type of record) and leader/07 (bibliographic
// level) to a coarse format; an absent leader gives "" (unknown).
func format(m *Record) string {
	if len(m.Leader) < 8 {
		return ""
	}
	typ, lvl := m.Leader[6], m.Leader[7]
	switch typ {
	case 'a', 't':
		switch lvl {
		case 's':
			return federate.FormatJournal
		case 'a', 'b':
			return federate.FormatArticle
		case 'i':
			return federate.FormatOther
		}
		if len(m.Fields("502")) > 0 {
			return federate.FormatThesis
		}
		if f := fixed(m.ControlValue("008"), 23, 24); f != "" && strings.Contains("oqs", f) {
			return federate.FormatEbook
		}
		return federate.FormatBook
	case 'g':
		return federate.FormatVideo
	case 'i', 'j':
		return federate.FormatAudio
	case 'c', 'd':
		return federate.FormatMusic
	case 'e', 'f':
		return federate.FormatMap
	case 'p':
		return federate.FormatArchive
	}
	return federate.FormatOther
}
