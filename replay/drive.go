package replay

import (
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
)

// Input is one event for Apply: the state it applies to, the event, its
// entropy seed, the key store, and the rest of its environment.
type Input struct {
	State state.GroupState
	Event transitions.Event
	// Encoded is the event's encoding when the caller has it (a replayed
	// record); nil lets Applied.Record encode Event.
	Encoded []byte
	Seed    [32]byte
	// Keys is the key store the event reads first and whose secrets its
	// PersistSecret and DeleteSecret effects change (Applied.Keys).
	Keys transitions.KeyStore
	// Env supplies the Policy and Limits; Env.Keys, if set, is read after
	// Keys, for keys the store does not hold (an external signer, a
	// resumption PSK, the application's keys). Env.Entropy is ignored:
	// the event's entropy is Seed's.
	Env transitions.Env
}

// Applied is what one event did: Apply's result, the key store after it,
// and the secrets to store and erase. Record gives the event's log record.
type Applied struct {
	Input
	Next    state.GroupState // the state transitions.Apply returned
	Effects []effects.Effect
	Err     error // what transitions.Apply returned
	// Keys is Input.Keys with the event's secret changes.
	Keys transitions.KeyStore
	// Secrets are the event's PersistSecret and DeleteSecret effects, in
	// order: the secrets to store, and those to erase, in the same
	// atomic write as the event's record or state.
	Secrets []effects.Effect
}

// Apply is the one apply-and-record driver of the module: the shell
// (every Group and Client operation), the Recorder and Replay run every
// event through it. It applies in.Event to in.State with the entropy of
// in.Seed (transitions.Apply), and carries the effects' PersistSecret and
// DeleteSecret into the key store. It returns an error only when the new
// secrets cannot be held (a secret that does not decode): the event must
// then not be recorded, and its state not kept. A rejected event (a
// non-nil Applied.Err) is not an error of Apply: it is recorded too.
func Apply(in Input) (Applied, error) {
	env := in.Env
	env.Entropy = entropy.FromSeed(in.Seed)
	env.Keys = layered(in.Keys, in.Env.Keys)
	next, effs, aerr := transitions.Apply(in.State, in.Event, env)
	a := Applied{Input: in, Next: next, Effects: effs, Err: aerr, Keys: in.Keys}
	for _, e := range effs {
		switch e.(type) {
		case effects.PersistSecret, effects.DeleteSecret:
			a.Secrets = append(a.Secrets, e)
		}
	}
	if len(a.Secrets) == 0 {
		return a, nil
	}
	keys, err := in.Keys.With(a.Secrets)
	if err != nil {
		return a, err
	}
	a.Keys = keys
	return a, nil
}

// Record returns the event's log record: the group, the event's
// encoding, the seed, the outcome and the digests of the new state and
// of the effects. Seq and Prev are left to the Writer that appends it. A
// caller that keeps no record does not call it: the state digest costs as
// much as protecting a message.
func (a *Applied) Record() (Record, error) {
	evb := a.Encoded
	if evb == nil {
		var err error
		if evb, err = transitions.EncodeEvent(a.Event); err != nil {
			return Record{}, err
		}
	}
	return Record{
		Group:   groupOf(a.Event, a.State, a.Next),
		Event:   evb,
		Seed:    a.Seed,
		Outcome: OutcomeOf(a.Err),
		State:   a.Next.Digest(),
		Effects: effects.Digest(a.Effects),
	}, nil
}
