package mls

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestEraseAtOnceCrashRecovery plays what an operating system crash can
// leave under DirOptions.EraseAtOnce: bob's store loses the record of a
// commit he merged while keeping the erasure of the state it replaced.
// The group then fails to open with ErrDamaged; DeleteGroup drops it
// (OpenGroup then finds nothing, a second DeleteGroup neither); bob
// rejoins with an external commit that removes his prior leaf
// (ExternalJoinOptions.RemovePrior), and he and alice agree, two members
// again.
func TestEraseAtOnceCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	opts := DirOptions{SyncEvery: 1000, EraseAtOnce: true}
	store := must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
	alice, bob := aliceAndBob(t, store)
	id := bob.g.ID()
	check(t, store.Flush())
	path := filepath.Join(dir, dirDataFile)
	synced := must[[]byte](t)(os.ReadFile(path))

	out := must[Outgoing](t)(alice.g.SelfUpdate())
	check(t, alice.g.MergePendingCommit())
	must[*ProcessedMessage](t)(bob.g.ProcessMessage(out.Commit))
	check(t, bob.g.MergeStagedCommit())
	image := must[[]byte](t)(os.ReadFile(path))
	if len(image) <= len(synced) {
		t.Fatal("the merge appended nothing: the test checks nothing")
	}
	check(t, bob.c.Close())
	check(t, store.Close())
	// The crash: the unsynced record lost, the erasures it made kept.
	check(t, os.WriteFile(path, image[:len(synced)], 0o600))

	store = must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
	defer store.Close()
	bob.c = must[*Client](t)(OpenClient(store, testOptions("bob")))
	if _, err := bob.c.OpenGroup(id); !errors.Is(err, ErrDamaged) {
		t.Fatalf("OpenGroup after the crash: %v, want ErrDamaged", err)
	}
	gi := must[[]byte](t)(alice.g.GroupInfo(true))
	if _, _, err := bob.c.JoinExternal(gi, &ExternalJoinOptions{RemovePrior: true}); err == nil {
		t.Fatal("JoinExternal over the damaged group's id succeeded")
	}
	check(t, bob.c.DeleteGroup(id))
	if _, err := bob.c.OpenGroup(id); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenGroup after DeleteGroup: %v, want fs.ErrNotExist", err)
	}
	if err := bob.c.DeleteGroup(id); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("DeleteGroup of nothing: %v, want fs.ErrNotExist", err)
	}
	keys := must[[][]byte](t)(store.Keys(ctx, nil))
	for _, k := range keys {
		for _, kind := range []string{"g/", "n/", "k/", "r/", "a/", "v/"} {
			if string(k[:2]) == kind {
				t.Fatalf("key %q left after DeleteGroup", k)
			}
		}
	}

	g, ext, err := bob.c.JoinExternal(gi, &ExternalJoinOptions{RemovePrior: true})
	check(t, err)
	bob.g = g
	check(t, bob.g.MergePendingCommit())
	pm := must[*ProcessedMessage](t)(alice.g.ProcessMessage(ext.Commit))
	if pm.Kind != CommitMessage {
		t.Fatalf("alice processed a %v", pm.Kind)
	}
	check(t, alice.g.MergeStagedCommit())
	agree(t, alice, bob)
	if n := len(alice.g.Members()); n != 2 {
		t.Fatalf("%d members after the rejoin, want 2 (the prior leaf removed)", n)
	}
}
