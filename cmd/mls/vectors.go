package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlscore/mlscore/vectors"
)

func runVectors(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "export" {
		return runVectorsExport(args[1:], stdout, stderr)
	}
	fs := newFlagSet("vectors", stderr)
	verbose := fs.Bool("v", false, "print every failure and skip reason")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: mls vectors [-v] [DIR | FILE...]\n\n"+
			"DIR defaults to $MLS_TEST_VECTORS, else ../shared/vectors/mlswg. A directory must hold\n"+
			"every expected file:\n  %s\n"+
			"Given FILEs, runs only those; a file of another name whose cases are passive-client\n"+
			"cases (mls vectors export writes them) runs as one. Exits 1 if a case failed or an\n"+
			"expected file is missing. On a terminal, a bar shows which file runs; SIGINT stops\n"+
			"the run between two files (exit status 130).\n\n"+
			"usage: "+vectorsExportUsage+"\n\n"+
			"Writes a member's history from a Full event log as a passive-client vector\n"+
			"(mls vectors export -h says more).\n",
			strings.Join(vectors.ExpectedFiles(), "\n  "))
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return parseStatus(err)
	}
	dir := vectors.DefaultDir()
	var files []string
	switch {
	case len(pos) == 0:
	case len(pos) == 1 && isDir(pos[0]):
		dir = pos[0]
	default:
		for _, p := range pos {
			if isDir(p) {
				return usageError(stderr, "vectors", fmt.Sprintf("%s is a directory; give one directory or only files", p))
			}
		}
		files = pos
	}
	// SIGINT stops the run between two files: the files run so far are
	// reported, then a line saying where it stopped, and the exit status
	// is 130. On a terminal, a bar shows which file runs.
	intr, stopIntr := notifyInterrupt()
	defer stopIntr()
	var bar *progress
	before := func(done, n int, file string) error {
		select {
		case <-intr:
			if bar != nil {
				bar.done()
			}
			fmt.Fprintf(stderr, "mls vectors: interrupted after %d of %d files\n", done, n)
			return errInterrupted
		default:
		}
		if bar == nil {
			bar = newProgressFor(stderr, "vectors", n)
			bar.minTotal = 0
		}
		if bar.tty {
			bar.show(done, fmt.Sprintf("file %d of %d: %s", done+1, n, filepath.Base(file)))
		}
		return nil
	}
	var total vectors.Result
	if files != nil {
		total, err = vectors.RunFilesEach(files, stdout, *verbose, before)
	} else {
		total, err = vectors.RunDirEach(dir, stdout, *verbose, before)
	}
	if bar != nil {
		bar.done()
	}
	if errors.Is(err, errInterrupted) {
		return 130
	}
	if err != nil {
		fmt.Fprintf(stderr, "mls vectors: %v\n", err)
		return 1
	}
	status := 0
	if len(total.Missing) > 0 {
		fmt.Fprintf(stderr, "mls vectors: %s lacks expected vector files: %s\n", dir, strings.Join(total.Missing, ", "))
		status = 1
	}
	if total.Failed > 0 {
		fmt.Fprintf(stderr, "mls vectors: %d cases failed\n", total.Failed)
		status = 1
	}
	return status
}

// isDir reports whether path names an existing directory.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
