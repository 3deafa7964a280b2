// Package remote is what the connectors that reach a member over HTTP
// share: a client that reuses connections, bounded response bodies, and the
// classification of a member's HTTP answer into the errors the engine acts
// on (see federate.Connector).
package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/commonshelf/commonshelf/federate"
)

// DefaultMaxBody caps a member's response body: more is an error, never a
// reason to grow memory without bound.
const DefaultMaxBody = 8 << 20

// ErrBodyTooLarge is returned when a response exceeds the cap.
var ErrBodyTooLarge = errors.New("response body exceeds the size limit")

// HTTPError is a member's non-2xx answer.
type HTTPError struct {
	Status int
	// Snippet is the start of the body, for the member's status line.
	Snippet string
}

func (e *HTTPError) Error() string {
	if e.Snippet == "" {
		return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, http.StatusText(e.Status), e.Snippet)
}

// Client fetches from one member. The zero value is not usable; see New.
type Client struct {
	http    *http.Client
	maxBody int64
	header  http.Header
}

// Options configure a Client.
type Options struct {
	// MaxIdleConns is the number of idle keep-alive connections kept to the
	// member; 0 means 32. Connection reuse matters: a new connection costs
	// a member several milliseconds.
	MaxIdleConns int
	// MaxBody caps response bodies in bytes; 0 means DefaultMaxBody.
	MaxBody int64
	// Header is sent with every request (e.g. an API key); nil means none.
	Header http.Header
}

// New returns a Client. Deadlines come from each call's context.
func New(o Options) *Client {
	if o.MaxIdleConns <= 0 {
		o.MaxIdleConns = 32
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	tr := &http.Transport{
		Proxy:                 nil, // members are reached directly
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          o.MaxIdleConns,
		MaxIdleConnsPerHost:   o.MaxIdleConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 0, // the context's deadline governs
		ForceAttemptHTTP2:     true,
	}
	h := o.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", "Commonshelf/1 (federated discovery)")
	}
	return &Client{http: &http.Client{Transport: tr, CheckRedirect: limitRedirects}, maxBody: o.MaxBody, header: h}
}

func limitRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("too many redirects")
	}
	return nil
}

// Get fetches url and returns the body of a 2xx answer, at most MaxBody
// bytes. A 400, 413, 414 or 422 answer wraps federate.ErrQueryRejected when
// rejectedOn4xx is true — the member refused what we asked. Every other
// non-2xx answer is an *HTTPError failure of the member: a 401, 403 or 404
// means its key or address is wrong, which must count against its breaker. Transport errors
// and the context's deadline pass through wrapped.
func (c *Client) Get(ctx context.Context, url string, accept string, rejectedOn4xx bool) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("build request: %w", err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, ctxErr
		}
		var ue *neturl.Error
		if errors.As(err, &ue) {
			ue.URL = redact(ue.URL) // the query string may carry an API key
			return nil, nil, fmt.Errorf("GET: %w", ue)
		}
		return nil, nil, fmt.Errorf("GET %s: %w", redact(url), err)
	}
	defer resp.Body.Close()
	if resp.ContentLength > c.maxBody { // refused before a byte of it is read
		return nil, nil, fmt.Errorf("read response: %w (%d bytes announced, the limit is %d)", ErrBodyTooLarge, resp.ContentLength, c.maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, ctxErr
		}
		return nil, nil, fmt.Errorf("read response: %w", err)
	}
	if int64(len(body)) > c.maxBody {
		return nil, nil, fmt.Errorf("read response: %w (%d bytes)", ErrBodyTooLarge, c.maxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		he := &HTTPError{Status: resp.StatusCode, Snippet: Snippet(body, 200)}
		if rejectedOn4xx && queryFault(resp.StatusCode) {
			return body, resp.Header, fmt.Errorf("%w: %w", federate.ErrQueryRejected, he)
		}
		return body, resp.Header, he
	}
	return body, resp.Header, nil
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// Snippet returns the start of a body as one clean line of at most n
// bytes, for error messages.
func Snippet(body []byte, n int) string {
	s := string(body)
	if len(s) > n {
		s = s[:n]
		for !utf8.ValidString(s) && len(s) > 0 {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Join(strings.Fields(s), " ")
}

// queryFault reports whether a status says the request itself was at
// fault rather than the member.
func queryFault(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusRequestURITooLong, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// redact drops a URL's query string, which may carry an API key.
func redact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}
