package marc

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// Limits that keep one hostile or broken input from taking unbounded memory.
const (
	// MaxRecordBytes caps one record: bytes on the wire for ISO 2709 (whose
	// own length field stops at 99,999, but a record found by scanning for
	// its terminator may be longer), and text plus a per-field overhead for
	// MARCXML. A larger record is reported as a *RecordError and skipped.
	MaxRecordBytes = 1 << 20
	// MaxXMLDepth caps element nesting in MARCXML; deeper input is a fatal
	// error.
	MaxXMLDepth = 64
	// maxTokenBytes caps one XML token (a text run, a tag with its
	// attributes, a comment). encoding/xml buffers a token whole, so this is
	// what bounds memory; a larger token is a fatal error.
	maxTokenBytes = 4 << 20
	// fieldOverhead is what one field or subfield counts towards
	// MaxRecordBytes besides its text, so a record of a million empty
	// subfields is capped too.
	fieldOverhead = 32
)

const (
	recordTerminator = 0x1D
	fieldTerminator  = 0x1E
	subfieldDelim    = 0x1F
)

// RecordError reports one record that could not be read. The Reader has
// already skipped it: calling Next again continues with the next record.
type RecordError struct {
	Index  int    // 1-based position of the record in the input
	ID     string // the record's 001, if it could be read
	Reason string
}

func (e *RecordError) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("marc record %d (001 %s): %s", e.Index, e.ID, e.Reason)
	}
	return fmt.Sprintf("marc record %d: %s", e.Index, e.Reason)
}

// Reader streams records from ISO 2709 (binary MARC 21) or MARCXML input,
// detected from the first non-blank bytes: '<' means MARCXML, anything else
// ISO 2709. Memory use is bounded by one record, not by the input.
//
// Next returns each record in turn and io.EOF at the end. A record that
// cannot be read yields a *RecordError and is skipped; any other error (I/O,
// XML that is not well-formed, a limit on the whole input) is fatal and is
// returned again by every later call.
//
// Every string in a returned Record is valid UTF-8: ISO 2709 records coded in
// UTF-8 (leader/09 'a') have stray bytes replaced by U+FFFD; records with a
// blank leader/09 are taken as UTF-8 if they are valid UTF-8 without a
// MARC-8 escape (ESC) and otherwise decoded as MARC-8 (ASCII and the ANSEL Latin set; other MARC-8 character
// sets become U+FFFD).
//
// A Reader is not safe for concurrent use.
type Reader struct {
	src   *bufio.Reader
	mode  int // modeUnknown, modeISO, modeXML
	index int
	err   error // sticky: io.EOF or a fatal error

	// ISO 2709
	bin     *bufio.Reader
	scratch []byte

	// MARCXML: the fast scanner while it is sure of the input, then (or
	// from the start, for a declared single-byte encoding) encoding/xml.
	fast     *fastXML
	xs       *xmlSource
	dec      *xml.Decoder
	depth    int
	slowOnly bool // tests: never use the fast scanner
	fellBack bool // tests: the fast scanner handed over to encoding/xml
}

const (
	modeUnknown = iota
	modeISO
	modeXML
)

// NewReader returns a Reader that reads records from r.
func NewReader(r io.Reader) *Reader {
	// A small buffer: detection peeks at most 512 bytes, and the readers
	// behind it (the MARCXML scanner's window, ISO 2709's record buffer)
	// read through it in large pieces. A reader is made per SRU page.
	return &Reader{src: bufio.NewReaderSize(r, 4<<10)}
}

// Open opens a file of MARC records for reading. A gzip-compressed file
// (named *.gz, or starting with the gzip magic number) is decompressed on the
// fly. The caller must Close the returned io.Closer.
func Open(path string) (*Reader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open marc file: %w", err)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	magic, _ := br.Peek(2)
	if strings.HasSuffix(path, ".gz") || bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("open marc file %s: gunzip: %w", path, err)
		}
		return NewReader(zr), multiCloser{zr, f}, nil
	}
	return NewReader(br), f, nil
}

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var errs []error
	for _, c := range m {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Next returns the next record, io.EOF at the end of the input, a
// *RecordError for a record that was skipped, or a fatal error.
func (r *Reader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.mode == modeUnknown {
		if err := r.detect(); err != nil {
			r.err = err
			return nil, err
		}
	}
	var rec *Record
	var err error
	if r.mode == modeISO {
		rec, err = r.nextISO()
	} else {
		rec, err = r.nextXML()
	}
	if err != nil {
		var re *RecordError
		if !errors.As(err, &re) {
			r.err = err
		}
		return nil, err
	}
	return rec, nil
}

// detect skips a byte-order mark and blank space and picks the format.
func (r *Reader) detect() error {
	if b, _ := r.src.Peek(3); bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		r.src.Discard(3)
	}
	for {
		b, err := r.src.Peek(1)
		if err != nil {
			if err == io.EOF {
				return io.EOF
			}
			return fmt.Errorf("read marc: %w", err)
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			r.src.Discard(1)
			continue
		case '<':
			r.mode = modeXML
			return r.startXML()
		default:
			r.mode = modeISO
			// Room to look at a whole record of the largest length the
			// leader can state.
			r.bin = bufio.NewReaderSize(r.src, 100_000)
			return nil
		}
	}
}

// ---------------------------------------------------------------- ISO 2709

func (r *Reader) nextISO() (*Record, error) {
	// Some files put line breaks (or padding) between records.
	for {
		b, err := r.bin.Peek(1)
		if err != nil {
			if err == io.EOF {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("read marc: %w", err)
		}
		if c := b[0]; c == ' ' || c == '\r' || c == '\n' || c == '\t' || c == 0 {
			r.bin.Discard(1)
			continue
		}
		break
	}
	r.index++
	raw, reason, err := r.frameISO()
	if err != nil {
		return nil, err
	}
	if reason != "" {
		return nil, &RecordError{Index: r.index, Reason: reason}
	}
	rec, reason := parseISO(raw)
	if reason != "" {
		return nil, &RecordError{Index: r.index, ID: recordID(rec), Reason: reason}
	}
	return rec, nil
}

// frameISO returns the bytes of the next record, terminator included. The
// leader's length is trusted when a record terminator sits where it says;
// otherwise the record runs to the next terminator. The returned slice is
// valid until the next read.
func (r *Reader) frameISO() (raw []byte, reason string, err error) {
	// A copy: Peek's slice is only valid until the next read, and the scan
	// below reads before head is quoted in an error.
	var headBuf [5]byte
	peeked, _ := r.bin.Peek(5)
	head := headBuf[:copy(headBuf[:], peeked)]
	declared := -1
	if len(head) == 5 {
		declared = atoi(head)
	}
	if declared >= 25 {
		buf, perr := r.bin.Peek(declared)
		if len(buf) == declared && buf[declared-1] == recordTerminator {
			r.scratch = append(r.scratch[:0], buf...)
			r.bin.Discard(declared)
			return r.scratch, "", nil
		}
		if perr != nil && perr != io.EOF && perr != bufio.ErrBufferFull {
			return nil, "", fmt.Errorf("read marc: %w", perr)
		}
	}
	// Scan for the terminator, keeping at most MaxRecordBytes.
	r.scratch = r.scratch[:0]
	tooBig := false
	for {
		chunk, rerr := r.bin.ReadSlice(recordTerminator)
		if !tooBig {
			if len(r.scratch)+len(chunk) > MaxRecordBytes {
				tooBig = true
			} else {
				r.scratch = append(r.scratch, chunk...)
			}
		}
		if rerr == nil {
			break
		}
		if rerr == bufio.ErrBufferFull {
			continue
		}
		if rerr == io.EOF {
			return nil, "truncated record: input ends before the record terminator", nil
		}
		return nil, "", fmt.Errorf("read marc: %w", rerr)
	}
	if tooBig {
		return nil, fmt.Sprintf("record is larger than %d bytes", MaxRecordBytes), nil
	}
	if declared < 0 {
		return nil, fmt.Sprintf("record length %q in the leader is not a number", sanitize(head)), nil
	}
	// A wrong but numeric length: the terminator still delimits the record,
	// and parseISO checks the directory against the data.
	return r.scratch, "", nil
}

// parseISO decodes one framed record. On failure it returns the fields read
// so far (for the error's ID) and the reason.
func parseISO(raw []byte) (*Record, string) {
	rec := &Record{}
	if len(raw) < 25 {
		return rec, fmt.Sprintf("record is %d bytes, shorter than a leader", len(raw))
	}
	body := raw[:len(raw)-1] // drop the record terminator
	rec.Leader = leaderString(body[:24])
	dirLen := bytes.IndexByte(body[24:], fieldTerminator)
	if dirLen < 0 {
		return rec, "no field terminator after the directory"
	}
	dir := body[24 : 24+dirLen]
	// The base address of data follows from the directory's end; a wrong
	// value in leader/12-16 is ignored.
	data := body[24+dirLen+1:]

	// Entry layout from leader/20-22, falling back to MARC 21's 4+5.
	lenLen, startLen := 4, 5
	if l, s := int(body[20]-'0'), int(body[21]-'0'); l >= 1 && l <= 9 && s >= 1 && s <= 9 && len(dir)%(3+l+s) == 0 {
		lenLen, startLen = l, s
	}
	entry := 3 + lenLen + startLen
	if len(dir)%entry != 0 {
		return rec, fmt.Sprintf("directory is %d bytes, not a multiple of %d", len(dir), entry)
	}
	n := len(dir) / entry
	type dirEntry struct {
		tag          []byte
		length, from int
	}
	entries := make([]dirEntry, n)
	offsetsOK := true
	for i := range entries {
		e := dir[i*entry : (i+1)*entry]
		entries[i] = dirEntry{tag: e[:3], length: atoi(e[3 : 3+lenLen]), from: atoi(e[3+lenLen:])}
		d := entries[i]
		if d.length < 1 || d.from < 0 || d.from+d.length > len(data) || data[d.from+d.length-1] != fieldTerminator {
			offsetsOK = false
		}
	}
	fields := make([][]byte, n)
	if offsetsOK {
		for i, d := range entries {
			fields[i] = data[d.from : d.from+d.length-1]
		}
	} else {
		// The directory's lengths or offsets are wrong; the fields are still
		// unambiguous if the data holds exactly one terminated field per
		// directory entry.
		parts := bytes.Split(data, []byte{fieldTerminator})
		if len(parts) != n+1 || len(parts[n]) != 0 {
			return rec, fmt.Sprintf("directory lists %d fields but the data holds %d", n, len(parts)-1)
		}
		copy(fields, parts[:n])
	}

	conv := chooseDecoder(body[9], data)
	for i, d := range entries {
		if !validTag(d.tag) {
			return rec, fmt.Sprintf("field %d has an invalid tag %q", i+1, sanitize(d.tag))
		}
		tag := string(d.tag)
		f := fields[i]
		if d.tag[0] == '0' && d.tag[1] == '0' {
			rec.Control = append(rec.Control, ControlField{Tag: tag, Value: conv(f)})
			continue
		}
		df := DataField{Tag: tag, Ind1: ' ', Ind2: ' '}
		if len(f) > 0 && f[0] != subfieldDelim {
			df.Ind1 = indicator(f[0])
			f = f[1:]
		}
		if len(f) > 0 && f[0] != subfieldDelim {
			df.Ind2 = indicator(f[0])
			f = f[1:]
		}
		// Anything before the first delimiter other than the indicators is
		// not addressable by a code; it is dropped.
		if j := bytes.IndexByte(f, subfieldDelim); j >= 0 {
			f = f[j+1:]
			for len(f) > 0 || j >= 0 {
				var sf []byte
				j = bytes.IndexByte(f, subfieldDelim)
				if j >= 0 {
					sf, f = f[:j], f[j+1:]
				} else {
					sf, f = f, nil
				}
				if len(sf) == 0 {
					if j < 0 {
						break
					}
					continue // an empty subfield: two delimiters in a row
				}
				if !validCode(sf[0]) {
					return rec, fmt.Sprintf("field %s has an invalid subfield code %q", tag, sanitize(sf[:1]))
				}
				df.Subfields = append(df.Subfields, Subfield{Code: sf[0], Value: conv(sf[1:])})
				if j < 0 {
					break
				}
			}
		}
		rec.Data = append(rec.Data, df)
	}
	return rec, ""
}

// chooseDecoder picks the byte-to-string conversion for one ISO 2709 record.
func chooseDecoder(leader09 byte, data []byte) func([]byte) string {
	if leader09 == 'a' || (utf8.Valid(data) && bytes.IndexByte(data, 0x1B) < 0) {
		return sanitize
	}
	return marc8ToUTF8
}

// leaderString keeps the leader 24 bytes long, blanking anything that is not
// printable ASCII, so byte positions keep their meaning.
func leaderString(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = ' '
		}
		out[i] = c
	}
	return string(out)
}

func indicator(c byte) byte {
	if c < 0x20 || c > 0x7e {
		return ' '
	}
	return c
}

// validCode reports whether c can be a subfield code: printable ASCII.
func validCode(c byte) bool { return c > 0x20 && c < 0x7f }

// validTag reports whether t is three ASCII letters or digits.
func validTag(t []byte) bool {
	if len(t) != 3 {
		return false
	}
	for _, c := range t {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// atoi parses unsigned decimal digits; anything else gives -1.
func atoi(b []byte) int {
	if len(b) == 0 || len(b) > 9 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// sanitize returns b as a string with invalid UTF-8 replaced by U+FFFD.
func sanitize(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// recordID returns a short, printable 001 for error messages.
func recordID(rec *Record) string {
	if rec == nil {
		return ""
	}
	id := strings.TrimSpace(rec.ControlValue("001"))
	if len(id) > 64 {
		id = strings.ToValidUTF8(id[:64], "")
	}
	return id
}

// ---------------------------------------------------------------- MARCXML

// xmlSource feeds the XML decoder: it replaces bytes that are not UTF-8 with
// U+FFFD, drops characters XML 1.0 forbids (so one stray control character
// does not end the import), and fails once a single token grows past
// maxTokenBytes. It is an io.ByteReader, so the decoder reads through it
// byte by byte and the count is exact.
type xmlSource struct {
	r      *bufio.Reader
	pend   [utf8.UTFMax]byte
	pi, pn int
	count  int
	err    error
}

var errTokenTooLarge = fmt.Errorf("marcxml: a single XML token is larger than %d bytes", maxTokenBytes)

func (s *xmlSource) ReadByte() (byte, error) {
	if s.pi < s.pn {
		c := s.pend[s.pi]
		s.pi++
		return c, nil
	}
	if s.err != nil {
		return 0, s.err
	}
	for {
		s.count++
		if s.count > maxTokenBytes {
			s.err = errTokenTooLarge
			return 0, s.err
		}
		c, err := s.r.ReadByte()
		if err != nil {
			s.err = err
			return 0, err
		}
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				continue
			}
			return c, nil
		}
		s.r.UnreadByte()
		ru, size, err := s.r.ReadRune()
		if err != nil {
			s.err = err
			return 0, err
		}
		switch {
		case ru == utf8.RuneError && size == 1:
			ru = utf8.RuneError
		case ru == 0xFFFE || ru == 0xFFFF:
			continue
		}
		s.pn = utf8.EncodeRune(s.pend[:], ru)
		s.pi = 1
		s.count += s.pn - 1
		return s.pend[0], nil
	}
}

func (s *xmlSource) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c, err := s.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		p[n] = c
		n++
	}
	return n, nil
}

func (r *Reader) startXML() error {
	var in io.Reader = r.src
	if dec := charsetFromDeclaration(r.src); dec != nil {
		in = dec(r.src)
	} else if !r.slowOnly {
		r.fast = newFastXML(r.src)
		return nil
	}
	r.startSlowXML(in)
	return nil
}

// startSlowXML reads the rest of the input with encoding/xml.
func (r *Reader) startSlowXML(in io.Reader) {
	br, ok := in.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(in, 64<<10)
	}
	r.xs = &xmlSource{r: br}
	r.dec = xml.NewDecoder(r.xs)
	// The input is already UTF-8 by now, whatever the declaration says.
	r.dec.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
}

// nextToken returns the next token and restarts the per-token byte count.
func (r *Reader) nextToken() (xml.Token, error) {
	r.xs.count = 0
	tok, err := r.dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read marcxml: %w", err)
	}
	switch tok.(type) {
	case xml.StartElement:
		r.depth++
		if r.depth > MaxXMLDepth {
			return nil, fmt.Errorf("read marcxml: elements nested deeper than %d", MaxXMLDepth)
		}
	case xml.EndElement:
		r.depth--
	}
	return tok, nil
}

// isMARCRecord reports whether an element is a MARC record: <record> in the
// MARC 21 slim namespace, in no namespace, or behind an undeclared prefix.
// A <record> of another vocabulary (an OAI-PMH or SRU envelope) is not.
func isMARCRecord(n xml.Name) bool {
	if n.Local != "record" {
		return false
	}
	return n.Space == "" || !strings.Contains(n.Space, ":") ||
		strings.Contains(strings.ToLower(n.Space), "marc21")
}

func (r *Reader) nextXML() (*Record, error) {
	if f := r.fast; f != nil {
		if rec, err, ok := f.next(r); ok {
			return rec, err
		}
		// The fast scanner is not sure: encoding/xml reads the rest, from
		// the start of the current record or token.
		r.fast = nil
		r.fellBack = true
		r.startSlowXML(f.resumeInput())
	}
	for {
		tok, err := r.nextToken()
		if err != nil {
			return nil, err
		}
		if se, ok := tok.(xml.StartElement); ok && isMARCRecord(se.Name) {
			r.index++
			return r.readXMLRecord()
		}
	}
}

// readXMLRecord reads the children of a <record> up to its end tag. Problems
// inside the record are remembered and reported once the whole record has
// been consumed, so the next call starts cleanly.
func (r *Reader) readXMLRecord() (*Record, error) {
	rec := &Record{}
	recDepth := r.depth
	var (
		problem      string
		size         int
		text         []byte
		captureDepth = -1 // depth whose character data is being collected
		what         int  // what the captured text belongs to
		df           *DataField
		code         byte
		ctag         string
	)
	const (
		capLeader = iota + 1
		capControl
		capSubfield
	)
	fail := func(format string, args ...any) {
		if problem == "" {
			problem = fmt.Sprintf(format, args...)
		}
	}
	grow := func(n int) {
		size += n
		if size > MaxRecordBytes {
			fail("record is larger than %d bytes", MaxRecordBytes)
		}
	}
	for {
		tok, err := r.nextToken()
		if err != nil {
			if err == io.EOF {
				err = fmt.Errorf("read marcxml: %w", io.ErrUnexpectedEOF)
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			rel := r.depth - recDepth
			switch {
			case rel == 1 && t.Name.Local == "leader":
				captureDepth, what, text = r.depth, capLeader, text[:0]
			case rel == 1 && t.Name.Local == "controlfield":
				tag, ok := attrTag(t)
				if !ok {
					fail("controlfield has an invalid tag %q", tag)
				}
				ctag = tag
				captureDepth, what, text = r.depth, capControl, text[:0]
				grow(fieldOverhead)
			case rel == 1 && t.Name.Local == "datafield":
				tag, ok := attrTag(t)
				if !ok {
					fail("datafield has an invalid tag %q", tag)
				}
				df = &DataField{Tag: tag, Ind1: ' ', Ind2: ' '}
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "ind1", "ind2":
						c, ok := xmlIndicator(a.Value)
						if !ok {
							fail("datafield %s has an invalid %s %q", tag, a.Name.Local, a.Value)
						}
						if a.Name.Local == "ind1" {
							df.Ind1 = c
						} else {
							df.Ind2 = c
						}
					}
				}
				grow(fieldOverhead)
			case rel == 2 && df != nil && t.Name.Local == "subfield":
				v := attr(t, "code")
				if len(v) != 1 || !validCode(v[0]) {
					fail("datafield %s has an invalid subfield code %q", df.Tag, v)
					v = "?"
				}
				code = v[0]
				captureDepth, what, text = r.depth, capSubfield, text[:0]
				grow(fieldOverhead)
			}
		case xml.CharData:
			if r.depth == captureDepth {
				grow(len(t))
				if problem == "" {
					text = append(text, t...)
				}
			}
		case xml.EndElement:
			// r.depth is already the parent's depth.
			if r.depth+1 == captureDepth {
				captureDepth = -1
				if problem == "" {
					switch what {
					case capLeader:
						rec.Leader = string(text)
					case capControl:
						rec.Control = append(rec.Control, ControlField{Tag: ctag, Value: string(text)})
					case capSubfield:
						df.Subfields = append(df.Subfields, Subfield{Code: code, Value: string(text)})
					}
				}
				continue
			}
			if r.depth+1 == recDepth+1 && df != nil {
				if problem == "" {
					rec.Data = append(rec.Data, *df)
				}
				df = nil
			}
			if r.depth < recDepth {
				if problem != "" {
					return nil, &RecordError{Index: r.index, ID: recordID(rec), Reason: problem}
				}
				return rec, nil
			}
		}
	}
}

func attr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// attrTag returns the tag attribute, trimmed; ok is false unless it is three
// ASCII letters or digits.
func attrTag(se xml.StartElement) (string, bool) {
	tag := strings.TrimSpace(attr(se, "tag"))
	return tag, validTag([]byte(tag))
}

// xmlIndicator accepts an empty value or one printable ASCII character
// (blank included).
func xmlIndicator(v string) (byte, bool) {
	switch {
	case v == "":
		return ' ', true
	case len(v) == 1 && v[0] >= 0x20 && v[0] < 0x7f:
		return v[0], true
	}
	return ' ', false
}
