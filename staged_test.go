package mls

import (
	"bytes"
	"context"
	"sync"
	"testing"
)

// commitCounter counts the Commit calls of a Storage.
type commitCounter struct {
	Storage
	mu      sync.Mutex
	commits int
}

func (c *commitCounter) Commit(ctx context.Context, b *Batch) error {
	c.mu.Lock()
	c.commits++
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
	alice := &party{name: "alice", store: NewMemoryStorage()}
	bob := &party{name: "bob", store: bobStore}
	alice.c = must[*Client](t)(NewClient(alice.store, []byte("alice"), testOptions("alice")))
	bob.c = must[*Client](t)(NewClient(bob.store, []byte("bob"), testOptions("bob")))
	alice.g = must[*Group](t)(alice.c.CreateGroup(nil))
	out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
	check(t, alice.g.MergePendingCommit())
	bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))
	id := bob.g.ID()

	// Process and merge: one write.
	out = must[Outgoing](t)(alice.g.SelfUpdate())
	check(t, alice.g.MergePendingCommit())
	bobStore.take()
	pm := must[*ProcessedMessage](t)(bob.g.ProcessMessage(out.Commit))
	if pm.Kind != CommitMessage {
		t.Fatalf("processed a %v", pm.Kind)
	}
	if n := bobStore.take(); n != 0 {
		t.Fatalf("ProcessMessage of a commit wrote %d times before the application decided", n)
	}
	check(t, bob.g.MergeStagedCommit())
	if n := bobStore.take(); n != 1 {
		t.Fatalf("processing and merging a commit wrote %d times, want 1", n)
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

func hasStaged(g *Group) bool {
	_, ok := g.State().StagedCommit()
	return ok
}
