package files

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestNameFor(t *testing.T) {
	tests := []struct {
		title, name, mediaType, want string
	}{
		{"text named as a page gets .txt instead", "notes.html", "text/plain; charset=utf-8", "notes.txt"},
		{"a PDF named as a page gets .pdf instead", "notes.html", typePDF, "notes.pdf"},
		{"UTF-16 text named as SVG", "lecture.SVG", typeText16LE, "lecture.txt"},
		{"a PDF named as a batch file", "run.bat", typePDF, "run.pdf"},
		{"a PDF named as a script", "reading.js", typePDF, "reading.pdf"},
		{"a PDF named as a JPEG", "scan.jpeg", typePDF, "scan.pdf"},
		{"the extension already agrees, in upper case", "scan.PDF", typePDF, "scan.PDF"},
		{"an alias of the type's extension is kept", "photo.jpeg", typeJPEG, "photo.jpeg"},
		{"a TIFF named .tif is kept", "map.tif", typeTIFF, "map.tif"},
		{"a legacy Word file named .dot is kept", "letter.dot", typeDOC, "letter.dot"},
		{"no extension: the type's is appended", "Week 3 reading", typePDF, "Week 3 reading.pdf"},
		{"a version number is not an extension", "notes v1.2", "text/plain; charset=utf-8", "notes v1.2.txt"},
		{"a title with an initial is not an extension", "Smith, J. Organic chemistry", typePDF, "Smith, J. Organic chemistry.pdf"},
		{"an unknown extension stays in front of the right one", "report.final", typePDF, "report.final.pdf"},
		{"text named .csv becomes .txt", "marks.csv", "text/plain; charset=utf-8", "marks.txt"},
		{"only the last extension counts", "notes.pdf.html", typePDF, "notes.pdf.pdf"},
		{"a double extension ending right is kept", "notes.html.txt", "text/plain; charset=utf-8", "notes.html.txt"},
		{"a type without a usual extension gets .bin", "data.html", typeOctetStream, "data.bin"},
		{"a .bin of such a type is kept", "data.bin", "application/x-ole-storage", "data.bin"},
		{"a name that is only an extension", ".html", "text/plain; charset=utf-8", "html.txt"},
		{"the name is cleaned too", "../../notes\u202egnp.html", typePNG, "notesgnp.png"},
		{"a Windows device name stays escaped", "CON.html", "text/plain; charset=utf-8", "_CON.txt"},
		{"an empty name", "", typePDF, "file.pdf"},
		{"a long name keeps its new extension", strings.Repeat("a", 300) + ".html", typePDF, strings.Repeat("a", MaxNameLen-len(".html")) + ".pdf"},
	}
	for _, tc := range tests {
		t.Run(tc.title, func(t *testing.T) {
			got := NameFor(tc.name, tc.mediaType)
			if got != tc.want {
				t.Fatalf("NameFor(%q, %q) = %q, want %q", tc.name, tc.mediaType, got, tc.want)
			}
			if again := NameFor(got, tc.mediaType); again != got {
				t.Errorf("NameFor is not idempotent: %q → %q", got, again)
			}
		})
	}
}

// FuzzNameFor checks, for any name and any detected type, that the name
// NameFor gives is clean, ends in an extension of the type, and is
// kept as it is by a second call.
func FuzzNameFor(f *testing.F) {
	f.Add("notes.html", []byte("plain text\n"))
	f.Add("scan", []byte("%PDF-1.7\n"))
	f.Add("x.svg", []byte("<svg xmlns='http://www.w3.org/2000/svg'/>"))
	f.Add("CON", []byte("\x00\x01\x02"))
	f.Fuzz(func(t *testing.T, name string, head []byte) {
		typ := Detect(head, name)
		got := NameFor(name, typ)
		if CleanName(got) != got {
			t.Fatalf("NameFor(%q, %q) = %q, not clean", name, typ, got)
		}
		want := Extension(typ)
		if want == "" {
			want = ".bin"
		}
		i := strings.LastIndexByte(got, '.')
		if i < 0 {
			t.Fatalf("NameFor(%q, %q) = %q, no extension", name, typ, got)
		}
		ok := strings.ToLower(got[i:]) == want
		for _, e := range extensions[baseType(typ)] {
			ok = ok || strings.ToLower(got[i:]) == e
		}
		if !ok {
			t.Fatalf("NameFor(%q, %q) = %q, whose extension does not name the type", name, typ, got)
		}
		if again := NameFor(got, typ); again != got {
			t.Fatalf("NameFor is not idempotent: %q → %q", got, again)
		}
	})
}

func TestServeType(t *testing.T) {
	for _, tc := range []struct{ detected, want string }{
		{typePDF, typePDF},
		{"text/plain; charset=utf-8", "text/plain; charset=utf-8"},
		{typeText16BE, typeText16BE},
		{typeDOCX, typeDOCX}, // "openxmlformats" is not XML served as such
		{typeEPUB, typeEPUB},
		{typeJPEG, typeJPEG},
		{typeHTML, typeOctetStream},
		{"TEXT/HTML; charset=utf-8", typeOctetStream},
		{"application/xhtml+xml", typeOctetStream},
		{typeSVG, typeOctetStream},
		{typeXML, typeOctetStream},
		{"text/xml; charset=utf-8", typeOctetStream},
		{"application/rss+xml", typeOctetStream},
		{"text/javascript", typeOctetStream},
		{"application/javascript", typeOctetStream},
		{"application/ecmascript", typeOctetStream},
		{"text/css", typeOctetStream},
		{"multipart/related", typeOctetStream},
		{"message/rfc822", typeOctetStream},
		{"", typeOctetStream},
		{"nonsense", typeOctetStream},
		{"text/", typeOctetStream},
	} {
		if got := ServeType(tc.detected); got != tc.want {
			t.Errorf("ServeType(%q) = %q, want %q", tc.detected, got, tc.want)
		}
	}
	// Whatever Detect names is served as a type no browser renders.
	for _, head := range []string{"<!DOCTYPE html><p>x", "<svg xmlns='http://www.w3.org/2000/svg'/>", "<?xml version='1.0'?><a/>", "\xff\xfe<\x00h\x00t\x00m\x00l\x00>\x00"} {
		if typ := ServeType(Detect([]byte(head), "x.txt")); typ != typeOctetStream {
			t.Errorf("content %q is served as %q", head, typ)
		}
	}
}

// panickingReader yields good bytes, then panics, as a broken body stream
// can.
type panickingReader struct{ good int }

func (r *panickingReader) Read(p []byte) (int, error) {
	if r.good <= 0 {
		panic("body stream broke")
	}
	n := min(len(p), r.good)
	copy(p, bytes.Repeat([]byte{'a'}, n))
	r.good -= n
	return n, nil
}

// TestPutReleasesOnPanic: a reader that panics in the middle of Put leaves
// no temporary file and no Put in flight, so that the next Sweep and Put
// find the store as it was.
func TestPutReleasesOnPanic(t *testing.T) {
	d, dir := openTestDisk(t)
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Fatal("Put did not pass the panic on")
			}
		}()
		d.Put(context.Background(), &panickingReader{good: 100 << 10}, "notes.txt", 0)
	}()
	assertEmptyStore(t, dir)
	if n := len(d.active); n != 0 {
		t.Errorf("%d temporary files still registered as in flight", n)
	}
	if _, err := d.Put(context.Background(), bytes.NewReader([]byte("after the panic\n")), "notes.txt", 0); err != nil {
		t.Fatalf("a Put after the panic: %v", err)
	}
	if _, err := d.Sweep(func(string) bool { return false }); err != nil {
		t.Fatalf("a Sweep after the panic: %v", err)
	}
}
