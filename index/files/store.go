package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Blob is stored content, named by its SHA-256.
type Blob struct {
	// SHA256 is the content's SHA-256 in lower-case hex (64 digits).
	SHA256 string
	// Size is the content's length in bytes.
	Size int64
	// Type is the media type Detect gave for the content's first bytes and
	// the name passed to Put. The store does not keep it: content uploaded
	// twice under names with different extensions may be typed differently
	// where the bytes are ambiguous (see Detect).
	Type string
}

// Store keeps content once per SHA-256. Disk keeps it on a local file
// system; the interface lets a shared object store replace it.
type Store interface {
	// Put streams r into the store and returns the stored blob. With
	// max > 0 it stops reading and returns an error wrapping ErrTooLarge
	// (a *TooLargeError) as soon as more than max bytes have been read.
	// name is the user's file name, used only as a hint for Detect. If the
	// content is already stored, the existing blob is returned (the
	// content is kept once). A cancelled ctx, a read error or ErrTooLarge
	// leave nothing stored.
	Put(ctx context.Context, r io.Reader, name string, max int64) (Blob, error)
	// Open returns the content of the blob sha for reading, with random
	// access for range requests. An unknown or malformed sha gives an
	// error wrapping ErrNotFound.
	Open(sha string) (Content, error)
	// Remove deletes the blob sha; removing an absent blob is not an
	// error.
	Remove(sha string) error
	// Sweep removes every blob for which keep returns false (content left
	// by a crash between storing it and recording its use) and stale
	// temporary files, and returns how many blobs it removed.
	Sweep(keep func(sha string) bool) (int, error)
}

// Content is a stored blob opened for reading.
type Content interface {
	io.ReadSeekCloser
	// Size is the content's length in bytes.
	Size() int64
	// ModTime is when the content was last stored.
	ModTime() time.Time
}

var (
	// ErrTooLarge: the content is longer than the limit; errors.As with a
	// *TooLargeError gives the limit.
	ErrTooLarge = errors.New("content too large")
	// ErrNotFound: no blob has the SHA-256, or the SHA-256 is malformed.
	ErrNotFound = errors.New("file content not found")
)

// TooLargeError says content is longer than Limit bytes. It wraps
// ErrTooLarge.
type TooLargeError struct {
	Limit int64 // bytes
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("content larger than %d bytes", e.Limit)
}

// Unwrap makes errors.Is(err, ErrTooLarge) hold.
func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// LimitReader returns a reader that yields r's bytes and fails with a
// *TooLargeError as soon as more than n bytes have been read from r: the
// read that crosses the limit returns the bytes up to the limit (if any)
// with the error, never the excess, and it asks r for at most one byte
// past the limit. Every later read returns the same error. n <= 0 means no
// limit (r is returned as it is), as for Put's max.
func LimitReader(r io.Reader, n int64) io.Reader {
	if n <= 0 {
		return r
	}
	return &limitedReader{r: r, left: n, limit: n}
}

type limitedReader struct {
	r     io.Reader
	left  int64 // bytes that may still be read
	limit int64
	err   error // sticky *TooLargeError
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Ask for one byte more than may be read, so that content of exactly
	// the limit ends with EOF and longer content is caught at once.
	if int64(len(p)) > l.left {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		n = int(l.left)
		l.left = 0
		l.err = &TooLargeError{Limit: l.limit}
		return n, l.err
	}
	l.left -= int64(n)
	return n, err
}
