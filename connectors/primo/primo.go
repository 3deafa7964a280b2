// Package primo is the connector for a member whose discovery system is Ex
// Libris Primo (or Primo VE), reached through its REST search API:
// GET {base}/primo/v1/search?vid=…&tab=…&scope=…&q=…&offset=…&limit=…
//
// The query AST is translated into Primo's flat clause list (BuildQuery),
// the JSON answer is read tolerantly (ParseResponse) into the shared record
// model.
package primo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/commonshelf/commonshelf/connectors/remote"
	"github.com/commonshelf/commonshelf/federate"
)

// MaxLimit is the most records asked of Primo at once: its documentation
// recommends no more than 50. A larger window gets the first 50.
const MaxLimit = 50

// Options configure a Connector. Build them with ParseOptions from a
// member's configuration, or directly.
type Options struct {
	// VID is the Primo view id ("01INST:MAIN"); required.
	VID string
	// Tab is the search tab; "" means "default_tab".
	Tab string
	// Scope is the search scope; "" means "default_scope".
	Scope string
	// APIKey is the Ex Libris API key; "" sends none (an on-premises Primo
	// that needs no key).
	APIKey string
	// KeyInQuery sends the key as the apikey query parameter; false sends
	// it in the "Authorization: apikey …" header.
	KeyInQuery bool
	// Lang is the interface language (lang=); "" leaves Primo's default.
	Lang string
	// RecordURL is the template of a record's page (see Links.RecordURL);
	// "" adds no catalogue link.
	RecordURL string
	// Fields maps the query language's fields to Primo's; zero-valued
	// entries take DefaultFields.
	Fields Fields
}

// knownOptions are the option names ParseOptions accepts.
var knownOptions = []string{"vid", "tab", "scope", "api_key", "api_key_env", "api_key_in", "lang", "record_url", "fields"}

// OptionNames lists the options the primo connector accepts, for checking a
// configuration before anything is built.
func OptionNames() []string { return append([]string(nil), knownOptions...) }

// ParseOptions validates a member's connector options (as the
// configuration file holds them: string, int, float64, bool or []any
// values) and builds Options. getenv resolves api_key_env; nil means
// os.Getenv.
//
// fields may be a map ({title: title, author: creator}) or, since the
// configuration file keeps only plain values, a list of "name=primofield"
// strings ([author=creator, subject=sub]). Names: any, title, author,
// subject, isbn, issn.
func ParseOptions(opts map[string]any, getenv func(string) string) (Options, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var o Options
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var keyEnv string
	for _, k := range keys {
		v := opts[k]
		var err error
		switch k {
		case "vid":
			o.VID, err = remote.OptString(k, v)
		case "tab":
			o.Tab, err = remote.OptString(k, v)
		case "scope":
			o.Scope, err = remote.OptString(k, v)
		case "api_key":
			o.APIKey, err = remote.OptString(k, v)
		case "api_key_env":
			keyEnv, err = remote.OptString(k, v)
		case "api_key_in":
			var s string
			s, err = remote.OptString(k, v)
			switch s {
			case "", "header":
			case "query":
				o.KeyInQuery = true
			default:
				if err == nil {
					err = fmt.Errorf("options.api_key_in must be header or query, not %q", s)
				}
			}
		case "lang":
			o.Lang, err = remote.OptString(k, v)
		case "record_url":
			o.RecordURL, err = remote.OptString(k, v)
			if err == nil && o.RecordURL != "" && !strings.HasPrefix(o.RecordURL, "https://") && !strings.HasPrefix(o.RecordURL, "http://") {
				err = fmt.Errorf("options.record_url must be an http(s) URL template, not %q", o.RecordURL)
			}
		case "fields":
			o.Fields, err = optFields(v)
		default:
			err = fmt.Errorf("unknown option %q for the primo connector (known: %s)", k, strings.Join(knownOptions, ", "))
		}
		if err != nil {
			return Options{}, err
		}
	}
	if o.VID == "" {
		return Options{}, errors.New("options.vid is required: the Primo view id, e.g. 01INST:MAIN")
	}
	if keyEnv != "" {
		if o.APIKey != "" {
			return Options{}, errors.New("options.api_key and options.api_key_env are both set; keep one (api_key_env keeps the key out of the file)")
		}
		o.APIKey = strings.TrimSpace(getenv(keyEnv))
		if o.APIKey == "" {
			return Options{}, fmt.Errorf("options.api_key_env: environment variable %s is not set or empty", keyEnv)
		}
	}
	return o, nil
}

func optFields(v any) (Fields, error) {
	pairs, err := remote.OptPairs("fields", v, "author=creator")
	if err != nil {
		return Fields{}, err
	}
	var f Fields
	for name, field := range pairs {
		field = strings.TrimSpace(field)
		if field == "" || strings.ContainsAny(field, ",;|= ") {
			return Fields{}, fmt.Errorf("options.fields.%s: %q is not a Primo field name", name, field)
		}
		switch name {
		case "any":
			f.Any = field
		case "title":
			f.Title = field
		case "author":
			f.Author = field
		case "subject":
			f.Subject = field
		case "isbn":
			f.ISBN = field
		case "issn":
			f.ISSN = field
		default:
			return Fields{}, fmt.Errorf("options.fields: unknown field %q (known: any, title, author, subject, isbn, issn)", name)
		}
	}
	return f, nil
}

// Connector searches one member's Primo. It is safe for concurrent use.
type Connector struct {
	log    *slog.Logger
	member string
	search *url.URL // {base}/primo/v1/search, without query
	opts   Options
	client *remote.Client
}

// New builds the connector of member from its base URL (the API gateway,
// e.g. https://api-eu.hosted.exlibrisgroup.com) and its configuration
// options (see ParseOptions; api_key_env is read from the environment).
func New(logger *slog.Logger, member, baseURL string, opts map[string]any) (*Connector, error) {
	o, err := ParseOptions(opts, nil)
	if err != nil {
		return nil, fmt.Errorf("primo %s: %w", member, err)
	}
	return NewWithOptions(logger, member, baseURL, o)
}

// NewWithOptions is New with options already built.
func NewWithOptions(logger *slog.Logger, member, baseURL string, o Options) (*Connector, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if o.VID == "" {
		return nil, fmt.Errorf("primo %s: options.vid is required", member)
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("primo %s: base URL %q is not an absolute http(s) URL", member, baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("primo %s: base URL %q must not have a query or fragment", member, baseURL)
	}
	if !strings.HasSuffix(u.Path, "/primo/v1/search") {
		u.Path = strings.TrimRight(u.Path, "/") + "/primo/v1/search"
	}
	def := DefaultFields
	f := &o.Fields
	for _, p := range []struct {
		v *string
		d string
	}{
		{&f.Any, def.Any}, {&f.Title, def.Title}, {&f.Author, def.Author},
		{&f.Subject, def.Subject}, {&f.ISBN, def.ISBN}, {&f.ISSN, def.ISSN},
	} {
		if *p.v == "" {
			*p.v = p.d
		}
	}
	if o.Tab == "" {
		o.Tab = "default_tab"
	}
	if o.Scope == "" {
		o.Scope = "default_scope"
	}
	ro := remote.Options{}
	if o.APIKey != "" && !o.KeyInQuery {
		ro.Header = http.Header{"Authorization": []string{"apikey " + o.APIKey}}
	}
	return &Connector{log: logger, member: member, search: u, opts: o, client: remote.New(ro)}, nil
}

// Kind is "primo".
func (c *Connector) Kind() string { return "primo" }

// Close releases idle connections.
func (c *Connector) Close() error { return c.client.Close() }

// Search translates q, asks Primo for window w (at most MaxLimit records)
// and reads the answer.
func (c *Connector) Search(ctx context.Context, q federate.Query, w federate.Window) (federate.Page, error) {
	t, err := BuildQuery(q, c.opts.Fields)
	if err != nil {
		return federate.Page{}, fmt.Errorf("primo %s: search: %w", c.member, err)
	}
	limit := min(max(w.Limit, 1), MaxLimit)
	offset := max(w.Offset, 0)
	v := url.Values{}
	v.Set("vid", c.opts.VID)
	v.Set("tab", c.opts.Tab)
	v.Set("scope", c.opts.Scope)
	v.Set("q", t.Q)
	if t.QInclude != "" {
		v.Set("qInclude", t.QInclude)
	}
	v.Set("offset", strconv.Itoa(offset))
	v.Set("limit", strconv.Itoa(limit))
	if c.opts.Lang != "" {
		v.Set("lang", c.opts.Lang)
	}
	c.log.Debug("primo query", "member", c.member, "q", t.Q, "qInclude", t.QInclude, "offset", offset, "limit", limit,
		"relaxed", len(t.Relaxed))
	if c.opts.APIKey != "" && c.opts.KeyInQuery {
		v.Set("apikey", c.opts.APIKey) // never logged: the line above is written before
	}
	u := *c.search
	u.RawQuery = v.Encode()
	body, _, err := c.client.Get(ctx, u.String(), "application/json", false)
	if err != nil {
		return federate.Page{}, fmt.Errorf("primo %s: search: %w", c.member, classify(body, err))
	}
	page, err := ParseResponse(body, Links{RecordURL: c.opts.RecordURL})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			err = apiError(ae)
		}
		return federate.Page{}, fmt.Errorf("primo %s: search: %w", c.member, err)
	}
	page.Relaxed = slices.Concat(page.Relaxed, t.Relaxed)
	if len(page.Records) > limit { // a member that ignores limit
		page.Records = page.Records[:limit]
	}
	return page, nil
}

// errKeyRejected is the error for a refused API key: the member's
// configuration is wrong, not the query.
var errKeyRejected = errors.New("API key rejected")

// classify turns a failed GET into the error the engine acts on: a query
// Primo refused (400 with an error body) wraps federate.ErrQueryRejected;
// a refused key (401, 403 or UNAUTHORIZED) is errKeyRejected; anything
// else stays the member's failure.
func classify(body []byte, err error) error {
	var he *remote.HTTPError
	if !errors.As(err, &he) {
		return err
	}
	var ae *APIError
	if _, perr := ParseResponse(body, Links{}); errors.As(perr, &ae) {
		if ae.keyRejected() || he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden {
			return fmt.Errorf("%w (HTTP %d: %s)", errKeyRejected, he.Status, ae)
		}
		if he.Status == http.StatusBadRequest {
			return fmt.Errorf("%w: %s", federate.ErrQueryRejected, ae)
		}
		return fmt.Errorf("HTTP %d: %s", he.Status, ae)
	}
	switch he.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%w (HTTP %d)", errKeyRejected, he.Status)
	case http.StatusBadRequest:
		return fmt.Errorf("%w: %w", federate.ErrQueryRejected, err)
	}
	return err
}

// apiError classifies an error Primo reported with status 200.
func apiError(ae *APIError) error {
	if ae.keyRejected() {
		return fmt.Errorf("%w: %s", errKeyRejected, ae)
	}
	return fmt.Errorf("%w: %s", federate.ErrQueryRejected, ae)
}
