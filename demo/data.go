package demo

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The source sets, copied into the repository by mkdata.go so that the demo
// works without the shared data folder. See data/NOTICE.md for attribution.
//
//go:embed data
var dataFS embed.FS

// work is one goodbooks-10k row, cleaned.
type work struct {
	ID          int
	GoodreadsID string
	WorkID      string
	ISBN10      string // zero-padded and check-digit valid, or ""
	BadISBN     string // zero-padded ISBN whose check digit is wrong, or ""
	Authors     []string
	Year        int
	HasYear     bool
	OrigTitle   string
	Title       string // as goodbooks has it, series bracket included
	Lang        string // MARC language code or ""
}

// readGz returns the decompressed contents of an embedded .gz file.
func readGz(name string) ([]byte, error) {
	f, err := dataFS.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("demo: %s: %w", name, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("demo: %s: %w", name, err)
	}
	return b, nil
}

// dataHash is a digest of every embedded file, part of the stamp: a binary
// with different source data never trusts an older generated directory.
func dataHash() (string, error) {
	h := sha256.New()
	var names []string
	err := fs.WalkDir(dataFS, "data", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := dataFS.ReadFile(n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// languages maps goodbooks language codes to MARC language codes. Codes
// that goodbooks already spells the MARC way are listed too, so that an
// unexpected code is left blank rather than passed through.
var languages = map[string]string{
	"eng": "eng", "en": "eng", "en-US": "eng", "en-GB": "eng", "en-CA": "eng",
	"spa": "spa", "es": "spa", "fre": "fre", "fr": "fre", "ger": "ger", "de": "ger",
	"ita": "ita", "it": "ita", "jpn": "jpn", "ja": "jpn", "ara": "ara", "ar": "ara",
	"por": "por", "pt": "por", "ind": "ind", "per": "per", "pol": "pol",
	"nor": "nor", "dan": "dan", "fil": "fil", "nl": "dut", "dut": "dut",
	"vie": "vie", "tur": "tur", "swe": "swe", "rum": "rum", "rus": "rus", "mul": "mul",
}

var spaces = regexp.MustCompile(`\s+`)

func clean(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }

// loadWorks parses the embedded goodbooks-10k CSV.
func loadWorks() ([]work, error) {
	b, err := readGz("data/goodbooks/books.csv.gz")
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(b))
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("demo: books.csv: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, need := range []string{"book_id", "goodreads_book_id", "work_id", "isbn", "authors",
		"original_publication_year", "original_title", "title", "language_code"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("demo: books.csv: no column %q", need)
		}
	}
	var works []work
	for {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("demo: books.csv: %w", err)
		}
		id, err := strconv.Atoi(row[col["book_id"]])
		if err != nil {
			return nil, fmt.Errorf("demo: books.csv: book_id %q: %w", row[col["book_id"]], err)
		}
		w := work{
			ID:          id,
			GoodreadsID: row[col["goodreads_book_id"]],
			WorkID:      row[col["work_id"]],
			OrigTitle:   clean(row[col["original_title"]]),
			Title:       clean(row[col["title"]]),
			Lang:        languages[row[col["language_code"]]],
		}
		if raw := strings.TrimSpace(row[col["isbn"]]); raw != "" {
			// The column was stored as a number and lost its leading zeros.
			padded := strings.ToUpper(strings.Repeat("0", max(0, 10-len(raw))) + raw)
			if validISBN10(padded) {
				w.ISBN10 = padded
			} else {
				w.BadISBN = padded
			}
		}
		for _, a := range strings.Split(row[col["authors"]], ",") {
			if a = clean(a); a != "" {
				w.Authors = append(w.Authors, a)
			}
		}
		if y := strings.TrimSpace(row[col["original_publication_year"]]); y != "" {
			f, err := strconv.ParseFloat(y, 64)
			if err == nil {
				w.Year, w.HasYear = int(f), true
			}
		}
		works = append(works, w)
	}
	sort.Slice(works, func(i, j int) bool { return works[i].ID < works[j].ID })
	return works, nil
}

// specialFile is a source file written unchanged (decompressed) into the
// generated directory as part of one member's special collection.
type specialFile struct {
	Member string
	Src    string // embedded path
	Dst    string // path relative to the generated directory
}

var specialFiles = []specialFile{
	{"north", "data/loc/loc_bib_sample.mrc.gz", "special/loc_bib_sample.mrc"},
	{"south", "data/pennstate/pennstate-600.xml.gz", "special/pennstate-600.xml"},
	{"east", "data/trln/duke.xml.gz", "special/trln-duke.xml"},
	{"east", "data/trln/duke.mrc.gz", "special/trln-duke.mrc"},
	{"east", "data/trln/unc.xml.gz", "special/trln-unc.xml"},
	{"east", "data/trln/unc.mrc.gz", "special/trln-unc.mrc"},
	{"west", "data/trln/ncsu.xml.gz", "special/trln-ncsu.xml"},
	{"west", "data/trln/nccu.xml.gz", "special/trln-nccu.xml"},
}

// recordTag matches a start or end tag of an element named record, with
// any namespace prefix.
var recordTag = regexp.MustCompile(`<(/?)(?:[A-Za-z][\w.-]*:)?record(?:\s[^>]*)?>`)

// countRecords counts the MARC records in a special-collection file without
// parsing it strictly: some of these files hold records a strict parser
// rejects, and they still count as the member's holdings. In MARCXML, a
// record element that contains no other record element is a MARC record;
// one that does is a wrapper (the OAI-PMH <record> of the Penn State file).
func countRecords(name string, b []byte) int {
	if strings.HasSuffix(name, ".mrc") {
		return bytes.Count(b, []byte{0x1d})
	}
	var nested []bool // per open record: has it a record inside?
	n := 0
	for _, m := range recordTag.FindAllSubmatch(b, -1) {
		if len(m[1]) == 0 {
			if len(nested) > 0 {
				nested[len(nested)-1] = true
			}
			nested = append(nested, false)
			continue
		}
		if len(nested) == 0 {
			continue
		}
		if !nested[len(nested)-1] {
			n++
		}
		nested = nested[:len(nested)-1]
	}
	return n
}
