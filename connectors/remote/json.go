package remote

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
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

// Walking JSON in one pass. The functions below read a body that
// json.Valid has accepted, without building intermediate maps or copies:
// the caller asks for the members it needs and skips the rest, so each
// byte is looked at once. They read the same values as Object, Strings and
// Scalar above. On input json.Valid rejects their results are unspecified
// (they may panic): validate first.

// SkipSpace returns the index of the first byte at or after i that is not
// JSON white space (len(data) if none).
func SkipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// SkipValue returns the index just past the value that starts at or after
// i.
func SkipValue(data []byte, i int) int {
	i = SkipSpace(data, i)
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				i = stringEnd(data, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	// A number or a literal (true, false, null).
	for i < len(data) {
		switch c := data[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c == '-', c == '+', c == '.', c == 'E':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just past the string whose opening quote is
// data[i].
func stringEnd(data []byte, i int) int {
	i++
	for {
		j := bytes.IndexByte(data[i:], '"')
		if j < 0 {
			return len(data)
		}
		i += j
		// The quote is escaped when an odd number of backslashes
		// precede it.
		n := 0
		for k := i - 1; data[k] == '\\'; k-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i
		}
	}
}

// stringAt reads the string whose opening quote is data[i], returning its
// text and the index past it. Text without escapes and in valid UTF-8 is
// used as it stands; anything else goes through encoding/json, so escapes
// and invalid bytes read exactly as json.Unmarshal reads them.
func stringAt(data []byte, i int) (string, int) {
	j := i + 1
	for j < len(data) {
		c := data[j]
		if c == '"' {
			return string(data[i+1 : j]), j + 1
		}
		if c == '\\' || c >= utf8.RuneSelf {
			break
		}
		j++
	}
	end := stringEnd(data, i)
	raw := data[i:end]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw[1 : len(raw)-1]), end
	}
	var s string
	_ = json.Unmarshal(raw, &s) // valid JSON: cannot fail
	return s, end
}

// keyAt reads an object key like stringAt, but without copying a key that
// needs no unescaping: the result is only valid until data changes.
func keyAt(data []byte, i int) ([]byte, int) {
	end := stringEnd(data, i)
	raw := data[i+1 : end-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw, end
	}
	s, _ := stringAt(data, i)
	return []byte(s), end
}

// EachMember calls fn for each member of the object that starts at or
// after i, in order, with the member's key (unescaped; valid only during
// the call) and the index of its value. fn returns the index just past the
// value — SkipValue(data, at) for a member it does not read. EachMember
// returns the index just past the object; when the value at i is not an
// object, it calls nothing and returns the index past that value.
func EachMember(data []byte, i int, fn func(key []byte, at int) int) int {
	i = SkipSpace(data, i)
	if data[i] != '{' {
		return SkipValue(data, i)
	}
	i = SkipSpace(data, i+1)
	if data[i] == '}' {
		return i + 1
	}
	for {
		var key []byte
		key, i = keyAt(data, i)
		i = SkipSpace(data, i)
		i = fn(key, i+1) // past the ':'
		i = SkipSpace(data, i)
		if data[i] == '}' {
			return i + 1
		}
		i = SkipSpace(data, i+1) // past the ','
	}
}

// EachElement calls fn for each element of the list that starts at or
// after i with the element's index in data; fn returns the index just past
// the element. EachElement returns the index just past the list; when the
// value at i is not a list, it calls nothing and returns the index past
// that value.
func EachElement(data []byte, i int, fn func(at int) int) int {
	i = SkipSpace(data, i)
	if data[i] != '[' {
		return SkipValue(data, i)
	}
	i = SkipSpace(data, i+1)
	if data[i] == ']' {
		return i + 1
	}
	for {
		i = fn(i)
		i = SkipSpace(data, i)
		if data[i] == ']' {
			return i + 1
		}
		i = SkipSpace(data, i+1)
	}
}

// ScalarAt is Scalar for the value that starts at or after i: a string
// (trimmed) or a number as text, false for anything else. It also returns
// the index just past the value.
func ScalarAt(data []byte, i int) (string, bool, int) {
	i = SkipSpace(data, i)
	switch c := data[i]; {
	case c == '"':
		s, end := stringAt(data, i)
		return strings.TrimSpace(s), true, end
	case c == '-' || (c >= '0' && c <= '9'):
		end := SkipValue(data, i)
		return string(data[i:end]), true, end
	}
	return "", false, SkipValue(data, i)
}

// AppendStrings is Strings for the value that starts at or after i: it
// appends the value's non-empty strings and numbers to dst (a list's
// elements in order, or the one scalar) and returns dst and the index just
// past the value.
func AppendStrings(dst []string, data []byte, i int) ([]string, int) {
	i = SkipSpace(data, i)
	if data[i] != '[' {
		s, ok, end := ScalarAt(data, i)
		if ok && s != "" {
			dst = append(dst, s)
		}
		return dst, end
	}
	end := EachElement(data, i, func(at int) int {
		s, ok, end := ScalarAt(data, at)
		if ok && s != "" {
			dst = append(dst, s)
		}
		return end
	})
	return dst, end
}
