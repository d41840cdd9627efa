package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/state"
)

// runVersion prints mlscore's version, the formats this build writes and
// reads, and the Go toolchain that built it.
func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: mls version\n\nPrints mlscore's version, the event-log and state-snapshot formats it writes,\nand the Go version and platform it was built for.\n")
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return parseStatus(err)
	}
	if len(pos) > 0 {
		return usageError(stderr, "version", fmt.Sprintf("unexpected argument %q", pos[0]))
	}
	fmt.Fprintf(stdout, "mls v%s (github.com/mlscore/mlscore)\n", mls.Version)
	fmt.Fprintf(stdout, "event log format %d, state encoding %d\n", replay.FormatVersion, state.EncodingVersion)
	fmt.Fprintf(stdout, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}
