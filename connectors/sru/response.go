package sru

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/ianaindex"

	"github.com/commonshelf/commonshelf/connectors/marc"
	"github.com/commonshelf/commonshelf/federate"
)

// Namespaces of the searchRetrieveResponse.
const (
	NamespaceSRU12 = "http://www.loc.gov/zing/srw/"
	NamespaceSRU20 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
	namespaceDC    = "http://purl.org/dc/elements/1.1/"
)

// MaxDepth caps element nesting in a member's answer; deeper XML is
// refused before it costs anything (an SRU page of MARCXML nests 7 deep).
const MaxDepth = 64

// maxTextBytes caps the character data kept for one value (a diagnostic's
// message, a record packed as a string).
const maxTextBytes = 1 << 20

// Errors for answers that are not usable SRU responses.
var (
	ErrHTML      = errors.New("member answered with an HTML page, not an SRU response")
	ErrNotSRU    = errors.New("member's answer is not an SRU searchRetrieveResponse")
	ErrTruncated = errors.New("member's answer is truncated: the XML ends before the response is complete")
	ErrTooDeep   = fmt.Errorf("member's answer nests XML elements deeper than %d", MaxDepth)
)

// Response is a parsed searchRetrieveResponse.
type Response struct {
	// Version is "1.2" for the SRU 1.x namespace, "2.0" for SRU 2.0.
	Version string
	// Total is numberOfRecords; -1 when the member did not send it.
	Total int
	// Records are the readable records, in the member's order; Member,
	// Rank and Links are left for the caller.
	Records []federate.Record
	// Rejected counts records that could not be read: surrogate
	// diagnostics, unknown schemas, MARC records without id or title.
	Rejected int
	// RejectReasons holds the first few reasons, for the log.
	RejectReasons []string
	// Diagnostics are the response's own (non-surrogate) diagnostics.
	Diagnostics []Diagnostic
}

// Fatal returns the first diagnostic that leaves no usable answer: one that
// is not a warning, in a response that carries no records.
func (r *Response) Fatal() *Diagnostic {
	if len(r.Records) > 0 || r.Rejected > 0 {
		return nil
	}
	for i := range r.Diagnostics {
		if !r.Diagnostics[i].nonFatal() {
			return &r.Diagnostics[i]
		}
	}
	return nil
}

func (r *Response) reject(reason string) {
	r.Rejected++
	if len(r.RejectReasons) < 5 {
		r.RejectReasons = append(r.RejectReasons, strings.ToValidUTF8(reason, "\uFFFD"))
	}
}

// ParseResponse reads a searchRetrieveResponse (SRU 1.2 or 2.0) with its
// records in MARCXML or Dublin Core, packed as XML or as strings. It never
// panics and refuses, with ErrHTML, ErrNotSRU, ErrTruncated or ErrTooDeep,
// what is not one.
func ParseResponse(body []byte) (*Response, error) { return parseResponse(body, true) }

// parseResponse is ParseResponse; fast false leaves the envelope to
// encoding/xml alone (the reference the fast path is tested against).
func parseResponse(body []byte, fast bool) (*Response, error) {
	body, err := toUTF8(body)
	if err != nil {
		return nil, err
	}
	if err := sniff(body); err != nil {
		return nil, err
	}
	if fast {
		if r, ok := parseFast(body); ok {
			return r, nil
		}
	}
	src := &byteSource{b: body}
	p := &parser{body: body, src: src, dec: newSourceDecoder(src)}
	return p.parse()
}

// sniff refuses, by content, what is plainly not XML or is an HTML page
// (members send those with status 200 and any content type).
func sniff(body []byte) error {
	s := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(s) == 0 {
		return fmt.Errorf("%w: the body is empty", ErrNotSRU)
	}
	if s[0] != '<' {
		return fmt.Errorf("%w: it is not XML: %q", ErrNotSRU, snippet(s, 60))
	}
	head := strings.ToLower(string(s[:min(len(s), 512)]))
	if strings.HasPrefix(head, "<!doctype html") || strings.HasPrefix(head, "<html") ||
		(strings.HasPrefix(head, "<?xml") && strings.Contains(head, "<html")) {
		return ErrHTML
	}
	return nil
}

func snippet(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
		return string(b) + "…"
	}
	return string(b)
}

// toUTF8 transcodes a body whose XML declaration names another encoding.
func toUTF8(body []byte) ([]byte, error) {
	if !bytes.HasPrefix(body, []byte("<?xml")) {
		return body, nil
	}
	end := bytes.Index(body, []byte("?>"))
	if end < 0 || end > 200 {
		return body, nil
	}
	decl := string(body[:end])
	i := strings.Index(decl, "encoding=")
	if i < 0 || i+len("encoding=")+1 >= len(decl) {
		return body, nil
	}
	rest := decl[i+len("encoding="):]
	q := rest[0]
	if q != '"' && q != '\'' {
		return body, nil
	}
	name, _, ok := strings.Cut(rest[1:], string(q))
	if !ok {
		return body, nil
	}
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "utf-8", "utf8", "us-ascii", "ascii", "":
		return body, nil
	}
	enc, err := ianaindex.IANA.Encoding(name)
	if err != nil || enc == nil {
		return nil, fmt.Errorf("%w: unsupported encoding %q", ErrNotSRU, name)
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return nil, fmt.Errorf("%w: decode %s: %v", ErrNotSRU, name, err)
	}
	return out, nil
}

// byteSource is the decoder's input: an io.ByteReader (so the decoder reads
// it directly, without a buffer of its own) whose position the parser may
// move past a record's content.
type byteSource struct {
	b   []byte
	pos int
}

func (s *byteSource) ReadByte() (byte, error) {
	if s.pos >= len(s.b) {
		return 0, io.EOF
	}
	c := s.b[s.pos]
	s.pos++
	return c, nil
}

func (s *byteSource) Read(p []byte) (int, error) {
	if s.pos >= len(s.b) {
		return 0, io.EOF
	}
	n := copy(p, s.b[s.pos:])
	s.pos += n
	return n, nil
}

func newDecoder(b []byte) *xml.Decoder { return newSourceDecoder(&byteSource{b: b}) }

func newSourceDecoder(src *byteSource) *xml.Decoder {
	d := xml.NewDecoder(src)
	// The body is UTF-8 by now, whatever its declaration says.
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	return d
}

type parser struct {
	body  []byte
	src   *byteSource
	dec   *xml.Decoder
	depth int
	resp  Response
	// marcSlots are the MARC records' raw XML, read in one pass at the end;
	// slots holds every record's outcome in the member's order.
	marcRaw [][]byte
	slots   []slot
}

// slot is one record of the page: a MARC record still to read (marc ≥ 0)
// or one already mapped (rec) or rejected.
type slot struct {
	marc int
	rec  *federate.Record
}

// token reads the next token, keeping the depth and enforcing MaxDepth.
func (p *parser) token() (xml.Token, error) {
	tok, err := p.dec.Token()
	if err != nil {
		if err == io.EOF {
			if p.depth > 0 {
				return nil, ErrTruncated
			}
			return nil, io.EOF
		}
		var se *xml.SyntaxError
		if errors.As(err, &se) && strings.Contains(se.Msg, "unexpected EOF") {
			return nil, fmt.Errorf("%w (after %d bytes)", ErrTruncated, len(p.body))
		}
		return nil, fmt.Errorf("%w: %s", ErrNotSRU, strings.ToValidUTF8(err.Error(), "\uFFFD"))
	}
	switch tok.(type) {
	case xml.StartElement:
		p.depth++
		if p.depth > MaxDepth {
			return nil, ErrTooDeep
		}
	case xml.EndElement:
		p.depth--
	}
	return tok, nil
}

func (p *parser) parse() (*Response, error) {
	p.resp.Total = -1
	// The root element.
	var root xml.StartElement
	for {
		tok, err := p.token()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: no element", ErrNotSRU)
		}
		if err != nil {
			return nil, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			root = se
			break
		}
	}
	switch {
	case strings.EqualFold(root.Name.Local, "html"):
		return nil, ErrHTML
	case root.Name.Local != "searchRetrieveResponse":
		return nil, fmt.Errorf("%w: the document is <%s>", ErrNotSRU, root.Name.Local)
	}
	p.resp.Version = "1.2"
	if root.Name.Space == NamespaceSRU20 {
		p.resp.Version = "2.0"
	}
	for {
		tok, err := p.token()
		if err != nil {
			if err == io.EOF {
				break
			}
			return nil, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok || p.depth != 2 {
			continue
		}
		switch se.Name.Local {
		case "numberOfRecords":
			s, err := p.text()
			if err != nil {
				return nil, err
			}
			if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
				p.resp.Total = n
			}
		case "records":
			if err := p.records(); err != nil {
				return nil, err
			}
		case "diagnostics":
			if err := p.diagnostics(&p.resp.Diagnostics); err != nil {
				return nil, err
			}
		default:
			if err := p.skip(); err != nil {
				return nil, err
			}
		}
	}
	return p.finish(), nil
}

// finish reads the MARC records collected and returns the response.
func (p *parser) finish() *Response {
	p.readMARC()
	for _, s := range p.slots {
		if s.rec != nil {
			p.resp.Records = append(p.resp.Records, *s.rec)
		}
	}
	return &p.resp
}

// skip consumes the rest of the element just started.
func (p *parser) skip() error {
	at := p.depth
	for p.depth >= at {
		if _, err := p.token(); err != nil {
			if err == io.EOF {
				return ErrTruncated
			}
			return err
		}
	}
	return nil
}

// text returns the character data of the element just started (nested
// elements' text included), up to maxTextBytes.
func (p *parser) text() (string, error) {
	at := p.depth
	var b []byte
	for p.depth >= at {
		tok, err := p.token()
		if err != nil {
			if err == io.EOF {
				return "", ErrTruncated
			}
			return "", err
		}
		if cd, ok := tok.(xml.CharData); ok && len(b) < maxTextBytes {
			b = append(b, cd[:min(len(cd), maxTextBytes-len(b))]...)
		}
	}
	return string(b), nil
}

// diagnostics reads <diagnostic> children of the element just started.
func (p *parser) diagnostics(into *[]Diagnostic) error {
	at := p.depth
	for p.depth >= at {
		tok, err := p.token()
		if err != nil {
			if err == io.EOF {
				return ErrTruncated
			}
			return err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "diagnostic" {
			d, err := p.diagnostic()
			if err != nil {
				return err
			}
			*into = append(*into, d)
		}
	}
	return nil
}

// diagnostic reads the <diagnostic> just started.
func (p *parser) diagnostic() (Diagnostic, error) {
	at := p.depth
	var uri, details, message string
	for p.depth >= at {
		tok, err := p.token()
		if err != nil {
			if err == io.EOF {
				return Diagnostic{}, ErrTruncated
			}
			return Diagnostic{}, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok || p.depth != at+1 {
			continue
		}
		s, err := p.text()
		if err != nil {
			return Diagnostic{}, err
		}
		switch se.Name.Local {
		case "uri":
			uri = s
		case "details":
			details = s
		case "message":
			message = s
		}
	}
	return newDiagnostic(uri, details, message), nil
}

// records reads the <records> element just started.
func (p *parser) records() error {
	at := p.depth
	for p.depth >= at {
		tok, err := p.token()
		if err != nil {
			if err == io.EOF {
				return ErrTruncated
			}
			return err
		}
		if se, ok := tok.(xml.StartElement); ok && p.depth == at+1 && se.Name.Local == "record" {
			if err := p.record(); err != nil {
				return err
			}
		}
	}
	return nil
}

// record reads one <record> of the envelope.
func (p *parser) record() error {
	at := p.depth
	var (
		schema, id string
		found      bool
	)
	for p.depth >= at {
		tok, err := p.token()
		if err != nil {
			if err == io.EOF {
				return ErrTruncated
			}
			return err
		}
		se, ok := tok.(xml.StartElement)
		if !ok || p.depth != at+1 {
			continue
		}
		switch se.Name.Local {
		case "recordSchema":
			if schema, err = p.text(); err != nil {
				return err
			}
		case "recordIdentifier":
			if id, err = p.text(); err != nil {
				return err
			}
		case "recordData":
			if found {
				p.skip()
				continue
			}
			found = true
			if err := p.recordData(strings.TrimSpace(schema)); err != nil {
				return err
			}
		case "extraRecordData":
			// Some servers put the record identifier here (SRU 1.1/1.2).
			if err := p.extra(&id); err != nil {
				return err
			}
		default:
			if err := p.skip(); err != nil {
				return err
			}
		}
	}
	if !found {
		p.slots = append(p.slots, slot{marc: -1})
		p.resp.reject("a record without recordData")
		return nil
	}
	// A Dublin Core record's own identifier is the member's record id when
	// it sends one; MARC records are identified by their 001.
	s := &p.slots[len(p.slots)-1]
	if s.rec != nil && s.marc < 0 {
		if id = strings.TrimSpace(id); id != "" {
			s.rec.RecordID = id
		}
		if s.rec.RecordID == "" {
			s.rec = nil
			p.resp.reject("dc record: no identifier to name it by")
		}
	}
	return nil
}

// extra looks for a recordIdentifier inside extraRecordData.
func (p *parser) extra(id *string) error {
	at := p.depth
	for p.depth >= at {
		tok, err := p.token()
		if err != nil {
			if err == io.EOF {
				return ErrTruncated
			}
			return err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "recordIdentifier" && *id == "" {
			s, err := p.text()
			if err != nil {
				return err
			}
			*id = s
		}
	}
	return nil
}

// recordData reads the <recordData> just started. Its content is not
// tokenised here: the end tag is found by a byte scan and the decoder's
// source moved past the content, so a record is tokenised once, by the
// reader of its own format. Inline XML (recordPacking xml) is sliced out
// of the body as is; a record packed as a string is the element's text.
func (p *parser) recordData(schema string) error {
	start := p.src.pos
	var raw []byte
	if start >= 2 && p.body[start-2] == '/' { // <recordData/>
		raw = nil
	} else {
		end := endTag(p.body, start)
		if end < 0 {
			return fmt.Errorf("%w (no end to a recordData)", ErrTruncated)
		}
		raw = p.body[start:end]
		p.src.pos = end
	}
	// The end tag of recordData.
	tok, err := p.token()
	if err != nil {
		if err == io.EOF {
			return ErrTruncated
		}
		return err
	}
	if ee, ok := tok.(xml.EndElement); !ok || ee.Name.Local != "recordData" {
		return fmt.Errorf("%w: a recordData is not closed where expected", ErrNotSRU)
	}
	name, text, err := firstContent(raw)
	switch {
	case err != nil:
		p.slots = append(p.slots, slot{marc: -1})
		p.resp.reject("a record that is not well-formed XML")
		return nil
	case name.Local != "":
		p.classify(name, raw, schema)
		return nil
	}
	s := bytes.TrimSpace(text)
	if len(s) == 0 || s[0] != '<' {
		p.slots = append(p.slots, slot{marc: -1})
		p.resp.reject("an empty record")
		return nil
	}
	// Packed as a string: the text is the record's XML.
	s = stripDeclaration(s)
	name, err = rootName(s)
	if err != nil {
		p.slots = append(p.slots, slot{marc: -1})
		p.resp.reject("a string-packed record that is not XML")
		return nil
	}
	p.classify(name, s, schema)
	return nil
}

// endTag returns the offset of the end tag that closes the element whose
// start tag ends just before start, or -1. The element's qualified name is
// read back from its start tag; the first "</name>" after start closes it
// (an element does not contain another of the same name in SRU records).
func endTag(body []byte, start int) int {
	lt := bytes.LastIndexByte(body[:start], '<')
	if lt < 0 {
		return -1
	}
	qname := body[lt+1:]
	if i := bytes.IndexAny(qname, " \t\r\n/>"); i >= 0 {
		qname = qname[:i]
	}
	if len(qname) == 0 {
		return -1
	}
	for at := start; at < len(body); {
		i := bytes.Index(body[at:], []byte("</"))
		if i < 0 {
			return -1
		}
		i += at
		rest := body[i+2:]
		if bytes.HasPrefix(rest, qname) {
			after := bytes.TrimLeft(rest[len(qname):], " \t\r\n")
			if len(after) > 0 && after[0] == '>' {
				return i
			}
		}
		at = i + 2
	}
	return -1
}

// firstContent returns the name of the first element of a record's
// content, or, when it has no element, its text (a record packed as a
// string).
func firstContent(raw []byte) (xml.Name, []byte, error) {
	d := newDecoder(raw)
	var text []byte
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return xml.Name{}, text, nil
		}
		if err != nil {
			return xml.Name{}, nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t.Name, nil, nil
		case xml.CharData:
			if len(text) < maxTextBytes {
				text = append(text, t[:min(len(t), maxTextBytes-len(text))]...)
			}
		}
	}
}

func stripDeclaration(s []byte) []byte {
	if bytes.HasPrefix(s, []byte("<?xml")) {
		if i := bytes.Index(s, []byte("?>")); i >= 0 {
			return bytes.TrimSpace(s[i+2:])
		}
	}
	return s
}

// rootName returns the name of the first element of a well-formed
// document, which it checks whole (so a string-packed record cannot break
// the shared MARC pass).
func rootName(b []byte) (xml.Name, error) {
	d := newDecoder(b)
	var name xml.Name
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if name.Local == "" || depth != 0 {
				return name, io.ErrUnexpectedEOF
			}
			return name, nil
		}
		if err != nil {
			return name, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > MaxDepth {
				return name, ErrTooDeep
			}
			if name.Local == "" {
				name = t.Name
			}
		case xml.EndElement:
			depth--
		}
	}
}

// classify files one record's XML by its root element: MARCXML, Dublin
// Core, a surrogate diagnostic, or something this package cannot read.
func (p *parser) classify(name xml.Name, raw []byte, schema string) {
	switch {
	case name.Local == "diagnostic" || strings.Contains(schema, "diagnostic"):
		var ds []Diagnostic
		sub := &parser{body: raw, dec: newDecoder(raw)}
		if tok, err := sub.token(); err == nil {
			if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "diagnostic" {
				if d, err := sub.diagnostic(); err == nil {
					ds = append(ds, d)
				}
			}
		}
		reason := "a surrogate diagnostic"
		if len(ds) > 0 {
			reason = ds[0].String()
		}
		p.slots = append(p.slots, slot{marc: -1})
		p.resp.reject(reason)
	case name.Local == "record" && isMARCSpace(name.Space):
		p.slots = append(p.slots, slot{marc: len(p.marcRaw)})
		p.marcRaw = append(p.marcRaw, raw)
	case name.Local == "dc" || name.Space == namespaceDC:
		rec, err := parseDC(raw)
		if err != nil {
			p.slots = append(p.slots, slot{marc: -1})
			p.resp.reject("dc record: " + err.Error())
			return
		}
		p.slots = append(p.slots, slot{marc: -1, rec: &rec})
	default:
		p.slots = append(p.slots, slot{marc: -1})
		p.resp.reject(fmt.Sprintf("a record in an unknown schema (<%s>)", name.Local))
	}
}

// isMARCSpace accepts the MARC 21 slim namespace, no namespace, or an
// undeclared prefix (declared on an ancestor outside the slice).
func isMARCSpace(s string) bool {
	return s == "" || !strings.Contains(s, ":") || strings.Contains(strings.ToLower(s), "marc21")
}

// readMARC reads every MARC record of the page in one pass.
func (p *parser) readMARC() {
	if len(p.marcRaw) == 0 {
		return
	}
	parts := make([]io.Reader, 0, 2*len(p.marcRaw))
	for _, b := range p.marcRaw {
		parts = append(parts, bytes.NewReader(b), bytes.NewReader([]byte("\n")))
	}
	r := marc.NewReader(io.MultiReader(parts...))
	out := make([]*federate.Record, len(p.marcRaw))
	why := make([]string, len(p.marcRaw))
	for i := 0; i < len(p.marcRaw); {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		var re *marc.RecordError
		if errors.As(err, &re) {
			if re.Index >= 1 && re.Index <= len(out) {
				why[re.Index-1] = "marc record: " + re.Reason
			}
			i = re.Index
			continue
		}
		if err != nil {
			for j := i; j < len(why); j++ {
				if why[j] == "" {
					why[j] = "marc record: " + err.Error()
				}
			}
			break
		}
		rec, err := marc.ToRecord(m)
		if err != nil {
			why[i] = "marc record: " + err.Error()
		} else {
			out[i] = &rec
		}
		i++
	}
	for k := range p.slots {
		s := &p.slots[k]
		if s.marc < 0 {
			continue
		}
		if rec := out[s.marc]; rec != nil {
			s.rec = rec
			continue
		}
		reason := why[s.marc]
		if reason == "" {
			reason = "marc record: unreadable"
		}
		p.resp.reject(reason)
	}
}

// ParseExplain returns the indexes ("dc.title", "bath.isbn") that an
// explain record lists under indexInfo, in order.
func ParseExplain(body []byte) ([]string, error) {
	body, err := toUTF8(body)
	if err != nil {
		return nil, err
	}
	if err := sniff(body); err != nil {
		return nil, err
	}
	p := &parser{body: body, dec: newDecoder(body)}
	var (
		out     []string
		inIndex int // depth of the <index> element being read, 0 outside
		root    bool
	)
	for {
		tok, err := p.token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if !root {
				root = true
				if t.Name.Local != "explainResponse" && t.Name.Local != "explain" {
					return nil, fmt.Errorf("%w: the document is <%s>, not an explainResponse", ErrNotSRU, t.Name.Local)
				}
			}
			switch {
			case t.Name.Local == "index" && inIndex == 0:
				inIndex = p.depth
			case t.Name.Local == "name" && inIndex > 0:
				set := ""
				for _, a := range t.Attr {
					if a.Name.Local == "set" {
						set = strings.TrimSpace(a.Value)
					}
				}
				s, err := p.text()
				if err != nil {
					return nil, err
				}
				if s = strings.TrimSpace(s); s != "" {
					if set != "" {
						s = set + "." + s
					}
					out = append(out, s)
				}
			}
		case xml.EndElement:
			if inIndex > 0 && p.depth < inIndex {
				inIndex = 0
			}
		}
	}
	if !root {
		return nil, fmt.Errorf("%w: no element", ErrNotSRU)
	}
	return out, nil
}
