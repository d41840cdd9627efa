package mls

import (
	"bytes"
	"fmt"

	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
)

// moduleName goes into the header of the logs the shell writes.
const moduleName = "github.com/mlscore/mlscore"

// KeepAllRecords is the Options.KeepRecords value that keeps every record
// of a group's log, each with its entropy seed: a debugging log that is
// NOT forward secret (the seeds regenerate every key the member had since
// the group's first snapshot). Its snapshot also carries the client's
// signature private key, so that the log replays on its own
// (replay.ReplayLog, mls replay).
const KeepAllRecords = -1

// groupLog keeps one group's event log in a Storage. The log is a
// SnapshotAndTail log of package replay: a snapshot of the group's state
// (state.Encode, without key store secrets: the shell supplies those from
// the Client when it replays; only a KeepAllRecords log's snapshot carries
// the signature key, so that the debugging log replays on its own)
// followed by at most keep records, each with its entropy seed. When a record would make the tail longer than keep, the
// whole log is replaced by a snapshot of the new state, so that the
// records — and the old keys their seeds could regenerate — are gone.
// With keep = 0 (the default) the log is always just the snapshot of the
// current state.
type groupLog struct {
	store  Storage
	id     []byte
	header replay.Header
	keep   int
	// signer is the member's signature key secret, which the snapshot of
	// a KeepAllRecords log carries so that the log replays on its own
	// (mls replay); nil otherwise.
	signer []effects.PersistSecret

	snap replay.Snapshot // the log's snapshot
	last *replay.Record  // the last record after it; nil if none
	tail int             // records after the snapshot
}

func logHeader(policyID string) replay.Header {
	return replay.Header{Format: replay.FormatVersion, Mode: replay.SnapshotAndTail, Module: moduleName, PolicyID: policyID}
}

// newGroupLog creates (or replaces) the log of group id, starting from a
// snapshot of s.
func newGroupLog(store Storage, id []byte, policyID string, keep int, signer []effects.PersistSecret, s state.GroupState) (*groupLog, error) {
	l := &groupLog{store: store, id: bytes.Clone(id), header: logHeader(policyID), keep: keep}
	if keep == KeepAllRecords {
		l.signer = signer
	}
	if err := l.compact(0, [32]byte{}, s); err != nil {
		return nil, err
	}
	return l, nil
}

// compact replaces the stored log by a snapshot of s as the starting point
// of record seq, whose Prev is prev.
func (l *groupLog) compact(seq uint64, prev [32]byte, s state.GroupState) error {
	data, err := replay.EncodeSnapshotData(s, l.signer)
	if err != nil {
		return err
	}
	snap := replay.Snapshot{Seq: seq, Prev: prev, Group: l.id, State: s.Digest(), Data: data}
	var buf bytes.Buffer
	if _, err := replay.NewSnapshotWriter(&buf, l.header, snap); err != nil {
		return err
	}
	clear(data)
	if err := l.store.ReplaceLog(l.id, buf.Bytes()); err != nil {
		return err
	}
	clear(buf.Bytes())
	l.snap, l.last, l.tail = snap, nil, 0
	return nil
}

// openGroupLog reads the log of group id, drops a torn final record (a
// crash during the last append: its effects were never carried out),
// and replays it to the group's current state. keys supplies the key
// store the records were applied with.
func openGroupLog(store Storage, id []byte, policyID string, keep int, env replay.EnvFunc) (*groupLog, state.GroupState, error) {
	data, err := store.ReadLog(id)
	if err != nil {
		return nil, state.GroupState{}, err
	}
	lg, err := replay.ReadLog(data)
	if err != nil {
		return nil, state.GroupState{}, err
	}
	if lg.Snapshot == nil {
		return nil, state.GroupState{}, fmt.Errorf("mls: the log of group %x has no snapshot: not written by this shell", id)
	}
	if lg.Recovery.DroppedBytes > 0 {
		if err := store.ReplaceLog(id, data[:lg.Recovery.ValidBytes]); err != nil {
			return nil, state.GroupState{}, err
		}
	}
	res, err := replay.ReplayLog(lg, env)
	if err != nil {
		return nil, state.GroupState{}, err
	}
	l := &groupLog{store: store, id: bytes.Clone(id), header: lg.Header, keep: keep, snap: *lg.Snapshot, tail: len(lg.Records)}
	l.header.PolicyID = policyID
	if n := len(lg.Records); n > 0 {
		r := lg.Records[n-1]
		l.last = &r
	}
	return l, res.Final(), nil
}

// writer returns a replay.Writer that continues the log into w.
func (l *groupLog) writer(w *bytes.Buffer) *replay.Writer {
	if l.last != nil {
		return replay.ResumeWriter(w, l.header, l.last)
	}
	return replay.ResumeAfterSnapshot(w, l.header, l.snap)
}

// record makes the outcome of one event durable: step 1 of the effects
// order. It appends the event's record, or replaces the log by a snapshot
// of next when the tail is full. With keep = 0 an event that did not change
// the state (a rejected input, an export) writes nothing: there is nothing
// to recover.
func (l *groupLog) record(ev transitions.Event, seed [32]byte, before, next state.GroupState, effs []effects.Effect, applyErr error) error {
	changed := applyErr == nil && next.Digest() != before.Digest()
	if l.keep == 0 && !changed {
		return nil
	}
	evb, err := transitions.EncodeEvent(ev)
	if err != nil {
		return &replay.RecordError{Err: err}
	}
	var buf bytes.Buffer
	rec, err := l.writer(&buf).Append(replay.Record{
		Group:   l.id,
		Event:   evb,
		Seed:    seed,
		Outcome: replay.OutcomeOf(applyErr),
		State:   next.Digest(),
		Effects: effects.Digest(effs),
	})
	if err != nil {
		return &replay.RecordError{Err: err}
	}
	if l.keep >= 0 && l.tail+1 > l.keep {
		if !changed {
			// Nothing to snapshot, and the record would overflow the
			// tail: dropping it keeps the retention promise.
			return nil
		}
		if err := l.compact(rec.Seq+1, replay.Hash(rec), next); err != nil {
			return &replay.RecordError{Err: err}
		}
		return nil
	}
	if err := l.store.AppendLog(l.id, buf.Bytes()); err != nil {
		return &replay.RecordError{Err: err}
	}
	l.last, l.tail = &rec, l.tail+1
	return nil
}

// remove deletes the log.
func (l *groupLog) remove() error {
	return l.store.DeleteLog(l.id)
}
