package consortium

import (
	"fmt"
	"strings"
)

// Problem makes a problem found after Load, by a check that needs what this
// package does not know (a connector's options, the environment), reported
// like Load's own: inst is the institution's id ("" for the consortium),
// key a path as in Problem.Key ("institutions[north].member.options.vid").
// The line is the key's, or, when the file does not write the key, the line
// of the nearest enclosing key it does write.
func (c *Config) Problem(inst, key, format string, args ...any) *Problem {
	return &Problem{File: c.File, Line: c.Line(key), Institution: inst, Key: key, Message: fmt.Sprintf(format, args...)}
}

// Line returns the line key (a path as in Problem.Key) is written on, or
// that of its nearest enclosing key the file writes; 0 if none.
func (c *Config) Line(key string) int {
	for key != "" {
		if line, ok := c.lines[key]; ok {
			return line
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

// InstitutionKey is the key path of institution id's setting key
// ("member.options.vid" → "institutions[north].member.options.vid").
func InstitutionKey(id, key string) string { return join("institutions["+id+"]", key) }

// Problems returns ps as an *Error in file order, or nil when ps is empty.
func Problems(ps []*Problem) error {
	if len(ps) == 0 {
		return nil
	}
	ps = append([]*Problem(nil), ps...)
	sortProblems(ps)
	return &Error{Problems: ps}
}
