package replay

import (
	"bytes"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
)

// snapshotMagic starts the body of a snapshot frame, so that a snapshot can
// never be mistaken for a record.
var snapshotMagic = [8]byte{'M', 'L', 'S', 'S', 'N', 'A', 'P', 0}

// Snapshot is the starting point of a SnapshotAndTail log: the state after
// the last record it replaces, as an opaque blob with its digest. The
// records that follow continue the hash chain of the records it replaced,
// so a tail can be checked against an older copy of the full log.
type Snapshot struct {
	Seq   uint64   // sequence number of the first record after the snapshot
	Prev  [32]byte // Hash of the record Seq-1 (the Prev of record Seq); zero when Seq is 0
	Group []byte   // group id of the state; empty when it is in no group
	State [32]byte // state digest of the snapshotted state: the State of record Seq-1
	// Data is the encoded state and key store, as EncodeSnapshotData writes
	// them. It holds the member's current secrets (not its past ones), so
	// a snapshot is as sensitive as the member's current state.
	Data []byte
}

// EncodeSnapshot returns the body of a snapshot frame.
func EncodeSnapshot(s Snapshot) []byte {
	var b cryptobyte.Builder
	b.AddBytes(snapshotMagic[:])
	b.AddUint64(s.Seq)
	b.AddBytes(s.Prev[:])
	codec.AddOpaque(&b, s.Group)
	b.AddBytes(s.State[:])
	codec.AddOpaque(&b, s.Data)
	out, err := b.Bytes()
	if err != nil {
		panic("replay: " + err.Error())
	}
	return out
}

// DecodeSnapshot parses the body of a snapshot frame.
func DecodeSnapshot(body []byte) (Snapshot, error) {
	s := cryptobyte.String(body)
	var snap Snapshot
	var mg, prev, group, st, data []byte
	if !s.ReadBytes(&mg, 8) || !bytes.Equal(mg, snapshotMagic[:]) || !s.ReadUint64(&snap.Seq) ||
		!s.ReadBytes(&prev, 32) || !codec.ReadOpaque(&s, &group) || !s.ReadBytes(&st, 32) ||
		!codec.ReadOpaque(&s, &data) || !s.Empty() {
		return Snapshot{}, fmt.Errorf("%w: snapshot does not decode", ErrCorrupt)
	}
	copy(snap.Prev[:], prev)
	copy(snap.State[:], st)
	snap.Group = bytes.Clone(group)
	snap.Data = bytes.Clone(data)
	if snap.Seq == 0 && snap.Prev != ([32]byte{}) {
		return Snapshot{}, fmt.Errorf("%w: snapshot at seq 0 with a previous-record hash", ErrCorrupt)
	}
	return snap, nil
}
