package marc

import (
	"bufio"
	"errors"
	"io"
	"unicode/utf8"
)

// Namespace is the MARC 21 slim (MARCXML) namespace.
const Namespace = "http://www.loc.gov/MARC21/slim"

// ErrWriterClosed is returned by Write after Close.
var ErrWriterClosed = errors.New("marc: XML writer is closed")

// XMLWriter streams records as a MARCXML collection. The first Write emits
// the XML declaration and the opening <collection>; Close emits the closing
// tag (also for a collection of zero records) and flushes. The writer does
// not close the underlying io.Writer.
//
// Text and attribute values are escaped; characters that XML 1.0 does not
// allow (most C0 controls, U+FFFE, U+FFFF) are dropped and bytes that are not
// valid UTF-8 become U+FFFD, so the output is always well-formed.
//
// An XMLWriter is not safe for concurrent use.
type XMLWriter struct {
	w       *bufio.Writer
	started bool
	closed  bool
	err     error // first write error; sticky
}

// NewXMLWriter returns a writer that writes a MARCXML collection to w.
func NewXMLWriter(w io.Writer) *XMLWriter {
	return &XMLWriter{w: bufio.NewWriterSize(w, 32<<10)}
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
	`<collection xmlns="` + Namespace + `">` + "\n"

// Write appends one record to the collection.
func (x *XMLWriter) Write(r *Record) error {
	if x.closed {
		return ErrWriterClosed
	}
	if x.err != nil {
		return x.err
	}
	if !x.started {
		x.started = true
		x.w.WriteString(xmlHeader)
	}
	w := x.w
	w.WriteString("<record>\n  <leader>")
	escapeText(w, r.Leader)
	w.WriteString("</leader>\n")
	for _, f := range r.Control {
		w.WriteString(`  <controlfield tag="`)
		escapeAttr(w, f.Tag)
		w.WriteString(`">`)
		escapeText(w, f.Value)
		w.WriteString("</controlfield>\n")
	}
	for _, f := range r.Data {
		w.WriteString(`  <datafield tag="`)
		escapeAttr(w, f.Tag)
		w.WriteString(`" ind1="`)
		writeIndicator(w, f.Ind1)
		w.WriteString(`" ind2="`)
		writeIndicator(w, f.Ind2)
		w.WriteString("\">\n")
		for _, s := range f.Subfields {
			w.WriteString(`    <subfield code="`)
			writeIndicator(w, s.Code)
			w.WriteString(`">`)
			escapeText(w, s.Value)
			w.WriteString("</subfield>\n")
		}
		w.WriteString("  </datafield>\n")
	}
	w.WriteString("</record>\n")
	// bufio.Writer keeps its first error; check it once per record. The
	// buffer flushes itself whenever it fills, so memory stays bounded.
	if _, err := w.Write(nil); err != nil {
		x.err = err
		return err
	}
	return nil
}

// Close ends the collection and flushes buffered output. Calling Close again
// is a no-op that returns nil.
func (x *XMLWriter) Close() error {
	if x.closed {
		return nil
	}
	x.closed = true
	if x.err != nil {
		return x.err
	}
	if !x.started {
		x.started = true
		x.w.WriteString(xmlHeader)
	}
	x.w.WriteString("</collection>\n")
	if err := x.w.Flush(); err != nil {
		x.err = err
		return err
	}
	return nil
}

// writeIndicator writes an indicator or subfield code. A zero byte (unset)
// and anything that is not printable ASCII is written as a blank, the MARC
// "undefined" indicator; quotes and markup characters are escaped.
func writeIndicator(w *bufio.Writer, b byte) {
	switch {
	case b == '"':
		w.WriteString("&quot;")
	case b == '&':
		w.WriteString("&amp;")
	case b == '<':
		w.WriteString("&lt;")
	case b == '>':
		w.WriteString("&gt;")
	case b < 0x20 || b > 0x7e:
		w.WriteByte(' ')
	default:
		w.WriteByte(b)
	}
}

func escapeText(w *bufio.Writer, s string) { escapeXML(w, s, false) }
func escapeAttr(w *bufio.Writer, s string) { escapeXML(w, s, true) }

// escapeXML writes s escaped for element content or a double-quoted
// attribute. \r is written as a character reference in both (a parser would
// otherwise normalise it to \n); in attributes \t and \n are too (attribute
// value normalisation would turn them into spaces).
func escapeXML(w *bufio.Writer, s string, attr bool) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			var esc string
			switch {
			case c == '&':
				esc = "&amp;"
			case c == '<':
				esc = "&lt;"
			case c == '>':
				esc = "&gt;"
			case c == '"' && attr:
				esc = "&quot;"
			case c == '\r':
				esc = "&#xD;"
			case c == '\n' && attr:
				esc = "&#xA;"
			case c == '\t' && attr:
				esc = "&#x9;"
			case c < 0x20 && c != '\n' && c != '\t':
				esc = "" // illegal in XML 1.0: drop
			default:
				i++
				continue
			}
			w.WriteString(s[last:i])
			w.WriteString(esc)
			i++
			last = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			w.WriteString(s[last:i])
			w.WriteString("\uFFFD")
		case r == 0xFFFE || r == 0xFFFF:
			w.WriteString(s[last:i])
		default:
			i += size
			continue
		}
		i += size
		last = i
	}
	w.WriteString(s[last:])
}
