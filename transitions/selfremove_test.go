package transitions

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

var selfRemove = codec.Proposal{ProposalType: codec.ProposalSelfRemove}

// selfRemoveWorld is a group of alice, bob, carol and dave whose leaves
// support SelfRemove and who accept PublicMessage handshakes.
func selfRemoveWorld(t *testing.T) (*world, map[string]*member) {
	cfg := state.DefaultConfig()
	cfg.WireFormat = state.MixedCiphertext
	w := newWorld(t, 1, cfg)
	w.caps = codec.Capabilities{Proposals: []codec.ProposalType{codec.ProposalSelfRemove}}
	a := w.create("alice")
	w.add(a, "bob", "carol", "dave")
	return w, map[string]*member{"alice": a, "bob": w.byName("bob"), "carol": w.byName("carol"), "dave": w.byName("dave")}
}

// TestSelfRemoveScenario: bob leaves with a SelfRemove that alice commits;
// carol's SelfRemove is then covered by an external joiner's commit.
func TestSelfRemoveScenario(t *testing.T) {
	w, m := selfRemoveWorld(t)
	a, b, c := m["alice"], m["bob"], m["carol"]
	bobLeaf := b.s.OwnLeaf()

	// Rule 2: a SelfRemove goes out as a PublicMessage, though bob's
	// handshakes are otherwise PrivateMessages.
	msg := sent(t, w.must(b, Propose{At: testAt, Proposal: selfRemove}))
	if dm, err := codec.DecodeMLSMessage(msg); err != nil || dm.WireFormat != codec.WireFormatPublicMessage {
		t.Fatalf("self_remove framed as %v (%v), want a public message", dm.WireFormat, err)
	}
	w.deliver(b, msg)
	effs := w.must(a, Commit{At: testAt})
	cm, _ := codec.DecodeMLSMessage(sent(t, effs))
	if cm.WireFormat != codec.WireFormatPrivateMessage {
		t.Fatalf("commit framed as %v", cm.WireFormat)
	}
	w.deliver(a, sent(t, effs))
	w.must(a, ConfirmCommit{At: testAt})
	if b.s.Active() {
		t.Fatal("bob still active after his self_remove was committed")
	}
	if _, ok := a.s.Tree().Leaf(bobLeaf); ok {
		t.Fatal("bob's leaf not blank")
	}
	w.check()

	// Carol asks to leave; erin joins externally, covering it.
	leave := sent(t, w.must(c, Propose{At: testAt, Proposal: selfRemove}))
	w.deliver(c, leave)
	gi := w.groupInfo(a, true)
	erin := w.newMember("erin")
	w.externalJoin(erin, gi, ExternalJoin{SelfRemoves: [][]byte{leave}})
	if c.s.Active() || w.active() != 3 {
		t.Fatalf("carol active %v, %d active members", c.s.Active(), w.active())
	}
	if n := len(a.s.PendingProposals()); n != 0 {
		t.Fatalf("%d proposals left in alice's store", n)
	}
}

// TestSelfRemoveRules covers the rules a committer and a proposer check.
func TestSelfRemoveRules(t *testing.T) {
	t.Run("inline in a commit", func(t *testing.T) {
		w, m := selfRemoveWorld(t)
		_, err := w.apply(m["alice"], Commit{At: testAt, Inline: []codec.Proposal{selfRemove}})
		mustIs(t, err, ErrInvalidProposals)
	})
	t.Run("committer's own is dropped", func(t *testing.T) {
		w, m := selfRemoveWorld(t)
		a := m["alice"]
		w.deliver(a, sent(t, w.must(a, Propose{At: testAt, Proposal: selfRemove})))
		w.commit(a, Commit{})
		if !a.s.Active() || w.active() != 4 {
			t.Fatal("a commit removed its committer")
		}
	})
	t.Run("a member without support", func(t *testing.T) {
		w, m := selfRemoveWorld(t)
		w.caps = codec.Capabilities{}
		w.add(m["alice"], "frank")
		_, err := w.apply(m["bob"], Propose{At: testAt, Proposal: selfRemove})
		mustIs(t, err, valsem.ValSem113)
	})
}

// TestSelfRemoveCover checks the proposal pipeline on SelfRemove entries:
// by value or from a non-member it fails, by reference it removes the
// sender and requires a path, and a commit may not remove its committer.
func TestSelfRemoveCover(t *testing.T) {
	w, m := selfRemoveWorld(t)
	g, err := inGroup(m["alice"].s)
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := treemath.LeafIndex(0), m["bob"].s.OwnLeaf()
	ref := []byte("ref")
	env := w.env(m["alice"])
	env.Limits = DefaultLimits()
	tests := []struct {
		name      string
		committer *treemath.LeafIndex
		e         entry
		want      error // nil: accepted
	}{
		{"by reference", &alice, entry{p: selfRemove, sender: codec.MemberSender(bob), ref: ref}, nil},
		{"standalone", nil, entry{p: selfRemove, sender: codec.MemberSender(bob), ref: ref}, nil},
		{"by value", &alice, entry{p: selfRemove, sender: codec.MemberSender(alice)}, ErrInvalidProposals},
		{"external sender", nil, entry{p: selfRemove, sender: codec.Sender{SenderType: codec.SenderTypeExternal}, ref: ref}, ErrInvalidProposals},
		{"new member sender", nil, entry{p: selfRemove, sender: codec.Sender{SenderType: codec.SenderTypeNewMemberProposal}, ref: ref}, ErrInvalidProposals},
		{"the committer's own", &alice, entry{p: selfRemove, sender: codec.MemberSender(alice), ref: ref}, valsem.ValSem200},
		{"blank leaf", &alice, entry{p: selfRemove, sender: codec.MemberSender(9), ref: ref}, valsem.ValSem108},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cov, err := g.cover(tt.committer, []entry{tt.e}, modeReceiver, testAt, env)
			if tt.want != nil {
				mustIs(t, err, tt.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.committer != nil && (!cov.pathRequired || len(cov.removed) != 1 || cov.removed[0] != bob || len(cov.leavers) != 1) {
				t.Fatalf("covered: path required %v, removed %v, leavers %v", cov.pathRequired, cov.removed, cov.leavers)
			}
		})
	}
	// A SelfRemove and a Remove of the same leaf: removed twice.
	rm := codec.Proposal{ProposalType: codec.ProposalRemove, Remove: &codec.Remove{Removed: bob}}
	_, err = g.cover(&alice, []entry{{p: selfRemove, sender: codec.MemberSender(bob), ref: ref}, {p: rm, sender: codec.MemberSender(alice)}}, modeReceiver, testAt, env)
	mustIs(t, err, valsem.ValSem107)
	// Rule 2 on receipt.
	if err := checkSelfRemoveFraming(selfRemove, codec.WireFormatPrivateMessage); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("private self_remove: %v", err)
	}
	if err := checkSelfRemoveFraming(rm, codec.WireFormatPrivateMessage); err != nil {
		t.Fatalf("private remove: %v", err)
	}
}

// TestSelfRemoveExternalJoinChecks: an external joiner rejects a
// SelfRemove that is tampered with, of another epoch, or not a SelfRemove.
func TestSelfRemoveExternalJoinChecks(t *testing.T) {
	w, m := selfRemoveWorld(t)
	a, b := m["alice"], m["bob"]
	leave := sent(t, w.must(b, Propose{At: testAt, Proposal: selfRemove}))
	update := sent(t, w.must(m["carol"], Propose{At: testAt, Proposal: codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{}}}))
	gi := w.groupInfo(a, true)
	tampered := bytes.Clone(leave)
	tampered[len(tampered)-40] ^= 1 // inside the signature
	stale := leave
	w.deliver(b, leave)
	w.commit(a, Commit{})
	giNext := w.groupInfo(a, true)
	tests := []struct {
		name string
		gi   []byte
		msg  []byte
		want error
	}{
		{"tampered", gi, tampered, valsem.ValSem010},
		{"other epoch", giNext, stale, ErrInvalidMessage},
		{"not a self_remove", gi, update, ErrInvalidMessage},
		{"garbage", gi, []byte{0, 1, 0, 1}, ErrInvalidMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := w.newMember("joiner-" + tt.name)
			_, err := w.apply(j, ExternalJoin{At: testAt, GroupInfo: tt.gi, SignatureKey: j.sig, Credential: w.credential(j),
				Config: w.cfg, Capabilities: w.caps, SelfRemoves: [][]byte{tt.msg}})
			mustIs(t, err, tt.want)
		})
	}
}

// TestExternalJoinEncodingSelfRemoves: the SelfRemoves field round-trips,
// is absent from the encoding when empty (older logs decode unchanged), and
// an explicitly empty list is rejected (one encoding per event).
func TestExternalJoinEncodingSelfRemoves(t *testing.T) {
	base := ExternalJoin{At: 1, GroupInfo: []byte{1}, SignatureKey: []byte{2}}
	plain, err := EncodeEvent(base)
	if err != nil {
		t.Fatal(err)
	}
	with := base
	with.SelfRemoves = [][]byte{{7, 7}, {8}}
	enc, err := EncodeEvent(with)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(enc, plain) {
		t.Fatal("SelfRemoves changed the encoding of the other fields")
	}
	ev, err := DecodeEvent(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.(ExternalJoin).SelfRemoves; len(got) != 2 || !bytes.Equal(got[0], []byte{7, 7}) {
		t.Fatalf("decoded SelfRemoves %x", got)
	}
	if _, err := DecodeEvent(append(bytes.Clone(plain), 0)); err == nil {
		t.Fatal("an explicitly empty SelfRemoves list decoded")
	}
}
