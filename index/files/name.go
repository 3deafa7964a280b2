package files

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen is the longest name CleanName returns, in bytes.
const MaxNameLen = 200

// maxExtLen is the longest extension (with its dot) CleanName keeps when it
// shortens a name; a longer "extension" is cut like the rest.
const maxExtLen = 16

// CleanName makes a user's file name safe to store, to show and to send in
// a Content-Disposition header (which still needs quoting or RFC 5987
// encoding there: the name may hold any other Unicode character):
//
//   - Only the last path element is kept, with both / and \ as separators
//     ("../../etc/passwd" → "passwd", `..\..\boot.ini` → "boot.ini").
//     Percent escapes are not decoded: the transport has decoded the name
//     once already, and decoding again would turn a literal "%2F" into a
//     separator. The name is never used as a path; "%" is kept as it is.
//   - Invalid UTF-8 becomes U+FFFD. Control characters (NULs included) and
//     invisible format characters (bidirectional overrides that could make
//     "cod.exe" look like "exe.doc", zero-width spaces) are dropped; tabs and
//     line breaks count as spaces. Characters Windows forbids in names
//     (< > : " | ? *) become "_".
//   - Runs of white space become one space; spaces and dots are trimmed at
//     both ends (leading dots hide files, trailing ones Windows drops).
//   - A name that is longer than MaxNameLen bytes is cut at a character
//     boundary, keeping its extension (up to 16 bytes).
//   - A Windows device name (CON, PRN, AUX, NUL, COM0–COM9, LPT0–LPT9,
//     with or without an extension) gets a leading "_": "CON.txt" →
//     "_CON.txt".
//   - An empty result becomes "file".
//
// CleanName(CleanName(s)) == CleanName(s).
func CleanName(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	b.Grow(len(name))
	space := false
	for _, r := range name {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			continue
		case strings.ContainsRune(`<>:"|?*`, r):
			r = '_'
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	name = trimName(b.String())
	if len(name) > MaxNameLen {
		name = shorten(name)
	}
	if isDeviceName(name) {
		name = "_" + name
		if len(name) > MaxNameLen {
			name = shorten(name)
		}
	}
	if name == "" {
		return "file"
	}
	return name
}

// trimName trims spaces and dots at both ends.
func trimName(s string) string { return strings.Trim(s, " .") }

// shorten cuts a clean name to MaxNameLen bytes at a character boundary,
// keeping its extension when that is short.
func shorten(name string) string {
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= maxExtLen {
		name, ext = name[:i], name[i:]
	}
	base := cutUTF8(name, MaxNameLen-len(ext))
	if base = trimName(base); base == "" {
		return trimName(cutUTF8(name+ext, MaxNameLen))
	}
	return base + ext
}

// cutUTF8 returns the longest prefix of s of at most n bytes that ends at a
// character boundary.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// isDeviceName reports whether a name is one of the names Windows reserves
// for devices, which it resolves whatever the extension ("nul.txt" is NUL).
func isDeviceName(name string) bool {
	base, _, _ := strings.Cut(name, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) {
		return '0' <= base[3] && base[3] <= '9'
	}
	// COM¹, LPT² …: Windows reserves the superscript digits too.
	if rest, ok := strings.CutPrefix(base, "COM"); ok {
		return rest == "¹" || rest == "²" || rest == "³"
	}
	if rest, ok := strings.CutPrefix(base, "LPT"); ok {
		return rest == "¹" || rest == "²" || rest == "³"
	}
	return false
}

// otherExtensions are extensions, beyond those of the detected types, that
// NameFor replaces rather than keeps in front of the right one: names of
// pages, scripts and programs that an operating system or a browser would
// open as such.
var otherExtensions = map[string]bool{
	".xhtml": true, ".shtml": true, ".mht": true, ".mhtml": true, ".svgz": true, ".xsl": true, ".xslt": true,
	".js": true, ".mjs": true, ".json": true, ".css": true, ".php": true, ".asp": true, ".aspx": true, ".jsp": true,
	".com": true, ".bat": true, ".cmd": true, ".scr": true, ".msi": true, ".ps1": true, ".vbs": true, ".vbe": true,
	".jse": true, ".wsf": true, ".hta": true, ".lnk": true, ".url": true, ".jar": true, ".sh": true, ".app": true,
	".dmg": true, ".apk": true, ".swf": true, ".md": true, ".csv": true, ".tsv": true, ".bin": true,
}

// NameFor returns a clean file name (see CleanName) whose extension agrees
// with the detected media type, so that the name a download is saved under
// never makes the reader's computer open it as something it is not — a
// text file called notes.html opened by a browser, a PDF called run.bat.
//
// A name whose extension already names the type (in any case: "scan.PDF",
// "photo.jpeg") is kept as it is. A name ending in the extension of another
// type, or of a page, script or program, has it replaced by the type's
// canonical one: text named notes.html becomes notes.txt, a PDF named
// notes.html notes.pdf. Any other name gets the canonical extension
// appended, so that what looks like an extension but is part of the
// title stays ("Week 3 reading" → "Week 3 reading.pdf", "notes v1.2" →
// "notes v1.2.txt"). Renaming rather than refusing is what a librarian
// expects: the content is what was meant to be shared, and the answer (and
// the list) shows the name it is stored under. A type without a usual
// extension gets ".bin".
func NameFor(name, mediaType string) string {
	name = CleanName(name)
	exts := extensions[baseType(mediaType)]
	want := ".bin"
	if len(exts) > 0 {
		want = exts[0]
	} else {
		exts = []string{want}
	}
	i := strings.LastIndexByte(name, '.')
	if i > 0 {
		ext := strings.ToLower(name[i:])
		for _, e := range exts {
			if ext == e {
				return name
			}
		}
		if knownExtension(ext) {
			name = name[:i]
		}
	}
	return CleanName(name + want)
}

// knownExtension reports whether ext (lower case, with its dot) is the
// extension of a type Detect names or one of otherExtensions.
func knownExtension(ext string) bool {
	if otherExtensions[ext] {
		return true
	}
	for _, exts := range extensions {
		for _, e := range exts {
			if e == ext {
				return true
			}
		}
	}
	return false
}
