package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/commonshelf/commonshelf/bench/load"
	"github.com/commonshelf/commonshelf/bench/report"
	"github.com/commonshelf/commonshelf/bench/sim"
)

// Cached: one hot query at 64 connections against Commonshelf, and the same
// bytes from a bare fasthttp handler in its own process (the baseline).
func Cached(ctx context.Context, env *Env) error {
	specs := []memberSpec{
		{protocol: sim.SRU, profile: sim.Profile{Latency: sim.Latency{Fixed: 5 * time.Millisecond}}, timeoutMS: 2000, failures: 5, openFor: "30s"},
		{protocol: sim.Primo, profile: sim.Profile{Latency: sim.Latency{Fixed: 5 * time.Millisecond}}, timeoutMS: 2000, failures: 5, openFor: "30s"},
	}
	set, err := env.startMembers(specs)
	if err != nil {
		return err
	}
	defer set.close()
	srv, err := env.serve("cached", set, specs, 3000)
	if err != nil {
		return err
	}
	defer srv.Stop()
	idle := srv.RSS()
	const path = "/api/v1/search?q=hunger+games&limit=20"
	code, body, err := srv.Get(ctx, path)
	if err != nil || code != 200 {
		return fmt.Errorf("warm-up search: %d %v", code, err)
	}
	var probe struct {
		Partial bool `json:"partial"`
	}
	_ = json.Unmarshal(body, &probe)
	if probe.Partial {
		return fmt.Errorf("warm-up search was partial: %s", body)
	}
	bodyFile := filepath.Join(env.Dir, "cached-body.json")
	if err := os.WriteFile(bodyFile, body, 0o644); err != nil {
		return err
	}
	const conns = 64
	total := env.scaledN(60000)
	drive := func(s *Server) (load.Result, time.Duration, error) {
		c, err := load.NewClient(s.Base, conns, 10*time.Second)
		if err != nil {
			return load.Result{}, 0, err
		}
		load.Closed(ctx, c, conns, 2000, func(int) (string, map[string]string) { return path, nil }) // warm connections
		cpu0 := s.CPU()
		res := load.Closed(ctx, c, conns, total, func(int) (string, map[string]string) { return path, nil })
		return res, s.CPU() - cpu0, nil
	}
	res, cpu, err := drive(srv)
	if err != nil {
		return err
	}
	env.logf("cached commonshelf: %v; server CPU %v", res, cpu)
	addr, err := FreeAddr()
	if err != nil {
		return err
	}
	bare, err := StartProcess(env.Self, []string{"bare", "--addr", addr, "--body", bodyFile}, addr, "/ready", filepath.Join(env.Dir, "bare.log"))
	if err != nil {
		return err
	}
	defer bare.Stop()
	bres, bcpu, err := drive(bare)
	if err != nil {
		return err
	}
	env.logf("cached bare handler: %v; server CPU %v", bres, bcpu)
	ratio := res.Throughput() / bres.Throughput()
	cpuPer := func(cpu time.Duration, n int) float64 { return float64(cpu.Microseconds()) / float64(max(n, 1)) }
	env.Run.Add(report.Figure{Scenario: "cached", Name: "throughput, 1 hot query, 64 connections", Value: res.Throughput(), Unit: "req/s",
		Baseline: "bare fasthttp handler, same bytes", BaselineValue: bres.Throughput(), Goal: "≥ 0.8× the bare handler", Met: report.Met(ratio >= 0.8)})
	env.Run.Add(report.Figure{Scenario: "cached", Name: "p50 latency", Value: ms(res.Latency.Percentile(0.5)), Unit: "ms",
		Baseline: "bare handler", BaselineValue: ms(bres.Latency.Percentile(0.5))})
	env.Run.Add(report.Figure{Scenario: "cached", Name: "p99 latency", Value: ms(res.Latency.Percentile(0.99)), Unit: "ms",
		Baseline: "bare handler", BaselineValue: ms(bres.Latency.Percentile(0.99))})
	env.Run.Add(report.Figure{Scenario: "cached", Name: "server CPU per request", Value: cpuPer(cpu, res.Requests), Unit: "µs",
		Baseline: "bare handler", BaselineValue: cpuPer(bcpu, bres.Requests)})
	env.Run.Add(report.Figure{Scenario: "memory", Name: "server RSS idle", Value: float64(idle) / (1 << 20), Unit: "MiB"})
	env.Run.Add(report.Figure{Scenario: "memory", Name: "server RSS after the cached run", Value: float64(srv.RSS()) / (1 << 20), Unit: "MiB",
		Baseline: "idle", BaselineValue: float64(idle) / (1 << 20)})
	return nil
}

// FanOut: 8 members answering in a fixed 50 ms with 50 records each, at
// increasing open-loop rates; overhead = Commonshelf's latency minus the
// slowest member's 50 ms.
func FanOut(ctx context.Context, env *Env) error {
	const memberLatency = 50 * time.Millisecond
	var specs []memberSpec
	for i := range 8 {
		proto := sim.SRU
		if i%2 == 1 {
			proto = sim.Primo
		}
		specs = append(specs, memberSpec{protocol: proto, profile: sim.Profile{Latency: sim.Latency{Fixed: memberLatency}, Records: 50},
			timeoutMS: 3000, failures: 5, openFor: "30s"})
	}
	set, err := env.startMembers(specs)
	if err != nil {
		return err
	}
	defer set.close()
	srv, err := env.serve("fanout", set, specs, 3000)
	if err != nil {
		return err
	}
	defer srv.Stop()
	c, err := load.NewClient(srv.Base, 512, 10*time.Second)
	if err != nil {
		return err
	}
	held := 0.0
	var at200 *load.Result
	next := 0
	for _, rate := range []float64{25, 50, 100, 200, 400} {
		res := load.Open(ctx, c, rate, env.scaled(6*time.Second), 2000, func(int) (string, map[string]string) {
			next++
			return searchPath(next), nil
		})
		p50 := res.Latency.Percentile(0.5) - memberLatency
		p99 := res.Latency.Percentile(0.99) - memberLatency
		env.logf("fan-out at %.0f/s: %v; overhead p50 %v p99 %v; RSS %d MiB", rate, res, p50, p99, srv.RSS()>>20)
		ok := res.Errors == 0 && res.Dropped == 0 && res.Share(200) == 1
		env.Run.Add(report.Figure{Scenario: "fan-out", Name: fmt.Sprintf("p99 overhead at %.0f searches/s", rate), Value: ms(p99), Unit: "ms",
			Baseline: "slowest member's own latency", BaselineValue: ms(memberLatency)})
		if ok && p99 < 10*time.Millisecond {
			held = rate
		}
		if rate == 200 {
			r := res
			at200 = &r
			env.Run.Add(report.Figure{Scenario: "fan-out", Name: "p50 overhead at 200 searches/s", Value: ms(p50), Unit: "ms",
				Baseline: "slowest member's own latency", BaselineValue: ms(memberLatency)})
			env.Run.Add(report.Figure{Scenario: "memory", Name: "server RSS under 200 searches/s", Value: float64(srv.RSS()) / (1 << 20), Unit: "MiB"})
		}
	}
	if at200 != nil {
		p99 := at200.Latency.Percentile(0.99) - memberLatency
		env.Run.Add(report.Figure{Scenario: "fan-out", Name: "goal: p99 overhead at 200 searches/s", Value: ms(p99), Unit: "ms",
			Goal: "≤ 5 ms over the slowest member", Met: report.Met(p99 <= 5*time.Millisecond && at200.Share(200) == 1)})
	}
	env.Run.Add(report.Figure{Scenario: "fan-out", Name: "highest rate held with p99 overhead < 10 ms", Value: held, Unit: "searches/s"})
	// Every search above was distinct and cached: the cache is now full.
	time.Sleep(2 * time.Second)
	entries, bytes := cacheGauges(ctx, srv)
	env.Run.Add(report.Figure{Scenario: "memory", Name: fmt.Sprintf("server RSS with a full cache (%.0f answers, %.0f MiB counted)", entries, bytes/(1<<20)),
		Value: float64(srv.RSS()) / (1 << 20), Unit: "MiB"})
	return nil
}

// cacheGauges reads the answer cache's entries and bytes from /metrics.
func cacheGauges(ctx context.Context, srv *Server) (entries, bytes float64) {
	_, body, err := srv.Get(ctx, "/metrics")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(body), "\n") {
		var v float64
		switch {
		case strings.HasPrefix(line, `commonshelf_cache_entries{cache="search"}`):
			fmt.Sscan(strings.Fields(line)[1], &v)
			entries = v
		case strings.HasPrefix(line, `commonshelf_cache_bytes{cache="search"}`):
			fmt.Sscan(strings.Fields(line)[1], &v)
			bytes = v
		}
	}
	return entries, bytes
}

// memberStatus reads one member's status out of a search response.
func memberStatus(body []byte, id string) string {
	var r struct {
		Members []struct{ ID, Status string } `json:"members"`
	}
	if json.Unmarshal(body, &r) != nil {
		return ""
	}
	for _, m := range r.Members {
		if m.ID == id {
			return m.Status
		}
	}
	return ""
}

// SlowMember: one of four members stalls; its deadline is 1.5 s. Measures
// p99 while its breaker is closed, how long until the breaker opens, p99
// once open, and recovery after the member comes back.
func SlowMember(ctx context.Context, env *Env) error {
	const deadline = 1500 * time.Millisecond
	var specs []memberSpec
	for i := range 4 {
		specs = append(specs, memberSpec{protocol: sim.SRU, profile: sim.Profile{Latency: sim.Latency{Fixed: 20 * time.Millisecond}, Records: 20},
			timeoutMS: int(deadline / time.Millisecond), failures: 5, openFor: "5s"})
		if i == 1 {
			specs[i].protocol = sim.Primo
		}
	}
	specs[0].profile.Latency.Stall = true
	set, err := env.startMembers(specs)
	if err != nil {
		return err
	}
	defer set.close()
	srv, err := env.serve("slow", set, specs, 3000)
	if err != nil {
		return err
	}
	defer srv.Stop()
	c, err := load.NewClient(srv.Base, 256, 10*time.Second)
	if err != nil {
		return err
	}
	// Closed breaker: searches wait for the stalled member's deadline.
	start := time.Now()
	var closed load.Histogram
	opened := time.Duration(0)
	for i := 0; time.Since(start) < 30*time.Second; i++ {
		t0 := time.Now()
		code, body, err := srv.Get(ctx, searchPath(100000+i))
		if err != nil || code != 200 {
			return fmt.Errorf("search during stall: %d %v", code, err)
		}
		if memberStatus(body, "m1") == "open" {
			opened = time.Since(start)
			break
		}
		closed.Record(time.Since(t0))
	}
	if opened == 0 {
		return fmt.Errorf("the stalled member's breaker never opened")
	}
	// Open breaker: searches skip the member.
	after := load.Open(ctx, c, 20, env.scaled(3*time.Second), 500, func(i int) (string, map[string]string) { return searchPath(200000 + i), nil })
	// The member comes back: time until the half-open probe succeeds.
	set.members[0].SetProfile(specs[1].profile)
	back := time.Now()
	recovered := time.Duration(0)
	for time.Since(back) < 30*time.Second {
		_, body, err := srv.Get(ctx, searchPath(300000+int(time.Since(back)/time.Millisecond)))
		if err == nil && memberStatus(body, "m1") == "ok" {
			recovered = time.Since(back)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	env.logf("slow member: closed p99 %v over %d searches; opened after %v; open p99 %v; recovered after %v",
		closed.Percentile(0.99), closed.Count(), opened, after.Latency.Percentile(0.99), recovered)
	p99 := closed.Percentile(0.99)
	env.Run.Add(report.Figure{Scenario: "slow member", Name: "p99 while its breaker is closed", Value: ms(p99), Unit: "ms",
		Baseline: "member deadline", BaselineValue: ms(deadline), Goal: "≤ deadline + 25 ms", Met: report.Met(p99 <= deadline+25*time.Millisecond)})
	env.Run.Add(report.Figure{Scenario: "slow member", Name: "time until the breaker opens", Value: opened.Seconds(), Unit: "s"})
	env.Run.Add(report.Figure{Scenario: "slow member", Name: "p99 once the breaker is open (20 searches/s)", Value: ms(after.Latency.Percentile(0.99)), Unit: "ms",
		Baseline: "member deadline", BaselineValue: ms(deadline)})
	env.Run.Add(report.Figure{Scenario: "slow member", Name: "recovery after the member returns (half-open probe)", Value: recovered.Seconds(), Unit: "s",
		Baseline: "breaker open period", BaselineValue: 5})
	return nil
}

// Flaky: two of four members fail 20% of their answers (5xx, resets,
// garbage); every search must still answer 200.
func Flaky(ctx context.Context, env *Env) error {
	var specs []memberSpec
	for i := range 4 {
		sp := memberSpec{protocol: sim.SRU, profile: sim.Profile{Latency: sim.Latency{Median: 20 * time.Millisecond, Sigma: 0.5}, Records: 20},
			timeoutMS: 1500, failures: 5, openFor: "5s"}
		if i >= 2 {
			sp.protocol = sim.Primo
		}
		if i%2 == 0 {
			sp.profile.Faults = sim.Faults{ServerError: 0.1, Reset: 0.05, Garbage: 0.05}
		}
		specs = append(specs, sp)
	}
	set, err := env.startMembers(specs)
	if err != nil {
		return err
	}
	defer set.close()
	srv, err := env.serve("flaky", set, specs, 3000)
	if err != nil {
		return err
	}
	defer srv.Stop()
	c, err := load.NewClient(srv.Base, 256, 10*time.Second)
	if err != nil {
		return err
	}
	n := env.scaledN(600)
	partial := 0
	res := load.Closed(ctx, c, 8, n, func(i int) (string, map[string]string) { return searchPath(400000 + i), nil })
	// Partial share from a sample of responses.
	sample := min(n, 200)
	for i := range sample {
		_, body, err := srv.Get(ctx, searchPath(500000+i))
		if err == nil {
			var r struct{ Partial bool }
			if json.Unmarshal(body, &r) == nil && r.Partial {
				partial++
			}
		}
	}
	env.logf("flaky members: %v; partial %d of %d sampled", res, partial, sample)
	share := 100 * res.Share(200)
	env.Run.Add(report.Figure{Scenario: "flaky members", Name: "searches answered 200", Value: share, Unit: "%",
		Goal: "100%", Met: report.Met(share == 100)})
	env.Run.Add(report.Figure{Scenario: "flaky members", Name: "searches marked partial", Value: 100 * float64(partial) / float64(sample), Unit: "%",
		Baseline: "expected 1−0.8² of searches", BaselineValue: 36})
	return nil
}
