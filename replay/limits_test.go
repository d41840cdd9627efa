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
)

// logAllocPerByte bounds what reading a log allocates per byte of it
// (Record values of about 250 bytes for records of at least 150, and the
// growth of the record slice).
const logAllocPerByte = 20

// TestHostileLogBounded reads the worst logs we can build: a snapshot
// whose state declares a tree of 2^20 leaves given as 1 MiB of blank
// nodes, which ReplayLog rejects within the default Limits before the
// tree is read, and a log of 10000 records of the shortest encoding.
func TestHostileLogBounded(t *testing.T) {
	var b cryptobyte.Builder
	b.AddBytes([]byte("MLSSTATE"))
	b.AddUint16(state.EncodingVersion)
	b.AddUint8(2)
	b.AddUint16(1)
	codec.GroupContext{Version: codec.MLS10, CipherSuite: 1, GroupID: []byte("g"), TreeHash: make([]byte, 32), ConfirmedTranscriptHash: make([]byte, 32)}.Marshal(&b)
	b.AddUint32(1 << 20)
	blanks := make([]byte, 1<<20)
	blanks[len(blanks)-1] = 1
	codec.AddOpaque(&b, blanks)
	var data cryptobyte.Builder
	data.AddUint16(1) // snapshot data version
	codec.AddOpaque(&data, b.BytesOrPanic())
	codec.AddOpaque(&data, nil) // no secrets
	var buf bytes.Buffer
	if _, err := replay.NewSnapshotWriter(&buf, replay.Header{Module: "test"}, replay.Snapshot{Group: []byte("g"), Data: data.BytesOrPanic()}); err != nil {
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
