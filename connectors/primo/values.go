package primo

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// object returns raw as a JSON object's members, or nil when raw is
// anything else (missing, null, a string, a list): a section of the wrong
// type is treated as absent, never as a reason to fail the record.
func object(raw json.RawMessage) map[string]json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// strs reads a PNX value. Primo sends every PNX field as a list of
// strings, but deployments also send a bare string, numbers (control.score)
// or booleans; strings and numbers are kept as text, anything else is
// skipped. Empty strings are dropped.
func strs(raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil
		}
		out := make([]string, 0, len(items))
		for _, it := range items {
			if s, ok := scalar(it); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	default:
		if s, ok := scalar(raw); ok && s != "" {
			return []string{s}
		}
	}
	return nil
}

// str is the first value of strs, or "".
func str(raw json.RawMessage) string {
	if v := strs(raw); len(v) > 0 {
		return v[0]
	}
	return ""
}

// scalar reads a JSON string or number as text.
func scalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return strings.TrimSpace(s), true
	case c == '-' || (c >= '0' && c <= '9'):
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return "", false
		}
		return n.String(), true
	}
	return "", false
}

// integer reads a count sent as a number or as a string of digits
// ("total": "42"); false if it is neither, or negative.
func integer(raw json.RawMessage) (int, bool) {
	s, ok := scalar(raw)
	if !ok {
		return 0, false
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f <= 1<<53 {
		return int(f), true
	}
	return 0, false
}

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
