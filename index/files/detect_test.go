package files

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"regexp"
	"strings"
	"testing"
)

// zipEntry is one entry of a test archive.
type zipEntry struct {
	name   string
	body   string
	stored bool // uncompressed
	raw    bool // sizes in the local header (no data descriptor), as office suites write
}

func buildZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		method := zip.Deflate
		if e.stored {
			method = zip.Store
		}
		if e.raw {
			if !e.stored {
				t.Fatal("raw entries are stored")
			}
			fw, err := w.CreateRaw(&zip.FileHeader{
				Name: e.name, Method: zip.Store, CRC32: crc32.ChecksumIEEE([]byte(e.body)),
				CompressedSize64: uint64(len(e.body)), UncompressedSize64: uint64(len(e.body)),
			})
			if err != nil {
				t.Fatal(err)
			}
			fw.Write([]byte(e.body))
			continue
		}
		fw, err := w.CreateHeader(&zip.FileHeader{Name: e.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(e.body))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func ooxml(t testing.TB, dir string, extra ...zipEntry) []byte {
	entries := []zipEntry{
		{name: "[Content_Types].xml", body: `<?xml version="1.0"?><Types/>`},
		{name: "_rels/.rels", body: `<?xml version="1.0"?><Relationships/>`},
		{name: dir + "/document.xml", body: `<?xml version="1.0"?><document/>`},
	}
	return buildZip(t, append(entries, extra...)...)
}

func openDocument(t testing.TB, mediaType string, raw bool) []byte {
	return buildZip(t,
		zipEntry{name: "mimetype", body: mediaType, stored: true, raw: raw},
		zipEntry{name: "content.xml", body: `<?xml version="1.0"?><office:document-content/>`},
		zipEntry{name: "META-INF/manifest.xml", body: `<?xml version="1.0"?><manifest/>`},
	)
}

// ole2 is a compound file header followed by a directory holding the given
// stream names (UTF-16LE, NUL-terminated, in 128-byte entries).
func ole2(streams ...string) []byte {
	b := make([]byte, 512)
	copy(b, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
	for _, s := range append([]string{"Root Entry"}, streams...) {
		entry := make([]byte, 128)
		for i, c := range []byte(s) {
			entry[2*i] = c
		}
		binary.LittleEndian.PutUint16(entry[64:], uint16(2*len(s)+2))
		b = append(b, entry...)
	}
	return b
}

// peExecutable is a DOS stub with a PE header.
func peExecutable() []byte {
	b := make([]byte, 0x200)
	copy(b, "MZ\x90\x00\x03")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	return b
}

func TestDetect(t *testing.T) {
	bigFirstEntry := strings.Repeat("<Override/>", SniffLen/10)
	straddling := append(bytes.Repeat([]byte("a"), SniffLen-1), "é and more"...) // é cut at SniffLen
	utf16le := []byte{0xff, 0xfe}
	for _, r := range "Week 1: Ünïcode notes\r\n" {
		utf16le = binary.LittleEndian.AppendUint16(utf16le, uint16(r))
	}
	tests := []struct {
		name    string
		content []byte
		file    string
		want    string
	}{
		{"a PDF", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"), "paper.pdf", "application/pdf"},
		{"a PDF named as text", []byte("%PDF-1.4\n"), "paper.txt", "application/pdf"},
		{"a PNG", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"), "scan.png", "image/png"},
		{"a JPEG", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"), "scan.jpeg", "image/jpeg"},
		{"a GIF", []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00"), "anim.gif", "image/gif"},
		{"a WebP", []byte("RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00"), "photo.webp", "image/webp"},
		{"a little-endian TIFF", []byte("II*\x00\x08\x00\x00\x00"), "scan.tif", "image/tiff"},
		{"a big-endian TIFF", []byte("MM\x00*\x00\x00\x00\x08"), "scan.tiff", "image/tiff"},
		{"an SVG", []byte(`<?xml version="1.0"?>` + "\n" + `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "figure.svg", "image/svg+xml"},
		{"an SVG with a doctype and a comment", []byte("<!-- drawn by hand -->\n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"x\">\n<svg width=\"1\"/>"), "figure.png", "image/svg+xml"},
		{"a Word document", ooxml(t, "word"), "essay.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"a Word document named .zip", ooxml(t, "word"), "essay.zip", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"an Excel workbook", ooxml(t, "xl"), "data.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{"a PowerPoint deck", ooxml(t, "ppt"), "slides.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
		{"a Word document with macros", ooxml(t, "word", zipEntry{name: "word/vbaProject.bin", body: "\x00"}), "essay.docx", "application/vnd.ms-word.document.macroenabled.12"},
		{"an OOXML archive whose parts are past the first bytes, named .docx", buildZip(t,
			zipEntry{name: "[Content_Types].xml", body: bigFirstEntry, stored: true, raw: true},
			zipEntry{name: "word/document.xml", body: "<document/>"}), "essay.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"the same archive named .zip", buildZip(t,
			zipEntry{name: "[Content_Types].xml", body: bigFirstEntry, stored: true, raw: true},
			zipEntry{name: "word/document.xml", body: "<document/>"}), "essay.zip", "application/zip"},
		{"an OpenDocument text", openDocument(t, "application/vnd.oasis.opendocument.text", true), "essay.odt", "application/vnd.oasis.opendocument.text"},
		{"an OpenDocument text with a data descriptor", openDocument(t, "application/vnd.oasis.opendocument.text", false), "essay", "application/vnd.oasis.opendocument.text"},
		{"an OpenDocument spreadsheet", openDocument(t, "application/vnd.oasis.opendocument.spreadsheet", true), "data.ods", "application/vnd.oasis.opendocument.spreadsheet"},
		{"an OpenDocument presentation", openDocument(t, "application/vnd.oasis.opendocument.presentation", true), "talk.odp", "application/vnd.oasis.opendocument.presentation"},
		{"an OpenDocument template is not a document", openDocument(t, "application/vnd.oasis.opendocument.text-template", true), "essay.odt", "application/zip"},
		{"a compressed mimetype entry is not OpenDocument", buildZip(t,
			zipEntry{name: "mimetype", body: "application/vnd.oasis.opendocument.text"},
			zipEntry{name: "content.xml", body: "<x/>"}), "essay.odt", "application/zip"},
		{"an EPUB", buildZip(t,
			zipEntry{name: "mimetype", body: "application/epub+zip", stored: true, raw: true},
			zipEntry{name: "META-INF/container.xml", body: `<?xml version="1.0"?><container/>`}), "book.epub", "application/epub+zip"},
		{"another zip", buildZip(t, zipEntry{name: "readme.txt", body: "hello"}), "archive.docx", "application/zip"},
		{"an empty zip", buildZip(t), "empty.zip", "application/zip"},
		{"a legacy Word file", ole2(), "essay.doc", "application/msword"},
		{"a legacy Excel file", ole2(), "data.xls", "application/vnd.ms-excel"},
		{"a legacy PowerPoint file", ole2(), "talk.ppt", "application/vnd.ms-powerpoint"},
		{"an OLE2 file with no extension", ole2(), "upload", "application/x-ole-storage"},
		{"an OLE2 file whose streams say Word", ole2("WordDocument", "1Table"), "upload.bin", "application/msword"},
		{"a Word file with an embedded workbook, named .doc", ole2("WordDocument", "Workbook"), "essay.doc", "application/msword"},
		{"a Word file named .xls", ole2("WordDocument", "1Table"), "data.xls", "application/msword"},
		{"RTF", []byte(`{\rtf1\ansi\deff0 {\fonttbl {\f0 Times;}} Hello}`), "letter.rtf", "application/rtf"},
		{"UTF-8 text", []byte("Reading for week 1: Müller, Thermodynamik.\n"), "notes.txt", "text/plain; charset=utf-8"},
		{"UTF-8 text with a byte order mark", []byte("\xef\xbb\xbfnotes\n"), "notes.txt", "text/plain; charset=utf-8"},
		{"text named .pdf", []byte("just some words\n"), "paper.pdf", "text/plain; charset=utf-8"},
		{"text cut inside a character", straddling, "long.txt", "text/plain; charset=utf-8"},
		{"UTF-16 text with a byte order mark", utf16le, "notes.txt", "text/plain; charset=utf-16le"},
		{"text with a NUL", []byte("abc\x00def"), "notes.txt", "application/octet-stream"},
		{"Latin-1 text", []byte("caf\xe9 cr\xe8me\n"), "menu.txt", "application/octet-stream"},
		{"text starting with a heart", []byte("<3 this book\n"), "review.txt", "text/plain; charset=utf-8"},
		{"an HTML page", []byte("<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>"), "page.html", "text/html"},
		{"an HTML fragment named .txt", []byte("  <p onclick=\"x()\">hi</p>"), "notes.txt", "text/html"},
		{"text hiding a script tag", []byte("Dear students,\nplease read <SCRIPT src=//evil></script>\n"), "notes.txt", "text/html"},
		{"HTML in Latin-1", []byte("<html><body>caf\xe9</body></html>"), "page.txt", "text/html"},
		{"XML", []byte(`<?xml version="1.0"?><catalog><book/></catalog>`), "data.xml", "application/xml"},
		{"XHTML", []byte(`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>`), "page.xml", "text/html"},
		{"a Windows executable named .pdf", peExecutable(), "paper.pdf", "application/x-msdownload"},
		{"a Windows executable with a PDF behind its header", append(peExecutable(), "%PDF-1.4"...), "paper.pdf", "application/x-msdownload"},
		{"text that starts with MZ", []byte("MZ Bank statement, March\n"), "bank.txt", "text/plain; charset=utf-8"},
		{"an ELF binary", []byte("\x7fELF\x02\x01\x01\x00\x00\x00"), "paper.pdf", "application/x-executable"},
		{"gzip", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00"), "paper.pdf.gz", "application/x-gzip"},
		{"empty content", nil, "empty.txt", "application/octet-stream"},
		{"random bytes", []byte{0x13, 0x37, 0x00, 0xfe, 0x01, 0x99}, "data.bin", "application/octet-stream"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Detect(tc.content, tc.file); got != tc.want {
				t.Errorf("Detect(%q) = %q, want %q", tc.file, got, tc.want)
			}
		})
	}
}

func TestPutDetectsWhileStreaming(t *testing.T) {
	d, _ := openTestDisk(t)
	docx := ooxml(t, "word", zipEntry{name: "word/media/big.bin", body: string(pattern(200 << 10))})
	blob, err := d.Put(context.Background(), bytes.NewReader(docx), `C:\Users\me\essay.docx`, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := "application/vnd.openxmlformats-officedocument.wordprocessingml.document"; blob.Type != want {
		t.Errorf("type %q, want %q", blob.Type, want)
	}
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		name     string
		detected string
		allow    []string
		want     bool
	}{
		{"plain text with a charset", "text/plain; charset=utf-8", DefaultTypes, true},
		{"a type in another case", "Application/PDF", DefaultTypes, true},
		{"a Word document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", DefaultTypes, true},
		{"SVG is refused by default", "image/svg+xml", DefaultTypes, false},
		{"HTML is refused", "text/html", DefaultTypes, false},
		{"a macro-enabled document is refused", "application/vnd.ms-word.document.macroenabled.12", DefaultTypes, false},
		{"an executable is refused", "application/x-msdownload", DefaultTypes, false},
		{"a plain zip is refused", "application/zip", DefaultTypes, false},
		{"unknown content is refused", "application/octet-stream", DefaultTypes, false},
		{"an empty type", "", DefaultTypes, false},
		{"SVG when a list allows it", "image/svg+xml", []string{"image/svg+xml"}, true},
		{"an empty list allows nothing", "application/pdf", nil, false},
		{"a list entry with parameters", "text/plain", []string{"TEXT/PLAIN; charset=utf-8"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Allowed(tc.detected, tc.allow); got != tc.want {
				t.Errorf("Allowed(%q) = %v, want %v", tc.detected, got, tc.want)
			}
		})
	}
}

// TestDefaultTypes checks that the allow-list is what configuration accepts
// (lower-case media types without parameters) and that each has an
// extension.
func TestDefaultTypes(t *testing.T) {
	pattern := regexp.MustCompile(`^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$`)
	seen := map[string]bool{}
	for _, typ := range DefaultTypes {
		if !pattern.MatchString(typ) {
			t.Errorf("%q is not a bare lower-case media type", typ)
		}
		if seen[typ] {
			t.Errorf("%q repeated", typ)
		}
		seen[typ] = true
		if Extension(typ) == "" {
			t.Errorf("%q has no extension", typ)
		}
	}
}

func TestExtension(t *testing.T) {
	tests := []struct{ mediaType, want string }{
		{"application/pdf", ".pdf"},
		{"text/plain; charset=utf-8", ".txt"},
		{"IMAGE/JPEG", ".jpg"},
		{"application/vnd.oasis.opendocument.spreadsheet", ".ods"},
		{"application/msword", ".doc"},
		{"application/octet-stream", ""},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.mediaType, func(t *testing.T) {
			if got := Extension(tc.mediaType); got != tc.want {
				t.Errorf("Extension(%q) = %q, want %q", tc.mediaType, got, tc.want)
			}
		})
	}
}

func FuzzDetect(f *testing.F) {
	f.Add([]byte("%PDF-1.7"), "a.pdf")
	f.Add([]byte("PK\x03\x04\x14\x00\x08\x00\x00\x00"), "a.docx")
	f.Add(ole2("WordDocument"), "a.doc")
	f.Add([]byte("\xff\xfe<\x00h\x00"), "a.txt")
	f.Add([]byte("<?xml version='1.0'?><!--x--><svg/>"), "a.svg")
	f.Fuzz(func(t *testing.T, head []byte, name string) {
		got := Detect(head, name)
		if got == "" || got != Detect(head, name) {
			t.Fatalf("Detect = %q", got)
		}
		if len(head) > SniffLen && Detect(head[:SniffLen], name) != got {
			t.Fatalf("Detect looks past SniffLen")
		}
	})
}
