package opensearch

import (
	"net/url"
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

// FuzzParseFeed feeds arbitrary bytes to the feed parser: it must not
// panic, and whatever it accepts must be a page the engine can use: every
// record with an id and a title, only http(s) links, a total of -1 or more.
func FuzzParseFeed(f *testing.F) {
	for _, name := range []string{"feed-atom.xml", "feed-rss.xml"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(`<feed xmlns="http://www.w3.org/2005/Atom"><entry><title type="html">a &lt;b&gt;</title><id>1</id><link href="javascript:x"/></entry></feed>`))
	f.Add([]byte(`<rss><channel><item><title>x</title><guid>g</guid><dc:date xmlns:dc="http://purl.org/dc/elements/1.1/">c1999</dc:date></item></channel></rss>`))
	f.Add([]byte("<!DOCTYPE html><html>"))
	f.Add([]byte(`<?xml version="1.0" encoding="latin1"?><rss><channel><item><title>caf` + "\xe9" + `</title><guid>x</guid></item></channel></rss>`))
	base, _ := url.Parse("https://c.example.org/os?q=x")
	f.Fuzz(func(t *testing.T, data []byte) {
		feed, err := parseFeed(data, base)
		if err != nil {
			if feed != nil {
				t.Fatal("a feed and an error")
			}
			return
		}
		if feed.total < -1 || feed.rejected < 0 {
			t.Fatalf("total %d rejected %d", feed.total, feed.rejected)
		}
		for _, r := range feed.records {
			if r.RecordID == "" || r.Title == "" {
				t.Fatalf("record without id or title: %+v", r)
			}
			for _, l := range r.Links {
				if !strings.HasPrefix(l.URL, "http://") && !strings.HasPrefix(l.URL, "https://") {
					t.Fatalf("link %q", l.URL)
				}
			}
			r.Normalize()
		}
	})
}

// FuzzParseDescription feeds arbitrary bytes to the description parser and
// picks a template from what it accepts: no panic, and a picked template
// always fills into an absolute http(s) URL whose host no search text can
// change.
func FuzzParseDescription(f *testing.F) {
	for _, name := range []string{"description-catalogue.xml", "description-index0.xml", "description-rss-only.xml"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(`<OpenSearchDescription><Url type="application/atom+xml" template="http://h/{searchTerms}{x?}{y:z?}"/></OpenSearchDescription>`))
	f.Add([]byte(`<OpenSearchDescription xmlns:o="http://a9.com/-/spec/opensearch/1.1/"><Url type="application/rss+xml" indexOffset="-3" template="https://h/?q={o:searchTerms}&amp;s={startIndex}"/></OpenSearchDescription>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := parseDescription(data)
		if err != nil {
			return
		}
		for _, typ := range []string{TypeAtom, TypeRSS} {
			tpl, err := d.pick(typ)
			if err != nil {
				continue
			}
			probe, _ := url.Parse(tpl.fill("probe", federate.Window{Limit: 1}))
			for _, terms := range []string{"a/b?c#d&e=f@g:h", "Война и мир", strings.Repeat("%", 50)} {
				raw := tpl.fill(terms, federate.Window{Offset: 7, Limit: 3})
				u, err := url.Parse(raw)
				if err != nil {
					t.Fatalf("%s: %v", raw, err)
				}
				if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Host != probe.Host {
					t.Fatalf("template %q filled with %q gives %s", tpl.raw, terms, raw)
				}
			}
		}
	})
}
