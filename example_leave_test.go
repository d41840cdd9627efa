package mls_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"

	"github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
)

// exampleGroup has alice create a group with cfg and add the named
// clients (created with opts(name)); it returns alice's group and the
// others' groups in order.
func exampleGroup(opts func(name string) *mls.Options, names ...string) (*mls.Group, []*mls.Group) {
	g, groups, _ := exampleGroupClients(opts, names...)
	return g, groups
}

// exampleGroupClients is exampleGroup that also returns the others'
// clients in order.
func exampleGroupClients(opts func(name string) *mls.Options, names ...string) (*mls.Group, []*mls.Group, []*mls.Client) {
	alice, err := mls.NewClient(mls.NewMemoryStorage(), []byte("alice"), opts("alice"))
	if err != nil {
		log.Fatal(err)
	}
	g, err := alice.CreateGroup(nil)
	if err != nil {
		log.Fatal(err)
	}
	var clients []*mls.Client
	var kps [][]byte
	for _, n := range names {
		c, err := mls.NewClient(mls.NewMemoryStorage(), []byte(n), opts(n))
		if err != nil {
			log.Fatal(err)
		}
		kp, err := c.KeyPackage()
		if err != nil {
			log.Fatal(err)
		}
		clients, kps = append(clients, c), append(kps, kp)
	}
	out, err := g.AddMembers(kps...)
	if err != nil {
		log.Fatal(err)
	}
	if err := g.MergePendingCommit(); err != nil {
		log.Fatal(err)
	}
	tree, err := g.RatchetTree()
	if err != nil {
		log.Fatal(err)
	}
	var groups []*mls.Group
	for _, c := range clients {
		gc, err := c.JoinGroup(out.Welcome, tree)
		if err != nil {
			log.Fatal(err)
		}
		groups = append(groups, gc)
	}
	return g, groups, clients
}

// Bob leaves with a SelfRemove proposal (the group accepts PublicMessage
// handshakes and every client supports SelfRemove); Alice commits it and
// Carol reads from the staged commit who left.
func ExampleGroup_Leave() {
	mixed := state.DefaultConfig()
	mixed.WireFormat = state.MixedCiphertext
	opts := func(name string) *mls.Options {
		o := deterministic(name)
		o.Config = &mixed
		return o
	}
	alice, others := exampleGroup(opts, "bob", "carol")
	bob, carol := others[0], others[1]

	leave, err := bob.Leave()
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range []*mls.Group{alice, carol} {
		pm, err := g.ProcessMessage(leave)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("proposal:", pm.Proposal.Proposal.ProposalType)
	}
	out, err := alice.CommitPendingProposals()
	if err != nil {
		log.Fatal(err)
	}
	if err := alice.MergePendingCommit(); err != nil {
		log.Fatal(err)
	}
	for _, g := range []*mls.Group{carol, bob} {
		pm, err := g.ProcessMessage(out.Commit)
		if err != nil {
			log.Fatal(err)
		}
		for _, r := range pm.Commit.Removals() {
			fmt.Printf("leaf %d: %s\n", r.Leaf, r.Kind)
		}
		if err := g.MergeStagedCommit(); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("bob active:", bob.Active(), "members:", len(alice.Members()))
	// Output:
	// proposal: self_remove
	// proposal: self_remove
	// leaf 1: they left
	// leaf 1: we left
	// bob active: false members: 2
}

// An application routes incoming messages by group id and epoch before it
// knows the group; an own message echoed back by the delivery service is
// reported as such.
func ExampleReadMessageInfo() {
	alice, others := exampleGroup(deterministic, "bob")
	msg, err := alice.Send([]byte("hello"))
	if err != nil {
		log.Fatal(err)
	}
	info, err := mls.ReadMessageInfo(msg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s for alice's group %v, epoch %d, %s\n", info.WireFormat, bytes.Equal(info.GroupID, alice.ID()), info.Epoch, info.ContentType)
	if _, err := others[0].ProcessMessage(msg); err != nil {
		log.Fatal(err)
	}
	_, err = alice.ProcessMessage(msg)
	fmt.Println(errors.Is(err, mls.ErrOwnMessage))
	// Output:
	// mls_private_message for alice's group true, epoch 1, application
	// true
}

// A client in the post-quantum suite 0x004D (X-Wing key encapsulation)
// is used like any other.
func ExampleOptions_xWing() {
	opts := func(name string) *mls.Options {
		o := deterministic(name)
		o.Suite = suite.XWingChaCha20Poly1305SHA256Ed25519
		return o
	}
	alice, others := exampleGroup(opts, "bob")
	msg, err := others[0].Send([]byte("quantum-safe hello"))
	if err != nil {
		log.Fatal(err)
	}
	pm, err := alice.ProcessMessage(msg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %s\n", alice.State().Suite().ID(), pm.Data)
	// Output:
	// MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519: quantum-safe hello
}
