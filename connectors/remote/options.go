package remote

import (
	"fmt"
	"strings"
)

// Readers for connector options as the consortium file gives them: values
// are string, int, float64, bool or []any of those (maps only from code).

// OptString reads option k as a trimmed string.
func OptString(k string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("options.%s must be a string, not %T", k, v)
	}
	return strings.TrimSpace(s), nil
}

// OptPairs reads option k as name → value pairs, written either as a map
// or as a list of "name=value" strings (the consortium file allows only the
// list); example shows one pair in messages ("author=creator").
func OptPairs(k string, v any, example string) (map[string]string, error) {
	pairs := map[string]string{}
	switch v := v.(type) {
	case map[string]any:
		for name, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("options.%s.%s must be a string, not %T", k, name, x)
			}
			pairs[name] = s
		}
	case map[string]string:
		for name, s := range v {
			pairs[name] = s
		}
	case []any:
		for i, x := range v {
			s, ok := x.(string)
			name, value, cut := strings.Cut(s, "=")
			if !ok || !cut {
				return nil, fmt.Errorf("options.%s[%d] must be a string like %s, not %v", k, i, example, x)
			}
			pairs[strings.TrimSpace(name)] = value
		}
	default:
		return nil, fmt.Errorf("options.%s must be a list of strings like %s, not %T", k, example, v)
	}
	return pairs, nil
}
