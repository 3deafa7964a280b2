package marc

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// charsetFromDeclaration looks at the XML declaration at the start of src
// and, for the single-byte Western encodings that MARCXML exports sometimes
// declare, returns a wrapper that decodes to UTF-8. It returns nil for UTF-8,
// no declaration, or an encoding it does not know (read as UTF-8, with bad
// bytes becoming U+FFFD).
func charsetFromDeclaration(src *bufio.Reader) func(io.Reader) io.Reader {
	head, _ := src.Peek(512)
	if !bytes.HasPrefix(head, []byte("<?xml")) {
		return nil
	}
	end := bytes.Index(head, []byte("?>"))
	if end < 0 {
		return nil
	}
	decl := string(head[:end])
	i := strings.Index(decl, "encoding")
	if i < 0 {
		return nil
	}
	rest := strings.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	rest = strings.TrimPrefix(rest, "=")
	rest = strings.TrimLeft(rest, " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return nil
	}
	q := rest[0]
	rest = rest[1:]
	j := strings.IndexByte(rest, q)
	if j < 0 {
		return nil
	}
	var cm *charmap.Charmap
	switch strings.ToLower(rest[:j]) {
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1":
		cm = charmap.ISO8859_1
	case "windows-1252", "cp1252":
		cm = charmap.Windows1252
	case "iso-8859-15", "latin-9":
		cm = charmap.ISO8859_15
	default:
		return nil
	}
	return func(r io.Reader) io.Reader { return cm.NewDecoder().Reader(r) }
}

// MARC-8 to UTF-8, for the part of MARC-8 that is simple: ASCII as the G0
// set and ANSEL (extended Latin) as the G1 set, which covers the records of
// Western-language collections. Escape sequences that switch to other MARC-8
// sets (CJK, Cyrillic, Arabic, Hebrew, Greek, sub/superscripts) are not
// decoded: the text in them becomes one U+FFFD per run.

// anselSpecial maps ANSEL spacing characters 0xA1..0xC8.
var anselSpecial = map[byte]rune{
	0xA1: 'Ł', 0xA2: 'Ø', 0xA3: 'Đ', 0xA4: 'Þ', 0xA5: 'Æ', 0xA6: 'Œ', 0xA7: 'ʹ',
	0xA8: '·', 0xA9: '♭', 0xAA: '®', 0xAB: '±', 0xAC: 'Ơ', 0xAD: 'Ư', 0xAE: 'ʼ',
	0xB0: 'ʻ', 0xB1: 'ł', 0xB2: 'ø', 0xB3: 'đ', 0xB4: 'þ', 0xB5: 'æ', 0xB6: 'œ',
	0xB7: 'ʺ', 0xB8: 'ı', 0xB9: '£', 0xBA: 'ð', 0xBC: 'ơ', 0xBD: 'ư',
	0xC0: '°', 0xC1: 'ℓ', 0xC2: '℗', 0xC3: '©', 0xC4: '♯', 0xC5: '¿', 0xC6: '¡',
	0xC7: 'ß', 0xC8: '€',
}

// anselCombining maps ANSEL combining marks 0xE0..0xFE to Unicode combining
// characters. In MARC-8 the mark comes before its base letter; in Unicode
// after it.
var anselCombining = map[byte]rune{
	0xE0: '\u0309', 0xE1: '\u0300', 0xE2: '\u0301', 0xE3: '\u0302', 0xE4: '\u0303',
	0xE5: '\u0304', 0xE6: '\u0306', 0xE7: '\u0307', 0xE8: '\u0308', 0xE9: '\u030C',
	0xEA: '\u030A', 0xEB: '\uFE20', 0xEC: '\uFE21', 0xED: '\u0315', 0xEE: '\u030B',
	0xEF: '\u0310', 0xF0: '\u0327', 0xF1: '\u0328', 0xF2: '\u0323', 0xF3: '\u0324',
	0xF4: '\u0325', 0xF5: '\u0333', 0xF6: '\u0332', 0xF7: '\u0326', 0xF8: '\u031C',
	0xF9: '\u032E', 0xFA: '\uFE22', 0xFB: '\uFE23', 0xFE: '\u0313',
}

func marc8ToUTF8(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/4)
	var marks []rune
	base := func(r rune) {
		sb.WriteRune(r)
		for _, m := range marks {
			sb.WriteRune(m)
		}
		marks = marks[:0]
	}
	other := false // inside an escape to an unsupported set
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == 0x1B {
			// ESC, intermediate bytes 0x20..0x2F, then a final byte.
			j := i + 1
			for j < len(b) && b[j] >= 0x20 && b[j] <= 0x2F {
				j++
			}
			final := byte(0)
			if j < len(b) {
				final = b[j]
			}
			i = j
			switch final {
			case 'B', 's', 'E': // ASCII back in G0, or ANSEL in G1
				other = false
			default:
				if !other {
					base(utf8.RuneError)
				}
				other = true
			}
			continue
		}
		if other {
			if c == ' ' {
				base(' ')
			}
			continue
		}
		switch {
		case c < 0x80:
			base(rune(c))
		case anselCombining[c] != 0:
			marks = append(marks, anselCombining[c])
		case anselSpecial[c] != 0:
			base(anselSpecial[c])
		default:
			base(utf8.RuneError)
		}
	}
	for _, m := range marks { // marks with no base letter
		sb.WriteRune(m)
	}
	return norm.NFC.String(sb.String())
}
