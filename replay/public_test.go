package replay_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/sim"
	"github.com/mlscore/mlscore/transitions"
)

// publicSim runs a simulation whose members write Public logs.
func publicSim(t *testing.T, publicHandshake bool) *sim.Sim {
	t.Helper()
	s, err := sim.New(sim.Config{Seed: 21, Mode: replay.Public, PublicHandshake: publicHandshake, Faults: sim.DefaultFaults, Members: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Grow(4); err != nil {
		t.Fatal(err)
	}
	for range 40 {
		if _, err := s.Step(); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestPublicReplayFollowsPublicCommits replays the Public logs of a
// simulation whose handshake messages are PublicMessages: the observer
// derives every received commit itself (no checkpoint at a merge of a
// received commit), and ends with the member's public state — the same
// epoch, tree hash, roster and transcript hashes.
func TestPublicReplayFollowsPublicCommits(t *testing.T) {
	s := publicSim(t, true)
	merges := 0
	for _, m := range s.Members() {
		l, err := replay.ReadLog(m.Log())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range l.Records {
			if r.Seed != ([32]byte{}) {
				t.Fatalf("%s: record %d of a Public log keeps its seed", m.Name, r.Seq)
			}
		}
		res, err := replay.ReplayLog(l, nil)
		if err != nil {
			var d *replay.Divergence
			if errors.As(err, &d) {
				t.Fatalf("%s: %v\n%s", m.Name, err, d.Report())
			}
			t.Fatalf("%s: %v", m.Name, err)
		}
		if !res.Public || !res.Observed {
			t.Fatalf("%s: public replay did not observe", m.Name)
		}
		for _, st := range res.Steps {
			if _, ok := st.Event.(transitions.MergeStaged); ok && st.Record.Outcome.Class == replay.OK {
				merges++
				if !st.Followed || st.Checkpoint {
					t.Fatalf("%s: merge of a received PublicMessage commit at record %d not followed", m.Name, st.Record.Seq)
				}
			}
		}
		if len(res.Steps) == 0 {
			continue
		}
		got := res.Steps[len(res.Steps)-1].Observed
		want := m.State().Public()
		if got.Digest() != want.Digest() {
			t.Fatalf("%s: observed public state differs from the member's", m.Name)
		}
		if m.Active() {
			if got.Context.Epoch != m.State().Epoch() || !bytes.Equal(got.Tree.Hash(), m.State().Tree().Hash()) ||
				got.Tree.MemberCount() != m.State().Tree().MemberCount() {
				t.Fatalf("%s: observer at epoch %d, member at %d", m.Name, got.Context.Epoch, m.State().Epoch())
			}
		}
		t.Logf("%s: %d records, %d followed, %d checkpoints", m.Name, len(res.Steps), res.Followed, res.Checkpoints)
	}
	if merges == 0 {
		t.Fatal("no received commit was merged")
	}
}

// TestPublicReplayPrivateHandshakes: with PrivateMessage handshakes mixed
// in, the observer cannot follow those commits; the log carries
// checkpoints there and the replay still ends at the member's public
// state.
func TestPublicReplayPrivateHandshakes(t *testing.T) {
	s := publicSim(t, false)
	for _, m := range s.Members() {
		l, err := replay.ReadLog(m.Log())
		if err != nil {
			t.Fatal(err)
		}
		res, err := replay.ReplayLog(l, nil)
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if n := len(res.Steps); n > 0 && res.Steps[n-1].Observed.Digest() != m.State().Public().Digest() {
			t.Fatalf("%s: observed public state differs from the member's", m.Name)
		}
	}
}

// TestPublicReplayDetectsTampering changes what a Public log claims: a
// record's public digest, or a checkpoint's content. Replay stops at that
// record.
func TestPublicReplayDetectsTampering(t *testing.T) {
	s := publicSim(t, true)
	var l *replay.Log
	for _, m := range s.Members() {
		ml, err := replay.ReadLog(m.Log())
		if err != nil {
			t.Fatal(err)
		}
		if l == nil || len(ml.Records) > len(l.Records) {
			l = ml
		}
	}
	res, err := replay.ReplayLog(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	followed, checkpoint := -1, -1
	for i, st := range res.Steps {
		if st.Followed && followed < 0 {
			if _, ok := st.Event.(transitions.MergeStaged); ok {
				followed = i
			}
		}
		if st.Checkpoint && i > 0 {
			checkpoint = i
		}
	}
	if followed < 0 || checkpoint < 0 {
		t.Fatalf("no followed merge (%d) or checkpoint (%d) in the log", followed, checkpoint)
	}
	for _, tc := range []struct {
		name string
		k    int
		f    func(*replay.Record)
	}{
		{"public digest of a followed commit", followed, func(r *replay.Record) { r.Public[3] ^= 1 }},
		{"public digest of a checkpoint", checkpoint, func(r *replay.Record) { r.Public[3] ^= 1 }},
		{"checkpoint content", checkpoint, func(r *replay.Record) { r.Checkpoint = r.Checkpoint[:len(r.Checkpoint)-1] }},
	} {
		recs := rechain(l.Records, tc.k, tc.f)
		_, err := replay.Replay(l.Header, replay.Records(recs), nil)
		var d *replay.Divergence
		if !errors.As(err, &d) || d.Seq != uint64(tc.k) || (d.Field != "public" && d.Field != "checkpoint") {
			t.Fatalf("%s at record %d: %v", tc.name, tc.k, err)
		}
	}
}
