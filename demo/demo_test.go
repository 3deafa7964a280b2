package demo

import (
	"bytes"
	"errors"
	"github.com/commonshelf/commonshelf/consortium"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/commonshelf/commonshelf/connectors/marc"
	"github.com/commonshelf/commonshelf/federate"
)

// generated is one Generate output shared by the read-only tests.
var generated struct {
	once    sync.Once
	dir     string
	config  string
	err     error
	records map[string]map[int]*marc.Record // member → book id → record
}

func TestMain(m *testing.M) {
	code := m.Run()
	if generated.dir != "" {
		os.RemoveAll(generated.dir)
	}
	os.Exit(code)
}

// testOptions register a learning platform, as serve --demo does.
var testOptions = Options{Platform: testPlatform("http://127.0.0.1:8080")}

func testPlatform(server string) *Platform {
	return &Platform{Name: "Demo learning platform", Issuer: server + "/demo-lms", AuthURL: server + "/demo-lms/auth",
		JWKSURL: server + "/demo-lms/jwks", HomeURL: server + "/demo-lms/"}
}

// output generates the demo once and reads every member catalogue back
// with the MARC reader.
func output(t testing.TB) (string, map[string]map[int]*marc.Record) {
	t.Helper()
	generated.once.Do(func() {
		dir, err := os.MkdirTemp("", "commonshelf-demo-test")
		if err != nil {
			generated.err = err
			return
		}
		generated.dir = dir
		generated.config, generated.err = GenerateWith(dir, testOptions)
		if generated.err != nil {
			return
		}
		generated.records = map[string]map[int]*marc.Record{}
		for _, m := range Members {
			recs, err := readMember(filepath.Join(dir, memberFile(m.ID)), m)
			if err != nil {
				generated.err = err
				return
			}
			generated.records[m.ID] = recs
		}
	})
	if generated.err != nil {
		t.Fatal(generated.err)
	}
	return generated.dir, generated.records
}

func readMember(path string, m Member) (map[int]*marc.Record, error) {
	r, c, err := marc.Open(path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	out := map[int]*marc.Record{}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		id := rec.ControlValue("001")
		if !strings.HasPrefix(id, m.Prefix) {
			return nil, errors.New(m.ID + ": record id " + id + " lacks the member prefix")
		}
		n, err := strconv.Atoi(id[len(m.Prefix):])
		if err != nil {
			return nil, err
		}
		out[n] = rec
	}
}

func stats(t testing.TB) *Stats {
	t.Helper()
	st, err := Plan()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// values returns every value of subfield code in fields with tag.
func values(r *marc.Record, tag string, code byte) []string {
	var out []string
	for _, f := range r.Fields(tag) {
		out = append(out, f.Values(code)...)
	}
	return out
}

func TestGenerateIsByteIdenticalAcrossRuns(t *testing.T) {
	a, _ := output(t)
	b := t.TempDir()
	if _, err := GenerateWith(b, testOptions); err != nil {
		t.Fatal(err)
	}
	filesA, filesB := listFiles(t, a), listFiles(t, b)
	if len(filesA) != len(outputFiles()) {
		t.Errorf("wrote %d files, want %d: %v", len(filesA), len(outputFiles()), filesA)
	}
	if strings.Join(filesA, "\n") != strings.Join(filesB, "\n") {
		t.Fatalf("file sets differ:\n%v\n%v", filesA, filesB)
	}
	for _, f := range filesA {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs", f)
		}
	}
}

func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateTwiceIntoTheSameDirectory(t *testing.T) {
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	dir := filepath.Join(t.TempDir(), "nested", "demo")
	path, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, ConfigName) {
		t.Errorf("config path %q", path)
	}
	north := filepath.Join(dir, memberFile("north"))
	// The cases run in order on one directory; each starts from a complete
	// output whose north catalogue is dated 2001.
	cases := []struct {
		name    string
		tamper  func() error
		rewrite bool
	}{
		{"an up-to-date directory is left alone", func() error { return nil }, false},
		{"a missing stamp means a full rewrite", func() error { return os.Remove(filepath.Join(dir, StampName)) }, true},
		{"a stamp of another version means a full rewrite", func() error {
			return os.WriteFile(filepath.Join(dir, StampName), []byte("demo-0+old\n"), 0o644)
		}, true},
		{"a missing member file means a full rewrite", func() error { return os.Remove(filepath.Join(dir, memberFile("west"))) }, true},
		{"a missing consortium.yaml alone is rewritten", func() error { return os.Remove(path) }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.Chtimes(north, old, old); err != nil {
				t.Fatal(err)
			}
			if err := tc.tamper(); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if _, err := Generate(dir); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			fi, err := os.Stat(north)
			if err != nil {
				t.Fatal(err)
			}
			if rewritten := !fi.ModTime().Equal(old); rewritten != tc.rewrite {
				t.Errorf("rewritten = %v, want %v", rewritten, tc.rewrite)
			}
			if !tc.rewrite && took > time.Second {
				t.Errorf("an up-to-date check took %v", took)
			}
			if got := listFiles(t, dir); len(got) != len(outputFiles()) {
				t.Errorf("directory holds %v", got)
			}
		})
	}
}

// The learning platform's address is known only once serve listens: a new
// address rewrites consortium.yaml, and nothing else.
func TestGeneratePlatformAddressRewritesTheConfigOnly(t *testing.T) {
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	path, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	north := filepath.Join(dir, memberFile("north"))
	cases := []struct {
		name       string
		opts       Options
		wantIssuer string // "" → no platform registered
	}{
		{"a platform on port 8080", Options{Platform: testPlatform("http://127.0.0.1:8080")}, "http://127.0.0.1:8080/demo-lms"},
		{"the same platform again", Options{Platform: testPlatform("http://127.0.0.1:8080")}, "http://127.0.0.1:8080/demo-lms"},
		{"the platform on another port", Options{Platform: testPlatform("http://127.0.0.1:41234")}, "http://127.0.0.1:41234/demo-lms"},
		{"no platform", Options{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.Chtimes(north, old, old); err != nil {
				t.Fatal(err)
			}
			if _, err := GenerateWith(dir, tc.opts); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(north); err != nil || !fi.ModTime().Equal(old) {
				t.Errorf("the north catalogue was rewritten (%v)", err)
			}
			cfg, err := consortium.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			ps := cfg.LTIPlatforms()
			if tc.wantIssuer == "" {
				if len(ps) != 0 || len(cfg.Consortium.Defaults.ExternalLinks) != 2 {
					t.Errorf("platforms %+v, links %+v", ps, cfg.Consortium.Defaults.ExternalLinks)
				}
				return
			}
			if len(ps) != len(Members) {
				t.Fatalf("%d platforms registered, want one per institution", len(ps))
			}
			for i, p := range ps {
				m := Members[i]
				if p.Institution != m.ID || p.Issuer != tc.wantIssuer || p.ClientID != LMSClientID(m.ID) ||
					!slices.Equal(p.DeploymentIDs, []string{LMSDeploymentID(m.ID)}) || p.AuthURL != tc.wantIssuer+"/auth" ||
					p.JWKSURL != tc.wantIssuer+"/jwks" || p.CourseClaim != "context.label" {
					t.Errorf("platform of %s: %+v", m.ID, p)
				}
			}
			links := cfg.Consortium.Defaults.ExternalLinks
			if len(links) == 0 || links[0].Label != TryLinkLabel || links[0].URL != tc.wantIssuer+"/" {
				t.Errorf("external links %+v", links)
			}
		})
	}
	if _, err := GenerateWith(dir, Options{Platform: &Platform{Issuer: "/demo-lms", AuthURL: "x", JWKSURL: "y"}}); err == nil {
		t.Error("a platform with relative URLs was accepted")
	}
}

func TestHoldings(t *testing.T) {
	st := stats(t)
	if st.Works != 10000 {
		t.Fatalf("works = %d, want 10000", st.Works)
	}
	sum := 0
	for k := 1; k <= 5; k++ {
		sum += st.HeldBy[k]
	}
	meanHolders := func(from, to int) float64 {
		n := 0
		for id := from; id <= to; id++ {
			n += len(st.HoldersOf(id))
		}
		return float64(n) / float64(to-from+1)
	}
	cases := []struct {
		name string
		ok   bool
		got  any
	}{
		{"no work is held by nobody", st.HeldBy[0] == 0, st.HeldBy},
		{"the distribution covers every work", sum == st.Works, sum},
		{"between 28% and 40% of works are held by two or more members", st.SharedShare >= 0.28 && st.SharedShare <= 0.40, st.SharedShare},
		{"popular works are held more widely", meanHolders(1, 1000) > meanHolders(9001, 10000)+0.5,
			[2]float64{meanHolders(1, 1000), meanHolders(9001, 10000)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Errorf("got %v", tc.got)
			}
		})
	}
	t.Run("every work is held by at least one member and by no member twice", func(t *testing.T) {
		for id := 1; id <= st.Works; id++ {
			h := st.HoldersOf(id)
			if len(h) == 0 {
				t.Fatalf("book %d held by nobody", id)
			}
			seen := map[string]bool{}
			for _, m := range h {
				if seen[m] {
					t.Fatalf("book %d held twice by %s", id, m)
				}
				seen[m] = true
			}
		}
	})
	t.Run("the 50 most popular works are held by all five members", func(t *testing.T) {
		for id := 1; id <= 50; id++ {
			if h := st.HoldersOf(id); len(h) != 5 {
				t.Errorf("book %d held by %v", id, h)
			}
		}
	})
	t.Run("the member files hold exactly the planned works", func(t *testing.T) {
		_, recs := output(t)
		for i, m := range Members {
			if got, want := len(recs[m.ID]), st.Members[i].Goodbooks; got != want {
				t.Errorf("%s: %d records, stats say %d", m.ID, got, want)
			}
			for id := range recs[m.ID] {
				if !holds(st.HoldersOf(id), m.ID) {
					t.Errorf("%s has a record for book %d it does not hold", m.ID, id)
				}
			}
		}
	})
}

func TestTheHungerGames(t *testing.T) {
	_, recs := output(t)
	st := stats(t)
	rec := func(m string) *marc.Record {
		r := recs[m][1]
		if r == nil {
			t.Fatalf("%s holds no record for book 1", m)
		}
		return r
	}
	cases := []struct {
		name  string
		check func() (bool, any)
	}{
		{"is held by all five members", func() (bool, any) {
			return len(st.HoldersOf(1)) == 5, st.HoldersOf(1)
		}},
		{"north records the zero-padded ISBN-10", func() (bool, any) {
			v := values(rec("north"), "020", 'a')
			return len(v) == 1 && v[0] == "0439023483", v
		}},
		{"south records only the rebuilt ISBN-13, possibly hyphenated", func() (bool, any) {
			v := values(rec("south"), "020", 'a')
			return len(v) == 1 && strings.ReplaceAll(v[0], "-", "") == "9780439023481", v
		}},
		{"north's ISBN-10 and south's ISBN-13 normalise to the same ISBN", func() (bool, any) {
			n, ok1 := federate.NormalizeISBN(values(rec("north"), "020", 'a')[0])
			s, ok2 := federate.NormalizeISBN(values(rec("south"), "020", 'a')[0])
			return ok1 && ok2 && n == s, [2]string{n, s}
		}},
		{"east keeps the series in the title", func() (bool, any) {
			v := rec("east").Fields("245")[0].Value('a')
			return v == "The Hunger Games (The Hunger Games, #1)", v
		}},
		{"west's title is in capitals", func() (bool, any) {
			v := rec("west").Fields("245")[0].Value('a')
			return v == "THE HUNGER GAMES", v
		}},
		{"north puts the series in 490", func() (bool, any) {
			f := rec("north").Fields("490")
			return len(f) == 1 && f[0].Value('a') == "The Hunger Games ;" && f[0].Value('v') == "1", f
		}},
		{"north inverts the author's name", func() (bool, any) {
			v := values(rec("north"), "100", 'a')
			return len(v) == 1 && v[0] == "Collins, Suzanne", v
		}},
		{"the 008 carries 2008 and English", func() (bool, any) {
			v := rec("central").ControlValue("008")
			return len(v) == 40 && v[7:11] == "2008" && v[35:38] == "eng", v
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if ok, got := tc.check(); !ok {
				t.Errorf("got %v", got)
			}
		})
	}
}

func TestISBNs(t *testing.T) {
	_, recs := output(t)
	st := stats(t)
	t.Run("central has records without any ISBN, about 40% of those that could have one", func(t *testing.T) {
		without, could := 0, 0
		for id, r := range recs["central"] {
			if _, v := st.VariantOf(id); v {
				continue
			}
			if len(r.Fields("020")) == 0 && !contains(st.WithoutISBN, id) && !contains(st.InvalidISBN, id) {
				without++
			}
			if !contains(st.WithoutISBN, id) && !contains(st.InvalidISBN, id) {
				could++
			}
		}
		if share := float64(without) / float64(could); share < 0.33 || share > 0.47 {
			t.Errorf("%d of %d (%.2f) without ISBN", without, could, share)
		}
	})
	t.Run("goodbooks rows without an ISBN give records without 020 everywhere", func(t *testing.T) {
		if len(st.WithoutISBN) < 600 {
			t.Fatalf("only %d works without ISBN", len(st.WithoutISBN))
		}
		for _, id := range st.WithoutISBN {
			for _, m := range st.HoldersOf(id) {
				if f := recs[m][id].Fields("020"); len(f) > 0 {
					t.Errorf("book %d at %s has 020 %v", id, m, f)
				}
			}
		}
	})
	t.Run("an ISBN with a wrong check digit is dropped, except east's 020 $z", func(t *testing.T) {
		if len(st.InvalidISBN) == 0 {
			t.Fatal("no invalid ISBN in goodbooks")
		}
		for _, id := range st.InvalidISBN {
			for _, m := range st.HoldersOf(id) {
				r := recs[m][id]
				if _, variant := st.VariantOf(id); variant {
					continue
				}
				if a := values(r, "020", 'a'); len(a) > 0 {
					t.Errorf("book %d at %s: 020 $a %v", id, m, a)
				}
				if z := values(r, "020", 'z'); (m == "east") != (len(z) == 1) {
					t.Errorf("book %d at %s: 020 $z %v", id, m, z)
				}
			}
		}
	})
	t.Run("every 020 $a is a valid ISBN of the member's kind", func(t *testing.T) {
		for _, m := range Members {
			for id, r := range recs[m.ID] {
				for _, a := range values(r, "020", 'a') {
					bare, _, _ := strings.Cut(a, " ")
					bare = strings.ReplaceAll(bare, "-", "")
					if _, ok := federate.NormalizeISBN(a); !ok {
						t.Errorf("%s book %d: invalid ISBN %q", m.ID, id, a)
					}
					if (m.ID == "south" || m.ID == "central") && len(bare) != 13 {
						t.Errorf("%s book %d: %q is not an ISBN-13", m.ID, id, a)
					}
				}
			}
		}
	})
}

func contains(ids []int, id int) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func TestPlantedGenericTitles(t *testing.T) {
	_, recs := output(t)
	st := stats(t)
	if len(st.Planted) == 0 {
		t.Fatal("no planted groups")
	}
	for _, g := range st.Planted {
		t.Run(g.Title, func(t *testing.T) {
			if len(g.Works) < 2 {
				t.Fatalf("group of %d", len(g.Works))
			}
			authors := map[string]int{}
			for _, w := range g.Works {
				for _, m := range []string{"south", "east"} {
					if !holds(st.HoldersOf(w.BookID), m) {
						t.Errorf("book %d not held by %s", w.BookID, m)
					}
				}
				r := recs["south"][w.BookID]
				if r == nil {
					t.Fatalf("south lacks book %d", w.BookID)
				}
				title := strings.TrimSuffix(r.Fields("245")[0].Value('a'), " /")
				if title != g.Title {
					t.Errorf("book %d: south's title %q, want %q", w.BookID, title, g.Title)
				}
				first := values(r, "100", 'a')
				if len(first) != 1 {
					t.Fatalf("book %d: 100 %v", w.BookID, first)
				}
				if prev, dup := authors[first[0]]; dup {
					t.Errorf("books %d and %d share the first author %s", prev, w.BookID, first[0])
				}
				authors[first[0]] = w.BookID
			}
		})
	}
}

func TestAlternateEditions(t *testing.T) {
	_, recs := output(t)
	st := stats(t)
	if len(st.Variants) < 10 {
		t.Fatalf("only %d variants", len(st.Variants))
	}
	withISBN := 0
	for _, v := range st.Variants {
		t.Run(strconv.Itoa(v.BookID)+" "+v.Title, func(t *testing.T) {
			h := st.HoldersOf(v.BookID)
			if len(h) < 2 || h[1] != v.Member || v.BookID%97 != 0 {
				t.Fatalf("variant at %s, holders %v", v.Member, h)
			}
			alt, orig := recs[v.Member][v.BookID], recs[h[0]][v.BookID]
			if len(alt.Fields("250")) != 1 {
				t.Errorf("no edition statement")
			}
			isbns := values(alt, "020", 'a')
			if v.ISBN == "" && len(isbns) != 0 || v.ISBN != "" && (len(isbns) != 1 || strings.ReplaceAll(isbns[0], "-", "") != v.ISBN) {
				t.Errorf("alternate ISBNs %v, want %q", isbns, v.ISBN)
			}
			for _, a := range values(orig, "020", 'a') {
				n, _ := federate.NormalizeISBN(a)
				if v.ISBN != "" && n == v.ISBN {
					t.Errorf("the original edition has the alternate ISBN too")
				}
			}
			if alt.ControlValue("008")[6:11] != orig.ControlValue("008")[6:11] {
				t.Errorf("years differ: %q vs %q", alt.ControlValue("008"), orig.ControlValue("008"))
			}
			if a, o := values(alt, "100", 'a'), values(orig, "100", 'a'); len(a) != 1 || len(o) != 1 ||
				strings.TrimSuffix(a[0], ".") != strings.TrimSuffix(o[0], ".") {
				t.Errorf("first authors differ: %v vs %v", a, o)
			}
		})
		if v.ISBN != "" {
			withISBN++
		}
	}
	if withISBN == 0 || withISBN == len(st.Variants) {
		t.Errorf("%d of %d variants have an ISBN; want some of each", withISBN, len(st.Variants))
	}
}

func TestSpecialCollections(t *testing.T) {
	dir, _ := output(t)
	st := stats(t)
	want := map[string]int{"north": 386, "south": 300, "east": 267, "west": 38, "central": 0}
	for _, ms := range st.Members {
		t.Run(ms.ID, func(t *testing.T) {
			if ms.Special != want[ms.ID] {
				t.Errorf("%d special records, want %d", ms.Special, want[ms.ID])
			}
			for _, f := range ms.Files[1:] {
				r, c, err := marc.Open(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				ok, bad := 0, 0
				var fatal error
				for {
					_, err := r.Next()
					if err == io.EOF {
						break
					}
					var re *marc.RecordError
					if errors.As(err, &re) {
						bad++
						continue
					}
					if err != nil {
						fatal = err
						break
					}
					ok++
				}
				c.Close()
				t.Logf("%s: %d records read, %d skipped, fatal error: %v", f, ok, bad, fatal)
				raw, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if n := countRecords(f, raw); ok == 0 || fatal == nil && ok+bad != n {
					t.Errorf("%s: the MARC reader saw %d+%d records, the count says %d", f, ok, bad, n)
				}
			}
		})
	}
}

func TestConsortiumYAML(t *testing.T) {
	dir, _ := output(t)
	b, err := os.ReadFile(filepath.Join(dir, ConfigName))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Server struct {
			Operator struct {
				Open bool `yaml:"open"`
			} `yaml:"operator"`
		} `yaml:"server"`
		Consortium struct {
			ID       string `yaml:"id"`
			Name     string `yaml:"name"`
			Defaults struct {
				Language    string         `yaml:"language"`
				UploadMaxMB map[string]int `yaml:"upload_max_mb"`
				Links       []struct {
					Label string `yaml:"label"`
					URL   string `yaml:"url"`
				} `yaml:"external_links"`
				Search   map[string]int `yaml:"search"`
				Requests struct {
					Kinds []string `yaml:"kinds"`
				} `yaml:"requests"`
				Files struct {
					StudentUploads bool `yaml:"student_uploads"`
					QuotaMB        int  `yaml:"quota_mb"`
				} `yaml:"files"`
			} `yaml:"defaults"`
			Locked []string `yaml:"locked"`
		} `yaml:"consortium"`
		Institutions []struct {
			ID        string         `yaml:"id"`
			Name      string         `yaml:"name"`
			Overrides map[string]any `yaml:"overrides"`
			Branding  struct {
				Logo         string `yaml:"logo"`
				PrimaryColor string `yaml:"primary_color"`
			} `yaml:"branding"`
			Member struct {
				Connector   string            `yaml:"connector"`
				Files       []string          `yaml:"files"`
				Options     map[string]string `yaml:"options"`
				TimeoutMS   int               `yaml:"timeout_ms"`
				MaxInFlight int               `yaml:"max_in_flight"`
				Breaker     struct {
					Failures int    `yaml:"failures"`
					OpenFor  string `yaml:"open_for"`
				} `yaml:"breaker"`
			} `yaml:"member"`
			APIKeys []struct {
				SHA256 string `yaml:"sha256"`
				Role   string `yaml:"role"`
			} `yaml:"api_keys"`
			LTI struct {
				Platforms []struct {
					Name          string   `yaml:"name"`
					Issuer        string   `yaml:"issuer"`
					ClientID      string   `yaml:"client_id"`
					DeploymentIDs []string `yaml:"deployment_ids"`
					AuthURL       string   `yaml:"auth_url"`
					JWKSURL       string   `yaml:"jwks_url"`
				} `yaml:"platforms"`
			} `yaml:"lti"`
		} `yaml:"institutions"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("consortium.yaml: %v\n%s", err, b)
	}
	if cfg.Consortium.ID != "demo" || cfg.Consortium.Defaults.Language != "en" ||
		cfg.Consortium.Defaults.Search["page_size"] != 20 || len(cfg.Consortium.Defaults.Links) == 0 {
		t.Errorf("consortium section: %+v", cfg.Consortium)
	}
	if len(cfg.Institutions) != len(Members) {
		t.Fatalf("%d institutions", len(cfg.Institutions))
	}
	languages := map[string]bool{}
	for i, in := range cfg.Institutions {
		t.Run(in.ID, func(t *testing.T) {
			m := Members[i]
			if in.ID != m.ID || in.Name != m.Name {
				t.Errorf("institution %q %q, want %q %q", in.ID, in.Name, m.ID, m.Name)
			}
			if in.Member.Connector != "local" || in.Member.Files[0] != memberFile(m.ID) {
				t.Errorf("member: %+v", in.Member)
			}
			for _, f := range in.Member.Files {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("listed file: %v", err)
				}
			}
			if u := in.Member.Options["record_url"]; !strings.HasPrefix(u, "https://") || !strings.Contains(u, ".example.org/") || !strings.Contains(u, "{id}") {
				t.Errorf("record_url %q", u)
			}
			if len(in.Branding.PrimaryColor) != 7 || in.Branding.PrimaryColor[0] != '#' {
				t.Errorf("colour %q", in.Branding.PrimaryColor)
			}
			if _, err := time.ParseDuration(in.Member.Breaker.OpenFor); err != nil || in.Member.TimeoutMS <= 0 || in.Member.MaxInFlight <= 0 {
				t.Errorf("member limits: %+v", in.Member)
			}
			want := testOptions.Platform
			if ps := in.LTI.Platforms; len(ps) != 1 || ps[0].Name != want.Name || ps[0].Issuer != want.Issuer || ps[0].ClientID != LMSClientID(m.ID) ||
				len(ps[0].DeploymentIDs) != 1 || ps[0].DeploymentIDs[0] != LMSDeploymentID(m.ID) || ps[0].AuthURL != want.AuthURL || ps[0].JWKSURL != want.JWKSURL {
				t.Errorf("lti platforms: %+v", ps)
			}
		})
		if l, ok := in.Overrides["language"].(string); ok {
			languages[l] = true
		}
	}
	if !languages["fr"] || !languages["de"] {
		t.Errorf("want a French and a German institution, got %v", languages)
	}
}

func TestInvertName(t *testing.T) {
	cases := []struct {
		name, in, want string
		inverted       bool
	}{
		{"forename and surname", "Suzanne Collins", "Collins, Suzanne", true},
		{"initials", "J.K. Rowling", "Rowling, J.K.", true},
		{"a particle belongs to the surname", "Ursula K. Le Guin", "Le Guin, Ursula K.", true},
		{"two particles", "Walter de la Mare", "de la Mare, Walter", true},
		{"a suffix goes last", "Kurt Vonnegut Jr.", "Vonnegut, Kurt, Jr.", true},
		{"a single name stays", "Homer", "Homer", false},
		{"a non-Latin single name stays", "望月淳", "望月淳", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, inv := invertName(tc.in)
			if got != tc.want || inv != tc.inverted {
				t.Errorf("invertName(%q) = %q, %v; want %q, %v", tc.in, got, inv, tc.want, tc.inverted)
			}
		})
	}
}

func TestStripSeries(t *testing.T) {
	cases := []struct {
		name, in string
		want     series
	}{
		{"series with a number", "The Hunger Games (The Hunger Games, #1)", series{"The Hunger Games", "The Hunger Games", "1"}},
		{"a range of numbers", "The Oedipus Cycle (The Theban Plays, #1–3)", series{"The Oedipus Cycle", "The Theban Plays", "1–3"}},
		{"a bracket without a number is not a series", "One Flew Over the Cuckoo's Nest (script)", series{base: "One Flew Over the Cuckoo's Nest (script)"}},
		{"no bracket", "To Kill a Mockingbird", series{base: "To Kill a Mockingbird"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := stripSeries(tc.in); got != tc.want {
				t.Errorf("stripSeries(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestISBNHelpers(t *testing.T) {
	cases := []struct {
		name      string
		got, want any
	}{
		{"a valid ISBN-10", validISBN10("0439023483"), true},
		{"an ISBN-10 ending in X", validISBN10("043965548X"), true},
		{"a wrong check digit", validISBN10("0812971060"), false},
		{"ISBN-10 to ISBN-13", isbn10to13("0439023483"), "9780439023481"},
		{"hyphenation", hyphenate13("9780439023481"), "978-0-439-02348-1"},
		{"a synthetic alternate ISBN is valid", func() bool { _, ok := federate.NormalizeISBN(altISBN13("0439023483")); return ok }(), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func TestField008(t *testing.T) {
	cases := []struct {
		name string
		w    work
		want string
	}{
		{"a year", work{Year: 2008, HasYear: true, Lang: "eng"}, "170915s2008    xx                  eng d"},
		{"an ancient work (B.C.)", work{Year: -750, HasYear: true, Lang: "eng"}, "170915b        xx                  eng d"},
		{"no year, no language", work{}, "170915nuuuu    xx                      d"},
		{"a three-digit year", work{Year: 800, HasYear: true, Lang: "ara"}, "170915s0800    xx                  ara d"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := field008(&tc.w); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func BenchmarkGenerate(b *testing.B) {
	if _, err := Plan(); err != nil { // load and plan once, as a process would
		b.Fatal(err)
	}
	root := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		if _, err := Generate(filepath.Join(root, strconv.Itoa(i))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlan(b *testing.B) {
	for b.Loop() {
		if _, err := buildPlan(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDemoConfigLoadsAndItsKeysWork(t *testing.T) {
	dir, _ := output(t)
	cfg, err := consortium.Load(filepath.Join(dir, ConfigName))
	if err != nil {
		t.Fatal(err)
	}
	north, _ := cfg.Institution("north")
	if role, ok := north.KeyRole(APIKey("north", "instructor")); !ok || role != "instructor" {
		t.Fatalf("north's instructor key: %q %v", role, ok)
	}
	if _, ok := north.KeyRole(APIKey("south", "admin")); ok {
		t.Fatal("south's key works for north")
	}
}
