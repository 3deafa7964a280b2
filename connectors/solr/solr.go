// Package solr is the connector for a member whose discovery layer is a
// Solr index searched through a select handler, as VuFind and Blacklight
// deploy it: GET {base}/select?q=…&defType=edismax&qf=…&start=…&rows=…&wt=json.
//
// The query AST is translated into Solr's syntax with every piece of user
// text escaped (BuildQuery); the JSON answer is read tolerantly
// (ParseResponse) using the member's field names (Fields).
package solr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/commonshelf/commonshelf/connectors/remote"
	"github.com/commonshelf/commonshelf/federate"
)

// Fields are the Solr field names of a member's schema for each part of a
// record. A part may come from several fields: for searching they are ORed;
// for reading, single-valued parts (title, year, …) take the first field
// that has a value and multi-valued ones (authors, subjects, identifiers)
// take all of them.
type Fields struct {
	ID, Title, Author, Subject, ISBN, ISSN, Year, Publisher, Format, Language []string
	OCLC, LCCN, URL, Series, Edition                                          []string
}

// DefaultFields are VuFind's field names.
func DefaultFields() Fields {
	return Fields{
		ID: []string{"id"}, Title: []string{"title", "title_short"}, Author: []string{"author", "author2"},
		Subject: []string{"topic"}, ISBN: []string{"isbn"}, ISSN: []string{"issn"}, Year: []string{"publishDate"},
		Publisher: []string{"publisher"}, Format: []string{"format"}, Language: []string{"language"},
		OCLC: []string{"oclc_num"}, LCCN: []string{"lccn"}, URL: []string{"url"}, Series: []string{"series"},
		Edition: []string{"edition"},
	}
}

// slot returns the entry of f for a field option name, nil if unknown.
func (f *Fields) slot(name string) *[]string {
	switch name {
	case "id":
		return &f.ID
	case "title":
		return &f.Title
	case "author":
		return &f.Author
	case "subject":
		return &f.Subject
	case "isbn":
		return &f.ISBN
	case "issn":
		return &f.ISSN
	case "year":
		return &f.Year
	case "publisher":
		return &f.Publisher
	case "format":
		return &f.Format
	case "language":
		return &f.Language
	case "oclc":
		return &f.OCLC
	case "lccn":
		return &f.LCCN
	case "url":
		return &f.URL
	case "series":
		return &f.Series
	case "edition":
		return &f.Edition
	}
	return nil
}

const fieldNames = "id, title, author, subject, isbn, issn, year, publisher, format, language, oclc, lccn, url, series, edition"

// search returns the fields a fielded term of the query language searches.
func (f Fields) search(fl federate.Field) []string {
	switch fl {
	case federate.FieldTitle:
		return f.Title
	case federate.FieldAuthor:
		return f.Author
	case federate.FieldSubject:
		return f.Subject
	case federate.FieldISBN:
		return f.ISBN
	case federate.FieldISSN:
		return f.ISSN
	case federate.FieldYear:
		return f.Year
	}
	return nil
}

// list is every field name, once, in a stable order: the fl parameter.
func (f Fields) list() []string {
	var out []string
	for _, l := range [][]string{f.ID, f.Title, f.Author, f.Subject, f.ISBN, f.ISSN, f.Year, f.Publisher, f.Format,
		f.Language, f.OCLC, f.LCCN, f.URL, f.Series, f.Edition} {
		for _, n := range l {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// DefaultQF is the default qf: VuFind's main fields, weighted.
const DefaultQF = "title^3 author^2 topic series publisher"

// Options configure a Connector. Build them with ParseOptions from a
// member's configuration, or directly.
type Options struct {
	// Fields are the member's field names; an empty entry takes
	// DefaultFields' (VuFind's).
	Fields Fields
	// QF is edismax's qf: the fields, with boosts, that keywords search;
	// "" means DefaultQF.
	QF string
	// RecordURL is the template of a record's page; "{id}" is replaced by
	// the escaped record id. "" adds no catalogue link.
	RecordURL string
	// FQ are filter queries sent with every search (e.g. a VuFind
	// instance's "institution:MAIN"), written in Solr's syntax by the
	// operator; nil means none.
	FQ []string
	// Handler is the request handler's path below the base URL; "" means
	// "select".
	Handler string
}

var knownOptions = []string{"fields", "qf", "record_url", "fq", "handler"}

// OptionNames lists the options the solr connector accepts, for checking a
// configuration before anything is built.
func OptionNames() []string { return append([]string(nil), knownOptions...) }

// ParseOptions validates a member's connector options (as the
// configuration file holds them: string, int, float64, bool or []any
// values) and builds Options.
//
// fields may be a map ({title: title_full, author: "author author2"}) or,
// since the configuration file keeps only plain values, a list of
// "name=solrfield [solrfield…]" strings ([title=title_full, "author=author
// author2"]). Names: id, title, author, subject, isbn, issn, year,
// publisher, format, language, oclc, lccn, url, series, edition.
func ParseOptions(opts map[string]any) (Options, error) {
	var o Options
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := opts[k]
		var err error
		switch k {
		case "fields":
			o.Fields, err = optFields(v)
		case "qf":
			o.QF, err = remote.OptString(k, v)
		case "record_url":
			o.RecordURL, err = remote.OptString(k, v)
			if err == nil && o.RecordURL != "" && !strings.HasPrefix(o.RecordURL, "https://") && !strings.HasPrefix(o.RecordURL, "http://") {
				err = fmt.Errorf("options.record_url must be an http(s) URL template, not %q", o.RecordURL)
			}
		case "fq":
			switch x := v.(type) {
			case string:
				if s := strings.TrimSpace(x); s != "" {
					o.FQ = []string{s}
				}
			case []any:
				for i, e := range x {
					s, ok := e.(string)
					if !ok || strings.TrimSpace(s) == "" {
						err = fmt.Errorf("options.fq[%d] must be a non-empty string, not %v", i, e)
						break
					}
					o.FQ = append(o.FQ, strings.TrimSpace(s))
				}
			default:
				err = fmt.Errorf("options.fq must be a string or a list of strings, not %T", v)
			}
		case "handler":
			o.Handler, err = remote.OptString(k, v)
			if err == nil && strings.ContainsAny(o.Handler, "?#") {
				err = fmt.Errorf("options.handler must be a path, not %q", o.Handler)
			}
		default:
			err = fmt.Errorf("unknown option %q for the solr connector (known: %s)", k, strings.Join(knownOptions, ", "))
		}
		if err != nil {
			return Options{}, err
		}
	}
	return o, nil
}

func optFields(v any) (Fields, error) {
	pairs, err := remote.OptPairs("fields", v, "title=title_full")
	if err != nil {
		return Fields{}, err
	}
	var f Fields
	for name, fields := range pairs {
		slot := f.slot(name)
		if slot == nil {
			return Fields{}, fmt.Errorf("options.fields: unknown field %q (known: %s)", name, fieldNames)
		}
		names := strings.FieldsFunc(fields, func(r rune) bool { return r == ' ' || r == ',' })
		if len(names) == 0 {
			return Fields{}, fmt.Errorf("options.fields.%s is empty", name)
		}
		for _, n := range names {
			if !validField(n) {
				return Fields{}, fmt.Errorf("options.fields.%s: %q is not a Solr field name", name, n)
			}
		}
		*slot = names
	}
	return f, nil
}

// validField accepts Solr's field names: letters, digits, _ . and -, not
// starting with a digit or '-'.
func validField(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
		case (r >= '0' && r <= '9') || r == '.' || r == '-':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return s != ""
}

// Connector searches one member's Solr. It is safe for concurrent use.
type Connector struct {
	log      *slog.Logger
	member   string
	endpoint *url.URL
	opts     Options
	fl       string
	client   *remote.Client
}

// New builds the connector of member from its base URL (the Solr core or
// collection, e.g. http://127.0.0.1:8983/solr/biblio) and its configuration
// options (see ParseOptions).
func New(logger *slog.Logger, member, baseURL string, opts map[string]any) (*Connector, error) {
	o, err := ParseOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("solr %s: %w", member, err)
	}
	return NewWithOptions(logger, member, baseURL, o)
}

// NewWithOptions is New with options already built.
func NewWithOptions(logger *slog.Logger, member, baseURL string, o Options) (*Connector, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("solr %s: base URL %q is not an absolute http(s) URL", member, baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("solr %s: base URL %q must not have a query or fragment", member, baseURL)
	}
	if o.Handler == "" {
		o.Handler = "select"
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/" + strings.Trim(o.Handler, "/")
	def := DefaultFields()
	for _, name := range strings.Split(fieldNames, ", ") {
		if s := o.Fields.slot(name); len(*s) == 0 {
			*s = *def.slot(name)
		}
	}
	if o.QF == "" {
		o.QF = DefaultQF
	}
	return &Connector{
		log: logger, member: member, endpoint: u, opts: o,
		fl: strings.Join(o.Fields.list(), ","), client: remote.New(remote.Options{}),
	}, nil
}

// Kind is "solr".
func (c *Connector) Kind() string { return "solr" }

// Close releases idle connections.
func (c *Connector) Close() error { return c.client.Close() }

// Search translates q, asks Solr for window w and reads the answer.
func (c *Connector) Search(ctx context.Context, q federate.Query, w federate.Window) (federate.Page, error) {
	sq, relaxed, err := BuildQuery(q, c.opts.Fields)
	if err != nil {
		return federate.Page{}, fmt.Errorf("solr %s: search: %w", c.member, err)
	}
	rows, start := max(w.Limit, 1), max(w.Offset, 0)
	v := url.Values{}
	v.Set("q", sq)
	v.Set("defType", "edismax")
	v.Set("qf", c.opts.QF)
	v.Set("q.op", "AND")
	v.Set("start", strconv.Itoa(start))
	v.Set("rows", strconv.Itoa(rows))
	v.Set("wt", "json")
	v.Set("fl", c.fl)
	for _, fq := range c.opts.FQ {
		v.Add("fq", fq)
	}
	c.log.Debug("solr query", "member", c.member, "q", sq, "start", start, "rows", rows)
	u := *c.endpoint
	u.RawQuery = v.Encode()
	body, _, err := c.client.Get(ctx, u.String(), "application/json", false)
	if err != nil {
		return federate.Page{}, fmt.Errorf("solr %s: search: %w", c.member, classify(body, err))
	}
	page, err := ParseResponse(body, c.opts.Fields, c.opts.RecordURL)
	if err != nil {
		var se *SolrError
		if errors.As(err, &se) && se.Code == http.StatusBadRequest {
			err = fmt.Errorf("%w: %w", federate.ErrQueryRejected, err)
		}
		return federate.Page{}, fmt.Errorf("solr %s: search: %w", c.member, err)
	}
	page.Relaxed = relaxed
	if len(page.Records) > rows { // a member that ignores rows
		page.Records = page.Records[:rows]
	}
	return page, nil
}

// classify turns a failed GET into the error the engine acts on: a 400
// (Solr could not run our query) wraps federate.ErrQueryRejected with
// Solr's message; 401 and 403 say access was denied; other statuses stay
// the member's failure, with Solr's message when it sent one.
func classify(body []byte, err error) error {
	var he *remote.HTTPError
	if !errors.As(err, &he) {
		return err
	}
	msg := he.Error()
	var se *SolrError
	if _, perr := ParseResponse(body, Fields{}, ""); errors.As(perr, &se) {
		msg = fmt.Sprintf("HTTP %d: %s", he.Status, se.Msg)
	}
	switch he.Status {
	case http.StatusBadRequest:
		return fmt.Errorf("%w: %s", federate.ErrQueryRejected, msg)
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("access denied by Solr (%s)", msg)
	case http.StatusNotFound:
		return fmt.Errorf("no Solr handler at this address (%s); check the base URL and options.handler", msg)
	}
	if se == nil {
		return err
	}
	return fmt.Errorf("%s: %w", se.Msg, he)
}
