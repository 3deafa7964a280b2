package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/commonshelf/commonshelf/connectors"
	"github.com/commonshelf/commonshelf/connectors/local"
	"github.com/commonshelf/commonshelf/consortium"
	"golang.org/x/term"
)

// cmdImport loads MARC files into a local member's index.
func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	f.register(fs, false)
	memberID := fs.String("member", "", "`id` of the local member whose catalogue receives the records")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	files := fs.Args()
	if *memberID == "" || len(files) == 0 {
		fmt.Fprintln(stderr, "usage: commonshelf import --member ID (--config FILE | --demo) [--data-dir DIR] FILE...")
		return errUsage
	}
	path, err := f.configPath()
	if err != nil {
		return err
	}
	cfg, err := consortium.Load(path)
	if err != nil {
		return err
	}
	inst, ok := cfg.Institution(*memberID)
	if !ok || inst.Member == nil {
		return fmt.Errorf("%s: no member %q", path, *memberID)
	}
	if inst.Member.Connector != consortium.ConnectorLocal {
		return fmt.Errorf("member %s uses the %s connector; only local members hold an index to import into", inst.ID, inst.Member.Connector)
	}
	for _, p := range files {
		if _, err := os.Stat(p); err != nil {
			return err
		}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// Open (and if need be first build) the member's index from its
	// configured files, then add the given ones.
	bar := newProgressBar(stderr)
	b, err := connectors.Build(ctx, logger, inst.ID, inst.Member, f.dataDir, bar.update)
	if err != nil {
		return err
	}
	defer b.Connector.Close()
	idx, ok := b.Connector.(*local.Index)
	if !ok {
		return fmt.Errorf("member %s: not a local index", inst.ID)
	}
	bar.done()
	start := time.Now()
	stats, err := idx.ImportFiles(ctx, files, bar.update)
	bar.done()
	printStats(stdout, inst.ID, files, stats, time.Since(start))
	if err != nil {
		return err
	}
	n, _ := idx.Count()
	fmt.Fprintf(stdout, "member %s now holds %d records\n", inst.ID, n)
	return nil
}

func printStats(w io.Writer, member string, files []string, s local.ImportStats, took time.Duration) {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f)
	}
	fmt.Fprintf(w, "imported into %s from %s: %d read, %d indexed, %d rejected in %s\n",
		member, strings.Join(names, ", "), s.Read, s.Indexed, s.Rejected, took.Round(time.Millisecond))
	reasons := make([]string, 0, len(s.Reasons))
	for r := range s.Reasons {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool { return s.Reasons[reasons[i]] > s.Reasons[reasons[j]] })
	for _, r := range reasons {
		fmt.Fprintf(w, "  %6d × %s\n", s.Reasons[r], r)
	}
	for _, ex := range s.Examples {
		fmt.Fprintf(w, "  e.g. %s record %d (%s): %s\n", filepath.Base(ex.File), ex.Index, ex.ID, ex.Reason)
	}
}

// progressBar draws an import's progress on a terminal, redrawing one line;
// on anything else it stays silent (the summary says it all).
type progressBar struct {
	w     io.Writer
	tty   bool
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	return &progressBar{w: w, tty: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progressBar) update(pr local.ImportProgress) {
	frac := 0.0
	if pr.TotalBytes > 0 {
		frac = float64(pr.Bytes) / float64(pr.TotalBytes)
	}
	p.show(frac, fmt.Sprintf("%d read, %d indexed, %d rejected  %s", pr.Read, pr.Indexed, pr.Rejected, filepath.Base(pr.File)))
}

// show redraws the bar at fraction frac (0..1) with a status text.
func (p *progressBar) show(frac float64, status string) {
	if !p.tty || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	const width = 30
	frac = max(0, min(1, frac))
	filled := int(frac * width)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%%  %s\x1b[K", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), frac*100, status)
	p.drawn = true
}

func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}
