package mls_test

import (
	"fmt"
	"log"

	"github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/codec"
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
	bobGroup := exampleJoin(group, out, bob)
	fmt.Printf("bob is in the group at epoch %d with %d members\n", bobGroup.Epoch(), len(bobGroup.Members()))
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

	// Options.Policy.AcceptExternalProposal decides; the default accepts.
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
	bobGroup := exampleJoin(group, out, bob)
	fmt.Printf("bob is in the group at epoch %d with %d members\n", bobGroup.Epoch(), len(bobGroup.Members()))
	// Output:
	// alice stored: add proposal, sender type new_member_proposal
	// bob is in the group at epoch 1 with 2 members
}
