package opensearch

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"strconv"
	"strings"
)

// Response types the connector reads.
const (
	TypeAtom = "application/atom+xml"
	TypeRSS  = "application/rss+xml"
)

// description is what the connector needs of an OpenSearch description
// document.
type description struct {
	shortName string
	urls      []descURL
}

// descURL is one <Url> element, with the namespace prefixes in scope.
type descURL struct {
	template    string
	mediaType   string // media type without parameters, lower-case
	rel         string
	indexOffset string
	pageOffset  string
	ns          map[string]string
}

// parseDescription reads an OpenSearch description document. It checks the
// document's shape (root element, Url elements) but not the templates: pick
// does that for the Url it chooses.
func parseDescription(body []byte) (*description, error) {
	p := newDecoder(body)
	root, err := p.root()
	if err != nil {
		if errors.Is(err, errHTML) {
			return nil, errors.New("member answered with an HTML page, not an OpenSearch description document")
		}
		return nil, err
	}
	if root.Name.Local != "OpenSearchDescription" {
		return nil, fmt.Errorf("root element is <%s>, not <OpenSearchDescription>", root.Name.Local)
	}
	scopes := []map[string]string{declare(nil, root.Attr)}
	d := &description{}
	for {
		tok, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			ns := declare(scopes[len(scopes)-1], t.Attr)
			scopes = append(scopes, ns)
			if p.depth != 2 || !openSearchSpace(t.Name.Space) {
				continue
			}
			switch t.Name.Local {
			case "Url":
				u := descURL{ns: ns}
				for _, a := range t.Attr {
					if a.Name.Space != "" {
						continue
					}
					switch a.Name.Local {
					case "template":
						u.template = a.Value
					case "type":
						u.mediaType = a.Value
						if mt, _, err := mime.ParseMediaType(a.Value); err == nil {
							u.mediaType = mt
						}
						u.mediaType = strings.ToLower(strings.TrimSpace(u.mediaType))
					case "rel":
						u.rel = a.Value
					case "indexOffset":
						u.indexOffset = a.Value
					case "pageOffset":
						u.pageOffset = a.Value
					}
				}
				d.urls = append(d.urls, u)
			case "ShortName":
				n, err := p.tree(t)
				if err != nil {
					return nil, err
				}
				scopes = scopes[:len(scopes)-1]
				d.shortName = n.allText()
			}
		case xml.EndElement:
			scopes = scopes[:len(scopes)-1]
		}
	}
	if len(d.urls) == 0 {
		return nil, errors.New("description document has no <Url> element")
	}
	return d, nil
}

// openSearchSpace reports whether an element of namespace space belongs to
// the description format (documents without a namespace are common).
func openSearchSpace(space string) bool {
	return space == "" || space == nsOpenSearch11 || space == nsOpenSearch10 ||
		strings.TrimSuffix(space, "/") == strings.TrimSuffix(nsOpenSearch11, "/")
}

// declare returns the prefix map in scope after attrs' xmlns:prefix
// declarations (a copy, if there are any).
func declare(outer map[string]string, attrs []xml.Attr) map[string]string {
	var m map[string]string
	for _, a := range attrs {
		if a.Name.Space != "xmlns" {
			continue
		}
		if m == nil {
			m = maps.Clone(outer)
			if m == nil {
				m = map[string]string{}
			}
		}
		m[a.Name.Local] = a.Value
	}
	if m == nil {
		return outer
	}
	return m
}

// pick chooses the description's results Url of the preferred type (Atom or
// RSS; the other if the preferred one is missing) and compiles its
// template. The error lists what the description offered instead.
func (d *description) pick(preferred string) (*urlTemplate, error) {
	order := []string{preferred, TypeRSS}
	if preferred == TypeRSS {
		order[1] = TypeAtom
	}
	var problems []string
	var offered []string
	for _, want := range order {
		for _, u := range d.urls {
			if u.mediaType != want || !resultsRel(u.rel) {
				continue
			}
			t, err := u.compile()
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s Url: %v", u.mediaType, err))
				continue
			}
			return t, nil
		}
	}
	for _, u := range d.urls {
		if !resultsRel(u.rel) {
			offered = append(offered, u.mediaType+" (rel "+u.rel+")")
		} else if u.mediaType != TypeAtom && u.mediaType != TypeRSS {
			offered = append(offered, u.mediaType)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("no usable Atom or RSS results Url: %s", strings.Join(problems, "; "))
	}
	return nil, fmt.Errorf("description offers no Atom or RSS results Url (it offers: %s)", strings.Join(offered, ", "))
}

// resultsRel reports whether a Url's rel attribute includes search results:
// absent or empty means "results".
func resultsRel(rel string) bool {
	f := strings.Fields(rel)
	if len(f) == 0 {
		return true
	}
	for _, r := range f {
		if r == "results" {
			return true
		}
	}
	return false
}

func (u descURL) compile() (*urlTemplate, error) {
	idx, err := offset(u.indexOffset, "indexOffset")
	if err != nil {
		return nil, err
	}
	po, err := offset(u.pageOffset, "pageOffset")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(u.template) == "" {
		return nil, errors.New("no template attribute")
	}
	t, err := compileTemplate(u.template, u.ns, idx, po)
	if err != nil {
		return nil, err
	}
	t.mediaType = u.mediaType
	return t, nil
}

// offset reads an indexOffset or pageOffset attribute; absent means 1.
func offset(s, name string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < -1_000_000 || n > 1_000_000 {
		return 0, fmt.Errorf("%s %q is not an integer", name, s)
	}
	return n, nil
}
