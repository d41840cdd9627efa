package mls

import (
	"bytes"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
)

// TestXWingScenario runs a group in the post-quantum suite 0x004D
// (MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519) through the shell:
// create, add two members by Welcome, messages, a self-update, an update
// committed by another member, a removal, an external join, a restart, and
// messages in every epoch. Every HPKE key on the wire is an X-Wing key.
func TestXWingScenario(t *testing.T) {
	const cs = suite.XWingChaCha20Poly1305SHA256Ed25519
	b := backends[1] // the directory backend: the restart reads real files
	mk := func(name string) *party {
		st := b.new(t, name)
		o := testOptions(name)
		o.Suite = cs
		c, err := NewClient(st, []byte(name), o)
		if err != nil {
			t.Fatal(err)
		}
		return &party{name: name, store: st, c: c}
	}
	alice, bob, carol, dave := mk("alice"), mk("bob"), mk("carol"), mk("dave")
	all := []*party{alice, bob, carol, dave}

	alice.g = must[*Group](t)(alice.c.CreateGroup(&GroupOptions{GroupID: []byte("pq-group")}))
	if got := alice.g.State().Suite().ID(); got != cs {
		t.Fatalf("group cipher suite %v, want %v", got, cs)
	}

	// Key packages carry X-Wing init and encryption keys (1216 bytes).
	kpBob, kpCarol := must[[]byte](t)(bob.c.KeyPackage()), must[[]byte](t)(carol.c.KeyPackage())
	kp, err := decodeKeyPackage(kpBob, transitions.Limits{})
	check(t, err)
	if kp.CipherSuite != codec.CipherSuite(cs) || len(kp.InitKey) != 1216 || len(kp.LeafNode.EncryptionKey) != 1216 {
		t.Fatalf("key package: suite %#04x, init key %d bytes, encryption key %d bytes", kp.CipherSuite, len(kp.InitKey), len(kp.LeafNode.EncryptionKey))
	}

	out := must[Outgoing](t)(alice.g.AddMembers(kpBob, kpCarol))
	check(t, alice.g.MergePendingCommit())
	tree := must[[]byte](t)(alice.g.RatchetTree())
	bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, tree))
	carol.g = must[*Group](t)(carol.c.JoinGroup(out.Welcome, tree))
	agree(t, all...)

	// Bob updates his keys with a path: each path node's secret is sealed
	// with X-Wing (a 1120-byte KEM output).
	out = must[Outgoing](t)(bob.g.SelfUpdate())
	if len(out.Commit) < 1120 {
		t.Fatalf("a path commit of %d bytes cannot hold an X-Wing KEM output", len(out.Commit))
	}
	deliver(t, bob, out.Commit, alice, carol)
	check(t, bob.g.MergePendingCommit())
	agree(t, all...)

	// Carol proposes an update; alice commits it.
	msg, _, err := carol.g.ProposeSelfUpdate()
	check(t, err)
	deliver(t, carol, msg, alice, bob)
	out = must[Outgoing](t)(alice.g.CommitPendingProposals())
	deliver(t, alice, out.Commit, bob, carol)
	check(t, alice.g.MergePendingCommit())
	agree(t, all...)

	// Dave joins externally: the external init secret is exported through
	// an X-Wing HPKE context.
	gi := must[[]byte](t)(bob.g.GroupInfo(true))
	dg, dout, err := dave.c.JoinExternal(gi, nil)
	check(t, err)
	dave.g = dg
	deliver(t, dave, dout.Commit, alice, bob, carol)
	check(t, dave.g.MergePendingCommit())
	agree(t, all...)

	// Alice removes carol.
	out = must[Outgoing](t)(alice.g.RemoveMembers(carol.g.OwnLeaf()))
	deliver(t, alice, out.Commit, bob, carol, dave)
	check(t, alice.g.MergePendingCommit())
	if carol.g.Active() || len(alice.g.Members()) != 3 {
		t.Fatalf("carol active %v, %d members", carol.g.Active(), len(alice.g.Members()))
	}
	agree(t, all...)

	// Dave restarts from his storage and keeps up.
	id, auth := dave.g.ID(), dave.g.EpochAuthenticator()
	check(t, dave.c.Close())
	dave.c = must[*Client](t)(OpenClient(dave.store, testOptions("dave-reopened")))
	if dave.c.Suite() != cs {
		t.Fatalf("reopened client in suite %d", dave.c.Suite())
	}
	dave.g = must[*Group](t)(dave.c.OpenGroup(id))
	if !bytes.Equal(dave.g.EpochAuthenticator(), auth) {
		t.Fatal("dave reopened in another epoch")
	}
	out = must[Outgoing](t)(dave.g.SelfUpdate())
	deliver(t, dave, out.Commit, alice, bob)
	check(t, dave.g.MergePendingCommit())
	agree(t, all...)

	// A classical key package cannot join an X-Wing group.
	classic := must[*Client](t)(NewClient(NewMemoryStorage(), []byte("eve"), testOptions("eve")))
	if _, err := alice.g.AddMembers(must[[]byte](t)(classic.KeyPackage())); err == nil {
		t.Fatal("a suite-1 key package was added to an X-Wing group")
	}
	for _, p := range all {
		check(t, p.c.Close())
	}
}
