package state_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/internal/testrun"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/sim"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
)

// tb is what the helpers need of *testing.T, *testing.F and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// roundTrip encodes and decodes s and checks what must hold of any
// snapshot: same digest, same view, same public digest, and a canonical
// encoding (re-encoding the decoded state gives the same bytes).
func roundTrip(t tb, s state.GroupState) state.GroupState {
	t.Helper()
	enc, err := state.Encode(s)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	got, err := state.Decode(enc)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got.Digest() != s.Digest() {
		t.Fatalf("digest changed by the round trip:\n%s", cmp.Diff(s.View(), got.View()))
	}
	if d := cmp.Diff(s.View(), got.View()); d != "" {
		t.Fatalf("view changed by the round trip (-want +got):\n%s", d)
	}
	if got.PublicDigest() != s.PublicDigest() {
		t.Fatal("public digest changed by the round trip")
	}
	again, err := state.Encode(got)
	if err != nil || !bytes.Equal(again, enc) {
		t.Fatalf("re-encoding the decoded state differs (err %v)", err)
	}
	return got
}

// checkLog walks a member's log record by record. Before each record it
// round-trips the current state, then applies the record's event to both
// the original and the decoded state with the record's entropy: the
// outcomes, the next digests, the effects and the encodings of the next
// states must be identical. It returns the number of records checked.
func checkLog(t tb, data []byte) int {
	t.Helper()
	l, err := replay.ReadLog(data)
	if err != nil {
		t.Fatal(err)
	}
	var cur state.GroupState
	keys := transitions.KeyStore{}
	for _, r := range l.Records {
		ev, err := transitions.DecodeEvent(r.Event)
		if err != nil {
			t.Fatal(err)
		}
		dec := roundTrip(t, cur)
		env := func() transitions.Env { return transitions.Env{Entropy: entropy.FromSeed(r.Seed), Keys: keys} }
		next, effs, aerr := transitions.Apply(cur, ev, env())
		dnext, deffs, derr := transitions.Apply(dec, ev, env())
		if replay.OutcomeOf(aerr) != replay.OutcomeOf(derr) || fmt.Sprint(aerr) != fmt.Sprint(derr) {
			t.Fatalf("record %d (%s): original %v, decoded %v", r.Seq, replay.Describe(ev), aerr, derr)
		}
		if next.Digest() != r.State || dnext.Digest() != r.State {
			t.Fatalf("record %d (%s): digests differ from the log's:\n%s", r.Seq, replay.Describe(ev), cmp.Diff(next.View(), dnext.View()))
		}
		if effects.Digest(effs) != effects.Digest(deffs) || effects.Digest(effs) != r.Effects {
			t.Fatalf("record %d (%s): effects differ", r.Seq, replay.Describe(ev))
		}
		if d := cmp.Diff(effs, deffs); d != "" {
			t.Fatalf("record %d (%s): effects differ (-original +decoded):\n%s", r.Seq, replay.Describe(ev), d)
		}
		a, err1 := state.Encode(next)
		b, err2 := state.Encode(dnext)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Fatalf("record %d (%s): next states encode differently (%v, %v)", r.Seq, replay.Describe(ev), err1, err2)
		}
		if keys, err = keys.With(effs); err != nil {
			t.Fatal(err)
		}
		cur = next
	}
	roundTrip(t, cur)
	return len(l.Records)
}

func runSim(t tb, cfg sim.Config, grow, steps int) *sim.Sim {
	t.Helper()
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Grow(grow); err != nil {
		t.Fatal(err)
	}
	for range steps {
		if _, err := s.Step(); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestEncodeSimStates round-trips every state of every member of a
// simulated history (joining clients, pending and staged commits, past
// epochs, out-of-order keys, removed members), in several suites, and
// checks that each decoded state processes the next event exactly like
// the original.
func TestEncodeSimStates(t *testing.T) {
	for _, cs := range []suite.ID{1, 2, 3} {
		t.Run(fmt.Sprintf("suite=%d", cs), func(t *testing.T) {
			steps := 40
			if cs != 1 {
				steps = 12
			}
			s := runSim(t, sim.Config{Seed: 5, Suite: cs, Faults: sim.DefaultFaults, Members: 5}, 4, steps)
			n := 0
			for _, m := range s.Members() {
				n += checkLog(t, m.Log())
			}
			t.Logf("%d states checked", n)
		})
	}
}

// TestPropEncodeRoundTrip: for random simulated histories, every state of
// every member survives Encode and Decode with its digest, and behaves
// like the original on the next event.
func TestPropEncodeRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := sim.Config{
			Seed:    rapid.Uint64().Draw(t, "seed"),
			Members: rapid.IntRange(2, 6).Draw(t, "members"),
			Faults: sim.Faults{
				Drop:    rapid.Uint32Range(0, 200).Draw(t, "drop"),
				Reorder: rapid.Uint32Range(0, 1000).Draw(t, "reorder"),
				Delay:   rapid.Uint32Range(0, 500).Draw(t, "delay"),
			},
		}
		s := runSim(t, cfg, rapid.IntRange(1, cfg.Members).Draw(t, "initial"), rapid.IntRange(0, 12).Draw(t, "steps"))
		for _, m := range s.Members() {
			checkLog(t, m.Log())
		}
	})
}

// soloHistory creates a one-member group configured to keep 3 past epochs
// and 2 resumption PSKs, and runs protects and commits (with and without
// path), returning every state. Each event is applied to the state and to
// its round-tripped copy, which must behave identically.
func soloHistory(t tb, check bool) []state.GroupState {
	keys := transitions.KeyStore{}
	seed := byte(0)
	var all []state.GroupState
	apply := func(s state.GroupState, ev transitions.Event) (state.GroupState, []effects.Effect) {
		t.Helper()
		seed++
		env := func() transitions.Env { return transitions.Env{Entropy: entropy.FromSeed([32]byte{seed}), Keys: keys} }
		next, effs, err := transitions.Apply(s, ev, env())
		if err != nil {
			t.Fatalf("%s: %v", replay.Describe(ev), err)
		}
		if check {
			dec := roundTrip(t, s)
			dnext, deffs, derr := transitions.Apply(dec, ev, env())
			if derr != nil || dnext.Digest() != next.Digest() || effects.Digest(deffs) != effects.Digest(effs) {
				t.Fatalf("%s: decoded state behaves differently (%v)", replay.Describe(ev), derr)
			}
		}
		if keys, err = keys.With(effs); err != nil {
			t.Fatal(err)
		}
		all = append(all, next)
		return next, effs
	}
	_, effs := apply(state.GroupState{}, transitions.NewSignatureKey{At: 1, Suite: 1})
	var pub []byte
	for _, e := range effs {
		if c, ok := e.(effects.SignatureKeyCreated); ok {
			pub = c.PublicKey
		}
	}
	cfg := state.DefaultConfig()
	cfg.MaxPastEpochs, cfg.ResumptionPSKs = 3, 2
	cfg.WireFormat = state.PurePlaintext
	s, _ := apply(state.GroupState{}, transitions.CreateGroup{At: 10, Suite: 1, GroupID: []byte("g"), SignatureKey: pub,
		Credential: codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte("a")},
		Lifetime:   codec.Lifetime{NotBefore: 0, NotAfter: 1 << 40}, Config: cfg})
	for i := range 5 {
		s, _ = apply(s, transitions.Protect{At: 11, Data: []byte("x")})
		s, _ = apply(s, transitions.Commit{At: 12, ForcePath: i%2 == 0})
		s, _ = apply(s, transitions.ConfirmCommit{At: 12})
	}
	return all
}

// TestEncodeResumptionAndPastEpochs covers what the simulator's
// configuration leaves out: several past epochs and resumption PSKs.
func TestEncodeResumptionAndPastEpochs(t *testing.T) {
	all := soloHistory(t, true)
	s := all[len(all)-1]
	v := s.Private()
	if len(v.Past) != 3 || len(v.Resumption) != 2 {
		t.Fatalf("%d past epochs, %d resumption psks", len(v.Past), len(v.Resumption))
	}
	roundTrip(t, s)
}

// TestDecodeRejects checks that damaged encodings are refused with
// ErrEncoding: truncation at every offset, a flipped byte anywhere (either
// refused or decoded to a state that re-encodes to the flipped bytes), an
// unknown version, trailing data.
func TestDecodeRejects(t *testing.T) {
	s := runSim(t, sim.Config{Seed: 3, Faults: sim.DefaultFaults, Members: 3}, 3, 6)
	enc, err := state.Encode(s.Members()[0].State())
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(enc) {
		if _, err := state.Decode(enc[:n]); !errors.Is(err, state.ErrEncoding) {
			t.Fatalf("truncated at %d: %v", n, err)
		}
	}
	if _, err := state.Decode(append(bytes.Clone(enc), 0)); !errors.Is(err, state.ErrEncoding) {
		t.Fatalf("trailing byte: %v", err)
	}
	bad := bytes.Clone(enc)
	bad[9]++ // version
	if _, err := state.Decode(bad); !errors.Is(err, state.ErrEncoding) {
		t.Fatalf("version %d: %v", bad[9], err)
	}
	for i := 0; i < len(enc); i += 1 + len(enc)/1500 {
		bad := bytes.Clone(enc)
		bad[i] ^= 0x40
		got, err := state.Decode(bad)
		if err != nil {
			if !errors.Is(err, state.ErrEncoding) {
				t.Fatalf("flip at %d: %v does not wrap ErrEncoding", i, err)
			}
			continue
		}
		again, err := state.Encode(got)
		if err != nil || !bytes.Equal(again, bad) {
			t.Fatalf("flip at %d: accepted but not canonical", i)
		}
	}
}

// FuzzDecodeState: DecodeBounded never panics, allocates within
// stateAllocPerByte per input byte (plus 64 KiB), and whatever it accepts
// re-encodes to the same bytes and has a digest.
func FuzzDecodeState(f *testing.F) {
	all := soloHistory(f, false)
	for _, s := range all[len(all)-4:] {
		enc, err := state.Encode(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Add([]byte("MLSSTATE\x00\x01\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s state.GroupState
		var err error
		if n := testrun.Allocated(func() { s, err = state.DecodeBounded(data, fuzzBounds) }); n > stateAllocPerByte*uint64(len(data))+64<<10 {
			t.Fatalf("decoding %d bytes allocated %d, budget %d per byte and 64 KiB", len(data), n, stateAllocPerByte)
		}
		if err != nil {
			if !errors.Is(err, state.ErrEncoding) {
				t.Fatalf("error %v does not wrap ErrEncoding", err)
			}
			return
		}
		again, err := state.Encode(s)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted input does not re-encode to itself (%v)", err)
		}
		_ = s.Digest()
		_ = s.View()
	})
}
