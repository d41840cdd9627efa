package mls

import (
	"slices"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
)

// TestSelfRemoveShell is the SelfRemove scenario: create, add by Welcome,
// updates (a path commit and a committed Update proposal), removals by
// SelfRemove and an external join, with messages in every epoch (agree).
// In a group that accepts PublicMessage handshakes, Leave sends a
// SelfRemove (every client advertises it by default), which another member
// commits or an external joiner covers; in a PureCiphertext group Leave
// falls back to a Remove proposal.
func TestSelfRemoveShell(t *testing.T) {
	mixed := state.DefaultConfig()
	mixed.WireFormat = state.MixedCiphertext
	mk := func(name string, cfg *state.Config) *party {
		st := NewMemoryStorage()
		o := testOptions(name)
		o.Config = cfg
		c, err := NewClient(st, []byte(name), o)
		if err != nil {
			t.Fatal(err)
		}
		return &party{name: name, store: st, c: c}
	}
	alice, bob, carol, dave, erin := mk("alice", &mixed), mk("bob", &mixed), mk("carol", &mixed), mk("dave", &mixed), mk("erin", &mixed)
	all := []*party{alice, bob, carol, dave, erin}
	alice.g = must[*Group](t)(alice.c.CreateGroup(nil))
	out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage()), must[[]byte](t)(carol.c.KeyPackage()), must[[]byte](t)(dave.c.KeyPackage())))
	check(t, alice.g.MergePendingCommit())
	tree := must[[]byte](t)(alice.g.RatchetTree())
	for _, p := range []*party{bob, carol, dave} {
		p.g = must[*Group](t)(p.c.JoinGroup(out.Welcome, tree))
	}
	for _, ln := range alice.g.State().Members() {
		if !slices.Contains(ln.Capabilities.Proposals, codec.ProposalSelfRemove) {
			t.Fatal("a leaf does not advertise SelfRemove")
		}
	}
	agree(t, all...)

	// Carol updates with a path; dave proposes an update that alice commits.
	out = must[Outgoing](t)(carol.g.SelfUpdate())
	deliver(t, carol, out.Commit, alice, bob, dave)
	check(t, carol.g.MergePendingCommit())
	upd, _, err := dave.g.ProposeSelfUpdate()
	check(t, err)
	deliver(t, dave, upd, alice, bob, carol)
	out = must[Outgoing](t)(alice.g.CommitPendingProposals())
	deliver(t, alice, out.Commit, bob, carol, dave)
	check(t, alice.g.MergePendingCommit())
	agree(t, all...)

	// Bob leaves with a SelfRemove, sent as a PublicMessage.
	msg := must[[]byte](t)(bob.g.Leave())
	if m, err := codec.DecodeMLSMessage(msg); err != nil || m.WireFormat != codec.WireFormatPublicMessage {
		t.Fatalf("Leave sent a %v (%v), want a public message", m.WireFormat, err)
	}
	got := deliver(t, bob, msg, alice, carol, dave)
	if pm := got["alice"]; pm.Kind != ProposalMessage || pm.Proposal.Proposal.ProposalType != codec.ProposalSelfRemove {
		t.Fatalf("alice got %+v", pm)
	}
	out = must[Outgoing](t)(carol.g.CommitPendingProposals())
	got = deliver(t, carol, out.Commit, alice, bob, dave)
	check(t, carol.g.MergePendingCommit())
	if !got["bob"].Commit.SelfRemoved || bob.g.Active() || len(alice.g.Members()) != 3 {
		t.Fatalf("bob active %v, %d members", bob.g.Active(), len(alice.g.Members()))
	}
	agree(t, all...)

	// Dave asks to leave; erin joins externally and covers his SelfRemove.
	leave := must[[]byte](t)(dave.g.Leave())
	deliver(t, dave, leave, alice, carol)
	gi := must[[]byte](t)(alice.g.GroupInfo(true))
	eg, eout, err := erin.c.JoinExternal(gi, &ExternalJoinOptions{SelfRemoves: [][]byte{leave}})
	check(t, err)
	erin.g = eg
	got = deliver(t, erin, eout.Commit, alice, carol, dave)
	check(t, erin.g.MergePendingCommit())
	if !got["dave"].Commit.SelfRemoved || dave.g.Active() {
		t.Fatal("dave not removed by erin's external commit")
	}
	if n := len(alice.g.Members()); n != 3 {
		t.Fatalf("%d members, want alice, carol and erin", n)
	}
	agree(t, all...)

	// Under PureCiphertext (the default), Leave sends a Remove proposal.
	x, y := mk("x", nil), mk("y", nil)
	x.g = must[*Group](t)(x.c.CreateGroup(nil))
	out = must[Outgoing](t)(x.g.AddMembers(must[[]byte](t)(y.c.KeyPackage())))
	check(t, x.g.MergePendingCommit())
	y.g = must[*Group](t)(y.c.JoinGroup(out.Welcome, must[[]byte](t)(x.g.RatchetTree())))
	got = deliver(t, y, must[[]byte](t)(y.g.Leave()), x)
	if p := got["x"].Proposal.Proposal; p.ProposalType != codec.ProposalRemove || p.Remove.Removed != y.g.OwnLeaf() {
		t.Fatalf("x got %+v, want a Remove of leaf %d", p, y.g.OwnLeaf())
	}
}
