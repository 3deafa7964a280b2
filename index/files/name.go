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
