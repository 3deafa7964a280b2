// Package report writes a bench run's figures — each with the baseline it
// was measured against in the same run, and the ratio — as one markdown
// table and one JSON file.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Figure is one measured value and its same-run baseline.
type Figure struct {
	Scenario string  `json:"scenario"`
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	// Baseline names what Value is compared with; "" when the figure stands
	// alone (a count, a share).
	Baseline      string  `json:"baseline,omitempty"`
	BaselineValue float64 `json:"baseline_value,omitempty"`
	// Ratio is Value / BaselineValue (0 without a baseline).
	Ratio float64 `json:"ratio,omitempty"`
	// Goal states the target in words ("≥ 0.8× the bare handler"); Met
	// whether this run reached it (nil: no goal).
	Goal string `json:"goal,omitempty"`
	Met  *bool  `json:"met,omitempty"`
}

// Run is one bench run.
type Run struct {
	Started   time.Time `json:"started"`
	Command   string    `json:"command"`
	GoVersion string    `json:"go_version"`
	CPUs      int       `json:"cpus"`
	OS        string    `json:"os"`
	Figures   []Figure  `json:"figures"`
	Notes     []string  `json:"notes,omitempty"`
}

// New starts a run record for the given command line.
func New(command string) *Run {
	return &Run{Started: time.Now().UTC(), Command: command, GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
		OS: runtime.GOOS + "/" + runtime.GOARCH}
}

// Add records a figure, computing the ratio when there is a baseline.
func (r *Run) Add(f Figure) {
	if f.Baseline != "" && f.BaselineValue != 0 {
		f.Ratio = f.Value / f.BaselineValue
	}
	r.Figures = append(r.Figures, f)
}

// Met is a helper for Figure.Met.
func Met(ok bool) *bool { return &ok }

// Markdown renders the run as a table.
func (r *Run) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run %s on %d CPUs, %s, %s: `%s`\n\n", r.Started.Format(time.RFC3339), r.CPUs, r.OS, r.GoVersion, r.Command)
	b.WriteString("| scenario | figure | value | baseline (same run) | ratio | goal | met |\n|---|---|---|---|---|---|---|\n")
	for _, f := range r.Figures {
		base, ratio := "", ""
		if f.Baseline != "" {
			base = fmt.Sprintf("%s: %s", f.Baseline, num(f.BaselineValue, f.Unit))
			if f.Ratio != 0 {
				ratio = fmt.Sprintf("%.2f×", f.Ratio)
			}
		}
		met := ""
		if f.Met != nil {
			met = map[bool]string{true: "yes", false: "**no**"}[*f.Met]
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", f.Scenario, f.Name, num(f.Value, f.Unit), base, ratio, f.Goal, met)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n- %s", n)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

func num(v float64, unit string) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 10:
		return fmt.Sprintf("%.1f %s", v, unit)
	default:
		return fmt.Sprintf("%.3g %s", v, unit)
	}
}

// Write saves the run as dir/<timestamp>.md and .json and refreshes
// dir/latest.md and dir/latest.json; it returns the markdown path.
func (r *Run) Write(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	stamp := r.Started.Format("20060102T150405Z")
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	md := []byte(r.Markdown())
	for name, body := range map[string][]byte{stamp + ".md": md, stamp + ".json": js, "latest.md": md, "latest.json": js} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, stamp+".md"), nil
}
