package mls

import (
	"testing"

	"github.com/mlscore/mlscore/codec"
)

// TestRemovals interprets removals from each member's point of view: a
// removal by another member (we were removed / they were removed) and a
// Remove proposal of one's own leaf (we left / they left).
func TestRemovals(t *testing.T) {
	b := backends[0]
	alice, bob, carol, dave := newParty(t, b, "alice"), newParty(t, b, "bob"), newParty(t, b, "carol"), newParty(t, b, "dave")
	alice.g = must[*Group](t)(alice.c.CreateGroup(nil))
	out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage()), must[[]byte](t)(carol.c.KeyPackage()), must[[]byte](t)(dave.c.KeyPackage())))
	check(t, alice.g.MergePendingCommit())
	tree := must[[]byte](t)(alice.g.RatchetTree())
	for _, p := range []*party{bob, carol, dave} {
		p.g = must[*Group](t)(p.c.JoinGroup(out.Welcome, tree))
	}
	// Dave leaves (a Remove of his own leaf under the default
	// PureCiphertext policy); alice removes carol in the same commit.
	msg := must[[]byte](t)(dave.g.Leave())
	deliver(t, dave, msg, alice, bob, carol)
	carolLeaf, daveLeaf := carol.g.OwnLeaf(), dave.g.OwnLeaf()
	out = must[Outgoing](t)(alice.g.RemoveMembers(carolLeaf))
	got := deliver(t, alice, out.Commit, bob, carol, dave)
	aliceSender := codec.MemberSender(alice.g.OwnLeaf())
	want := map[string][]Removal{
		"bob":   {{TheyLeft, daveLeaf, codec.MemberSender(daveLeaf)}, {TheyWereRemoved, carolLeaf, aliceSender}},
		"carol": {{TheyLeft, daveLeaf, codec.MemberSender(daveLeaf)}, {WeWereRemoved, carolLeaf, aliceSender}},
		"dave":  {{WeLeft, daveLeaf, codec.MemberSender(daveLeaf)}, {TheyWereRemoved, carolLeaf, aliceSender}},
	}
	for name, w := range want {
		rs := got[name].Commit.Removals()
		if len(rs) != len(w) {
			t.Fatalf("%s: %d removals %+v, want %+v", name, len(rs), rs, w)
		}
		for _, r := range w {
			found := false
			for _, g := range rs {
				found = found || g == r
			}
			if !found {
				t.Errorf("%s: %+v missing from %+v", name, r, rs)
			}
		}
	}
	if WeLeft.String() != "we left" || RemovalKind(0).String() != "unknown removal" {
		t.Error("RemovalKind names")
	}
}
