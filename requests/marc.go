package requests

import (
	"strconv"

	"github.com/commonshelf/commonshelf/connectors/marc"
)

// MARC renders a request's metadata snapshot as a brief MARC 21
// bibliographic record for an acquisitions system: 001 the request id, 020
// ISBN, 022 ISSN, 010 LCCN, 024 DOI, 035 OCLC number, 100/700 authors, 245
// title, 250 edition, 264 publisher and year, 500 where the metadata came
// from, 856 the member's record page.
func MARC(r *Request) *marc.Record {
	m := r.Metadata
	rec := &marc.Record{
		Leader:  "00000nam a2200000 a 4500",
		Control: []marc.ControlField{{Tag: "001", Value: r.ID}, {Tag: "003", Value: "Commonshelf"}},
	}
	add := func(tag string, i1, i2 byte, sf ...marc.Subfield) {
		rec.Data = append(rec.Data, marc.DataField{Tag: tag, Ind1: i1, Ind2: i2, Subfields: sf})
	}
	sub := func(code byte, v string) marc.Subfield { return marc.Subfield{Code: code, Value: v} }
	for _, v := range m.Identifiers.LCCN {
		add("010", ' ', ' ', sub('a', v))
	}
	for _, v := range m.Identifiers.ISBN {
		add("020", ' ', ' ', sub('a', v))
	}
	for _, v := range m.Identifiers.ISSN {
		add("022", ' ', ' ', sub('a', v))
	}
	for _, v := range m.Identifiers.DOI {
		add("024", '7', ' ', sub('a', v), sub('2', "doi"))
	}
	for _, v := range m.Identifiers.OCLC {
		add("035", ' ', ' ', sub('a', "(OCoLC)"+v))
	}
	if len(m.Authors) > 0 {
		add("100", '1', ' ', sub('a', m.Authors[0]))
	}
	add("245", '0', '0', sub('a', m.Title))
	if m.Edition != "" {
		add("250", ' ', ' ', sub('a', m.Edition))
	}
	if m.Publisher != "" || m.Year > 0 {
		var sf []marc.Subfield
		if m.Publisher != "" {
			sf = append(sf, sub('b', m.Publisher))
		}
		if m.Year > 0 {
			sf = append(sf, sub('c', strconv.Itoa(m.Year)))
		}
		add("264", ' ', '1', sf...)
	}
	add("500", ' ', ' ', sub('a', "Purchase suggestion "+r.ID+" by "+r.Requester+"; metadata from member "+r.Source.Member+" record "+r.Source.RecordID))
	for _, a := range m.Authors[min(1, len(m.Authors)):] {
		add("700", '1', ' ', sub('a', a))
	}
	if m.Link != "" {
		add("856", '4', '0', sub('u', m.Link))
	}
	return rec
}
