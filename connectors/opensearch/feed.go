package opensearch

import (
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/commonshelf/commonshelf/federate"
)

// feed is a parsed OpenSearch response: an Atom feed, an RSS 2.0 channel,
// or (rarely) an RSS 1.0 RDF document.
type feed struct {
	format string // "atom", "rss" or "rdf"
	// total, startIndex and itemsPerPage are the opensearch: response
	// elements (1.1 or the RSS 1.0 namespace); -1 when absent or unreadable.
	total, startIndex, itemsPerPage int
	// records are the entries that have an id and a title, in feed order.
	records []federate.Record
	// rejected counts entries without an id or a title.
	rejected int
}

// parseFeed reads a search response. base resolves relative links (the
// URL the feed came from; nil leaves them as they are). Entries missing an
// id or a title are counted in rejected, never fatal; a document that is not
// an Atom or RSS feed, is HTML, is truncated or breaks the XML limits is an
// error.
func parseFeed(body []byte, base *url.URL) (*feed, error) {
	p := newDecoder(body)
	root, err := p.root()
	if err != nil {
		return nil, err
	}
	f := &feed{total: -1, startIndex: -1, itemsPerPage: -1}
	var itemName string
	switch {
	case root.Name.Local == "feed" && (root.Name.Space == nsAtom || root.Name.Space == ""):
		f.format, itemName = "atom", "entry"
	case root.Name.Local == "rss":
		f.format, itemName = "rss", "item"
	case root.Name.Local == "RDF" && root.Name.Space == nsRDF:
		f.format, itemName = "rdf", "item"
	default:
		name := root.Name.Local
		if root.Name.Space != "" {
			name += " xmlns=" + strconv.Quote(root.Name.Space)
		}
		return nil, fmt.Errorf("root element is <%s>, not an Atom <feed> or an RSS <rss>", name)
	}
	for {
		tok, err := p.next()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, err
		}
		t, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch {
		case t.Name.Local == itemName && !isDC(t.Name.Space):
			n, err := p.tree(t)
			if err != nil {
				return nil, err
			}
			r, ok := toRecord(n, f.format, base)
			if !ok {
				f.rejected++
				continue
			}
			f.records = append(f.records, r)
		case t.Name.Space == nsOpenSearch11 || t.Name.Space == nsOpenSearch10:
			var dst *int
			switch t.Name.Local {
			case "totalResults":
				dst = &f.total
			case "startIndex":
				dst = &f.startIndex
			case "itemsPerPage":
				dst = &f.itemsPerPage
			default:
				continue
			}
			n, err := p.tree(t)
			if err != nil {
				return nil, err
			}
			if v, err := strconv.Atoi(n.allText()); err == nil && v >= 0 {
				*dst = v
			}
		}
	}
}

func isDC(space string) bool { return space == nsDC || space == nsDCTerms }

// toRecord maps one entry or item. It reports false for an entry without an
// id (id, guid or link) or without a title.
func toRecord(n *node, format string, base *url.URL) (federate.Record, bool) {
	var (
		r                 federate.Record
		id, guid, link    string
		dcTitle, dcDate   string
		published         string
		authors, subjects []string
	)
	for _, k := range n.kids {
		if isDC(k.name.Space) {
			v := k.allText()
			if v == "" {
				continue
			}
			switch k.name.Local {
			case "identifier":
				addIdentifier(&r.Identifiers, v)
			case "creator":
				authors = append(authors, v)
			case "date", "issued", "created":
				if dcDate == "" {
					dcDate = v
				}
			case "subject":
				subjects = append(subjects, v)
			case "publisher":
				if r.Publisher == "" {
					r.Publisher = v
				}
			case "language":
				if r.Language == "" {
					r.Language = languageCode(v)
				}
			case "type":
				if r.Format == "" {
					r.Format = formatOf(v)
				}
			case "title":
				dcTitle = v
			}
			continue
		}
		if k.name.Space != "" && k.name.Space != nsAtom && k.name.Space != "http://purl.org/rss/1.0/" {
			continue // another extension
		}
		switch k.name.Local {
		case "title":
			if r.Title == "" {
				r.Title = textOf(k)
			}
		case "id":
			if id == "" {
				id = k.allText()
			}
		case "guid":
			if guid == "" {
				guid = k.allText()
			}
		case "link":
			if link != "" {
				continue
			}
			if format == "atom" || k.name.Space == nsAtom || k.attrValue("href") != "" {
				rel := k.attrValue("rel")
				if rel == "" || rel == "alternate" {
					link = k.attrValue("href")
				}
			} else {
				link = k.allText()
			}
		case "author":
			if format != "atom" {
				continue // RSS author is an e-mail address
			}
			for _, a := range k.kids {
				if a.name.Local == "name" {
					if v := a.allText(); v != "" {
						authors = append(authors, v)
					}
				}
			}
		case "published", "pubDate":
			if published == "" {
				published = k.allText()
			}
		case "category":
			v := k.attrValue("label")
			if v == "" {
				v = k.attrValue("term")
			}
			if v == "" {
				v = k.allText()
			}
			if v = collapse(v); v != "" {
				subjects = append(subjects, v)
			}
		}
	}
	if r.Title == "" {
		r.Title = dcTitle
	}
	link = absLink(link, base)
	switch {
	case guid != "":
		r.RecordID = guid
	case id != "":
		r.RecordID = id
	default:
		r.RecordID = link
	}
	if link != "" {
		r.Links = []federate.Link{{URL: link, Label: "Catalogue record"}}
	}
	r.Authors = dedupe(authors)
	r.Subjects = dedupe(subjects)
	if r.Year = federate.YearOf(dcDate); r.Year == 0 {
		r.Year = federate.YearOf(published)
	}
	if r.RecordID == "" || r.Title == "" {
		return r, false
	}
	return r, true
}

// textOf is an element's text; Atom's type="html" text has its markup
// removed and its entities decoded (type="xhtml" is markup already, whose
// text allText joins).
func textOf(n *node) string {
	s := n.allText()
	if n.attrValue("type") == "html" {
		s = collapse(html.UnescapeString(stripTags(s)))
	}
	return s
}

// stripTags removes <…> markup from escaped HTML text.
func stripTags(s string) string {
	if !strings.ContainsRune(s, '<') {
		return s
	}
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>' && in:
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// absLink resolves a link against base and keeps it only if it is an
// http(s) URL: a javascript: or data: link from a member is never shown.
func absLink(link string, base *url.URL) string {
	link = strings.TrimSpace(link)
	if link == "" {
		return ""
	}
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}

func dedupe(in []string) []string {
	if len(in) < 2 {
		return in
	}
	out := in[:0]
	for _, v := range in {
		dup := false
		for _, o := range out {
			if strings.EqualFold(o, v) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}

// addIdentifier files a dc:identifier value under the standard number it
// is, by its scheme prefix ("urn:isbn:…", "ISBN 0-…", "doi:10…",
// "https://doi.org/…", "info:oclcnum/…", "(OCoLC)…", "issn:…") or, for a
// bare value, by which normalisation accepts it. The value is kept as sent,
// prefix removed; merging normalises it. Anything else (a catalogue URL, a
// shelf mark) is ignored.
func addIdentifier(ids *federate.Identifiers, v string) {
	v = strings.TrimSpace(v)
	lower := strings.ToLower(v)
	cut := func(prefixes ...string) (string, bool) {
		for _, p := range prefixes {
			if strings.HasPrefix(lower, p) {
				return strings.TrimSpace(v[len(p):]), true
			}
		}
		return "", false
	}
	if s, ok := cut("urn:isbn:", "isbn:", "isbn "); ok {
		ids.ISBN = append(ids.ISBN, s)
		return
	}
	if s, ok := cut("urn:issn:", "issn:", "issn "); ok {
		ids.ISSN = append(ids.ISSN, s)
		return
	}
	if s, ok := cut("info:doi/", "doi:", "doi ", "https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/"); ok {
		ids.DOI = append(ids.DOI, s)
		return
	}
	if s, ok := cut("info:oclcnum/", "urn:oclc:", "oclc:", "oclc ", "(ocolc)"); ok {
		ids.OCLC = append(ids.OCLC, s)
		return
	}
	if s, ok := cut("info:lccn/", "lccn:", "lccn "); ok {
		ids.LCCN = append(ids.LCCN, s)
		return
	}
	if strings.HasPrefix(lower, "10.") {
		if _, ok := federate.NormalizeDOI(v); ok {
			ids.DOI = append(ids.DOI, v)
		}
		return
	}
	if _, ok := federate.NormalizeISBN(v); ok {
		ids.ISBN = append(ids.ISBN, v)
		return
	}
	if len(v) == 9 && v[4] == '-' {
		if _, ok := federate.NormalizeISSN(v); ok {
			ids.ISSN = append(ids.ISSN, v)
		}
	}
}

// formatOf maps a dc:type value to a record format by the words libraries
// use; a value it does not recognise (DCMI's vague "Text" among them) is
// unknown, "", so that it never blocks a merge.
func formatOf(v string) string {
	s := strings.ToLower(v)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(s, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("ebook", "e-book", "electronic book"):
		return federate.FormatEbook
	case has("article"):
		return federate.FormatArticle
	case has("journal", "periodical", "serial", "magazine", "newspaper"):
		return federate.FormatJournal
	case has("thesis", "dissertation"):
		return federate.FormatThesis
	case has("score"):
		return federate.FormatMusic
	case has("video", "dvd", "film", "movingimage", "moving image", "blu-ray"):
		return federate.FormatVideo
	case has("sound", "audio", "recording", "cd-rom", "compact disc"):
		return federate.FormatAudio
	case has("map", "cartographic", "atlas"):
		return federate.FormatMap
	case has("archiv", "manuscript"):
		return federate.FormatArchive
	case has("book", "monograph"):
		return federate.FormatBook
	}
	return ""
}

// languageCode turns a dc:language value — an ISO 639-1 code with or
// without a region ("en", "en-GB"), an ISO 639-2 code in either its
// bibliographic or terminology form ("ger", "deu"), or a common English
// name — into the ISO 639-2/B code records carry; "" if unknown.
func languageCode(v string) string {
	s := strings.ToLower(strings.TrimSpace(v))
	if i := strings.IndexAny(s, "-_"); i >= 0 {
		s = s[:i]
	}
	if b, ok := iso639[s]; ok {
		return b
	}
	if len(s) == 3 && isLetters(s) {
		if b, ok := terminologyToBiblio[s]; ok {
			return b
		}
		return s
	}
	return ""
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// iso639 maps ISO 639-1 codes and English names of the languages library
// catalogues hold most to ISO 639-2/B.
var iso639 = map[string]string{
	"en": "eng", "english": "eng", "fr": "fre", "french": "fre", "de": "ger", "german": "ger",
	"es": "spa", "spanish": "spa", "it": "ita", "italian": "ita", "pt": "por", "portuguese": "por",
	"nl": "dut", "dutch": "dut", "sv": "swe", "swedish": "swe", "da": "dan", "danish": "dan",
	"no": "nor", "nb": "nob", "nn": "nno", "norwegian": "nor", "fi": "fin", "finnish": "fin",
	"is": "ice", "icelandic": "ice", "pl": "pol", "polish": "pol", "cs": "cze", "czech": "cze",
	"sk": "slo", "slovak": "slo", "hu": "hun", "hungarian": "hun", "ro": "rum", "romanian": "rum",
	"el": "gre", "greek": "gre", "ru": "rus", "russian": "rus", "uk": "ukr", "ukrainian": "ukr",
	"tr": "tur", "turkish": "tur", "ar": "ara", "arabic": "ara", "he": "heb", "hebrew": "heb",
	"fa": "per", "persian": "per", "hi": "hin", "hindi": "hin", "zh": "chi", "chinese": "chi",
	"ja": "jpn", "japanese": "jpn", "ko": "kor", "korean": "kor", "la": "lat", "latin": "lat",
	"ga": "gle", "irish": "gle", "cy": "wel", "welsh": "wel", "ca": "cat", "catalan": "cat",
	"eu": "baq", "basque": "baq", "hy": "arm", "armenian": "arm", "ka": "geo", "georgian": "geo",
	"sq": "alb", "albanian": "alb", "mk": "mac", "macedonian": "mac", "ms": "may", "malay": "may",
	"my": "bur", "burmese": "bur", "bo": "tib", "tibetan": "tib", "mi": "mao", "maori": "mao",
	"sr": "srp", "hr": "hrv", "sl": "slv", "bg": "bul", "lt": "lit", "lv": "lav", "et": "est",
	"vi": "vie", "th": "tha", "id": "ind", "sw": "swa", "ur": "urd", "bn": "ben", "ta": "tam",
}

// terminologyToBiblio maps the ISO 639-2/T codes that differ from their
// bibliographic form.
var terminologyToBiblio = map[string]string{
	"sqi": "alb", "hye": "arm", "eus": "baq", "mya": "bur", "zho": "chi", "ces": "cze",
	"nld": "dut", "fra": "fre", "kat": "geo", "deu": "ger", "ell": "gre", "isl": "ice",
	"mkd": "mac", "mri": "mao", "msa": "may", "fas": "per", "ron": "rum", "slk": "slo",
	"bod": "tib", "cym": "wel",
}
