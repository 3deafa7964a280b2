package opensearch

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/charmap"
)

// Limits on what a member's XML may make the parser do. A response body is
// already capped in bytes by connectors/remote; these bound the work and the
// memory spent per byte.
const (
	// maxDepth is the deepest element nesting accepted. Real feeds nest
	// fewer than ten levels (rss/channel/item/…); XHTML titles a few more.
	maxDepth = 64
	// maxTokens caps the XML tokens of one document: an 8 MiB body of
	// empty elements would otherwise cost millions of allocations.
	maxTokens = 1 << 21
)

// Namespaces the parsers recognise.
const (
	nsOpenSearch11 = "http://a9.com/-/spec/opensearch/1.1/"
	nsOpenSearch10 = "http://a9.com/-/spec/opensearchrss/1.0/"
	nsAtom         = "http://www.w3.org/2005/Atom"
	nsDC           = "http://purl.org/dc/elements/1.1/"
	nsDCTerms      = "http://purl.org/dc/terms/"
	nsRDF          = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
)

// Errors of the XML layer. Callers wrap them with what was being read.
var (
	errHTML      = errors.New("member answered with an HTML page, not an OpenSearch feed")
	errTruncated = errors.New("the document ends before its root element is closed (truncated?)")
	errTooDeep   = fmt.Errorf("XML nested deeper than %d elements", maxDepth)
	errTooLong   = fmt.Errorf("XML document has more than %d tokens", maxTokens)
	errEmpty     = errors.New("the answer is empty")
	errAfterRoot = errors.New("content after the root element")
)

// decoder wraps encoding/xml with the limits above. encoding/xml never
// expands external entities or entities declared in a DOCTYPE (an internal
// subset arrives as an uninterpreted Directive), so entity expansion attacks
// have nothing to work with; the token cap bounds the rest.
type decoder struct {
	d      *xml.Decoder
	depth  int
	tokens int
	closed bool // the root element has ended
}

func newDecoder(body []byte) *decoder {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	// HTML entity names (&nbsp;, &eacute;) appear in sloppy feeds; the
	// table is fixed, so accepting them expands nothing a member controls.
	d.Entity = xml.HTMLEntity
	d.CharsetReader = charsetReader
	return &decoder{d: d}
}

// charsetReader decodes the non-UTF-8 encodings that catalogue feeds declare
// in practice.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return in, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
		return charmap.ISO8859_1.NewDecoder().Reader(in), nil
	case "iso-8859-15", "latin-9":
		return charmap.ISO8859_15.NewDecoder().Reader(in), nil
	case "windows-1252", "cp1252":
		return charmap.Windows1252.NewDecoder().Reader(in), nil
	}
	return nil, fmt.Errorf("unsupported character encoding %q", label)
}

// next returns the next token, enforcing the depth and token caps and
// turning an end of input inside an element into errTruncated. CharData is
// only valid until the next call.
func (p *decoder) next() (xml.Token, error) {
	p.tokens++
	if p.tokens > maxTokens {
		return nil, errTooLong
	}
	tok, err := p.d.Token()
	if err != nil {
		if err == io.EOF {
			if p.depth > 0 {
				return nil, errTruncated
			}
			return nil, io.EOF
		}
		var se *xml.SyntaxError
		if errors.As(err, &se) && strings.Contains(se.Msg, "unexpected EOF") {
			return nil, errTruncated
		}
		return nil, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if p.closed {
			return nil, errAfterRoot
		}
		p.depth++
		if p.depth > maxDepth {
			return nil, errTooDeep
		}
	case xml.EndElement:
		p.depth--
		p.closed = p.depth == 0
	case xml.CharData:
		if p.closed && len(bytes.TrimSpace(t)) > 0 {
			return nil, errAfterRoot
		}
	}
	return tok, nil
}

// root reads up to the document's first element and returns it. A DOCTYPE
// naming html, or an <html> root, is errHTML.
func (p *decoder) root() (xml.StartElement, error) {
	for {
		tok, err := p.next()
		if err == io.EOF {
			return xml.StartElement{}, errEmpty
		}
		if err != nil {
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.Directive:
			f := strings.Fields(strings.ToLower(string(t)))
			if len(f) >= 2 && f[0] == "doctype" && strings.HasPrefix(f[1], "html") {
				return xml.StartElement{}, errHTML
			}
		case xml.StartElement:
			if strings.EqualFold(t.Name.Local, "html") {
				return xml.StartElement{}, errHTML
			}
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return xml.StartElement{}, errors.New("text before the root element: not an XML document")
			}
		}
	}
}

// node is a small element tree, built for one feed entry at a time.
type node struct {
	name xml.Name
	attr []xml.Attr
	text []byte // character data directly inside the element
	kids []*node
}

// tree reads the rest of start's element into a node. The decoder's depth
// and token caps apply.
func (p *decoder) tree(start xml.StartElement) (*node, error) {
	n := &node{name: start.Name, attr: start.Attr}
	for {
		tok, err := p.next()
		if err != nil {
			if err == io.EOF {
				err = errTruncated
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			k, err := p.tree(t)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
		case xml.CharData:
			n.text = append(n.text, t...)
		case xml.EndElement:
			return n, nil
		}
	}
}

// skip consumes the rest of the current element.
func (p *decoder) skip() error {
	target := p.depth - 1
	for p.depth > target {
		if _, err := p.next(); err != nil {
			if err == io.EOF {
				err = errTruncated
			}
			return err
		}
	}
	return nil
}

// allText is the element's character data, its descendants' included, with
// runs of white space collapsed to one space.
func (n *node) allText() string {
	if len(n.kids) == 0 {
		return collapse(string(n.text))
	}
	var b strings.Builder
	var walk func(*node)
	walk = func(n *node) {
		b.Write(n.text)
		for _, k := range n.kids {
			b.WriteByte(' ')
			walk(k)
		}
	}
	walk(n)
	return collapse(b.String())
}

func (n *node) attrValue(local string) string {
	for _, a := range n.attr {
		if a.Name.Local == local && (a.Name.Space == "" || a.Name.Space == n.name.Space) {
			return a.Value
		}
	}
	return ""
}

// collapse trims s and turns each run of white space into one space.
func collapse(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\t\n\r\v\f\u00a0") && !strings.Contains(s, "  ") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
