package solr

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// object returns raw as a JSON object's members, or nil when raw is
// anything else (missing, null, a string, a list).
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

// strs reads a stored field: Solr sends a multi-valued field as a list
// and a single-valued one as a scalar; strings and numbers are kept as
// text, anything else (booleans, objects) is skipped. Empty strings are
// dropped.
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
// ("numFound": "42"); false if it is neither, or negative.
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
