package sru

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The fast path for the common answer: a searchRetrieveResponse whose
// records are MARCXML packed as XML. With encoding/xml the envelope — a
// dozen tokens around every record, and a decoder per record to look at its
// root — costs as much as reading the records themselves.
//
// parseFast walks the same steps as parser.parse (the same elements at the
// same depths, the same byte scan for the end of a recordData) over a
// hand-written scanner, and accepts only what it can check: well-formed
// ASCII names, the predefined entities and character references, valid
// UTF-8 text. Anything else — diagnostics, Dublin Core or string-packed
// records, extraRecordData, CDATA, a DOCTYPE, a syntax error, a truncated
// or too deep document — makes it give up, and ParseResponse parses the
// body with encoding/xml from the start. The MARC records go to the same
// readMARC either way.

type envKind uint8

const (
	envBail envKind = iota
	envEOF
	envStart
	envEnd
	envText
)

type envBinding struct{ prefix, uri []byte }

type envScanner struct {
	b       []byte
	pos     int
	stack   [][]byte // open elements' qualified names
	nsLen   []int    // len(ns) when each open element started
	ns      []envBinding
	pending bool // a self-closing element's end is next

	// The token just read.
	name      []byte // element name (start or end)
	selfClose bool
	text      []byte // raw character data
}

func (e *envScanner) depth() int { return len(e.stack) }

// is reports whether the current element's local name, split as
// encoding/xml splits it, is local.
func (e *envScanner) is(local string) bool { return string(localPart(e.name)) == local }

func localPart(name []byte) []byte {
	if i := bytes.IndexByte(name, ':'); i > 0 && i < len(name)-1 {
		return name[i+1:]
	}
	return name
}

var envNameStart, envNameByte [256]bool

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		letter := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
		envNameStart[c] = letter || b == '_' || b == ':'
		envNameByte[c] = letter || '0' <= b && b <= '9' || b == '_' || b == ':' || b == '.' || b == '-'
	}
}

func envSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// scanName reads an ASCII XML name with at most one colon at i.
func (e *envScanner) scanName(i int) (int, bool) {
	b := e.b
	if i >= len(b) || !envNameStart[b[i]] {
		return 0, false
	}
	a := i
	for i < len(b) && envNameByte[b[i]] {
		i++
	}
	if i >= len(b) || b[i] >= utf8.RuneSelf || bytes.Count(b[a:i], []byte{':'}) > 1 {
		return 0, false
	}
	return i, true
}

// token reads the next token, keeping the element stack as the decoder's
// depth; envBail for anything the fast path leaves to encoding/xml.
func (e *envScanner) token() envKind {
	if e.pending {
		e.pending = false
		e.pop()
		return envEnd
	}
	for {
		k, again := e.scan()
		if !again {
			return k
		}
	}
}

// scan reads one token; again is true after a comment or processing
// instruction, which the parser does not look at.
func (e *envScanner) scan() (_ envKind, again bool) {
	b, p := e.b, e.pos
	if p >= len(b) {
		if len(e.stack) > 0 {
			return envBail, false
		}
		return envEOF, false
	}
	if b[p] != '<' {
		j := bytes.IndexByte(b[p:], '<')
		if j < 0 {
			j = len(b) - p
		}
		if !validText(b[p : p+j]) {
			return envBail, false
		}
		e.text, e.pos = b[p:p+j], p+j
		return envText, false
	}
	if p+1 >= len(b) {
		return envBail, false
	}
	switch b[p+1] {
	case '/':
		i, ok := e.scanName(p + 2)
		if !ok {
			return envBail, false
		}
		name := b[p+2 : i]
		for i < len(b) && envSpace(b[i]) {
			i++
		}
		if i >= len(b) || b[i] != '>' || len(e.stack) == 0 || !bytes.Equal(e.stack[len(e.stack)-1], name) {
			return envBail, false
		}
		e.pos = i + 1
		e.pop()
		e.name = name
		return envEnd, false
	case '!':
		if !bytes.HasPrefix(b[p:], []byte("<!--")) {
			return envBail, false // CDATA, DOCTYPE and other directives
		}
		j := bytes.Index(b[p+4:], []byte("--"))
		if j < 0 || p+4+j+2 >= len(b) || b[p+4+j+2] != '>' {
			return envBail, false
		}
		e.pos = p + 4 + j + 3
		return 0, true
	case '?':
		i, ok := e.scanName(p + 2)
		if !ok {
			return envBail, false
		}
		j := bytes.Index(b[i:], []byte("?>"))
		if j < 0 {
			return envBail, false
		}
		if string(b[p+2:i]) == "xml" {
			k := i
			for k < i+j && envSpace(b[k]) {
				k++
			}
			if v := declVersion(b[k : i+j]); v != "" && v != "1.0" {
				return envBail, false
			}
		}
		e.pos = i + j + 2
		return 0, true
	}
	i, ok := e.scanName(p + 1)
	if !ok {
		return envBail, false
	}
	name := b[p+1 : i]
	nsLen := len(e.ns)
	for {
		for i < len(b) && envSpace(b[i]) {
			i++
		}
		if i >= len(b) {
			return envBail, false
		}
		if b[i] == '>' || b[i] == '/' {
			break
		}
		a := i
		if i, ok = e.scanName(i); !ok {
			return envBail, false
		}
		attr := b[a:i]
		for i < len(b) && envSpace(b[i]) {
			i++
		}
		if i >= len(b) || b[i] != '=' {
			return envBail, false
		}
		i++
		for i < len(b) && envSpace(b[i]) {
			i++
		}
		if i >= len(b) || b[i] != '"' && b[i] != '\'' {
			return envBail, false
		}
		q := b[i]
		i++
		j := bytes.IndexByte(b[i:], q)
		if j < 0 || bytes.IndexByte(b[i:i+j], '<') >= 0 || !validText(b[i:i+j]) {
			return envBail, false
		}
		val := b[i : i+j]
		i += j + 1
		switch {
		case bytes.HasPrefix(attr, []byte("xmlns:")) && len(attr) > len("xmlns:"):
			e.ns = append(e.ns, envBinding{attr[len("xmlns:"):], val})
		case string(attr) == "xmlns":
			e.ns = append(e.ns, envBinding{nil, val})
		default:
			continue
		}
		// A namespace is used as written: leave escapes and line ends
		// in one to encoding/xml.
		if bytes.IndexAny(val, "&\r") >= 0 {
			return envBail, false
		}
	}
	e.selfClose = b[i] == '/'
	if e.selfClose {
		if i+1 >= len(b) || b[i+1] != '>' {
			return envBail, false
		}
		i++
	}
	e.pos = i + 1
	e.stack = append(e.stack, name)
	e.nsLen = append(e.nsLen, nsLen)
	if len(e.stack) > MaxDepth {
		return envBail, false
	}
	e.name = name
	e.pending = e.selfClose
	return envStart, false
}

func (e *envScanner) pop() {
	n := len(e.stack) - 1
	e.name = e.stack[n]
	e.ns = e.ns[:e.nsLen[n]]
	e.stack, e.nsLen = e.stack[:n], e.nsLen[:n]
}

// space is the namespace of the current start element's name, resolved
// as encoding/xml resolves it.
func (e *envScanner) space() string {
	var prefix []byte
	if i := bytes.IndexByte(e.name, ':'); i > 0 && i < len(e.name)-1 {
		prefix = e.name[:i]
	}
	switch string(prefix) {
	case "xmlns":
		return "xmlns"
	case "xml":
		return "http://www.w3.org/XML/1998/namespace"
	}
	for i := len(e.ns) - 1; i >= 0; i-- {
		if bytes.Equal(e.ns[i].prefix, prefix) {
			return string(e.ns[i].uri)
		}
	}
	return string(prefix)
}

// validText reports whether encoding/xml reads raw character data (or an
// attribute value) without an error: no forbidden control characters,
// valid UTF-8 without U+FFFE/U+FFFF, only the predefined entities and
// character references to allowed characters, no "]]>".
func validText(raw []byte) bool {
	ascii := true
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c >= utf8.RuneSelf:
			ascii = false
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			return false
		case c == '&':
			n := entityLen(raw[i:])
			if n == 0 {
				return false
			}
			i += n - 1
		case c == '>' && i >= 2 && raw[i-1] == ']' && raw[i-2] == ']':
			return false
		}
	}
	if !ascii {
		if !utf8.Valid(raw) || bytes.Contains(raw, []byte("\uFFFE")) || bytes.Contains(raw, []byte("\uFFFF")) {
			return false
		}
	}
	return true
}

// entityLen is the length of the reference at the start of b if
// encoding/xml accepts it, else 0.
func entityLen(b []byte) int {
	for _, e := range [...]string{"&lt;", "&gt;", "&amp;", "&apos;", "&quot;"} {
		if bytes.HasPrefix(b, []byte(e)) {
			return len(e)
		}
	}
	if !bytes.HasPrefix(b, []byte("&#")) {
		return 0
	}
	i, base := 2, 10
	if i < len(b) && b[i] == 'x' {
		i, base = 3, 16
	}
	from := i
	for i < len(b) && (b[i] >= '0' && b[i] <= '9' || base == 16 && (b[i]|0x20 >= 'a' && b[i]|0x20 <= 'f')) {
		i++
	}
	if i == from || i >= len(b) || b[i] != ';' || i-from > 8 {
		return 0
	}
	n, err := strconv.ParseUint(string(b[from:i]), base, 32)
	r := rune(n)
	if err != nil || n > utf8.MaxRune {
		return 0
	}
	if 0xD800 <= r && r <= 0xDFFF { // decodes as U+FFFD
		return i + 1
	}
	if r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 {
		return i + 1
	}
	return 0
}

// declVersion is the version encoding/xml reads from an XML declaration's
// content: the first version= directly followed by a quote, to the next
// same quote.
func declVersion(s []byte) string {
	const key = "version="
	for i := 0; i < len(s); {
		k := bytes.Index(s[i:], []byte(key))
		if k < 0 || i+k+len(key) >= len(s) {
			return ""
		}
		at := i + k + len(key)
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

// parseFast is parser.parse on the scanner; ok is false when the body must
// be parsed by encoding/xml.
func parseFast(body []byte) (_ *Response, ok bool) {
	e := &envScanner{b: body}
	p := &parser{body: body}
	p.resp.Total = -1
	for {
		k := e.token()
		if k == envBail || k == envEOF || k == envEnd {
			return nil, false
		}
		if k == envStart {
			break
		}
	}
	if !e.is("searchRetrieveResponse") {
		return nil, false
	}
	p.resp.Version = "1.2"
	if e.space() == NamespaceSRU20 {
		p.resp.Version = "2.0"
	}
	for {
		switch e.token() {
		case envBail:
			return nil, false
		case envEOF:
			return p.finish(), true
		case envStart:
			if e.depth() != 2 {
				continue
			}
			switch {
			case e.is("numberOfRecords"):
				s, ok := e.textOf()
				if !ok {
					return nil, false
				}
				if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
					p.resp.Total = n
				}
			case e.is("records"):
				if !e.records(p) {
					return nil, false
				}
			case e.is("diagnostics"):
				return nil, false
			default:
				if !e.skip() {
					return nil, false
				}
			}
		}
	}
}

// skip consumes the rest of the element just started.
func (e *envScanner) skip() bool {
	at := e.depth()
	for e.depth() >= at {
		if e.token() == envBail {
			return false
		}
	}
	return true
}

// textOf is parser.text for values read as written: the character data of
// the element just started, nested elements' included.
func (e *envScanner) textOf() (string, bool) {
	at := e.depth()
	var b []byte
	for e.depth() >= at {
		switch e.token() {
		case envBail:
			return "", false
		case envText:
			if bytes.IndexAny(e.text, "&\r") >= 0 {
				return "", false
			}
			if len(b) < maxTextBytes {
				b = append(b, e.text[:min(len(e.text), maxTextBytes-len(b))]...)
			}
		}
	}
	return string(b), true
}

// records is parser.records.
func (e *envScanner) records(p *parser) bool {
	at := e.depth()
	for e.depth() >= at {
		switch e.token() {
		case envBail:
			return false
		case envStart:
			if e.depth() == at+1 && e.is("record") && !e.record(p) {
				return false
			}
		}
	}
	return true
}

// record is parser.record for records of MARCXML packed as XML.
func (e *envScanner) record(p *parser) bool {
	at := e.depth()
	var schema string
	found := false
	for e.depth() >= at {
		k := e.token()
		if k == envBail {
			return false
		}
		if k != envStart || e.depth() != at+1 {
			continue
		}
		var ok bool
		switch {
		case e.is("recordSchema"):
			schema, ok = e.textOf()
		case e.is("recordIdentifier"):
			_, ok = e.textOf()
		case e.is("recordData"):
			if found {
				ok = e.skip()
			} else {
				found = true
				ok = e.recordData(p, strings.TrimSpace(schema))
			}
		case e.is("extraRecordData"):
			ok = false
		default:
			ok = e.skip()
		}
		if !ok {
			return false
		}
	}
	if !found {
		p.slots = append(p.slots, slot{marc: -1})
		p.resp.reject("a record without recordData")
	}
	return true
}

// recordData is parser.recordData for a MARC record packed as XML: the
// content is sliced out by the same byte scan, not tokenised here.
func (e *envScanner) recordData(p *parser, schema string) bool {
	var raw []byte
	if !e.selfClose {
		end := endTag(e.b, e.pos)
		if end < 0 {
			return false
		}
		raw = e.b[e.pos:end]
		e.pos = end
	}
	if e.token() != envEnd || !e.is("recordData") {
		return false
	}
	// firstContent, for content that starts (after blanks) with a start
	// tag: its name, in the namespaces it declares itself.
	i := 0
	for i < len(raw) && envSpace(raw[i]) {
		i++
	}
	if i+1 >= len(raw) || raw[i] != '<' || !envNameStart[raw[i+1]] {
		return false
	}
	sub := &envScanner{b: raw, pos: i}
	if sub.token() != envStart {
		return false
	}
	if sub.is("diagnostic") || strings.Contains(schema, "diagnostic") ||
		!sub.is("record") || !isMARCSpace(sub.space()) {
		return false
	}
	p.slots = append(p.slots, slot{marc: len(p.marcRaw)})
	p.marcRaw = append(p.marcRaw, raw)
	return true
}
