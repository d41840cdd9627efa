package vectors

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVectors runs every vector file as a subtest. A file fails the test if
// any of its cases failed; skipped cases are logged with their reasons.
// Without the vector directory, or without one of the expected files, the
// test skips — unless MLS_REQUIRE_VECTORS is set (CI sets it), when it
// fails: a conformance run that ran nothing must not pass.
func TestVectors(t *testing.T) {
	dir := DefaultDir()
	files, err := Files(dir)
	if errors.Is(err, ErrNoVectors) {
		if Required() {
			t.Fatalf("MLS_REQUIRE_VECTORS is set: %v", err)
		}
		t.Skipf("%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range files {
		have[filepath.Base(f)] = true
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := RunFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range r.Messages {
				t.Log(m)
			}
			if r.Failed > 0 {
				t.Errorf("%s: %s", filepath.Base(f), r)
			}
		})
	}
	for _, e := range ExpectedFiles() {
		if have[e] {
			continue
		}
		t.Run(e, func(t *testing.T) {
			if Required() {
				t.Fatalf("MLS_REQUIRE_VECTORS is set and %s is missing from %s", e, dir)
			}
			t.Skipf("%s is missing from %s", e, dir)
		})
	}
}

// TestExpectedFilesKnown checks that every expected file is of a kind the
// runner implements, so that none of them can pass by skipping.
func TestExpectedFilesKnown(t *testing.T) {
	if len(ExpectedFiles()) == 0 {
		t.Fatal("no expected files")
	}
	for _, e := range ExpectedFiles() {
		if !Known(e) {
			t.Errorf("%s is expected but of no implemented kind", e)
		}
	}
	if Known("passive-client-random2.json") != true || Known("extensions.json") {
		t.Error("Known: passive-client-* must be known, extensions.json not")
	}
}

// TestRunDirReportsMissingAndUnknown runs a directory holding one expected
// file (copied from the vectors when they are present, else a tree-math
// case written here) and a file of an unknown kind: every other expected
// file is reported missing, the unknown one is reported as not run.
func TestRunDirReportsMissingAndUnknown(t *testing.T) {
	dir := t.TempDir()
	treeMath := []byte(`[{"n_leaves": 1, "n_nodes": 1, "root": 0, "left": [null], "right": [null], "parent": [null], "sibling": [null]}]`)
	if err := os.WriteFile(filepath.Join(dir, "tree-math.json"), treeMath, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "extensions.json"), []byte(`[{}, {}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	total, err := RunDir(dir, &out, false)
	if err != nil {
		t.Fatal(err)
	}
	if total.Failed != 0 || total.Passed != 1 || total.Skipped != 2 {
		t.Errorf("total = %v, want 1 passed, 0 failed, 2 skipped\n%s", total, out.String())
	}
	if len(total.Missing) != len(ExpectedFiles())-1 {
		t.Errorf("missing = %v, want every expected file but tree-math.json", total.Missing)
	}
	for _, line := range []string{
		"tree-math.json: 1 passed, 0 failed, 0 skipped\n",
		"extensions.json: 0 passed, 0 failed, 2 skipped\n  unknown vector kind: not run\n",
		"welcome.json: missing\n",
		"crypto-basics.json: missing\n",
		"missing 14 of the 15 expected files: crypto-basics.json, ",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, out.String())
		}
	}
	if strings.Contains(out.String(), "tree-math.json: missing") {
		t.Errorf("tree-math.json reported missing:\n%s", out.String())
	}
}

// TestSkipInImplementedKindFails checks that a case skipped by the runner
// of an implemented kind counts as a failure.
func TestSkipInImplementedKindFails(t *testing.T) {
	r := runKnown(func(data []byte, r *Result) {
		r.Pass()
		r.Skip("case 1: cipher suite 9 not supported")
	}, nil)
	if r.Passed != 1 || r.Failed != 1 || r.Skipped != 0 {
		t.Fatalf("result = %v, want 1 passed, 1 failed, 0 skipped", r)
	}
	if len(r.Messages) != 1 || !strings.HasPrefix(r.Messages[0], "FAIL ") || !strings.Contains(r.Messages[0], "cipher suite 9") {
		t.Errorf("messages = %q", r.Messages)
	}
}
