package remote

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Tolerant readers for members' JSON, which is loosely typed in practice:
// a multi-valued field may come as a list or as a bare scalar, numbers as
// strings, and a section of the wrong type must be treated as absent, never
// as a reason to fail the record.

// Object returns raw as a JSON object's members, or nil when raw is
// anything else (missing, null, a string, a list).
func Object(raw json.RawMessage) map[string]json.RawMessage {
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

// Strings reads a value that may be a list or a single scalar; strings and
// numbers are kept as text, anything else (booleans, objects) is skipped.
// Empty strings are dropped.
func Strings(raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	if raw[0] == '[' {
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil
		}
		out := make([]string, 0, len(items))
		for _, it := range items {
			if s, ok := Scalar(it); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	if s, ok := Scalar(raw); ok && s != "" {
		return []string{s}
	}
	return nil
}

// String is the first value of Strings, or "".
func String(raw json.RawMessage) string {
	if v := Strings(raw); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Scalar reads a JSON string or number as trimmed text.
func Scalar(raw json.RawMessage) (string, bool) {
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

// Integer reads a count sent as a number or as a string of digits
// ("total": "42"); false if it is neither, or negative.
func Integer(raw json.RawMessage) (int, bool) {
	s, ok := Scalar(raw)
	if !ok {
		return 0, false
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f <= 1<<53 {
		return int(f), true
	}
	return 0, false
}
