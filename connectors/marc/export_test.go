package marc

import "io"

// NewSlowReaderForTest returns a Reader that reads MARCXML with encoding/xml
// only, for tests outside the package that compare it with the fast path.
func NewSlowReaderForTest(r io.Reader) *Reader {
	rd := NewReader(r)
	rd.slowOnly = true
	return rd
}

// FellBackForTest reports whether the fast MARCXML path handed over to
// encoding/xml.
func (r *Reader) FellBackForTest() bool { return r.fellBack }
