package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// minContrast is WCAG 2.1 AA's contrast for normal text.
const minContrast = 4.5

// BrandCSS is the style sheet of an institution's colour: --brand, the
// colour of the header (behind white text), links and buttons. A colour
// too light for 4.5:1 against white is darkened until it is not. ok is
// false for a colour that is not #rgb or #rrggbb.
func BrandCSS(color string) (css []byte, ok bool) {
	rgb, ok := parseHex(color)
	if !ok {
		return nil, false
	}
	rgb = readableOnWhite(rgb)
	return fmt.Appendf(nil, ":root{--brand:#%02x%02x%02x}\n", rgb[0], rgb[1], rgb[2]), true
}

func parseHex(s string) ([3]uint8, bool) {
	var out [3]uint8
	s, ok := strings.CutPrefix(s, "#")
	if !ok {
		return out, false
	}
	if len(s) == 3 {
		s = string([]byte{s[0], s[0], s[1], s[1], s[2], s[2]})
	}
	if len(s) != 6 {
		return out, false
	}
	for i := range 3 {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return out, false
		}
		out[i] = uint8(v)
	}
	return out, true
}

// luminance is the WCAG relative luminance of a colour.
func luminance(c [3]uint8) float64 {
	var l [3]float64
	for i, v := range c {
		x := float64(v) / 255
		if x <= 0.03928 {
			l[i] = x / 12.92
		} else {
			l[i] = math.Pow((x+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

// contrastWithWhite is the WCAG contrast ratio of white against c.
func contrastWithWhite(c [3]uint8) float64 { return 1.05 / (luminance(c) + 0.05) }

// readableOnWhite darkens c in small steps, keeping its hue, until white
// text on it (and it as text on white) reaches minContrast.
func readableOnWhite(c [3]uint8) [3]uint8 {
	for contrastWithWhite(c) < minContrast {
		for i := range c {
			c[i] = uint8(float64(c[i]) * 0.92)
		}
	}
	return c
}
