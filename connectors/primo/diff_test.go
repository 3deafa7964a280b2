package primo

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
// probe how the one-pass reader treats keys and sections.
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
		`{"INFO":{"total":2},"Docs":[{"pnx":{"display":{"title":"T"},"control":{"recordid":"r"}}}]}`,
		`{"info":{"total":1},"info":null}`,
		`{"info":null}`,
		`{"\u0064ocs":[{"pnx":{"display":{"\u0074itle":"T\u00e9"},"control":{"recordid":"r"}}}]}`,
		`{"docs":[{"PNX":{"display":{"title":"T"},"control":{"recordid":"r"}}}]}`,
		`{"docs":[{"pnx":{"display":{"Title":"T","title":" U "},"control":{"recordid":"r"}}}]}`,
		`{"docs":[{"pnx":{"display":{"title":"T"},"display":{"creator":"C"},"control":{"recordid":"r"}}}]}`,
		`{"docs":[{"pnx":{"display":{"title":"T"},"control":{"recordid":"r"}},"pnx":7}]}`,
		`{"docs":[{"@id":["x/y"],"pnx":{"display":{"title":"T"}}},{"@id":"a/b","@id":"c/d","pnx":{"display":{"title":"T"}}}]}`,
		`{"docs":[{"context":"PC","pnx":{"display":{"title":"T"},"control":{"recordid":"r"},"links":{"linktorsrc":"$$Uhttps://x/1$$Uhttp://x/2"}},` +
			`"delivery":{"availabilityLinksUrl":[" https://x/3 ",7,true],"link":[{"linkType":["", "a/linktorsrc"],"linkURL":[" ","https://x/4"]},3,{"linkType":"linktorsrc"},{"linkType":"linktorsrc","linkURL":"https://x/5","linkURL":"https://x/6"}],"link":[{"linkType":"linktorsrc","linkURL":"https://x/7"}]}}]}`,
		`{"docs":[{"pnx":{"display":{"title":"\ud800 ` + "\xff\xe2\x80" + `\u00e9","creator":["a ; b","$$Qc$$Qd"]},"control":{"recordid":1e3}}}]}`,
		"{\"docs\":[{\"pnx\":{\"display\":{\"title\":\"caf\xc3\xa9 \xed\xa0\x80\"},\"control\":{\"recordid\":\"r\xff\"}}}]}",
		"{\"docs\":[{\"pnx\":{\"display\":{\"title\":\"T\\\"\\\\\"},\"control\":{\"recordid\":\"r\\\\\"}}}]}",
		` { "docs" : [ { "pnx" : { "display" : { "title" : [ "T" , 2 ] } , "control" : { "recordid" : [ ] , "sourcerecordid" : " s " } } } , [ ] , { } ] , "info" : { "total" : "7" , "total" : 8 } } `,
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

// sameAsReference fails t when ParseResponse and the reference parser
// disagree on body: the same page, or the same error.
func sameAsReference(t *testing.T, body []byte) {
	t.Helper()
	for _, l := range []Links{{}, {RecordURL: "https://x.example/fulldisplay?docid={id}&context={context}"}} {
		page, err := ParseResponse(body, l)
		want, wantErr := parseResponseReference(body, l)
		if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Fatalf("body %q\n err %v\nwant %v", body, err, wantErr)
		}
		if err != nil {
			if reflect.TypeOf(err) != reflect.TypeOf(wantErr) {
				t.Fatalf("body %q\n err %T\nwant %T", body, err, wantErr)
			}
			if ae, ok := err.(*APIError); ok && !reflect.DeepEqual(ae, wantErr) {
				t.Fatalf("body %q\n err %#v\nwant %#v", body, err, wantErr)
			}
			continue
		}
		if !reflect.DeepEqual(page, want) {
			t.Fatalf("body %q\n got %+v\nwant %+v", body, page, want)
		}
	}
}

func TestParseMatchesReference(t *testing.T) {
	for name, body := range diffBodies(t) {
		t.Run(name, func(t *testing.T) { sameAsReference(t, body) })
	}
}

// FuzzParsePrimoMatchesReference checks that ParseResponse reads every
// body exactly as the reference parser does.
func FuzzParsePrimoMatchesReference(f *testing.F) {
	for _, body := range diffBodies(f) {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) { sameAsReference(t, body) })
}
