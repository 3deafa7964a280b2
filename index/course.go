package index

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"

	bolt "go.etcd.io/bbolt"
)

// SameCourseCode reports whether two course codes name the same course as
// people and platforms write them: case, spaces and punctuation aside
// ("CHEM 101", "chem-101" and "CHEM101" are one course).
func SameCourseCode(a, b string) bool {
	na, nb := normCourseCode(a), normCourseCode(b)
	return na != "" && na == nb
}

func normCourseCode(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// InstitutionLists returns every list of an institution (drafts and
// private ones too), in id order, with their files. The caller decides
// what a viewer may see.
func (s *Store) InstitutionLists(institution string) ([]*List, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	prefix := []byte(institution + "/")
	var out []*List
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLists).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			_, l, err := decodeValue(v)
			if err != nil {
				return fmt.Errorf("list %s: %w", k, err)
			}
			if err := fillFiles(tx, string(k), l); err != nil {
				return err
			}
			out = append(out, l)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lists of %s: %w", institution, err)
	}
	return out, nil
}
