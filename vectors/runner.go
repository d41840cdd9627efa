// Package vectors runs the MLS working group's JSON test vectors
// (github.com/mlswg/mls-implementations, test-vectors/) against mlscore.
//
// Each file is an array of test cases; the file name says which kind it is
// (tree-math.json, crypto-basics.json, passive-client-*.json, ...). RunDir
// runs every *.json file of a directory and reports, per file,
// "FILE: N passed, M failed, K skipped". A kind that mlscore does not
// implement yet reports its cases as skipped with the reason, never as passed.
//
// The vector files are never copied into this repository: they are read from
// $MLS_TEST_VECTORS or ../shared/vectors/mlswg (see DefaultDir).
package vectors

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Result counts the outcomes of the cases of one file (or of a whole run)
// and keeps one message per failed or skipped case.
type Result struct {
	Passed, Failed, Skipped int
	Messages                []string // "case 3: field root: got 7, want 3"
	// Missing lists, in a run over a directory (RunDir), the expected
	// vector files (ExpectedFiles) the directory lacks.
	Missing []string
}

// Pass records a passing case.
func (r *Result) Pass() { r.Passed++ }

// Fail records a failing case with a message naming the case and field.
func (r *Result) Fail(format string, args ...any) {
	r.Failed++
	r.Messages = append(r.Messages, "FAIL "+fmt.Sprintf(format, args...))
}

// Skip records a skipped case with its reason.
func (r *Result) Skip(format string, args ...any) {
	r.Skipped++
	r.Messages = append(r.Messages, "SKIP "+fmt.Sprintf(format, args...))
}

// Add adds the counts of o to r (messages and missing files are not
// merged).
func (r *Result) Add(o Result) {
	r.Passed += o.Passed
	r.Failed += o.Failed
	r.Skipped += o.Skipped
}

// String formats the counts as "N passed, M failed, K skipped".
func (r Result) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", r.Passed, r.Failed, r.Skipped)
}

// runFunc runs every case of one file's JSON content and records outcomes.
type runFunc func(data []byte, r *Result)

// kinds maps a vector kind (the file name without .json) to its runner.
// Kinds are matched exactly, except passive-client-* which share a runner.
func kindOf(name string) (runFunc, bool) {
	base := strings.TrimSuffix(filepath.Base(name), ".json")
	switch {
	case base == "tree-math":
		return runTreeMath, true
	case base == "crypto-basics":
		return runCryptoBasics, true
	case base == "secret-tree":
		return runSecretTree, true
	case base == "message-protection":
		return runMessageProtection, true
	case base == "key-schedule":
		return runKeySchedule, true
	case base == "psk_secret":
		return runPSKSecret, true
	case base == "transcript-hashes":
		return runTranscriptHashes, true
	case base == "welcome":
		return runWelcome, true
	case base == "tree-operations":
		return runTreeOperations, true
	case base == "tree-validation":
		return runTreeValidation, true
	case base == "treekem":
		return runTreeKEM, true
	case base == "messages":
		return runMessages, true
	case base == "deserialization":
		return runDeserialization, true
	case strings.HasPrefix(base, "passive-client-"):
		return runPassiveClient, true
	}
	return nil, false
}

// DefaultDir returns the vector directory: $MLS_TEST_VECTORS if set, else
// ../shared/vectors/mlswg relative to the repository root, found by walking
// up from the working directory to the directory holding go.mod.
func DefaultDir() string {
	if d := os.Getenv("MLS_TEST_VECTORS"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return filepath.Join("..", "shared", "vectors", "mlswg")
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "..", "shared", "vectors", "mlswg")
		}
		if filepath.Dir(d) == d {
			return filepath.Join("..", "shared", "vectors", "mlswg")
		}
	}
}

// expectedFiles are the vector files of the working group's test-vectors
// directory that mlscore implements: a conformance run that lacks one of
// them has not shown conformance, and reports it (Result.Missing).
var expectedFiles = []string{
	"crypto-basics.json",
	"deserialization.json",
	"key-schedule.json",
	"message-protection.json",
	"messages.json",
	"passive-client-handling-commit.json",
	"passive-client-welcome.json",
	"psk_secret.json",
	"secret-tree.json",
	"transcript-hashes.json",
	"tree-math.json",
	"tree-operations.json",
	"tree-validation.json",
	"treekem.json",
	"welcome.json",
}

// ExpectedFiles returns the names of the vector files a complete
// conformance run reads, in name order: one per kind mlscore implements
// (the passive-client kind has two files).
func ExpectedFiles() []string { return slices.Clone(expectedFiles) }

// Known reports whether name (a file name or path) is a vector kind that
// mlscore implements. Files of other kinds are reported and skipped.
func Known(name string) bool {
	_, ok := kindOf(name)
	return ok
}

// Required reports whether $MLS_REQUIRE_VECTORS asks for a complete
// conformance run (set to anything but "" or "0"): then the tests that
// read vectors fail, instead of skipping, when a vector directory or file
// is missing. CI sets it.
func Required() bool {
	v := os.Getenv("MLS_REQUIRE_VECTORS")
	return v != "" && v != "0"
}

// ErrNoVectors reports that the vector directory is missing or empty.
var ErrNoVectors = errors.New("mls: no test vectors found; get them from https://github.com/mlswg/mls-implementations/tree/main/test-vectors and set MLS_TEST_VECTORS")

// Files lists the *.json vector files of dir in name order.
func Files(dir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%w (looked in %s)", ErrNoVectors, dir)
	}
	sort.Strings(m)
	return m, nil
}

// RunFile runs one vector file. An unknown kind counts every case as
// skipped. In a kind mlscore implements, a case its runner skipped counts
// as failed: an implemented kind runs every case.
func RunFile(path string) (Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Result{}, err
	}
	var r Result
	run, ok := kindOf(path)
	if !ok && looksPassiveClient(data) {
		// A passive-client vector under another name (mls vectors
		// export writes them).
		run, ok = runPassiveClient, true
	}
	if !ok {
		var cases []json.RawMessage
		if err := json.Unmarshal(data, &cases); err != nil {
			return r, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		for i := range cases {
			r.Skip("case %d: unknown vector kind %q", i, filepath.Base(path))
		}
		return r, nil
	}
	return runKnown(run, data), nil
}

// runKnown runs the cases of an implemented kind, turning its skips into
// failures.
func runKnown(run runFunc, data []byte) Result {
	var r Result
	run(data, &r)
	if r.Skipped > 0 {
		r.Failed += r.Skipped
		r.Skipped = 0
		for i, m := range r.Messages {
			if rest, ok := strings.CutPrefix(m, "SKIP "); ok {
				r.Messages[i] = "FAIL skipped in an implemented kind: " + rest
			}
		}
	}
	return r
}

// RunDir runs every vector file of dir, writing one line per file
// ("FILE: N passed, M failed, K skipped") and a total line to w. A file of
// a kind mlscore does not implement is followed by a line saying so; an
// expected file (ExpectedFiles) that dir lacks gets the line
// "FILE: missing" and is listed in the total's Missing. With verbose, the
// failure and skip messages follow each file's line. It returns the total.
func RunDir(dir string, w io.Writer, verbose bool) (Result, error) {
	return RunDirEach(dir, w, verbose, nil)
}

// RunFiles runs the given vector files like RunDir, without checking that
// the expected files are among them: for a file written elsewhere, such as
// an exported history.
func RunFiles(files []string, w io.Writer, verbose bool) (Result, error) {
	return RunFilesEach(files, w, verbose, nil)
}

// Before is called before each file of a run with the number of files
// done, their total and the next file's path: a caller follows a long run
// with it, or stops the run by returning an error, which the run returns
// with the total so far (no total line is written then).
type Before func(done, total int, file string) error

// RunDirEach is RunDir calling before (if not nil) before each file.
func RunDirEach(dir string, w io.Writer, verbose bool, before Before) (Result, error) {
	files, err := Files(dir)
	if err != nil {
		return Result{}, err
	}
	return runFiles(files, expectedFiles, w, verbose, before)
}

// RunFilesEach is RunFiles calling before (if not nil) before each file.
func RunFilesEach(files []string, w io.Writer, verbose bool, before Before) (Result, error) {
	return runFiles(files, nil, w, verbose, before)
}

func runFiles(files, expected []string, w io.Writer, verbose bool, before Before) (Result, error) {
	var total Result
	have := map[string]bool{}
	for i, f := range files {
		if before != nil {
			if err := before(i, len(files), f); err != nil {
				return total, err
			}
		}
		have[filepath.Base(f)] = true
		r, err := RunFile(f)
		if err != nil {
			return total, err
		}
		fmt.Fprintf(w, "%s: %s\n", filepath.Base(f), r)
		if !Known(f) {
			fmt.Fprintf(w, "  unknown vector kind: not run\n")
		}
		if verbose || r.Failed > 0 {
			for _, m := range r.Messages {
				if verbose || strings.HasPrefix(m, "FAIL") {
					fmt.Fprintf(w, "  %s\n", m)
				}
			}
		}
		total.Add(r)
	}
	for _, e := range expected {
		if !have[e] {
			fmt.Fprintf(w, "%s: missing\n", e)
			total.Missing = append(total.Missing, e)
		}
	}
	fmt.Fprintf(w, "total: %s\n", total)
	if len(total.Missing) > 0 {
		fmt.Fprintf(w, "missing %d of the %d expected files: %s\n", len(total.Missing), len(expected), strings.Join(total.Missing, ", "))
	}
	return total, nil
}

// decodeCases unmarshals a file's JSON array into cases, recording a single
// failure if the file does not parse.
func decodeCases[T any](data []byte, r *Result) ([]T, bool) {
	var cases []T
	if err := json.Unmarshal(data, &cases); err != nil {
		r.Fail("file does not parse: %v", err)
		return nil, false
	}
	return cases, true
}

// HexBytes is a JSON string of hex digits decoded to bytes.
type HexBytes []byte

// UnmarshalJSON decodes a hex string (null gives nil).
func (h *HexBytes) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*h = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = d
	return nil
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
