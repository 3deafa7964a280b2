package bench

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/commonshelf/commonshelf/bench/load"
	"github.com/commonshelf/commonshelf/bench/report"
	"github.com/commonshelf/commonshelf/connectors/marc"
	"github.com/commonshelf/commonshelf/demo"
)

// Two scenarios on the demo consortium (five local members, the real
// catalogues) that ask what hostile or heavy traffic does to the service:
// Flood (many distinct anonymous searches against a small answer cache)
// and Overload (twice the rate the server can answer).

// floodCacheMB is the answer cache's budget in the flood: half the
// built-in one, and still about a ninth of what 10,000 distinct answers
// take (about 115 KB each), so the flood churns it many times over.
const floodCacheMB = 128

// overloadCacheMB is the answer cache's budget under overload: small, so
// that the peak RSS shows the work in flight rather than a cache filling.
const overloadCacheMB = 32

// floodHot is the one query that a tenth of the flood repeats.
const floodHot = "/api/v1/search?q=hunger+games&limit=20"

// Flood sends 10,000 distinct anonymous searches (× scale), with one hot
// query as every tenth request, to the demo consortium with a 32 MB answer
// cache. It reports how often the hot query is still answered from the
// cache, the server's peak RSS against 1.5 × the cache budget + its idle
// base, and what the caches count.
func Flood(ctx context.Context, env *Env) error {
	cfg, err := env.demoConfig("flood", fmt.Sprintf("{max_entries: 100000, max_mb: %d}", floodCacheMB))
	if err != nil {
		return err
	}
	srv, err := StartCommonshelf(env.Bin, cfg, filepath.Join(env.Dir, "flood-data"), filepath.Join(env.Dir, "flood.log"))
	if err != nil {
		return err
	}
	defer srv.Stop()
	qs := newQueries(env.Records)
	const conns = 8
	c, err := load.NewClient(srv.Base, conns, 10*time.Second)
	if err != nil {
		return err
	}
	distinct := env.scaledN(10000)
	total := distinct + (distinct+8)/9 // every tenth request is the hot one
	// Warm-up: connections, code paths, a few answers (queries the flood
	// does not send; few, so that the idle base is not a full cache).
	warm := load.Closed(ctx, c, conns, 20, func(i int) (string, map[string]string) { return qs.path(total + i), nil })
	if warm.Statuses[200] == 0 {
		return fmt.Errorf("warm-up: no search answered 200: %v", warm)
	}
	time.Sleep(time.Second)
	idle := srv.RSS()
	idleAnon, idleFile := srv.status("RssAnon:"), srv.status("RssFile:")
	resetOK := srv.ResetPeakRSS() == nil
	stopSampling := srv.SampleRSS(50 * time.Millisecond)

	var mu sync.Mutex
	var hot, hot200, hotCached int
	c.Observe = func(path string, status int, body []byte) {
		if path != floodHot {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		hot++
		if status == 200 {
			hot200++
			if bytes.Contains(body, []byte(`"cached":true`)) {
				hotCached++
			}
		}
	}
	res := load.Closed(ctx, c, conns, total, func(i int) (string, map[string]string) {
		if i%10 == 0 {
			return floodHot, nil
		}
		return qs.path(i - i/10 - 1), nil
	})
	c.Observe = nil
	sampled := stopSampling()
	peak := sampled
	if resetOK {
		peak = max(peak, srv.PeakRSS())
	}
	env.logf("flood: %v; hot query %d answers, %d of %d 200s cached; RSS idle %d MiB, peak %d MiB (sampled %d MiB)",
		res, hot, hotCached, hot200, idle>>20, peak>>20, sampled>>20)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	time.Sleep(time.Second)
	heap, okHeap := metricValue(ctx, srv, "go_memstats_heap_inuse_bytes")
	entries, cacheBytes, okSearch := cacheGauge(ctx, srv, "search")
	pageEntries, pageBytes, okPages := cacheGauge(ctx, srv, "pages")
	after := srv.RSS()
	// RSS counts the pages of the index files the searches read (mapped)
	// as well as the heap: the split says which grew.
	anon, file := srv.status("RssAnon:"), srv.status("RssFile:")

	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	hitRatio := 0.0
	if hot200 > 1 {
		hitRatio = 100 * float64(hotCached) / float64(hot200-1)
	}
	env.Run.Add(report.Figure{Scenario: "flood", Name: fmt.Sprintf("hot query answered from the cache (%d of its %d answers after the first)", hotCached, max(hot200-1, 0)),
		Value: hitRatio, Unit: "%", Goal: "≥ 95%", Met: report.Met(hitRatio >= 95)})
	bound := 1.5*floodCacheMB + mib(idle)
	env.Run.Add(report.Figure{Scenario: "flood", Name: fmt.Sprintf("peak RSS during %d distinct searches (%s)", res.Requests-hot, peakHow(resetOK)),
		Value: mib(peak), Unit: "MiB", Baseline: fmt.Sprintf("1.5 × the %d MB cache budget + idle base", floodCacheMB), BaselineValue: bound,
		Goal: "≤ 1×", Met: report.Met(mib(peak) <= bound)})
	env.Run.Add(report.Figure{Scenario: "flood", Name: "idle base: RSS after start-up and a warm-up", Value: mib(idle), Unit: "MiB"})
	env.Run.Add(report.Figure{Scenario: "flood", Name: "RSS a second after the flood", Value: mib(after), Unit: "MiB", Baseline: "idle base", BaselineValue: mib(idle)})
	if anon > 0 || file > 0 {
		env.Run.Add(report.Figure{Scenario: "flood", Name: "… of which anonymous (heap, stacks: RssAnon)", Value: mib(anon), Unit: "MiB",
			Baseline: "idle", BaselineValue: mib(idleAnon)})
		env.Run.Add(report.Figure{Scenario: "flood", Name: "… of which file-backed (mapped index files: RssFile)", Value: mib(file), Unit: "MiB",
			Baseline: "idle", BaselineValue: mib(idleFile)})
	}
	if okSearch {
		env.Run.Add(report.Figure{Scenario: "flood", Name: fmt.Sprintf("answer cache's counted bytes after the flood (%.0f answers)", entries),
			Value: cacheBytes / (1 << 20), Unit: "MiB", Baseline: "cache budget", BaselineValue: floodCacheMB, Goal: "≤ 1×", Met: report.Met(cacheBytes <= floodCacheMB<<20)})
	} else {
		env.Run.Notes = append(env.Run.Notes, "flood: /metrics did not report commonshelf_cache_bytes{cache=\"search\"}")
	}
	if okHeap {
		env.Run.Add(report.Figure{Scenario: "flood", Name: "Go heap in use a second after the flood (go_memstats_heap_inuse_bytes)", Value: heap / (1 << 20), Unit: "MiB",
			Baseline: "RSS then", BaselineValue: mib(after)})
	}
	if okPages {
		env.Run.Add(report.Figure{Scenario: "flood", Name: fmt.Sprintf("page cache's counted bytes after the flood (%.0f pages)", pageEntries),
			Value: pageBytes / (1 << 20), Unit: "MiB"})
	}
	env.Run.Add(report.Figure{Scenario: "flood", Name: fmt.Sprintf("searches/s during the flood, %d connections (%s)", conns, statusSummary(res)),
		Value: res.Throughput(), Unit: "req/s"})
	return nil
}

func peakHow(reset bool) string {
	if reset {
		return "VmHWM since the warm-up, and VmRSS every 50 ms"
	}
	return "VmRSS every 50 ms"
}

// Overload measures the rate the server answers uncached distinct
// searches at (closed loop, best of 4, 16 and 32 clients), then offers
// twice that rate, open loop, for 15 s (× scale). Whatever the server does
// is reported: the share shed as 503 and whether each carries Retry-After,
// how soon a 503 comes back, the p99 of the searches answered against the
// unloaded p99 of the same run, timeouts, and peak RSS.
func Overload(ctx context.Context, env *Env) error {
	// A small answer cache, as in the flood: every search here is distinct,
	// and what the peak RSS should show is the work in flight, not a cache
	// filling up.
	cfg, err := env.demoConfig("overload", fmt.Sprintf("{max_entries: 100000, max_mb: %d}", overloadCacheMB))
	if err != nil {
		return err
	}
	srv, err := StartCommonshelf(env.Bin, cfg, filepath.Join(env.Dir, "overload-data"), filepath.Join(env.Dir, "overload.log"))
	if err != nil {
		return err
	}
	defer srv.Stop()
	qs := newQueries(env.Records)
	const maxOutstanding = 1024
	c, err := load.NewClient(srv.Base, maxOutstanding, 10*time.Second)
	if err != nil {
		return err
	}
	var used atomic.Int64 // each query is used once: every search below is uncached
	fresh := func(int) (string, map[string]string) { return qs.path(int(used.Add(1) - 1)), nil }
	load.Closed(ctx, c, 4, 100, fresh) // warm-up
	time.Sleep(time.Second)
	idle := srv.RSS()

	// Unloaded: one search at a time.
	unloaded := load.Closed(ctx, c, 1, env.scaledN(300), fresh)
	u200 := unloaded.StatusLatency(200)
	if u200.Count() == 0 {
		return fmt.Errorf("unloaded searches: none answered 200: %v", unloaded)
	}
	env.logf("overload, unloaded: %v", unloaded)

	// Saturation: closed loop for a few seconds at each concurrency.
	saturation, bestConns := 0.0, 0
	for _, conns := range []int{4, 16, 32} {
		sctx, cancel := context.WithTimeout(ctx, env.scaled(4*time.Second))
		res := load.Closed(sctx, c, conns, 1<<30, fresh)
		cancel()
		rate := float64(res.Statuses[200]) / res.Elapsed.Seconds()
		env.logf("overload, closed loop at %d clients: %v; %.0f answered/s", conns, res, rate)
		if rate > saturation {
			saturation, bestConns = rate, conns
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if saturation <= 0 {
		return fmt.Errorf("no search answered 200 in the closed loop")
	}

	// Twice that rate, open loop.
	offered := 2 * saturation
	dur := env.scaled(15 * time.Second)
	time.Sleep(time.Second)
	resetOK := srv.ResetPeakRSS() == nil
	stopSampling := srv.SampleRSS(50 * time.Millisecond)
	res := load.Open(ctx, c, offered, dur, maxOutstanding, fresh)
	sampled := stopSampling()
	peak := sampled
	if resetOK {
		peak = max(peak, srv.PeakRSS())
	}
	env.logf("overload at %.0f/s: %v; 503 without Retry-After %d; peak RSS %d MiB", offered, res, res.NoRetryAfter, peak>>20)
	if ctx.Err() != nil {
		return ctx.Err()
	}

	// Afterwards: does it answer normally again?
	time.Sleep(2 * time.Second)
	after := load.Closed(ctx, c, 1, 50, fresh)

	sent := res.Requests + res.Errors + res.Dropped
	pct := func(n int) float64 { return 100 * float64(n) / float64(max(sent, 1)) }
	shed := res.Statuses[503]
	s503, a200 := res.StatusLatency(503), res.StatusLatency(200)
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	add := env.Run.Add
	add(report.Figure{Scenario: "overload", Name: fmt.Sprintf("saturation: uncached searches answered/s (closed loop, best at %d clients)", bestConns), Value: saturation, Unit: "req/s"})
	add(report.Figure{Scenario: "overload", Name: fmt.Sprintf("offered for %v, open loop", dur.Round(time.Second)), Value: offered, Unit: "req/s",
		Baseline: "saturation", BaselineValue: saturation})
	add(report.Figure{Scenario: "overload", Name: fmt.Sprintf("shed as 503 (%d of %d offered)", shed, sent), Value: pct(shed), Unit: "%"})
	if shed > 0 {
		with := 100 * float64(shed-res.NoRetryAfter) / float64(shed)
		add(report.Figure{Scenario: "overload", Name: "503 answers carrying Retry-After", Value: with, Unit: "%", Goal: "100%", Met: report.Met(res.NoRetryAfter == 0)})
		add(report.Figure{Scenario: "overload", Name: "time to shed: 503 latency p50", Value: ms(s503.Percentile(0.5)), Unit: "ms",
			Baseline: "unloaded search p50", BaselineValue: ms(u200.Percentile(0.5))})
		add(report.Figure{Scenario: "overload", Name: "time to shed: 503 latency p99", Value: ms(s503.Percentile(0.99)), Unit: "ms",
			Baseline: "unloaded search p99", BaselineValue: ms(u200.Percentile(0.99))})
	} else {
		env.Run.Notes = append(env.Run.Notes, "overload: the server shed nothing (no 503) at twice its saturation rate")
	}
	add(report.Figure{Scenario: "overload", Name: fmt.Sprintf("answered 200 (%d)", res.Statuses[200]), Value: pct(res.Statuses[200]), Unit: "%"})
	if a200.Count() > 0 {
		add(report.Figure{Scenario: "overload", Name: "answered searches p50", Value: ms(a200.Percentile(0.5)), Unit: "ms",
			Baseline: "unloaded search p50", BaselineValue: ms(u200.Percentile(0.5))})
		add(report.Figure{Scenario: "overload", Name: "answered searches p99", Value: ms(a200.Percentile(0.99)), Unit: "ms",
			Baseline: "unloaded search p99", BaselineValue: ms(u200.Percentile(0.99))})
	}
	other := res.Requests - res.Statuses[200] - shed
	add(report.Figure{Scenario: "overload", Name: fmt.Sprintf("other statuses (%s)", statusSummary(res)), Value: pct(other), Unit: "%"})
	add(report.Figure{Scenario: "overload", Name: "no answer within 10 s (client timeouts, resets)", Value: pct(res.Errors), Unit: "%"})
	add(report.Figure{Scenario: "overload", Name: fmt.Sprintf("not sent: %d requests already outstanding", maxOutstanding), Value: pct(res.Dropped), Unit: "%"})
	add(report.Figure{Scenario: "overload", Name: fmt.Sprintf("peak RSS under overload, %d MB answer cache (%s)", overloadCacheMB, peakHow(resetOK)), Value: mib(peak), Unit: "MiB",
		Baseline: "idle", BaselineValue: mib(idle)})
	okAfter := 100 * after.Share(200)
	add(report.Figure{Scenario: "overload", Name: "searches answered 200 two seconds after the overload", Value: okAfter, Unit: "%",
		Goal: "100%", Met: report.Met(okAfter == 100)})
	return nil
}

// statusSummary lists a result's statuses ("200: 950, 503: 50").
func statusSummary(r load.Result) string {
	codes := make([]int, 0, len(r.Statuses))
	for c := range r.Statuses {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	parts := make([]string, 0, len(codes)+1)
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d: %d", c, r.Statuses[c]))
	}
	if r.Errors > 0 {
		parts = append(parts, fmt.Sprintf("errors: %d", r.Errors))
	}
	return strings.Join(parts, ", ")
}

// cacheGauge reads one cache's entries and bytes from /metrics; ok is false
// when they are not there (or /metrics is not served to the bench).
func cacheGauge(ctx context.Context, srv *Server, cache string) (entries, bytes float64, ok bool) {
	code, body, err := srv.Get(ctx, "/metrics")
	if err != nil || code != 200 {
		return 0, 0, false
	}
	var n int
	for _, line := range strings.Split(string(body), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		var v float64
		switch f[0] {
		case `commonshelf_cache_entries{cache="` + cache + `"}`:
			fmt.Sscan(f[1], &v)
			entries, n = v, n+1
		case `commonshelf_cache_bytes{cache="` + cache + `"}`:
			fmt.Sscan(f[1], &v)
			bytes, n = v, n+1
		}
	}
	return entries, bytes, n == 2
}

// metricValue reads one unlabelled sample from /metrics.
func metricValue(ctx context.Context, srv *Server, name string) (float64, bool) {
	code, body, err := srv.Get(ctx, "/metrics")
	if err != nil || code != 200 {
		return 0, false
	}
	for _, line := range strings.Split(string(body), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			var v float64
			_, err := fmt.Sscan(f[1], &v)
			return v, err == nil
		}
	}
	return 0, false
}

// demoConfig writes the demo consortium under the scratch directory and
// returns its configuration file, with cache (a YAML flow mapping, "" to
// keep the defaults) as the consortium's cache settings.
func (env *Env) demoConfig(name, cache string) (string, error) {
	path, err := demo.Generate(filepath.Join(env.Dir, name+"-demo"))
	if err != nil {
		return "", err
	}
	if cache == "" {
		return path, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	out, err := withCache(string(b), cache)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return path, os.WriteFile(path, []byte(out), 0o644)
}

// withCache sets consortium.defaults.cache in a demo configuration: it
// replaces the cache line of the defaults, or adds one after its search
// line.
func withCache(cfg, cache string) (string, error) {
	lines := strings.Split(cfg, "\n")
	const indent = "    "
	search := -1
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, indent+"cache:"):
			lines[i] = indent + "cache: " + cache
			return strings.Join(lines, "\n"), nil
		case strings.HasPrefix(l, indent+"search:") && search < 0:
			search = i
		}
	}
	if search < 0 {
		return "", fmt.Errorf("no consortium.defaults.search line to put the cache settings after")
	}
	lines = slices.Insert(lines, search+1, indent+"cache: "+cache)
	return strings.Join(lines, "\n"), nil
}

// queries hands out distinct catalogue searches ("word OR word", then
// three words) over words frequent in the demo records' titles, so that
// every one is a miss in the answer cache and finds something.
type queries struct {
	mu    sync.Mutex
	words []string
	made  []string
	// the enumeration: size 2 (pairs), 3 (triples), 4 (numbered pairs);
	// the current words' indexes
	size, a, b, c int
}

func newQueries(records []*marc.Record) *queries {
	stop := map[string]bool{"the": true, "and": true, "for": true, "with": true, "from": true, "that": true, "this": true,
		"into": true, "edition": true, "volume": true, "book": true, "books": true, "series": true, "novel": true}
	count := map[string]int{}
	for _, r := range records {
		mr, err := marc.ToRecord(r)
		if err != nil {
			continue
		}
		seen := map[string]bool{}
		for _, w := range strings.FieldsFunc(strings.ToLower(mr.Title), func(r rune) bool { return !unicode.IsLetter(r) }) {
			if len([]rune(w)) >= 4 && !stop[w] && !seen[w] {
				seen[w] = true
				count[w]++
			}
		}
	}
	words := make([]string, 0, len(count))
	for w := range count {
		words = append(words, w)
	}
	slices.SortFunc(words, func(a, b string) int { return cmp.Or(count[b]-count[a], strings.Compare(a, b)) })
	words = words[:min(len(words), 300)]
	if len(words) < 8 { // no records: still distinct queries
		words = append(words, "history", "love", "war", "science", "music", "garden", "river", "night", "city", "children")
	}
	return &queries{words: words}
}

// path is the search for the i-th distinct query.
func (q *queries) path(i int) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.made == nil {
		// Every pair, in a fixed random order: how much a query costs
		// does not drift along the sequence (the first pairs would all
		// hold the most frequent word).
		for n := len(q.words) * (len(q.words) - 1) / 2; len(q.made) < n; {
			q.made = append(q.made, q.next())
		}
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(q.made), func(i, j int) { q.made[i], q.made[j] = q.made[j], q.made[i] })
	}
	for len(q.made) <= i {
		q.made = append(q.made, q.next())
	}
	return "/api/v1/search?q=" + url.QueryEscape(q.made[i]) + "&limit=20"
}

// next enumerates the pairs of words (a < b), then the triples (a < b <
// c), then numbered pairs, in a fixed order.
func (q *queries) next() string {
	n := len(q.words)
	w := q.words
	for {
		switch q.size {
		case 0:
			q.size, q.a, q.b, q.c = 2, 0, 1, 2
		case 2:
			if q.b++; q.b >= n {
				q.a++
				q.b = q.a + 1
			}
			if q.b >= n {
				q.size, q.a, q.b, q.c = 3, 0, 1, 1
				continue
			}
		case 3:
			if q.c++; q.c >= n {
				if q.b++; q.b >= n-1 {
					q.a++
					q.b = q.a + 1
				}
				q.c = q.b + 1
			}
			if q.c >= n {
				q.size, q.a = 4, 0
				continue
			}
		default:
			q.a++
			return fmt.Sprintf("%s OR %s %d", w[q.a%n], w[(q.a/n+1+q.a%n)%n], q.a)
		}
		if q.size == 2 {
			return w[q.a] + " OR " + w[q.b]
		}
		return w[q.a] + " OR " + w[q.b] + " OR " + w[q.c]
	}
}
