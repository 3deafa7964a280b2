package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed messages/*.json
var messageFiles embed.FS

// DefaultLanguage is the language used when nothing else decides, and the
// catalogue every other one is checked against.
const DefaultLanguage = "en"

// entry is one interface string: a plain text, or plural forms chosen by a
// count ("one", "other").
type entry struct {
	Text   string
	Plural map[string]string
}

func (e *entry) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &e.Text)
	}
	return json.Unmarshal(b, &e.Plural)
}

// catalogue is one language's interface strings.
type catalogue struct {
	code     string
	name     string // the language's own name, "Français"
	tag      language.Tag
	messages map[string]entry
}

// catalogues are the message files, by language code.
type catalogues map[string]*catalogue

func loadCatalogues(fsys fs.FS) (catalogues, error) {
	files, err := fs.Glob(fsys, "messages/*.json")
	if err != nil {
		return nil, err
	}
	out := catalogues{}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		var m map[string]entry
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("message catalogue %s: %w", f, err)
		}
		code := strings.TrimSuffix(path.Base(f), ".json")
		tag, err := language.Parse(code)
		if err != nil {
			return nil, fmt.Errorf("message catalogue %s: %w", f, err)
		}
		out[code] = &catalogue{code: code, name: m["language.name"].Text, tag: tag, messages: m}
	}
	if out[DefaultLanguage] == nil {
		return nil, fmt.Errorf("no %s message catalogue", DefaultLanguage)
	}
	return out, nil
}

// codes lists the languages, the default first, then alphabetically.
func (c catalogues) codes() []string {
	out := make([]string, 0, len(c))
	for code := range c {
		if code != DefaultLanguage {
			out = append(out, code)
		}
	}
	slices.Sort(out)
	return append([]string{DefaultLanguage}, out...)
}

// Negotiate picks the interface language: an explicit choice (?lang=) first,
// then the browser's Accept-Language, then the institution's configured
// language, then the consortium's; a language without a catalogue is passed
// over, and English is the last resort.
func (r *Renderer) Negotiate(explicit, acceptLanguage, institution, consortium string) string {
	if c := r.base(explicit); c != "" {
		return c
	}
	if acceptLanguage != "" {
		if tags, _, err := language.ParseAcceptLanguage(acceptLanguage); err == nil {
			for _, t := range tags {
				if c := r.base(t.String()); c != "" {
					return c
				}
			}
		}
	}
	if c := r.base(institution); c != "" {
		return c
	}
	if c := r.base(consortium); c != "" {
		return c
	}
	return DefaultLanguage
}

// base returns the catalogue code for a language tag ("fr-CA" → "fr"), or
// "" when there is none.
func (r *Renderer) base(tag string) string {
	tag = strings.TrimSpace(tag)
	if tag == "" || len(tag) > 35 {
		return ""
	}
	t, err := language.Parse(tag)
	if err != nil {
		return ""
	}
	b, _ := t.Base()
	if _, ok := r.cats[b.String()]; ok {
		return b.String()
	}
	return ""
}

// Localizer renders interface text in one language: messages from its
// catalogue (falling back to English for a missing key), numbers with the
// language's separators, dates with its month names.
type Localizer struct {
	Lang    string
	cat     *catalogue
	fall    *catalogue
	printer *message.Printer
}

// Localizer returns the localizer of a language code (English when it has
// no catalogue).
func (r *Renderer) Localizer(code string) *Localizer {
	c, ok := r.cats[code]
	if !ok {
		c = r.cats[DefaultLanguage]
	}
	return &Localizer{Lang: c.code, cat: c, fall: r.cats[DefaultLanguage], printer: message.NewPrinter(c.tag)}
}

func (l *Localizer) lookup(key string) (entry, bool) {
	if e, ok := l.cat.messages[key]; ok {
		return e, true
	}
	e, ok := l.fall.messages[key]
	return e, ok
}

// Has reports whether key has a message.
func (l *Localizer) Has(key string) bool { _, ok := l.lookup(key); return ok }

// T is the message key formatted with args (fmt verbs, numbers with the
// language's separators). A missing key shows itself, so it is noticed.
func (l *Localizer) T(key string, args ...any) string {
	e, ok := l.lookup(key)
	if !ok {
		return key
	}
	text := e.Text
	if text == "" && e.Plural != nil {
		text = e.Plural["other"]
	}
	if len(args) == 0 {
		return text
	}
	return l.printer.Sprintf(text, args...)
}

// N is the plural message key for the count n, formatted with n and then
// args.
func (l *Localizer) N(key string, n int, args ...any) string {
	e, ok := l.lookup(key)
	if !ok {
		return key
	}
	text := e.Text
	if e.Plural != nil {
		text = e.Plural[pluralForm(l.Lang, n)]
		if text == "" {
			text = e.Plural["other"]
		}
	}
	return l.printer.Sprintf(text, append([]any{n}, args...)...)
}

// pluralForm is the CLDR plural category of n for the catalogue languages:
// French counts 0 and 1 as "one", English and German only 1.
func pluralForm(lang string, n int) string {
	switch {
	case lang == "fr" && (n == 0 || n == 1):
		return "one"
	case lang != "fr" && n == 1:
		return "one"
	}
	return "other"
}

// Number formats n with the language's digit grouping.
func (l *Localizer) Number(n int) string { return l.printer.Sprintf("%d", n) }

// Date formats a date written as RFC 3339 (or its date part) in the
// language's long form; anything else is shown as written.
func (l *Localizer) Date(s string) string {
	var t time.Time
	var err error
	if t, err = time.Parse(time.RFC3339, s); err != nil {
		if t, err = time.Parse(time.DateOnly, s); err != nil {
			return s
		}
	}
	month := l.T(fmt.Sprintf("month.%d", int(t.Month())))
	return l.T("date.long", t.Day(), month, strconv.Itoa(t.Year()))
}
