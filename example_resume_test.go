package mls_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/suite"
)

// Alice reinitializes the group with Bob into cipher suite 3: she commits
// a ReInit, which closes the group; each member continues with a client
// of the new suite; Alice founds the successor group with Bob's new key
// package, and Bob joins it from the Welcome, checked against the old
// group's last epoch.
func ExampleGroup_ReInit() {
	alice, others := exampleGroup(deterministic, "bob")
	bob := others[0]

	out, err := alice.ReInit(&mls.ReInitOptions{GroupID: []byte("team v2"), Suite: suite.X25519ChaCha20Poly1305SHA256Ed25519})
	if err != nil {
		log.Fatal(err)
	}
	// Once the delivery service accepted the commit, every member merges it.
	exampleMerge(alice, out.Commit, bob)
	ri, _ := bob.PendingReInit()
	fmt.Printf("old group active: %v; reinit to %q, suite %d\n", bob.Active(), ri.GroupID, ri.CipherSuite)

	// One client per suite: each member makes a client of the new suite.
	nextClient := func(name string) *mls.Client {
		o := deterministic(name + " v2")
		o.Suite = suite.X25519ChaCha20Poly1305SHA256Ed25519
		c, err := mls.NewClient(mls.NewMemoryStorage(), []byte(name), o)
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	alice2, bob2 := nextClient("alice"), nextClient("bob")
	kp, err := bob2.KeyPackage()
	if err != nil {
		log.Fatal(err)
	}
	next, out, err := alice.Reinitialize(alice2, kp)
	if err != nil {
		log.Fatal(err)
	}
	// Send out.Welcome and the ratchet tree to Bob.
	tree, err := next.RatchetTree()
	if err != nil {
		log.Fatal(err)
	}
	bobNext, err := bob.JoinResumed(bob2, out.Welcome, tree)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("new group %q at epoch %d with %d members; same epoch authenticator: %v\n",
		bobNext.ID(), bobNext.Epoch(), len(bobNext.Members()), bytes.Equal(next.EpochAuthenticator(), bobNext.EpochAuthenticator()))
	// Output:
	// old group active: false; reinit to "team v2", suite 3
	// new group "team v2" at epoch 1 with 2 members; same epoch authenticator: true
}

// Alice branches a subgroup with Bob off a group of three; Bob joins it
// on his copy of the group, which checks that the subgroup's members were
// members of the group.
func ExampleGroup_Branch() {
	alice, others, clients := exampleGroupClients(deterministic, "bob", "carol")
	bob := others[0]

	kp, err := clients[0].KeyPackage() // Bob's new key package
	if err != nil {
		log.Fatal(err)
	}
	sub, out, err := alice.Branch(&mls.BranchOptions{GroupID: []byte("side chat")}, kp)
	if err != nil {
		log.Fatal(err)
	}
	tree, err := sub.RatchetTree()
	if err != nil {
		log.Fatal(err)
	}
	bobSub, err := bob.JoinResumed(nil, out.Welcome, tree)
	if err != nil {
		log.Fatal(err)
	}
	msg, err := sub.Send([]byte("just us"))
	if err != nil {
		log.Fatal(err)
	}
	pm, err := bobSub.ProcessMessage(msg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q: %d members, epoch %d; bob reads %q; the group still has %d\n",
		bobSub.ID(), len(bobSub.Members()), bobSub.Epoch(), pm.Data, len(alice.Members()))
	// Output:
	// "side chat": 2 members, epoch 1; bob reads "just us"; the group still has 3
}

// Bob proposes injecting the resumption PSK of the current epoch into the
// next one; Alice commits it, and both reach the same epoch.
func ExampleGroup_ProposeResumptionPSK() {
	alice, others := exampleGroup(deterministic, "bob")
	bob := others[0]
	proposal, _, err := bob.ProposeResumptionPSK(bob.Epoch())
	if err != nil {
		log.Fatal(err)
	}
	if _, err := alice.ProcessMessage(proposal); err != nil {
		log.Fatal(err)
	}
	out, err := alice.CommitPendingProposals()
	if err != nil {
		log.Fatal(err)
	}
	// Once the delivery service accepted the commit, every member merges it.
	exampleMerge(alice, out.Commit, bob)
	fmt.Printf("epoch %d, same authenticator: %v\n", bob.Epoch(), bytes.Equal(bob.EpochAuthenticator(), alice.EpochAuthenticator()))
	// Output:
	// epoch 2, same authenticator: true
}

// exampleMerge merges committer's pending commit and has the other members
// process and merge commit.
func exampleMerge(committer *mls.Group, commit []byte, others ...*mls.Group) {
	if err := committer.MergePendingCommit(); err != nil {
		log.Fatal(err)
	}
	for _, g := range others {
		if _, err := g.ProcessMessage(commit); err != nil {
			log.Fatal(err)
		}
		if err := g.MergeStagedCommit(); err != nil {
			log.Fatal(err)
		}
	}
}

// exampleClient creates a client named name with deterministic options,
// in memory.
func exampleClient(name string) *mls.Client {
	c, err := mls.NewClient(mls.NewMemoryStorage(), []byte(name), deterministic(name))
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// exampleJoin has joiner join from the Welcome of the commit out that
// committer merged, with committer's ratchet tree.
func exampleJoin(committer *mls.Group, out mls.Outgoing, joiner *mls.Client) *mls.Group {
	tree, err := committer.RatchetTree()
	if err != nil {
		log.Fatal(err)
	}
	g, err := joiner.JoinGroup(out.Welcome, tree)
	if err != nil {
		log.Fatal(err)
	}
	return g
}
