package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mlscore/mlscore/replay"
)

func runCmd(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// demoDir runs a small demo into a new directory.
func demoDir(t *testing.T, seed string) string {
	t.Helper()
	dir := t.TempDir()
	out, errOut, code := runCmd("demo", "-members", "6", "-ops", "60", "-seed", seed, "-out", dir)
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s%s", code, out, errOut)
	}
	for _, w := range []string{"mls demo: seed " + seed, "agree     all", "commits", "messages", "written to " + dir, "add"} {
		if !strings.Contains(out, w) {
			t.Errorf("summary lacks %q:\n%s", w, out)
		}
	}
	return dir
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.mlslog"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no logs in %s: %v", dir, err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// TestDemoDeterministic: the same seed writes the same logs, byte for byte.
func TestDemoDeterministic(t *testing.T) {
	a := readDir(t, demoDir(t, "7"))
	b := readDir(t, demoDir(t, "7"))
	if len(a) != len(b) {
		t.Fatalf("%d logs, then %d", len(a), len(b))
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Fatalf("%s differs between two runs with the same seed", name)
		}
	}
	c := readDir(t, demoDir(t, "8"))
	if bytes.Equal(a["member-000.mlslog"], c["member-000.mlslog"]) {
		t.Fatal("seeds 7 and 8 wrote the same log")
	}
}

func TestDemoVerify(t *testing.T) {
	out, errOut, code := runCmd("demo", "-members", "4", "-ops", "20", "-verify")
	if code != 0 || !strings.Contains(out, "verify    all") || !strings.Contains(out, "not written") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
}

func TestReplayCommand(t *testing.T) {
	dir := demoDir(t, "3")
	log := filepath.Join(dir, "member-001.mlslog")

	out, errOut, code := runCmd("replay", log)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{"full mode", "NewSignatureKey", "NewKeyPackage", "JoinWelcome", "AcceptJoin", "joined epoch",
		"MergeStaged", "verified:", "state after record", "tree hash", "(self)"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}

	// Flags after the log, state at a record.
	out, _, code = runCmd("replay", log, "-at", "3", "-q")
	if code != 0 || !strings.Contains(out, "state after record 3:") || strings.Contains(out, "NewSignatureKey") {
		t.Fatalf("-at 3 -q: exit %d\n%s", code, out)
	}
	if _, errOut, code := runCmd("replay", "-at", "100000", log); code != 2 || !strings.Contains(errOut, "has records 0 to") {
		t.Fatalf("-at past the end: exit %d, %s", code, errOut)
	}

	out, _, code = runCmd("replay", "-json", log)
	var v struct {
		Verified bool
		Records  int
		History  []historyLine
		State    map[string]any
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || !v.Verified || len(v.History) != v.Records || v.State["Epoch"] == nil {
		t.Fatalf("-json: exit %d, %+v\n%s", code, v, out)
	}
}

func TestReplayCommandFailures(t *testing.T) {
	dir := demoDir(t, "4")
	log := filepath.Join(dir, "member-000.mlslog")
	data, _ := os.ReadFile(log)
	l, err := replay.ReadLog(data)
	if err != nil {
		t.Fatal(err)
	}

	// A flipped byte in the middle: corruption with the record's number.
	bad := bytes.Clone(data)
	bad[len(data)/2] ^= 0x04
	badPath := filepath.Join(dir, "bad.mlslog")
	os.WriteFile(badPath, bad, 0o600)
	_, errOut, code := runCmd("replay", badPath)
	if code != 1 || !strings.Contains(errOut, "damaged at record") {
		t.Fatalf("corrupt log: exit %d, %s", code, errOut)
	}

	// A torn final record: dropped with a warning, the rest verifies.
	tornPath := filepath.Join(dir, "torn.mlslog")
	os.WriteFile(tornPath, data[:len(data)-5], 0o600)
	out, errOut, code := runCmd("replay", tornPath)
	if code != 0 || !strings.Contains(errOut, "dropped a torn final record") || !strings.Contains(out, "verified") {
		t.Fatalf("torn log: exit %d, %s", code, errOut)
	}

	// A tampered state digest, re-chained: a divergence report.
	k := len(l.Records) / 2
	var buf bytes.Buffer
	w, _ := replay.NewWriter(&buf, l.Header)
	for i, r := range l.Records {
		if i == k {
			r.State[0] ^= 1
		}
		w.Append(r)
	}
	divPath := filepath.Join(dir, "div.mlslog")
	os.WriteFile(divPath, buf.Bytes(), 0o600)
	out, errOut, code = runCmd("replay", divPath)
	if code != 1 || !strings.Contains(errOut, "divergence at record") || !strings.Contains(errOut, "field:   state") {
		t.Fatalf("tampered log: exit %d\n%s", code, errOut)
	}
	if strings.Contains(out, "verified:") {
		t.Fatalf("tampered log reported verified:\n%s", out)
	}

	for _, args := range [][]string{{"replay"}, {"replay", "a", "b"}, {"replay", "-frob", log}} {
		if _, _, code := runCmd(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if _, errOut, code := runCmd("replay", filepath.Join(dir, "missing")); code != 1 || errOut == "" {
		t.Errorf("missing file: exit %d", code)
	}
	os.WriteFile(filepath.Join(dir, "notalog"), []byte("hello"), 0o600)
	if _, errOut, code := runCmd("replay", filepath.Join(dir, "notalog")); code != 1 || !strings.Contains(errOut, "not an mlscore event log") {
		t.Errorf("not a log: exit %d, %s", code, errOut)
	}
}

func TestHelp(t *testing.T) {
	out, _, code := runCmd("help")
	if code != 0 {
		t.Fatal(code)
	}
	for _, c := range []string{"demo", "inspect", "replay", "vectors"} {
		if !strings.Contains(out, "\t"+c) {
			t.Errorf("help lacks %s", c)
		}
		o, _, code := runCmd("help", c)
		if code != 0 || !strings.Contains(o, "usage: mls "+c) {
			t.Errorf("help %s: exit %d\n%s", c, code, o)
		}
	}
	if _, _, code := runCmd("frob"); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
	if _, _, code := runCmd("demo", "-members", "0"); code != 2 {
		t.Errorf("demo -members 0: exit %d", code)
	}
}

// TestDemoXWing runs the demo in the post-quantum suite 0x004D (-suite 77)
// and replays a member's log: the X-Wing suite works in the demo and in
// replay as the classical suites do.
func TestDemoXWing(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := runCmd("demo", "-members", "3", "-ops", "6", "-suite", "77", "-verify", "-out", dir)
	if code != 0 || !strings.Contains(out, "verify    all") {
		t.Fatalf("demo -suite 77: exit %d:\n%s%s", code, out, errOut)
	}
	out, errOut, code = runCmd("replay", filepath.Join(dir, "member-001.mlslog"))
	if code != 0 || !strings.Contains(out, "verified:") || !regexp.MustCompile(`cipher suite +77\n`).MatchString(out) {
		t.Fatalf("replay of an X-Wing log: exit %d:\n%s%s", code, out, errOut)
	}
}
