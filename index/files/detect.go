package files

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// SniffLen is how many of the content's first bytes Detect looks at.
const SniffLen = 8 << 10

// Media types Detect returns (among others: binary formats such as gzip,
// audio and video are named as net/http.DetectContentType names them).
const (
	typePDF         = "application/pdf"
	typePNG         = "image/png"
	typeJPEG        = "image/jpeg"
	typeGIF         = "image/gif"
	typeWebP        = "image/webp"
	typeTIFF        = "image/tiff"
	typeSVG         = "image/svg+xml"
	typeDOCX        = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	typeXLSX        = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	typePPTX        = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
	typeDOCM        = "application/vnd.ms-word.document.macroenabled.12"
	typeXLSM        = "application/vnd.ms-excel.sheet.macroenabled.12"
	typePPTM        = "application/vnd.ms-powerpoint.presentation.macroenabled.12"
	typeODT         = "application/vnd.oasis.opendocument.text"
	typeODS         = "application/vnd.oasis.opendocument.spreadsheet"
	typeODP         = "application/vnd.oasis.opendocument.presentation"
	typeODG         = "application/vnd.oasis.opendocument.graphics"
	typeEPUB        = "application/epub+zip"
	typeDOC         = "application/msword"
	typeXLS         = "application/vnd.ms-excel"
	typePPT         = "application/vnd.ms-powerpoint"
	typeOLE         = "application/x-ole-storage"
	typeRTF         = "application/rtf"
	typeText        = "text/plain; charset=utf-8"
	typeText16LE    = "text/plain; charset=utf-16le"
	typeText16BE    = "text/plain; charset=utf-16be"
	typeHTML        = "text/html"
	typeXML         = "application/xml"
	typeZIP         = "application/zip"
	typeEXE         = "application/x-msdownload"
	typeELF         = "application/x-executable"
	typeMachO       = "application/x-mach-binary"
	typeOctetStream = "application/octet-stream"
)

// DefaultTypes is the default allow-list of detected media types: PDF,
// Word, Excel and PowerPoint (legacy and OOXML, without macros),
// OpenDocument text, spreadsheet and presentation, RTF, plain text, EPUB,
// PNG, JPEG, GIF, WebP and TIFF. SVG is not in it: it can carry script.
// Callers must not modify it (copy it with slices.Clone).
var DefaultTypes = []string{
	typePDF,
	typeDOC, typeXLS, typePPT,
	typeDOCX, typeXLSX, typePPTX,
	typeODT, typeODS, typeODP,
	typeRTF,
	"text/plain",
	typeEPUB,
	typePNG, typeJPEG, typeGIF, typeWebP, typeTIFF,
}

// extensions are, for each detected media type (without parameters), the
// file name extensions that name it, the canonical one first. It covers
// every type Detect returns that has a usual extension; NameFor and
// Extension read it.
var extensions = map[string][]string{
	typePDF: {".pdf"}, typePNG: {".png"}, typeJPEG: {".jpg", ".jpeg", ".jpe", ".jfif"}, typeGIF: {".gif"},
	typeWebP: {".webp"}, typeTIFF: {".tiff", ".tif"}, typeSVG: {".svg"},
	typeDOCX: {".docx"}, typeXLSX: {".xlsx"}, typePPTX: {".pptx"},
	typeDOCM: {".docm"}, typeXLSM: {".xlsm"}, typePPTM: {".pptm"},
	typeODT: {".odt"}, typeODS: {".ods"}, typeODP: {".odp"}, typeODG: {".odg"},
	typeEPUB: {".epub"},
	// The legacy Office extensions Detect itself takes as naming them.
	typeDOC: {".doc", ".dot"}, typeXLS: {".xls", ".xlt", ".xla"}, typePPT: {".ppt", ".pot", ".pps"},
	typeRTF: {".rtf"},
	// Text is .txt only: the extension decides which program opens the
	// download on the reader's computer, and a .csv opens in a
	// spreadsheet that evaluates formulas, an .md in a renderer.
	"text/plain": {".txt", ".text"},
	typeHTML:     {".html", ".htm"}, typeXML: {".xml"}, typeZIP: {".zip"}, typeEXE: {".exe"},
	// Other binary formats, as net/http.DetectContentType names them.
	"application/ogg": {".ogg"}, "application/postscript": {".ps"}, "application/vnd.ms-fontobject": {".eot"},
	"application/wasm": {".wasm"}, "application/x-gzip": {".gz"}, "application/x-rar-compressed": {".rar"},
	"audio/aiff": {".aiff", ".aif"}, "audio/midi": {".mid", ".midi"}, "audio/mpeg": {".mp3"}, "audio/wave": {".wav"},
	"font/collection": {".ttc"}, "font/otf": {".otf"}, "font/ttf": {".ttf"}, "font/woff": {".woff"}, "font/woff2": {".woff2"},
	"image/bmp": {".bmp"}, "image/vnd.microsoft.icon": {".ico"}, "image/x-icon": {".ico"},
	"video/avi": {".avi"}, "video/mp4": {".mp4"}, "video/webm": {".webm"},
}

// Extension returns the canonical file name extension (".pdf") of a
// detected media type, parameters and case ignored; "" if it has none.
func Extension(mediaType string) string {
	if exts := extensions[baseType(mediaType)]; len(exts) > 0 {
		return exts[0]
	}
	return ""
}

// ServeType is the Content-Type to send stored content of the detected
// media type with. Content a browser would render or run — HTML, SVG and
// any other XML, scripts, style sheets, every text type but plain text —
// is sent as application/octet-stream, so that no download is ever shown
// as a page, whatever else (Content-Disposition, nosniff) the answer
// carries. Types Detect refuses by default reach a download only if an
// institution allows them.
func ServeType(mediaType string) string {
	t := baseType(mediaType)
	i := strings.IndexByte(t, '/')
	if i <= 0 || i == len(t)-1 {
		return typeOctetStream
	}
	major, minor := t[:i], t[i+1:]
	switch {
	case major == "text" && minor != "plain",
		major == "multipart", major == "message",
		minor == "xml", strings.HasSuffix(minor, "+xml"),
		strings.Contains(minor, "html"), strings.Contains(minor, "script"),
		minor == "x-shockwave-flash", minor == "vnd.adobe.flash.movie":
		return typeOctetStream
	}
	return mediaType
}

// Allowed reports whether the detected media type is in the allow-list,
// comparing types without their parameters and ignoring case:
// "text/plain; charset=utf-8" is allowed by "text/plain".
func Allowed(detected string, allow []string) bool {
	t := baseType(detected)
	if t == "" {
		return false
	}
	for _, a := range allow {
		if baseType(a) == t {
			return true
		}
	}
	return false
}

// baseType returns a media type without parameters, trimmed and in lower
// case.
func baseType(t string) string {
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	return strings.ToLower(strings.TrimSpace(t))
}

// Detect returns the media type of content from its first bytes (it looks
// at up to SniffLen of them) and, only where the bytes are ambiguous, the
// extension of the file name (any path in name is ignored).
//
// The bytes decide: a file named .pdf whose bytes are an executable is an
// executable, a file named .doc that is plain text is text/plain. Executables
// (Windows, ELF, Mach-O) are recognised first, so content that is both an
// executable and something else is an executable. The extension is
// consulted for legacy Office files (an OLE2 compound file whose stream
// names are beyond the first bytes: .doc, .xls, .ppt), OOXML archives whose
// first bytes show only [Content_Types].xml (.docx, .xlsx, .pptx, and the
// macro-enabled .docm, .xlsm, .pptm) and EPUBs without a leading mimetype
// entry. OpenDocument and EPUB archives are recognised by their first entry,
// "mimetype", stored uncompressed. Text is text/plain with its charset when
// it is valid UTF-8 (or UTF-16 with a byte order mark) without NULs or other
// binary control bytes and shows no markup: content that a browser could
// take for HTML (an HTML start, or an HTML or SVG tag among the first 512
// bytes) is text/html, an SVG document is image/svg+xml, other XML is
// application/xml. Other text (in a legacy 8-bit charset) and empty content
// are application/octet-stream.
func Detect(head []byte, name string) string {
	truncated := len(head) >= SniffLen
	head = head[:min(len(head), SniffLen)]
	ext := extension(name)
	if len(head) == 0 {
		return typeOctetStream
	}
	if t := executableType(head); t != "" {
		return t
	}
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return typePDF
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return typePNG
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return typeJPEG
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return typeGIF
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return typeWebP
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")),
		bytes.HasPrefix(head, []byte("II+\x00")), bytes.HasPrefix(head, []byte("MM\x00+")): // BigTIFF
		return typeTIFF
	case bytes.HasPrefix(head, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
		return oleType(head, ext)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return zipType(head, ext)
	case bytes.HasPrefix(head, []byte("PK\x05\x06")), bytes.HasPrefix(head, []byte("PK\x07\x08")):
		return typeZIP // empty or spanned archive
	case bytes.HasPrefix(head, []byte(`{\rtf`)):
		return typeRTF
	}
	if t := http.DetectContentType(head); !strings.HasPrefix(t, "text/") && t != typeOctetStream {
		return t // another binary format (gzip, audio, video, fonts…)
	}
	return textType(head, truncated)
}

// extension returns the lower-case extension (".pdf") of the last element
// of a file name, "" if it has none.
func extension(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return ""
	}
	return strings.ToLower(strings.TrimRight(name[i:], " "))
}

// executableType names an executable's format, "" if head is none.
func executableType(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("MZ")):
		// "MZ" alone could start a text; a PE header or binary content
		// (a DOS header holds NULs) makes it an executable.
		if hasPEHeader(head) || containsBinaryByte(head) {
			return typeEXE
		}
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return typeELF
	case bytes.HasPrefix(head, []byte("\xfe\xed\xfa\xce")), bytes.HasPrefix(head, []byte("\xfe\xed\xfa\xcf")),
		bytes.HasPrefix(head, []byte("\xce\xfa\xed\xfe")), bytes.HasPrefix(head, []byte("\xcf\xfa\xed\xfe")):
		return typeMachO
	}
	return ""
}

// hasPEHeader reports whether the DOS header's e_lfanew points at a PE
// signature within head.
func hasPEHeader(head []byte) bool {
	if len(head) < 0x40 {
		return false
	}
	off := int64(binary.LittleEndian.Uint32(head[0x3c:]))
	return off+4 <= int64(len(head)) && string(head[off:off+4]) == "PE\x00\x00"
}

// oleType names a legacy Office file (an OLE2 compound file) by the names
// of its streams when the directory is within head, else by the extension.
// An embedded object adds its own streams (a Word document with an Excel
// chart has a Workbook stream), so the extension decides among several.
func oleType(head []byte, ext string) string {
	var found []string // in order of precedence
	for _, s := range []struct{ stream, typ string }{
		{"PowerPoint Document", typePPT},
		{"WordDocument", typeDOC},
		{"Workbook", typeXLS},
		{"Book", typeXLS}, // Excel 5/95
	} {
		if containsUTF16Name(head, s.stream) {
			found = append(found, s.typ)
		}
	}
	var byExt string
	switch ext {
	case ".doc", ".dot":
		byExt = typeDOC
	case ".xls", ".xlt", ".xla":
		byExt = typeXLS
	case ".ppt", ".pot", ".pps":
		byExt = typePPT
	}
	switch {
	case byExt != "" && (len(found) == 0 || contains(found, byExt)):
		return byExt
	case len(found) > 0:
		return found[0]
	}
	return typeOLE
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// containsUTF16Name reports whether head holds name as an OLE2 directory
// entry name: UTF-16LE, terminated by a NUL.
func containsUTF16Name(head []byte, name string) bool {
	b := make([]byte, 0, 2*len(name)+2)
	for _, c := range []byte(name) {
		b = append(b, c, 0)
	}
	return bytes.Contains(head, append(b, 0, 0))
}

// Types an OpenDocument or EPUB archive names in its first entry.
var mimetypeEntries = []string{typeODT, typeODS, typeODP, typeODG, typeEPUB}

// zipType names a zip archive by its entries: OpenDocument and EPUB by the
// first ("mimetype", stored, holding the type), OOXML by entries under
// word/, xl/ or ppt/ (or, with only [Content_Types].xml in view, by the
// extension). It walks the local file headers within head.
func zipType(head []byte, ext string) string {
	var word, xl, ppt, contentTypes, macros, container, mimetype bool
	p := head
	for i := 0; len(p) >= 30 && string(p[:4]) == "PK\x03\x04"; i++ {
		flags := binary.LittleEndian.Uint16(p[6:])
		method := binary.LittleEndian.Uint16(p[8:])
		csize := int64(binary.LittleEndian.Uint32(p[18:]))
		nameLen := int64(binary.LittleEndian.Uint16(p[26:]))
		extraLen := int64(binary.LittleEndian.Uint16(p[28:]))
		if 30+nameLen > int64(len(p)) {
			break
		}
		name := string(p[30 : 30+nameLen])
		data := min(30+nameLen+extraLen, int64(len(p)))
		if i == 0 && name == "mimetype" && method == 0 {
			if t := mimetypeEntry(p[data:], csize, flags&8 != 0); t != "" {
				return t
			}
		}
		switch {
		case strings.HasPrefix(name, "word/"):
			word = true
		case strings.HasPrefix(name, "xl/"):
			xl = true
		case strings.HasPrefix(name, "ppt/"):
			ppt = true
		case name == "[Content_Types].xml":
			contentTypes = true
		case name == "META-INF/container.xml":
			container = true
		case name == "mimetype":
			mimetype = true
		}
		if strings.HasSuffix(name, "vbaProject.bin") {
			macros = true
		}
		next := 30 + nameLen + extraLen + csize
		if flags&8 != 0 || csize == 0xffffffff {
			// The size follows the data (in a descriptor) or is a zip64
			// one: the next header is found by its signature. Compressed
			// data that happens to hold one only adds a wrong name.
			i := bytes.Index(p[data:], []byte("PK\x03\x04"))
			if i < 0 {
				break
			}
			next = data + int64(i)
		}
		if next > int64(len(p)) || next <= 0 {
			break
		}
		p = p[next:]
	}
	macros = macros || ext == ".docm" || ext == ".xlsm" || ext == ".pptm"
	switch {
	case !word && !xl && !ppt && contentTypes:
		switch ext {
		case ".docx", ".docm":
			word = true
		case ".xlsx", ".xlsm":
			xl = true
		case ".pptx", ".pptm":
			ppt = true
		}
	case !word && !xl && !ppt && (container || mimetype) && ext == ".epub":
		return typeEPUB
	}
	switch {
	case word && macros:
		return typeDOCM
	case word:
		return typeDOCX
	case xl && macros:
		return typeXLSM
	case xl:
		return typeXLSX
	case ppt && macros:
		return typePPTM
	case ppt:
		return typePPTX
	}
	return typeZIP
}

// mimetypeEntry returns the known type a stored "mimetype" entry holds,
// "" if none. size is the entry's size from its header, 0 when it follows
// the data in a descriptor.
func mimetypeEntry(data []byte, size int64, descriptor bool) string {
	for _, t := range mimetypeEntries {
		if !bytes.HasPrefix(data, []byte(t)) {
			continue
		}
		rest := data[len(t):]
		if !descriptor && size == int64(len(t)) ||
			descriptor && (len(rest) == 0 || bytes.HasPrefix(rest, []byte("PK"))) {
			return t
		}
	}
	return ""
}

// textType names content that matched no binary signature: markup, text
// (UTF-8, or UTF-16 with a byte order mark) or octet-stream.
func textType(head []byte, truncated bool) string {
	switch {
	case bytes.HasPrefix(head, []byte("\xfe\xff")), bytes.HasPrefix(head, []byte("\xff\xfe")):
		bigEndian := head[0] == 0xfe
		text, ok := decodeUTF16(head[2:], bigEndian, truncated)
		if !ok {
			return typeOctetStream
		}
		if t := markupType([]byte(text)); t != "" {
			return t
		}
		if bigEndian {
			return typeText16BE
		}
		return typeText16LE
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		head = head[3:]
	}
	// Markup first, on the raw bytes: HTML in a legacy charset is not
	// UTF-8 but is still HTML to a browser.
	if t := markupType(head); t != "" {
		return t
	}
	if containsBinaryByte(head) || !validUTF8(head, truncated) {
		return typeOctetStream
	}
	return typeText
}

// containsBinaryByte reports whether b holds a byte that does not occur in
// text: a NUL or another control byte other than tab, line feed, form feed,
// carriage return and escape (the WHATWG MIME sniffing "binary data byte").
func containsBinaryByte(b []byte) bool {
	for _, c := range b {
		if c <= 0x08 || c == 0x0b || 0x0e <= c && c <= 0x1a || 0x1c <= c && c <= 0x1f {
			return true
		}
	}
	return false
}

// validUTF8 reports whether b is valid UTF-8, allowing an incomplete last
// character when b was cut from longer content.
func validUTF8(b []byte, truncated bool) bool {
	if utf8.Valid(b) {
		return true
	}
	if !truncated {
		return false
	}
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			return !utf8.FullRune(b[i:]) && utf8.Valid(b[:i])
		}
	}
	return false
}

// decodeUTF16 decodes UTF-16 text, reporting false for unpaired surrogates
// and binary control characters (an incomplete last character of truncated
// content is dropped).
func decodeUTF16(b []byte, bigEndian, truncated bool) (string, bool) {
	if len(b)%2 != 0 {
		if !truncated {
			return "", false
		}
		b = b[:len(b)-1]
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = binary.BigEndian.Uint16(b[2*i:])
		} else {
			u[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
	}
	if n := len(u); truncated && n > 0 && 0xd800 <= u[n-1] && u[n-1] < 0xdc00 {
		u = u[:n-1]
	}
	var sb strings.Builder
	for i := 0; i < len(u); i++ {
		r := rune(u[i])
		if utf16.IsSurrogate(r) {
			if i+1 >= len(u) {
				return "", false
			}
			if r = utf16.DecodeRune(r, rune(u[i+1])); r == utf8.RuneError {
				return "", false
			}
			i++
		}
		if r < 0x80 && containsBinaryByte([]byte{byte(r)}) {
			return "", false
		}
		sb.WriteRune(r)
	}
	return sb.String(), true
}

// htmlStarts are the tags that make a browser sniff content starting with
// them as HTML (WHATWG MIME sniffing), in lower case.
var htmlStarts = []string{
	"!doctype html", "html", "head", "script", "iframe", "h1", "div", "font", "table", "a",
	"style", "title", "b", "body", "br", "p",
}

// htmlTags are tags that make text that contains them in its first 512
// bytes HTML: browsers that sniff older ways (and careless viewers) render
// such text as a page.
var htmlTags = []string{
	"<!doctype html", "<html", "<head", "<body", "<script", "<iframe", "<frameset",
	"<object", "<embed", "<svg", "<style", "<meta", "<link",
}

// markupType returns image/svg+xml, text/html or application/xml for
// markup, "" for other content.
func markupType(b []byte) string {
	s := bytes.TrimLeft(b, "\t\n\f\r ")
	if len(s) > 0 && s[0] == '<' {
		switch root := rootElement(s); {
		case strings.EqualFold(root, "svg"):
			return typeSVG
		case strings.EqualFold(root, "html"):
			return typeHTML
		}
		for _, t := range htmlStarts {
			if hasTagPrefix(s[1:], t) {
				return typeHTML
			}
		}
	}
	lower := bytes.ToLower(b[:min(len(b), 512)])
	for _, t := range htmlTags {
		if bytes.Contains(lower, []byte(t)) {
			return typeHTML
		}
	}
	if bytes.HasPrefix(s, []byte("<?xml")) || rootElement(s) != "" {
		return typeXML
	}
	return ""
}

// hasTagPrefix reports whether s (after a '<') starts with the tag name,
// case-insensitively, followed by a space or '>' (WHATWG "tag-terminating
// byte").
func hasTagPrefix(s []byte, tag string) bool {
	if len(s) <= len(tag) || !strings.EqualFold(string(s[:len(tag)]), tag) {
		return false
	}
	c := s[len(tag)]
	return c == ' ' || c == '>'
}

// rootElement returns the local name of the first element of markup s,
// after an XML declaration, processing instructions, comments and a
// document type declaration; "" if s does not start like XML.
func rootElement(s []byte) string {
	for {
		s = bytes.TrimLeft(s, "\t\n\f\r ")
		var end string
		switch {
		case bytes.HasPrefix(s, []byte("<?")):
			end = "?>"
		case bytes.HasPrefix(s, []byte("<!--")):
			end = "-->"
		case bytes.HasPrefix(s, []byte("<!")):
			end = ">"
		case bytes.HasPrefix(s, []byte("<")):
			name := s[1:]
			if len(name) == 0 || !isNameStart(name[0]) {
				return ""
			}
			n := 1
			for n < len(name) && (isNameStart(name[n]) || '0' <= name[n] && name[n] <= '9' || name[n] == '-' || name[n] == '.') {
				n++
			}
			local := string(name[:n])
			if i := strings.LastIndexByte(local, ':'); i >= 0 {
				local = local[i+1:]
			}
			return local
		default:
			return ""
		}
		i := bytes.Index(s, []byte(end))
		if i < 0 {
			return ""
		}
		s = s[i+len(end):]
	}
}

// isNameStart reports whether c may start an XML name (any byte of a
// multi-byte character is let through).
func isNameStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == ':' || c == '_' || c >= 0x80
}
