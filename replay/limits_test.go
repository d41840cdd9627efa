package replay_test

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/testrun"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
)

// hostileSnapshotData returns snapshot data (EncodeSnapshotData's format)
// whose state declares a tree of leaves leaves, given as leaves-1 blank
// nodes (one byte each) and the presence byte of a node that is missing.
func hostileSnapshotData(leaves int) []byte {
	var b cryptobyte.Builder
	b.AddBytes([]byte("MLSSTATE"))
	b.AddUint16(state.EncodingVersion)
	b.AddUint8(2)
	b.AddUint16(1)
	codec.GroupContext{Version: codec.MLS10, CipherSuite: 1, GroupID: []byte("g"), TreeHash: make([]byte, 32), ConfirmedTranscriptHash: make([]byte, 32)}.Marshal(&b)
	b.AddUint32(uint32(leaves))
	blanks := make([]byte, leaves)
	blanks[len(blanks)-1] = 1
	codec.AddOpaque(&b, blanks)
	var data cryptobyte.Builder
	data.AddUint16(1) // snapshot data version
	codec.AddOpaque(&data, b.BytesOrPanic())
	codec.AddOpaque(&data, nil) // no secrets
	return data.BytesOrPanic()
}

// logAllocPerByte bounds what reading a log allocates per byte of it
// (Record values of about 250 bytes for records of at least 150, and the
// growth of the record slice).
const logAllocPerByte = 20

// TestHostileLogBounded reads the worst logs we can build: a snapshot
// whose state declares a tree of 2^20 leaves given as 1 MiB of blank
// nodes, which ReplayLog rejects within the default Limits before the
// tree is read, and a log of 10000 records of the shortest encoding.
func TestHostileLogBounded(t *testing.T) {
	var buf bytes.Buffer
	if _, err := replay.NewSnapshotWriter(&buf, replay.Header{Module: "test"}, replay.Snapshot{Group: []byte("g"), Data: hostileSnapshotData(1 << 20)}); err != nil {
		t.Fatal(err)
	}
	hostile := buf.Bytes()

	var err error
	n := testrun.Allocated(func() {
		var l *replay.Log
		if l, err = replay.ReadLog(hostile); err == nil {
			_, err = replay.ReplayLog(l, nil)
		}
	})
	var le *codec.LimitError
	if !errors.Is(err, replay.ErrCorrupt) || !errors.As(err, &le) || le.Limit != "MaxLeaves" {
		t.Fatalf("got %v, want ErrCorrupt with a *codec.LimitError naming MaxLeaves", err)
	}
	t.Logf("snapshot: %d bytes in, %d allocated (%.1f per byte): %v", len(hostile), n, float64(n)/float64(len(hostile)), err)
	if n > logAllocPerByte*uint64(len(hostile)) {
		t.Errorf("allocated %d bytes for a %d-byte log", n, len(hostile))
	}

	buf.Reset()
	w, err := replay.NewWriter(&buf, replay.Header{Mode: replay.Full, Module: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for range 10000 {
		if _, err := w.Append(replay.Record{}); err != nil {
			t.Fatal(err)
		}
	}
	records := buf.Bytes()
	n = testrun.Allocated(func() { _, err = replay.ReadLog(records) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("records: %d bytes in, %d allocated (%.1f per byte)", len(records), n, float64(n)/float64(len(records)))
	if n > logAllocPerByte*uint64(len(records)) {
		t.Errorf("allocated %d bytes for a %d-byte log", n, len(records))
	}
}

// TestHostileSnapshotResume gives ResumeRecorder a snapshot whose state
// declares a tree of 2^18 leaves (256 KiB of blank nodes): it is decoded
// within the Env's Limits (the default MaxLeaves, 65536) and rejected
// before the tree is read, as ErrCorrupt with a *codec.LimitError naming
// MaxLeaves, having allocated at most 1 byte per byte of the snapshot plus
// 64 KiB. Decoded unbounded (as ResumeRecorder did), the tree was read to
// its end and no MaxLeaves was checked: one ending in a genuine leaf would
// have been built in full.
func TestHostileSnapshotResume(t *testing.T) {
	snap := replay.Snapshot{Seq: 3, Prev: [32]byte{1}, Group: []byte("g"), Data: hostileSnapshotData(1 << 18)}
	w := replay.ResumeAfterSnapshot(new(bytes.Buffer), replay.Header{Mode: replay.Full, Module: "test"}, snap)
	var err error
	n := testrun.Allocated(func() { _, err = replay.ResumeRecorder(w, transitions.Env{}, snap) })
	var le *codec.LimitError
	if !errors.Is(err, replay.ErrCorrupt) || !errors.As(err, &le) || le.Limit != "MaxLeaves" || le.Got <= le.Max {
		t.Fatalf("got %v, want ErrCorrupt with a *codec.LimitError naming MaxLeaves", err)
	}
	t.Logf("%d bytes in, %d allocated (%.2f per byte): %v", len(snap.Data), n, float64(n)/float64(len(snap.Data)), err)
	if budget := uint64(len(snap.Data)) + 64<<10; n > budget {
		t.Errorf("allocated %d bytes for a %d-byte snapshot, want at most %d", n, len(snap.Data), budget)
	}
}
