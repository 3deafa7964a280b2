package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/demo"
	"github.com/commonshelf/commonshelf/index"
)

func send(t *testing.T, method, url, key string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func chemistryList(id string) index.List {
	return index.List{
		ID: id, Name: "Organic Chemistry I: core readings", Status: index.StatusPublished, Visibility: index.VisibilityPublic,
		Course: index.Course{Code: "CHEM 2301", Name: "Organic Chemistry I", Department: "Chemistry", Term: "Spring", Year: 2027,
			Instructors: []string{"Dr Ngozi Abara"}},
		Sections: []index.Section{{Title: "Week 1", Citations: []index.Citation{
			{ID: "c1", Type: index.TypeBook, Title: "Organic Chemistry", Authors: []string{"Clayden, Jonathan"}, Year: 2012,
				ISBN: []string{"9780199270293"}, Importance: index.ImportanceRequired},
			{ID: "c2", Type: index.TypeArticle, Title: "Teaching reaction mechanisms", ContainerTitle: "Journal of Chemical Education",
				Authors: []string{"Müller, Anja"}, Year: 2019, DOI: "10.5555/demo.chem.0001"},
		}}},
	}
}

func TestAListWrittenByOneInstitutionIsFoundFromTheGatewayAndGuarded(t *testing.T) {
	base := demoServer(t)
	body, _ := json.Marshal(chemistryList("chem2301-2027sp"))
	put := base + "/api/v1/institutions/north/lists/chem2301-2027sp"

	if code, b := send(t, http.MethodPut, put, "", body); code != 401 || !strings.Contains(string(b), `"unauthorized"`) {
		t.Fatalf("unauthenticated write: %d %s", code, b)
	}
	if code, b := send(t, http.MethodPut, put, demo.APIKey("south", "admin"), body); code != 403 || !strings.Contains(string(b), `"forbidden"`) {
		t.Fatalf("south's key on north's list: %d %s", code, b)
	}
	if code, b := send(t, http.MethodPut, put, demo.APIKey("north", "student"), body); code != 403 {
		t.Fatalf("a student key: %d %s", code, b)
	}
	start := time.Now()
	if code, b := send(t, http.MethodPut, put, demo.APIKey("north", "instructor"), body); code != 201 {
		t.Fatalf("north's instructor: %d %s", code, b)
	}
	t.Cleanup(func() { send(t, http.MethodDelete, put, demo.APIKey("north", "admin"), nil) })
	var found bool
	for time.Since(start) < time.Second && !found {
		code, b := send(t, http.MethodGet, base+"/api/v1/lists/search?q="+url.QueryEscape("instructor:abara muller"), "", nil)
		if code != 200 {
			t.Fatalf("list search: %d %s", code, b)
		}
		var res index.ListResults
		json.Unmarshal(b, &res)
		for _, h := range res.Hits {
			if h.List.Institution == "north" && h.List.ID == "chem2301-2027sp" {
				found = true
				if h.List.CourseCode != "CHEM 2301" || len(h.List.Instructors) != 1 || h.List.Instructors[0] != "Dr Ngozi Abara" {
					t.Fatalf("hit %+v", h.List)
				}
				if len(h.Citations) == 0 || !strings.Contains(strings.Join(h.Citations[0].AuthorsHTML, " "), "<mark>") {
					t.Errorf("matching citation not highlighted: %+v", h.Citations)
				}
			}
		}
	}
	if !found {
		t.Fatal("the new list was not found from the gateway within one second")
	}
	if code, _ := send(t, http.MethodPut, put, demo.APIKey("north", "instructor"), body); code != 200 {
		t.Fatalf("writing the same list again: %d, want 200 (idempotent)", code)
	}
	if code, _ := send(t, http.MethodDelete, put, demo.APIKey("west", "admin"), nil); code != 403 {
		t.Fatalf("west deleting north's list: %d", code)
	}
	bad := chemistryList("chem2301-2027sp")
	bad.Sections[0].Citations[0].Importance = "vital"
	badBody, _ := json.Marshal(bad)
	if code, b := send(t, http.MethodPut, put, demo.APIKey("north", "instructor"), badBody); code != 422 ||
		!strings.Contains(string(b), `"field":"sections[0].citations[0].importance"`) {
		t.Fatalf("invalid list: %d %s", code, b)
	}
}

func TestACitedWorkRanksHigherThanWithoutItsList(t *testing.T) {
	base := demoServer(t)
	type hit struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Score       float64
		Courses     int
		Identifiers struct{ ISBN []string }   `json:"identifiers"`
		Explain     struct{ Courses float64 } `json:"explain"`
	}
	search := func() []hit {
		code, b := send(t, http.MethodGet, base+"/api/v1/search?q=river&limit=30&explain=1", "", nil)
		if code != 200 {
			t.Fatalf("%d %s", code, b)
		}
		var r struct{ Results []hit }
		json.Unmarshal(b, &r)
		return r.Results
	}
	position := func(hits []hit, id string) (int, hit) {
		for i, h := range hits {
			if h.ID == id {
				return i, h
			}
		}
		t.Fatalf("%s not in results", id)
		return 0, hit{}
	}
	before := search()
	var target hit
	for _, h := range before[1:] {
		if h.Courses == 0 && len(h.Identifiers.ISBN) > 0 {
			target = h
			break
		}
	}
	if target.ID == "" {
		t.Fatal("no uncited work with an ISBN among the results")
	}
	posBefore, _ := position(before, target.ID)
	l := chemistryList("river-reading")
	l.Course = index.Course{Code: "GEOG 110", Name: "Rivers and People", Department: "Geography", Term: "Autumn", Year: 2027}
	l.Sections[0].Citations = []index.Citation{{ID: "r1", Type: index.TypeBook, Title: target.Title, ISBN: target.Identifiers.ISBN[:1],
		Importance: index.ImportanceRequired}}
	body, _ := json.Marshal(l)
	put := base + "/api/v1/institutions/east/lists/river-reading"
	if code, b := send(t, http.MethodPut, put, demo.APIKey("east", "instructor"), body); code != 201 {
		t.Fatalf("%d %s", code, b)
	}
	with := search()
	posWith, w := position(with, target.ID)
	if w.Courses != 1 || w.Explain.Courses == 0 || w.Score <= target.Score || posWith > posBefore {
		t.Fatalf("with the list: position %d→%d, score %.4f→%.4f, courses %d, explain %v", posBefore, posWith, target.Score, w.Score, w.Courses, w.Explain)
	}
	if code, _ := send(t, http.MethodDelete, put, demo.APIKey("east", "admin"), nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	posAfter, a := position(search(), target.ID)
	if a.Courses != 0 || a.Explain.Courses != 0 || a.Score != target.Score || posAfter < posWith {
		t.Fatalf("after deleting the list: position %d, score %.4f, courses %d", posAfter, a.Score, a.Courses)
	}
	t.Logf("%q: position %d with its list, %d without; score %.4f vs %.4f", target.Title, posWith+1, posAfter+1, w.Score, a.Score)
}

// A child process serving a small consortium, killed with SIGKILL in the
// middle of bulk imports: every acknowledged list must be there, whole,
// after a restart.
func TestKill9DuringBulkImportLosesNoAcknowledgedList(t *testing.T) {
	if os.Getenv("COMMONSHELF_E2E_CHILD") != "" {
		t.Skip("child")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cat.xml"), []byte(`<?xml version="1.0"?><collection xmlns="http://www.loc.gov/MARC21/slim">
<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">x1</controlfield>
<datafield tag="245" ind1="0" ind2="0"><subfield code="a">A book</subfield></datafield></record></collection>`), 0o644)
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`consortium: {id: c, name: C}
institutions:
  - id: lib
    name: Lib
    member: {connector: local, files: [cat.xml]}
    api_keys: [{sha256: %s, role: admin}]
`, sha("secret-key"))), 0o644)
	data := filepath.Join(dir, "data")
	cmd, base := startServer(t, cfg, data)
	sent := map[string]index.List{}
	acked := map[string]bool{}
	var lines bytes.Buffer
	batches := 0
	ctx, cancel := context.WithCancel(context.Background())
	kill := func() { // in the middle of the next request (or between two)
		time.Sleep(30 * time.Millisecond)
		syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		cancel()
	}
	for n := 0; ctx.Err() == nil && n < 100000; batches++ {
		if batches == 4 {
			go kill()
		}
		lines.Reset()
		for range 150 {
			l := chemistryList(fmt.Sprintf("list-%05d", n))
			l.Name = fmt.Sprintf("Reading list %d", n)
			b, _ := json.Marshal(l)
			lines.Write(b)
			lines.WriteByte('\n')
			sent[l.ID] = l
			n++
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/institutions/lib/lists:bulk", bytes.NewReader(lines.Bytes()))
		req.Header.Set("Authorization", "Bearer secret-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			break // killed mid-request: nothing of this batch was acknowledged
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var r index.LineResult
			if json.Unmarshal(sc.Bytes(), &r) == nil && r.Result == "stored" {
				acked[r.ID] = true
			}
		}
		resp.Body.Close()
	}
	cmd.Wait()
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged before the kill; the test proves nothing")
	}
	cmd, base = startServer(t, cfg, data)
	defer stopServer(cmd)
	present := 0
	for id, want := range sent {
		code, b := send(t, http.MethodGet, base+"/api/v1/lists/lib/"+id, "", nil)
		switch code {
		case 200:
			present++
			var got index.List
			json.Unmarshal(b, &got)
			if got.Name != want.Name || len(got.Sections) != 1 || len(got.Sections[0].Citations) != 2 {
				t.Fatalf("list %s is half-written: %s", id, b)
			}
		case 404:
			if acked[id] {
				t.Fatalf("acknowledged list %s lost", id)
			}
		default:
			t.Fatalf("GET %s: %d %s", id, code, b)
		}
	}
	t.Logf("%d batches sent, %d lists acknowledged, %d present after kill -9 and restart, of %d sent", batches, len(acked), present, len(sent))
}

// TestServeChild is the child process of startServer: serve, with its log
// on stderr when COMMONSHELF_E2E_LOG is set.
func TestServeChild(t *testing.T) {
	args := os.Getenv("COMMONSHELF_E2E_CHILD")
	if args == "" {
		t.Skip("only run as a child of startServer")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	var log io.Writer = io.Discard
	if os.Getenv("COMMONSHELF_E2E_LOG") != "" {
		log = os.Stderr
	}
	os.Exit(run(ctx, strings.Fields(args), os.Stdout, log))
}

func TestADemoListShowsOnItsWorkAndDeletingItLowersTheWork(t *testing.T) {
	base := demoServer(t)
	lists, err := demo.Lists()
	if err != nil {
		t.Fatal(err)
	}
	// A published public demo list citing a book by ISBN that no other list cites.
	counts := map[string]int{}
	for _, l := range lists {
		if l.Status != index.StatusPublished || l.Visibility != index.VisibilityPublic {
			continue
		}
		for _, s := range l.Sections {
			for _, c := range s.Citations {
				if len(c.ISBN) > 0 {
					counts[c.ISBN[0]]++
				}
			}
		}
	}
	var list index.List
	var cited index.Citation
	for _, l := range lists {
		if l.Status != index.StatusPublished || l.Visibility != index.VisibilityPublic || cited.Title != "" {
			continue
		}
		for _, s := range l.Sections {
			for _, c := range s.Citations {
				if len(c.ISBN) > 0 && counts[c.ISBN[0]] == 1 && cited.Title == "" {
					list, cited = *l, c
				}
			}
		}
	}
	if cited.Title == "" {
		t.Fatal("no demo citation cited by one list only")
	}
	type hit struct {
		Score   float64
		Courses int
		Lists   []struct {
			Institution string `json:"institution"`
			ListID      string `json:"list_id"`
		}
		Explain struct{ Courses float64 }
	}
	find := func() hit {
		code, b := send(t, http.MethodGet, base+"/api/v1/search?explain=1&q=isbn:"+url.QueryEscape(cited.ISBN[0]), "", nil)
		if code != 200 {
			t.Fatalf("%d %s", code, b)
		}
		var r struct{ Results []hit }
		json.Unmarshal(b, &r)
		if len(r.Results) != 1 {
			t.Fatalf("isbn:%s: %d results", cited.ISBN[0], len(r.Results))
		}
		return r.Results[0]
	}
	with := find()
	if len(with.Lists) != 1 || with.Lists[0].Institution != list.Institution || with.Lists[0].ListID != list.ID || with.Explain.Courses == 0 {
		t.Fatalf("%q with its demo list %s/%s: %+v", cited.Title, list.Institution, list.ID, with)
	}
	path := base + "/api/v1/institutions/" + list.Institution + "/lists/" + list.ID
	if code, _ := send(t, http.MethodDelete, path, demo.APIKey(list.Institution, "admin"), nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	body, _ := json.Marshal(list)
	t.Cleanup(func() { send(t, http.MethodPut, path, demo.APIKey(list.Institution, "admin"), body) })
	without := find()
	if len(without.Lists) != 0 || without.Explain.Courses != 0 || without.Score >= with.Score {
		t.Fatalf("after deleting the list: %+v (with it: score %.4f)", without, with.Score)
	}
	t.Logf("%q: score %.4f on %s's list, %.4f without", cited.Title, with.Score, list.Institution, without.Score)
}
