// Package consortium reads the one YAML configuration file of a Commonshelf
// consortium: the consortium's defaults and the keys it locks, each
// institution's overrides, branding and API keys, and — for institutions
// whose catalogue is searched — the member block that says how to reach it.
//
// Load validates the whole file and reports every problem at once, each
// naming file, line, institution and key, so that the process can refuse to
// start with a useful message. A *Config returned without error is complete:
// every default is filled in and every member setting is resolved, so callers
// never interpret zero values themselves.
//
// Effective gives an institution's view of the overridable settings, each
// value with where it came from.
package consortium

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Built-in defaults, used when the consortium's file leaves a setting out.
const (
	DefaultLanguage         = "en"
	DefaultUploadInstructor = 50 // MB
	DefaultUploadStudent    = 10 // MB
	DefaultSearchTimeoutMS  = 3000
	DefaultMaxTimeoutMS     = 10000
	DefaultPageSize         = 20
	MaxPageSize             = 100
	DefaultMaxInFlight      = 16
	DefaultBreakerFailures  = 5
	DefaultBreakerOpenFor   = 30 * time.Second
	DefaultCacheMaxEntries  = 10000
	DefaultCacheMaxMB       = 256
	DefaultCacheTTL         = 5 * time.Minute
	DefaultCachePartialTTL  = 15 * time.Second
	DefaultCacheStaleGrace  = time.Minute
)

// Connector kinds a member may use.
const (
	ConnectorLocal      = "local"
	ConnectorSRU        = "sru"
	ConnectorPrimo      = "primo"
	ConnectorSolr       = "solr"
	ConnectorOpenSearch = "opensearch"
)

// Connectors lists the connector kinds, in the order they are documented.
var connectorKinds = []string{ConnectorLocal, ConnectorSRU, ConnectorPrimo, ConnectorSolr, ConnectorOpenSearch}

// API key roles.
const (
	RoleAdmin      = "admin"
	RoleInstructor = "instructor"
	RoleStudent    = "student"
)

// Config is a loaded, validated configuration file.
type Config struct {
	Consortium Consortium
	// Institutions in file order. Ids are unique.
	Institutions []Institution
	// Server are the settings of the running service (load, memory,
	// operator access); the zero value is the built-in behaviour.
	Server Server
	// File is the path given to Load (or the name given to Parse); problems
	// and messages name it.
	File string
	// lines maps key paths to the lines they are written on (see Problem).
	lines map[string]int
}

// Consortium is the consortium-wide part of the file.
type Consortium struct {
	// ID matches [a-z0-9][a-z0-9-]{0,39}; never empty.
	ID string
	// Name is for people; never empty.
	Name string
	// PublicURL is the absolute http(s) URL people and learning platforms
	// reach the service at, without a trailing slash: LTI redirects, deep
	// links and the tool's JWKS are addressed under it. "": the server
	// derives it from the address it listens on.
	PublicURL string
	// Defaults apply to every institution that does not override them.
	// After Load every field holds a usable value (the built-in default when
	// the file leaves it out).
	Defaults Defaults
	// Locked lists the overridable keys institutions may not override, as
	// leaf keys ("upload_max_mb" in the file locks "upload_max_mb.instructor"
	// and "upload_max_mb.student"), in the order of the effective view.
	// Empty: institutions may override every overridable key.
	Locked []string
}

// IsLocked reports whether institutions may not override the leaf key
// (e.g. "language", "search.page_size").
func (c *Consortium) IsLocked(key string) bool { return slices.Contains(c.Locked, key) }

// Defaults are the consortium's settings.
type Defaults struct {
	// Language is the interface language, a BCP 47-style code such as "en"
	// or "pt-BR". Built-in default "en".
	Language string
	// UploadMaxMB are the upload size limits in megabytes, which are also the
	// ceilings institutions may lower but not raise.
	UploadMaxMB UploadLimits
	// ExternalLinks are shown on the gateway page. Nil: none.
	ExternalLinks []ExternalLink
	Search        Search
	// Cache is the hot-query cache of searches. Consortium-wide:
	// institutions cannot override it.
	Cache Cache
	// Requests are the consortium's request settings.
	Requests RequestDefaults
	// Files is the policy for files attached to resource-list citations.
	Files FilePolicy
}

// DefaultFileQuotaMB is the built-in storage quota of each institution's
// attached files, in megabytes.
const DefaultFileQuotaMB = 10240

// FilePolicy governs files attached to resource-list citations. After Load
// every field holds a usable value.
type FilePolicy struct {
	// StudentUploads lets students attach files (built-in false: only
	// instructors and admins may).
	StudentUploads bool
	// Types are the media types that may be uploaded ("application/pdf"),
	// lower case, never empty (built-in files.DefaultTypes: PDF, office
	// documents, plain text, EPUB and common images).
	Types []string
	// QuotaMB caps the bytes of distinct files each institution stores, in
	// megabytes; positive (built-in 10240). Institutions may lower it.
	QuotaMB int
}

// Request kinds an institution may make or receive.
const (
	RequestLoan     = "loan"
	RequestCopy     = "copy"
	RequestPurchase = "purchase"
)

var requestKinds = []string{RequestLoan, RequestCopy, RequestPurchase}

// RequestDefaults are the consortium-wide request settings.
type RequestDefaults struct {
	// Kinds are the request kinds enabled in the consortium, in the order
	// written, without duplicates. Empty: requests are off.
	Kinds []string
}

// InstitutionRequests are an institution's request settings.
type InstitutionRequests struct {
	// Kinds, when not nil, narrows the consortium's kinds for this
	// institution (as requester and as supplier); every one must be enabled
	// consortium-wide. Nil: the consortium's kinds.
	Kinds []string
	// Webhook is where the institution hears of requests addressed to it
	// and of changes to its own. Nil: it is not notified (it can still poll
	// GET /api/v1/requests). Mutually exclusive with ISO18626.
	Webhook *Webhook
	// ISO18626 is the institution's ISO 18626 endpoint: it hears of the
	// same events as ISO 18626 XML messages instead of webhook JSON. Nil:
	// none. Mutually exclusive with Webhook.
	ISO18626 *ISO18626Endpoint
}

// ISO18626Endpoint is an institution's ISO 18626 (interlibrary loan
// protocol) endpoint.
type ISO18626Endpoint struct {
	// URL is an absolute http(s) URL the XML messages are POSTed to.
	URL string
}

// Webhook is an institution's request webhook.
type Webhook struct {
	// URL is an absolute http(s) URL.
	URL string
	// SecretEnv names the environment variable holding the HMAC secret; it
	// is read when the server starts. "": deliveries are not signed.
	SecretEnv string
}

// RequestKinds returns the request kinds enabled for institution id: its
// own kinds when it sets them, else the consortium's. Nil for an unknown
// institution.
func (c *Config) RequestKinds(id string) []string {
	in, ok := c.Institution(id)
	if !ok {
		return nil
	}
	if in.Requests.Kinds != nil {
		return in.Requests.Kinds
	}
	return c.Consortium.Defaults.Requests.Kinds
}

// Cache configures the hot-query cache. After Load every field holds a
// usable value (the built-in default for what the file leaves out).
type Cache struct {
	// MaxEntries caps the cached searches; positive (built-in 10000).
	MaxEntries int
	// MaxMB caps their memory in megabytes — the answers and their encoded
	// pages together, as their real cost is measured; positive (built-in
	// 256).
	MaxMB int
	// TTL is how long a complete answer is reused (built-in 5m). 0 (written
	// `ttl: 0`) turns the cache off: every search asks the members.
	TTL time.Duration
	// PartialTTL is how long an answer that lacks a member is reused
	// (built-in 15s, or TTL if that is shorter); 0: not reused. Never above
	// TTL.
	PartialTTL time.Duration
	// StaleGrace is how long after its TTL a complete answer is still
	// served, marked stale, while one search refreshes it in the background
	// (built-in 1m); 0: never.
	StaleGrace time.Duration
}

// UploadLimits are upload size limits in megabytes, per role. Both are
// positive after Load (built-in 50 for instructors, 10 for students).
type UploadLimits struct {
	Instructor int
	Student    int
}

// Search holds the consortium's search settings, all positive after Load.
type Search struct {
	// TimeoutMS is the default budget of one search in milliseconds
	// (built-in 3000, or MaxTimeoutMS if that is lower). It is also each
	// member's deadline unless the member sets its own.
	TimeoutMS int
	// MaxTimeoutMS caps every timeout: a caller's timeout_ms, an
	// institution's search.timeout_ms, a member's timeout_ms. Built-in
	// 10000. Institutions cannot override it.
	MaxTimeoutMS int
	// PageSize is the default number of results per page, 1..100
	// (built-in 20).
	PageSize int
}

// ExternalLink is a labelled link shown on the gateway page.
type ExternalLink struct {
	// Label is the link text; never empty.
	Label string `json:"label"`
	// URL is an absolute http or https URL.
	URL string `json:"url"`
}

// Institution is one institution of the consortium.
type Institution struct {
	// ID matches [a-z0-9][a-z0-9-]{0,39} and is unique in the file.
	ID string
	// Name is for people; never empty.
	Name string
	// Overrides are the consortium settings this institution changes.
	Overrides Overrides
	// Branding for the institution's gateway page. Zero: the consortium's
	// look.
	Branding Branding
	// Member says how to search the institution's catalogue. Nil: the
	// institution has no catalogue to search (it may still publish resource
	// lists and be a home institution).
	Member *Member
	// APIKeys authenticate the institution's clients. Empty: no client can
	// act for the institution.
	APIKeys []APIKey
	// Requests are the institution's request settings; zero: the
	// consortium's kinds and no webhook.
	Requests InstitutionRequests
	// LTI are the institution's learning-platform registrations. Its
	// CourseClaim is always set after Load.
	LTI LTI
}

// Overrides are an institution's changes to the consortium defaults. A nil
// field is not overridden: the consortium's value applies.
type Overrides struct {
	Language    *string
	UploadMaxMB UploadOverrides
	// ExternalLinks, when not nil, replaces the consortium's list (an empty
	// list means the institution shows none).
	ExternalLinks *[]ExternalLink
	Search        SearchOverrides
	Files         FileOverrides
}

// FileOverrides change an institution's file policy; nil: not overridden.
type FileOverrides struct {
	StudentUploads *bool
	// Types narrows the consortium's types (every one must be allowed
	// consortium-wide).
	Types *[]string
	// QuotaMB lowers the consortium's quota.
	QuotaMB *int
}

// UploadOverrides lower the consortium's upload limits (in MB); nil: not
// overridden.
type UploadOverrides struct {
	Instructor *int
	Student    *int
}

// SearchOverrides change an institution's search settings; nil: not
// overridden.
type SearchOverrides struct {
	// TimeoutMS is the budget of searches made from this institution, at
	// most the consortium's max_timeout_ms.
	TimeoutMS *int
	// PageSize is the default page size, 1..100.
	PageSize *int
}

// Branding is an institution's look on its gateway page.
type Branding struct {
	// Logo is an absolute http(s) URL or a path on this server starting with
	// "/". "": no logo.
	Logo string
	// PrimaryColor is "#rgb" or "#rrggbb" (as written). "": the consortium's
	// colour.
	PrimaryColor string
}

// Member is how the federated search reaches an institution's catalogue.
// Every field is resolved by Load: zero values in the file have already been
// replaced by their defaults.
type Member struct {
	// Connector is one of local, sru, primo, solr, opensearch.
	Connector string
	// URL is the catalogue's absolute http(s) endpoint. "" for local.
	URL string
	// Files are the catalogue files of a local member: absolute paths, globs
	// expanded, directories left out, sorted, without duplicates; never
	// empty for local. Nil for every other connector.
	Files []string
	// Options are connector-specific settings, kept as written for the
	// connector to validate: values are string, int, float64, bool or
	// []any of those. Nil: none.
	Options map[string]any
	// Timeout is this member's deadline within a search: the file's
	// timeout_ms, or the consortium's search.timeout_ms when that is 0.
	// Never 0, never above the consortium's max_timeout_ms.
	Timeout time.Duration
	// MaxInFlight bounds concurrent requests to this member (16 when the
	// file says 0). Always positive.
	MaxInFlight int
	// Breaker is the member's circuit breaker setting.
	Breaker Breaker
}

// Breaker configures a member's circuit breaker. Both fields are positive
// after Load.
type Breaker struct {
	// Failures is the number of consecutive failures that open the breaker
	// (5 when the file says 0).
	Failures uint32
	// OpenFor is how long the breaker stays open before letting a trial
	// request through (30s when the file says 0).
	OpenFor time.Duration
}

// APIKey is one client key of an institution. The file holds only the
// SHA-256 of the token, never the token itself.
type APIKey struct {
	// SHA256 is the hex SHA-256 of the token, 64 lower-case hex digits.
	SHA256 string
	// Role is admin, instructor or student (admin when the file leaves it
	// out).
	Role string
}

// Institution finds an institution by id.
func (c *Config) Institution(id string) (*Institution, bool) {
	for i := range c.Institutions {
		if c.Institutions[i].ID == id {
			return &c.Institutions[i], true
		}
	}
	return nil, false
}

// Members returns the institutions that have a member block, in file order.
// The pointers point into c.Institutions.
func (c *Config) Members() []*Institution {
	var ms []*Institution
	for i := range c.Institutions {
		if c.Institutions[i].Member != nil {
			ms = append(ms, &c.Institutions[i])
		}
	}
	return ms
}

// MaxTimeout is the consortium's cap on any search or member timeout
// (search.max_timeout_ms).
func (c *Config) MaxTimeout() time.Duration {
	return time.Duration(c.Consortium.Defaults.Search.MaxTimeoutMS) * time.Millisecond
}

// Summary describes the configuration in one line for check-config, e.g.
//
//	Triangle Libraries (triangle): 4 institutions, 3 members (local 1, sru 2)
func (c *Config) Summary() string {
	kinds := map[string]int{}
	members := c.Members()
	for _, m := range members {
		kinds[m.Member.Connector]++
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, kinds[k]))
	}
	s := fmt.Sprintf("%s (%s): %s, %s", c.Consortium.Name, c.Consortium.ID,
		plural(len(c.Institutions), "institution"), plural(len(members), "member"))
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// KeyRole authenticates a presented API token against the institution's keys:
// it hashes the token with SHA-256 and compares the digest with every key in
// constant time, returning the matching key's role. An empty token never
// matches.
func (i *Institution) KeyRole(token string) (role string, ok bool) {
	k := matchKey(token, len(i.APIKeys), func(j int) string { return i.APIKeys[j].SHA256 })
	if k < 0 {
		return "", false
	}
	return cmp.Or(i.APIKeys[k].Role, RoleAdmin), true
}

// matchKey hashes token with SHA-256 and compares the digest, in constant
// time, with each of the n hex digests digest(0..n-1): the index of the
// first that matches, -1 for none (and for an empty token). It looks at
// every digest whichever matches, so the time taken does not say which.
func matchKey(token string, n int, digest func(int) string) int {
	if token == "" {
		return -1
	}
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range n {
		want, err := hex.DecodeString(digest(i))
		if err != nil || len(want) != sha256.Size {
			continue
		}
		if subtle.ConstantTimeCompare(sum[:], want) == 1 && found < 0 {
			found = i
		}
	}
	return found
}
