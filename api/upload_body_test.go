package api

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/commonshelf/commonshelf/index/files"
)

// A body stream as fasthttp gives it: a fixed-length body whose
// connection closes early ends with a plain io.EOF.
func TestUploadBodyCountsAgainstTheDeclaredLength(t *testing.T) {
	content := []byte(strings.Repeat("chapter four. ", 100))
	for _, tc := range []struct {
		title    string
		sent     int   // bytes the stream yields before io.EOF
		declared int64 // Content-Length, -1 chunked
		max      int64
		want     string // "eof", "cut", "too large"
	}{
		{"the whole declared body", len(content), int64(len(content)), 1 << 20, "eof"},
		{"half the declared body, then the connection closes", len(content) / 2, int64(len(content)), 1 << 20, "cut"},
		{"nothing of a declared body", 0, int64(len(content)), 1 << 20, "cut"},
		{"one byte short", len(content) - 1, int64(len(content)), 1 << 20, "cut"},
		{"a chunked body ends where its last chunk says", len(content) / 2, -1, 1 << 20, "eof"},
		{"an empty declared body", 0, 0, 1 << 20, "eof"},
		{"a body over the limit", len(content), int64(len(content)), 100, "too large"},
	} {
		t.Run(tc.title, func(t *testing.T) {
			b := &uploadBody{r: iotest.HalfReader(bytes.NewReader(content[:tc.sent])), max: tc.max, declared: tc.declared}
			got, err := io.ReadAll(b)
			var ce *clientBodyError
			switch tc.want {
			case "eof":
				if err != nil || !bytes.Equal(got, content[:tc.sent]) {
					t.Fatalf("read %d bytes, %v; want all %d and the end", len(got), err, tc.sent)
				}
			case "cut":
				if !errors.As(err, &ce) || !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("read %d bytes, %v; want the body cut short", len(got), err)
				}
			case "too large":
				if !errors.Is(err, files.ErrTooLarge) {
					t.Fatalf("read %d bytes, %v; want too large", len(got), err)
				}
			}
			if err != nil {
				if _, again := b.Read(make([]byte, 10)); again != err {
					t.Errorf("a read after the error gives %v, want the same error", again)
				}
			}
		})
	}
	t.Run("a connection error is the client's", func(t *testing.T) {
		b := &uploadBody{r: iotest.ErrReader(errors.New("read tcp: i/o timeout")), max: 100, declared: 50}
		var ce *clientBodyError
		if _, err := io.ReadAll(b); !errors.As(err, &ce) {
			t.Fatalf("%v, want a *clientBodyError", err)
		}
	})
}

// formBody is a multipart form with one "file" part holding content, then
// the parts after it (name, value, …).
func formBody(content []byte, after ...string) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("file", "reading.pdf")
	fw.Write(content)
	for i := 0; i+1 < len(after); i += 2 {
		w.WriteField(after[i], after[i+1])
	}
	w.Close()
	return buf.Bytes(), w.Boundary()
}

// readFormFile reads the file part of body as the upload handler does,
// with the body's declared length.
func readFormFile(t *testing.T, body []byte, boundary string, declared int64) ([]byte, error) {
	t.Helper()
	b := &uploadBody{r: iotest.OneByteReader(bytes.NewReader(body)), max: multipartSlack, declared: declared}
	mr := multipart.NewReader(b, boundary)
	part, err := mr.NextPart()
	if err != nil {
		return nil, formErr(err)
	}
	b.max = b.n + 1<<20 + multipartSlack
	return io.ReadAll(&formFile{part: part, mr: mr, body: b})
}

func TestFormFileEndsOnlyWithTheWholeForm(t *testing.T) {
	content := bytes.Repeat([]byte("%PDF-1.7 scanned chapter\n"), 2000)
	whole, boundary := formBody(content)
	withAfter, boundaryAfter := formBody(content, "copyright", "cleared", "note", "week 4")
	malformedAfter := bytes.Replace(withAfter, []byte(`Content-Disposition: form-data; name="copyright"`), []byte("no colon here"), 1)
	longAfter, boundaryLong := formBody(content, "padding", strings.Repeat("x", multipartSlack+1))
	for _, tc := range []struct {
		title    string
		body     []byte
		boundary string
		declared int64 // -1: the body's own length
		want     string
	}{
		{"a whole form", whole, boundary, -1, "file"},
		{"a whole chunked form", whole, boundary, -2, "file"},
		{"parts after the file are read and dropped", withAfter, boundaryAfter, -1, "file"},
		{"the final boundary is missing", bytes.TrimSuffix(whole, []byte("--\r\n")), boundary, -1, "cut"},
		{"the final boundary is missing from a chunked form", bytes.TrimSuffix(whole, []byte("--\r\n")), boundary, -2, "cut"},
		{"the body ends in the middle of the file", whole[:len(whole)/2], boundary, int64(len(whole)), "cut"},
		{"a chunked body ends in the middle of the file", whole[:len(whole)/2], boundary, -2, "cut"},
		{"the body ends between the file and the final boundary", whole[:bytes.LastIndex(whole, []byte("\r\n--"))], boundary, int64(len(whole)), "cut"},
		{"the form is whole but the body shorter than declared", whole, boundary, int64(len(whole)) + 10, "cut"},
		{"a malformed part after the file", malformedAfter, boundaryAfter, -1, "form"},
		{"more than the slack after the file", longAfter, boundaryLong, -1, "form"},
	} {
		t.Run(tc.title, func(t *testing.T) {
			declared := tc.declared
			switch declared {
			case -1:
				declared = int64(len(tc.body))
			case -2:
				declared = -1
			}
			got, err := readFormFile(t, tc.body, tc.boundary, declared)
			var ce *clientBodyError
			var fe *formError
			switch tc.want {
			case "file":
				if err != nil || !bytes.Equal(got, content) {
					t.Fatalf("read %d bytes, %v; want the file's %d bytes and its end", len(got), err, len(content))
				}
			case "cut":
				if !errors.As(err, &ce) || !isBodyError(err) {
					t.Fatalf("read %d bytes, %v; want the upload cut short", len(got), err)
				}
			case "form":
				if !errors.As(err, &fe) || !isBodyError(err) {
					t.Fatalf("read %d bytes, %v; want a malformed form", len(got), err)
				}
				if strings.Contains((&Server{}).uploadReadError(err, "north", uploadGrant{}).Message, "no colon") {
					t.Errorf("the answer quotes the body")
				}
			}
		})
	}
}
