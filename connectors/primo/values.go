package primo

import (
	"strings"
)

// subfields splits a PNX value carrying Primo's "$$X" subfield markers
// ("$$CISBN$$V9781784394011", "Smith, John$$QSmith, John") into the text
// before the first marker and the marked parts in order. A value without
// markers is all text.
func subfields(v string) (text string, parts []subfield) {
	i := strings.Index(v, "$$")
	if i < 0 {
		return v, nil
	}
	text = v[:i]
	rest := v[i:]
	for len(rest) >= 3 && strings.HasPrefix(rest, "$$") {
		code := rest[2]
		rest = rest[3:]
		end := strings.Index(rest, "$$")
		if end < 0 {
			end = len(rest)
		}
		parts = append(parts, subfield{code: code, value: rest[:end]})
		rest = rest[end:]
	}
	return text, parts
}

type subfield struct {
	code  byte
	value string
}

// clean returns the readable text of a PNX value: the text before any
// subfield marker, or when that is empty the first marked part (a value
// that is only "$$QSmith, John" reads "Smith, John"); surrounding blanks
// and a trailing " /" or " :" left by cataloguing punctuation are removed.
func clean(v string) string {
	text, parts := subfields(v)
	text = strings.TrimSpace(text)
	if text == "" {
		for _, p := range parts {
			if t := strings.TrimSpace(p.value); t != "" {
				text = t
				break
			}
		}
	}
	return trimPunct(text)
}

// trimPunct drops trailing ISBD punctuation (" /", " :", " ;", ",").
func trimPunct(s string) string {
	for {
		t := strings.TrimSpace(s)
		t = strings.TrimRight(t, "/:;,")
		t = strings.TrimSpace(t)
		if t == s {
			return t
		}
		s = t
	}
}

// heading returns a name or subject heading: the "$$Q" part, which Primo
// fills with the heading without relator terms ("Gollapudi, Sunila" for
// "Gollapudi, Sunila, author.$$QGollapudi, Sunila"), else the cleaned text.
func heading(v string) string {
	_, parts := subfields(v)
	for _, p := range parts {
		if p.code == 'Q' {
			if t := trimPunct(p.value); t != "" {
				return t
			}
		}
	}
	return clean(v)
}

// splitList splits display values that join several entries with " ; "
// (as central-index records do for creators and subjects) and cleans each
// with fn.
func splitList(vals []string, fn func(string) string) []string {
	var out []string
	for _, v := range vals {
		// A value with subfields is one entry: its ";" may separate
		// subfield groups, handled by the caller.
		if strings.Contains(v, "$$") {
			if t := fn(v); t != "" {
				out = append(out, t)
			}
			continue
		}
		for _, part := range strings.Split(v, " ; ") {
			if t := fn(part); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}
