package replay_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/valsem"
)

// recordedLog logs a few client-level and group events through a Recorder,
// whatever their outcomes, and returns the log and the live states after
// each record.
func recordedLog(t *testing.T, mode replay.Mode) ([]byte, []state.GroupState) {
	t.Helper()
	var buf bytes.Buffer
	w, err := replay.NewWriter(&buf, replay.Header{Mode: mode, Module: "test", PolicyID: "default"})
	if err != nil {
		t.Fatal(err)
	}
	rec := replay.NewRecorder(w, transitions.Env{})
	var states []state.GroupState
	apply := func(ev transitions.Event, seed byte) {
		if _, err := rec.Apply(ev, [32]byte{seed}); err != nil {
			var re *replay.RecordError
			if errors.As(err, &re) {
				t.Fatal(err)
			}
		}
		states = append(states, rec.State())
	}
	cred := codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte("alice")}
	apply(transitions.NewSignatureKey{At: 100, Suite: suite.X25519AES128GCMSHA256Ed25519}, 1)
	apply(transitions.NewKeyPackage{At: 101, Suite: suite.X25519AES128GCMSHA256Ed25519, Credential: cred,
		Lifetime: codec.Lifetime{NotBefore: 0, NotAfter: 1 << 40}}, 2)
	apply(transitions.CreateGroup{At: 102, Suite: suite.X25519AES128GCMSHA256Ed25519, GroupID: []byte("g"), Credential: cred,
		Config: state.DefaultConfig()}, 3)
	apply(transitions.Protect{At: 103, Data: []byte("hello")}, 4)
	apply(transitions.MergeStaged{At: 104}, 5) // rejected: nothing staged
	return buf.Bytes(), states
}

func TestReplayReproducesRecorder(t *testing.T) {
	data, live := recordedLog(t, replay.Full)
	l, err := replay.ReadLog(data)
	if err != nil {
		t.Fatal(err)
	}
	res, err := replay.ReplayLog(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != len(live) {
		t.Fatalf("%d steps, want %d", len(res.Steps), len(live))
	}
	for i, st := range live {
		got, ok := res.StateAt(uint64(i))
		if !ok {
			t.Fatalf("no state at %d", i)
		}
		if got.Digest() != st.Digest() {
			t.Errorf("record %d: digest differs:\n%s", i, cmp.Diff(st.View(), got.View()))
		}
		if res.Steps[i].Record.Outcome != replay.OutcomeOf(res.Steps[i].Err) {
			t.Errorf("record %d: outcome", i)
		}
	}
	if _, ok := res.StateAt(uint64(len(live))); ok {
		t.Error("StateAt past the end")
	}
}

// TestReplayDetectsTampering rewrites one recorded field of each record in
// turn (re-chaining the log, as a buggy writer would) and requires a
// Divergence at that record naming the field.
func TestReplayDetectsTampering(t *testing.T) {
	data, _ := recordedLog(t, replay.Full)
	l, err := replay.ReadLog(data)
	if err != nil {
		t.Fatal(err)
	}
	tamper := []struct {
		field string
		f     func(r *replay.Record)
	}{
		{"state", func(r *replay.Record) { r.State[3] ^= 1 }},
		{"effects", func(r *replay.Record) { r.Effects[0] ^= 0x80 }},
		{"outcome", func(r *replay.Record) { r.Outcome.Class ^= 1 }},
		{"event", func(r *replay.Record) { r.Event = append([]byte{0xff}, r.Event...) }},
	}
	for _, tt := range tamper {
		for seq := range l.Records {
			recs := rechain(l.Records, seq, tt.f)
			res, err := replay.Replay(l.Header, replay.Records(recs), nil)
			var d *replay.Divergence
			if !errors.As(err, &d) {
				t.Fatalf("%s of record %d: err = %v", tt.field, seq, err)
			}
			if d.Seq != uint64(seq) || d.Field != tt.field {
				t.Fatalf("%s of record %d: divergence at %d in %s", tt.field, seq, d.Seq, d.Field)
			}
			if len(res.Steps) != seq {
				t.Fatalf("%s of record %d: %d steps before the divergence", tt.field, seq, len(res.Steps))
			}
			if d.Report() == "" || d.Error() == "" {
				t.Fatal("empty report")
			}
			if seq > 0 {
				if want := res.Steps[seq-1].State.View(); cmp.Diff(want, d.Before) != "" {
					t.Fatalf("Before is not the state after record %d", seq-1)
				}
			}
		}
	}
}

// rechain returns recs with f applied to record i and the hash chain
// rebuilt after it.
func rechain(recs []replay.Record, i int, f func(*replay.Record)) []replay.Record {
	out := make([]replay.Record, len(recs))
	copy(out, recs)
	r := out[i]
	r.Event = bytes.Clone(r.Event)
	f(&r)
	out[i] = r
	for j := i + 1; j < len(out); j++ {
		out[j].Prev = replay.Hash(out[j-1])
	}
	return out
}

func TestReplayBrokenChain(t *testing.T) {
	data, _ := recordedLog(t, replay.Full)
	l, _ := replay.ReadLog(data)
	recs := append([]replay.Record(nil), l.Records...)
	recs[2].Prev[0] ^= 1
	_, err := replay.Replay(l.Header, replay.Records(recs), nil)
	var ce *replay.CorruptError
	if !errors.As(err, &ce) || ce.Seq != 2 || !errors.Is(err, replay.ErrChain) {
		t.Fatalf("err = %v", err)
	}
}

// TestReplayPublic: a Public log carries no seeds; its replay checks the
// chain and the events and rebuilds no state.
func TestReplayPublic(t *testing.T) {
	data, _ := recordedLog(t, replay.Public)
	l, err := replay.ReadLog(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range l.Records {
		if r.Seed != ([32]byte{}) {
			t.Fatal("seed in a public log")
		}
	}
	res, err := replay.ReplayLog(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Public || len(res.Steps) != len(l.Records) {
		t.Fatalf("public replay: %+v", res)
	}
	recs := rechain(l.Records, 1, func(r *replay.Record) { r.Event = []byte{1, 2, 3} })
	if _, err := replay.Replay(l.Header, replay.Records(recs), nil); err == nil {
		t.Fatal("public replay accepted an undecodable event")
	}
}

func TestOutcomeOf(t *testing.T) {
	tests := []struct {
		err  error
		want replay.Outcome
	}{
		{nil, replay.Outcome{Class: replay.OK}},
		{valsem.Errorf(valsem.ValSem103, "duplicate key"), replay.Outcome{Class: replay.Rejected, Code: 103}},
		{fmt.Errorf("wrapped: %w", valsem.ValSem010), replay.Outcome{Class: replay.Rejected, Code: 10}},
		{transitions.ErrWrongState, replay.Outcome{Class: replay.OtherError, Code: 1}},
		{transitions.ErrUnsupported, replay.Outcome{Class: replay.OtherError, Code: 4}},
		{&transitions.LimitError{Limit: "MaxLeaves"}, replay.Outcome{Class: replay.LimitError}},
		{&transitions.PolicyError{Reason: "no"}, replay.Outcome{Class: replay.PolicyError}},
		{&codec.DecodeError{Struct: "MLSMessage", Err: codec.ErrTruncated}, replay.Outcome{Class: replay.DecodeError}},
		{errors.New("other"), replay.Outcome{Class: replay.OtherError}},
	}
	for _, tt := range tests {
		if got := replay.OutcomeOf(tt.err); got != tt.want {
			t.Errorf("OutcomeOf(%v) = %+v, want %+v", tt.err, got, tt.want)
		}
	}
}
