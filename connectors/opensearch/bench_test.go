package opensearch

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// atomPage50 builds a realistic 50-entry Atom answer, as a catalogue with
// Dublin Core extensions sends it (about 1.2 KB an entry).
func atomPage50() []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <title>Harbour City Library: history</title>
  <link href="https://catalogue.harbour.example.org/search?q=history"/>
  <updated>2024-05-02T10:15:00Z</updated>
  <id>urn:uuid:2f0c9b9e-7f11-4e43-9f0e-5b6d1a1d0c11</id>
  <opensearch:totalResults>18342</opensearch:totalResults>
  <opensearch:startIndex>1</opensearch:startIndex>
  <opensearch:itemsPerPage>50</opensearch:itemsPerPage>
`)
	for i := range 50 {
		fmt.Fprintf(&b, `  <entry>
    <title>A history of the %d harbours of the North Sea : trade, war and weather, 1500–1900</title>
    <link rel="alternate" type="text/html" href="/record/h%05d"/>
    <link rel="enclosure" type="image/jpeg" href="/covers/h%05d.jpg"/>
    <id>https://catalogue.harbour.example.org/record/h%05d</id>
    <updated>2023-11-30T08:00:00Z</updated>
    <published>2001-06-01T00:00:00Z</published>
    <author><name>Müller, Hans</name></author>
    <author><name>García Márquez, Gabriel</name></author>
    <summary type="html">&lt;p&gt;An account of the harbours of the North Sea coast and of the people who worked them, from the sixteenth to the nineteenth century.&lt;/p&gt;</summary>
    <category term="history" label="Harbors -- North Sea -- History"/>
    <dc:creator>Müller, Hans</dc:creator>
    <dc:date>c2001.</dc:date>
    <dc:identifier>urn:isbn:978031604%04d</dc:identifier>
    <dc:identifier>ISBN 0-316-04%03d-X (pbk.)</dc:identifier>
    <dc:identifier>info:oclcnum/4%07d</dc:identifier>
    <dc:subject>Harbors -- North Sea -- History</dc:subject>
    <dc:subject>Shipping -- Europe, Northern -- History</dc:subject>
    <dc:publisher>Harbour University Press</dc:publisher>
    <dc:language>en</dc:language>
    <dc:type>Book</dc:type>
  </entry>
`, i, i, i, i, i, i%1000, i)
	}
	b.WriteString("</feed>\n")
	return []byte(b.String())
}

// BenchmarkParseAtom measures reading a 50-entry Atom answer into records.
func BenchmarkParseAtom(b *testing.B) {
	body := atomPage50()
	base, _ := url.Parse("https://catalogue.harbour.example.org/opensearch/atom?q=history")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		f, err := parseFeed(body, base)
		if err != nil || len(f.records) != 50 {
			b.Fatalf("%v, %d records", err, len(f.records))
		}
		n += len(f.records)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
