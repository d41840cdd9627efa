package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVectorsCommandMissingFiles runs mls vectors on a directory holding
// one expected file: it exits 1 and names every missing one, on standard
// output (one "FILE: missing" line each) and on standard error. Given the
// file itself, it runs only that file and exits 0.
func TestVectorsCommandMissingFiles(t *testing.T) {
	dir := t.TempDir()
	treeMath := filepath.Join(dir, "tree-math.json")
	if err := os.WriteFile(treeMath, []byte(`[{"n_leaves": 1, "n_nodes": 1, "root": 0, "left": [null], "right": [null], "parent": [null], "sibling": [null]}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCmd("vectors", dir)
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "tree-math.json: 1 passed, 0 failed, 0 skipped\n") {
		t.Errorf("stdout lacks tree-math.json's line:\n%s", stdout)
	}
	for _, f := range []string{"welcome.json", "passive-client-welcome.json", "messages.json"} {
		if !strings.Contains(stdout, f+": missing\n") || !strings.Contains(stderr, f) {
			t.Errorf("%s not named as missing:\nstdout:\n%s\nstderr:\n%s", f, stdout, stderr)
		}
	}

	stdout, stderr, code = runCmd("vectors", treeMath)
	if code != 0 || strings.Contains(stdout, "missing") {
		t.Errorf("one file: exit %d\n%s%s", code, stdout, stderr)
	}

	_, stderr, code = runCmd("vectors", filepath.Join(dir, "none"))
	if code != 1 || !strings.Contains(stderr, "none") {
		t.Errorf("absent file: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = runCmd("vectors", dir, treeMath)
	if code != 2 || !strings.Contains(stderr, "is a directory") || !strings.Contains(stderr, "usage: mls vectors") {
		t.Errorf("directory and file: exit %d, stderr %q", code, stderr)
	}
}

// TestVectorsInterrupt delivers an interrupt before the first vector file
// (mls vectors looks for one before each file): it runs nothing, writes
// no total, says where it stopped, and exits 130.
func TestVectorsInterrupt(t *testing.T) {
	old := notifyInterrupt
	defer func() { notifyInterrupt = old }()
	c := make(chan os.Signal, 1)
	notifyInterrupt = func() (<-chan os.Signal, func()) { return c, func() {} }
	dir := t.TempDir()
	for _, name := range []string{"tree-math.json", "unknown.json"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(`[]`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c <- os.Interrupt
	stdout, stderr, code := runCmd("vectors", dir)
	if code != 130 {
		t.Fatalf("exit %d, want 130\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if stderr != "mls vectors: interrupted after 0 of 2 files\n" || stdout != "" {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
}
