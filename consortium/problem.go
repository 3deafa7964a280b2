package consortium

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration file.
type Problem struct {
	// File is the configuration file's name as given to Load or Parse.
	File string
	// Line is the 1-based line the problem is on; 0 when the problem has no
	// single place in the file (an unreadable or empty file).
	Line int
	// Institution names the institution the problem belongs to: its id, or
	// "#3" (its 1-based position in the institutions list) when the entry
	// has no usable id. "" for consortium-level and file-level problems.
	Institution string
	// Key is the dotted path of the offending value from the top of the
	// file, e.g. "institutions[north].overrides.upload_max_mb.student",
	// "consortium.defaults.external_links[0].url". List elements other than
	// institutions are counted from 0. "" when the problem is about the file
	// as a whole (syntax, empty, unreadable).
	Key string
	// Message says what is wrong, for an operator.
	Message string
}

// Error renders the problem on one line, as
//
//	consortium.yaml:12: institution north: overrides.language: the consortium locks "language"
//
// The institution's own part of Key is printed relative to the institution.
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(cmp.Or(p.File, "configuration"))
	if p.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	key := p.Key
	if p.Institution != "" {
		b.WriteString("institution ")
		b.WriteString(p.Institution)
		b.WriteString(": ")
		prefix := "institutions[" + p.Institution + "]"
		if key == prefix {
			key = ""
		} else {
			key = strings.TrimPrefix(key, prefix+".")
		}
	}
	if key != "" {
		b.WriteString(key)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error is what Load and Parse return when the configuration is unusable: every
// problem found, in file order. The process should refuse to start and print it.
type Error struct {
	Problems []*Problem
}

// Error prints one line per problem.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives the problems to errors.As.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// sortProblems orders problems by line, keeping discovery order on a tie;
// problems without a line come first (they are about the whole file).
func sortProblems(ps []*Problem) {
	slices.SortStableFunc(ps, func(a, b *Problem) int { return cmp.Compare(a.Line, b.Line) })
}
