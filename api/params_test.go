package api

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestIntArgBoundsEveryNumberBeforeUsingIt(t *testing.T) {
	for _, tt := range []struct {
		title, query string
		want         int
		ok           bool
	}{
		{"absent: the default", "", 20, true},
		{"in range", "n=7", 7, true},
		{"the upper bound itself", "n=300", 300, true},
		{"one past the upper bound", "n=301", 0, false},
		{"the largest int64", "n=9223372036854775807", 0, false},
		{"past int64", "n=9223372036854775808", 0, false},
		{"a very long number", "n=" + strings.Repeat("9", 400), 0, false},
		{"negative", "n=-1", 0, false},
		{"empty", "n=", 0, false},
		{"a float", "n=1e3", 0, false},
		{"hex", "n=0x10", 0, false},
		{"spaces", "n=+%205", 0, false},
	} {
		t.Run(tt.title, func(t *testing.T) {
			var args fasthttp.Args
			args.Parse(tt.query)
			n, aerr := intArg(&args, "n", 0, 300, 20)
			if (aerr == nil) != tt.ok || (tt.ok && n != tt.want) {
				t.Fatalf("intArg(%q) = %d, %v", tt.query, n, aerr)
			}
			if aerr != nil && (aerr.Status != 400 || aerr.Field != "n") {
				t.Fatalf("error %+v", aerr)
			}
		})
	}
}

func TestRedactTransportKeepsWhatWentWrongButNoRequestBytes(t *testing.T) {
	for _, msg := range []string{
		`error when reading request headers: malformed mime header: missing colon: "Authorization: Bearer s3cret": buffer size=40, contents: "GET / HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n"`,
		`error when serving connection "127.0.0.1:1"<->"127.0.0.1:2": unsupported http version "s3cret" in "GET /?k=s3cret HTTP/1.1 x"`,
		`cannot parse content-length: "s3cret"`,
		`error when reading request headers: unsupported http request method "G\x00T" in "G\x00T / HTTP/1.1\r\nAuthorization: Token s3cret\"<>1b\r\nAuthorization: Basic s3cret==\r\n"`,
		`unclosed "Authorization: s3cret`,
	} {
		got := redactTransport(msg)
		if strings.Contains(got, "s3cret") || got == "" {
			t.Errorf("redactTransport(%q) = %q", msg, got)
		}
	}
	if got := redactTransport(`error when reading request headers: missing colon: "x": buffer size=3, contents: "abc"`); !strings.HasPrefix(got, "error when reading request headers: missing colon") {
		t.Errorf("the cause is lost: %q", got)
	}
}

func TestLineLimitReaderStopsAfterItsLines(t *testing.T) {
	for _, tt := range []struct {
		title, in string
		want      string
		tooMany   bool
	}{
		{"fewer lines", "a\nb\n", "a\nb\n", false},
		{"exactly the limit", "a\nb\nc\n", "a\nb\nc\n", false},
		{"exactly the limit, no final newline", "a\nb\nc", "a\nb\nc", false},
		{"one more line", "a\nb\nc\nd\n", "a\nb\nc\n", true},
		{"one more byte", "a\nb\nc\nd", "a\nb\nc\n", true},
	} {
		t.Run(tt.title, func(t *testing.T) {
			for _, chunk := range []int{1, 2, 1 << 10} {
				l := &lineLimitReader{r: &chunked{s: tt.in, n: chunk}, max: 3}
				got, err := io.ReadAll(l)
				if string(got) != tt.want || errors.Is(err, errTooManyLines) != tt.tooMany || (!tt.tooMany && err != nil) {
					t.Fatalf("chunks of %d: %q, %v", chunk, got, err)
				}
			}
		})
	}
}

// chunked reads s n bytes at a time.
type chunked struct {
	s string
	n int
}

func (c *chunked) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.s)
	c.s = c.s[k:]
	return k, nil
}
