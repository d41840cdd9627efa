package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVectorsExport exports the demo's members' logs as passive-client
// vectors: the creator's log is refused (it never joined by Welcome) with
// exit 1 and the reason; a joiner's exports, to the default name and to
// one of our choosing, and mls vectors runs either file back (the kind
// recognized from the content) with the case passing.
func TestVectorsExport(t *testing.T) {
	dir := demoDir(t, "7")
	_, stderr, code := runCmd("vectors", "export", filepath.Join(dir, "member-000.mlslog"))
	if code != 1 || !strings.Contains(stderr, "never joined a group with a Welcome") {
		t.Errorf("creator's log: exit %d, stderr %q", code, stderr)
	}
	logs, err := filepath.Glob(filepath.Join(dir, "member-*.mlslog"))
	if err != nil || len(logs) < 3 {
		t.Fatalf("demo logs: %v %v", logs, err)
	}
	summary := regexp.MustCompile(`passive-client vector, suite 1, (\d+) epochs`)
	exported := 0
	for _, l := range logs[1:] {
		stdout, stderr, code := runCmd("vectors", "export", l)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", l, code, stderr)
			continue
		}
		m := summary.FindStringSubmatch(stdout)
		if m == nil {
			t.Errorf("%s: summary %q", l, stdout)
			continue
		}
		def := filepath.Join(dir, "passive-client-"+strings.TrimSuffix(filepath.Base(l), ".mlslog")+".json")
		if _, err := os.Stat(def); err != nil {
			t.Errorf("%s: default output: %v", l, err)
		}
		if m[1] == "0" {
			continue
		}
		exported++
		other := filepath.Join(t.TempDir(), "history.json")
		if _, stderr, code := runCmd("vectors", "export", "-o", other, l); code != 0 {
			t.Fatalf("-o: exit %d: %s", code, stderr)
		}
		for _, f := range []string{def, other} {
			stdout, stderr, code := runCmd("vectors", f)
			if code != 0 || !strings.Contains(stdout, ": 1 passed, 0 failed, 0 skipped") {
				t.Errorf("mls vectors %s: exit %d\n%s%s", f, code, stdout, stderr)
			}
		}
		break
	}
	if exported == 0 {
		t.Error("no member's log exported an epoch")
	}
	if _, stderr, code := runCmd("vectors", "export"); code != 2 || !strings.Contains(stderr, "no LOG given") {
		t.Errorf("no LOG: exit %d, stderr %q", code, stderr)
	}
}
