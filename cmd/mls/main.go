// Command mls is mlscore's command-line tool.
//
// Usage:
//
//	mls <command> [flags] [arguments]
//
// The commands are:
//
//	bench [-suite S] [-sizes 16,256,4096] [-ops K] [-records R] [-json]
//	                          measure the key operations against their crypto floor
//	bench -scenario NAME,... [-members 16,256,4096] [-budget D] [-clock C] [-out DIR]
//	                          run the OpenMLS book's scenarios; table, bench.json, SVG charts
//	demo [-members N] [-ops K] [-seed X] [-out DIR]
//	                          simulate a group and write its members' event logs
//	diff [-json] LOG LOG [LOG...]
//	                          explain why members' views of a group split
//	inspect [-json] [FILE|-]  decode and print an MLS message or ratchet tree
//	replay [-at SEQ] [-json] LOG
//	                          replay an event log, verify it, show its history
//	vectors [-v] [DIR]        run the MLS working group's JSON test vectors
//	vectors export [-o FILE] LOG
//	                          write a member's history as a passive-client test vector
//	version                   print mlscore's version and formats
//	help [command]            show help
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

type command struct {
	name, usage, short string
	run                func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"bench", "mls bench [-suite S] [-sizes 16,256,4096] [-ops K] [-records R] [-json] | mls bench -scenario NAME,... [-members 16,256,4096] [-budget D] [-out DIR]", "measure the key operations against their crypto floor, or the OpenMLS book's scenarios", runBench},
		{"demo", "mls demo [-members N] [-ops K] [-suite S] [-seed X] [-out DIR] [-verify] [-fault F]", "simulate a group and write its members' event logs", runDemo},
		{"diff", "mls diff [-json] LOG LOG [LOG...]", "explain why members' views of a group split, and how to heal it", runDiff},
		{"inspect", "mls inspect [-json] [-full] [-in FORMAT] [-type TYPE] [FILE|-]", "decode and print an MLS message or ratchet tree", runInspect},
		{"replay", "mls replay [-at SEQ] [-json] [-q] LOG", "replay an event log, verify it and show its history and a state", runReplay},
		{"vectors", "mls vectors [-v] [DIR | FILE...] | mls vectors export [-o FILE] LOG", "run the MLS working group's JSON test vectors; export a history as one", runVectors},
		{"version", "mls version", "print mlscore's version and formats", runVersion},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			for _, c := range commands() {
				if c.name == args[1] {
					// A command's -h prints its full usage.
					c.run([]string{"-h"}, stdout, stdout)
					return 0
				}
			}
			return toolUsageError(stderr, fmt.Sprintf("help: unknown command %q", args[1]))
		}
		if len(args) == 0 {
			return toolUsageError(stderr, "no command given")
		}
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	return toolUsageError(stderr, fmt.Sprintf("unknown command %q", args[0]))
}

// toolUsageError reports a usage error of the tool itself (no command, an
// unknown one): one line saying what is wrong, then the tool's short
// usage, on stderr. It returns exit status 2.
func toolUsageError(stderr io.Writer, msg string) int {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	fmt.Fprintf(stderr, "mls: %s\nusage: mls <command> [flags] [arguments]  (commands: %s)\nRun 'mls help' for details.\n", msg, strings.Join(names, ", "))
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "mls is the command-line tool of mlscore, an MLS (RFC 9420) library.\n\nUsage:\n\n\tmls <command> [flags] [arguments]\n\nThe commands are:\n\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "\t%-10s %s\n", c.name, c.short)
	}
	fmt.Fprintf(w, "\nUse \"mls help <command>\" for more information about a command.\n")
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseInterleaved parses args with fs, allowing flags after positional
// arguments ("mls replay LOG -at 5"), and returns the positional ones. On
// -h or -help it prints fs's full usage and returns flag.ErrHelp; on a bad
// flag it prints one line saying what is wrong and the command's short
// usage (usageError), and returns the error. parseStatus gives the exit
// status for either.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseQuiet(fs, args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.Usage()
			} else {
				usageError(fs.Output(), fs.Name(), err.Error())
			}
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// parseQuiet runs fs.Parse without the flag package's own messages.
func parseQuiet(fs *flag.FlagSet, args []string) error {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	defer func() { fs.Usage = usage; fs.SetOutput(out) }()
	return fs.Parse(args)
}

// parseStatus is the exit status for an error of parseInterleaved: 0 for
// -h, 2 for a usage error.
func parseStatus(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// usageError reports a usage error of command name: one line saying what
// is wrong, then the command's short usage, on stderr. It returns exit
// status 2.
func usageError(stderr io.Writer, name, msg string) int {
	fmt.Fprintf(stderr, "mls %s: %s\n", name, msg)
	for _, c := range commands() {
		if c.name == name {
			fmt.Fprintf(stderr, "usage: %s\n", c.usage)
		}
	}
	if name == "vectors export" {
		fmt.Fprintf(stderr, "usage: %s\n", vectorsExportUsage)
	}
	fmt.Fprintf(stderr, "Run 'mls help %s' for details.\n", name)
	return 2
}
