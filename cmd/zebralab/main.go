//go:build unix

// Command zebralab serves a consortium that mixes SRU and local members:
// it starts Index Data Zebra SRU servers on 127.0.0.1 loaded with demo
// members' catalogues (north, south and east by default), writes a
// consortium configuration in which those members use the sru connector
// and the others (west, central) their local catalogue files, and runs
// `commonshelf serve --config` on it. Ctrl-C (or SIGTERM) stops the
// server, then the Zebra servers.
//
//	zebralab [--bin bin/commonshelf] [--addr 127.0.0.1:8080] [--data-dir DIR] [--sru north,south,east] [--records N]
//
// `make run-sru` builds both binaries and runs this.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/commonshelf/commonshelf/connectors/sru/zebralab"
	"github.com/commonshelf/commonshelf/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "zebralab:", err)
		os.Exit(1)
	}
}

// config is what the command line sets.
type config struct {
	// bin is the commonshelf binary to run.
	bin string
	// addr is the address commonshelf listens on.
	addr string
	// dataDir holds everything this command writes (DIR/zebralab).
	dataDir string
	// sru lists the demo members served by Zebra; the others stay local.
	sru []string
	// records caps each Zebra member's catalogue; 0 means all its records.
	records int
}

func run(ctx context.Context, args []string) error {
	var c config
	var sruList string
	fs := flag.NewFlagSet("zebralab", flag.ContinueOnError)
	fs.StringVar(&c.bin, "bin", "bin/commonshelf", "the commonshelf `binary` to run")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen `address` of commonshelf (loopback)")
	fs.StringVar(&c.dataDir, "data-dir", ".commonshelf-data", "`directory` for the lab (DIR/zebralab)")
	fs.StringVar(&sruList, "sru", "north,south,east", "demo `members` served over SRU by Zebra")
	fs.IntVar(&c.records, "records", 0, "records per Zebra member (0: its whole catalogue)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, m := range strings.Split(sruList, ",") {
		if m = strings.TrimSpace(m); m != "" {
			c.sru = append(c.sru, m)
		}
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	if err := zebralab.Ensure(ctx, logger); err != nil {
		return err
	}
	root, err := filepath.Abs(filepath.Join(c.dataDir, "zebralab"))
	if err != nil {
		return err
	}
	demoDir := filepath.Join(root, "demo")
	if _, err := demo.Generate(demoDir); err != nil {
		return err
	}
	plan, err := demo.Plan()
	if err != nil {
		return err
	}
	lab, err := zebralab.New(logger, filepath.Join(root, "lab"))
	if err != nil {
		return err
	}
	defer func() {
		if err := lab.Close(); err != nil {
			logger.Error("stopping zebra", "err", err)
		}
		logger.Info("zebra members stopped")
	}()

	urls := map[string]string{}
	for _, ms := range plan.Members {
		if !slices.Contains(c.sru, ms.ID) {
			continue
		}
		file := filepath.Join(demoDir, "members", ms.ID+".xml.gz")
		if c.records > 0 {
			if file, _, err = zebralab.Subset(root, file, c.records); err != nil {
				return err
			}
		}
		s, err := lab.Start(ctx, zebralab.Member{Name: ms.ID, Files: []string{file}})
		if err != nil {
			return err
		}
		urls[ms.ID] = s.URL
		logger.Info("zebra member", "member", ms.ID, "url", s.URL, "records", s.Records,
			"indexed_in", s.IndexTook.Round(time.Millisecond).String(),
			"records_per_s", int(float64(s.Records)/s.IndexTook.Seconds()))
	}
	for _, m := range c.sru {
		if _, ok := urls[m]; !ok {
			return fmt.Errorf("--sru names %q, which is not a demo member", m)
		}
	}

	cfgPath := filepath.Join(root, "consortium.yaml")
	if err := os.WriteFile(cfgPath, consortiumYAML(plan, demoDir, urls), 0o644); err != nil {
		return err
	}
	logger.Info("consortium written", "config", cfgPath)

	cmd := exec.Command(c.bin, "serve", "--config", cfgPath, "--addr", c.addr, "--data-dir", filepath.Join(root, "data"))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w (run `make build` first)", c.bin, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s serve: %w", c.bin, err)
		}
		return nil
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		return nil
	}
}

// consortiumYAML is the demo consortium with the SRU members' connector
// switched to sru. Catalogue files are absolute paths into demoDir.
func consortiumYAML(plan *demo.Stats, demoDir string, urls map[string]string) []byte {
	var b strings.Builder
	b.WriteString(`# Written by cmd/zebralab: demo members served by Zebra over SRU, the others local.
consortium:
  id: zebralab
  name: Commonshelf Zebra Lab
  defaults:
    language: en
    search: {timeout_ms: 3000, max_timeout_ms: 10000, page_size: 20}
institutions:
`)
	for _, ms := range plan.Members {
		fmt.Fprintf(&b, "  - id: %s\n    name: %q\n    member:\n", ms.ID, ms.Name)
		recordURL := fmt.Sprintf("https://catalogue.%s.example.org/record/{id}", ms.ID)
		if u, ok := urls[ms.ID]; ok {
			fmt.Fprintf(&b, "      connector: sru\n      url: %q\n", u)
			fmt.Fprintf(&b, "      options: {record_url: %q}\n", recordURL)
			b.WriteString("      timeout_ms: 2000\n")
			continue
		}
		files := make([]string, len(ms.Files))
		for i, f := range ms.Files {
			files[i] = fmt.Sprintf("%q", filepath.Join(demoDir, filepath.FromSlash(f)))
		}
		fmt.Fprintf(&b, "      connector: local\n      files: [%s]\n", strings.Join(files, ", "))
		fmt.Fprintf(&b, "      options: {record_url: %q}\n", recordURL)
	}
	return []byte(b.String())
}
