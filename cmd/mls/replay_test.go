package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/replay/logfile"
	"github.com/mlscore/mlscore/transitions"
)

// snapshotAtZero returns a SnapshotAndTail log whose snapshot is the state
// before record 0, followed by one record.
func snapshotAtZero(t *testing.T) []byte {
	t.Helper()
	h := replay.Header{Mode: replay.SnapshotAndTail, Module: "test", PolicyID: "default"}
	w0, err := replay.NewWriter(new(bytes.Buffer), h)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := replay.NewRecorder(w0, transitions.Env{}).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := replay.NewSnapshotWriter(&buf, h, snap)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replay.NewRecorder(w, transitions.Env{}).Apply(transitions.NewSignatureKey{At: 1_700_000_000, Suite: 1}, [32]byte{1}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReplaySnapshotWording: the first line after the header says where a
// SnapshotAndTail log starts, without a record -1.
func TestReplaySnapshotWording(t *testing.T) {
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero.mlslog")
	if err := os.WriteFile(zero, snapshotAtZero(t), 0o600); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("..", "..", "vectors", "testdata", "logs", "suite1-snapshot.mlslog")
	gl, err := logfile.ReadFile(golden)
	if err != nil || gl.Snapshot == nil || gl.Snapshot.Seq == 0 {
		t.Fatalf("%s: want a snapshot after record 0: %v", golden, err)
	}
	last := gl.Snapshot.Seq - 1
	tests := []struct {
		name, log, want string
	}{
		{"seq 0", zero, "starts from a snapshot of the state before record 0 (no records dropped)\n"},
		{"golden", golden, fmt.Sprintf("starts from a snapshot of the state after record %d (records 0 to %d dropped)\n", last, last)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCmd("replay", "-q", tt.log)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			if !strings.Contains(out, tt.want) || strings.Contains(out, "record -1") {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
		})
	}
}

// TestReplayInterrupt delivers an interrupt before replay's first record
// (replay looks for one before each record): it prints the log's header
// and the empty history, says where it stopped, and exits 130 without
// claiming the log verified.
func TestReplayInterrupt(t *testing.T) {
	old := notifyInterrupt
	defer func() { notifyInterrupt = old }()
	c := make(chan os.Signal, 1)
	notifyInterrupt = func() (<-chan os.Signal, func()) { return c, func() {} }
	path, l := smallDemoLog(t)
	c <- os.Interrupt
	stdout, stderr, code := runCmd("replay", path)
	if code != 130 {
		t.Fatalf("exit %d, want 130\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if want := fmt.Sprintf("mls replay: %s: interrupted after 0 of %d records\n", path, len(l.Records)); stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
	}
	if !strings.Contains(stdout, "log "+path+": ") || strings.Contains(stdout, "verified") {
		t.Errorf("stdout:\n%s", stdout)
	}
	// Without the interrupt, the same log verifies.
	if stdout, _, code := runCmd("replay", path); code != 0 || !strings.Contains(stdout, "verified") {
		t.Errorf("exit %d\n%s", code, stdout)
	}
}

// smallDemoLog runs a demo of 3 members and 2 operations and returns the
// path of one member's log, and the log.
func smallDemoLog(t *testing.T) (string, *replay.Log) {
	t.Helper()
	dir := t.TempDir()
	if _, stderr, code := runCmd("demo", "-members", "3", "-ops", "2", "-out", dir); code != 0 {
		t.Fatalf("demo: exit %d\n%s", code, stderr)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.mlslog"))
	if len(logs) == 0 {
		t.Fatal("no logs written")
	}
	data, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	l, err := replay.ReadLog(data)
	if err != nil {
		t.Fatal(err)
	}
	return logs[0], l
}
