package transitions

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
)

// TestScenario runs the interop test-runner's flows (1:1 join, 3-party
// join, multiple joins at once, update, remove, application messages in
// both wire formats) in suites 1, 2 and 3: after every commit all members
// agree on the epoch authenticator and tree hash and read each other's
// messages (world.check).
func TestScenario(t *testing.T) {
	for _, cs := range []suite.ID{1, 2, 3} {
		for _, wf := range []state.WireFormatPolicy{state.PureCiphertext, state.PurePlaintext} {
			t.Run(fmt.Sprintf("suite=%d/outgoing=%d", cs, wf.Outgoing), func(t *testing.T) {
				cfg := state.DefaultConfig()
				cfg.WireFormat = wf
				w := newWorld(t, cs, cfg)
				a := w.create("alice")
				w.check()
				b := w.add(a, "bob")[0] // 1:1 join
				w.tree = TreeOmit
				c := w.add(b, "carol")[0] // 3-party join, tree out of band
				w.tree = TreeInclude
				ds := w.add(a, "dave", "erin", "frank") // multiple joins at once
				w.commit(b, Commit{ForcePath: true})    // self-update with path
				// Update by reference: carol proposes, alice commits.
				effs := w.must(c, Propose{At: testAt, Proposal: codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{}}})
				send, _ := effects.Find[effects.SendToGroup](effs)
				w.deliver(c, send.Message)
				w.commit(a, Commit{})
				// Remove by value.
				w.commit(b, Commit{Inline: []codec.Proposal{{ProposalType: codec.ProposalRemove, Remove: &codec.Remove{Removed: ds[0].s.OwnLeaf()}}}})
				if ds[0].s.Active() || !ds[0].s.InGroup() {
					t.Fatal("removed member still active")
				}
				// Leave: erin asks to be removed, carol commits.
				effs = w.must(ds[1], Leave{At: testAt})
				send, _ = effects.Find[effects.SendToGroup](effs)
				w.deliver(ds[1], send.Message)
				w.commit(c, Commit{})
				if ds[1].s.Active() {
					t.Fatal("leaving member still active")
				}
				// A path-less commit (an Add only).
				w.add(ds[2], "grace")
			})
		}
	}
}

// TestOutOfOrderAndPastEpochs: application messages arrive out of order
// within the tolerance, and from a past epoch within max_past_epochs.
func TestOutOfOrderAndPastEpochs(t *testing.T) {
	cfg := state.DefaultConfig()
	cfg.MaxPastEpochs = 2
	w := newWorld(t, 1, cfg)
	a := w.create("alice")
	b := w.add(a, "bob")[0]
	var msgs [][]byte
	for i := range 4 {
		effs := w.must(a, Protect{At: testAt, Data: []byte{byte(i)}})
		send, _ := effects.Find[effects.SendToGroup](effs)
		msgs = append(msgs, send.Message)
	}
	// Epoch changes before bob reads them.
	w.commit(a, Commit{ForcePath: true})
	for _, i := range []int{3, 0, 2, 1} {
		effs := w.must(b, Receive{At: testAt, Message: msgs[i]})
		d, _ := effects.Find[effects.DeliverApplication](effs)
		if !bytes.Equal(d.Data, []byte{byte(i)}) {
			t.Fatalf("message %d: got %x", i, d.Data)
		}
		if _, ok := effects.Find[effects.DeleteSecret](effs); !ok {
			t.Fatal("no DeleteSecret for the used key")
		}
	}
	// A replay is rejected (the key is gone).
	_, err := w.apply(b, Receive{At: testAt, Message: msgs[0]})
	if err == nil {
		t.Fatal("replayed message accepted")
	}
	// Two more epochs: the first epoch's keys are dropped.
	effs := w.must(a, Protect{At: testAt, Data: []byte("late")})
	late, _ := effects.Find[effects.SendToGroup](effs)
	w.commit(a, Commit{ForcePath: true})
	w.commit(a, Commit{ForcePath: true})
	w.commit(a, Commit{ForcePath: true})
	_, err = w.apply(b, Receive{At: testAt, Message: late.Message})
	if err == nil {
		t.Fatal("message of a dropped epoch accepted")
	}
}
