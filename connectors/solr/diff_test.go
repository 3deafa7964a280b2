package solr

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// diffBodies are the bodies the differential checks start from: every
// fixture, every kept fuzz input of both fuzz targets, and shapes that
// probe how the one-pass reader treats keys and fields.
func diffBodies(t testing.TB) map[string][]byte {
	t.Helper()
	bodies := map[string][]byte{}
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		bodies[name] = readFile(t, name)
	}
	corpus, _ := filepath.Glob("testdata/fuzz/*/*")
	for _, name := range corpus {
		b, ok := corpusBody(readFile(t, name))
		if !ok {
			t.Fatalf("%s: not a []byte fuzz input", name)
		}
		bodies[name] = b
	}
	for i, s := range []string{
		`{"RESPONSE":{"numFound":1,"docs":[{"id":"a","title":"T"}]}}`,
		`{"response":{"NumFound":1,"docs":[{"ID":"a","title":"T"}]}}`,
		`{"response":null}`,
		`{"response":{"docs":[]},"error":null}`,
		`{"response":{"docs":[{"id":"a","title":"T"}]},"Error":{"msg":"x"}}`,
		`{"response":{"docs":[{"id":"a","title":"T","title":"U","author":["x","y"],"author":"z"}],"docs":[{"id":"b","title":"V"}]}}`,
		`{"response":{"docs":[{"\u0069d":"a\u00e9","title":"T ` + "\xff\xed\xa0\x80" + `","url":["https://x/1"," http://x/2 ","ftp://x"]}]}}`,
		` { "response" : { "numFound" : "5" , "docs" : [ { "id" : [ " " , 7 ] , "title" : [ true , [ "n" ] , "T /" ] , "publishDate" : -2e3 } , [ ] , 3 ] } } `,
		"{\"response\":{\"docs\":[{\"id\":\"a\\\\\",\"title\":\"T\\\"\"}]}}",
	} {
		bodies["shape "+strconv.Itoa(i)] = []byte(s)
	}
	return bodies
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// corpusBody reads a fuzz input file holding one []byte value.
func corpusBody(file []byte) ([]byte, bool) {
	_, v, _ := strings.Cut(string(file), "\n")
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, "[]byte(") || !strings.HasSuffix(v, ")") {
		return nil, false
	}
	s, err := strconv.Unquote(v[len("[]byte(") : len(v)-1])
	return []byte(s), err == nil
}

// diffFields are the field sets the checks read with: VuFind's, one that
// names a field twice and shares names between parts, and none at all.
var diffFields = []Fields{
	DefaultFields(),
	{ID: []string{"id", "ID"}, Title: []string{"title_short", "title"}, Author: []string{"author", "author"},
		Series: []string{"title"}, URL: []string{"url", "id"}, Year: []string{"publishDate"}},
	{},
}

// sameAsReference fails t when ParseResponse and the reference parser
// disagree on body: the same page, or the same error.
func sameAsReference(t *testing.T, body []byte) {
	t.Helper()
	for _, f := range diffFields {
		for _, u := range []string{"", "https://x.example/Record/{id}"} {
			page, err := ParseResponse(body, f, u)
			want, wantErr := parseResponseReference(body, f, u)
			if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
				t.Fatalf("body %q\n err %v\nwant %v", body, err, wantErr)
			}
			if err != nil {
				if reflect.TypeOf(err) != reflect.TypeOf(wantErr) {
					t.Fatalf("body %q\n err %T\nwant %T", body, err, wantErr)
				}
				if se, ok := err.(*SolrError); ok && !reflect.DeepEqual(se, wantErr) {
					t.Fatalf("body %q\n err %#v\nwant %#v", body, err, wantErr)
				}
				continue
			}
			if !reflect.DeepEqual(page, want) {
				t.Fatalf("body %q\n got %+v\nwant %+v", body, page, want)
			}
		}
	}
}

func TestParseMatchesReference(t *testing.T) {
	for name, body := range diffBodies(t) {
		t.Run(name, func(t *testing.T) { sameAsReference(t, body) })
	}
}

// FuzzParseSolrMatchesReference checks that ParseResponse reads every
// body exactly as the reference parser does.
func FuzzParseSolrMatchesReference(f *testing.F) {
	for _, body := range diffBodies(f) {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) { sameAsReference(t, body) })
}
