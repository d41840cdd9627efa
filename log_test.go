package mls

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mlscore/mlscore/internal/synth"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// synthGroups caches the synthetic groups of the tests, by size.
var synthGroups sync.Map // int -> func() (*synth.Group, error)

func synthOf(t *testing.T, n int) *synth.Group {
	t.Helper()
	f, _ := synthGroups.LoadOrStore(n, sync.OnceValues(func() (*synth.Group, error) { return synth.New(1, n) }))
	sy, err := f.(func() (*synth.Group, error))()
	if err != nil {
		t.Fatal(err)
	}
	return sy
}

// groupOn returns a Group in state s (of a synthetic group of n members)
// on store, held by a new client whose key store is ks.
func groupOn(t *testing.T, store Storage, n int, s state.GroupState, ks transitions.KeyStore) *Group {
	t.Helper()
	c, err := NewClient(store, []byte("member"), &Options{
		Clock:  func() time.Time { return time.Unix(synth.At, 0) },
		Seed:   seeds(t.Name()),
		Limits: synth.Limits(n),
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.adopt(s, ks)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// recordingStorage keeps the operations of the last batch committed.
type recordingStorage struct {
	Storage
	mu   sync.Mutex
	last []BatchOp
}

func (r *recordingStorage) Commit(ctx context.Context, b *Batch) error {
	r.mu.Lock()
	r.last = nil
	for _, op := range b.Ops() {
		r.last = append(r.last, BatchOp{Key: bytes.Clone(op.Key), Value: bytes.Clone(op.Value), Delete: op.Delete})
	}
	r.mu.Unlock()
	return r.Storage.Commit(ctx, b)
}

// take returns the last batch's operations and forgets them.
func (r *recordingStorage) take() []BatchOp {
	r.mu.Lock()
	defer r.mu.Unlock()
	ops := r.last
	r.last = nil
	return ops
}

// TestMessageWritesOneEntry checks incremental persistence for application
// messages in synthetic groups of 16 and 1024 members: a sender's or
// receiver's message writes one "k/" entry (the sender's ratchets) of the
// same size at every group size — after the sender's first message of
// the epoch, which also replaces the node secret on its path by the
// log₂N secrets beside it — and nothing else; and the group reopens from
// the store at the state it reached.
func TestMessageWritesOneEntry(t *testing.T) {
	sizes := map[int]int{} // group size → bytes of a steady-state message's batch
	for _, n := range []int{16, 1024} {
		t.Run(fmt.Sprint("N=", n), func(t *testing.T) {
			sy := synthOf(t, n)
			s, sks := mustPair[state.GroupState, transitions.KeyStore](t)(sy.Member(0))
			r, rks := mustPair[state.GroupState, transitions.KeyStore](t)(sy.Member(treemath.LeafIndex(n - 1)))
			sstore := &recordingStorage{Storage: NewMemoryStorage()}
			rstore := &recordingStorage{Storage: NewMemoryStorage()}
			sg, rg := groupOn(t, sstore, n, s, sks), groupOn(t, rstore, n, r, rks)
			depth := bits.Len(uint(n)) - 1
			for i := range 4 {
				msg := must[[]byte](t)(sg.Send([]byte("hello")))
				sent := sstore.take()
				pm := must[*ProcessedMessage](t)(rg.ProcessMessage(msg))
				if string(pm.Data) != "hello" {
					t.Fatalf("message %d: read %q", i, pm.Data)
				}
				got := rstore.take()
				for who, ops := range map[string][]BatchOp{"sender": sent, "receiver": got} {
					written := 0
					for _, op := range ops {
						if !bytes.HasPrefix(op.Key, groupKey("k/", s.GroupID())) {
							t.Fatalf("message %d: the %s wrote %q", i, who, op.Key)
						}
						written += len(op.Key) + len(op.Value)
					}
					switch {
					case i == 0 && (len(ops) < 2 || len(ops) > depth+2):
						t.Fatalf("first message: the %s wrote %d entries, want 2 to %d", who, len(ops), depth+2)
					case i > 0 && (len(ops) != 1 || ops[0].Delete):
						t.Fatalf("message %d: the %s wrote %d operations, want one entry", i, who, len(ops))
					case i > 0:
						if w, ok := sizes[n]; ok && w != written {
							t.Fatalf("message %d: %d bytes written, the previous message wrote %d", i, written, w)
						}
						sizes[n] = written
					}
				}
			}
			for _, g := range []*Group{sg, rg} {
				l, st, err := openGroupLog(ctx, g.c.store, g.id, "", 0, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				if st.Digest() != g.st.Digest() || l.version != snapshotVersion {
					t.Fatal("the reopened group is not at the state it reached")
				}
			}
		})
	}
	if len(sizes) == 2 && sizes[16] != sizes[1024] {
		t.Fatalf("a message writes %d bytes at N=16 and %d at N=1024", sizes[16], sizes[1024])
	}
}

func mustPair[A, B any](t *testing.T) func(a A, b B, err error) (A, B) {
	return func(a A, b B, err error) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

// TestSecretEntriesFollowEpochs checks that the "k/" entries stored for a
// group are exactly those of the secret trees its state holds — the
// current epoch's and the retained past epochs' — through commits that
// push epochs out of the window, messages in each epoch, a reopening, and
// Delete, which leaves none.
func TestSecretEntriesFollowEpochs(t *testing.T) {
	a, b := newParty(t, backends[0], "alice"), newParty(t, backends[0], "bob")
	a.g = must[*Group](t)(a.c.CreateGroup(nil))
	out := must[Outgoing](t)(a.g.AddMembers(must[[]byte](t)(b.c.KeyPackage())))
	check(t, a.g.MergePendingCommit())
	b.g = must[*Group](t)(b.c.JoinGroup(out.Welcome, must[[]byte](t)(a.g.RatchetTree())))
	stored := func(p *party) []string {
		keys := must[[][]byte](t)(p.store.Keys(ctx, groupKey("k/", p.g.id)))
		var out []string
		for _, k := range keys {
			out = append(out, fmt.Sprintf("%x", k))
		}
		return out
	}
	want := func(p *party) []string {
		priv := p.g.State().Private()
		var out []string
		add := func(epoch uint64, entries func(func(uint32) bool)) {
			for x := range entries {
				out = append(out, fmt.Sprintf("%x", entryKey(p.g.id, epoch, x)))
			}
		}
		add(p.g.Epoch(), priv.Secrets.Entries())
		for _, pe := range priv.Past {
			add(pe.Context.Epoch, pe.Secrets.Entries())
		}
		slices.Sort(out)
		return out
	}
	checkEntries := func(when string) {
		t.Helper()
		for _, p := range []*party{a, b} {
			if got, w := stored(p), want(p); !slices.Equal(got, w) {
				t.Fatalf("%s: %s stores %d entries, its state holds %d", when, p.name, len(got), len(w))
			}
		}
	}
	checkEntries("after the join")
	for epoch := range int(DefaultConfig().MaxPastEpochs) + 3 {
		committer, other := a, b
		if epoch%2 == 1 {
			committer, other = b, a
		}
		out := must[Outgoing](t)(committer.g.SelfUpdate())
		check(t, committer.g.MergePendingCommit())
		deliver(t, committer, out.Commit, other)
		checkEntries(fmt.Sprintf("after commit %d", epoch))
		for range 2 {
			deliver(t, a, must[[]byte](t)(a.g.Send([]byte("a"))), b)
			deliver(t, b, must[[]byte](t)(b.g.Send([]byte("b"))), a)
		}
		checkEntries(fmt.Sprintf("after the messages of epoch %d", epoch))
		if len(a.g.State().Private().Past) == 0 && epoch > 0 {
			t.Fatal("no past epoch retained: the test checks nothing of their entries")
		}
	}
	id := a.g.id
	check(t, a.g.Close())
	a.g = must[*Group](t)(a.c.OpenGroup(id))
	checkEntries("after reopening")
	check(t, a.g.Delete())
	if keys := must[[][]byte](t)(a.store.Keys(ctx, groupKey("k/", id))); len(keys) != 0 {
		t.Fatalf("%d entries left after Delete", len(keys))
	}
}

// TestSnapshotV1Upgrade checks that a group stored in the previous layout
// (snapshot version 1: state.AppendSplit, the secret trees inline) opens,
// and that its first change rewrites it as version 2 with the secret
// trees' entries, from which it reopens at the same state.
func TestSnapshotV1Upgrade(t *testing.T) {
	sy := synthOf(t, 16)
	s, ks := mustPair[state.GroupState, transitions.KeyStore](t)(sy.Member(3))
	store := NewMemoryStorage()
	g := groupOn(t, store, 16, s, ks)
	// Rewrite the group as version 1 stored it.
	v := []byte{snapshotV1}
	v = append(v, make([]byte, 8+32)...)
	v, err := state.AppendSplit(v, s, func(tree.Tree) {})
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	for _, k := range must[[][]byte](t)(store.Keys(ctx, groupKey("k/", s.GroupID()))) {
		b.Delete(k)
	}
	b.Put(groupKey("g/", s.GroupID()), v)
	check(t, store.Commit(ctx, &b))
	if keys := must[[][]byte](t)(store.Keys(ctx, groupKey("k/", s.GroupID()))); len(keys) != 0 {
		t.Fatal("the version 1 store holds secret tree entries")
	}

	l, st, err := openGroupLog(ctx, store, s.GroupID(), "", 0, nil, nil)
	if err != nil {
		t.Fatalf("opening a version 1 snapshot: %v", err)
	}
	if l.version != snapshotV1 || st.Digest() != s.Digest() {
		t.Fatal("the version 1 snapshot opened at another state")
	}
	g.log, g.st = l, st
	if _, err := g.Send([]byte("after the upgrade")); err != nil {
		t.Fatal(err)
	}
	v2 := must[[]byte](t)(store.Get(ctx, groupKey("g/", s.GroupID())))
	if v2[0] != snapshotVersion {
		t.Fatalf("the first change wrote a version %d snapshot", v2[0])
	}
	l, st, err = openGroupLog(ctx, store, s.GroupID(), "", 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.version != snapshotVersion || st.Digest() != g.st.Digest() {
		t.Fatal("the upgraded group reopens at another state")
	}
}

// TestDamagedSecretEntries checks that a damaged secret tree entry makes
// its group fail to open with ErrDamaged — a changed byte, a missing
// entry, an extra one — and leaves the client's other groups readable.
func TestDamagedSecretEntries(t *testing.T) {
	damage := map[string]func(store *MemoryStorage, keys [][]byte){
		"changed byte": func(store *MemoryStorage, keys [][]byte) {
			v := must[[]byte](t)(store.Get(ctx, keys[0]))
			v[len(v)-1] ^= 1
			var b Batch
			b.Put(keys[0], v)
			check(t, store.Commit(ctx, &b))
		},
		"missing entry": func(store *MemoryStorage, keys [][]byte) {
			var b Batch
			b.Delete(keys[len(keys)-1])
			check(t, store.Commit(ctx, &b))
		},
		"extra entry": func(store *MemoryStorage, keys [][]byte) {
			v := must[[]byte](t)(store.Get(ctx, keys[0]))
			k := bytes.Clone(keys[0])
			k[len(k)-1] ^= 0x80 // a parent node index, or another leaf's
			var b Batch
			b.Put(k, v)
			check(t, store.Commit(ctx, &b))
		},
	}
	for name, f := range damage {
		t.Run(name, func(t *testing.T) {
			store := NewMemoryStorage()
			c := must[*Client](t)(NewClient(store, []byte("alice"), testOptions("alice")))
			g1 := must[*Group](t)(c.CreateGroup(&GroupOptions{GroupID: []byte("one")}))
			g2 := must[*Group](t)(c.CreateGroup(&GroupOptions{GroupID: []byte("two")}))
			for _, g := range []*Group{g1, g2} {
				must[[]byte](t)(g.Send([]byte("hello")))
			}
			keys := must[[][]byte](t)(store.Keys(ctx, groupKey("k/", []byte("one"))))
			if len(keys) == 0 {
				t.Fatal("no secret tree entries stored")
			}
			check(t, c.Close())
			f(store, keys)
			c = must[*Client](t)(OpenClient(store, testOptions("alice")))
			if _, err := c.OpenGroup([]byte("one")); !errors.Is(err, ErrDamaged) {
				t.Fatalf("opening the damaged group: %v, want ErrDamaged", err)
			}
			g := must[*Group](t)(c.OpenGroup([]byte("two")))
			must[[]byte](t)(g.Send([]byte("still here")))
		})
	}
}
