package demo

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/commonshelf/commonshelf/connectors/marc"
)

// generatorVersion changes whenever the generated output would change for
// the same embedded data.
const generatorVersion = "demo-4"

// enteredOn is 008/00-05, the date the record was created: fixed, so the
// output does not depend on the clock (goodbooks-10k was published in 2017).
const enteredOn = "170915"

// series is a goodbooks title split into the title proper and the series
// bracket it often ends with: "The Hunger Games (The Hunger Games, #1)".
type series struct {
	base, name, number string
}

var seriesRe = regexp.MustCompile(`^(.*?)\s*\(([^()]*?),?\s*#\s*([^()#]+)\)$`)

func stripSeries(title string) series {
	m := seriesRe.FindStringSubmatch(title)
	if m == nil || strings.TrimSpace(m[1]) == "" {
		return series{base: title}
	}
	return series{base: strings.TrimSpace(m[1]), name: strings.TrimSpace(m[2]), number: strings.TrimSpace(m[3])}
}

// particles are lowercase or capitalised words that belong to a surname.
var particles = map[string]bool{
	"de": true, "De": true, "van": true, "Van": true, "von": true, "Von": true, "la": true, "La": true,
	"le": true, "Le": true, "du": true, "Du": true, "del": true, "Del": true, "da": true, "Da": true,
	"di": true, "Di": true, "der": true, "den": true, "ten": true, "los": true, "St.": true,
}

var suffixes = map[string]bool{"Jr.": true, "Sr.": true, "Jr": true, "Sr": true, "II": true, "III": true, "IV": true}

// invertName turns "Suzanne Collins" into "Collins, Suzanne" and reports
// whether it did; a single name ("Homer", "Anonymous") stays as it is.
// "Kurt Vonnegut Jr." becomes "Vonnegut, Kurt, Jr.", "Ursula K. Le Guin"
// "Le Guin, Ursula K.".
func invertName(name string) (string, bool) {
	words := strings.Fields(name)
	suffix := ""
	if len(words) > 2 && suffixes[words[len(words)-1]] {
		suffix = words[len(words)-1]
		words = words[:len(words)-1]
	}
	if len(words) < 2 {
		return name, false
	}
	start := len(words) - 1
	for start > 1 && particles[words[start-1]] {
		start--
	}
	out := strings.Join(words[start:], " ") + ", " + strings.Join(words[:start], " ")
	if suffix != "" {
		out += ", " + suffix
	}
	return out, true
}

// nonfiling is the number of leading characters a sort ignores: English
// articles only.
func nonfiling(title, lang string) byte {
	if lang != "eng" && lang != "" {
		return '0'
	}
	for _, a := range []string{"The ", "An ", "A "} {
		if len(title) > len(a) && strings.EqualFold(title[:len(a)], a) {
			return byte('0' + len(a))
		}
	}
	return '0'
}

// field008 builds the 40-character fixed field for a book: date1 from the
// original publication year, blank place, and the language.
func field008(w *work) string {
	dateType, date1 := "s", ""
	switch {
	case !w.HasYear:
		dateType, date1 = "n", "uuuu" // date unknown
	case w.Year < 0:
		dateType, date1 = "b", "    " // B.C. date: MARC has no way to code it
	default:
		date1 = fmt.Sprintf("%04d", w.Year)
	}
	lang := w.Lang
	if lang == "" {
		lang = "   "
	}
	s := enteredOn + dateType + date1 + "    " + "xx " + strings.Repeat(" ", 17) + lang + " " + "d"
	if len(s) != 40 {
		panic("demo: 008 is not 40 characters: " + s)
	}
	return s
}

func sf(code byte, v string) marc.Subfield { return marc.Subfield{Code: code, Value: v} }

func df(tag string, ind1, ind2 byte, subs ...marc.Subfield) marc.DataField {
	return marc.DataField{Tag: tag, Ind1: ind1, Ind2: ind2, Subfields: subs}
}

// isbdTitle splits a title at its first ": " into a 245 $a and $b with
// ISBD punctuation, ending before $c.
func isbdTitle(title string, hasC bool) []marc.Subfield {
	end := "."
	if hasC {
		end = " /"
	}
	if main, sub, ok := strings.Cut(title, ": "); ok && strings.TrimSpace(main) != "" && strings.TrimSpace(sub) != "" {
		return []marc.Subfield{sf('a', strings.TrimSpace(main)+" :"), sf('b', strings.TrimSpace(sub)+end)}
	}
	return []marc.Subfield{sf('a', title+end)}
}

// withPeriod ends s with a full stop unless it already ends with one.
func withPeriod(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return s
	}
	return s + "."
}

// buildRecord writes one member's record for a goodbooks work, in that
// member's cataloguing style. v is non-nil when the work has a planted
// alternate edition; it applies only if v.Member is m.
//
//   - north: RDA, ISBN-10, title from original_title (else the goodbooks
//     title without its series), series in 490, every author, 035 with the
//     Goodreads id.
//   - south: RDA, ISBN-13 only (hyphenated in about half the records, $q
//     pbk. on about a third), the title without its series, names ending
//     with a full stop as in many authority headings.
//   - east: AACR2, ISBN-10 with "(hardcover)" in $a on about a third, an
//     invalid goodbooks ISBN kept as 020 $z, the full goodbooks title with
//     the series bracket, no ISBD punctuation, 035 with the Goodreads id.
//   - west: AACR2, title in capitals, first author only, both ISBN-13 and
//     ISBN-10 on about half the records (ISBN-10 alone on the rest), the
//     year in 260 rather than 264.
//   - central: RDA, ISBN-13, but no ISBN on about 40% of its records.
func buildRecord(m Member, w *work, v *Variant) *marc.Record {
	if v != nil && v.Member != m.ID {
		v = nil
	}
	sid := fmt.Sprint(w.ID)
	u := func(purpose string) float64 { return unit(sid, m.ID, purpose) }
	rda := m.ID == "north" || m.ID == "south" || m.ID == "central"
	desc := byte('a')
	if rda {
		desc = 'i'
	}
	r := &marc.Record{Leader: "00000nam a2200000 " + string(desc) + " 4500"}
	r.Control = []marc.ControlField{
		{Tag: "001", Value: fmt.Sprintf("%s%07d", m.Prefix, w.ID)},
		{Tag: "003", Value: m.Code},
		{Tag: "008", Value: field008(w)},
	}

	// 020: the ISBNs the member records, in its own way.
	isbn10, isbn13 := w.ISBN10, ""
	if isbn10 != "" {
		isbn13 = isbn10to13(isbn10)
	}
	if v != nil {
		// The alternate edition: another ISBN, or none at all.
		isbn10, isbn13 = "", v.ISBN
	}
	var data []marc.DataField
	switch m.ID {
	case "north":
		if isbn10 != "" {
			data = append(data, df("020", ' ', ' ', sf('a', isbn10)))
		} else if isbn13 != "" {
			data = append(data, df("020", ' ', ' ', sf('a', isbn13)))
		}
	case "south":
		if isbn13 != "" {
			s := isbn13
			if u("hyphen") < 0.5 {
				s = hyphenate13(s)
			}
			subs := []marc.Subfield{sf('a', s)}
			if u("pbk") < 0.3 {
				subs = append(subs, sf('q', "pbk."))
			}
			data = append(data, df("020", ' ', ' ', subs...))
		}
	case "east":
		switch {
		case isbn10 != "":
			s := isbn10
			if u("hardcover") < 0.3 {
				s += " (hardcover)"
			}
			data = append(data, df("020", ' ', ' ', sf('a', s)))
		case isbn13 != "":
			data = append(data, df("020", ' ', ' ', sf('a', isbn13)))
		case w.BadISBN != "" && v == nil:
			data = append(data, df("020", ' ', ' ', sf('z', w.BadISBN)))
		}
	case "west":
		if isbn13 != "" && (isbn10 == "" || u("both") < 0.5) {
			data = append(data, df("020", ' ', ' ', sf('a', isbn13)))
		}
		if isbn10 != "" {
			data = append(data, df("020", ' ', ' ', sf('a', isbn10)))
		}
	case "central":
		if isbn13 != "" && u("noisbn") >= 0.4 {
			data = append(data, df("020", ' ', ' ', sf('a', isbn13)))
		}
	}
	if (m.ID == "north" || m.ID == "east") && v == nil && w.GoodreadsID != "" {
		data = append(data, df("035", ' ', ' ', sf('a', "(Goodreads)"+w.GoodreadsID)))
	}
	f040 := []marc.Subfield{sf('a', m.Code), sf('b', "eng")}
	if rda {
		f040 = append(f040, sf('e', "rda"))
	}
	data = append(data, df("040", ' ', ' ', append(f040, sf('c', m.Code))...))

	// Authors: 100 for the first, 700 for the others (west: first only).
	authors := w.Authors
	if m.ID == "west" && len(authors) > 1 {
		authors = authors[:1]
	}
	for i, a := range authors {
		name, inverted := invertName(a)
		ind1 := byte('0')
		if inverted {
			ind1 = '1'
		}
		if m.ID == "south" {
			name = withPeriod(name)
		}
		tag := "700"
		if i == 0 {
			tag = "100"
		}
		data = append(data, df(tag, ind1, ' ', sf('a', name)))
	}

	// 245 and friends.
	ser := stripSeries(w.Title)
	title := ser.base
	switch m.ID {
	case "north":
		if w.OrigTitle != "" {
			title = w.OrigTitle
		}
	case "east":
		title = w.Title
	case "west":
		title = strings.ToUpper(ser.base)
	}
	ind1 := byte('0')
	if len(authors) > 0 {
		ind1 = '1'
	}
	resp := strings.Join(authors, ", ")
	var t245 []marc.Subfield
	if m.ID == "north" || m.ID == "south" {
		t245 = isbdTitle(title, resp != "")
		if resp != "" {
			t245 = append(t245, sf('c', withPeriod(resp)))
		}
	} else {
		t245 = []marc.Subfield{sf('a', title)}
		if resp != "" {
			t245 = append(t245, sf('c', resp))
		}
	}
	data = append(data, df("245", ind1, nonfiling(title, w.Lang), t245...))
	if m.ID == "north" && !strings.EqualFold(title, ser.base) {
		data = append(data, df("246", '3', ' ', sf('a', ser.base)))
	}
	if v != nil {
		data = append(data, df("250", ' ', ' ', sf('a', "Alternate edition.")))
	}
	if w.HasYear && w.Year > 0 {
		year := fmt.Sprint(w.Year)
		switch m.ID {
		case "north", "south":
			data = append(data, df("264", ' ', '1', sf('c', year+".")))
		case "west":
			data = append(data, df("260", ' ', ' ', sf('c', year)))
		default:
			data = append(data, df("264", ' ', '1', sf('c', year)))
		}
	}
	if m.ID == "north" && ser.name != "" {
		data = append(data, df("490", '0', ' ', sf('a', ser.name+" ;"), sf('v', ser.number)))
	}
	if v != nil {
		note := "Demo record: an alternate edition of this work, generated by Commonshelf."
		if v.ISBN != "" {
			note += " Its ISBN is synthetic."
		}
		data = append(data, df("500", ' ', ' ', sf('a', note)))
	}
	// 700s were appended with the 100; move them after the descriptive
	// fields so that the tags stay in order.
	r.Data = sortByTag(data)
	return r
}

// sortByTag orders fields by tag, keeping the order of equal tags.
func sortByTag(fields []marc.DataField) []marc.DataField {
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].Tag < fields[j].Tag })
	return fields
}
