package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/index"
)

// cmdImportLists loads resource lists (NDJSON, one list per line) for one
// institution into the store, as the bulk endpoint does, while no server
// has the store open.
func cmdImportLists(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import-lists", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	f.register(fs, false)
	inst := fs.String("institution", "", "`id` of the institution whose lists these are")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *inst == "" || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: commonshelf import-lists --institution ID (--config FILE | --demo) [--data-dir DIR] FILE.ndjson")
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
	if _, ok := cfg.Institution(*inst); !ok {
		return fmt.Errorf("%s: no institution %q", path, *inst)
	}
	file, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := openLists(ctx, logger, cfg, f.dataDir, false)
	if err != nil {
		return fmt.Errorf("%w (is a server running on this data directory? then use POST /api/v1/institutions/%s/lists:bulk)", err, *inst)
	}
	defer store.Close()
	bar := newProgressBar(stderr)
	cr := &countReader{r: file}
	lines := 0
	sum, fatal := index.ImportNDJSON(ctx, store, *inst, cr, func(r index.LineResult) error {
		if r.Result == "invalid" || r.Result == "error" {
			bar.done() // the message goes on a line of its own
			fmt.Fprintln(stdout, "  "+r.Message)
		}
		if lines++; lines%100 == 0 {
			bar.show(float64(cr.n.Load())/float64(max(fi.Size(), 1)), fmt.Sprintf("%d lines", lines))
		}
		return nil
	})
	bar.done()
	fmt.Fprintf(stdout, "imported lists of %s from %s: %d lines, %d stored, %d invalid, %d failed, %d blank\n",
		*inst, fs.Arg(0), sum.Lines, sum.Stored, sum.Invalid, sum.Error, sum.Skipped)
	if fatal != nil {
		return fatal
	}
	n, _ := store.Count()
	fmt.Fprintf(stdout, "the consortium now has %d resource lists\n", n)
	return nil
}

// countReader counts the bytes read through it, for a progress bar.
type countReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
