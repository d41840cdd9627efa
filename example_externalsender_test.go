package mls_test

import (
	"fmt"
	"log"

	"github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
)

// A delivery service, listed in the group's external_senders extension,
// proposes adding Bob from the group's GroupInfo; Alice stores the
// proposal and commits it, and Bob joins from the Welcome.
func ExampleClient_ProposeExternal() {
	ds := exampleClient("delivery service")
	alice := exampleClient("alice")
	bob := exampleClient("bob")
	senders, err := mls.ExternalSendersExtension(ds.ExternalSender())
	if err != nil {
		log.Fatal(err)
	}
	group, err := alice.CreateGroup(&mls.GroupOptions{Extensions: codec.Extensions{senders}})
	if err != nil {
		log.Fatal(err)
	}

	// The delivery service holds the group's GroupInfo and Bob's key
	// package.
	gi, err := group.GroupInfo(false)
	if err != nil {
		log.Fatal(err)
	}
	kp, err := bob.KeyPackage()
	if err != nil {
		log.Fatal(err)
	}
	proposal, err := ds.ProposeExternalAdd(gi, kp)
	if err != nil {
		log.Fatal(err)
	}

	exampleAdmit(group, proposal, bob)
	// Output:
	// alice stored: add proposal, sender type external
	// bob is in the group at epoch 1 with 2 members
}

// Bob asks to join from a GroupInfo with a new member proposal (OpenMLS's
// JoinProposal); Alice commits it and Bob joins from the Welcome.
func ExampleClient_ProposeJoin() {
	alice := exampleClient("alice")
	bob := exampleClient("bob")
	group, err := alice.CreateGroup(nil)
	if err != nil {
		log.Fatal(err)
	}
	gi, err := group.GroupInfo(true)
	if err != nil {
		log.Fatal(err)
	}
	proposal, err := bob.ProposeJoin(gi)
	if err != nil {
		log.Fatal(err)
	}

	// Alice's Options.Policy.AcceptExternalProposal decides; the default
	// accepts.
	exampleAdmit(group, proposal, bob)
	// Output:
	// alice stored: add proposal, sender type new_member_proposal
	// bob is in the group at epoch 1 with 2 members
}

// A delivery service that follows the group with a PublicGroup proposes
// from it: it removes Bob, relays the proposal (and processes it itself),
// and follows Alice's commit.
func ExamplePublicGroup_ProposeExternal() {
	// Handshakes are PublicMessages, which the delivery service can read.
	cfg := state.DefaultConfig()
	cfg.WireFormat = state.MixedPlaintext
	opts := func(name string) *mls.Options {
		o := deterministic(name)
		o.Config = &cfg
		return o
	}
	ds := exampleClient("delivery service")
	senders, err := mls.ExternalSendersExtension(ds.ExternalSender())
	if err != nil {
		log.Fatal(err)
	}
	alice, err := mls.NewClient(mls.NewMemoryStorage(), []byte("alice"), opts("alice"))
	if err != nil {
		log.Fatal(err)
	}
	group, err := alice.CreateGroup(&mls.GroupOptions{Extensions: codec.Extensions{senders}})
	if err != nil {
		log.Fatal(err)
	}
	bob, err := mls.NewClient(mls.NewMemoryStorage(), []byte("bob"), opts("bob"))
	if err != nil {
		log.Fatal(err)
	}
	kp, err := bob.KeyPackage()
	if err != nil {
		log.Fatal(err)
	}
	out, err := group.AddMembers(kp)
	if err != nil {
		log.Fatal(err)
	}
	exampleMerge(group, out.Commit)
	bobGroup := exampleJoin(group, out, bob)

	gi, err := group.GroupInfo(true)
	if err != nil {
		log.Fatal(err)
	}
	pg, err := mls.NewPublicGroup(gi, nil, &mls.PublicGroupOptions{Config: &cfg, Clock: deterministic("ds").Clock})
	if err != nil {
		log.Fatal(err)
	}
	proposal, err := pg.ProposeExternalRemove(ds, bobGroup.OwnLeaf())
	if err != nil {
		log.Fatal(err)
	}
	// The delivery service relays the proposal to the members and
	// processes it itself.
	if _, err := pg.ProcessMessage(proposal); err != nil {
		log.Fatal(err)
	}
	for _, g := range []*mls.Group{group, bobGroup} {
		if _, err := g.ProcessMessage(proposal); err != nil {
			log.Fatal(err)
		}
	}
	out, err = group.CommitPendingProposals()
	if err != nil {
		log.Fatal(err)
	}
	if _, err := pg.ProcessMessage(out.Commit); err != nil {
		log.Fatal(err)
	}
	exampleMerge(group, out.Commit, bobGroup)
	fmt.Printf("members: %d seen by the delivery service, %d by alice; bob active: %v\n", len(pg.Members()), len(group.Members()), bobGroup.Active())
	// Output:
	// members: 1 seen by the delivery service, 1 by alice; bob active: false
}

// exampleAdmit has the member of group store an outsider's Add proposal,
// commit it, and the joiner join from the Welcome.
func exampleAdmit(group *mls.Group, proposal []byte, joiner *mls.Client) {
	pm, err := group.ProcessMessage(proposal)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("alice stored: %v proposal, sender type %v\n", pm.Proposal.Proposal.ProposalType, pm.Sender.SenderType)
	out, err := group.CommitPendingProposals()
	if err != nil {
		log.Fatal(err)
	}
	exampleMerge(group, out.Commit)
	g := exampleJoin(group, out, joiner)
	fmt.Printf("%s is in the group at epoch %d with %d members\n", joiner.Identity(), g.Epoch(), len(g.Members()))
}
