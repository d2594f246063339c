package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

// env is what every command writes to.
type env struct {
	stdout, stderr io.Writer
	progress       *progressBar
}

// command is one subcommand: its name, a one-line summary, and its body,
// which parses its own flags from args.
type command struct {
	name, summary string
	run           func(ctx context.Context, e *env, args []string) error
}

var commands = []command{
	{"bench", "measure recall and queries per second of factory strings on a data set", runBench},
	{"build", "build an index from .npy vectors and write it to a file", runBuild},
	{"search", "search an index file with query vectors", runSearch},
	{"info", "describe an index file", runInfo},
	{"export", "write a data set, its queries and its ground truth as files (for faiss_bench.py)", runExport},
	{"rvc", "RVC voice conversion: train-index, blend, info (see kume rvc -h)", runRVC},
}

// errUsage marks errors in how the command was called (exit status 2).
var errUsage = errors.New("usage")

// usageError is a bad flag or argument; the message says what is wrong.
func usageError(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "kume: approximate nearest-neighbour indexes from the command line")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: kume <command> [flags] [arguments]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `"kume <command> -h" lists a command's flags.`)
}

// run runs the command line args and returns the exit status: 0 on success,
// 1 when the command failed, 2 when it was called wrongly.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		if len(args) > 1 {
			return run([]string{args[1], "-h"}, stdout, stderr)
		}
		w := stdout
		if len(args) == 0 {
			w = stderr
		}
		usage(w)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		e := &env{stdout: stdout, stderr: stderr, progress: newProgress(stderr)}
		err := c.run(ctx, e, args[1:])
		e.progress.stop()
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "kume %s: %s\n", c.name, strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
			fmt.Fprintf(stderr, "run \"kume %s -h\" for its flags\n", c.name)
			return 2
		default:
			fmt.Fprintf(stderr, "kume %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "kume: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// flagSet is a command's flags with its help text.
type flagSet struct {
	*flag.FlagSet
	help func()
}

// newFlags returns a flag set for a command that reports errors as usage
// errors rather than exiting.
func newFlags(e *env, name, synopsis string) *flagSet {
	fs := flag.NewFlagSet("kume "+name, flag.ContinueOnError)
	// The flag package's own messages are replaced by parse's.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, help: func() {
		fmt.Fprintf(e.stderr, "usage: kume %s %s\n", name, synopsis)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n == 0 {
			return
		}
		fmt.Fprintf(e.stderr, "\nflags:\n")
		fs.SetOutput(e.stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}}
}

// parse parses args, allowing flags after positional arguments too ("kume
// search q.npy -k 8"), and wraps a flag error as a usage error; -h prints
// the command's flags.
func (fs *flagSet) parse(args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.help()
				return err
			}
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}
