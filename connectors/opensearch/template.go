package opensearch

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/commonshelf/commonshelf/federate"
)

// urlTemplate is a compiled OpenSearch URL template: literal text as the
// member wrote it, and parameters ({searchTerms}, {startIndex?},
// {geo:box?}) that fill fills with percent-encoded values.
type urlTemplate struct {
	raw   string
	parts []tplPart
	// indexOffset is the index of the member's first result (the Url
	// element's indexOffset, default 1); pageOffset the number of its
	// first page (pageOffset, default 1).
	indexOffset, pageOffset int
	// mediaType is the Url element's type ("" when the template came from
	// the template option).
	mediaType string
	// Which paging parameters the template has.
	hasStartIndex, hasStartPage, hasCount bool
}

// tplPart is literal text (param nil) or one parameter.
type tplPart struct {
	lit   string
	param *tplParam
}

// tplParam is one {prefix:name?} of a template.
type tplParam struct {
	text     string // as written, braces included, for messages
	core     string // the OpenSearch 1.1 parameter name; "" for any other
	optional bool
}

// coreParams are the unqualified parameter names OpenSearch 1.1 defines.
var coreParams = map[string]bool{
	"searchTerms": true, "count": true, "startIndex": true, "startPage": true,
	"language": true, "inputEncoding": true, "outputEncoding": true,
}

// compileTemplate parses and validates raw. ns maps the XML namespace
// prefixes in scope at the Url element to their namespaces, so that a
// parameter qualified with a prefix bound to the OpenSearch namespace counts
// as a core parameter; nil when the template did not come from a
// description document.
//
// A template must be an absolute http(s) URL and contain {searchTerms}; a
// required parameter Commonshelf has no value for (an extension's, or a name
// OpenSearch does not define) is an error naming it. Optional ones of that
// kind are filled with "".
func compileTemplate(raw string, ns map[string]string, indexOffset, pageOffset int) (*urlTemplate, error) {
	t := &urlTemplate{raw: raw, indexOffset: indexOffset, pageOffset: pageOffset}
	raw = strings.TrimSpace(raw)
	hasTerms := false
	for len(raw) > 0 {
		open := strings.IndexByte(raw, '{')
		if open < 0 {
			t.parts = append(t.parts, tplPart{lit: raw})
			break
		}
		if open > 0 {
			t.parts = append(t.parts, tplPart{lit: raw[:open]})
		}
		end := strings.IndexByte(raw[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("template: %q is never closed with }", raw[open:min(len(raw), open+40)])
		}
		text := raw[open : open+end+1]
		name := text[1 : len(text)-1]
		if strings.ContainsAny(name, "{ \t\r\n") || name == "" || name == "?" {
			return nil, fmt.Errorf("template: %q is not a parameter", text)
		}
		p := &tplParam{text: text}
		if strings.HasSuffix(name, "?") {
			p.optional = true
			name = name[:len(name)-1]
		}
		if prefix, local, ok := strings.Cut(name, ":"); ok {
			if space := ns[prefix]; space == nsOpenSearch11 && coreParams[local] {
				p.core = local
			}
		} else if coreParams[name] {
			p.core = name
		}
		if p.core == "" && !p.optional {
			return nil, fmt.Errorf("template: required parameter %s is not an OpenSearch 1.1 parameter and Commonshelf has no value for it", text)
		}
		switch p.core {
		case "searchTerms":
			hasTerms = true
		case "startIndex":
			t.hasStartIndex = true
		case "startPage":
			t.hasStartPage = true
		case "count":
			t.hasCount = true
		}
		t.parts = append(t.parts, tplPart{param: p})
		raw = raw[open+end+1:]
	}
	if !hasTerms {
		return nil, fmt.Errorf("template: %q has no {searchTerms} parameter", t.raw)
	}
	// The filled URL must be an absolute http(s) URL whatever the values.
	probe := t.fill("probe words", federate.Window{Offset: 0, Limit: 10})
	u, err := url.Parse(probe)
	if err != nil {
		return nil, fmt.Errorf("template: not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("template: %q is not an absolute http(s) URL", t.raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("template: %q has no host", t.raw)
	}
	return t, nil
}

// fill returns the template's URL for searchTerms and the window w, whose
// paging the caller has already adapted to the template (see plan).
// Every value is percent-encoded so that it can change no part of the URL's
// structure, wherever the parameter stands.
func (t *urlTemplate) fill(searchTerms string, w federate.Window) string {
	var b strings.Builder
	b.Grow(len(t.raw) + 3*len(searchTerms))
	for _, p := range t.parts {
		if p.param == nil {
			b.WriteString(p.lit)
			continue
		}
		var v string
		switch p.param.core {
		case "searchTerms":
			v = searchTerms
		case "count":
			v = strconv.Itoa(w.Limit)
		case "startIndex":
			v = strconv.Itoa(t.indexOffset + w.Offset)
		case "startPage":
			v = strconv.Itoa(t.pageOffset + w.Offset/max(w.Limit, 1))
		case "language":
			if !p.param.optional {
				v = "*" // OpenSearch's "any language"
			}
		case "inputEncoding", "outputEncoding":
			v = "UTF-8"
		}
		b.WriteString(escape(v))
	}
	return b.String()
}

// escape percent-encodes everything but RFC 3986's unreserved characters, so
// that a value is one opaque datum in a path segment, a query value or a
// fragment alike ("+" and "&" and "/" included; a space is %20).
func escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			out = append(out, c)
			continue
		}
		out = append(out, '%', hex[c>>4], hex[c&15])
	}
	return string(out)
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// request is how one window is asked of the member: the window to put in
// the URL, and how many leading records of the answer to drop.
type request struct {
	w    federate.Window
	skip int
}

// plan adapts the engine's window to the paging the template offers:
// {startIndex} pages exactly; {startPage} with {count} pages in steps of
// the limit (an offset between steps asks for more from the start and drops
// the excess); with neither, or {startPage} without {count} (the page size
// is then the member's), only the first page can be asked for, and the
// offset is cut from it.
func (t *urlTemplate) plan(w federate.Window) request {
	w.Limit = max(w.Limit, 1)
	w.Offset = max(w.Offset, 0)
	switch {
	case t.hasStartIndex:
		return request{w: w}
	case t.hasStartPage && t.hasCount && w.Offset%w.Limit == 0:
		return request{w: w}
	default:
		return request{w: federate.Window{Offset: 0, Limit: w.Offset + w.Limit}, skip: w.Offset}
	}
}
