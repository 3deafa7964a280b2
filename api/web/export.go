package web

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/commonshelf/commonshelf/federate"
	"golang.org/x/text/unicode/norm"
)

// risTypes maps the engine's formats to RIS reference types.
var risTypes = map[string]string{
	federate.FormatBook: "BOOK", federate.FormatEbook: "EBOOK", federate.FormatJournal: "JFULL",
	federate.FormatArticle: "JOUR", federate.FormatVideo: "VIDEO", federate.FormatAudio: "SOUND",
	federate.FormatMusic: "MUSIC", federate.FormatMap: "MAP", federate.FormatThesis: "THES",
	federate.FormatArchive: "MANSCPT",
}

// oneLine flattens a value for a line-based format.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// RIS is a work's citation in the RIS format (CRLF line ends).
func RIS(res *federate.Result) string {
	var b strings.Builder
	tag := func(t, v string) {
		if v = oneLine(v); v != "" {
			b.WriteString(t + "  - " + v + "\r\n")
		}
	}
	ty := risTypes[res.Format]
	if ty == "" {
		ty = "GEN"
	}
	tag("TY", ty)
	tag("TI", res.Title)
	for _, a := range res.Authors {
		tag("AU", a)
	}
	if res.Year != 0 {
		tag("PY", strconv.Itoa(res.Year))
	}
	tag("PB", res.Publisher)
	tag("ET", res.Edition)
	tag("T3", res.Series)
	for _, id := range append(append([]string{}, res.Identifiers.ISBN...), res.Identifiers.ISSN...) {
		tag("SN", id)
	}
	for _, d := range res.Identifiers.DOI {
		tag("DO", d)
	}
	tag("LA", res.Language)
	for _, s := range res.Subjects {
		tag("KW", s)
	}
	for _, h := range res.Holdings {
		for _, l := range h.Links {
			tag("UR", l.URL)
		}
	}
	b.WriteString("ER  - \r\n")
	return b.String()
}

// bibTypes maps the engine's formats to BibTeX entry types; others are misc.
var bibTypes = map[string]string{
	federate.FormatBook: "book", federate.FormatEbook: "book", federate.FormatArticle: "article",
	federate.FormatThesis: "phdthesis",
}

// bibEscape protects BibTeX's special characters in a field value.
var bibEscape = strings.NewReplacer(`\`, `\textbackslash{}`, "{", `\{`, "}", `\}`, "&", `\&`, "%", `\%`,
	"$", `\$`, "#", `\#`, "_", `\_`, "~", `\textasciitilde{}`, "^", `\textasciicircum{}`)

// BibTeX is a work's citation as a BibTeX entry.
func BibTeX(res *federate.Result) string {
	typ := bibTypes[res.Format]
	if typ == "" {
		typ = "misc"
	}
	var b strings.Builder
	b.WriteString("@" + typ + "{" + bibKey(res) + ",\n")
	field := func(name, v string) {
		if v = oneLine(v); v != "" {
			b.WriteString("  " + name + " = {" + bibEscape.Replace(v) + "},\n")
		}
	}
	field("title", res.Title)
	if len(res.Authors) > 0 {
		field("author", strings.Join(res.Authors, " and "))
	}
	if res.Year != 0 {
		field("year", strconv.Itoa(res.Year))
	}
	field("publisher", res.Publisher)
	field("edition", res.Edition)
	field("series", res.Series)
	field("isbn", strings.Join(res.Identifiers.ISBN, ", "))
	field("issn", strings.Join(res.Identifiers.ISSN, ", "))
	if len(res.Identifiers.DOI) > 0 {
		field("doi", res.Identifiers.DOI[0])
	}
	field("language", res.Language)
	for _, h := range res.Holdings {
		if len(h.Links) > 0 {
			field("url", h.Links[0].URL)
			break
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// bibKey is a citation key: the first author's surname, the year and the
// title's first long word, in ASCII letters and digits ("collins2008hunger").
func bibKey(res *federate.Result) string {
	var parts []string
	if len(res.Authors) > 0 {
		parts = append(parts, federate.Surname(res.Authors[0]))
	}
	if res.Year != 0 {
		parts = append(parts, strconv.Itoa(res.Year))
	}
	for _, w := range strings.Fields(res.Title) {
		if w = asciiWord(w); len(w) > 3 {
			parts = append(parts, w)
			break
		}
	}
	key := asciiWord(strings.Join(parts, ""))
	if key == "" {
		return "work"
	}
	return key
}

// asciiWord lower-cases s and keeps its ASCII letters and digits, accents
// stripped.
func asciiWord(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		r = unicode.ToLower(r)
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
