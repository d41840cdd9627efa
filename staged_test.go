package mls

import (
	"bytes"
	"context"
	"crypto/cipher"
	"errors"
	"sync"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// commitCounter counts the Commit calls of a Storage, and the operations
// of a batch on a key that an earlier operation of the same batch set.
type commitCounter struct {
	Storage
	mu      sync.Mutex
	commits int
	repeats int
}

func (c *commitCounter) Commit(ctx context.Context, b *Batch) error {
	c.mu.Lock()
	c.commits++
	seen := map[string]bool{}
	for _, op := range b.Ops() {
		if seen[string(op.Key)] {
			c.repeats++
		}
		seen[string(op.Key)] = true
	}
	c.mu.Unlock()
	return c.Storage.Commit(ctx, b)
}

func (c *commitCounter) take() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.commits
	c.commits = 0
	return n
}

// TestStagedCommitWrites: a received commit is stored once the
// application decides on it — one storage commit for ProcessMessage and
// MergeStagedCommit together — and a crash in between (a client that
// never closes) leaves the group before the commit, which it processes
// again. Close stores a staged commit as staged.
func TestStagedCommitWrites(t *testing.T) {
	mem := NewMemoryStorage()
	bobStore := &commitCounter{Storage: mem}
	alice, bob := aliceAndBob(t, bobStore)
	id := bob.g.ID()

	// Process and merge: one write.
	out := must[Outgoing](t)(alice.g.SelfUpdate())
	check(t, alice.g.MergePendingCommit())
	bobStore.take()
	pm := must[*ProcessedMessage](t)(bob.g.ProcessMessage(out.Commit))
	if pm.Kind != CommitMessage {
		t.Fatalf("processed a %v", pm.Kind)
	}
	if n := bobStore.take(); n != 0 {
		t.Fatalf("ProcessMessage of a commit wrote %d times before the application decided", n)
	}
	// A rejected input in between writes nothing either (the commit's
	// own message again: a commit is already staged).
	if _, err := bob.g.ProcessMessage(out.Commit); err == nil {
		t.Fatal("the same commit processed twice")
	}
	if n := bobStore.take(); n != 0 {
		t.Fatalf("a rejected input wrote %d times while a commit was staged", n)
	}
	check(t, bob.g.MergeStagedCommit())
	if n := bobStore.take(); n != 1 {
		t.Fatalf("processing and merging a commit wrote %d times, want 1", n)
	}
	if bobStore.repeats != 0 {
		t.Fatalf("the merged commit's batch wrote %d keys twice (the staged state's values the merge replaced)", bobStore.repeats)
	}
	agree(t, alice, bob)

	// A crash between ProcessMessage and MergeStagedCommit: the storage
	// holds the group before the commit, which is processed again.
	out = must[Outgoing](t)(alice.g.SelfUpdate())
	check(t, alice.g.MergePendingCommit())
	epoch := bob.g.Epoch()
	must[*ProcessedMessage](t)(bob.g.ProcessMessage(out.Commit))
	crashed := must[*Client](t)(OpenClient(mem, testOptions("bob-after-crash")))
	g := must[*Group](t)(crashed.OpenGroup(id))
	if g.Epoch() != epoch || hasStaged(g) {
		t.Fatalf("after the crash: epoch %d (want %d), staged %v", g.Epoch(), epoch, hasStaged(g))
	}
	must[*ProcessedMessage](t)(g.ProcessMessage(out.Commit))
	check(t, g.MergeStagedCommit())
	if !bytes.Equal(g.EpochAuthenticator(), alice.g.EpochAuthenticator()) {
		t.Fatal("the commit processed again after the crash leads elsewhere than alice")
	}
	check(t, crashed.Close())

	// Close stores the staged commit as staged; reopened, it merges.
	bob.c = must[*Client](t)(OpenClient(bobStore, testOptions("bob-2")))
	bob.g = must[*Group](t)(bob.c.OpenGroup(id))
	out = must[Outgoing](t)(alice.g.SelfUpdate())
	check(t, alice.g.MergePendingCommit())
	must[*ProcessedMessage](t)(bob.g.ProcessMessage(out.Commit))
	check(t, bob.c.Close())
	bob.c = must[*Client](t)(OpenClient(bobStore, testOptions("bob-3")))
	bob.g = must[*Group](t)(bob.c.OpenGroup(id))
	if !hasStaged(bob.g) {
		t.Fatal("Close dropped the staged commit")
	}
	check(t, bob.g.MergeStagedCommit())
	agree(t, alice, bob)
}

// aliceAndBob returns alice (in memory) and bob (on bobStore) in a
// group alice created and added bob to.
func aliceAndBob(t *testing.T, bobStore Storage) (alice, bob *party) {
	t.Helper()
	alice = &party{name: "alice", store: NewMemoryStorage()}
	bob = &party{name: "bob", store: bobStore}
	alice.c = must[*Client](t)(NewClient(alice.store, []byte("alice"), testOptions("alice")))
	bob.c = must[*Client](t)(NewClient(bob.store, []byte("bob"), testOptions("bob")))
	alice.g = must[*Group](t)(alice.c.CreateGroup(nil))
	out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
	check(t, alice.g.MergePendingCommit())
	bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))
	return alice, bob
}

func hasStaged(g *Group) bool {
	_, ok := g.State().StagedCommit()
	return ok
}

// flushCounter is a Storage that counts the shell's Flush calls.
type flushCounter struct {
	Storage
	flushes int
}

func (f *flushCounter) Flush() error { f.flushes++; return nil }

// TestFlushBeforeOwnCommit: with a Storage that defers durability
// (Flusher), the shell flushes before handing out a message of its own
// that the group builds on — a commit, a proposal, a new group's Welcome,
// an external join or resync — and not for application messages or for
// processing others' commits.
func TestFlushBeforeOwnCommit(t *testing.T) {
	aliceStore := &flushCounter{Storage: NewMemoryStorage()}
	alice := &party{name: "alice", store: aliceStore}
	bob := &party{name: "bob", store: NewMemoryStorage()}
	alice.c = must[*Client](t)(NewClient(alice.store, []byte("alice"), testOptions("alice")))
	bob.c = must[*Client](t)(NewClient(bob.store, []byte("bob"), testOptions("bob")))
	alice.g = must[*Group](t)(alice.c.CreateGroup(nil))
	step := func(what string, want int, f func()) {
		t.Helper()
		aliceStore.flushes = 0
		f()
		if aliceStore.flushes != want {
			t.Fatalf("%s: %d flushes, want %d", what, aliceStore.flushes, want)
		}
	}
	var out Outgoing
	step("AddMembers", 1, func() { out = must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage()))) })
	step("MergePendingCommit", 0, func() { check(t, alice.g.MergePendingCommit()) })
	bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))
	step("Send", 0, func() { must[[]byte](t)(alice.g.Send([]byte("hi"))) })
	msg := must[[]byte](t)(bob.g.Send([]byte("hello")))
	step("ProcessMessage", 0, func() { must[*ProcessedMessage](t)(alice.g.ProcessMessage(msg)) })
	out = must[Outgoing](t)(bob.g.SelfUpdate())
	check(t, bob.g.MergePendingCommit())
	step("process and merge", 0, func() {
		must[*ProcessedMessage](t)(alice.g.ProcessMessage(out.Commit))
		check(t, alice.g.MergeStagedCommit())
	})
	step("SelfUpdate", 1, func() { must[Outgoing](t)(alice.g.SelfUpdate()) })
	check(t, alice.g.MergePendingCommit())
	// Own proposals: an Update's new leaf key lives only in the state.
	step("ProposeSelfUpdate", 1, func() {
		_, _, err := alice.g.ProposeSelfUpdate()
		check(t, err)
	})
	check(t, alice.g.DropProposal(alice.g.PendingProposals()[0].Ref))
	// A new group whose Welcome goes out.
	step("Branch", 1, func() {
		_, _, err := alice.g.Branch(nil, must[[]byte](t)(bob.c.KeyPackage()))
		check(t, err)
	})
	gi := must[[]byte](t)(bob.g.GroupInfo(true))
	check(t, alice.g.Delete())
	step("JoinExternal", 1, func() {
		g, _, err := alice.c.JoinExternal(gi, &ExternalJoinOptions{RemovePrior: true})
		check(t, err)
		alice.g = g
	})
	check(t, alice.g.MergePendingCommit())
	step("Resync", 1, func() {
		_, err := alice.g.Resync(gi, nil)
		check(t, err)
	})
}

// TestSealedStorageFlush: a SealedStorage is a Flusher that flushes the
// backend it wraps.
func TestSealedStorageFlush(t *testing.T) {
	inner := &flushCounter{Storage: NewMemoryStorage()}
	aead := must[cipher.AEAD](t)(chacha20poly1305.NewX(make([]byte, chacha20poly1305.KeySize)))
	s := must[*SealedStorage](t)(OpenSealedStorage(ctx, inner, aead))
	var f Flusher = s
	check(t, f.Flush())
	if inner.flushes != 1 {
		t.Fatalf("%d flushes reached the inner storage, want 1", inner.flushes)
	}
}

// failingStore fails every Commit while fail is set.
type failingStore struct {
	Storage
	fail bool
}

func (f *failingStore) Commit(ctx context.Context, b *Batch) error {
	if f.fail {
		return errors.New("injected commit failure")
	}
	return f.Storage.Commit(ctx, b)
}

// TestStoreUnstoredFailure: a failed attempt to store a staged commit
// (ExportLog on a failing storage) leaves nothing behind for the next
// operation to commit: the application discards the commit, and reopened,
// the group is not staged.
func TestStoreUnstoredFailure(t *testing.T) {
	mem := NewMemoryStorage()
	fs := &failingStore{Storage: mem}
	alice, bob := aliceAndBob(t, fs)
	id := bob.g.ID()
	out := must[Outgoing](t)(alice.g.SelfUpdate())
	check(t, alice.g.MergePendingCommit())
	must[*ProcessedMessage](t)(bob.g.ProcessMessage(out.Commit))
	fs.fail = true
	if _, err := bob.c.ExportLog(id); err == nil {
		t.Fatal("ExportLog succeeded with a failing store")
	}
	fs.fail = false
	check(t, bob.g.DiscardStagedCommit())
	check(t, bob.g.Close())
	g := must[*Group](t)(must[*Client](t)(OpenClient(mem, testOptions("bob-2"))).OpenGroup(id))
	if hasStaged(g) {
		t.Fatal("the discarded commit is staged again after reopening")
	}
}

// TestOperationsWhileStaged: with a commit staged, an application message,
// an export, a rejected input and a GroupInfo each leave storage coherent:
// a client that opens the store without the first one closing (a crash)
// finds the group before the commit or with it staged, processes or
// merges it, and agrees with the committer. (From an audit.)
func TestOperationsWhileStaged(t *testing.T) {
	for crashAt := range 5 {
		store := must[*DirStorage](t)(OpenDirStorageWith(t.TempDir(), DirOptions{SyncEvery: 50, EraseAtOnce: true}))
		alice, bob := aliceAndBob(t, store)
		id := bob.g.ID()
		for range 3 {
			must[*ProcessedMessage](t)(bob.g.ProcessMessage(must[[]byte](t)(alice.g.Send([]byte("warm")))))
		}
		before := must[[]byte](t)(alice.g.Send([]byte("before the commit")))
		out := must[Outgoing](t)(alice.g.SelfUpdate())
		check(t, alice.g.MergePendingCommit())
		must[*ProcessedMessage](t)(bob.g.ProcessMessage(out.Commit))
		steps := []func() error{
			func() error { _, err := bob.g.ProcessMessage(before); return err },
			func() error { _, err := bob.g.Export("x", nil, 16); return err },
			func() error {
				if _, err := bob.g.ProcessMessage([]byte("garbage")); err == nil {
					return errors.New("garbage accepted")
				}
				return nil
			},
			func() error { _, err := bob.g.GroupInfo(false); return err },
		}
		for _, s := range steps[:crashAt] {
			check(t, s())
		}
		g := must[*Group](t)(must[*Client](t)(OpenClient(store, testOptions("bob-2"))).OpenGroup(id))
		if !hasStaged(g) {
			must[*ProcessedMessage](t)(g.ProcessMessage(out.Commit))
		}
		check(t, g.MergeStagedCommit())
		if !bytes.Equal(g.EpochAuthenticator(), alice.g.EpochAuthenticator()) {
			t.Fatalf("crash after %d steps: the reopened group disagrees with alice", crashAt)
		}
		pm := must[*ProcessedMessage](t)(g.ProcessMessage(must[[]byte](t)(alice.g.Send([]byte("after")))))
		if string(pm.Data) != "after" {
			t.Fatalf("crash after %d steps: read %q", crashAt, pm.Data)
		}
		check(t, bob.g.MergeStagedCommit())
		if !bytes.Equal(bob.g.EpochAuthenticator(), alice.g.EpochAuthenticator()) {
			t.Fatalf("crash after %d steps: bob disagrees with alice", crashAt)
		}
		store.Close()
	}
}
