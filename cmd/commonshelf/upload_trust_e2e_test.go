package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The upload trust tests speak HTTP over their own TCP connections, so that
// they can send a body shorter than the Content-Length it declares, close
// or half-close the connection in the middle of it, or keep the connection
// open while sending almost nothing — what a net/http client will not do.

// rawConn is a client connection to the test server.
type rawConn struct {
	t    *testing.T
	c    *net.TCPConn
	host string
	r    *bufio.Reader
}

func dialRaw(t *testing.T, base string) *rawConn {
	t.Helper()
	u, _ := url.Parse(base)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c.(*net.TCPConn), host: u.Host, r: bufio.NewReader(c)}
}

// head sends a POST request line and headers ("Name: value" each).
func (rc *rawConn) head(target string, header ...string) {
	rc.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\n", target, rc.host)
	for _, h := range header {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	rc.write([]byte(b.String()))
}

func (rc *rawConn) write(p []byte) {
	rc.t.Helper()
	if _, err := rc.c.Write(p); err != nil {
		rc.t.Fatalf("sending: %v", err)
	}
}

// chunk sends p as one chunk of a chunked body (an empty p ends the body).
func (rc *rawConn) chunk(p []byte) {
	rc.t.Helper()
	rc.write([]byte(strconv.FormatInt(int64(len(p)), 16) + "\r\n"))
	rc.write(p)
	rc.write([]byte("\r\n"))
}

// answer reads the server's answer, waiting at most within (a bound that
// only fails a server that does not answer, not a measure of its speed).
func (rc *rawConn) answer(within time.Duration) (*http.Response, []byte, error) {
	rc.c.SetReadDeadline(time.Now().Add(within))
	resp, err := http.ReadResponse(rc.r, nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// requestLogged waits until the server has logged the request with the id
// (it logs a request once its handler has returned) and returns the line.
func requestLogged(t *testing.T, log *syncBuffer, id string) string {
	t.Helper()
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		for line := range strings.SplitSeq(log.String(), "\n") {
			if strings.Contains(line, "request_id="+id+" ") && strings.Contains(line, "msg=http ") {
				return line
			}
		}
	}
	t.Fatalf("the server never logged request %s", id)
	return ""
}

// nothingStored checks that a refused upload left no trace: no file on the
// citation, none of the content's blobs (whole or cut), no temporary file
// and the institution's storage use unchanged.
func nothingStored(t *testing.T, base, data, list, citation string, used0 int64, contents ...[]byte) {
	t.Helper()
	if got := citationFiles(t, base, "north", list, fileKeys["north/instructor"]); len(got[citation]) != 0 {
		t.Errorf("a file is attached to %s: %v", citation, got[citation])
	}
	for _, c := range contents {
		if _, err := os.Stat(blobPath(data, sum256(c))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("content of %d bytes is stored (%v)", len(c), err)
		}
	}
	for _, p := range storedFiles(t, data) {
		if strings.HasPrefix(p, "tmp"+string(filepath.Separator)) {
			t.Errorf("a temporary file is left: %s", p)
		}
	}
	if used := usedBytes(t, base, "north"); used != used0 {
		t.Errorf("north's storage use went from %d to %d bytes", used0, used)
	}
}

func TestUploadsAreJudgedBeforeTheirBodyAndStoredOnlyWhole(t *testing.T) {
	if os.Getenv("COMMONSHELF_E2E_CHILD") != "" {
		t.Skip("child")
	}
	cfg, data, _ := filesConsortium(t)
	cmd, base, log := startServerLogged(t, cfg, data)
	defer func() { stopServer(cmd) }()
	instructor := fileKeys["north/instructor"]

	t.Run("a body that ends before its declared length or final boundary is not stored", func(t *testing.T) {
		const list = "cut"
		var citations []string
		for i := range 12 {
			citations = append(citations, fmt.Sprintf("c%d", i+1))
		}
		putFilesList(t, base, "north", list, citations...)
		target := "/api/v1/lists/north/" + list + "/citations/"
		logFrom := len(log.String())

		type sent struct {
			header []string // beyond Host
			send   func(rc *rawConn)
			// whole is the content the client meant to send, part what of
			// it the server may have seen.
			whole, part []byte
		}
		big := pdfBytes(600<<10, 900)
		note := textBytes(4 << 10)
		raw := func(content []byte, n int) sent {
			return sent{
				header: []string{"Content-Type: application/pdf", "Content-Length: " + strconv.Itoa(len(content))},
				send:   func(rc *rawConn) { rc.write(content[:n]) },
				whole:  content, part: content[:n],
			}
		}
		form := func(content []byte, cutAt func(form []byte) int, fields ...string) sent {
			body, ct := multipartForm("reading.pdf", content, fields...)
			n := cutAt(body)
			return sent{
				header: []string{"Content-Type: " + ct, "Content-Length: " + strconv.Itoa(len(body))},
				send:   func(rc *rawConn) { rc.write(body[:n]) },
				whole:  content, part: content[:min(len(content), n)],
			}
		}
		half := func(form []byte) int { return len(form) / 2 }
		for i, c := range []struct {
			title string
			sent
			// how the client ends: "close" (the server's answer cannot
			// arrive), "half-close" (CloseWrite; it reads the answer) or
			// "stay" (the body is complete as far as its framing goes).
			end string
		}{
			{"raw: the connection closes after 300 KB of a declared 600 KB", raw(big, 300<<10), "close"},
			{"raw: half-closed after 300 KB of a declared 600 KB", raw(big, 300<<10), "half-close"},
			{"raw: a 4 KB note half-closed after its first KB", raw(note, 1<<10), "half-close"},
			{"raw: half-closed after a single byte of 600 KB", raw(big, 1), "half-close"},
			{"form: the connection closes in the middle of the file part", form(big, half), "close"},
			{"form: half-closed in the middle of the file part", form(big, half), "half-close"},
			{"form: half-closed among the fields before the file part", form(big, func([]byte) int { return 60 }, "copyright", "cleared"), "half-close"},
			{"form: the declared length arrives but the final boundary is missing", func() sent {
				body, ct := multipartForm("reading.pdf", big)
				body = bytes.TrimSuffix(body, []byte("--\r\n"))
				return sent{
					header: []string{"Content-Type: " + ct, "Content-Length: " + strconv.Itoa(len(body))},
					send:   func(rc *rawConn) { rc.write(body) },
					whole:  big, part: big,
				}
			}(), "stay"},
			{"form, chunked: the stream ends cleanly without the final boundary", func() sent {
				body, ct := multipartForm("reading.pdf", big)
				body = bytes.TrimSuffix(body, []byte("--\r\n"))
				return sent{
					header: []string{"Content-Type: " + ct, "Transfer-Encoding: chunked"},
					send: func(rc *rawConn) {
						for p := body; len(p) > 0; p = p[min(len(p), 64<<10):] {
							rc.chunk(p[:min(len(p), 64<<10)])
						}
						rc.chunk(nil)
						rc.write([]byte("\r\n"))
					},
					whole: big, part: big,
				}
			}(), "stay"},
			{"form, chunked: half-closed inside a chunk of the file part", func() sent {
				body, ct := multipartForm("reading.pdf", big)
				return sent{
					header: []string{"Content-Type: " + ct, "Transfer-Encoding: chunked"},
					send: func(rc *rawConn) {
						rc.write([]byte(strconv.FormatInt(int64(len(body)), 16) + "\r\n"))
						rc.write(body[:len(body)/2])
					},
					whole: big, part: big[:len(body)/2],
				}
			}(), "half-close"},
			{"raw, chunked: the connection closes inside a chunk", sent{
				header: []string{"Content-Type: application/pdf", "Transfer-Encoding: chunked"},
				send: func(rc *rawConn) {
					rc.chunk(big[:200<<10])
					rc.write([]byte(strconv.FormatInt(400<<10, 16) + "\r\n"))
					rc.write(big[200<<10 : 300<<10])
				},
				whole: big, part: big[:300<<10],
			}, "close"},
		} {
			t.Run(c.title, func(t *testing.T) {
				citation := citations[i]
				used0 := usedBytes(t, base, "north")
				id := fmt.Sprintf("cut-%d-%d", i, time.Now().UnixNano())
				rc := dialRaw(t, base)
				rc.head(target+citation+"/files?filename=reading.pdf", append([]string{"Authorization: Bearer " + instructor, "X-Request-Id: " + id}, c.header...)...)
				c.send(rc)
				switch c.end {
				case "close":
					rc.c.Close()
				case "half-close":
					rc.c.CloseWrite()
				}
				if c.end != "close" {
					resp, b, err := rc.answer(60 * time.Second)
					if err != nil {
						t.Fatalf("no answer: %v", err)
					}
					if resp.StatusCode != 400 || decodeAPIError(t, b).Code != "upload_incomplete" {
						t.Fatalf("%d %s, want 400 upload_incomplete", resp.StatusCode, b)
					}
				}
				line := requestLogged(t, log, id)
				if c.end == "close" && !strings.Contains(line, "status=400") {
					t.Errorf("the server answered the cut upload with %s", line)
				}
				nothingStored(t, base, data, list, citation, used0, c.whole, c.part)
			})
		}
		for line := range strings.SplitSeq(log.String()[logFrom:], "\n") {
			if strings.Contains(line, "level=ERROR") {
				t.Errorf("a cut upload is logged as a server error: %s", line)
			}
		}

		t.Run("the same upload, whole, is stored", func(t *testing.T) {
			rc := dialRaw(t, base)
			rc.head(target+citations[11]+"/files?filename=reading.pdf", "Authorization: Bearer "+instructor, "Content-Type: application/pdf", "Content-Length: "+strconv.Itoa(len(big)))
			rc.write(big)
			resp, b, err := rc.answer(60 * time.Second)
			if err != nil || resp.StatusCode != 201 {
				t.Fatalf("%v %v %s", err, resp, b)
			}
			if f := decodeFile(t, b); f.SHA256 != sum256(big) || f.Size != int64(len(big)) {
				t.Fatalf("file record: %s", b)
			}
		})
	})

	t.Run("an upload the headers already refuse is answered before its body and the connection closed", func(t *testing.T) {
		putFilesList(t, base, "north", "early", "c1")
		putFilesList(t, base, "south", "early", "c1")
		northFiles := "/api/v1/lists/north/early/citations/c1/files?filename=big.pdf"
		southFiles := "/api/v1/lists/south/early/citations/c1/files?filename=big.pdf"
		const huge = 64 << 20
		for _, c := range []struct {
			title  string
			target string
			header []string
			want   int
			code   string
		}{
			{"no key", northFiles, []string{"Content-Length: " + strconv.Itoa(huge)}, 401, "unauthorized"},
			{"no key, the path percent-escaped", "/api/v1/lists/n%6frth/early/%63itations/c%31/%66iles?filename=big.pdf", []string{"Content-Length: " + strconv.Itoa(huge)}, 401, "unauthorized"},
			{"a key nobody holds", northFiles, []string{"Authorization: Bearer no-such-key", "Content-Length: " + strconv.Itoa(huge)}, 401, "unauthorized"},
			{"another institution's instructor", northFiles, []string{"Authorization: Bearer " + fileKeys["south/instructor"], "Content-Length: " + strconv.Itoa(huge)}, 403, "forbidden"},
			{"a student where students may not upload", southFiles, []string{"Authorization: Bearer " + fileKeys["south/student"], "Content-Length: 10000"}, 403, "uploads_disabled"},
			{"a student declaring the instructors' size", northFiles, []string{"Authorization: Bearer " + fileKeys["north/student"], "Content-Length: " + strconv.Itoa(instructorLimit-1)}, 413, "too_large"},
			{"an instructor declaring 64 MB", northFiles, []string{"Authorization: Bearer " + instructor, "Content-Length: " + strconv.Itoa(huge)}, 413, "too_large"},
			{"an instructor declaring a 64 MB form", northFiles, []string{"Authorization: Bearer " + instructor, "Content-Type: multipart/form-data; boundary=xyz", "Content-Length: " + strconv.Itoa(huge)}, 413, "too_large"},
		} {
			t.Run(c.title, func(t *testing.T) {
				rc := dialRaw(t, base)
				header := c.header
				if !strings.Contains(strings.Join(header, "\n"), "Content-Type:") {
					header = append(header, "Content-Type: application/pdf")
				}
				rc.head(c.target, header...)
				// A few bytes of the body, and then nothing: the client
				// keeps the connection open, as one with a slow or
				// stalled upload does.
				rc.write([]byte("%PDF-1.7\n"))
				resp, b, err := rc.answer(10 * time.Second)
				if err != nil {
					t.Fatalf("no answer while the body is held back: %v", err)
				}
				if resp.StatusCode != c.want || decodeAPIError(t, b).Code != c.code {
					t.Fatalf("%d %s, want %d %s", resp.StatusCode, b, c.want, c.code)
				}
				if !resp.Close {
					t.Errorf("the answer does not close the connection")
				}
				rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if n, err := rc.r.Read(make([]byte, 1)); err != io.EOF {
					t.Errorf("after the answer the connection gave %d bytes, %v; want it closed", n, err)
				}
			})
		}
		t.Run("with Expect: 100-continue the same judgement answers before the body", func(t *testing.T) {
			for _, c := range []struct {
				title, target, key string
				length             int
				want               string
			}{
				{"no key", northFiles, "", huge, "HTTP/1.1 401"},
				{"a student where students may not upload", southFiles, fileKeys["south/student"], 10000, "HTTP/1.1 403"},
				{"an instructor declaring 64 MB", northFiles, instructor, huge, "HTTP/1.1 413"},
				{"an instructor within the limit", northFiles, instructor, instructorLimit - 1, "HTTP/1.1 100 Continue"},
			} {
				t.Run(c.title, func(t *testing.T) {
					rc := dialRaw(t, base)
					header := []string{"Content-Type: application/pdf", "Content-Length: " + strconv.Itoa(c.length), "Expect: 100-continue"}
					if c.key != "" {
						header = append(header, "Authorization: Bearer "+c.key)
					}
					rc.head(c.target, header...)
					rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
					line, err := rc.r.ReadString('\n')
					if err != nil || !strings.HasPrefix(line, c.want) {
						t.Fatalf("first answer line %q (%v), want %q", line, err, c.want)
					}
					if !strings.HasSuffix(c.want, "Continue") {
						return
					}
					// Told to continue, the client sends the body and the
					// file is stored.
					if blank, err := rc.r.ReadString('\n'); err != nil || blank != "\r\n" {
						t.Fatalf("after 100 Continue: %q %v", blank, err)
					}
					content := pdfBytes(c.length, 960)
					rc.write(content)
					resp, b, err := rc.answer(60 * time.Second)
					if err != nil || resp.StatusCode != 201 || decodeFile(t, b).SHA256 != sum256(content) {
						t.Fatalf("the continued upload: %v %v %s", err, resp, b)
					}
				})
			}
		})
	})

	t.Run("a file's name carries the extension of its detected type, and downloads are never rendered", func(t *testing.T) {
		putFilesList(t, base, "north", "names2", "c1")
		target := filesURL(base, "north", "names2", "c1")
		jpeg := append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), pdfBytes(8<<10, 950)...)
		for i, c := range []struct {
			title     string
			name      string
			content   []byte
			multipart bool
			wantName  string
			wantType  string
		}{
			{"text named notes.html", "notes.html", textBytes(2000), false, "notes.txt", "text/plain; charset=utf-8"},
			{"a PDF named notes.html, as a form", "notes.html", pdfBytes(5000, 951), true, "notes.pdf", "application/pdf"},
			{"text named lecture.svg", "lecture.svg", textBytes(3000), false, "lecture.txt", "text/plain; charset=utf-8"},
			{"a PDF named without an extension", "Week 3 reading", pdfBytes(5001, 952), false, "Week 3 reading.pdf", "application/pdf"},
			{"text named with a version number", "notes v1.2", textBytes(3001), true, "notes v1.2.txt", "text/plain; charset=utf-8"},
			{"a PDF named scan.PDF keeps its name", "scan.PDF", pdfBytes(5002, 953), false, "scan.PDF", "application/pdf"},
			{"a JPEG named photo.jpeg keeps its name", "photo.jpeg", jpeg, true, "photo.jpeg", "image/jpeg"},
		} {
			t.Run(c.title, func(t *testing.T) {
				content := append(c.content, fmt.Sprintf("\n%d\n", i)...)
				var code int
				var b []byte
				if c.multipart {
					code, b = uploadForm(t, target, instructor, c.name, content)
				} else {
					code, b = uploadRaw(t, target, instructor, "filename="+url.QueryEscape(c.name), content)
				}
				if code != 201 {
					t.Fatalf("%d %s", code, b)
				}
				f := decodeFile(t, b)
				if f.Name != c.wantName || f.Type != c.wantType {
					t.Fatalf("stored as %q of type %q, want %q of type %q", f.Name, f.Type, c.wantName, c.wantType)
				}
				resp, got := getFile(t, target+"/"+f.ID, instructor)
				if resp.StatusCode != 200 || !bytes.Equal(got, content) {
					t.Fatalf("download: %d, identical %v", resp.StatusCode, bytes.Equal(got, content))
				}
				h := resp.Header
				disp, p, err := mime.ParseMediaType(h.Get("Content-Disposition"))
				if err != nil || disp != "attachment" || p["filename"] != c.wantName {
					t.Errorf("Content-Disposition %q, want an attachment named %q", h.Get("Content-Disposition"), c.wantName)
				}
				if h.Get("Content-Type") != c.wantType || h.Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("Content-Type %q (want %q), X-Content-Type-Options %q", h.Get("Content-Type"), c.wantType, h.Get("X-Content-Type-Options"))
				}
			})
		}
	})
}
