package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/demo"
)

// The end-to-end tests run the real binary's serve command on the demo
// consortium, on a free loopback port, and talk to it over HTTP.

var (
	demoOnce sync.Once
	demoBase string
	demoErr  error
	demoStop func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	if demoStop != nil {
		demoStop()
	}
	os.Exit(code)
}

// demoServer starts `commonshelf serve --demo` once for the package.
func demoServer(t *testing.T) string {
	t.Helper()
	demoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "commonshelf-e2e-")
		if err != nil {
			demoErr = err
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"serve", "--demo", "--addr", "127.0.0.1:0", "--data-dir", dir}, pw, io.Discard)
			pw.Close()
		}()
		urlRE := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+)/`)
		found := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
					found <- m[1]
				}
			}
			close(found)
		}()
		select {
		case u, ok := <-found:
			if !ok {
				demoErr = fmt.Errorf("serve --demo exited with %d before serving", <-done)
			}
			demoBase = u
		case <-time.After(5 * time.Minute):
			demoErr = fmt.Errorf("serve --demo did not start within 5 minutes")
		}
		demoStop = func() {
			cancel()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
			}
			os.RemoveAll(dir)
		}
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demoBase
}

type result struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Authors  []string `json:"authors"`
	Year     int      `json:"year"`
	MergedBy []string `json:"merged_by"`
	Holdings []struct {
		Member   string `json:"member"`
		RecordID string `json:"record_id"`
	} `json:"holdings"`
}

type searchResult struct {
	Results []result `json:"results"`
	Members []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"members"`
	Partial bool `json:"partial"`
	Total   int  `json:"total"`
}

func search(t *testing.T, params url.Values) searchResult {
	t.Helper()
	base := demoServer(t)
	resp, err := http.Get(base + "/api/v1/search?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("search %v: %d %s", params, resp.StatusCode, body)
	}
	var got searchResult
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Partial {
		t.Fatalf("demo search %v is partial: %+v", params, got.Members)
	}
	return got
}

func holdingIDs(r result) map[string]bool {
	ids := map[string]bool{}
	for _, h := range r.Holdings {
		ids[h.Member+":"+h.RecordID] = true
	}
	return ids
}

func recordID(member string, bookID int) string {
	for _, m := range demo.Members {
		if m.ID == member {
			return fmt.Sprintf("%s:%s%07d", member, m.Prefix, bookID)
		}
	}
	return ""
}

func TestHungerGamesComesFirstWithEveryHolding(t *testing.T) {
	plan, err := demo.Plan()
	if err != nil {
		t.Fatal(err)
	}
	got := search(t, url.Values{"q": {"hunger games"}})
	if len(got.Results) == 0 {
		t.Fatal("no results")
	}
	first := got.Results[0]
	if first.Title != "The Hunger Games" {
		t.Fatalf("first result %q", first.Title)
	}
	held := holdingIDs(first)
	for _, m := range plan.HoldersOf(1) {
		if !held[recordID(m, 1)] {
			t.Errorf("holding of %s missing from %v", m, held)
		}
	}
	for _, r := range got.Results[1:] {
		if r.Title == first.Title && r.Year == first.Year {
			t.Errorf("The Hunger Games appears twice: %s and %s", first.ID, r.ID)
		}
	}
}

func TestISBNInEitherSpellingFindsTheWork(t *testing.T) {
	var ids []string
	for _, q := range []string{"isbn:0439023483", "isbn:978-0-439-02348-1", "isbn:9780439023481"} {
		got := search(t, url.Values{"q": {q}})
		if len(got.Results) != 1 || got.Results[0].Title != "The Hunger Games" {
			t.Fatalf("%s: %d results %+v", q, len(got.Results), got.Results)
		}
		ids = append(ids, got.Results[0].ID)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("work ids differ: %v", ids)
	}
}

func TestDeduplicationOnPlantedCases(t *testing.T) {
	plan, err := demo.Plan()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ISBN-10 at north and ISBN-13 only at south join", func(t *testing.T) {
		got := search(t, url.Values{"q": {"hunger games"}, "scope": {"north,south"}})
		held := holdingIDs(got.Results[0])
		if !held[recordID("north", 1)] || !held[recordID("south", 1)] {
			t.Fatalf("holdings %v", held)
		}
		if !strings.Contains(strings.Join(got.Results[0].MergedBy, ";"), "shared isbn 9780439023481") {
			t.Fatalf("merged_by %v", got.Results[0].MergedBy)
		}
	})
	checked := 0
	for _, v := range plan.Variants {
		if v.ISBN != "" || checked == 3 {
			continue
		}
		checked++
		t.Run(fmt.Sprintf("edition without ISBN of book %d (%s) joins on title, author and year", v.BookID, v.Title), func(t *testing.T) {
			got := search(t, url.Values{"q": {`title:"` + v.Title + `"`}, "limit": {"50"}})
			want := plan.HoldersOf(v.BookID)
			for _, r := range got.Results {
				held := holdingIDs(r)
				if !held[recordID(v.Member, v.BookID)] {
					continue
				}
				for _, m := range want {
					if !held[recordID(m, v.BookID)] {
						t.Fatalf("%s's record is not in the cluster of %s's edition: %v", m, v.Member, held)
					}
				}
				if !strings.Contains(strings.Join(r.MergedBy, ";"), "same title, first author and year") {
					t.Fatalf("merged_by %v", r.MergedBy)
				}
				return
			}
			t.Fatalf("%s's edition not found", v.Member)
		})
	}
	if checked == 0 {
		t.Fatal("the demo plans no edition without an ISBN")
	}
	for _, g := range plan.Planted {
		t.Run(fmt.Sprintf("works titled %q by different authors stay apart", g.Title), func(t *testing.T) {
			got := search(t, url.Values{"q": {`title:"` + g.Title + `"`}, "limit": {"100"}})
			clusterOf := map[int]string{}
			for _, w := range g.Works {
				for _, r := range got.Results {
					if holdingIDs(r)[recordID(w.Holders[0], w.BookID)] {
						clusterOf[w.BookID] = r.ID
					}
				}
				if clusterOf[w.BookID] == "" {
					t.Fatalf("book %d (%s) not found", w.BookID, w.Authors)
				}
			}
			seen := map[string]int{}
			for book, id := range clusterOf {
				if other, dup := seen[id]; dup {
					t.Fatalf("books %d and %d merged into %s", other, book, id)
				}
				seen[id] = book
			}
		})
	}
}

func TestDemoMembersAreAllReady(t *testing.T) {
	base := demoServer(t)
	resp, err := http.Get(base + "/api/v1/members")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Members []struct {
			ID, Connector, Breaker string
		} `json:"members"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got.Members) < 5 {
		t.Fatalf("%d members", len(got.Members))
	}
	for _, m := range got.Members {
		if m.Connector != "local" || m.Breaker != "closed" {
			t.Errorf("member %+v", m)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	cfgPath, err := demo.Generate(filepath.Join(dir, "demo"))
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	if code := run(context.Background(), []string{"check-config", cfgPath}, &out, &errOut); code != 0 {
		t.Fatalf("demo config: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "OK") || !strings.Contains(out.String(), "5 members") {
		t.Errorf("output %q", out.String())
	}
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, []byte(`consortium:
  id: c
  name: C
  defaults: {upload_max_mb: {instructor: 50, student: 10}}
institutions:
  - id: north
    name: North
    overrides: {upload_max_mb: {student: 80}}
    member: {connector: sru, url: "http://127.0.0.1:9/sru", colour: blue}
`), 0o644)
	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), []string{"check-config", broken}, &out, &errOut); code != 1 {
		t.Fatalf("broken config: exit %d", code)
	}
	for _, want := range []string{"broken.yaml", "institution north", "upload_max_mb.student", "colour"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("error output lacks %q:\n%s", want, errOut.String())
		}
	}
}

func TestImportCountsRejectedRecords(t *testing.T) {
	dir := t.TempDir()
	good := `<?xml version="1.0"?><collection xmlns="http://www.loc.gov/MARC21/slim">
<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">x1</controlfield>
<datafield tag="245" ind1="0" ind2="0"><subfield code="a">A first book</subfield></datafield></record>
</collection>`
	extra := `<?xml version="1.0"?><collection xmlns="http://www.loc.gov/MARC21/slim">
<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">x2</controlfield>
<datafield tag="245" ind1="0" ind2="0"><subfield code="a">A second book</subfield></datafield></record>
<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">x3</controlfield></record>
</collection>`
	os.WriteFile(filepath.Join(dir, "base.xml"), []byte(good), 0o644)
	os.WriteFile(filepath.Join(dir, "extra.xml"), []byte(extra), 0o644)
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("consortium: {id: c, name: C}\ninstitutions:\n  - {id: lib, name: Lib, member: {connector: local, files: [base.xml]}}\n"), 0o644)
	var out, errOut strings.Builder
	code := run(context.Background(), []string{"import", "--config", cfg, "--data-dir", filepath.Join(dir, "data"), "--member", "lib", filepath.Join(dir, "extra.xml")}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"2 read, 1 indexed, 1 rejected", "record has no title (245)", "now holds 2 records"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
