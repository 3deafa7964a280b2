//go:build unix

package sru

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/connectors/local"
	"github.com/commonshelf/commonshelf/connectors/sru/zebralab"
	"github.com/commonshelf/commonshelf/demo"
	"github.com/commonshelf/commonshelf/federate"
)

// The Zebra members of the end-to-end tests and benchmarks: subsets of the
// demo consortium's catalogues (the first subsetSize records of each, in
// book order, so every one holds The Hunger Games, book 1, and the most
// popular works overlap), served by real zebrasrv processes on loopback,
// plus west's subset in a local index. They are started once, on first
// use, and stopped by TestMain.
const subsetSize = 400

// zebraMembers are the demo members served over SRU.
var zebraMembers = []string{"north", "south", "east"}

type fixture struct {
	dir     string
	demoDir string
	lab     *zebralab.Lab
	servers map[string]*zebralab.Server
	west    *local.Index
	// subsets are the members' subset files, by member id.
	subsets map[string]string
	err     error
}

var (
	fixOnce sync.Once
	fix     *fixture
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fix != nil {
		fix.close()
	}
	os.Exit(code)
}

// zebra returns the shared fixture, starting it on first use. Without
// Zebra the test fails with what to install — it is skipped only under
// -short outside CI.
func zebra(tb testing.TB) *fixture {
	tb.Helper()
	fixOnce.Do(func() { fix = startFixture() })
	if fix.err != nil {
		if errors.Is(fix.err, zebralab.ErrNotInstalled) && testing.Short() && os.Getenv("CI") != "true" {
			tb.Skipf("Zebra is not installed (%v); these tests need it (run `make test-deps`)", fix.err)
		}
		tb.Fatalf("the Zebra lab could not start: %v", fix.err)
	}
	return fix
}

func startFixture() *fixture {
	f := &fixture{servers: map[string]*zebralab.Server{}, subsets: map[string]string{}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if f.err = zebralab.Ensure(ctx, nil); f.err != nil {
		return f
	}
	f.dir, f.err = os.MkdirTemp("", "commonshelf-sru-test-")
	if f.err != nil {
		return f
	}
	f.demoDir = filepath.Join(f.dir, "demo")
	if _, f.err = demo.Generate(f.demoDir); f.err != nil {
		return f
	}
	for _, m := range append(append([]string(nil), zebraMembers...), "west", "central") {
		path, _, err := zebralab.Subset(f.dir, filepath.Join(f.demoDir, "members", m+".xml.gz"), subsetSize)
		if err != nil {
			f.err = err
			return f
		}
		f.subsets[m] = path
	}
	if f.lab, f.err = zebralab.New(nil, filepath.Join(f.dir, "lab")); f.err != nil {
		return f
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, m := range zebraMembers {
		wg.Go(func() {
			s, err := f.lab.Start(ctx, zebralab.Member{Name: m, Files: []string{f.subsets[m]}})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			f.servers[m] = s
		})
	}
	wg.Go(func() {
		idx, err := local.Open(nil, "west", filepath.Join(f.dir, "west.bleve"), local.Options{})
		if err == nil {
			_, err = idx.ImportFiles(ctx, []string{f.subsets["west"]}, nil)
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("west: %w", err))
			return
		}
		f.west = idx
	})
	wg.Wait()
	f.err = errors.Join(errs...)
	return f
}

func (f *fixture) close() {
	if f.lab != nil {
		f.lab.Close()
	}
	if f.west != nil {
		f.west.Close()
	}
	if f.dir != "" {
		os.RemoveAll(f.dir)
	}
}

// connector is an SRU connector to one of the fixture's Zebra members.
func (f *fixture) connector(tb testing.TB, logger *slog.Logger, member, url string, opts map[string]any) *Connector {
	tb.Helper()
	c, err := New(logger, member, url, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func TestZebraLabIndexesTheSubsets(t *testing.T) {
	f := zebra(t)
	for _, m := range zebraMembers {
		s := f.servers[m]
		if s.Records != subsetSize || !s.Running() {
			t.Errorf("%s: %d records indexed (want %d), running %v", m, s.Records, subsetSize, s.Running())
		}
		t.Logf("%s: %d records indexed in %s (%.0f records/s) at %s", m, s.Records, s.IndexTook.Round(time.Millisecond),
			float64(s.Records)/s.IndexTook.Seconds(), s.URL)
	}
}

// BenchmarkZebraSearch3Members is an uncached federated search over the
// three Zebra members (each a subsetSize-record demo subset on loopback)
// through the Engine: fan-out, SRU requests, parsing 50-record MARCXML
// pages, merge and rank. It reports the median latency as p50-ms.
//
//	go test ./connectors/sru -run '^$' -bench BenchmarkZebraSearch3Members
func BenchmarkZebraSearch3Members(b *testing.B) {
	f := zebra(b)
	var ms []federate.Member
	for _, id := range zebraMembers {
		ms = append(ms, federate.Member{ID: id, Connector: f.connector(b, nil, id, f.servers[id].URL, nil)})
	}
	engine, err := federate.NewEngine(slog.New(slog.DiscardHandler), federate.EngineConfig{}, nil, ms)
	if err != nil {
		b.Fatal(err)
	}
	queries := []string{"title:hunger", "author:rowling", "harry potter", `"the lord of the rings"`, "isbn:0439023483",
		"(title:love OR title:war) year:1990..2010", "girl -dragon", "king"}
	parsed := make([]federate.Query, len(queries))
	for i, s := range queries {
		parsed[i] = mustQuery(b, s)
	}
	ctx := context.Background()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		start := time.Now()
		resp, err := engine.Search(ctx, federate.Request{Query: parsed[i%len(parsed)], Limit: 20})
		lat = append(lat, time.Since(start))
		if err != nil || resp.Partial {
			b.Fatalf("%s: %v %+v", queries[i%len(parsed)], err, resp.Members)
		}
		i++
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*95/100])/float64(time.Millisecond), "p95-ms")
}
