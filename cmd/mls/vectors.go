package main

import (
	"fmt"
	"io"

	"github.com/mlscore/mlscore/vectors"
)

func runVectors(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("vectors", stderr)
	verbose := fs.Bool("v", false, "print every failure and skip reason")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: mls vectors [-v] [DIR]\n\nDIR defaults to $MLS_TEST_VECTORS, else ../shared/vectors/mlswg.\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir := vectors.DefaultDir()
	switch fs.NArg() {
	case 0:
	case 1:
		dir = fs.Arg(0)
	default:
		fs.Usage()
		return 2
	}
	total, err := vectors.RunDir(dir, stdout, *verbose)
	if err != nil {
		fmt.Fprintf(stderr, "mls vectors: %v\n", err)
		return 1
	}
	if total.Failed > 0 {
		return 1
	}
	return 0
}
