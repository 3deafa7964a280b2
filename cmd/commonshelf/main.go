// Command commonshelf is the Commonshelf server and its tools:
//
//	commonshelf serve --config FILE [--addr HOST:PORT] [--data-dir DIR]
//	commonshelf serve --demo [--addr HOST:PORT] [--data-dir DIR]
//	commonshelf import --member ID [--config FILE | --demo] [--data-dir DIR] FILE...
//	commonshelf import-lists --institution ID [--config FILE | --demo] [--data-dir DIR] FILE.ndjson
//	commonshelf check-config FILE
//
// It is the only place where concrete parts are wired together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Commonshelf: federated discovery for library consortia.

Usage:
  commonshelf serve --config FILE [--addr HOST:PORT] [--data-dir DIR]
  commonshelf serve --demo [--addr HOST:PORT] [--data-dir DIR]
  commonshelf import --member ID (--config FILE | --demo) [--data-dir DIR] FILE...
  commonshelf import-lists --institution ID (--config FILE | --demo) [--data-dir DIR] FILE.ndjson
  commonshelf check-config FILE

Run "commonshelf COMMAND -h" for a command's flags.
`

// errUsage marks a command-line mistake; the message has been printed.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs one command; cancelling ctx (SIGINT, SIGTERM) stops it
// gracefully.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, stderr)
	case "import":
		err = cmdImport(ctx, args[1:], stdout, stderr)
	case "import-lists":
		err = cmdImportLists(ctx, args[1:], stdout, stderr)
	case "check-config":
		err = cmdCheckConfig(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "commonshelf: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		return 2
	default:
		fmt.Fprintf(stderr, "commonshelf %s: %v\n", args[0], err)
		return 1
	}
}
