package remote

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

func TestGetClassifiesTheMembersAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("hello"))
		case "/bad-query":
			http.Error(w, "syntax error in q", http.StatusBadRequest)
		case "/rate-limited":
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case "/down":
			http.Error(w, "<html>maintenance</html>", http.StatusServiceUnavailable)
		case "/big":
			w.Write([]byte(strings.Repeat("x", 2000)))
		case "/unauthorised":
			http.Error(w, "bad key", http.StatusUnauthorized)
		case "/key":
			w.Write([]byte(r.Header.Get("X-Api-Key")))
		}
	}))
	defer srv.Close()
	c := New(Options{MaxBody: 1000, Header: http.Header{"X-Api-Key": {"secret"}}})
	defer c.Close()
	tests := []struct {
		title    string
		path     string
		rejected bool
		body     string
		check    func(error) bool
	}{
		{"a 200 answer returns its body", "/ok", true, "hello", func(err error) bool { return err == nil }},
		{"a 400 is the query's fault", "/bad-query", true, "", func(err error) bool { return errors.Is(err, federate.ErrQueryRejected) }},
		{"a 400 counts against the member when the connector says so", "/bad-query", false, "", func(err error) bool {
			var he *HTTPError
			return errors.As(err, &he) && !errors.Is(err, federate.ErrQueryRejected)
		}},
		{"a 429 is the member's state, not the query's fault", "/rate-limited", true, "", func(err error) bool {
			return err != nil && !errors.Is(err, federate.ErrQueryRejected)
		}},
		{"a 503 is an HTTPError with a snippet", "/down", true, "", func(err error) bool {
			var he *HTTPError
			return errors.As(err, &he) && he.Status == 503 && strings.Contains(he.Snippet, "maintenance")
		}},
		{"a body over the cap is an error", "/big", true, "", func(err error) bool { return errors.Is(err, ErrBodyTooLarge) }},
		{"a 401 is the member's failure: its key is wrong", "/unauthorised", true, "", func(err error) bool {
			var he *HTTPError
			return errors.As(err, &he) && he.Status == 401 && !errors.Is(err, federate.ErrQueryRejected)
		}},
		{"configured headers are sent", "/key", true, "secret", func(err error) bool { return err == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			body, _, err := c.Get(context.Background(), srv.URL+tt.path, "", tt.rejected)
			if !tt.check(err) {
				t.Fatalf("err = %v", err)
			}
			if tt.body != "" && string(body) != tt.body {
				t.Fatalf("body %q", body)
			}
		})
	}
}

func TestGetHonoursTheContext(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	c := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.Get(ctx, srv.URL, "", true); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestSnippetIsOneCleanLine(t *testing.T) {
	got := Snippet([]byte("<html>\n  <body>Sorry,\tdown\xff</body>"), 200)
	if got != "<html> <body>Sorry, down\uFFFD</body>" {
		t.Fatalf("%q", got)
	}
	if got := Snippet([]byte(strings.Repeat("é", 100)), 11); !strings.HasSuffix(got, "…") || len(got) > 14 {
		t.Fatalf("%q", got)
	}
}

func TestTransportErrorsDoNotLeakTheQueryString(t *testing.T) {
	c := New(Options{})
	_, _, err := c.Get(context.Background(), "http://127.0.0.1:1/sru?query=x&apikey=SECRET123", "", true)
	if err == nil || strings.Contains(err.Error(), "SECRET123") {
		t.Fatalf("err = %v", err)
	}
}
