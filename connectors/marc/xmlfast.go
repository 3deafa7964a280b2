package marc

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// The MARCXML fast path.
//
// encoding/xml hands out one token at a time through interfaces and copies
// every name and attribute; on MARC 21 slim that is most of the cost of a
// search. fastXML scans the same bytes directly, for the regular shape that
// MARCXML exports and SRU/OAI-PMH envelopes have, and builds the same
// Records with the same RecordErrors as the encoding/xml path
// (readXMLRecord), which stays the reference.
//
// The rule that keeps the two equivalent: the fast path never reports a
// fatal error and never guesses. Whatever it is not sure about — a DOCTYPE
// or other directive, an entity other than the five predefined ones or a
// character reference, a name that is not plain ASCII, a mismatched or
// missing end tag, nesting past MaxXMLDepth, a token or record too large for
// its window, the end of the input inside an element, a read error — makes
// it give up ("bail"). The encoding/xml path then takes over at the last
// resume point for the rest of the input: outside records that is the start
// of the current token, inside a record the start of the record. The slow
// decoder is primed with the open ancestors' start tags (their qualified
// names and namespace declarations, so end tags and namespaces resolve as
// before) and with line breaks hidden in comments, so its line numbers, and
// therefore its error messages, are those of a decoder that read the input
// from the start.
//
// The fast path reads through a window that holds the input from the
// resume point on: one token outside records, the current record inside
// one. The window grows to fastMaxWindow at most, so memory stays bounded
// by one record, as with encoding/xml.

const (
	fastWindow    = 16 << 10
	fastMaxWindow = 8 << 20
	// fastMaxToken bounds the character data, comment or processing
	// instruction the fast path reads in one piece. encoding/xml counts a
	// token after cleaning, where one input byte can become three
	// (U+FFFD), so staying below a quarter of maxTokenBytes means the fast
	// path never accepts a token the slow path would refuse.
	fastMaxToken = maxTokenBytes / 4
	// fastMaxTag bounds a start or end tag; MARC tags are a few dozen
	// bytes and an envelope's a few hundred.
	fastMaxTag = 16 << 10
	// fastMaxIntern bounds the table of interned names and namespaces.
	fastMaxIntern = 512
)

const xmlNamespaceURL = "http://www.w3.org/XML/1998/namespace"

type scanKind uint8

const (
	kMore  scanKind = iota // the token runs past the window: read more
	kBail                  // leave the input to encoding/xml
	kEOF                   // clean end of input between tokens
	kStart                 // start tag (selfClose tells <x/>)
	kEnd                   // end tag
	kText                  // character data
	kCDATA                 // a CDATA section's content
	kSkip                  // a comment or processing instruction
)

// fastElem is an open element: its qualified name as written and where its
// namespace declarations start in fastXML.ns. Elements inside a record keep
// their name as an offset range in buf instead (qname is ""): the window
// holds the whole record, and a hand-over never replays them.
type fastElem struct {
	qname  string
	qa, qz int
	nsLen  int
}

type nsBinding struct{ prefix, uri string }

// fastAttr locates one attribute of the current start tag: its name in
// buf, its decoded value in aval.
type fastAttr struct {
	nameA, nameB int
	colon        int // offset of the name's only ':' in buf, or -1
	valA, valB   int
}

// fastField is a data field being collected; its subfields are
// subs[subA:subB] of the reader's scratch.
type fastField struct {
	tag        string
	ind1, ind2 byte
	subA, subB int
}

type fastXML struct {
	src  io.Reader
	buf  []byte
	pos  int // start of the next token
	end  int // end of valid data in buf
	mark int // resume point: the encoding/xml path restarts here
	eof  bool
	rerr error // a read error, left for the slow path to report

	// Lines: buf[lineOff] is on line lineBase. Counted lazily.
	lineOff, lineBase int

	// A delimiter search that ran out of data, resumed after reading more:
	// the token at hintPos was searched up to hintTo.
	hintPos, hintTo int
	tokLimit        int // largest the pending token may grow

	// The token just scanned.
	after        int // offset after it
	nameA, nameB int // element name
	colon        int // offset of the name's ':' or -1
	selfClose    bool
	rawA, rawB   int // raw text of kText / kCDATA
	attrs        []fastAttr
	aval         []byte

	stack []fastElem
	ns    []nsBinding

	text   []byte // captured character data
	junk   []byte // character data decoded only to check it
	intern map[string]string

	ctl  []ControlField
	data []fastField
	subs []Subfield
}

func newFastXML(src io.Reader) *fastXML {
	return &fastXML{src: src, buf: make([]byte, fastWindow), lineBase: 1, hintPos: -1}
}

// ---------------------------------------------------------------- window

// fill reads more input; false means the fast path must give up (the
// window or the token is too large, or the input failed).
func (f *fastXML) fill() bool {
	if f.rerr != nil || f.eof || f.end-f.pos >= f.tokLimit {
		return false
	}
	if f.end == len(f.buf) && f.mark > 0 {
		f.compact()
	}
	if f.end == len(f.buf) {
		if len(f.buf) >= fastMaxWindow {
			return false
		}
		nb := make([]byte, min(2*len(f.buf), fastMaxWindow))
		copy(nb, f.buf[:f.end])
		f.buf = nb
	}
	for range 100 {
		n, err := f.src.Read(f.buf[f.end:])
		f.end += n
		if err == io.EOF {
			f.eof = true
			return true
		}
		if err != nil {
			f.rerr = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	f.rerr = io.ErrNoProgress
	return false
}

// compact moves the window's content from mark on to the front.
func (f *fastXML) compact() {
	m := f.mark
	f.lineBase += bytes.Count(f.buf[f.lineOff:m], []byte{'\n'})
	f.lineOff = 0
	copy(f.buf, f.buf[m:f.end])
	f.end -= m
	f.pos -= m
	f.mark = 0
	for i := range f.stack {
		if e := &f.stack[i]; e.qname == "" {
			e.qa -= m
			e.qz -= m
		}
	}
	if f.hintPos >= m {
		f.hintPos -= m
		f.hintTo -= m
	} else {
		f.hintPos = -1
	}
}

// lineAtMark is the line number (from 1) of the resume point.
func (f *fastXML) lineAtMark() int {
	return f.lineBase + bytes.Count(f.buf[f.lineOff:f.mark], []byte{'\n'})
}

// token scans the next token at pos, reading more input as needed.
func (f *fastXML) token() scanKind {
	for {
		k := f.scan()
		switch k {
		case kMore:
		case kStart, kEnd:
			if f.after-f.pos > fastMaxTag {
				return kBail
			}
			return k
		case kText, kCDATA, kSkip:
			if f.after-f.pos > fastMaxToken {
				return kBail
			}
			return k
		default:
			return k
		}
		if !f.fill() {
			return kBail
		}
	}
}

// ---------------------------------------------------------------- scanner

// Byte classes.
var (
	nameStartByte [256]bool // first byte of an ASCII XML name
	nameByte      [256]bool // later bytes of an ASCII XML name
	// Bytes a plain run of character data stops at, per context.
	specialText  [256]bool
	specialAttr  [256]bool
	specialCDATA [256]bool
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		letter := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
		nameStartByte[c] = letter || b == '_' || b == ':'
		nameByte[c] = letter || '0' <= b && b <= '9' || b == '_' || b == ':' || b == '.' || b == '-'
		ctl := b < 0x20 && b != '\t' && b != '\n'
		high := b >= utf8.RuneSelf
		specialCDATA[c] = ctl || high // '\r' is a control here too
		specialText[c] = ctl || high || b == '&' || b == '>'
		specialAttr[c] = ctl || high || b == '&' || b == '<'
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// short is what a scanner returns when the token runs past the data read so
// far: read more, or give up at the end of the input (encoding/xml reports
// the unexpected EOF).
func (f *fastXML) short(limit int) scanKind {
	if f.eof {
		return kBail
	}
	f.tokLimit = limit
	return kMore
}

func (f *fastXML) scan() scanKind {
	p, end, b := f.pos, f.end, f.buf
	if p >= end {
		if f.eof {
			return kEOF
		}
		f.tokLimit = fastMaxToken
		return kMore
	}
	if b[p] != '<' {
		from := p
		if f.hintPos == p {
			from = f.hintTo
		}
		j := bytes.IndexByte(b[from:end], '<')
		if j < 0 {
			if !f.eof {
				f.hintPos, f.hintTo = p, end
				f.tokLimit = fastMaxToken
				return kMore
			}
			f.rawA, f.rawB, f.after = p, end, end
			return kText
		}
		f.rawA, f.rawB, f.after = p, from+j, from+j
		return kText
	}
	if p+1 >= end {
		return f.short(fastMaxTag)
	}
	switch b[p+1] {
	case '/':
		return f.scanEnd(p)
	case '?':
		return f.scanPI(p)
	case '!':
		return f.scanBang(p)
	}
	return f.scanStart(p)
}

// scanName reads an ASCII XML name at i. It returns the offset after it
// and the number of colons in it; k is kMore/kBail when it cannot.
func (f *fastXML) scanName(i int) (after, colons int, k scanKind, ok bool) {
	b, end := f.buf, f.end
	if i >= end {
		return 0, 0, f.short(fastMaxTag), false
	}
	if !nameStartByte[b[i]] {
		return 0, 0, kBail, false
	}
	a := i
	for i < end && nameByte[b[i]] {
		i++
	}
	if i >= end {
		return 0, 0, f.short(fastMaxTag), false
	}
	if b[i] >= utf8.RuneSelf { // encoding/xml would read it as part of the name
		return 0, 0, kBail, false
	}
	for _, c := range b[a:i] {
		if c == ':' {
			colons++
		}
	}
	return i, colons, 0, true
}

// splitColon returns the offset of the colon that splits a name into
// prefix and local part the way encoding/xml does, or -1: a name with an
// empty prefix or local part is all local.
func splitColon(b []byte, a, z int) int {
	i := bytes.IndexByte(b[a:z], ':')
	if i <= 0 || a+i == z-1 {
		return -1
	}
	return a + i
}

func (f *fastXML) scanStart(p int) scanKind {
	b := f.buf
	i, colons, k, ok := f.scanName(p + 1)
	if !ok {
		return k
	}
	if colons > 1 {
		return kBail
	}
	f.nameA, f.nameB = p+1, i
	f.colon = -1
	if colons == 1 {
		f.colon = splitColon(b, p+1, i)
	}
	f.attrs = f.attrs[:0]
	f.aval = f.aval[:0]
	f.selfClose = false
	end := f.end
	for {
		for i < end && isSpace(b[i]) {
			i++
		}
		if i >= end {
			return f.short(fastMaxTag)
		}
		switch b[i] {
		case '>':
			f.after = i + 1
			return kStart
		case '/':
			if i+1 >= end {
				return f.short(fastMaxTag)
			}
			if b[i+1] != '>' {
				return kBail
			}
			f.selfClose = true
			f.after = i + 2
			return kStart
		}
		na := i
		var nb int
		if nb, colons, k, ok = f.scanName(i); !ok {
			return k
		}
		if colons > 1 {
			return kBail
		}
		i = nb
		for i < end && isSpace(b[i]) {
			i++
		}
		if i >= end {
			return f.short(fastMaxTag)
		}
		if b[i] != '=' {
			return kBail
		}
		i++
		for i < end && isSpace(b[i]) {
			i++
		}
		if i >= end {
			return f.short(fastMaxTag)
		}
		q := b[i]
		if q != '"' && q != '\'' {
			return kBail
		}
		i++
		j := bytes.IndexByte(b[i:end], q)
		if j < 0 {
			return f.short(fastMaxTag)
		}
		va := len(f.aval)
		if f.aval, ok = appendXMLText(f.aval, b[i:i+j], specialAttr[:]); !ok {
			return kBail
		}
		colon := -1
		if colons == 1 {
			colon = splitColon(b, na, nb)
		}
		f.attrs = append(f.attrs, fastAttr{nameA: na, nameB: nb, colon: colon, valA: va, valB: len(f.aval)})
		i += j + 1
	}
}

func (f *fastXML) scanEnd(p int) scanKind {
	b := f.buf
	i, colons, k, ok := f.scanName(p + 2)
	if !ok {
		return k
	}
	if colons > 1 {
		return kBail
	}
	f.nameA, f.nameB = p+2, i
	for i < f.end && isSpace(b[i]) {
		i++
	}
	if i >= f.end {
		return f.short(fastMaxTag)
	}
	if b[i] != '>' {
		return kBail
	}
	f.after = i + 1
	return kEnd
}

// find searches for sep from offset from on, resuming an earlier search of
// the same token; -1 means it is not in the window yet.
func (f *fastXML) find(p, from int, sep string) int {
	if f.hintPos == p && f.hintTo-len(sep)+1 > from {
		from = f.hintTo - len(sep) + 1
	}
	j := bytes.Index(f.buf[from:f.end], []byte(sep))
	if j < 0 {
		f.hintPos, f.hintTo = p, f.end
		return -1
	}
	return from + j
}

func (f *fastXML) scanBang(p int) scanKind {
	b, end := f.buf, f.end
	if p+2 >= end {
		return f.short(fastMaxTag)
	}
	switch b[p+2] {
	case '-': // <!-- comment -->
		if p+3 >= end {
			return f.short(fastMaxTag)
		}
		if b[p+3] != '-' {
			return kBail
		}
		j := f.find(p, p+4, "--")
		if j < 0 || j+2 >= end {
			return f.short(fastMaxToken)
		}
		// encoding/xml drops some characters before it looks for the end;
		// leave comments with any of them to it.
		if b[j+2] != '>' || hasDropped(b[p+4:j+3]) {
			return kBail
		}
		f.after = j + 3
		return kSkip
	case '[': // <![CDATA[ ... ]]>
		const open = "<![CDATA["
		n := min(len(open), end-p)
		if string(b[p:p+n]) != open[:n] {
			return kBail
		}
		if n < len(open) {
			return f.short(fastMaxTag)
		}
		j := f.find(p, p+len(open), "]]>")
		if j < 0 {
			return f.short(fastMaxToken)
		}
		if hasDropped(b[p+len(open) : j+3]) {
			return kBail
		}
		f.rawA, f.rawB, f.after = p+len(open), j, j+3
		return kCDATA
	}
	return kBail // <!DOCTYPE and other directives
}

func (f *fastXML) scanPI(p int) scanKind {
	b := f.buf
	i, _, k, ok := f.scanName(p + 2)
	if !ok {
		return k
	}
	j := f.find(p, i, "?>")
	if j < 0 {
		return f.short(fastMaxToken)
	}
	if hasDropped(b[p : j+2]) {
		return kBail
	}
	if string(b[p+2:i]) == "xml" {
		for i < j && isSpace(b[i]) {
			i++
		}
		// encoding/xml refuses any version but 1.0; the encoding was
		// looked at before the fast path started.
		if v := declParam("version", b[i:j]); v != "" && v != "1.0" {
			return kBail
		}
	}
	f.after = j + 2
	return kSkip
}

// declParam returns the value of param= in an XML declaration's content as
// encoding/xml reads it: the first occurrence of param= directly followed
// by a quote, up to the next same quote; "" if there is none.
func declParam(param string, s []byte) string {
	key := []byte(param + "=")
	for i := 0; i < len(s); {
		k := bytes.Index(s[i:], key)
		if k < 0 {
			return ""
		}
		at := i + k + len(key) // the byte after '='
		if at >= len(s) {
			return ""
		}
		i = at + 1
		if q := s[at]; q == '"' || q == '\'' {
			j := bytes.IndexByte(s[i:], q)
			if j < 0 {
				return ""
			}
			return string(s[i : i+j])
		}
	}
	return ""
}

// hasDropped reports whether b holds a character that xmlSource removes
// before encoding/xml sees it: a C0 control other than tab, line feed and
// carriage return, or U+FFFE / U+FFFF.
func hasDropped(b []byte) bool {
	for i, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return true
		}
		if c == 0xEF && i+2 < len(b) && b[i+1] == 0xBF && (b[i+2] == 0xBE || b[i+2] == 0xBF) {
			return true
		}
	}
	return false
}

// appendXMLText appends to dst the character data that encoding/xml,
// reading raw through xmlSource, would return for it: invalid UTF-8 becomes
// U+FFFD, forbidden characters are dropped, line ends become "\n", and the
// predefined entities and character references are replaced. special
// selects the context (text, attribute value or CDATA section). ok is false
// for anything encoding/xml would refuse, or that this function does not
// decide the same way for sure.
func appendXMLText(dst, raw []byte, special []bool) (_ []byte, ok bool) {
	inText := &special[0] == &specialText[0]
	cdata := &special[0] == &specialCDATA[0]
	hist := len(dst) // encoding/xml's "]]>" check looks back to here
	i := 0
	for i < len(raw) {
		j := i
		for j < len(raw) && !special[raw[j]] {
			j++
		}
		dst = append(dst, raw[i:j]...)
		if j == len(raw) {
			break
		}
		i = j
		c := raw[i]
		switch {
		case c == '\r':
			// "\r" and "\r\n" become "\n"; characters xmlSource drops
			// may sit in between.
			dst = append(dst, '\n')
			i++
			for i < len(raw) {
				if d := raw[i]; d < 0x20 && d != '\t' && d != '\n' && d != '\r' {
					i++
				} else if d == 0xEF && i+2 < len(raw) && raw[i+1] == 0xBF && (raw[i+2] == 0xBE || raw[i+2] == 0xBF) {
					i += 3
				} else {
					break
				}
			}
			if i < len(raw) && raw[i] == '\n' {
				i++
			}
		case c < 0x20:
			i++ // dropped by xmlSource
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(raw[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				dst = append(dst, "\uFFFD"...)
			case r == 0xFFFE || r == 0xFFFF:
				// dropped by xmlSource
			default:
				dst = append(dst, raw[i:i+size]...)
			}
			i += size
		case c == '&' && !cdata:
			r, n := entityAt(raw[i:])
			if n == 0 {
				return dst, false
			}
			dst = utf8.AppendRune(dst, r)
			i += n
			hist = len(dst)
		case c == '>' && inText:
			if n := len(dst); n-2 >= hist && dst[n-1] == ']' && dst[n-2] == ']' {
				return dst, false // "]]>" outside CDATA is an error
			}
			dst = append(dst, '>')
			i++
		default: // '<' in an attribute value
			return dst, false
		}
	}
	return dst, true
}

// entityAt decodes the reference at the start of b ("&amp;", "&#233;",
// "&#xE9;") to its character and length; n is 0 when encoding/xml would
// not accept it.
func entityAt(b []byte) (r rune, n int) {
	if len(b) >= 2 && b[1] == '#' {
		i, base := 2, rune(10)
		if i < len(b) && b[i] == 'x' {
			i, base = 3, 16
		}
		from := i
		for ; i < len(b); i++ {
			c := b[i]
			var d rune
			switch {
			case '0' <= c && c <= '9':
				d = rune(c - '0')
			case base == 16 && 'a' <= c && c <= 'f':
				d = rune(c-'a') + 10
			case base == 16 && 'A' <= c && c <= 'F':
				d = rune(c-'A') + 10
			default:
				d = -1
			}
			if d < 0 {
				break
			}
			r = r*base + d
			if r > utf8.MaxRune {
				return 0, 0
			}
		}
		if i == from || i >= len(b) || b[i] != ';' {
			return 0, 0
		}
		if 0xD800 <= r && r <= 0xDFFF { // a surrogate reads as U+FFFD
			r = utf8.RuneError
		}
		if !(r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
			r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return 0, 0
		}
		return r, i + 1
	}
	for _, e := range [...]struct {
		s string
		r rune
	}{{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&apos;", '\''}, {"&quot;", '"'}} {
		if len(b) >= len(e.s) && string(b[:len(e.s)]) == e.s {
			return e.r, len(e.s)
		}
	}
	return 0, 0
}

// checkText reports whether encoding/xml accepts the character data
// raw[a:b] (that the fast path does not keep).
func (f *fastXML) checkText(a, b int, special []bool) bool {
	raw := f.buf[a:b]
	i := 0
	for i < len(raw) && isSpace(raw[i]) {
		i++
	}
	if i == len(raw) {
		return true
	}
	var ok bool
	f.junk, ok = appendXMLText(f.junk[:0], raw[i:], special)
	return ok
}

// ---------------------------------------------------------------- names

func (f *fastXML) internBytes(b []byte) string {
	if s, ok := f.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if f.intern == nil {
		f.intern = make(map[string]string)
	}
	if len(f.intern) < fastMaxIntern {
		f.intern[s] = s
	}
	return s
}

// local returns the local part of the name buf[a:z] split at colon.
func (f *fastXML) local(a, z, colon int) []byte {
	if colon >= 0 {
		return f.buf[colon+1 : z]
	}
	return f.buf[a:z]
}

func (f *fastXML) attrLocal(a *fastAttr) []byte { return f.local(a.nameA, a.nameB, a.colon) }

// attr returns the value of the first attribute whose local name is name.
func (f *fastXML) attr(name string) ([]byte, bool) {
	for i := range f.attrs {
		if a := &f.attrs[i]; string(f.attrLocal(a)) == name {
			return f.aval[a.valA:a.valB], true
		}
	}
	return nil, false
}

// lookupNS returns the namespace bound to prefix.
func (f *fastXML) lookupNS(prefix []byte) (string, bool) {
	for i := len(f.ns) - 1; i >= 0; i-- {
		if f.ns[i].prefix == string(prefix) {
			return f.ns[i].uri, true
		}
	}
	return "", false
}

// push opens the element just scanned. Outside records (declare) its
// namespace declarations are applied and the result says whether it is a
// MARC record, as isMARCRecord decides on encoding/xml's name.
func (f *fastXML) push(declare bool) (marcRecord bool) {
	if !declare {
		f.stack = append(f.stack, fastElem{qa: f.nameA, qz: f.nameB, nsLen: len(f.ns)})
		return false
	}
	e := fastElem{qname: f.internBytes(f.buf[f.nameA:f.nameB]), nsLen: len(f.ns)}
	{
		for i := range f.attrs {
			a := &f.attrs[i]
			switch {
			case a.colon >= 0 && string(f.buf[a.nameA:a.colon]) == "xmlns":
				f.ns = append(f.ns, nsBinding{f.internBytes(f.buf[a.colon+1 : a.nameB]), f.internBytes(f.aval[a.valA:a.valB])})
			case a.colon < 0 && string(f.buf[a.nameA:a.nameB]) == "xmlns":
				f.ns = append(f.ns, nsBinding{"", f.internBytes(f.aval[a.valA:a.valB])})
			}
		}
	}
	f.stack = append(f.stack, e)
	if string(f.local(f.nameA, f.nameB, f.colon)) != "record" {
		return false
	}
	var prefix []byte
	if f.colon >= 0 {
		prefix = f.buf[f.nameA:f.colon]
	}
	var space string
	switch string(prefix) {
	case "xmlns":
		space = "xmlns"
	case "xml":
		space = xmlNamespaceURL
	default:
		if uri, ok := f.lookupNS(prefix); ok {
			space = uri
		} else {
			space = string(prefix)
		}
	}
	return space == "" || !strings.Contains(space, ":") || containsFoldASCII(space, "marc21")
}

// containsFoldASCII is strings.Contains(strings.ToLower(s), sub) for a
// lower-case ASCII sub, without the copy.
func containsFoldASCII(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for ; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

// pop closes the innermost element.
func (f *fastXML) pop() {
	e := f.stack[len(f.stack)-1]
	f.stack = f.stack[:len(f.stack)-1]
	f.ns = f.ns[:e.nsLen]
}

// popEnd closes the innermost element for the end tag just scanned;
// false when the tag does not match it.
func (f *fastXML) popEnd() bool {
	if len(f.stack) == 0 {
		return false
	}
	name := f.buf[f.nameA:f.nameB]
	if e := &f.stack[len(f.stack)-1]; e.qname != "" && e.qname != string(name) || e.qname == "" && !bytes.Equal(f.buf[e.qa:e.qz], name) {
		return false
	}
	f.pop()
	return true
}

// ---------------------------------------------------------------- records

// next returns the next record, io.EOF or a *RecordError, as nextXML would.
// ok is false when the fast path gives up: the caller hands the input from
// f.mark on to the encoding/xml path, with f.stack and f.ns describing the
// open elements at that point.
func (f *fastXML) next(r *Reader) (rec *Record, err error, ok bool) {
	for {
		f.mark = f.pos
		switch f.token() {
		case kBail:
			return nil, nil, false
		case kEOF:
			if len(f.stack) > 0 {
				return nil, nil, false
			}
			f.buf = nil
			return nil, io.EOF, true
		case kSkip:
		case kText:
			if !f.checkText(f.rawA, f.rawB, specialText[:]) {
				return nil, nil, false
			}
		case kCDATA:
			if !f.checkText(f.rawA, f.rawB, specialCDATA[:]) {
				return nil, nil, false
			}
		case kEnd:
			if !f.popEnd() {
				return nil, nil, false
			}
		case kStart:
			if len(f.stack) >= MaxXMLDepth {
				return nil, nil, false
			}
			stackLen, nsLen := len(f.stack), len(f.ns)
			isRec := f.push(true)
			f.pos = f.after
			if !isRec {
				if f.selfClose {
					f.pop()
				}
				continue
			}
			r.index++
			if f.selfClose {
				f.pop()
				return &Record{}, nil, true
			}
			rec, err, ok := f.record(r)
			if !ok {
				r.index--
				f.stack, f.ns = f.stack[:stackLen], f.ns[:nsLen]
				return nil, nil, false
			}
			return rec, err, true
		}
		f.pos = f.after
	}
}

// record reads the content of a MARC <record> up to its end tag, exactly as
// readXMLRecord does on encoding/xml's tokens.
func (f *fastXML) record(r *Reader) (*Record, error, bool) {
	recDepth := len(f.stack)
	var (
		problem  string
		size     int
		capDepth = -1
		what     int
		inDF     bool
		df       fastField
		code     byte
		ctag     string
		leader   string
	)
	const (
		capLeader = iota + 1
		capControl
		capSubfield
	)
	f.ctl, f.data, f.subs = f.ctl[:0], f.data[:0], f.subs[:0]
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
		k := f.token()
		switch k {
		case kBail, kEOF:
			return nil, nil, false
		case kSkip:
			f.pos = f.after
			continue
		case kText, kCDATA:
			special := specialText[:]
			if k == kCDATA {
				special = specialCDATA[:]
			}
			if len(f.stack) == capDepth {
				var ok bool
				n := len(f.text)
				if problem == "" {
					f.text, ok = appendXMLText(f.text, f.buf[f.rawA:f.rawB], special)
					n = len(f.text) - n
				} else {
					f.junk, ok = appendXMLText(f.junk[:0], f.buf[f.rawA:f.rawB], special)
					n = len(f.junk)
				}
				if !ok {
					return nil, nil, false
				}
				grow(n)
			} else if !f.checkText(f.rawA, f.rawB, special) {
				return nil, nil, false
			}
			f.pos = f.after
			continue
		case kEnd:
			if !f.popEnd() {
				return nil, nil, false
			}
			f.pos = f.after
		case kStart:
			if len(f.stack) >= MaxXMLDepth {
				return nil, nil, false
			}
			f.push(false)
			f.pos = f.after
			rel := len(f.stack) - recDepth
			local := string(f.local(f.nameA, f.nameB, f.colon))
			switch {
			case rel == 1 && local == "leader":
				capDepth, what, f.text = len(f.stack), capLeader, f.text[:0]
			case rel == 1 && local == "controlfield":
				tag, ok := f.tagAttr()
				if !ok {
					fail("controlfield has an invalid tag %q", tag)
				}
				ctag = tag
				capDepth, what, f.text = len(f.stack), capControl, f.text[:0]
				grow(fieldOverhead)
			case rel == 1 && local == "datafield":
				tag, ok := f.tagAttr()
				if !ok {
					fail("datafield has an invalid tag %q", tag)
				}
				inDF = true
				df = fastField{tag: tag, ind1: ' ', ind2: ' ', subA: len(f.subs)}
				for i := range f.attrs {
					a := &f.attrs[i]
					name := string(f.attrLocal(a))
					if name != "ind1" && name != "ind2" {
						continue
					}
					v := f.aval[a.valA:a.valB]
					c, ok := xmlIndicatorBytes(v)
					if !ok {
						fail("datafield %s has an invalid %s %q", tag, name, v)
					}
					if name == "ind1" {
						df.ind1 = c
					} else {
						df.ind2 = c
					}
				}
				grow(fieldOverhead)
			case rel == 2 && inDF && local == "subfield":
				v, _ := f.attr("code")
				if len(v) != 1 || !validCode(v[0]) {
					fail("datafield %s has an invalid subfield code %q", df.tag, v)
					v = []byte{'?'}
				}
				code = v[0]
				capDepth, what, f.text = len(f.stack), capSubfield, f.text[:0]
				grow(fieldOverhead)
			}
			if !f.selfClose {
				continue
			}
			f.pop()
		}
		// An element has just closed; len(f.stack) is its parent's depth.
		depth := len(f.stack)
		if depth+1 == capDepth {
			capDepth = -1
			if problem == "" {
				switch what {
				case capLeader:
					leader = string(f.text)
				case capControl:
					f.ctl = append(f.ctl, ControlField{Tag: ctag, Value: string(f.text)})
				case capSubfield:
					f.subs = append(f.subs, Subfield{Code: code, Value: string(f.text)})
				}
			}
			continue
		}
		if depth == recDepth && inDF {
			if problem == "" {
				df.subB = len(f.subs)
				f.data = append(f.data, df)
			}
			inDF = false
		}
		if depth < recDepth {
			if problem != "" {
				return nil, &RecordError{Index: r.index, ID: recordID(&Record{Control: f.ctl}), Reason: problem}, true
			}
			return f.build(leader), nil, true
		}
	}
}

// build makes the Record from the fields collected: one allocation for the
// control fields, one for the data fields and one for all their subfields.
func (f *fastXML) build(leader string) *Record {
	rec := &Record{Leader: leader}
	if len(f.ctl) > 0 {
		rec.Control = append([]ControlField(nil), f.ctl...)
	}
	if len(f.data) > 0 {
		rec.Data = make([]DataField, len(f.data))
		var subs []Subfield
		if len(f.subs) > 0 {
			subs = append([]Subfield(nil), f.subs...)
		}
		for i, d := range f.data {
			rec.Data[i] = DataField{Tag: d.tag, Ind1: d.ind1, Ind2: d.ind2}
			if d.subB > d.subA {
				rec.Data[i].Subfields = subs[d.subA:d.subB:d.subB]
			}
		}
	}
	return rec
}

// tagAttr is attrTag for the start tag just scanned, with common tags
// interned.
func (f *fastXML) tagAttr() (string, bool) {
	v, _ := f.attr("tag")
	v = bytes.TrimSpace(v)
	if len(v) == 3 && v[0]-'0' < 10 && v[1]-'0' < 10 && v[2]-'0' < 10 {
		return numericTags[int(v[0]-'0')*100+int(v[1]-'0')*10+int(v[2]-'0')], true
	}
	return string(v), validTag(v)
}

// numericTags holds "000" to "999", so tags cost no allocation.
var numericTags = func() (t [1000]string) {
	for i := range t {
		t[i] = fmt.Sprintf("%03d", i)
	}
	return t
}()

// xmlIndicatorBytes is xmlIndicator for a value in bytes.
func xmlIndicatorBytes(v []byte) (byte, bool) {
	switch {
	case len(v) == 0:
		return ' ', true
	case len(v) == 1 && v[0] >= 0x20 && v[0] < 0x7f:
		return v[0], true
	}
	return ' ', false
}

// ---------------------------------------------------------------- fallback

// resumeInput is the input for the encoding/xml path taking over from the
// fast path: the open ancestors' start tags with their namespace
// declarations, line breaks (inside comments, so they are not character
// data of anything) to bring the decoder to the resume point's line, then
// the input from the resume point on.
func (f *fastXML) resumeInput() io.Reader {
	var pre bytes.Buffer
	for i, e := range f.stack {
		pre.WriteByte('<')
		pre.WriteString(e.qname)
		to := len(f.ns)
		if i+1 < len(f.stack) {
			to = f.stack[i+1].nsLen
		}
		for _, b := range f.ns[e.nsLen:to] {
			pre.WriteString(" xmlns")
			if b.prefix != "" {
				pre.WriteByte(':')
				pre.WriteString(b.prefix)
			}
			pre.WriteString(`="`)
			escapeNSValue(&pre, b.uri)
			pre.WriteByte('"')
		}
		pre.WriteByte('>')
	}
	parts := []io.Reader{&pre}
	if n := f.lineAtMark() - 1; n > 0 {
		parts = append(parts, &newlineComments{left: n})
	}
	parts = append(parts, bytes.NewReader(f.buf[f.mark:f.end]))
	switch {
	case f.rerr != nil:
		parts = append(parts, errReader{f.rerr})
	case !f.eof:
		parts = append(parts, f.src)
	}
	return io.MultiReader(parts...)
}

// escapeNSValue writes a decoded attribute value so that encoding/xml
// decodes it back to the same string, on one line.
func escapeNSValue(w *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			w.WriteString("&amp;")
		case '<':
			w.WriteString("&lt;")
		case '"':
			w.WriteString("&quot;")
		case '\n':
			w.WriteString("&#10;")
		case '\r':
			w.WriteString("&#13;")
		case '\t':
			w.WriteString("&#9;")
		default:
			w.WriteByte(c)
		}
	}
}

// newlineComments yields left line feeds, as comments of at most a million
// lines each (each comment is one token, well within maxTokenBytes).
type newlineComments struct {
	left  int
	inTok int // line feeds left in the current comment
	state int // 0: "<!--" next, 1: line feeds, 2: "-->" next
}

func (n *newlineComments) Read(p []byte) (int, error) {
	w := 0
	for w < len(p) {
		switch n.state {
		case 0:
			if n.left == 0 {
				if w == 0 {
					return 0, io.EOF
				}
				return w, nil
			}
			if len(p)-w < 4 {
				return w, nil
			}
			w += copy(p[w:], "<!--")
			n.inTok = min(n.left, 1<<20)
			n.left -= n.inTok
			n.state = 1
		case 1:
			k := min(n.inTok, len(p)-w)
			for i := range k {
				p[w+i] = '\n'
			}
			w += k
			n.inTok -= k
			if n.inTok == 0 {
				n.state = 2
			}
		case 2:
			if len(p)-w < 3 {
				return w, nil
			}
			w += copy(p[w:], "-->")
			n.state = 0
		}
	}
	return w, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
