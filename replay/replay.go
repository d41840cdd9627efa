package replay

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"iter"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/treemath"
)

// Divergence reports the first record whose replay does not reproduce what
// the log recorded. It is returned as the error of Replay.
type Divergence struct {
	Seq   uint64 // the record
	Field string // "event", "outcome", "state", "effects" or "keys"
	// Want is what the log recorded and Got what the replay produced: the
	// digests for "state" and "effects", the outcome's text for "outcome",
	// the error for "event" and "keys".
	Want, Got []byte
	Before    state.View // the replayed state before the record
	After     state.View // the replayed state after it (zero for "event")
	Event     string     // the event, described
	Err       error      // the error Apply returned, if any
}

// Error implements error.
func (d *Divergence) Error() string {
	switch d.Field {
	case "state", "effects":
		return fmt.Sprintf("mls: replay diverged at record %d (%s): %s digest %x, log has %x",
			d.Seq, d.Event, d.Field, short(d.Got), short(d.Want))
	}
	return fmt.Sprintf("mls: replay diverged at record %d (%s): %s %s, log has %s",
		d.Seq, d.Event, d.Field, d.Got, d.Want)
}

func short(b []byte) []byte { return b[:min(len(b), 8)] }

// Report returns a multi-line description of the divergence: the record,
// the event, the field, and what the event changed in the replayed state
// (DiffViews of Before and After).
func (d *Divergence) Report() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "divergence at record %d\n", d.Seq)
	fmt.Fprintf(&b, "  event:   %s\n", d.Event)
	fmt.Fprintf(&b, "  field:   %s\n", d.Field)
	switch d.Field {
	case "state", "effects":
		fmt.Fprintf(&b, "  log:     %s\n  replay:  %s\n", hex.EncodeToString(d.Want), hex.EncodeToString(d.Got))
	default:
		fmt.Fprintf(&b, "  log:     %s\n  replay:  %s\n", d.Want, d.Got)
	}
	if d.Err != nil {
		fmt.Fprintf(&b, "  error:   %v\n", d.Err)
	}
	fmt.Fprintf(&b, "  state before: epoch %d, %d members, digest %s\n", d.Before.Epoch, len(d.Before.Members), shortHex(d.Before.Digest))
	if d.Field != "event" {
		diff := DiffViews(d.Before, d.After)
		if len(diff) == 0 {
			fmt.Fprintf(&b, "  the replayed event left the state unchanged\n")
		} else {
			fmt.Fprintf(&b, "  the replayed event changed:\n")
			for _, l := range diff {
				fmt.Fprintf(&b, "    %s\n", l)
			}
		}
	}
	return b.String()
}

func shortHex(s string) string { return s[:min(len(s), 16)] }

// Step is one replayed record.
type Step struct {
	Record  Record
	Event   transitions.Event
	Err     error            // what Apply returned; its Outcome matched the record's
	State   state.GroupState // the state after the record (zero in a Public replay)
	Effects []effects.Effect
	// Observed is the public state an observer holds after the record, in
	// a Public replay of a log that records public digests (zero
	// otherwise); Followed reports that the observer derived it from the
	// record's public content, Checkpoint that the record's checkpoint
	// supplied it.
	Observed             state.Public
	Followed, Checkpoint bool

	secrets      secretSet          // the live persisted secrets after the record, for Snapshot
	observedSelf treemath.LeafIndex // the member's own leaf, with Observed
}

// Result is a replayed log. Its states share structure, so keeping one per
// record costs O(log N) per record, not a copy of the group each.
type Result struct {
	Header Header
	// Start is the state replay started from: the zero state, or the
	// snapshot's state.
	Start state.GroupState
	// First is the sequence number of the first record (0, or the
	// snapshot's Seq).
	First uint64
	// Steps holds one entry per replayed record, in order.
	Steps []Step
	// Keys is the key store after the last record, rebuilt from the
	// replayed PersistSecret and DeleteSecret effects.
	Keys transitions.KeyStore
	// Public reports a Public-mode replay: no member state was rebuilt
	// (see Replay).
	Public bool
	// Observed reports a Public replay that followed the public state
	// (the log records public digests, format 3 on); Followed and
	// Checkpoints count the records whose public state the observer
	// derived itself and those that a checkpoint supplied.
	Observed              bool
	Followed, Checkpoints int

	startSecrets secretSet // the live persisted secrets of Start
	startPrev    [32]byte  // the Prev of the first record
}

// Final returns the state after the last record.
func (r *Result) Final() state.GroupState {
	if len(r.Steps) == 0 {
		return r.Start
	}
	return r.Steps[len(r.Steps)-1].State
}

// StateAt returns the state after record seq — time travel to any point of
// the log. It reports false for a seq outside the replayed records.
func (r *Result) StateAt(seq uint64) (state.GroupState, bool) {
	if seq < r.First || seq-r.First >= uint64(len(r.Steps)) {
		return state.GroupState{}, false
	}
	return r.Steps[seq-r.First].State, true
}

// EnvFunc supplies the environment of each record: its Policy, its Limits
// and any keys the log cannot regenerate (external PSKs). Replay sets
// Entropy from the record's seed and layers the key store it rebuilds over
// Keys. A nil EnvFunc means the zero Env: the default policy and limits.
type EnvFunc func(Record) transitions.Env

// Replay re-runs every record of a log from the zero state and checks it:
//
//  1. the chain: each record's Seq follows the previous one and its Prev is
//     the previous record's Hash;
//  2. the event decodes (transitions.DecodeEvent);
//  3. Apply with Entropy = entropy.FromSeed(record.Seed) gives the recorded
//     outcome (class and code), the recorded state digest and the recorded
//     effects digest;
//  4. the key store is rebuilt from the replayed PersistSecret and
//     DeleteSecret effects, so that a JoinWelcome finds the key package
//     bundle that an earlier NewKeyPackage of the same log persisted, and
//     signing finds the key an earlier NewSignatureKey created.
//
// It stops at the first mismatch and returns the replay so far with a
// *Divergence (or, for a broken chain or an iterator error, that error).
//
// A Public log has no seeds, so its local intents cannot be re-run and no
// member state is rebuilt. Replay checks the chain and that every event
// decodes; when the records carry public digests (format 3 on) it also
// follows the member's public state with an Observer: a record with a
// checkpoint must hold a public state whose digest is the record's Public
// (it is taken on the writer's word), and every other record must have
// the Public digest the observer derives from the state before and the
// record's event and outcome — for received PublicMessage proposals and
// commits, from their signed content. A mismatch is a *Divergence with
// Field "public" (or "checkpoint" for one that does not decode). The
// records' outcomes and state digests stay only as trustworthy as the
// log's writer; see the package doc for what a Public log proves.
func Replay(h Header, recs iter.Seq2[Record, error], env EnvFunc) (*Result, error) {
	return replayFrom(h, state.GroupState{}, 0, [32]byte{}, secretSet{}, recs, env)
}

// ReplayLog replays a parsed log (see Replay). A SnapshotAndTail log starts
// from its snapshot, which must decode (DecodeSnapshotDataBounded, within
// the Limits of env(Record{Seq: snapshot's Seq})) to a state whose digest
// is the snapshot's State.
func ReplayLog(l *Log, env EnvFunc) (*Result, error) {
	return ReplayLogRecords(l, Records(l.Records), env)
}

// ReplayLogRecords is ReplayLog over recs instead of l.Records: a caller
// wraps Records(l.Records) to follow a long replay or stop it (an error
// recs yields ends the replay with the Result so far and that error).
func ReplayLogRecords(l *Log, recs iter.Seq2[Record, error], env EnvFunc) (*Result, error) {
	if l.Snapshot == nil {
		return Replay(l.Header, recs, env)
	}
	var lim transitions.Limits // the defaults, as Replay's without an EnvFunc
	if env != nil {
		lim = env(Record{Seq: l.Snapshot.Seq}).Limits
	}
	bounds := lim.Bounds()
	s, secrets, err := DecodeSnapshotDataBounded(l.Snapshot.Data, bounds)
	if err != nil {
		return nil, &CorruptError{Seq: l.Snapshot.Seq, Err: err}
	}
	// The snapshot stands for the record before Seq: its state must be
	// the one that record's digest names, or it is never used.
	if d := s.Digest(); d != l.Snapshot.State {
		return nil, &Divergence{Seq: l.Snapshot.Seq, Field: "state", Event: "snapshot", Want: l.Snapshot.State[:], Got: d[:], After: s.View()}
	}
	return replayFrom(l.Header, s, l.Snapshot.Seq, l.Snapshot.Prev, secrets, recs, env)
}

// Records returns an iterator over recs, for Replay.
func Records(recs []Record) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

func replayFrom(h Header, start state.GroupState, first uint64, prev [32]byte, secrets secretSet,
	recs iter.Seq2[Record, error], envf EnvFunc) (*Result, error) {
	res := &Result{Header: h, Start: start, First: first, Public: h.Mode == Public, startSecrets: secrets, startPrev: prev}
	keys, err := secrets.store()
	if err != nil {
		return nil, err
	}
	cur := start
	seq := first
	obs := NewObserver(start.Public(), start.OwnLeaf())
	for r, err := range recs {
		if err != nil {
			res.Keys = keys
			return res, err
		}
		if r.Seq != seq || r.Prev != prev {
			res.Keys = keys
			return res, &CorruptError{Seq: seq, Err: fmt.Errorf("%w: record claims seq %d", ErrChain, r.Seq)}
		}
		ev, err := transitions.DecodeEvent(r.Event)
		if err != nil {
			res.Keys = keys
			return res, &Divergence{Seq: r.Seq, Field: "event", Want: []byte("an event"), Got: []byte(err.Error()),
				Before: cur.View(), Event: "undecodable event", Err: err}
		}
		if res.Public {
			step := Step{Record: r, Event: ev}
			if r.hasPublic() {
				res.Observed = true
				var d *Divergence
				var lim transitions.Limits // the defaults without an EnvFunc
				if envf != nil {
					lim = envf(r).Limits
				}
				if obs, d = observe(obs, r, ev, &step, lim.Bounds()); d != nil {
					res.Keys = keys
					return res, d
				}
				if step.Followed {
					res.Followed++
				}
				if step.Checkpoint {
					res.Checkpoints++
				}
			}
			res.Steps = append(res.Steps, step)
		} else {
			var env transitions.Env
			if envf != nil {
				env = envf(r)
			}
			a, kerr := Apply(Input{State: cur, Event: ev, Encoded: r.Event, Seed: r.Seed, Keys: keys, Env: env})
			diverge := func(field string, want, got []byte) (*Result, error) {
				res.Keys = keys
				return res, &Divergence{Seq: r.Seq, Field: field, Want: want, Got: got,
					Before: cur.View(), After: a.Next.View(), Event: Describe(ev), Err: a.Err}
			}
			got, err := a.Record()
			if err != nil {
				return diverge("event", []byte("an encodable event"), []byte(err.Error()))
			}
			if got.Outcome != r.Outcome {
				return diverge("outcome", []byte(r.Outcome.String()), []byte(got.Outcome.String()))
			}
			if got.State != r.State {
				return diverge("state", r.State[:], got.State[:])
			}
			if got.Effects != r.Effects {
				return diverge("effects", r.Effects[:], got.Effects[:])
			}
			if p := a.Next.PublicDigest(); r.Public != ([32]byte{}) && p != r.Public {
				return diverge("public", r.Public[:], p[:])
			}
			if kerr != nil {
				return diverge("keys", []byte("persistable secrets"), []byte(kerr.Error()))
			}
			keys = a.Keys
			secrets = secrets.with(a.Secrets)
			res.Steps = append(res.Steps, Step{Record: r, Event: ev, Err: a.Err, State: a.Next, Effects: a.Effects, secrets: secrets})
			cur = a.Next
		}
		prev = Hash(r)
		seq++
	}
	res.Keys = keys
	return res, nil
}

// observe advances the observer over record r of a Public log, filling
// step; it returns a *Divergence when the record's public digest or
// checkpoint is inconsistent. A checkpoint is decoded within bounds (the
// record's Limits).
func observe(obs Observer, r Record, ev transitions.Event, step *Step, bounds codec.Bounds) (Observer, *Divergence) {
	diverge := func(field string, want, got []byte, err error) *Divergence {
		return &Divergence{Seq: r.Seq, Field: field, Want: want, Got: got, Event: Describe(ev), Err: err}
	}
	if len(r.Checkpoint) > 0 {
		pub, self, err := state.DecodePublicBounded(r.Checkpoint, bounds)
		if err != nil {
			return obs, diverge("checkpoint", []byte("a public state"), []byte(err.Error()), err)
		}
		if got := pub.Digest(); got != r.Public {
			return obs, diverge("public", r.Public[:], got[:], nil)
		}
		obs = NewObserver(pub, self)
		step.Checkpoint = true
	} else {
		next, followed, err := obs.Step(ev, r.Outcome)
		if err != nil {
			return obs, diverge("public", r.Public[:], []byte(err.Error()), err)
		}
		if got := next.Digest(); got != r.Public {
			return obs, diverge("public", r.Public[:], got[:], nil)
		}
		obs, step.Followed = next, followed
	}
	step.Observed, step.observedSelf = obs.Public(), obs.self
	return obs, nil
}

// Recorder drives one member's state machine and logs every event it
// applies, rejected ones included: the live side of Replay, used by the
// simulator and by tests. It keeps the state and the key store exactly as
// Replay rebuilds them, so a log it wrote replays to its states.
type Recorder struct {
	w       *Writer
	base    transitions.Env
	state   state.GroupState
	keys    transitions.KeyStore
	secrets secretSet
	last    Record
	obs     Observer // Public mode: what a replay's observer holds
}

// NewRecorder returns a Recorder starting from the zero state that writes to
// w. base supplies Policy, Limits and extra Keys, as EnvFunc does for Replay.
func NewRecorder(w *Writer, base transitions.Env) *Recorder {
	return &Recorder{w: w, base: base}
}

// Apply applies ev with the entropy of seed, appends its record, absorbs
// its PersistSecret and DeleteSecret effects into the key store and
// returns Apply's effects and error. The record is written whatever the
// outcome; an error writing it is returned wrapped in a *RecordError.
func (r *Recorder) Apply(ev transitions.Event, seed [32]byte) ([]effects.Effect, error) {
	a, err := Apply(Input{State: r.state, Event: ev, Seed: seed, Keys: r.keys, Env: r.base})
	if err != nil {
		return nil, &RecordError{Err: err}
	}
	rec, err := a.Record()
	if err != nil {
		return nil, &RecordError{Err: err}
	}
	next := a.Next
	obs := r.obs
	if r.w.mode == Public {
		// Record the public digest, and a checkpoint wherever an observer
		// replaying the log could not derive the public state itself.
		rec.Public = next.PublicDigest()
		o, _, oerr := obs.Step(ev, rec.Outcome)
		if oerr != nil || o.Digest() != rec.Public {
			cp, err := state.EncodePublic(next)
			if err != nil {
				return nil, &RecordError{Err: err}
			}
			pub, self, err := state.DecodePublic(cp)
			if err != nil {
				return nil, &RecordError{Err: err}
			}
			rec.Checkpoint, o = cp, NewObserver(pub, self)
		}
		obs = o
	}
	rec, err = r.w.Append(rec)
	if err != nil {
		return nil, &RecordError{Err: err}
	}
	r.secrets = r.secrets.with(a.Secrets)
	r.state, r.keys, r.last, r.obs = next, a.Keys, rec, obs
	return a.Effects, a.Err
}

// State returns the current state.
func (r *Recorder) State() state.GroupState { return r.state }

// Keys returns the current key store.
func (r *Recorder) Keys() transitions.KeyStore { return r.keys }

// Next returns the sequence number of the next record: the number of
// records written so far.
func (r *Recorder) Next() uint64 { return r.w.Next() }

// Last returns the last record written (the zero Record before the
// first, also for a Recorder resumed from a snapshot).
func (r *Recorder) Last() Record { return r.last }

// RecordError reports that an event could not be logged (encoding or
// writing failed); the state did not advance.
type RecordError struct{ Err error }

// Error implements error.
func (e *RecordError) Error() string { return "mls: logging event: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }

// groupOf returns the group a record belongs to: empty for client-level
// events, else the group of the state before or after.
func groupOf(ev transitions.Event, before, after state.GroupState) []byte {
	switch ev.(type) {
	case transitions.NewSignatureKey, transitions.NewKeyPackage:
		return nil
	}
	for _, s := range []state.GroupState{after, before} {
		if g := s.GroupID(); len(g) > 0 {
			return g
		}
		if j, ok := s.StagedJoin(); ok {
			return j.Next.GroupID()
		}
	}
	return nil
}

// layered is a KeyReader that asks a, then b.
func layered(a transitions.KeyStore, b transitions.KeyReader) transitions.KeyReader {
	if b == nil {
		return a
	}
	return layeredKeys{a, b}
}

type layeredKeys struct {
	a transitions.KeyStore
	b transitions.KeyReader
}

func (l layeredKeys) KeyPackage(ref []byte) (transitions.KeyPackageBundle, bool) {
	if v, ok := l.a.KeyPackage(ref); ok {
		return v, ok
	}
	return l.b.KeyPackage(ref)
}

func (l layeredKeys) Signer(pub []byte) (*suite.Signer, bool) {
	if v, ok := l.a.Signer(pub); ok {
		return v, ok
	}
	return l.b.Signer(pub)
}

func (l layeredKeys) ExternalPSK(id []byte) ([]byte, bool) {
	if v, ok := l.a.ExternalPSK(id); ok {
		return v, ok
	}
	return l.b.ExternalPSK(id)
}

// secretSet is the list of persisted secrets still alive, in the order they
// were persisted: what a snapshot must carry for the key store.
type secretSet []effects.PersistSecret

func (s secretSet) with(effs []effects.Effect) secretSet {
	for _, e := range effs {
		switch e := e.(type) {
		case effects.PersistSecret:
			s = append(slices.Clip(s), e)
		case effects.DeleteSecret:
			s = slices.DeleteFunc(slices.Clone(s), func(p effects.PersistSecret) bool {
				return p.Ref.Kind == e.Ref.Kind && bytes.Equal(p.Ref.ID, e.Ref.ID)
			})
		}
	}
	return s
}

func (s secretSet) store() (transitions.KeyStore, error) {
	effs := make([]effects.Effect, len(s))
	for i, p := range s {
		effs[i] = p
	}
	return transitions.KeyStore{}.With(effs)
}
