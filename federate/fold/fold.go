// Package fold reduces text to its accentless search form, so that
// "Müller" and "Muller", "García" and "Garcia" index and match alike. Both
// bleve indexes of the project — members' catalogues (connectors/local) and
// resource lists (index) — fold with it.
package fold

import (
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"golang.org/x/text/unicode/norm"
)

var ascii = asciifolding.New()

// Bytes folds in: compatibility decomposition, removal of the combining
// diacritics used on Latin, Greek and Cyrillic letters (whether the text
// came precomposed or decomposed, as MARC-8 conversions send it),
// recomposition, then ASCII folding for letters without a decomposition
// (ø, ł, ß, æ, …). Pure ASCII input is returned as is, unallocated.
func Bytes(in []byte) []byte {
	plain := true
	for _, c := range in {
		if c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		return in
	}
	d := norm.NFKD.Bytes(in)
	out := d[:0]
	for i := 0; i < len(d); {
		r, n := utf8.DecodeRune(d[i:])
		if !isDiacritic(r) {
			out = append(out, d[i:i+n]...)
		}
		i += n
	}
	return ascii.Filter(norm.NFC.Bytes(out))
}

// isDiacritic reports whether r is a combining mark of the blocks used as
// accents on Latin, Greek and Cyrillic letters. Marks of other scripts
// (vowel signs, points) are kept: they distinguish words.
func isDiacritic(r rune) bool {
	switch {
	case r >= 0x0300 && r <= 0x036F, // combining diacritical marks
		r >= 0x1AB0 && r <= 0x1AFF, // … extended
		r >= 0x1DC0 && r <= 0x1DFF, // … supplement
		r >= 0x20D0 && r <= 0x20FF, // … for symbols
		r >= 0xFE20 && r <= 0xFE2F: // combining half marks (MARC double tilde)
		return unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r)
	}
	return false
}
