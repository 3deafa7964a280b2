package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/commonshelf/commonshelf/bench/report"
	"github.com/commonshelf/commonshelf/bench/sim"
	"github.com/commonshelf/commonshelf/connectors/marc"
	"github.com/commonshelf/commonshelf/demo"
)

// Env is what every scenario needs.
type Env struct {
	Bin     string // the commonshelf binary under test
	Self    string // the bench binary, which also serves the bare baseline
	Dir     string // scratch directory for configs, data and logs
	Records []*marc.Record
	Run     *report.Run
	Log     io.Writer
	// Scale multiplies durations and request counts (1 = the full run).
	Scale float64
}

// Scenario is one named measurement.
type Scenario struct {
	Name string
	Run  func(ctx context.Context, env *Env) error
}

// Scenarios in the order `make bench` runs them.
var Scenarios = []Scenario{
	{"cached", Cached},
	{"fanout", FanOut},
	{"slow-member", SlowMember},
	{"flaky", Flaky},
	{"lists", ResourceLists},
	{"flood", Flood},
	{"overload", Overload},
}

// LoadRecords returns n demo records (North University's catalogue) as the
// simulated members' payload.
func LoadRecords(dir string, n int) ([]*marc.Record, error) {
	cfg, err := demo.Generate(filepath.Join(dir, "demo"))
	if err != nil {
		return nil, err
	}
	rd, closer, err := marc.Open(filepath.Join(filepath.Dir(cfg), "members", "north.xml.gz"))
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	var out []*marc.Record
	for len(out) < n {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *marc.RecordError
		if errors.As(err, &re) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// simSet runs simulated members and writes a consortium file for them.
type simSet struct {
	members []*sim.Member
	ids     []string
}

func (s *simSet) close() {
	for _, m := range s.members {
		m.Close()
	}
}

// memberSpec describes one simulated member of a scenario's consortium.
type memberSpec struct {
	protocol  string
	profile   sim.Profile
	timeoutMS int
	failures  int
	openFor   string
}

func (env *Env) startMembers(specs []memberSpec) (*simSet, error) {
	set := &simSet{}
	for i, sp := range specs {
		m, err := sim.Start(sp.protocol, env.Records, sp.profile, uint64(i+1))
		if err != nil {
			set.close()
			return nil, err
		}
		set.members = append(set.members, m)
		set.ids = append(set.ids, fmt.Sprintf("m%d", i+1))
	}
	return set, nil
}

// writeConfig writes a consortium whose members are the simulated ones.
func (env *Env) writeConfig(name string, set *simSet, specs []memberSpec, timeoutMS int) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "consortium:\n  id: bench\n  name: Bench Consortium\n  defaults:\n    search: {timeout_ms: %d, max_timeout_ms: 10000, page_size: 20}\ninstitutions:\n", timeoutMS)
	for i, m := range set.members {
		sp := specs[i]
		fmt.Fprintf(&b, "  - id: %s\n    name: Simulated member %d (%s)\n    member:\n", set.ids[i], i+1, sp.protocol)
		switch sp.protocol {
		case sim.SRU:
			fmt.Fprintf(&b, "      connector: sru\n      url: %s\n", m.URL)
		case sim.Primo:
			fmt.Fprintf(&b, "      connector: primo\n      url: %s\n      options: {vid: SIM}\n", m.URL)
		}
		fmt.Fprintf(&b, "      timeout_ms: %d\n      max_in_flight: 128\n      breaker: {failures: %d, open_for: %s}\n",
			sp.timeoutMS, sp.failures, sp.openFor)
	}
	path := filepath.Join(env.Dir, name+".yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

func (env *Env) serve(name string, set *simSet, specs []memberSpec, timeoutMS int) (*Server, error) {
	cfg, err := env.writeConfig(name, set, specs, timeoutMS)
	if err != nil {
		return nil, err
	}
	return StartCommonshelf(env.Bin, cfg, filepath.Join(env.Dir, name+"-data"), filepath.Join(env.Dir, name+".log"))
}

func (env *Env) scaled(d time.Duration) time.Duration { return time.Duration(float64(d) * env.Scale) }
func (env *Env) scaledN(n int) int                    { return max(1, int(float64(n)*env.Scale)) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (env *Env) logf(format string, args ...any) { fmt.Fprintf(env.Log, format+"\n", args...) }

// searchPath is the search for the i-th distinct query (so that the cache
// does not answer it).
func searchPath(i int) string {
	words := []string{"history", "love", "war", "science", "music", "garden", "river", "night", "city", "children"}
	q := fmt.Sprintf("%s %d", words[i%len(words)], i)
	return "/api/v1/search?q=" + url.QueryEscape(q) + "&limit=20"
}
