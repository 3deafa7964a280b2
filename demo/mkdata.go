//go:build ignore

// mkdata copies the real bibliographic source sets into demo/data, the copy
// that package demo embeds. It is run by hand when the sources change:
//
//	go run ./demo/mkdata.go -src /path/to/shared/data -dst demo/data
//
// goodbooks-10k, the Library of Congress sample and the Penn State file are
// copied whole (gzip-compressed). From TRLN's per-institution files it keeps
// the bibliographic records: it drops files that are not MARC or not
// well-formed, records that are fragments (fewer than 10 fields) or labelled
// as test records, and records already taken from an earlier file of the same
// institution (many files repeat one record to exercise one field). What it
// kept and dropped is written to data/trln/MANIFEST.txt.
//
// data/NOTICE.md, data/loc/LICENSE.txt (the sample has no licence file: it
// is public domain) and data/pennstate/LICENSE (the Apache License 2.0 text;
// the source set ships none) are kept by hand.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

func main() {
	src := flag.String("src", "/work/shared/data", "directory holding the shared source sets")
	dst := flag.String("dst", "demo/data", "output directory")
	flag.Parse()

	copyGz(filepath.Join(*src, "goodbooks-10k/books.csv"), filepath.Join(*dst, "goodbooks/books.csv.gz"))
	copyPlain(filepath.Join(*src, "goodbooks-10k/LICENSE"), filepath.Join(*dst, "goodbooks/LICENSE"))
	copyGz(filepath.Join(*src, "loc-sample/loc_bib_sample.mrc"), filepath.Join(*dst, "loc/loc_bib_sample.mrc.gz"))
	copyGz(filepath.Join(*src, "pennstate/pennstate-600.xml"), filepath.Join(*dst, "pennstate/pennstate-600.xml.gz"))
	copyPlain(filepath.Join(*src, "trln/LICENSE.txt"), filepath.Join(*dst, "trln/LICENSE.txt"))

	var manifest bytes.Buffer
	manifest.WriteString("TRLN records selected by demo/mkdata.go from github.com/trln/marc-to-argot spec/data\n")
	manifest.WriteString("(one line per source file: kept records / records in file, and why any were dropped)\n")
	for _, inst := range []string{"duke", "nccu", "ncsu", "unc"} {
		trln(filepath.Join(*src, "trln", inst), filepath.Join(*dst, "trln"), inst, &manifest)
	}
	must(os.WriteFile(filepath.Join(*dst, "trln/MANIFEST.txt"), manifest.Bytes(), 0o644))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func writeGz(path string, data []byte) {
	must(os.MkdirAll(filepath.Dir(path), 0o755))
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	must(err)
	_, err = zw.Write(data)
	must(err)
	must(zw.Close())
	must(os.WriteFile(path, buf.Bytes(), 0o644))
}

func copyGz(from, to string) {
	b, err := os.ReadFile(from)
	must(err)
	writeGz(to, b)
}

func copyPlain(from, to string) {
	b, err := os.ReadFile(from)
	must(err)
	must(os.MkdirAll(filepath.Dir(to), 0o755))
	must(os.WriteFile(to, b, 0o644))
}

// rec is what selection needs to know of one record, plus its original bytes.
type rec struct {
	id, title string
	fields    int
	raw       []byte
}

func trln(dir, outDir, inst string, manifest *bytes.Buffer) {
	var files []string
	must(filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	}))
	sort.Strings(files)
	seen := map[string]string{}
	var xmlOut, mrcOut bytes.Buffer
	xmlCount, mrcCount := 0, 0
	for _, p := range files {
		rel, _ := filepath.Rel(filepath.Dir(dir), p)
		var recs []rec
		var err error
		switch filepath.Ext(p) {
		case ".xml":
			recs, err = readXML(p)
		case ".mrc":
			recs, err = readMRC(p)
		default:
			fmt.Fprintf(manifest, "skip %s: not MARC\n", rel)
			continue
		}
		if err != nil {
			fmt.Fprintf(manifest, "skip %s: malformed (%v)\n", rel, err)
			continue
		}
		kept := 0
		var why []string
		for _, r := range recs {
			key := r.id + "|" + r.title
			switch {
			case r.fields < 10:
				why = append(why, "fragment")
			case strings.HasPrefix(strings.ToLower(r.title), "test record"), strings.HasPrefix(strings.ToLower(r.title), "test title"):
				why = append(why, "test record")
			case seen[key] != "":
				why = append(why, "same record as "+seen[key])
			default:
				seen[key] = rel
				kept++
				if filepath.Ext(p) == ".xml" {
					xmlOut.Write(r.raw)
					xmlOut.WriteByte('\n')
					xmlCount++
				} else {
					mrcOut.Write(r.raw)
					mrcCount++
				}
				continue
			}
		}
		line := fmt.Sprintf("%s %s: %d/%d", map[bool]string{true: "keep", false: "skip"}[kept > 0], rel, kept, len(recs))
		if len(why) > 0 {
			line += " (dropped: " + strings.Join(dedup(why), "; ") + ")"
		}
		manifest.WriteString(line + "\n")
	}
	if xmlCount > 0 {
		var b bytes.Buffer
		// The kept <record> elements are copied byte for byte; the wrapper
		// declares every prefix the source files use for the MARC namespace.
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
		b.WriteString(`<collection xmlns="http://www.loc.gov/MARC21/slim" xmlns:marc="http://www.loc.gov/MARC21/slim" xmlns:marcxml="http://www.loc.gov/MARC21/slim" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` + "\n")
		b.Write(xmlOut.Bytes())
		b.WriteString("</collection>\n")
		writeGz(filepath.Join(outDir, inst+".xml.gz"), b.Bytes())
	}
	if mrcCount > 0 {
		writeGz(filepath.Join(outDir, inst+".mrc.gz"), mrcOut.Bytes())
	}
	fmt.Fprintf(manifest, "= %s: %d MARCXML records -> %s.xml.gz, %d MARC records -> %s.mrc.gz\n\n", inst, xmlCount, inst, mrcCount, inst)
}

func dedup(s []string) []string {
	var out []string
	m := map[string]bool{}
	for _, x := range s {
		if !m[x] {
			m[x] = true
			out = append(out, x)
		}
	}
	return out
}

type xmlRecord struct {
	Control []struct {
		Tag   string `xml:"tag,attr"`
		Value string `xml:",chardata"`
	} `xml:"controlfield"`
	Data []struct {
		Tag       string `xml:"tag,attr"`
		Subfields []struct {
			Code  string `xml:"code,attr"`
			Value string `xml:",chardata"`
		} `xml:"subfield"`
	} `xml:"datafield"`
}

func readXML(p string) ([]rec, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(data) {
		// Not UTF-8: the only other encoding the sources declare is
		// ISO-8859-1, whose bytes are the first 256 code points.
		var b strings.Builder
		for _, c := range data {
			b.WriteRune(rune(c))
		}
		data = []byte(b.String())
	}
	// Several files declare ISO-8859-1 but hold UTF-8 (checked above), so the
	// declared charset is read as UTF-8.
	newDecoder := func() *xml.Decoder {
		d := xml.NewDecoder(bytes.NewReader(data))
		d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
		return d
	}
	// Well-formedness of the whole file first.
	d := newDecoder()
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
	}
	d = newDecoder()
	var out []rec
	for {
		start := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "record" {
			continue
		}
		var xr xmlRecord
		if err := d.DecodeElement(&xr, &se); err != nil {
			return nil, err
		}
		r := rec{raw: bytes.TrimSpace(data[start:d.InputOffset()])}
		for _, c := range xr.Control {
			r.fields++
			if c.Tag == "001" && r.id == "" {
				r.id = strings.TrimSpace(c.Value)
			}
		}
		for _, f := range xr.Data {
			r.fields++
			if f.Tag == "245" && r.title == "" {
				for _, s := range f.Subfields {
					if s.Code == "a" {
						r.title = strings.TrimSpace(s.Value)
						break
					}
				}
			}
		}
		out = append(out, r)
	}
}

func readMRC(p string) ([]rec, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var out []rec
	for len(data) > 0 {
		if len(data) < 24 {
			return nil, errors.New("short record")
		}
		n, err := strconv.Atoi(string(data[:5]))
		if err != nil || n < 24 || n > len(data) || data[n-1] != 0x1d {
			return nil, fmt.Errorf("bad record length %q", data[:5])
		}
		raw := data[:n]
		data = data[n:]
		base, err := strconv.Atoi(string(raw[12:17]))
		if err != nil || base > n || base < 25 {
			return nil, errors.New("bad base address")
		}
		r := rec{raw: raw}
		dir := raw[24 : base-1]
		for i := 0; i+12 <= len(dir); i += 12 {
			tag := string(dir[i : i+3])
			ln, _ := strconv.Atoi(string(dir[i+3 : i+7]))
			st, _ := strconv.Atoi(string(dir[i+7 : i+12]))
			if base+st+ln > n {
				return nil, errors.New("field outside record")
			}
			val := string(raw[base+st : base+st+ln])
			r.fields++
			switch {
			case tag == "001" && r.id == "":
				r.id = strings.TrimRight(val, "\x1e")
			case tag == "245" && r.title == "":
				for _, sf := range strings.Split(val, "\x1f")[1:] {
					if len(sf) > 0 && sf[0] == 'a' {
						r.title = strings.TrimSpace(strings.TrimRight(sf[1:], "\x1e"))
						break
					}
				}
			}
		}
		out = append(out, r)
	}
	return out, nil
}
