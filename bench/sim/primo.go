package sim

import (
	"encoding/json"
	"strconv"

	"github.com/commonshelf/commonshelf/connectors/marc"
)

// primoPage is a Primo REST search response (info + docs[].pnx) built from
// the member's records, in the documented shape: every pnx value an array
// of strings, creators with $$Q sort keys.
func (m *Member) primoPage(offset, n int) []byte {
	type pnx struct {
		Control  map[string][]string `json:"control"`
		Display  map[string][]string `json:"display"`
		Addata   map[string][]string `json:"addata"`
		Search   map[string][]string `json:"search"`
		Delivery map[string][]string `json:"delivery,omitempty"`
	}
	type doc struct {
		Context  string         `json:"context"`
		Adaptor  string         `json:"adaptor"`
		ID       string         `json:"@id"`
		PNX      pnx            `json:"pnx"`
		Delivery map[string]any `json:"delivery"`
	}
	page := m.page(offset, n)
	docs := make([]doc, 0, len(page))
	for _, mr := range page {
		r, err := marc.ToRecord(mr)
		if err != nil {
			continue
		}
		creators := make([]string, 0, len(r.Authors))
		for _, a := range r.Authors {
			creators = append(creators, a+"$$Q"+a)
		}
		year := ""
		if r.Year != 0 {
			year = strconv.Itoa(r.Year)
		}
		d := doc{
			Context: "L", Adaptor: "Local Search Engine",
			ID: "https://primo.example.org/primo_library/libweb/webservices/rest/v1/pnxs/L/" + r.RecordID,
			PNX: pnx{
				Control: map[string][]string{"recordid": {r.RecordID}, "sourcerecordid": {r.RecordID}, "sourceid": {"sim"}},
				Display: map[string][]string{"title": {r.Title}, "creator": creators, "publisher": nonEmpty(r.Publisher),
					"creationdate": nonEmpty(year), "type": nonEmpty(primoType(r.Format)), "language": nonEmpty(r.Language),
					"subject": r.Subjects},
				Addata: map[string][]string{"isbn": r.Identifiers.ISBN, "issn": r.Identifiers.ISSN, "oclcid": r.Identifiers.OCLC,
					"lccn": r.Identifiers.LCCN, "date": nonEmpty(year), "btitle": {r.Title}, "au": r.Authors, "format": nonEmpty(primoType(r.Format))},
				Search: map[string][]string{"isbn": r.Identifiers.ISBN, "creationdate": nonEmpty(year)},
			},
			Delivery: map[string]any{"availability": []string{"available_in_library"}, "deliveryCategory": []string{"Alma-P"}},
		}
		docs = append(docs, d)
	}
	body, _ := json.Marshal(map[string]any{
		"info": map[string]any{"total": m.total(), "first": offset + 1, "last": offset + len(docs)},
		"docs": docs, "facets": []any{},
	})
	return body
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func primoType(format string) string {
	switch format {
	case "":
		return ""
	case "ebook":
		return "book"
	case "archival-material":
		return "archival_material_manuscripts"
	default:
		return format
	}
}
