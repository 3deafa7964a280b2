package primo

import (
	"strings"

	"github.com/commonshelf/commonshelf/connectors/remote"
)

// values are the strings of one PNX field, which Primo sends as a list of
// strings, or as a bare string or number: strings trimmed, numbers as
// written, empty strings and values of other types (booleans, objects,
// nested lists) left out.
type values []string

// first is the first value, or "".
func (v values) first() string {
	if len(v) > 0 {
		return v[0]
	}
	return ""
}

// doc holds the members of one Primo doc that a record is built from,
// read in one pass over the doc (see read); every other member is skipped.
// A section that is not an object reads as absent, and of a key given
// twice the last one counts (as when the doc is read into a map).
type doc struct {
	id      []byte // @id as it stands in the body, read only when the record has no other id
	context string // "L", "PC"; "" when missing or not a scalar

	display struct {
		title, creator, contributor, creationdate, publisher, edition, series values
		subject, typ, language, identifier                                    values
	}
	addata struct {
		btitle, atitle, jtitle, au, addau, date, risdate, pub, format values
		isbn, issn, eissn, oclcid, lccn, doi                          values
	}
	search struct {
		creationdate, isbn, issn values
	}
	control struct {
		recordid, sourcerecordid values
	}
	linktorsrc values // pnx.links.linktorsrc

	availabilityLinks values // delivery.availabilityLinksUrl
	// resourceLinks are the linkURL of the delivery.link entries whose
	// linkType names linktorsrc, in order.
	resourceLinks values

	// scratch backs the values above; it is reused from doc to doc, so
	// values are valid until the next read.
	scratch []string
}

// read fills d from the doc object that starts at data[at] and returns the
// index just past it. data must be valid JSON.
func (d *doc) read(data []byte, at int) int {
	*d = doc{scratch: d.scratch[:0]}
	return remote.EachMember(data, at, func(key []byte, at int) int {
		switch string(key) {
		case "@id":
			end := remote.SkipValue(data, at)
			d.id = data[at:end]
			return end
		case "context":
			var end int
			d.context, _, end = remote.ScalarAt(data, at)
			return end
		case "pnx":
			d.display, d.addata, d.search, d.control = doc{}.display, doc{}.addata, doc{}.search, doc{}.control
			d.linktorsrc = nil
			return remote.EachMember(data, at, func(key []byte, at int) int {
				return d.readSection(string(key), data, at)
			})
		case "delivery":
			d.availabilityLinks, d.resourceLinks = nil, nil
			return remote.EachMember(data, at, func(key []byte, at int) int {
				switch string(key) {
				case "availabilityLinksUrl":
					return d.strings(&d.availabilityLinks, data, at)
				case "link":
					return d.readResourceLinks(data, at)
				}
				return remote.SkipValue(data, at)
			})
		}
		return remote.SkipValue(data, at)
	})
}

// readSection reads the pnx section name that starts at data[at].
func (d *doc) readSection(name string, data []byte, at int) int {
	switch name {
	case "display":
		s := &d.display
		*s = doc{}.display
		return remote.EachMember(data, at, func(key []byte, at int) int {
			var v *values
			switch string(key) {
			case "title":
				v = &s.title
			case "creator":
				v = &s.creator
			case "contributor":
				v = &s.contributor
			case "creationdate":
				v = &s.creationdate
			case "publisher":
				v = &s.publisher
			case "edition":
				v = &s.edition
			case "series":
				v = &s.series
			case "subject":
				v = &s.subject
			case "type":
				v = &s.typ
			case "language":
				v = &s.language
			case "identifier":
				v = &s.identifier
			default:
				return remote.SkipValue(data, at)
			}
			return d.strings(v, data, at)
		})
	case "addata":
		s := &d.addata
		*s = doc{}.addata
		return remote.EachMember(data, at, func(key []byte, at int) int {
			var v *values
			switch string(key) {
			case "btitle":
				v = &s.btitle
			case "atitle":
				v = &s.atitle
			case "jtitle":
				v = &s.jtitle
			case "au":
				v = &s.au
			case "addau":
				v = &s.addau
			case "date":
				v = &s.date
			case "risdate":
				v = &s.risdate
			case "pub":
				v = &s.pub
			case "format":
				v = &s.format
			case "isbn":
				v = &s.isbn
			case "issn":
				v = &s.issn
			case "eissn":
				v = &s.eissn
			case "oclcid":
				v = &s.oclcid
			case "lccn":
				v = &s.lccn
			case "doi":
				v = &s.doi
			default:
				return remote.SkipValue(data, at)
			}
			return d.strings(v, data, at)
		})
	case "search":
		s := &d.search
		*s = doc{}.search
		return remote.EachMember(data, at, func(key []byte, at int) int {
			switch string(key) {
			case "creationdate":
				return d.strings(&s.creationdate, data, at)
			case "isbn":
				return d.strings(&s.isbn, data, at)
			case "issn":
				return d.strings(&s.issn, data, at)
			}
			return remote.SkipValue(data, at)
		})
	case "control":
		s := &d.control
		*s = doc{}.control
		return remote.EachMember(data, at, func(key []byte, at int) int {
			switch string(key) {
			case "recordid":
				return d.strings(&s.recordid, data, at)
			case "sourcerecordid":
				return d.strings(&s.sourcerecordid, data, at)
			}
			return remote.SkipValue(data, at)
		})
	case "links":
		d.linktorsrc = nil
		return remote.EachMember(data, at, func(key []byte, at int) int {
			if string(key) == "linktorsrc" {
				return d.strings(&d.linktorsrc, data, at)
			}
			return remote.SkipValue(data, at)
		})
	}
	return remote.SkipValue(data, at)
}

// strings sets *v to the values that start at data[at] and returns the
// index just past them.
func (d *doc) strings(v *values, data []byte, at int) int {
	start := len(d.scratch)
	var end int
	d.scratch, end = remote.AppendStrings(d.scratch, data, at)
	*v = d.scratch[start:len(d.scratch):len(d.scratch)]
	return end
}

// readResourceLinks reads delivery.link, a list of objects of which those
// with a linkType naming linktorsrc give their linkURL; a link that is not
// an object, or a list that is not a list, gives nothing.
func (d *doc) readResourceLinks(data []byte, at int) int {
	var links values
	end := remote.EachElement(data, at, func(at int) int {
		var typ, u values
		end := remote.EachMember(data, at, func(key []byte, at int) int {
			switch string(key) {
			case "linkType":
				return d.strings(&typ, data, at)
			case "linkURL":
				return d.strings(&u, data, at)
			}
			return remote.SkipValue(data, at)
		})
		if strings.Contains(typ.first(), "linktorsrc") && u.first() != "" {
			links = append(links, u.first())
		}
		return end
	})
	d.resourceLinks = links
	return end
}
