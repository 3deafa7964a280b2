// Package sru is the connector for members whose catalogue answers SRU
// (Search/Retrieve via URL, versions 1.2 and 2.0) with CQL queries: the
// query AST becomes CQL (see ToCQL), a searchRetrieve request fetches one
// page of MARCXML or Dublin Core records, and the member's diagnostics
// become errors the engine can classify. Index Data's Zebra is the
// reference server; package zebralab runs it for tests and for
// `make run-sru`.
package sru

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
	"sync"
	"time"

	"github.com/commonshelf/commonshelf/connectors/remote"
	"github.com/commonshelf/commonshelf/federate"
)

// Options configure a Connector. New reads them from a member's
// configuration options; the zero value is usable.
type Options struct {
	// Version is the SRU version spoken, "1.2" or "2.0"; "" means "1.2".
	Version string
	// RecordSchema is the schema asked for, "marcxml" or "dc"; "" means
	// "marcxml" (richer: identifiers, formats and languages survive).
	RecordSchema string
	// Indexes override the CQL index of some fields; empty fields keep
	// DefaultIndexes.
	Indexes Indexes
	// Explain, when true, fetches the member's explain record on first use
	// and searches fields whose index it does not list as keywords up
	// front, instead of learning it from a diagnostic. False: no explain
	// request is made.
	Explain bool
	// RecordURL is the template of a record's page at the member; "{id}" is
	// replaced by the escaped record id and the result is added to each
	// record's Links as "Catalogue record". "" adds no link.
	RecordURL string
	// MaxRecords caps maximumRecords, whatever window is asked for; 0 means
	// 300 (the engine's deepest page).
	MaxRecords int
	// MaxBody caps a response body in bytes; 0 means remote.DefaultMaxBody.
	MaxBody int64
}

// Connector searches one member over SRU. It implements federate.Connector
// and is safe for concurrent use.
type Connector struct {
	log    *slog.Logger
	member string
	base   *url.URL
	opts   Options
	client *remote.Client

	mu sync.Mutex
	// learned lists indexes the member turned out not to support.
	learned []string
	// explained is true once the explain record was read; explainAfter
	// is when a failed explain request may be tried again.
	explained    bool
	explainAfter time.Time
}

const defaultMaxRecords = 300

// New returns the SRU connector of member at baseURL (the database's URL,
// e.g. http://127.0.0.1:9101/north), configured by opts as written in the
// member's configuration: version, record_schema, indexes, explain,
// record_url, max_records. An unknown option or a wrong value is an error
// naming it. No request is made.
func New(logger *slog.Logger, member, baseURL string, opts map[string]any) (*Connector, error) {
	o, err := ParseOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("sru %s: %w", member, err)
	}
	return NewWithOptions(logger, member, baseURL, o)
}

// NewWithOptions is New with options already typed.
func NewWithOptions(logger *slog.Logger, member, baseURL string, o Options) (*Connector, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sru %s: url %q is not an absolute http(s) URL", member, baseURL)
	}
	switch o.Version {
	case "":
		o.Version = "1.2"
	case "1.2", "2.0":
	default:
		return nil, fmt.Errorf("sru %s: version %q is not supported (1.2 or 2.0)", member, o.Version)
	}
	switch o.RecordSchema {
	case "":
		o.RecordSchema = "marcxml"
	case "marcxml", "dc":
	default:
		return nil, fmt.Errorf("sru %s: record_schema %q is not supported (marcxml or dc)", member, o.RecordSchema)
	}
	if o.MaxRecords <= 0 {
		o.MaxRecords = defaultMaxRecords
	}
	o.Indexes = o.Indexes.withDefaults()
	for _, ix := range []string{o.Indexes.Any, o.Indexes.Title, o.Indexes.Author, o.Indexes.Subject, o.Indexes.ISBN, o.Indexes.ISSN, o.Indexes.Year} {
		if !validIndexName(ix) {
			return nil, fmt.Errorf("sru %s: index %q is not a CQL index name", member, ix)
		}
	}
	return &Connector{
		log:    logger,
		member: member,
		base:   u,
		opts:   o,
		client: remote.New(remote.Options{MaxBody: o.MaxBody}),
	}, nil
}

// knownOptions are the option names New accepts, in documentation order.
var knownOptions = []string{"version", "record_schema", "indexes", "explain", "record_url", "max_records"}

// OptionNames lists the options the sru connector accepts, for checking a
// configuration before anything is built.
func OptionNames() []string { return append([]string(nil), knownOptions...) }

// ParseOptions reads a member's options. indexes is a list of
// "field=index" strings (["subject=bath.topicalSubject"]), a single such
// string with entries separated by commas, or a map; the fields are any,
// title, author, subject, isbn, issn and year.
func ParseOptions(opts map[string]any) (Options, error) {
	var o Options
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := opts[k]
		switch k {
		case "version":
			switch x := v.(type) {
			case string:
				o.Version = x
			case float64: // YAML reads 1.2 and 2.0 as numbers
				o.Version = strconv.FormatFloat(x, 'f', 1, 64)
			case int:
				o.Version = strconv.Itoa(x) + ".0"
			default:
				return o, fmt.Errorf("option version must be \"1.2\" or \"2.0\"")
			}
			if o.Version != "1.2" && o.Version != "2.0" {
				return o, fmt.Errorf("option version: %q is not supported (1.2 or 2.0)", o.Version)
			}
		case "record_schema":
			s, ok := v.(string)
			if !ok || (s != "marcxml" && s != "dc") {
				return o, fmt.Errorf("option record_schema must be \"marcxml\" or \"dc\"")
			}
			o.RecordSchema = s
		case "indexes":
			ix, err := parseIndexes(v)
			if err != nil {
				return o, fmt.Errorf("option indexes: %w", err)
			}
			o.Indexes = ix
		case "explain":
			b, ok := v.(bool)
			if !ok {
				return o, fmt.Errorf("option explain must be true or false")
			}
			o.Explain = b
		case "record_url":
			s, ok := v.(string)
			if !ok {
				return o, fmt.Errorf("option record_url must be a string")
			}
			o.RecordURL = s
		case "max_records":
			n, ok := v.(int)
			if f, isF := v.(float64); isF && f == float64(int(f)) {
				n, ok = int(f), true
			}
			if !ok || n < 0 {
				return o, fmt.Errorf("option max_records must be a whole number, 0 or more")
			}
			o.MaxRecords = n
		default:
			return o, fmt.Errorf("unknown option %q for the sru connector (known: %s)", k, strings.Join(knownOptions, ", "))
		}
	}
	return o, nil
}

func parseIndexes(v any) (Indexes, error) {
	var ix Indexes
	pairs := map[string]string{}
	switch x := v.(type) {
	case string:
		for _, part := range strings.Split(x, ",") {
			if err := addPair(pairs, part); err != nil {
				return ix, err
			}
		}
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return ix, fmt.Errorf("each entry must be a string like \"subject=dc.subject\"")
			}
			if err := addPair(pairs, s); err != nil {
				return ix, err
			}
		}
	case []string:
		for _, s := range x {
			if err := addPair(pairs, s); err != nil {
				return ix, err
			}
		}
	case map[string]any:
		for k, e := range x {
			s, ok := e.(string)
			if !ok {
				return ix, fmt.Errorf("%s: the index must be a string", k)
			}
			pairs[k] = s
		}
	case map[string]string:
		for k, s := range x {
			pairs[k] = s
		}
	default:
		return ix, fmt.Errorf("must be a list of \"field=index\" entries")
	}
	fields := map[string]*string{
		"any": &ix.Any, "title": &ix.Title, "author": &ix.Author, "subject": &ix.Subject,
		"isbn": &ix.ISBN, "issn": &ix.ISSN, "year": &ix.Year,
	}
	names := make([]string, 0, len(pairs))
	for k := range pairs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		dst, ok := fields[strings.ToLower(strings.TrimSpace(k))]
		if !ok {
			return ix, fmt.Errorf("unknown field %q (known: any, title, author, subject, isbn, issn, year)", k)
		}
		s := strings.TrimSpace(pairs[k])
		if !validIndexName(s) {
			return ix, fmt.Errorf("%s: %q is not a CQL index name", k, s)
		}
		*dst = s
	}
	return ix, nil
}

func addPair(pairs map[string]string, s string) error {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("%q is not \"field=index\"", s)
	}
	pairs[strings.TrimSpace(k)] = strings.TrimSpace(v)
	return nil
}

// Kind is "sru".
func (c *Connector) Kind() string { return "sru" }

// Member is the id of the member this connector searches.
func (c *Connector) Member() string { return c.member }

// Close releases idle connections.
func (c *Connector) Close() error { return c.client.Close() }

// indexes returns the indexes with what has been learned of the member.
func (c *Connector) indexes() Indexes {
	ix := c.opts.Indexes
	c.mu.Lock()
	ix.Unsupported = append(slices.Clip(ix.Unsupported), c.learned...)
	c.mu.Unlock()
	return ix
}

func (c *Connector) learn(indexes ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ix := range indexes {
		if !slices.ContainsFunc(c.learned, func(l string) bool { return strings.EqualFold(l, ix) }) {
			c.learned = append(c.learned, ix)
		}
	}
}

// Search translates q into CQL and fetches window w of the member's answer.
// A diagnostic 16 (unsupported index) or 15 (unsupported context set) is
// answered by one retry with the offending fields searched as keywords,
// reported in Page.Relaxed and remembered for later searches.
func (c *Connector) Search(ctx context.Context, q federate.Query, w federate.Window) (federate.Page, error) {
	if c.opts.Explain {
		c.explain(ctx)
	}
	idx := c.indexes()
	cql, relaxed, err := ToCQL(q, idx)
	if err != nil {
		return federate.Page{}, fmt.Errorf("sru %s: search %q: %w: %w", c.member, q.Raw, federate.ErrQueryRejected, err)
	}
	if cql == "" {
		return federate.Page{Total: 0, Relaxed: relaxed}, nil
	}
	resp, err := c.searchRetrieve(ctx, cql, w)
	if err != nil {
		return federate.Page{}, fmt.Errorf("sru %s: search: %w", c.member, err)
	}
	if d := resp.Fatal(); d != nil && (d.Code == 16 || d.Code == 15) {
		if drop, sure := c.culprits(*d, q, idx); len(drop) > 0 {
			idx.Unsupported = append(idx.Unsupported, drop...)
			retryCQL, retryRelaxed, err := ToCQL(q, idx)
			if err == nil && retryCQL != "" && retryCQL != cql {
				c.log.Debug("sru relaxing unsupported index", "member", c.member, "indexes", drop, "diagnostic", d.String())
				r2, err := c.searchRetrieve(ctx, retryCQL, w)
				if err != nil {
					return federate.Page{}, fmt.Errorf("sru %s: search (retry without %s): %w", c.member, strings.Join(drop, ", "), err)
				}
				if r2.Fatal() == nil && sure {
					// Only a relaxation that worked, of indexes the
					// diagnostic surely meant, is remembered.
					c.learn(drop...)
				}
				resp, relaxed = r2, retryRelaxed
			} else if err == nil && retryCQL == "" {
				return federate.Page{Total: 0, Relaxed: retryRelaxed}, nil
			}
		}
	}
	if d := resp.Fatal(); d != nil {
		return federate.Page{}, fmt.Errorf("sru %s: search: %w", c.member, &DiagnosticError{*d})
	}
	for _, d := range resp.Diagnostics {
		c.log.Debug("sru warning", "member", c.member, "diagnostic", d.String())
	}
	if resp.Rejected > 0 {
		c.log.Debug("sru records rejected", "member", c.member, "rejected", resp.Rejected, "reasons", resp.RejectReasons)
	}
	page := federate.Page{Records: resp.Records, Total: resp.Total, Relaxed: relaxed, Rejected: resp.Rejected}
	for i := range page.Records {
		r := &page.Records[i]
		r.Member = c.member
		r.Rank = w.Offset + i + 1
		if link := c.recordLink(r.RecordID); link != "" {
			r.Links = append(r.Links, federate.Link{URL: link, Label: "Catalogue record"})
		}
	}
	return page, nil
}

// culprits returns the indexes of q that a diagnostic 15/16 blames: the one
// its details name (servers name the CQL index, its name without the
// context set — Zebra names its own index, "subject" for dc.subject — or
// the set), or, when the details name none, every fielded index the query
// uses. sure is true when the blame is certain: the details named them, or
// the query uses only one. The keyword index is never a culprit: it has
// nothing to fall back to.
func (c *Connector) culprits(d Diagnostic, q federate.Query, idx Indexes) (culprits []string, sure bool) {
	used := usedIndexes(q, idx)
	det := strings.ToLower(strings.TrimSpace(d.Details))
	var named []string
	if det != "" {
		for _, ix := range used {
			l := strings.ToLower(ix)
			set, name, _ := strings.Cut(l, ".")
			if det == l || det == name || (d.Code == 15 && det == set) {
				named = append(named, ix)
			}
		}
	}
	if len(named) > 0 {
		return named, true
	}
	return used, len(used) == 1
}

// usedIndexes lists the fielded indexes q sends (keywords excluded), in
// order of first use.
func usedIndexes(q federate.Query, idx Indexes) []string {
	var out []string
	add := func(ix string) {
		if !strings.EqualFold(ix, idx.Any) && !idx.unsupported(ix) && !slices.Contains(out, ix) {
			out = append(out, ix)
		}
	}
	if q.Root == nil {
		return nil
	}
	federate.Walk(q.Root, func(n federate.Node) {
		switch n := n.(type) {
		case *federate.Term:
			if n.Field != federate.FieldAny {
				add(idx.index(n.Field))
			}
		case *federate.YearRange:
			add(idx.Year)
		}
	})
	return out
}

// requestURL builds the searchRetrieve URL: startRecord is the window's
// offset + 1, maximumRecords its limit (always sent: Zebra, for one,
// defaults it to 0), capped by MaxRecords.
func (c *Connector) requestURL(cql string, w federate.Window) string {
	u := *c.base
	v := u.Query()
	v.Set("version", c.opts.Version)
	if c.opts.Version != "2.0" {
		// SRU 2.0 has no operation parameter: searchRetrieve is implied.
		v.Set("operation", "searchRetrieve")
	}
	v.Set("query", cql)
	v.Set("startRecord", strconv.Itoa(max(w.Offset, 0)+1))
	v.Set("maximumRecords", strconv.Itoa(min(max(w.Limit, 1), c.opts.MaxRecords)))
	v.Set("recordSchema", c.opts.RecordSchema)
	if c.opts.Version == "2.0" {
		v.Set("recordXMLEscaping", "xml")
	} else {
		v.Set("recordPacking", "xml")
	}
	u.RawQuery = v.Encode()
	return u.String()
}

const acceptXML = "application/sru+xml, application/xml, text/xml;q=0.9, */*;q=0.1"

// searchRetrieve sends one request and parses its answer. A non-2xx answer
// that is an SRU response with diagnostics (SRU 2.0 servers may send them
// with 4xx) is read as one; any other is an error with its HTTP status.
func (c *Connector) searchRetrieve(ctx context.Context, cql string, w federate.Window) (*Response, error) {
	c.log.Debug("sru query", "member", c.member, "cql", cql, "start", w.Offset+1, "max", min(w.Limit, c.opts.MaxRecords))
	body, _, err := c.client.Get(ctx, c.requestURL(cql, w), acceptXML, false)
	if err != nil {
		var he *remote.HTTPError
		if errors.As(err, &he) && body != nil {
			if r, perr := ParseResponse(body); perr == nil && len(r.Diagnostics) > 0 {
				return r, nil
			}
			if he.Status == http.StatusNotFound {
				return nil, fmt.Errorf("%w (is the database name in the member's url right?)", err)
			}
		}
		return nil, err
	}
	resp, err := ParseResponse(body)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// explainRetry is how long a failed explain request is not repeated.
const explainRetry = time.Minute

// explain fetches the member's explain record once and marks the indexes
// it does not list as unsupported. Failure is logged and leaves the
// indexes as configured; it is retried after explainRetry.
func (c *Connector) explain(ctx context.Context) {
	c.mu.Lock()
	if c.explained || time.Now().Before(c.explainAfter) {
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	u := *c.base
	v := u.Query()
	v.Set("version", c.opts.Version)
	v.Set("operation", "explain")
	u.RawQuery = v.Encode()
	body, _, err := c.client.Get(ctx, u.String(), acceptXML, false)
	var listed []string
	if err == nil {
		listed, err = ParseExplain(body)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.explainAfter = time.Now().Add(explainRetry)
		c.log.Debug("sru explain failed", "member", c.member, "err", err)
		return
	}
	c.explained = true
	if len(listed) == 0 {
		return // an explain record that lists nothing tells nothing
	}
	ix := c.opts.Indexes
	for _, f := range searchFields {
		want := ix.index(f)
		if !slices.ContainsFunc(listed, func(l string) bool { return strings.EqualFold(l, want) }) &&
			!slices.Contains(c.learned, want) {
			c.learned = append(c.learned, want)
		}
	}
	c.log.Debug("sru explain", "member", c.member, "indexes", listed, "unsupported", c.learned)
}

// recordLink fills Options.RecordURL with id, escaped for where "{id}"
// stands: as a query value after a '?', as a path segment before it.
func (c *Connector) recordLink(id string) string {
	tpl := c.opts.RecordURL
	if tpl == "" || id == "" {
		return ""
	}
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
