package replay

import (
	"bytes"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
)

// snapshotMagic starts the body of a snapshot frame, so that a snapshot can
// never be mistaken for a record.
const snapshotMagic = "MLSSNAP\x00"

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
	// them. It holds the member's current secrets (and those of the past
	// epochs the state retains), so a snapshot is as sensitive as the
	// member's current state: store it like key material.
	Data []byte
}

// EncodeSnapshot returns the body of a snapshot frame.
func EncodeSnapshot(s Snapshot) []byte {
	var b cryptobyte.Builder
	b.AddBytes([]byte(snapshotMagic))
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
	if !s.ReadBytes(&mg, 8) || string(mg) != snapshotMagic || !s.ReadUint64(&snap.Seq) ||
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

// snapshotDataVersion versions the Data of a snapshot.
const snapshotDataVersion uint16 = 1

// maxSnapshotSecrets bounds the key store secrets a snapshot may carry.
const maxSnapshotSecrets = 1 << 16

// EncodeSnapshotData encodes a state (state.Encode) and the live secrets
// of its key store (the PersistSecret effects not yet deleted, in the
// order they were persisted) as the Data of a Snapshot. The result holds
// secrets: see Snapshot.
func EncodeSnapshotData(s state.GroupState, secrets []effects.PersistSecret) ([]byte, error) {
	enc, err := state.Encode(s)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddUint16(snapshotDataVersion)
	codec.AddOpaque(&b, enc)
	codec.AddVector(&b, func(b *cryptobyte.Builder) {
		for _, p := range secrets {
			b.AddUint8(uint8(p.Ref.Kind))
			codec.AddOpaque(b, p.Ref.ID)
			codec.AddOpaque(b, p.Secret)
		}
	})
	return b.Bytes()
}

// DecodeSnapshotData decodes the Data of a Snapshot, strictly: the state
// (state.Decode) and the key store secrets, which must form a valid key
// store. Errors wrap ErrCorrupt. For a snapshot from storage that others
// could write, use DecodeSnapshotDataBounded.
func DecodeSnapshotData(data []byte) (state.GroupState, []effects.PersistSecret, error) {
	return DecodeSnapshotDataBounded(data, codec.Bounds{})
}

// DecodeSnapshotDataBounded is DecodeSnapshotData with the state decoded
// within b (state.DecodeBounded): a tree over b.MaxLeaves leaves is
// rejected before it is read. ReplayLog decodes its snapshot within the
// Limits of the Env its EnvFunc gives for the snapshot's sequence number.
func DecodeSnapshotDataBounded(data []byte, b codec.Bounds) (state.GroupState, []effects.PersistSecret, error) {
	d := codec.NewDecoder(data)
	if v := d.Uint16(); d.OK() && v != snapshotDataVersion {
		d.Failf(codec.ErrInvalidValue, "snapshot data version %d, this reader knows %d", v, snapshotDataVersion)
	}
	enc := d.Opaque()
	var secrets secretSet
	d.VectorEach(func(d *codec.Decoder) {
		p := effects.PersistSecret{Ref: effects.SecretRef{Kind: effects.SecretKind(d.Uint8()), ID: d.Opaque()}, Secret: d.Opaque()}
		if d.OK() && len(secrets) >= maxSnapshotSecrets {
			d.Failf(codec.ErrInvalidValue, "more than %d secrets", maxSnapshotSecrets)
		}
		secrets = append(secrets, p)
	})
	if err := d.Finish("SnapshotData"); err != nil {
		return state.GroupState{}, nil, fmt.Errorf("%w: snapshot data: %w", ErrCorrupt, err)
	}
	s, err := state.DecodeBounded(enc, b)
	if err != nil {
		return state.GroupState{}, nil, fmt.Errorf("%w: snapshot state: %w", ErrCorrupt, err)
	}
	if _, err := secrets.store(); err != nil {
		return state.GroupState{}, nil, fmt.Errorf("%w: snapshot key store: %w", ErrCorrupt, err)
	}
	return s, secrets, nil
}

// newSnapshot builds the snapshot of state s with the live secrets, as the
// starting point of the records from seq on, whose first Prev is prev.
func newSnapshot(seq uint64, prev [32]byte, s state.GroupState, secrets secretSet) (Snapshot, error) {
	data, err := EncodeSnapshotData(s, secrets)
	if err != nil {
		return Snapshot{}, err
	}
	group := s.GroupID()
	if j, ok := s.StagedJoin(); ok {
		group = j.Next.GroupID()
	}
	return Snapshot{Seq: seq, Prev: prev, Group: group, State: s.Digest(), Data: data}, nil
}

// SnapshotBefore returns the snapshot of the state before record seq —
// Start for seq = First, else the state after record seq-1 — from which
// the records from seq on replay (see Retain). seq may be one past the
// last replayed record. It holds the member's secrets at that point.
func (r *Result) SnapshotBefore(seq uint64) (Snapshot, error) {
	if seq == r.First {
		return newSnapshot(r.First, r.startPrev, r.Start, r.startSecrets)
	}
	if r.Public {
		return Snapshot{}, fmt.Errorf("mls: a public replay has no states to snapshot")
	}
	if seq < r.First || seq-r.First > uint64(len(r.Steps)) {
		return Snapshot{}, fmt.Errorf("mls: no replayed state before record %d", seq)
	}
	st := r.Steps[seq-r.First-1]
	return newSnapshot(seq, Hash(st.Record), st.State, st.secrets)
}

// Snapshot returns the snapshot of the recorder's current state and key
// store: the starting point for the records it writes next. It holds the
// member's current secrets.
func (r *Recorder) Snapshot() (Snapshot, error) {
	return newSnapshot(r.w.Next(), r.w.prev, r.state, r.secrets)
}

// ResumeRecorder returns a Recorder that continues from a snapshot — the
// state and key store it holds — writing to w, which must continue the
// snapshot's chain (NewSnapshotWriter or ResumeAfterSnapshot with snap).
// This is how a member restarts from a stored snapshot; restarting from an
// old one rolls its state back, which is what `mls diff` diagnoses. The
// snapshot must decode and have its recorded digest. A Public writer is
// refused: a Public log records the observer's view, which a snapshot does
// not carry. The snapshot's state is decoded within base.Limits
// (DecodeSnapshotDataBounded), as ReplayLog decodes a log's snapshot.
func ResumeRecorder(w *Writer, base transitions.Env, snap Snapshot) (*Recorder, error) {
	if w.mode == Public {
		return nil, fmt.Errorf("mls: a public log cannot resume from a snapshot")
	}
	if w.seq != snap.Seq || w.prev != snap.Prev {
		return nil, fmt.Errorf("mls: writer at record %d does not continue the snapshot of record %d", w.seq, snap.Seq)
	}
	s, secrets, err := DecodeSnapshotDataBounded(snap.Data, base.Limits.Bounds())
	if err != nil {
		return nil, err
	}
	if d := s.Digest(); d != snap.State {
		return nil, fmt.Errorf("%w: snapshot state digest %x, recorded %x", ErrCorrupt, short(d[:]), short(snap.State[:]))
	}
	keys, err := secretSet(secrets).store()
	if err != nil {
		return nil, err
	}
	return &Recorder{w: w, base: base, state: s, keys: keys, secrets: secrets}, nil
}

// Compact replays l (with env, see ReplayLog) and returns the encoding of
// the SnapshotAndTail log keeping its last k records after a snapshot of
// the state before them (Retain). The replay must succeed: a log that
// diverges is not compacted.
func Compact(l *Log, k int, env EnvFunc) ([]byte, error) {
	if k < 0 {
		return nil, fmt.Errorf("mls: retain %d records", k)
	}
	if len(l.Records) <= k {
		return Retain(l, k, Snapshot{})
	}
	res, err := ReplayLog(l, env)
	if err != nil {
		return nil, err
	}
	snap, err := res.SnapshotBefore(res.First + uint64(len(res.Steps)-k))
	if err != nil {
		return nil, err
	}
	return Retain(l, k, snap)
}
