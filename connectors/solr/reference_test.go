package solr

// The parser as it was before it decoded in one pass, kept as the
// reference the differential tests and fuzz targets compare ParseResponse
// with. It reads each doc through a json.RawMessage map: slow, but plain.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/commonshelf/commonshelf/connectors/remote"
	"github.com/commonshelf/commonshelf/federate"
)

// parseResponseReference reads a Solr select answer into records, using f to find
// the fields and recordURL (see Options.RecordURL) for catalogue links. It
// never panics: a doc it cannot read is counted in Page.Rejected; a body
// that is not a Solr answer is an error (ErrHTML, *SolrError or a
// description of what came instead).
func parseResponseReference(body []byte, f Fields, recordURL string) (federate.Page, error) {
	body = bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
	if len(body) == 0 {
		return federate.Page{}, errors.New("empty response body")
	}
	switch body[0] {
	case '{':
	case '<':
		return federate.Page{}, ErrHTML
	default:
		return federate.Page{}, fmt.Errorf("response is %s, not a Solr response object", describe(body))
	}
	var top struct {
		Response json.RawMessage `json:"response"`
		Error    json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return federate.Page{}, fmt.Errorf("unreadable JSON: %w", err)
	}
	if e := solrError(top.Error); e != nil {
		return federate.Page{}, e
	}
	resp := remote.Object(top.Response)
	if resp == nil {
		if len(bytes.TrimSpace(top.Response)) == 0 {
			return federate.Page{}, errors.New("response has no \"response\" section: not a Solr select answer")
		}
		return federate.Page{}, fmt.Errorf("response section is %s, not an object", describe(top.Response))
	}
	page := federate.Page{Total: -1}
	if n, ok := remote.Integer(resp["numFound"]); ok {
		page.Total = n
	}
	docs := bytes.TrimSpace(resp["docs"])
	if len(docs) == 0 || string(docs) == "null" {
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
		r, ok := toRecordReference(it, f, recordURL)
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
func toRecordReference(raw json.RawMessage, f Fields, recordURL string) (federate.Record, bool) {
	doc := remote.Object(raw)
	if doc == nil {
		return federate.Record{}, false
	}
	first := func(names []string) string {
		for _, n := range names {
			for _, v := range remote.Strings(doc[n]) {
				if v = strings.TrimSpace(v); v != "" {
					return v
				}
			}
		}
		return ""
	}
	all := func(names []string) []string {
		var out []string
		for _, n := range names {
			for _, v := range remote.Strings(doc[n]) {
				if v = strings.TrimSpace(v); v != "" {
					out = append(out, v)
				}
			}
		}
		return dedupe(out)
	}
	var r federate.Record
	r.RecordID = first(f.ID)
	r.Title = trimPunct(first(f.Title))
	if r.RecordID == "" || r.Title == "" {
		return federate.Record{}, false
	}
	r.Authors = all(f.Author)
	for i, a := range r.Authors {
		r.Authors[i] = trimPunct(a)
	}
	r.Year = federate.YearOf(first(f.Year))
	r.Publisher = trimPunct(first(f.Publisher))
	r.Edition = first(f.Edition)
	r.Series = first(f.Series)
	r.Subjects = all(f.Subject)
	for _, v := range all(f.Format) {
		if r.Format = format(v); r.Format != federate.FormatOther {
			break
		}
	}
	r.Language = language(first(f.Language))
	r.Identifiers = federate.Identifiers{
		ISBN: all(f.ISBN), ISSN: all(f.ISSN), OCLC: all(f.OCLC), LCCN: all(f.LCCN),
	}
	if recordURL != "" {
		r.Links = append(r.Links, federate.Link{URL: fillID(recordURL, r.RecordID), Label: "Catalogue record"})
	}
	for _, u := range all(f.URL) {
		if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
			r.Links = append(r.Links, federate.Link{URL: u, Label: "Online access"})
		}
	}
	return r, true
}
