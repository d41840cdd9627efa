package mls

import (
	"bytes"
	"errors"
	"testing"
)

// TestNoSilentOverwrite reproduces the attack of a Welcome for a group id
// the victim already holds: bob closes room-1, mallory creates her own
// room-1 and adds bob with one of his published key packages. Bob's join
// must fail with ErrGroupExists, and his stored room-1 must be intact.
func TestNoSilentOverwrite(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			alice, bob, mallory := newParty(t, b, "alice"), newParty(t, b, "bob"), newParty(t, b, "mallory")
			room := []byte("room-1")
			alice.g = must[*Group](t)(alice.c.CreateGroup(&GroupOptions{GroupID: room}))
			out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
			check(t, alice.g.MergePendingCommit())
			bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))
			agree(t, alice, bob)
			epoch, auth := bob.g.Epoch(), bob.g.EpochAuthenticator()
			check(t, bob.g.Close())

			// Mallory's room-1, with bob's second key package.
			mallory.g = must[*Group](t)(mallory.c.CreateGroup(&GroupOptions{GroupID: room}))
			gi := must[[]byte](t)(mallory.g.GroupInfo(true))
			out = must[Outgoing](t)(mallory.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
			check(t, mallory.g.MergePendingCommit())
			tree := must[[]byte](t)(mallory.g.RatchetTree())
			if _, err := bob.c.JoinGroup(out.Welcome, tree); !errors.Is(err, ErrGroupExists) {
				t.Fatalf("JoinGroup over a stored group: %v, want ErrGroupExists", err)
			}
			if _, err := bob.c.StageWelcome(out.Welcome, tree, nil); !errors.Is(err, ErrGroupExists) {
				t.Fatalf("StageWelcome over a stored group: %v, want ErrGroupExists", err)
			}
			if _, err := bob.c.CreateGroup(&GroupOptions{GroupID: room}); !errors.Is(err, ErrGroupExists) {
				t.Fatalf("CreateGroup over a stored group: %v, want ErrGroupExists", err)
			}
			if _, _, err := bob.c.JoinExternal(gi, nil); !errors.Is(err, ErrGroupExists) {
				t.Fatalf("JoinExternal over a stored group: %v, want ErrGroupExists", err)
			}

			bob.g = must[*Group](t)(bob.c.OpenGroup(room))
			var names []string
			for _, m := range bob.g.Members() {
				names = append(names, string(m.Identity))
			}
			if len(names) != 2 || names[0] != "alice" || names[1] != "bob" || bob.g.Epoch() != epoch ||
				!bytes.Equal(bob.g.EpochAuthenticator(), auth) {
				t.Fatalf("bob's room-1 after the attack: members %q, epoch %d", names, bob.g.Epoch())
			}
			agree(t, alice, bob)
			// Creating the group while it is open fails the same way.
			if _, err := bob.c.CreateGroup(&GroupOptions{GroupID: room}); !errors.Is(err, ErrGroupExists) || !errors.Is(err, ErrGroupOpen) {
				t.Fatalf("CreateGroup over an open group: %v", err)
			}

			// Deleting the group explicitly frees the id; the Welcome
			// whose staging failed did not consume the key package.
			check(t, bob.g.Delete())
			bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, tree))
			names = nil
			for _, m := range bob.g.Members() {
				names = append(names, string(m.Identity))
			}
			if len(names) != 2 || names[0] != "mallory" {
				t.Fatalf("after Delete, the join gives members %q", names)
			}
		})
	}
}
