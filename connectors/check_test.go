package connectors

import (
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/consortium"
)

func TestCheckNamesTheOptionAndTheClosestKnownName(t *testing.T) {
	for _, c := range []struct {
		title   string
		member  consortium.Member
		key     string // "" → no problem
		message string
	}{
		{"a swapped pair of letters", consortium.Member{Connector: "local", Options: map[string]any{"recrod_url": "x"}},
			"options.recrod_url", `did you mean "record_url"?`},
		{"a letter missing", consortium.Member{Connector: "sru", URL: "http://127.0.0.1:9/db", Options: map[string]any{"max_record": 5}},
			"options.max_record", `did you mean "max_records"?`},
		{"nothing close", consortium.Member{Connector: "solr", URL: "http://127.0.0.1:9/solr", Options: map[string]any{"colour": "blue"}},
			"options.colour", "(known: fields, qf, record_url, fq, handler)"},
		{"a value the constructor refuses", consortium.Member{Connector: "local", Options: map[string]any{"max_concurrent": -1}},
			"options.max_concurrent", "0 or more"},
		{"a required option missing", consortium.Member{Connector: "primo", URL: "https://api.example", Options: map[string]any{"tab": "t"}},
			"options", "vid is required"},
		{"a bad URL", consortium.Member{Connector: "solr", URL: "ftp://x"},
			"url", "not an absolute http(s) URL"},
		{"good options", consortium.Member{Connector: "sru", URL: "http://127.0.0.1:9/db", Options: map[string]any{"version": 2.0, "explain": true}},
			"", ""},
	} {
		t.Run(c.title, func(t *testing.T) {
			ps := Check("north", &c.member)
			if c.key == "" {
				if len(ps) > 0 {
					t.Fatalf("problems %+v", ps)
				}
				return
			}
			if len(ps) != 1 || ps[0].Key != c.key || !strings.Contains(ps[0].Message, c.message) {
				t.Fatalf("problems %+v, want one at %s saying %q", ps, c.key, c.message)
			}
			if strings.Contains(ps[0].Message, "north:") {
				t.Errorf("the message repeats the member: %q", ps[0].Message)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "abc", 0}, {"recrod_url", "record_url", 1}, {"vid", "vids", 1}, {"colour", "fq", 6}, {"kitten", "sitting", 3}} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
