package storagetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	mls "github.com/mlscore/mlscore"
)

// RunOverwrite runs the attack of a Welcome for a group id the victim
// already stores, with the victim's client on the backend: bob closes
// room-1; mallory creates her own room-1 and adds bob with one of his
// published key packages. Bob's JoinGroup, StageWelcome, CreateGroup and
// JoinExternal of that id must fail with mls.ErrGroupExists, and his
// stored room-1 must be intact — opened again, and (for a non-volatile
// backend) after reopening the store. Deleting the group (Group.Delete)
// then frees the id, and the Welcome, which did not consume the key
// package, joins mallory's group.
func RunOverwrite(t *testing.T, b Backend) {
	dir := t.TempDir()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	opts := &mls.Options{Clock: func() time.Time { return now }}
	store := open(t, b, dir)
	bob, err := mls.NewClient(store, []byte("bob"), opts)
	must(t, err)
	alice, err := mls.NewClient(mls.NewMemoryStorage(), []byte("alice"), opts)
	must(t, err)
	mallory, err := mls.NewClient(mls.NewMemoryStorage(), []byte("mallory"), opts)
	must(t, err)
	room := []byte("room-1")

	kp, err := bob.KeyPackage()
	must(t, err)
	ag, bg := addAndJoin(t, alice, bob, kp, &mls.GroupOptions{GroupID: room})
	epoch, auth := bg.Epoch(), bg.EpochAuthenticator()
	must(t, bg.Close())

	// Mallory's room-1, with bob's second key package.
	mg, err := mallory.CreateGroup(&mls.GroupOptions{GroupID: room})
	must(t, err)
	gi, err := mg.GroupInfo(true)
	must(t, err)
	kp, err = bob.KeyPackage()
	must(t, err)
	out, err := mg.AddMembers(kp)
	must(t, err)
	must(t, mg.MergePendingCommit())
	tree, err := mg.RatchetTree()
	must(t, err)
	if _, err := bob.JoinGroup(out.Welcome, tree); !errors.Is(err, mls.ErrGroupExists) {
		t.Fatalf("JoinGroup over a stored group: %v, want ErrGroupExists", err)
	}
	if _, err := bob.StageWelcome(out.Welcome, tree, nil); !errors.Is(err, mls.ErrGroupExists) {
		t.Fatalf("StageWelcome over a stored group: %v, want ErrGroupExists", err)
	}
	if _, err := bob.CreateGroup(&mls.GroupOptions{GroupID: room}); !errors.Is(err, mls.ErrGroupExists) {
		t.Fatalf("CreateGroup over a stored group: %v, want ErrGroupExists", err)
	}
	if _, _, err := bob.JoinExternal(gi, nil); !errors.Is(err, mls.ErrGroupExists) {
		t.Fatalf("JoinExternal over a stored group: %v, want ErrGroupExists", err)
	}

	intact := func(when string) *mls.Group {
		t.Helper()
		g, err := bob.OpenGroup(room)
		must(t, err)
		var names []string
		for _, m := range g.Members() {
			names = append(names, string(m.Identity))
		}
		if len(names) != 2 || names[0] != "alice" || names[1] != "bob" || g.Epoch() != epoch ||
			!bytes.Equal(g.EpochAuthenticator(), auth) {
			t.Fatalf("bob's room-1 %s: members %q, epoch %d", when, names, g.Epoch())
		}
		a, err := ag.Export("test", nil, 32)
		must(t, err)
		c, err := g.Export("test", nil, 32)
		must(t, err)
		if !bytes.Equal(a, c) {
			t.Fatalf("bob's room-1 %s: alice and bob export different secrets", when)
		}
		return g
	}
	bg = intact("after the attack")
	if !b.Volatile {
		must(t, bob.Close())
		closeStore(t, store)
		store = open(t, b, dir)
		bob, err = mls.OpenClient(store, opts)
		must(t, err)
		bg = intact("after reopening the store")
	}
	// Creating the group while it is open fails the same way.
	if _, err := bob.CreateGroup(&mls.GroupOptions{GroupID: room}); !errors.Is(err, mls.ErrGroupExists) || !errors.Is(err, mls.ErrGroupOpen) {
		t.Fatalf("CreateGroup over an open group: %v", err)
	}

	// Deleting the group explicitly frees the id; the Welcome whose
	// staging failed did not consume the key package.
	must(t, bg.Delete())
	bg, err = bob.JoinGroup(out.Welcome, tree)
	must(t, err)
	if m := bg.Members(); len(m) != 2 || string(m[0].Identity) != "mallory" {
		t.Fatalf("after Delete, the join gives %d members, the first %q", len(m), m[0].Identity)
	}
	must(t, bob.Close())
}
