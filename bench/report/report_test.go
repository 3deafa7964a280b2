package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunWritesTableAndJSONWithRatios(t *testing.T) {
	r := New("make bench")
	r.Add(Figure{Scenario: "cached", Name: "throughput", Value: 40000, Unit: "req/s", Baseline: "bare fasthttp", BaselineValue: 50000,
		Goal: "≥ 0.8× bare handler", Met: Met(true)})
	r.Add(Figure{Scenario: "flaky", Name: "answered 200", Value: 100, Unit: "%"})
	dir := t.TempDir()
	if _, err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "latest.md"))
	if !strings.Contains(string(md), "| cached | throughput | 40000 req/s | bare fasthttp: 50000 req/s | 0.80× | ≥ 0.8× bare handler | yes |") {
		t.Fatalf("markdown:\n%s", md)
	}
	var back Run
	js, _ := os.ReadFile(filepath.Join(dir, "latest.json"))
	if err := json.Unmarshal(js, &back); err != nil || len(back.Figures) != 2 || back.Figures[0].Ratio != 0.8 {
		t.Fatalf("json: %v %+v", err, back)
	}
}
