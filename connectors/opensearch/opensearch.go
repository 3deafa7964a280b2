// Package opensearch is the connector for members whose catalogue answers
// OpenSearch 1.1 (the A9 specification: a description document with URL
// templates, results as Atom or RSS feeds), as many library catalogues and
// discovery layers do.
//
// The description document is fetched on the first search, not at start-up
// (a member that is down then must not stop Commonshelf from starting), and
// kept for the connector's life; a failed fetch is retried, at most once per
// retryAfter, by a later search. The template option skips the description
// altogether.
//
// OpenSearch defines free-text search only. The fields option says what a
// member's {searchTerms} accepts: plain words (the default: fields, NOT and
// year ranges are relaxed and reported) or CQL.
package opensearch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/commonshelf/commonshelf/connectors/remote"
	"github.com/commonshelf/commonshelf/federate"
)

// retryAfter is how long a failed description fetch is remembered: searches
// in that time fail at once with the same error instead of hammering a member
// that is down.
const retryAfter = 30 * time.Second

// Options are the member options the connector accepts (the member's
// options block in the configuration file).
type Options struct {
	// Template is the member's search URL template, used instead of
	// fetching the description document (option "template"). Its
	// {startIndex} counts from 1 and {startPage} from 1, as in a Url
	// element without indexOffset and pageOffset. "" means: fetch the
	// description.
	Template string
	// Type is the preferred response type, TypeAtom or TypeRSS (option
	// "type"); the description's other feed type is used when the preferred
	// one is missing. "" means TypeAtom.
	Type string
	// RecordURL is the template of a record's page at the member, in which
	// "{id}" is replaced by the escaped record id (option "record_url").
	// "" means each entry's own link (Atom link rel=alternate, RSS link).
	RecordURL string
	// Fields is the syntax of {searchTerms}: SyntaxPlain or SyntaxCQL
	// (option "fields"). "" means SyntaxPlain.
	Fields string
}

// knownOptions lists the option names, for error messages.
var knownOptions = []string{"fields", "record_url", "template", "type"}

// OptionNames lists the options the opensearch connector accepts, for checking a
// configuration before anything is built.
func OptionNames() []string { return append([]string(nil), knownOptions...) }

// ParseOptions reads a member's options block. An unknown option, a value
// of the wrong type or an unsupported value is an error naming it.
func ParseOptions(opts map[string]any) (Options, error) {
	var o Options
	for k, v := range opts {
		s, isString := v.(string)
		switch k {
		case "template", "type", "record_url", "fields":
			if !isString {
				return o, fmt.Errorf("option %s must be a string, not %T", k, v)
			}
		default:
			return o, fmt.Errorf("unknown option %q for the opensearch connector (known: %s)", k, strings.Join(knownOptions, ", "))
		}
		s = strings.TrimSpace(s)
		switch k {
		case "template":
			o.Template = s
		case "type":
			switch strings.ToLower(s) {
			case "", TypeAtom:
				o.Type = TypeAtom
			case TypeRSS:
				o.Type = TypeRSS
			default:
				return o, fmt.Errorf("option type is %q; it must be %s or %s", s, TypeAtom, TypeRSS)
			}
		case "record_url":
			if s != "" {
				if !strings.Contains(s, "{id}") {
					return o, fmt.Errorf("option record_url %q has no {id}", s)
				}
				u, err := url.Parse(strings.ReplaceAll(s, "{id}", "x"))
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return o, fmt.Errorf("option record_url %q is not an absolute http(s) URL", s)
				}
			}
			o.RecordURL = s
		case "fields":
			switch strings.ToLower(s) {
			case "", SyntaxPlain:
				o.Fields = SyntaxPlain
			case SyntaxCQL:
				o.Fields = SyntaxCQL
			default:
				return o, fmt.Errorf("option fields is %q; it must be %s or %s", s, SyntaxPlain, SyntaxCQL)
			}
		}
	}
	if o.Type == "" {
		o.Type = TypeAtom
	}
	if o.Fields == "" {
		o.Fields = SyntaxPlain
	}
	return o, nil
}

// Connector searches one member over OpenSearch. It implements
// federate.Connector and is safe for concurrent use.
type Connector struct {
	log     *slog.Logger
	member  string
	descURL string
	opts    Options
	client  *remote.Client
	now     func() time.Time // the clock of the retry delay; tests replace it

	// state is a one-slot semaphore guarding the fields below; a search
	// holds it while fetching the description, and others wait for it no
	// longer than their contexts allow.
	state   chan struct{}
	tpl     *urlTemplate // the search template; nil until known
	descErr error        // the last failed fetch
	retryAt time.Time    // when the next fetch may be tried
}

// New returns the connector of member, whose OpenSearch description
// document is at descriptionURL (absolute http(s); ignored when the template
// option is set). Nothing is fetched yet. opts is the member's options block:
// template, type, record_url, fields (see Options).
func New(logger *slog.Logger, member, descriptionURL string, opts map[string]any) (*Connector, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o, err := ParseOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("opensearch %s: %w", member, err)
	}
	c := &Connector{
		log:     logger,
		member:  member,
		descURL: strings.TrimSpace(descriptionURL),
		opts:    o,
		now:     time.Now,
		state:   make(chan struct{}, 1),
	}
	if o.Template != "" {
		t, err := compileTemplate(o.Template, nil, 1, 1)
		if err != nil {
			return nil, fmt.Errorf("opensearch %s: option %w", member, err)
		}
		c.tpl = t
	} else {
		u, err := url.Parse(c.descURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("opensearch %s: description URL %q is not an absolute http(s) URL (or set the template option)", member, descriptionURL)
		}
	}
	c.client = remote.New(remote.Options{})
	return c, nil
}

// Kind is "opensearch".
func (c *Connector) Kind() string { return "opensearch" }

// Close releases idle connections.
func (c *Connector) Close() error { return c.client.Close() }

// Search sends q to the member and reads window w of its answer. A query
// of which nothing can be sent, and a member's 400, 413, 414 or 422 answer,
// wrap federate.ErrQueryRejected.
func (c *Connector) Search(ctx context.Context, q federate.Query, w federate.Window) (federate.Page, error) {
	terms, relaxed, err := render(q, c.opts.Fields)
	if err != nil {
		return federate.Page{}, fmt.Errorf("opensearch %s: search: %w: %w", c.member, federate.ErrQueryRejected, err)
	}
	tpl, err := c.template(ctx)
	if err != nil {
		return federate.Page{}, err
	}
	req := tpl.plan(w)
	target := tpl.fill(terms, req.w)
	body, header, err := c.client.Get(ctx, target, c.accept(), false)
	if err != nil {
		var he *remote.HTTPError
		if errors.As(err, &he) && queryFault(he.Status) {
			err = fmt.Errorf("%w: %w", federate.ErrQueryRejected, err)
		}
		return federate.Page{}, fmt.Errorf("opensearch %s: search: %w", c.member, err)
	}
	base, _ := url.Parse(target)
	f, err := parseFeed(body, base)
	if err != nil {
		if !errors.Is(err, errHTML) && isHTMLType(header) {
			err = errHTML
		}
		return federate.Page{}, fmt.Errorf("opensearch %s: search: read feed: %w", c.member, err)
	}
	recs := f.records
	if req.skip > 0 {
		recs = recs[min(req.skip, len(recs)):]
	}
	if len(recs) > w.Limit && w.Limit > 0 {
		recs = recs[:w.Limit] // a member that ignores {count}
	}
	for i := range recs {
		recs[i].Member = c.member
		recs[i].Rank = max(w.Offset, 0) + i + 1
		if c.opts.RecordURL != "" {
			recs[i].Links = []federate.Link{{URL: recordLink(c.opts.RecordURL, recs[i].RecordID), Label: "Catalogue record"}}
		}
	}
	return federate.Page{Records: recs, Total: f.total, Relaxed: relaxed, Rejected: f.rejected}, nil
}

// queryFault reports whether a member's HTTP status blames the query itself
// (malformed, too long, unprocessable) rather than the member.
func queryFault(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusRequestURITooLong, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

func isHTMLType(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && (mt == "text/html" || mt == "application/xhtml+xml")
}

// accept is the Accept header of a search: the preferred feed type first.
func (c *Connector) accept() string {
	other := TypeRSS
	if c.opts.Type == TypeRSS {
		other = TypeAtom
	}
	return c.opts.Type + ", " + other + ";q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
}

// template returns the search template, fetching the description document
// if it is not known yet and no failed fetch is still fresh.
func (c *Connector) template(ctx context.Context) (*urlTemplate, error) {
	select {
	case c.state <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("opensearch %s: search: waiting for the description document: %w", c.member, ctx.Err())
	}
	defer func() { <-c.state }()
	if c.tpl != nil {
		return c.tpl, nil
	}
	if c.descErr != nil && c.now().Before(c.retryAt) {
		return nil, fmt.Errorf("opensearch %s: search: description document unavailable (next try in %s): %w",
			c.member, c.retryAt.Sub(c.now()).Round(time.Second), c.descErr)
	}
	t, err := c.describe(ctx)
	if err != nil {
		if ctx.Err() == nil {
			// The member's failure, not the caller's: remember it.
			c.descErr, c.retryAt = err, c.now().Add(retryAfter)
		}
		return nil, fmt.Errorf("opensearch %s: search: %w", c.member, err)
	}
	c.tpl, c.descErr = t, nil
	return t, nil
}

// describe fetches and reads the description document and picks its
// template.
func (c *Connector) describe(ctx context.Context) (*urlTemplate, error) {
	body, _, err := c.client.Get(ctx, c.descURL, "application/opensearchdescription+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1", false)
	if err != nil {
		return nil, fmt.Errorf("fetch description %s: %w", c.descURL, err)
	}
	d, err := parseDescription(body)
	if err != nil {
		return nil, fmt.Errorf("read description %s: %w", c.descURL, err)
	}
	t, err := d.pick(c.opts.Type)
	if err != nil {
		return nil, fmt.Errorf("read description %s: %w", c.descURL, err)
	}
	c.log.Info("opensearch description loaded", "member", c.member, "name", d.shortName, "type", t.mediaType,
		"paging", pagingOf(t))
	return t, nil
}

// pagingOf names the paging a template offers, for the log.
func pagingOf(t *urlTemplate) string {
	var p []string
	if t.hasStartIndex {
		p = append(p, fmt.Sprintf("startIndex from %d", t.indexOffset))
	}
	if t.hasStartPage {
		p = append(p, fmt.Sprintf("startPage from %d", t.pageOffset))
	}
	if t.hasCount {
		p = append(p, "count")
	}
	if len(p) == 0 {
		return "first page only"
	}
	return strings.Join(p, ", ")
}

// recordLink fills a record_url template with id, escaped for where "{id}"
// stands: as a query value after a '?', as a path segment before it.
func recordLink(tpl, id string) string {
	at := strings.Index(tpl, "{id}")
	esc := url.PathEscape
	if q := strings.IndexByte(tpl, '?'); q >= 0 && q < at {
		esc = url.QueryEscape
	}
	return strings.ReplaceAll(tpl, "{id}", esc(id))
}
