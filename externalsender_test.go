package mls

import (
	"errors"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/valsem"
)

// TestExternalSenderShell has a delivery service, listed in the group's
// external_senders extension, propose an Add and a Remove from the
// group's GroupInfo; a new member asks to join with ProposeJoin; members
// store and commit the proposals. Each refusal has its typed error.
func TestExternalSenderShell(t *testing.T) {
	ds := newParty(t, backends[0], "ds")
	ext := must[codec.Extension](t)(ExternalSendersExtension(ds.c.ExternalSender()))
	ps := formGroup(t, backends[0], &GroupOptions{Extensions: codec.Extensions{ext}}, "alice", "bob")
	alice, bob := ps[0], ps[1]
	carol, dave := newParty(t, backends[0], "carol"), newParty(t, backends[0], "dave")
	all := []*party{alice, bob, carol, dave}

	// The DS adds Carol.
	gi := must[[]byte](t)(alice.g.GroupInfo(false))
	msg := must[[]byte](t)(ds.c.ProposeExternalAdd(gi, must[[]byte](t)(carol.c.KeyPackage())))
	got := deliver(t, ds, msg, alice, bob)
	if pm := got["bob"]; pm.Kind != ProposalMessage || pm.Sender.SenderType != codec.SenderTypeExternal || pm.Proposal.Proposal.ProposalType != codec.ProposalAdd {
		t.Fatalf("bob got %+v", pm)
	}
	out := must[Outgoing](t)(bob.g.CommitPendingProposals())
	deliver(t, bob, out.Commit, alice)
	check(t, bob.g.MergePendingCommit())
	carol.g = must[*Group](t)(carol.c.JoinGroup(out.Welcome, must[[]byte](t)(bob.g.RatchetTree())))
	agree(t, all...)

	// Dave asks to join with a new member proposal.
	gi = must[[]byte](t)(carol.g.GroupInfo(true))
	msg = must[[]byte](t)(dave.c.ProposeJoin(gi))
	got = deliver(t, dave, msg, alice, bob, carol)
	if pm := got["alice"]; pm.Kind != ProposalMessage || pm.Sender.SenderType != codec.SenderTypeNewMemberProposal {
		t.Fatalf("alice got %+v", pm)
	}
	out = must[Outgoing](t)(alice.g.CommitPendingProposals())
	deliver(t, alice, out.Commit, bob, carol)
	check(t, alice.g.MergePendingCommit())
	dave.g = must[*Group](t)(dave.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))
	agree(t, all...)

	// The DS removes Bob.
	gi = must[[]byte](t)(alice.g.GroupInfo(false))
	msg = must[[]byte](t)(ds.c.ProposeExternalRemove(gi, bob.g.OwnLeaf()))
	deliver(t, ds, msg, alice, bob, carol, dave)
	out = must[Outgoing](t)(dave.g.CommitPendingProposals())
	got = deliver(t, dave, out.Commit, alice, bob, carol)
	check(t, dave.g.MergePendingCommit())
	if rs := got["bob"].Commit.Removals(); len(rs) != 1 || rs[0].Kind != WeWereRemoved || rs[0].By.SenderType != codec.SenderTypeExternal || bob.g.Active() {
		t.Fatalf("bob's removals %+v, active %v", rs, bob.g.Active())
	}
	agree(t, all...)

	// Refusals.
	gi = must[[]byte](t)(alice.g.GroupInfo(false))
	plain := formGroup(t, backends[0], nil, "erin")
	giPlain := must[[]byte](t)(plain[0].g.GroupInfo(false))
	other := newParty(t, backends[0], "other")
	o3 := testOptions("suite3")
	o3.Suite = suite.X25519ChaCha20Poly1305SHA256Ed25519
	c3 := must[*Client](t)(NewClient(NewMemoryStorage(), []byte("c3"), o3))
	update := codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{LeafNode: codec.LeafNode{LeafNodeSource: codec.LeafNodeSourceUpdate}}}
	for _, tc := range []struct {
		name string
		run  func() ([]byte, error)
		want error
	}{
		{"not listed", func() ([]byte, error) { return other.c.ProposeExternalRemove(gi, 0) }, ErrNotExternalSender},
		{"no external_senders", func() ([]byte, error) { return ds.c.ProposeExternalRemove(giPlain, 0) }, ErrNotExternalSender},
		{"not a group info", func() ([]byte, error) { return ds.c.ProposeExternalRemove(msg, 0) }, ErrNotGroupInfo},
		{"garbage", func() ([]byte, error) { return ds.c.ProposeExternalRemove([]byte{1, 2, 3}, 0) }, ErrNotGroupInfo},
		{"update", func() ([]byte, error) { return ds.c.ProposeExternal(gi, update) }, valsem.ValSem112},
		{"not a key package", func() ([]byte, error) { return ds.c.ProposeExternalAdd(gi, gi) }, ErrNotKeyPackage},
		{"join, other suite", func() ([]byte, error) { return c3.ProposeJoin(gi) }, ErrSuiteMismatch},
		{"join, not a group info", func() ([]byte, error) { return other.c.ProposeJoin(msg) }, ErrNotGroupInfo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.run(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}

	// A member's policy may refuse external proposals: a *PolicyError.
	strict := testOptions("frank")
	strict.Policy.AcceptExternalProposal = func(codec.Sender, codec.Proposal) error { return errors.New("no outsiders") }
	frank := &party{name: "frank", store: NewMemoryStorage()}
	frank.c = must[*Client](t)(NewClient(frank.store, []byte("frank"), strict))
	out = must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(frank.c.KeyPackage())))
	deliver(t, alice, out.Commit, carol, dave)
	check(t, alice.g.MergePendingCommit())
	frank.g = must[*Group](t)(frank.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))
	gi = must[[]byte](t)(alice.g.GroupInfo(false))
	msg = must[[]byte](t)(ds.c.ProposeExternalRemove(gi, carol.g.OwnLeaf()))
	var pe *transitions.PolicyError
	if _, err := frank.g.ProcessMessage(msg); !errors.As(err, &pe) {
		t.Fatalf("a refused external proposal: %v, want a *PolicyError", err)
	}
}

// TestExternalProposalWireFormat checks that external proposals, always
// PublicMessages, are processed under every wire format policy.
func TestExternalProposalWireFormat(t *testing.T) {
	for _, wf := range []state.WireFormatPolicy{state.PureCiphertext, state.MixedCiphertext, state.PurePlaintext} {
		cfg := state.DefaultConfig()
		cfg.WireFormat = wf
		ds := newParty(t, backends[0], "ds")
		ext := must[codec.Extension](t)(ExternalSendersExtension(ds.c.ExternalSender()))
		ps := formGroup(t, backends[0], &GroupOptions{Extensions: codec.Extensions{ext}, Config: &cfg}, "alice")
		gi := must[[]byte](t)(ps[0].g.GroupInfo(false))
		bob := newParty(t, backends[0], "bob")
		msg := must[[]byte](t)(ds.c.ProposeExternalAdd(gi, must[[]byte](t)(bob.c.KeyPackage())))
		if _, err := ps[0].g.ProcessMessage(msg); err != nil {
			t.Fatalf("wire format %v: %v", wf, err)
		}
	}
}

// TestExternalSenderPublicGroup has a delivery service follow the group
// with a PublicGroup and propose from it: a Remove, then (after the
// commit, with no GroupInfo of the new epoch) an Add.
func TestExternalSenderPublicGroup(t *testing.T) {
	cfg := state.DefaultConfig()
	cfg.WireFormat = state.MixedPlaintext
	dsc := newParty(t, backends[0], "ds")
	ext := must[codec.Extension](t)(ExternalSendersExtension(dsc.c.ExternalSender()))
	ps := formGroupWith(t, backends[0], &cfg, &GroupOptions{Extensions: codec.Extensions{ext}}, "alice", "bob", "carol")
	alice, bob, carol := ps[0], ps[1], ps[2]
	do := testOptions("dave")
	do.Config = &cfg
	dave := &party{name: "dave", c: must[*Client](t)(NewClient(NewMemoryStorage(), []byte("dave"), do))}
	pg := must[*PublicGroup](t)(NewPublicGroup(must[[]byte](t)(alice.g.GroupInfo(true)), nil,
		&PublicGroupOptions{Config: &cfg, Clock: fixedClock}))

	var leaf LeafIndex
	for _, m := range pg.Members() {
		if string(m.Identity) == "bob" {
			leaf = m.Index
		}
	}
	msg := must[[]byte](t)(pg.ProposeExternalRemove(dsc.c, leaf))
	if pm := must[*PublicProcessed](t)(pg.ProcessMessage(msg)); pm.Kind != ProposalMessage || pm.Sender.SenderType != codec.SenderTypeExternal {
		t.Fatalf("the public group got %+v", pm)
	}
	deliver(t, dsc, msg, alice, bob, carol)
	out := must[Outgoing](t)(carol.g.CommitPendingProposals())
	must[*PublicProcessed](t)(pg.ProcessMessage(out.Commit))
	deliver(t, carol, out.Commit, alice, bob)
	check(t, carol.g.MergePendingCommit())
	if bob.g.Active() || len(pg.Members()) != 2 {
		t.Fatalf("bob active %v, the public group has %d members", bob.g.Active(), len(pg.Members()))
	}

	// A commit starts an epoch without a GroupInfo: the proposal comes
	// from the public state.
	if _, ok := pg.GroupInfo(); ok {
		t.Fatal("the public group has a GroupInfo after a commit")
	}
	kp := must[[]byte](t)(dave.c.KeyPackage())
	if _, err := pg.ProposeExternalAdd(dsc.c, msg); !errors.Is(err, ErrNotKeyPackage) {
		t.Fatalf("an Add of a non-key-package: %v", err)
	}
	if _, err := pg.ProposeExternalRemove(dave.c, 0); !errors.Is(err, ErrNotExternalSender) {
		t.Fatalf("a proposal by a client not listed: %v", err)
	}
	msg = must[[]byte](t)(pg.ProposeExternalAdd(dsc.c, kp))
	must[*PublicProcessed](t)(pg.ProcessMessage(msg))
	deliver(t, dsc, msg, alice, carol)
	out = must[Outgoing](t)(alice.g.CommitPendingProposals())
	must[*PublicProcessed](t)(pg.ProcessMessage(out.Commit))
	deliver(t, alice, out.Commit, carol)
	check(t, alice.g.MergePendingCommit())
	dave.g = must[*Group](t)(dave.c.JoinGroup(out.Welcome, must[[]byte](t)(pg.RatchetTree())))
	if len(pg.Members()) != 3 || pg.PublicDigest() != dave.g.State().PublicDigest() {
		t.Fatalf("the public group has %d members; digests equal: %v", len(pg.Members()), pg.PublicDigest() == dave.g.State().PublicDigest())
	}
	agree(t, alice, carol, dave)
}
