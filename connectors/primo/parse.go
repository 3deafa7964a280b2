package primo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/commonshelf/commonshelf/connectors/remote"
	"net/url"
	"strings"

	"github.com/commonshelf/commonshelf/federate"
)

// The answer of GET /primo/v1/search, as Primo documents and sends it:
//
//	{"info": {"total": 123, "first": 1, "last": 10, …},
//	 "docs": [{"context": "L", "@id": "https://…/pnxs/L/alma99…",
//	           "pnx": {"display": {…}, "addata": {…}, "search": {…},
//	                   "control": {…}, "delivery": {…}, "links": {…}, …},
//	           "delivery": {"availabilityLinksUrl": […], "link": […], …}}, …],
//	 "facets": […]}
//
// Every PNX field is a list of strings, except where a deployment sends a
// bare string, a number or a boolean; values may carry "$$X" subfield
// markers; sections, "docs" (when nothing matched) and "info" may be missing;
// counts may be strings. Errors of Ex Libris's API gateway are
// {"errorsExist": true, "errorList": {"error": [{"errorCode", "errorMessage",
// "trackingId"}]}} (or the same in XML).

// ErrHTML is returned for a body that is an HTML page (a login, proxy or
// maintenance page served with status 200).
var ErrHTML = errors.New("member answered with an HTML page, not Primo JSON")

// APIError is an error Primo reported in its own format.
type APIError struct {
	Code, Message string
}

func (e *APIError) Error() string {
	switch {
	case e.Code == "":
		return e.Message
	case e.Message == "":
		return e.Code
	}
	return e.Code + ": " + e.Message
}

// keyRejected reports whether Primo refused the API key (Ex Libris
// answers a bad or unauthorised key with code UNAUTHORIZED, also on 400).
func (e *APIError) keyRejected() bool {
	switch strings.ToUpper(e.Code) {
	case "UNAUTHORIZED", "INVALID_API_KEY", "FORBIDDEN":
		return true
	}
	return false
}

// Links are how records link back to the member.
type Links struct {
	// RecordURL is the template of a record's page: "{id}" is replaced by
	// the record id (control.recordid) and "{context}" by the record's
	// context ("L" local, "PC" central index), each escaped for where it
	// stands (query value after '?', path segment before). "" adds no
	// catalogue link.
	RecordURL string
}

// ParseResponse reads a Primo search answer. It never panics: a record it
// cannot read is counted in Page.Rejected; an answer that is not a Primo
// search result at all is an error (ErrHTML, *APIError or a description
// of what came instead).
//
// The body is validated once (json.Valid) and then walked once, keeping
// only the members a record is built from; a section of the wrong type
// reads as absent. Top-level keys match as encoding/json matches struct
// fields (case-insensitively); keys below match exactly, and of a
// repeated key the last one counts.
func ParseResponse(body []byte, l Links) (federate.Page, error) {
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
	if !json.Valid(body) {
		// encoding/json describes what is wrong, and where.
		err := json.Unmarshal(body, new(struct{}))
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return federate.Page{}, fmt.Errorf("unreadable JSON: %w", err)
	}
	// The top level as raw values (nil when absent, "null" when null).
	var info, docs, errorsExist, errorList []byte
	remote.EachMember(body, 0, func(key []byte, at int) int {
		end := remote.SkipValue(body, at)
		switch {
		case bytes.EqualFold(key, []byte("info")):
			info = body[remote.SkipSpace(body, at):end]
		case bytes.EqualFold(key, []byte("docs")):
			docs = body[remote.SkipSpace(body, at):end]
		case bytes.EqualFold(key, []byte("errorsExist")):
			errorsExist = body[remote.SkipSpace(body, at):end]
		case bytes.EqualFold(key, []byte("errorList")):
			errorList = body[remote.SkipSpace(body, at):end]
		}
		return end
	})
	if e := jsonError(errorsExist, errorList); e != nil {
		return federate.Page{}, e
	}
	page := federate.Page{Total: -1}
	switch {
	case len(info) > 0 && info[0] == '{':
		var total []byte
		remote.EachMember(info, 0, func(key []byte, at int) int {
			end := remote.SkipValue(info, at)
			if string(key) == "total" {
				total = info[at:end]
			}
			return end
		})
		if n, ok := remote.Integer(total); ok {
			page.Total = n
		}
	case info != nil && string(info) != "null":
		return federate.Page{}, fmt.Errorf("response info is %s, not an object", describe(info))
	}
	if len(docs) == 0 || string(docs) == "null" {
		if page.Total < 0 && info == nil {
			return federate.Page{}, errors.New("response has neither info nor docs: not a Primo search result")
		}
		return page, nil
	}
	if docs[0] != '[' {
		return federate.Page{}, fmt.Errorf("response docs is %s, not a list", describe(docs))
	}
	var d doc
	remote.EachElement(docs, 0, func(at int) int {
		if docs[at] != '{' {
			page.Rejected++
			return remote.SkipValue(docs, at)
		}
		end := d.read(docs, at)
		if r, ok := toRecord(&d, l); ok {
			page.Records = append(page.Records, r)
		} else {
			page.Rejected++
		}
		return end
	})
	if page.Records == nil {
		page.Records = []federate.Record{}
	}
	return page, nil
}

// describe names the JSON type a value starts as, for error messages.
func describe(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "empty"
	}
	switch c := raw[0]; {
	case c == '{':
		return "an object"
	case c == '[':
		return "a list"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	}
	return fmt.Sprintf("not JSON (%q)", snippet(raw, 40))
}

func snippet(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return strings.ToValidUTF8(string(b), "?")
}

// jsonError reads an Ex Libris error body, nil if errorsExist is not true.
func jsonError(exist, list json.RawMessage) *APIError {
	s := strings.TrimSpace(string(exist))
	if s != "true" && s != `"true"` {
		return nil
	}
	e := &APIError{Message: "Primo reported an error without a message"}
	l := remote.Object(list)
	if l == nil {
		return e
	}
	errs := bytes.TrimSpace(l["error"])
	var first map[string]json.RawMessage
	if len(errs) > 0 && errs[0] == '[' {
		var items []json.RawMessage
		if json.Unmarshal(errs, &items) == nil && len(items) > 0 {
			first = remote.Object(items[0])
		}
	} else {
		first = remote.Object(errs)
	}
	if first != nil {
		e.Code = remote.String(first["errorCode"])
		if m := remote.String(first["errorMessage"]); m != "" {
			e.Message = m
		}
	}
	return e
}

// xmlError reads the XML form of an Ex Libris error
// (<web_service_result><errorsExist>true</errorsExist>…), nil if body is
// not one.
func xmlError(body []byte) *APIError {
	s := string(body)
	if !strings.Contains(s, "<errorsExist>true</errorsExist>") {
		return nil
	}
	between := func(open, close string) string {
		i := strings.Index(s, open)
		if i < 0 {
			return ""
		}
		rest := s[i+len(open):]
		j := strings.Index(rest, close)
		if j < 0 {
			return ""
		}
		return strings.TrimSpace(rest[:j])
	}
	e := &APIError{Code: between("<errorCode>", "</errorCode>"), Message: between("<errorMessage>", "</errorMessage>")}
	if e.Message == "" {
		e.Message = "Primo reported an error without a message"
	}
	return e
}

// toRecord maps one doc; false if it has no id or title.
func toRecord(d *doc, l Links) (federate.Record, bool) {
	display, addata, search, control := &d.display, &d.addata, &d.search, &d.control
	var r federate.Record
	r.RecordID = clean(control.recordid.first())
	if r.RecordID == "" {
		r.RecordID = clean(control.sourcerecordid.first())
	}
	if r.RecordID == "" {
		// The last path segment of the record's API address.
		if d.id != nil {
			if id, ok, _ := remote.ScalarAt(d.id, 0); ok {
				if i := strings.LastIndexByte(id, '/'); i >= 0 && i < len(id)-1 {
					r.RecordID = id[i+1:]
				}
			}
		}
	}
	for _, v := range [][]string{display.title, addata.btitle, addata.atitle, addata.jtitle} {
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

	r.Authors = splitList(display.creator, heading)
	r.Authors = append(r.Authors, splitList(display.contributor, heading)...)
	if len(r.Authors) == 0 {
		r.Authors = splitList(addata.au, heading)
		if len(r.Authors) == 0 {
			r.Authors = splitList(addata.addau, heading)
		}
	}
	r.Authors = dedupe(r.Authors)

	for _, v := range [][]string{display.creationdate, addata.date, addata.risdate, search.creationdate} {
		if len(v) > 0 {
			if y := federate.YearOf(v[0]); y != 0 {
				r.Year = y
				break
			}
		}
	}
	if p := clean(addata.pub.first()); p != "" {
		r.Publisher = p
	} else {
		r.Publisher = clean(display.publisher.first())
	}
	r.Edition = clean(display.edition.first())
	if s := display.series; len(s) > 0 {
		r.Series = heading(s[0])
	}
	r.Subjects = dedupe(splitList(display.subject, heading))
	r.Format = format(display.typ.first(), addata.format.first())
	r.Language = language(display.language.first())

	ids := &r.Identifiers
	ids.ISBN = append(ids.ISBN, addata.isbn...)
	ids.ISBN = append(ids.ISBN, search.isbn...)
	ids.ISSN = append(ids.ISSN, addata.issn...)
	ids.ISSN = append(ids.ISSN, addata.eissn...)
	ids.ISSN = append(ids.ISSN, search.issn...)
	for _, o := range addata.oclcid {
		ids.OCLC = append(ids.OCLC, oclc(o))
	}
	ids.LCCN = append(ids.LCCN, addata.lccn...)
	ids.DOI = append(ids.DOI, addata.doi...)
	for _, v := range display.identifier {
		identifiers(v, ids)
	}
	ids.ISBN, ids.ISSN, ids.OCLC = dedupe(ids.ISBN), dedupe(ids.ISSN), dedupe(ids.OCLC)
	ids.LCCN, ids.DOI = dedupe(ids.LCCN), dedupe(ids.DOI)

	r.Links = links(d, r.RecordID, l)
	return r, true
}

// identifiers reads display/identifier, which lists labelled numbers
// either as subfields ("$$CISBN$$V9781784394011;$$CISBN$$V1784394017",
// "$$Cdoi$$V10.1000/x") or as text ("ISSN: 2574-3805", "DOI: 10.1/x").
func identifiers(v string, ids *federate.Identifiers) {
	add := func(label, value string) {
		value = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(value), ";"))
		if value == "" || strings.ContainsAny(value, "<>") { // an HTML link, not a number
			return
		}
		switch strings.ToUpper(strings.TrimSpace(label)) {
		case "ISBN":
			ids.ISBN = append(ids.ISBN, value)
		case "ISSN", "EISSN", "E-ISSN":
			ids.ISSN = append(ids.ISSN, value)
		case "DOI":
			ids.DOI = append(ids.DOI, value)
		case "OCLC", "OCLCID", "OCOLC":
			ids.OCLC = append(ids.OCLC, oclc(value))
		case "LCCN":
			ids.LCCN = append(ids.LCCN, value)
		}
	}
	text, parts := subfields(v)
	if len(parts) == 0 {
		for _, seg := range strings.Split(text, ";") {
			if label, value, ok := strings.Cut(seg, ":"); ok {
				add(label, value)
			}
		}
		return
	}
	label := ""
	for _, p := range parts {
		switch p.code {
		case 'C':
			label = p.value
		case 'V':
			add(label, p.value)
			label = ""
		}
	}
}

// oclc drops a "(OCoLC)" prefix in any case, which Primo often writes in
// lower case: "(ocolc)939400288".
func oclc(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 7 && strings.EqualFold(s[:7], "(ocolc)") {
		return strings.TrimSpace(s[7:])
	}
	return s
}

// formats maps Primo resource types (display/type, addata/format) to the
// record model's coarse formats.
var formats = map[string]string{
	"book": federate.FormatBook, "books": federate.FormatBook, "book_chapter": federate.FormatBook,
	"ebook":   federate.FormatEbook,
	"journal": federate.FormatJournal, "journals": federate.FormatJournal, "newspaper": federate.FormatJournal,
	"article": federate.FormatArticle, "articles": federate.FormatArticle, "newspaper_article": federate.FormatArticle,
	"review": federate.FormatArticle, "conference_proceeding": federate.FormatArticle,
	"video": federate.FormatVideo, "videos": federate.FormatVideo, "video_recording": federate.FormatVideo,
	"audio": federate.FormatAudio, "audios": federate.FormatAudio, "audio_music": federate.FormatAudio,
	"audio_recording": federate.FormatAudio, "sound_recording": federate.FormatAudio,
	"score": federate.FormatMusic, "scores": federate.FormatMusic,
	"map": federate.FormatMap, "maps": federate.FormatMap,
	"dissertation": federate.FormatThesis, "dissertations": federate.FormatThesis, "thesis": federate.FormatThesis,
	"manuscript": federate.FormatArchive, "manuscripts": federate.FormatArchive, "archival_material": federate.FormatArchive,
	"archival_material_manuscripts": federate.FormatArchive,
}

// format maps display/type, falling back to addata/format; an unknown type
// is "other", none at all is "".
func format(display, addata string) string {
	for _, v := range []string{display, addata} {
		v = strings.ToLower(strings.TrimSpace(clean(v)))
		if v == "" {
			continue
		}
		if f, ok := formats[v]; ok {
			return f
		}
		return federate.FormatOther
	}
	return ""
}

// language keeps an ISO 639-2 code (Primo sends them: "eng", sometimes
// "eng;ger"); anything else is unknown.
func language(s string) string {
	s = strings.ToLower(strings.TrimSpace(clean(s)))
	if i := strings.IndexAny(s, ";, "); i >= 0 {
		s = s[:i]
	}
	if len(s) != 3 {
		return ""
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return ""
		}
	}
	if s == "und" || s == "zxx" {
		return ""
	}
	return s
}

// links builds the record's links: the catalogue page from the template,
// then online access from the delivery data.
func links(d *doc, id string, l Links) []federate.Link {
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
		ctx := d.context
		if ctx == "" {
			ctx = "L"
		}
		add(fill(l.RecordURL, map[string]string{"{id}": id, "{context}": ctx}), "Catalogue record")
	}
	for _, u := range d.availabilityLinks {
		add(u, "Online access")
	}
	for _, u := range d.resourceLinks {
		add(u, "Online access")
	}
	for _, v := range d.linktorsrc {
		_, parts := subfields(v)
		for _, p := range parts {
			if p.code == 'U' {
				add(p.value, "Online access")
			}
		}
	}
	return out
}

// fill replaces each placeholder of tpl, escaping the value as a query
// value where the placeholder follows a '?', as a path segment before it.
func fill(tpl string, vals map[string]string) string {
	q := strings.IndexByte(tpl, '?')
	for ph, v := range vals {
		for {
			at := strings.Index(tpl, ph)
			if at < 0 {
				break
			}
			esc := url.PathEscape(v)
			if q >= 0 && q < at {
				esc = url.QueryEscape(v)
			}
			tpl = tpl[:at] + esc + tpl[at+len(ph):]
			q = strings.IndexByte(tpl, '?')
		}
	}
	return tpl
}

func dedupe(l []string) []string {
	if len(l) < 2 {
		return l
	}
	out := l[:0]
	seen := make(map[string]bool, len(l))
	for _, s := range l {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}
