package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlscore/mlscore/replay"
)

// faultDir runs a small demo ending with a fault into a new directory.
func faultDir(t *testing.T, seed, fault string) string {
	t.Helper()
	dir := t.TempDir()
	out, errOut, code := runCmd("demo", "-members", "4", "-ops", "0", "-seed", seed, "-fault", fault, "-out", dir)
	if code != 0 {
		t.Fatalf("demo -fault %s: exit %d\n%s%s", fault, code, out, errOut)
	}
	for _, w := range []string{"fault     ", "split     the members no longer agree"} {
		if !strings.Contains(out, w) {
			t.Fatalf("summary lacks %q:\n%s", w, out)
		}
	}
	return dir
}

func logs(dir string, names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join(dir, n+".mlslog"))
	}
	return out
}

func TestDiffCommand(t *testing.T) {
	all := []string{"member-000", "member-001", "member-002", "member-003"}
	tests := []struct {
		fault string
		cause replay.Cause
		words []string
	}{
		{"dropped-commit", replay.CauseMissingCommit, []string{"member-001 never received commit", "ValSem003", "group.ProcessMessage(commit)"}},
		{"double-accept", replay.CauseDoubleAccept, []string{"accepted two commits for epoch", "ValSem006", "group.Resync(gi, nil)"}},
		{"merged-after-losing", replay.CauseMergedAfterLosing, []string{"member-001 merged its own pending commit", "group.Resync(gi, nil)"}},
		{"rolled-back", replay.CauseRolledBack, []string{"member-001's state was rolled back", "starts from a snapshot", "group.Resync(gi, nil)"}},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			dir := faultDir(t, "2", tt.fault)
			out, errOut, code := runCmd(append([]string{"diff"}, logs(dir, all...)...)...)
			if code != diffSplit {
				t.Fatalf("exit %d, want %d\n%s%s", code, diffSplit, out, errOut)
			}
			for _, w := range append([]string{"cause: " + string(tt.cause)}, tt.words...) {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			out, _, code = runCmd(append([]string{"diff", "-json"}, logs(dir, all...)...)...)
			var rep replay.DiffReport
			if err := json.Unmarshal([]byte(out), &rep); err != nil || code != diffSplit {
				t.Fatalf("-json: exit %d, %v\n%s", code, err, out)
			}
			if len(rep.Splits) != 1 || rep.Splits[0].Cause != tt.cause || len(rep.Splits[0].Recovery) == 0 {
				t.Fatalf("-json: %+v", rep.Splits)
			}
		})
	}
}

func TestDiffCommandAgreeAndOtherGroups(t *testing.T) {
	a := faultDir(t, "2", "dropped-commit")
	b := faultDir(t, "3", "dropped-commit")
	out, errOut, code := runCmd(append([]string{"diff"}, logs(a, "member-000", "member-002")...)...)
	if code != diffAgree || !strings.Contains(out, "agree: every member is in epoch") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	// The same log twice agrees with itself.
	if _, _, code := runCmd(append([]string{"diff"}, logs(a, "member-001", "member-001")...)...); code != diffAgree {
		t.Fatalf("same log twice: exit %d", code)
	}
	out, _, code = runCmd("diff", filepath.Join(a, "member-000.mlslog"), filepath.Join(b, "member-000.mlslog"))
	if code != diffOtherGroups || !strings.Contains(out, "not of the same group") {
		t.Fatalf("other groups: exit %d\n%s", code, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.mlslog")
	if err := os.WriteFile(bad, []byte("not a log"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCmd("diff", filepath.Join(a, "member-000.mlslog"), bad); code != diffTrouble || !strings.Contains(errOut, "not an mlscore event log") {
		t.Fatalf("not a log: exit %d, %s", code, errOut)
	}
	if _, _, code := runCmd("diff", filepath.Join(a, "member-000.mlslog")); code != diffTrouble {
		t.Fatalf("one log: exit %d", code)
	}
	if _, errOut, code := runCmd("demo", "-members", "4", "-ops", "0", "-fault", "gremlins"); code != 2 || !strings.Contains(errOut, `-fault "gremlins": want one of`) {
		t.Fatalf("unknown fault: exit %d, %s", code, errOut)
	}
}

// TestDebuggingDocOutput: the mls diff output shown in docs/debugging.md
// is what the command prints for the demo the page runs.
func TestDebuggingDocOutput(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "debugging.md"))
	if err != nil {
		t.Fatal(err)
	}
	const cmd = "go run ./cmd/mls diff /tmp/fork/member-000.mlslog /tmp/fork/member-001.mlslog /tmp/fork/member-002.mlslog\n```\n\n```\n"
	_, after, ok := strings.Cut(string(doc), cmd)
	if !ok {
		t.Fatal("docs/debugging.md lost its mls diff example")
	}
	want, _, ok := strings.Cut(after, "```\n")
	if !ok {
		t.Fatal("unterminated output block")
	}
	dir := t.TempDir()
	if _, errOut, code := runCmd("demo", "-members", "3", "-ops", "10", "-seed", "6", "-fault", "dropped-commit", "-out", dir); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errOut)
	}
	got, _, code := runCmd(append([]string{"diff"}, logs(dir, "member-000", "member-001", "member-002")...)...)
	if code != diffSplit || got != want {
		t.Fatalf("exit %d; docs/debugging.md shows\n%s\nmls diff prints\n%s", code, want, got)
	}
}

// TestDiffCommandDamagedLog: a log damaged before its end is used up to
// the damage, with a warning.
func TestDiffCommandDamagedLog(t *testing.T) {
	dir := faultDir(t, "2", "dropped-commit")
	path := filepath.Join(dir, "member-001.mlslog")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l, err := replay.ReadLog(data)
	if err != nil {
		t.Fatal(err)
	}
	// Damage the body of the last record but one: the records before it
	// are still evidence.
	last := replay.EncodeRecord(l.Records[len(l.Records)-1])
	prev := replay.EncodeRecord(l.Records[len(l.Records)-2])
	off := len(data) - (len(last) + 12) - (len(prev) + 12) + 8 + len(prev)/2
	data[off] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(append([]string{"diff"}, logs(dir, "member-000", "member-001", "member-002")...)...)
	// What is left of member-001's log ends before it joined: it is
	// reported as outside the group, the others agree.
	if code != diffAgree || !strings.Contains(errOut, fmt.Sprintf("using the %d records before it", len(l.Records)-2)) ||
		!strings.Contains(out, "not compared: member-001 was never in the group") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

// TestDebuggingDocCauses: the cause lines docs/debugging.md quotes for the
// other faults are what mls diff prints for them.
func TestDebuggingDocCauses(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "debugging.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, fault := range []string{"double-accept", "merged-after-losing", "rolled-back"} {
		dir := t.TempDir()
		if _, errOut, code := runCmd("demo", "-members", "4", "-ops", "10", "-seed", "6", "-fault", fault, "-out", dir); code != 0 {
			t.Fatalf("demo: exit %d: %s", code, errOut)
		}
		files, err := filepath.Glob(filepath.Join(dir, "*.mlslog"))
		if err != nil {
			t.Fatal(err)
		}
		out, _, code := runCmd(append([]string{"diff"}, files...)...)
		if code != diffSplit {
			t.Fatalf("%s: exit %d", fault, code)
		}
		found := false
		for _, line := range strings.Split(out, "\n") {
			if line = strings.TrimSpace(line); strings.HasPrefix(line, "cause: ") {
				found = true
				if !strings.Contains(string(doc), line) {
					t.Errorf("docs/debugging.md does not show what mls diff prints for %s:\n%s", fault, line)
				}
			}
		}
		if !found {
			t.Errorf("%s: no cause line", fault)
		}
	}
}
