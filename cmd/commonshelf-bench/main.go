// Command commonshelf-bench runs the load and fault scenarios of package
// bench against a `commonshelf serve` child process on loopback, and writes
// the report (bench/results/latest.md and .json).
//
//	commonshelf-bench --server bin/commonshelf [--scenario cached,fanout] [--scale 1] [--out bench/results]
//	commonshelf-bench bare --addr 127.0.0.1:PORT --body FILE   (the baseline handler, started by the scenarios)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/commonshelf/commonshelf/bench"
	"github.com/commonshelf/commonshelf/bench/report"
	"github.com/valyala/fasthttp"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "bare" {
		if err := bare(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "commonshelf-bench bare:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "commonshelf-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	server := flag.String("server", "bin/commonshelf", "the commonshelf `binary` to measure")
	only := flag.String("scenario", "", "comma-separated `scenarios` to run (default: all of "+names()+")")
	scale := flag.Float64("scale", 1, "multiply durations and request counts (0.2 for a quick look)")
	out := flag.String("out", "bench/results", "`directory` for the report")
	flag.Parse()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "commonshelf-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	records, err := bench.LoadRecords(dir, 500)
	if err != nil {
		return fmt.Errorf("load demo records: %w", err)
	}
	cmdline := "commonshelf-bench " + strings.Join(os.Args[1:], " ")
	env := &bench.Env{Bin: *server, Self: self, Dir: dir, Records: records, Run: report.New(cmdline), Log: os.Stderr, Scale: *scale}
	want := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	failed := 0
	for _, sc := range bench.Scenarios {
		if len(want) > 0 && !want[sc.Name] {
			continue
		}
		start := time.Now()
		fmt.Fprintf(os.Stderr, "== %s\n", sc.Name)
		if err := sc.Run(ctx, env); err != nil {
			failed++
			env.Run.Notes = append(env.Run.Notes, fmt.Sprintf("scenario %s failed: %v", sc.Name, err))
			fmt.Fprintf(os.Stderr, "scenario %s failed: %v\n", sc.Name, err)
		}
		fmt.Fprintf(os.Stderr, "   (%s)\n", time.Since(start).Round(time.Second))
	}
	path, err := env.Run.Write(*out)
	if err != nil {
		return err
	}
	fmt.Println(env.Run.Markdown())
	fmt.Fprintf(os.Stderr, "report: %s\n", path)
	if failed > 0 {
		return fmt.Errorf("%d scenarios failed", failed)
	}
	return nil
}

func names() string {
	var n []string
	for _, s := range bench.Scenarios {
		n = append(n, s.Name)
	}
	return strings.Join(n, ", ")
}

// bare serves a fixed body as fast as fasthttp can: the baseline for the
// cached scenario.
func bare(args []string) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	bodyFile := fs.String("body", "", "file whose bytes every answer carries")
	if err := fs.Parse(args); err != nil {
		return err
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		return err
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json; charset=utf-8")
		ctx.SetBody(body)
	}}
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
		<-ch
		srv.Shutdown()
	}()
	return srv.ListenAndServe(*addr)
}
