package solr

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

// A Solr select answer with wt=json:
//
//	{"responseHeader": {"status": 0, "QTime": 3, "params": {…}},
//	 "response": {"numFound": 42, "start": 0, "numFoundExact": true,
//	              "docs": [{"id": "…", "title": "…", "author": ["…"], …}]}}
//
// and an error:
//
//	{"responseHeader": {"status": 400, …},
//	 "error": {"metadata": […], "msg": "org.apache.solr.search.SyntaxError: …", "code": 400}}
//
// Stored fields are scalars or lists (multi-valued), strings or numbers.

// ErrHTML is returned for a body that is an HTML page (an error or login
// page, a proxy's answer) instead of Solr's JSON.
var ErrHTML = errors.New("member answered with an HTML page, not Solr JSON")

// SolrError is an error Solr reported in its JSON.
type SolrError struct {
	// Code is the HTTP status Solr gives the error (400 for a query it
	// cannot parse); 0 if not given.
	Code int
	Msg  string
}

func (e *SolrError) Error() string {
	if e.Code == 0 {
		return "Solr error: " + e.Msg
	}
	return fmt.Sprintf("Solr error %d: %s", e.Code, e.Msg)
}

// ParseResponse reads a Solr select answer into records, using f to find
// the fields and recordURL (see Options.RecordURL) for catalogue links. It
// never panics: a doc it cannot read is counted in Page.Rejected; a body
// that is not a Solr answer is an error (ErrHTML, *SolrError or a
// description of what came instead).
//
// The body is validated once (json.Valid) and then walked once, keeping
// only the fields f names. Top-level keys match as encoding/json matches
// struct fields (case-insensitively); keys below match exactly, and of a
// repeated key the last one counts.
func ParseResponse(body []byte, f Fields, recordURL string) (federate.Page, error) {
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
	if !json.Valid(body) {
		// encoding/json describes what is wrong, and where.
		err := json.Unmarshal(body, new(struct{}))
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return federate.Page{}, fmt.Errorf("unreadable JSON: %w", err)
	}
	// The top level as raw values (nil when absent, "null" when null).
	var response, errSection []byte
	remote.EachMember(body, 0, func(key []byte, at int) int {
		end := remote.SkipValue(body, at)
		switch {
		case bytes.EqualFold(key, []byte("response")):
			response = body[remote.SkipSpace(body, at):end]
		case bytes.EqualFold(key, []byte("error")):
			errSection = body[remote.SkipSpace(body, at):end]
		}
		return end
	})
	if e := solrError(errSection); e != nil {
		return federate.Page{}, e
	}
	if response == nil {
		return federate.Page{}, errors.New("response has no \"response\" section: not a Solr select answer")
	}
	if response[0] != '{' {
		return federate.Page{}, fmt.Errorf("response section is %s, not an object", describe(response))
	}
	var numFound, docs []byte
	remote.EachMember(response, 0, func(key []byte, at int) int {
		end := remote.SkipValue(response, at)
		switch string(key) {
		case "numFound":
			numFound = response[at:end]
		case "docs":
			docs = response[remote.SkipSpace(response, at):end]
		}
		return end
	})
	page := federate.Page{Total: -1}
	if n, ok := remote.Integer(numFound); ok {
		page.Total = n
	}
	if len(docs) == 0 || string(docs) == "null" {
		return page, nil
	}
	if docs[0] != '[' {
		return federate.Page{}, fmt.Errorf("response docs is %s, not a list", describe(docs))
	}
	d := newDoc(f)
	page.Records = []federate.Record{}
	remote.EachElement(docs, 0, func(at int) int {
		if docs[at] != '{' {
			page.Rejected++
			return remote.SkipValue(docs, at)
		}
		end := d.read(docs, at)
		if r, ok := toRecord(d, f, recordURL); ok {
			page.Records = append(page.Records, r)
		} else {
			page.Rejected++
		}
		return end
	})
	return page, nil
}

// solrError reads Solr's error section, nil if there is none.
func solrError(raw json.RawMessage) *SolrError {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	e := &SolrError{Msg: "Solr reported an error without a message"}
	o := remote.Object(raw)
	if o == nil {
		if s, ok := remote.Scalar(raw); ok && s != "" {
			e.Msg = s
		}
		return e
	}
	if n, ok := remote.Integer(o["code"]); ok {
		e.Code = n
	}
	if m := remote.String(o["msg"]); m != "" {
		e.Msg = m
	} else if t := remote.String(o["trace"]); t != "" {
		e.Msg, _, _ = strings.Cut(t, "\n")
	}
	return e
}

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
	s := raw
	if len(s) > 40 {
		s = s[:40]
	}
	return fmt.Sprintf("not JSON (%q)", strings.ToValidUTF8(string(s), "?"))
}

// toRecord maps one doc; false if it has no id or title.
func toRecord(d *doc, f Fields, recordURL string) (federate.Record, bool) {
	first := func(names []string) string {
		for _, n := range names {
			for _, v := range d.field(n) {
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
			for _, v := range d.field(n) {
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

// fillID replaces "{id}" in tpl, escaped as a query value after a '?', as
// a path segment before it.
func fillID(tpl, id string) string {
	at := strings.Index(tpl, "{id}")
	if at < 0 {
		return tpl
	}
	esc := url.PathEscape
	if q := strings.IndexByte(tpl, '?'); q >= 0 && q < at {
		esc = url.QueryEscape
	}
	return strings.ReplaceAll(tpl, "{id}", esc(id))
}

// trimPunct drops trailing ISBD punctuation (" /", " :", " ;", ",") that
// catalogues leave on titles, names and publishers; a full stop stays (it
// may end an initial: "Rowling, J. K.").
func trimPunct(s string) string {
	for {
		t := strings.TrimSpace(s)
		t = strings.TrimRight(t, "/:;,")
		t = strings.TrimSpace(t)
		if t == s {
			return t
		}
		s = t
	}
}

// formats maps VuFind-style format values (lower-cased) to the record
// model's coarse formats.
var formats = map[string]string{
	"book": federate.FormatBook, "books": federate.FormatBook, "print": federate.FormatBook, "book chapter": federate.FormatBook,
	"ebook": federate.FormatEbook, "e-book": federate.FormatEbook, "electronic book": federate.FormatEbook,
	"journal": federate.FormatJournal, "serial": federate.FormatJournal, "journal / magazine": federate.FormatJournal,
	"magazine": federate.FormatJournal, "newspaper": federate.FormatJournal, "ejournal": federate.FormatJournal,
	"article": federate.FormatArticle, "journal article": federate.FormatArticle,
	"video": federate.FormatVideo, "dvd": federate.FormatVideo, "videorecording": federate.FormatVideo,
	"video recording": federate.FormatVideo, "motion picture": federate.FormatVideo, "videodisc": federate.FormatVideo,
	"sound recording": federate.FormatAudio, "audio": federate.FormatAudio, "cd": federate.FormatAudio,
	"music recording": federate.FormatAudio, "audio book": federate.FormatAudio, "audiobook": federate.FormatAudio,
	"musical score": federate.FormatMusic, "score": federate.FormatMusic, "music score": federate.FormatMusic,
	"map": federate.FormatMap, "atlas": federate.FormatMap, "maps": federate.FormatMap,
	"thesis": federate.FormatThesis, "dissertation": federate.FormatThesis, "thesis/dissertation": federate.FormatThesis,
	"manuscript": federate.FormatArchive, "archival material": federate.FormatArchive, "archive": federate.FormatArchive,
}

func format(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return ""
	}
	if f, ok := formats[v]; ok {
		return f
	}
	return federate.FormatOther
}

// languages maps the language names VuFind indexes to ISO 639-2/B codes.
var languages = map[string]string{
	"english": "eng", "french": "fre", "german": "ger", "spanish": "spa", "italian": "ita", "portuguese": "por",
	"russian": "rus", "chinese": "chi", "japanese": "jpn", "arabic": "ara", "dutch": "dut", "latin": "lat",
	"greek": "gre", "greek, modern (1453- )": "gre", "hebrew": "heb", "korean": "kor", "polish": "pol",
	"swedish": "swe", "danish": "dan", "norwegian": "nor", "finnish": "fin", "czech": "cze", "hungarian": "hun",
	"turkish": "tur", "hindi": "hin", "welsh": "wel", "irish": "gle", "catalan": "cat", "persian": "per",
	"ukrainian": "ukr", "romanian": "rum", "icelandic": "ice",
}

// language maps a language name, or keeps a three-letter code; anything
// else is unknown.
func language(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if c, ok := languages[s]; ok {
		return c
	}
	if len(s) == 3 && s != "und" && s != "zxx" {
		for i := 0; i < 3; i++ {
			if s[i] < 'a' || s[i] > 'z' {
				return ""
			}
		}
		return s
	}
	return ""
}

func dedupe(l []string) []string {
	if len(l) < 2 {
		return l
	}
	out := l[:0]
	seen := make(map[string]bool, len(l))
	for _, s := range l {
		if seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}
