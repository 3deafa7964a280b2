package primo

// The parser as it was before it decoded in one pass, kept as the
// reference the differential tests and fuzz targets compare ParseResponse
// with. It reads each doc through json.RawMessage maps: slow, but plain.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/commonshelf/commonshelf/connectors/remote"
	"github.com/commonshelf/commonshelf/federate"
)

// parseResponseReference reads a Primo search answer. It never panics: a record it
// cannot read is counted in Page.Rejected; an answer that is not a Primo
// search result at all is an error (ErrHTML, *APIError or a description
// of what came instead).
func parseResponseReference(body []byte, l Links) (federate.Page, error) {
	body = bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
	if len(body) == 0 {
		return federate.Page{}, errors.New("empty response body")
	}
	switch body[0] {
	case '{':
	case '<':
		if e := xmlError(body); e != nil {
			return federate.Page{}, e
		}
		return federate.Page{}, ErrHTML
	default:
		return federate.Page{}, fmt.Errorf("response is %s, not a Primo search object", describe(body))
	}
	var top struct {
		Info        json.RawMessage `json:"info"`
		Docs        json.RawMessage `json:"docs"`
		ErrorsExist json.RawMessage `json:"errorsExist"`
		ErrorList   json.RawMessage `json:"errorList"`
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return federate.Page{}, fmt.Errorf("unreadable JSON: %w", err)
	}
	if e := jsonError(top.ErrorsExist, top.ErrorList); e != nil {
		return federate.Page{}, e
	}
	page := federate.Page{Total: -1}
	if info := remote.Object(top.Info); info != nil {
		if n, ok := remote.Integer(info["total"]); ok {
			page.Total = n
		}
	} else if len(bytes.TrimSpace(top.Info)) > 0 && string(bytes.TrimSpace(top.Info)) != "null" {
		return federate.Page{}, fmt.Errorf("response info is %s, not an object", describe(top.Info))
	}
	docs := bytes.TrimSpace(top.Docs)
	if len(docs) == 0 || string(docs) == "null" {
		if page.Total < 0 && top.Info == nil {
			return federate.Page{}, errors.New("response has neither info nor docs: not a Primo search result")
		}
		return page, nil
	}
	if docs[0] != '[' {
		return federate.Page{}, fmt.Errorf("response docs is %s, not a list", describe(docs))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(docs, &items); err != nil {
		return federate.Page{}, fmt.Errorf("unreadable docs: %w", err)
	}
	page.Records = make([]federate.Record, 0, len(items))
	for _, it := range items {
		r, ok := toRecordReference(it, l)
		if !ok {
			page.Rejected++
			continue
		}
		page.Records = append(page.Records, r)
	}
	return page, nil
}

// toRecordReference maps one doc; false if it is not an object or has no id or
// title.
func toRecordReference(raw json.RawMessage, l Links) (federate.Record, bool) {
	doc := remote.Object(raw)
	if doc == nil {
		return federate.Record{}, false
	}
	pnx := remote.Object(doc["pnx"])
	display := remote.Object(pnx["display"])
	addata := remote.Object(pnx["addata"])
	search := remote.Object(pnx["search"])
	control := remote.Object(pnx["control"])

	var r federate.Record
	r.RecordID = clean(remote.String(control["recordid"]))
	if r.RecordID == "" {
		r.RecordID = clean(remote.String(control["sourcerecordid"]))
	}
	if r.RecordID == "" {
		// The last path segment of the record's API address.
		if id, ok := remote.Scalar(doc["@id"]); ok {
			if i := strings.LastIndexByte(id, '/'); i >= 0 && i < len(id)-1 {
				r.RecordID = id[i+1:]
			}
		}
	}
	for _, v := range [][]string{remote.Strings(display["title"]), remote.Strings(addata["btitle"]), remote.Strings(addata["atitle"]), remote.Strings(addata["jtitle"])} {
		if len(v) > 0 {
			if t := clean(v[0]); t != "" {
				r.Title = t
				break
			}
		}
	}
	if r.RecordID == "" || r.Title == "" {
		return federate.Record{}, false
	}

	r.Authors = splitList(remote.Strings(display["creator"]), heading)
	r.Authors = append(r.Authors, splitList(remote.Strings(display["contributor"]), heading)...)
	if len(r.Authors) == 0 {
		r.Authors = splitList(remote.Strings(addata["au"]), heading)
		if len(r.Authors) == 0 {
			r.Authors = splitList(remote.Strings(addata["addau"]), heading)
		}
	}
	r.Authors = dedupe(r.Authors)

	for _, v := range [][]string{remote.Strings(display["creationdate"]), remote.Strings(addata["date"]), remote.Strings(addata["risdate"]), remote.Strings(search["creationdate"])} {
		if len(v) > 0 {
			if y := federate.YearOf(v[0]); y != 0 {
				r.Year = y
				break
			}
		}
	}
	if p := clean(remote.String(addata["pub"])); p != "" {
		r.Publisher = p
	} else {
		r.Publisher = clean(remote.String(display["publisher"]))
	}
	r.Edition = clean(remote.String(display["edition"]))
	if s := remote.Strings(display["series"]); len(s) > 0 {
		r.Series = heading(s[0])
	}
	r.Subjects = dedupe(splitList(remote.Strings(display["subject"]), heading))
	r.Format = format(remote.String(display["type"]), remote.String(addata["format"]))
	r.Language = language(remote.String(display["language"]))

	ids := &r.Identifiers
	ids.ISBN = append(ids.ISBN, remote.Strings(addata["isbn"])...)
	ids.ISBN = append(ids.ISBN, remote.Strings(search["isbn"])...)
	ids.ISSN = append(ids.ISSN, remote.Strings(addata["issn"])...)
	ids.ISSN = append(ids.ISSN, remote.Strings(addata["eissn"])...)
	ids.ISSN = append(ids.ISSN, remote.Strings(search["issn"])...)
	for _, o := range remote.Strings(addata["oclcid"]) {
		ids.OCLC = append(ids.OCLC, oclc(o))
	}
	ids.LCCN = append(ids.LCCN, remote.Strings(addata["lccn"])...)
	ids.DOI = append(ids.DOI, remote.Strings(addata["doi"])...)
	for _, v := range remote.Strings(display["identifier"]) {
		identifiers(v, ids)
	}
	ids.ISBN, ids.ISSN, ids.OCLC = dedupe(ids.ISBN), dedupe(ids.ISSN), dedupe(ids.OCLC)
	ids.LCCN, ids.DOI = dedupe(ids.LCCN), dedupe(ids.DOI)

	r.Links = linksReference(doc, pnx, r.RecordID, l)
	return r, true
}

// linksReference builds the record's links: the catalogue page from the template,
// then online access from the delivery data.
func linksReference(doc, pnx map[string]json.RawMessage, id string, l Links) []federate.Link {
	var out []federate.Link
	seen := map[string]bool{}
	add := func(u, label string) {
		u = strings.TrimSpace(u)
		if u == "" || seen[u] {
			return
		}
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return
		}
		seen[u] = true
		out = append(out, federate.Link{URL: u, Label: label})
	}
	if l.RecordURL != "" {
		ctx, _ := remote.Scalar(doc["context"])
		if ctx == "" {
			ctx = "L"
		}
		add(fill(l.RecordURL, map[string]string{"{id}": id, "{context}": ctx}), "Catalogue record")
	}
	delivery := remote.Object(doc["delivery"])
	for _, u := range remote.Strings(delivery["availabilityLinksUrl"]) {
		add(u, "Online access")
	}
	if ls := bytes.TrimSpace(delivery["link"]); len(ls) > 0 && ls[0] == '[' {
		var items []json.RawMessage
		if json.Unmarshal(ls, &items) == nil {
			for _, it := range items {
				o := remote.Object(it)
				if strings.Contains(remote.String(o["linkType"]), "linktorsrc") {
					add(remote.String(o["linkURL"]), "Online access")
				}
			}
		}
	}
	for _, v := range remote.Strings(remote.Object(pnx["links"])["linktorsrc"]) {
		_, parts := subfields(v)
		for _, p := range parts {
			if p.code == 'U' {
				add(p.value, "Online access")
			}
		}
	}
	return out
}
