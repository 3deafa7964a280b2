package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/commonshelf/commonshelf/bench/load"
	"github.com/commonshelf/commonshelf/bench/report"
	"github.com/commonshelf/commonshelf/connectors/marc"
	"github.com/commonshelf/commonshelf/index"
)

// listInstitutions own the generated lists.
var listInstitutions = []string{"alder", "birch", "cedar", "dogwood", "elm", "fir", "ginkgo", "hazel", "ivy", "juniper"}

var listDepartments = []string{"Chemistry", "History", "English Literature", "Physics", "Philosophy", "Economics", "Biology", "Mathematics", "Music", "Geography"}

// ResourceLists builds an index of about a million citations with the
// import-lists command (one child process per institution), then serves it
// and measures list searches at one and two workers.
func ResourceLists(ctx context.Context, env *Env) error {
	const perList = 50
	lists := env.scaledN(20000)
	titles := make([]string, 0, len(env.Records))
	for _, r := range env.Records {
		if mr, err := marc.ToRecord(r); err == nil {
			titles = append(titles, mr.Title)
		}
	}
	// Configuration: the institutions, each with a key; no catalogues.
	var cfg strings.Builder
	cfg.WriteString("consortium: {id: lists, name: Lists Bench}\ninstitutions:\n")
	for _, in := range listInstitutions {
		fmt.Fprintf(&cfg, "  - {id: %s, name: %s University}\n", in, strings.ToUpper(in[:1])+in[1:])
	}
	cfgPath := filepath.Join(env.Dir, "lists.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		return err
	}
	dataDir := filepath.Join(env.Dir, "lists-data")
	rng := rand.New(rand.NewPCG(42, 7))
	perInst := lists / len(listInstitutions)
	var built time.Duration
	var peakRSS int64
	citations := 0
	for ii, inst := range listInstitutions {
		file := filepath.Join(env.Dir, inst+".ndjson")
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		enc := json.NewEncoder(w)
		for i := range perInst {
			dept := listDepartments[rng.IntN(len(listDepartments))]
			l := index.List{ID: fmt.Sprintf("l%06d", i), Name: fmt.Sprintf("%s reading list %d", dept, i),
				Status: index.StatusPublished, Visibility: index.VisibilityPublic,
				Course: index.Course{Code: fmt.Sprintf("%s %d", strings.ToUpper(dept[:4]), 100+i%400), Name: dept + " " + fmt.Sprint(100+i%400),
					Department: dept, Term: []string{"Autumn", "Spring"}[i%2], Year: 2020 + i%7,
					Instructors: []string{fmt.Sprintf("Dr %s %d", strings.ToUpper(inst[:1])+inst[1:], rng.IntN(500))}}}
			sec := index.Section{Title: "Readings"}
			for c := range perList {
				t := titles[rng.IntN(len(titles))]
				if len(t) > 300 {
					t = t[:300]
				}
				sec.Citations = append(sec.Citations, index.Citation{ID: fmt.Sprintf("c%d", c), Type: index.TypeBook, Title: t,
					Authors: []string{fmt.Sprintf("Author%d, A.", rng.IntN(5000))}, Year: 1950 + rng.IntN(70),
					Importance: []string{index.ImportanceRequired, index.ImportanceRecommended, index.ImportanceOptional}[rng.IntN(3)]})
				citations++
			}
			l.Sections = []index.Section{sec}
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		w.Flush()
		f.Close()
		start := time.Now()
		cmd := exec.CommandContext(ctx, env.Bin, "import-lists", "--config", cfgPath, "--data-dir", dataDir, "--institution", inst, file)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("import-lists %s: %v: %s", inst, err, out)
		}
		built += time.Since(start)
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peakRSS = max(peakRSS, ru.Maxrss*1024)
		}
		os.Remove(file)
		env.logf("lists: institution %d/%d imported (%d citations so far, %v)", ii+1, len(listInstitutions), citations, built.Round(time.Millisecond))
	}
	size := dirSize(filepath.Join(dataDir, "lists"))
	env.Run.Add(report.Figure{Scenario: "resource lists", Name: fmt.Sprintf("index build, %d citations in %d lists", citations, lists), Value: float64(citations) / built.Seconds(), Unit: "citations/s"})
	env.Run.Add(report.Figure{Scenario: "resource lists", Name: "on-disk size (store + index)", Value: float64(size) / (1 << 20), Unit: "MiB"})
	env.Run.Add(report.Figure{Scenario: "resource lists", Name: "import process peak RSS", Value: float64(peakRSS) / (1 << 20), Unit: "MiB"})

	addr, err := FreeAddr()
	if err != nil {
		return err
	}
	srv, err := StartProcess(env.Bin, []string{"serve", "--config", cfgPath, "--addr", addr, "--data-dir", dataDir}, addr, "/readyz", filepath.Join(env.Dir, "lists.log"))
	if err != nil {
		return err
	}
	defer srv.Stop()
	env.Run.Add(report.Figure{Scenario: "resource lists", Name: "server RSS with the index open", Value: float64(srv.RSS()) / (1 << 20), Unit: "MiB"})
	words := []string{"history", "love", "war", "night", "house", "world", "life", "girl", "king", "city", "secret", "dark"}
	kinds := []struct {
		name string
		path func(i int) string
	}{
		{"keyword", func(i int) string {
			return "/api/v1/lists/search?q=" + url.QueryEscape(words[i%len(words)]+" "+words[(i/7)%len(words)])
		}},
		{"fielded", func(i int) string {
			return "/api/v1/lists/search?q=" + url.QueryEscape(fmt.Sprintf("author:author%d", i%5000))
		}},
		{"faceted", func(i int) string {
			return "/api/v1/lists/search?q=" + url.QueryEscape(words[i%len(words)]) + "&filter.department=" + url.QueryEscape(listDepartments[i%len(listDepartments)])
		}},
	}
	c, err := load.NewClient(srv.Base, 4, 30*time.Second)
	if err != nil {
		return err
	}
	for _, k := range kinds {
		var base load.Result
		for _, workers := range []int{1, 2} {
			n := env.scaledN(400 * workers)
			res := load.Closed(ctx, c, workers, n, func(i int) (string, map[string]string) { return k.path(i), nil })
			if res.Statuses[200] != res.Requests {
				return fmt.Errorf("list search %s: %v", k.name, res)
			}
			env.logf("list search %s, %d workers: %v", k.name, workers, res)
			f := report.Figure{Scenario: "resource lists", Name: fmt.Sprintf("%s list search p50, %d worker(s)", k.name, workers),
				Value: ms(res.Latency.Percentile(0.5)), Unit: "ms"}
			if workers == 1 {
				base = res
			} else {
				f.Baseline, f.BaselineValue = "1 worker", ms(base.Latency.Percentile(0.5))
			}
			env.Run.Add(f)
			env.Run.Add(report.Figure{Scenario: "resource lists", Name: fmt.Sprintf("%s list search p99, %d worker(s)", k.name, workers),
				Value: ms(res.Latency.Percentile(0.99)), Unit: "ms"})
			env.Run.Add(report.Figure{Scenario: "resource lists", Name: fmt.Sprintf("%s list searches/s, %d worker(s)", k.name, workers),
				Value: res.Throughput(), Unit: "req/s"})
		}
	}
	return nil
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
