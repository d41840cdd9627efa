// Command mls is mlscore's command-line tool.
//
// Usage:
//
//	mls <command> [flags] [arguments]
//
// The commands are:
//
//	inspect [-json] [FILE|-]  decode and print an MLS message or ratchet tree
//	vectors [-v] [DIR]        run the MLS working group's JSON test vectors
//	help [command]            show help
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

type command struct {
	name, usage, short string
	run                func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"inspect", "mls inspect [-json] [-full] [-in FORMAT] [-type TYPE] [FILE|-]", "decode and print an MLS message or ratchet tree", runInspect},
		{"vectors", "mls vectors [-v] [DIR]", "run the MLS working group's JSON test vectors", runVectors},
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
					fmt.Fprintf(stdout, "usage: %s\n\n%s.\n", c.usage, c.short)
					return 0
				}
			}
			fmt.Fprintf(stderr, "mls help: unknown command %q\n", args[1])
			return 2
		}
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "mls: unknown command %q\nRun 'mls help' for usage.\n", args[0])
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
