package files

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestLimitReader(t *testing.T) {
	tests := []struct {
		name      string
		content   string
		limit     int64
		oneByte   bool // read through iotest.OneByteReader
		wantBytes string
		wantLarge bool
	}{
		{"empty content", "", 5, false, "", false},
		{"content under the limit", "abcd", 5, false, "abcd", false},
		{"content of exactly the limit", "abcde", 5, false, "abcde", false},
		{"one byte over the limit", "abcdef", 5, false, "abcde", true},
		{"far over the limit", strings.Repeat("x", 100_000), 5, false, "xxxxx", true},
		{"one byte over, read byte by byte", "abcdef", 5, true, "abcde", true},
		{"no limit", strings.Repeat("y", 10_000), 0, false, strings.Repeat("y", 10_000), false},
		{"a negative limit is no limit", "abc", -1, false, "abc", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			counted := &countingReader{r: strings.NewReader(tc.content)}
			var r io.Reader = counted
			if tc.oneByte {
				r = iotest.OneByteReader(r)
			}
			lr := LimitReader(r, tc.limit)
			got, err := io.ReadAll(lr)
			if string(got) != tc.wantBytes {
				t.Errorf("read %d bytes %.20q, want %d", len(got), got, len(tc.wantBytes))
			}
			if tc.wantLarge {
				var tl *TooLargeError
				if !errors.Is(err, ErrTooLarge) || !errors.As(err, &tl) || tl.Limit != tc.limit {
					t.Fatalf("error %v, want a *TooLargeError with limit %d", err, tc.limit)
				}
				if counted.n > tc.limit+1 {
					t.Errorf("read %d bytes from the source, want at most the limit and one more", counted.n)
				}
				if n, again := lr.Read(make([]byte, 10)); n != 0 || !errors.Is(again, ErrTooLarge) {
					t.Errorf("read after the error: %d %v", n, again)
				}
			} else if err != nil {
				t.Errorf("error %v", err)
			}
		})
	}
}

func TestTooLargeErrorMessage(t *testing.T) {
	err := &TooLargeError{Limit: 1024}
	if got := err.Error(); got != "content larger than 1024 bytes" {
		t.Errorf("message %q", got)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
