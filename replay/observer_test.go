package replay_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/valsem"
)

// TestObserverFollowsThroughPublicGroup: the Observer derives a member's
// public state from commits it used to leave to checkpoints — an external
// commit — and rejects, with the member's typed error, public content the
// member would not have accepted.
func TestObserverFollowsThroughPublicGroup(t *testing.T) {
	cfg := state.DefaultConfig()
	cfg.WireFormat, cfg.RatchetTreeExtension = state.MixedPlaintext, true
	clock := func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }
	at := uint64(clock().Unix())
	client := func(name string) *mls.Client {
		n := byte(0)
		c, err := mls.NewClient(mls.NewMemoryStorage(), []byte(name), &mls.Options{Config: &cfg, Clock: clock,
			Seed: func() [32]byte { n++; return [32]byte{name[0], n} }})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	alice, bob, carol := client("alice"), client("bob"), client("carol")
	ga, err := alice.CreateGroup(nil)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := bob.KeyPackage()
	if err != nil {
		t.Fatal(err)
	}
	out, err := ga.AddMembers(kp)
	if err != nil {
		t.Fatal(err)
	}
	if err := ga.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	gb, err := bob.JoinGroup(out.Welcome, nil)
	if err != nil {
		t.Fatal(err)
	}
	ok := replay.Outcome{Class: replay.OK}
	receive := func(msg []byte) transitions.Receive { return transitions.Receive{At: at, Message: msg} }

	// Carol joins with an external commit; bob processes and merges it.
	gi, err := ga.GroupInfo(true)
	if err != nil {
		t.Fatal(err)
	}
	_, ext, err := carol.JoinExternal(gi, nil)
	if err != nil {
		t.Fatal(err)
	}
	obs := replay.NewObserver(gb.State().Public(), gb.OwnLeaf())
	o, followed, err := obs.Step(receive(ext.Commit), ok)
	if err != nil || !followed {
		t.Fatalf("external commit: followed %v, %v", followed, err)
	}
	o, followed, err = o.Step(transitions.MergeStaged{At: at}, ok)
	if err != nil || !followed {
		t.Fatalf("merge: followed %v, %v", followed, err)
	}
	for _, g := range []*mls.Group{ga, gb} {
		if _, err := g.ProcessMessage(ext.Commit); err != nil {
			t.Fatal(err)
		}
		if err := g.MergeStagedCommit(); err != nil {
			t.Fatal(err)
		}
	}
	if o.Digest() != gb.State().PublicDigest() {
		t.Fatal("the observer's public state after the external commit is not bob's")
	}

	// A commit whose signature does not verify: the observer reports the
	// member's error (a log claiming bob accepted it is inconsistent).
	up, err := ga.SelfUpdate()
	if err != nil {
		t.Fatal(err)
	}
	m, err := codec.DecodeMLSMessage(up.Commit)
	if err != nil {
		t.Fatal(err)
	}
	m.PublicMessage.Auth.Signature[0] ^= 1
	forged, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.Step(receive(forged), ok); !errors.Is(err, valsem.ValSem010) {
		t.Fatalf("forged commit: %v, want ValSem010", err)
	}
	// The genuine commit is followed.
	if _, followed, err := o.Step(receive(up.Commit), ok); err != nil || !followed {
		t.Fatalf("self-update: followed %v, %v", followed, err)
	}
}
