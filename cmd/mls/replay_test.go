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
