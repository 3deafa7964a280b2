package files

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestCleanName(t *testing.T) {
	long := strings.Repeat("a", 198) + "é" + strings.Repeat("b", 300) + ".pdf" // é straddles the cut
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"a plain name", "Chapter 3.pdf", "Chapter 3.pdf"},
		{"a Unix path traversal", "../../etc/passwd", "passwd"},
		{"a Windows path traversal", `..\..\boot.ini`, "boot.ini"},
		{"a Windows path", `C:\Users\ada\Documents\essay.docx`, "essay.docx"},
		{"a trailing separator", "notes/", "file"},
		{"percent-encoded separators stay text", "..%2F..%2Fetc%2Fpasswd", "%2F..%2Fetc%2Fpasswd"},
		{"a device name with an extension", "CON.txt", "_CON.txt"},
		{"a device name in lower case", "nul", "_nul"},
		{"a numbered device name", "com1.pdf", "_com1.pdf"},
		{"a device name with a superscript digit", "LPT¹.doc", "_LPT¹.doc"},
		{"a name that only starts like a device", "CONTENTS.pdf", "CONTENTS.pdf"},
		{"control characters and NULs", "re\x00port\x07\x1b.pdf\x7f", "report.pdf"},
		{"line breaks and tabs become spaces", "week\r\n1\tnotes.txt", "week 1 notes.txt"},
		{"a right-to-left override", "invoice\u202Efdp.exe", "invoicefdp.exe"},
		{"a zero-width space", "no\u200Bspace.txt", "nospace.txt"},
		{"characters Windows forbids", `what? "why": <a|b>*.txt`, "what_ _why__ _a_b__.txt"},
		{"runs of white space", "  lots   of\u00a0 space  .pdf", "lots of space .pdf"},
		{"a hidden file with spaces", "  .hidden ", "hidden"},
		{"trailing dots", "notes.txt...", "notes.txt"},
		{"only dots", "..", "file"},
		{"empty", "", "file"},
		{"only control characters", "\x00\x01\x02", "file"},
		{"invalid UTF-8", "caf\xe9.txt", "caf\uFFFD.txt"},
		{"a long name cut inside a multi-byte character", long, strings.Repeat("a", 196) + ".pdf"},
		{"a long name whose extension is long too", strings.Repeat("x", 250) + "." + strings.Repeat("y", 50), strings.Repeat("x", 200)},
		{"a long device name", "CON." + strings.Repeat("z", 300), "_CON." + strings.Repeat("z", 195)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := CleanName(tc.in)
			if got != tc.want {
				t.Errorf("CleanName(%q) = %q, want %q", tc.in, got, tc.want)
			}
			checkCleanName(t, tc.in, got)
		})
	}
}

func TestCleanNameCutKeepsValidUTF8(t *testing.T) {
	// Every position of a 3-byte character across the 200-byte cut.
	for pad := 190; pad <= 200; pad++ {
		in := strings.Repeat("a", pad) + strings.Repeat("€", 20) + ".docx"
		got := CleanName(in)
		if !strings.HasSuffix(got, ".docx") {
			t.Errorf("pad %d: extension lost: %q", pad, got)
		}
		checkCleanName(t, in, got)
	}
}

// checkCleanName checks what CleanName promises of any name.
func checkCleanName(t *testing.T, in, got string) {
	t.Helper()
	switch {
	case got == "":
		t.Errorf("CleanName(%q) is empty", in)
	case len(got) > MaxNameLen:
		t.Errorf("CleanName(%q) is %d bytes long", in, len(got))
	case !utf8.ValidString(got):
		t.Errorf("CleanName(%q) = %q is not valid UTF-8", in, got)
	case strings.ContainsAny(got, `/\<>:"|?*`):
		t.Errorf("CleanName(%q) = %q holds a separator or a forbidden character", in, got)
	case strings.IndexFunc(got, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0:
		t.Errorf("CleanName(%q) = %q holds a control character", in, got)
	case strings.HasPrefix(got, ".") || strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") || strings.HasSuffix(got, "."):
		t.Errorf("CleanName(%q) = %q starts or ends with a dot or a space", in, got)
	case strings.Contains(got, "  "):
		t.Errorf("CleanName(%q) = %q holds a run of spaces", in, got)
	case isDeviceName(got):
		t.Errorf("CleanName(%q) = %q is a device name", in, got)
	case CleanName(got) != got:
		t.Errorf("CleanName is not idempotent: %q → %q → %q", in, got, CleanName(got))
	}
}

func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"../../etc/passwd", `..\..\boot.ini`, "CON.txt", "  .hidden ", "", "a\u202Eb", strings.Repeat("é", 150) + ".pdf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkCleanName(t, in, CleanName(in))
	})
}
