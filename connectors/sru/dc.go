package sru

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"unicode"

	"github.com/commonshelf/commonshelf/federate"
)

// parseDC maps a Dublin Core record (srw_dc, oai_dc or any element whose
// children are DC elements) to the shared model. RecordID is the first
// dc:identifier that is neither a standard number nor a URL, else an ISBN
// ("isbn:…"); it is "" when there is neither (the envelope's
// recordIdentifier may still name the record). A record without a title
// is an error.
func parseDC(raw []byte) (federate.Record, error) {
	var rec federate.Record
	d := newDecoder(raw)
	depth := 0
	var (
		field  string
		text   []byte
		values = map[string][]string{}
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rec, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > MaxDepth {
				return rec, ErrTooDeep
			}
			if depth == 2 && (t.Name.Space == namespaceDC || t.Name.Space == "" || !strings.Contains(t.Name.Space, ":")) {
				field, text = t.Name.Local, text[:0]
			}
		case xml.CharData:
			if field != "" && len(text) < maxTextBytes {
				text = append(text, t...)
			}
		case xml.EndElement:
			if depth == 2 && field != "" {
				if v := collapse(string(text)); v != "" {
					values[field] = append(values[field], v)
				}
				field = ""
			}
			depth--
		}
	}
	if len(values["title"]) == 0 {
		return rec, errors.New("no title")
	}
	rec.Title = trimISBD(values["title"][0])
	for _, c := range values["creator"] {
		if c = trimISBD(c); c != "" {
			rec.Authors = append(rec.Authors, c)
		}
	}
	for _, s := range values["subject"] {
		if s = trimISBD(s); s != "" {
			rec.Subjects = append(rec.Subjects, s)
		}
	}
	for _, v := range values["date"] {
		if y := federate.YearOf(v); y != 0 {
			rec.Year = y
			break
		}
	}
	if p := values["publisher"]; len(p) > 0 {
		rec.Publisher = trimISBD(p[0])
	}
	for _, l := range values["language"] {
		if isLangCode(l) {
			rec.Language = strings.ToLower(l)
			break
		}
	}
	rec.Format = dcFormat(values["type"], values["format"])
	var localIDs []string
	for _, id := range values["identifier"] {
		if local := identifier(&rec, id); local != "" {
			localIDs = append(localIDs, local)
		}
	}
	switch {
	case len(localIDs) > 0:
		rec.RecordID = localIDs[0]
	case len(rec.Identifiers.ISBN) > 0:
		if n, ok := federate.NormalizeISBN(rec.Identifiers.ISBN[0]); ok {
			rec.RecordID = "isbn:" + n
		}
	}
	return rec, nil
}

// identifier files one dc:identifier into rec and returns it when it is a
// plain local identifier.
func identifier(rec *federate.Record, v string) string {
	up := strings.ToUpper(v)
	for _, p := range []struct {
		prefix string
		list   *[]string
	}{
		{"URN:ISBN:", &rec.Identifiers.ISBN}, {"ISBN:", &rec.Identifiers.ISBN}, {"ISBN ", &rec.Identifiers.ISBN},
		{"URN:ISSN:", &rec.Identifiers.ISSN}, {"ISSN:", &rec.Identifiers.ISSN}, {"ISSN ", &rec.Identifiers.ISSN},
		{"INFO:LCCN/", &rec.Identifiers.LCCN}, {"INFO:OCLCNUM/", &rec.Identifiers.OCLC}, {"(OCOLC)", &rec.Identifiers.OCLC},
		{"INFO:DOI/", &rec.Identifiers.DOI}, {"DOI:", &rec.Identifiers.DOI},
	} {
		if strings.HasPrefix(up, p.prefix) {
			val := strings.TrimSpace(v[len(p.prefix):])
			if p.prefix == "(OCOLC)" {
				val = v
			}
			*p.list = append(*p.list, val)
			return ""
		}
	}
	switch {
	case strings.HasPrefix(up, "HTTP://") || strings.HasPrefix(up, "HTTPS://"):
		if strings.Contains(up, "DOI.ORG/10.") {
			rec.Identifiers.DOI = append(rec.Identifiers.DOI, v)
			return ""
		}
		rec.Links = append(rec.Links, federate.Link{URL: v, Label: "Online"})
		return ""
	case strings.HasPrefix(v, "10.") && strings.Contains(v, "/"):
		rec.Identifiers.DOI = append(rec.Identifiers.DOI, v)
		return ""
	}
	if _, ok := federate.NormalizeISBN(v); ok && digitCount(v) >= 10 {
		rec.Identifiers.ISBN = append(rec.Identifiers.ISBN, v)
		return ""
	}
	if strings.ContainsAny(v, " \t") {
		return "" // a sentence, not an identifier
	}
	return v
}

func digitCount(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' || r == 'X' || r == 'x' {
			n++
		}
	}
	return n
}

// dcFormat maps DC type and format values (the MARC-derived vocabulary
// and the DCMI type vocabulary) to a record format.
func dcFormat(types, formats []string) string {
	online := false
	for _, f := range formats {
		l := strings.ToLower(f)
		if strings.Contains(l, "online") || strings.Contains(l, "electronic") || strings.Contains(l, "remote") {
			online = true
		}
	}
	for _, t := range types {
		l := strings.ToLower(t)
		switch {
		case strings.Contains(l, "notated music"):
			return federate.FormatMusic
		case strings.Contains(l, "sound"):
			return federate.FormatAudio
		case strings.Contains(l, "moving image") || l == "movingimage":
			return federate.FormatVideo
		case strings.Contains(l, "cartographic"):
			return federate.FormatMap
		case strings.Contains(l, "mixed material") || l == "collection":
			return federate.FormatArchive
		case l == "text" || strings.HasPrefix(l, "text"):
			if online {
				return federate.FormatEbook
			}
			return federate.FormatBook
		case l != "":
			return federate.FormatOther
		}
	}
	return ""
}

func isLangCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// collapse trims s and collapses runs of white space to one blank.
func collapse(s string) string {
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// trimISBD trims the ISBD punctuation that catalogues end elements with
// (" /", " :", ";", ",", a final period that does not end an initial).
func trimISBD(s string) string {
	for {
		t := strings.TrimRight(s, " /:;,=")
		if strings.HasSuffix(t, ".") && !endsWithInitial(t) && !strings.HasSuffix(t, "...") {
			t = strings.TrimSuffix(t, ".")
		}
		if t == s {
			return t
		}
		s = t
	}
}

// endsWithInitial reports whether s ends with a lone capital and a period
// ("Tolkien, J.R.R.", "Smith, A.").
func endsWithInitial(s string) bool {
	r := []rune(s)
	n := len(r)
	return n >= 2 && r[n-1] == '.' && unicode.IsUpper(r[n-2]) && (n == 2 || !unicode.IsLetter(r[n-3]))
}
