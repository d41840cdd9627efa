package tree_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

var benchSizes = []int{16, 256, 4096, 65536}

// benchGroup is a synthetic full tree of one size, with a real sender
// (leaf 0) and a real receiver (leaf 1, the sender's sibling, which has to
// derive the longest chain of keys), and an UpdatePath from the sender
// ready to be processed.
type benchGroup struct {
	s        *suite.Suite
	t        tree.Tree
	sender   member
	receiver tree.PrivatePath
	path     codec.UpdatePath
	gc       []byte
}

var benchGroups = func() map[int]func() benchGroup {
	m := map[int]func() benchGroup{}
	for _, n := range benchSizes {
		m[n] = sync.OnceValue(func() benchGroup { return newBenchGroup(n) })
	}
	return m
}()

func newBenchGroup(n int) benchGroup {
	tb := &testing.B{} // only used for Helper/Fatal on setup failure
	s, err := suite.Lookup(suite.X25519AES128GCMSHA256Ed25519)
	if err != nil {
		panic(err)
	}
	snd, rcv := newMember(tb, s, 1_000_000), newMember(tb, s, 1_000_001)
	t := synthTree(tb, s, n, map[treemath.LeafIndex]member{0: snd, 1: rcv})
	tmpl, _ := t.Leaf(0)
	nt, pu, err := t.GeneratePath(0, *tmpl, testGroupID, seedBytes("bench leaf", 0, s.HashLen()), snd.signer)
	if err != nil {
		panic(err)
	}
	gc := benchGroupContext(nt)
	path, err := pu.Encrypt(gc, nil, seedBytes("bench encap", 0, 32))
	if err != nil {
		panic(err)
	}
	priv, err := tree.NewPrivatePath(s, 1, rcv.encPriv)
	if err != nil {
		panic(err)
	}
	return benchGroup{s: s, t: t, sender: snd, receiver: priv, path: path, gc: gc}
}

func benchGroupContext(t tree.Tree) []byte {
	gc, err := codec.GroupContext{Version: codec.MLS10, CipherSuite: 1, GroupID: testGroupID, Epoch: 7, TreeHash: t.Hash(), ConfirmedTranscriptHash: make([]byte, 32)}.Encode()
	if err != nil {
		panic(err)
	}
	return gc
}

// BenchmarkTreeUpdatePath measures the committer's side of a path update
// (RFC 9420, Section 7.4): derive log N path secrets and key pairs, parent
// hashes, sign the leaf, merge (O(log N) new nodes), encrypt to the
// copath.
func BenchmarkTreeUpdatePath(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			g := benchGroups[n]()
			tmpl, _ := g.t.Leaf(0)
			leafSecret := seedBytes("bench leaf", 1, g.s.HashLen())
			seed := seedBytes("bench encap", 1, 32)
			b.ReportAllocs()
			nodes := 0
			for b.Loop() {
				nt, pu, err := g.t.GeneratePath(0, *tmpl, testGroupID, leafSecret, g.sender.signer)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := pu.Encrypt(g.gc, nil, seed); err != nil {
					b.Fatal(err)
				}
				nodes = nt.NodesBuilt()
			}
			b.ReportMetric(float64(nodes), "nodes/op")
		})
	}
}

// BenchmarkTreeApplyPath measures the receiver's side (RFC 9420,
// Section 7.5): merge the path (parent-hash check, O(log N) new nodes),
// decrypt one path secret, derive and check the keys up to the root.
func BenchmarkTreeApplyPath(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			g := benchGroups[n]()
			b.ReportAllocs()
			for b.Loop() {
				nt, err := g.t.MergePath(0, &g.path)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := nt.DecryptPath(g.receiver, 0, &g.path, g.gc, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMergePath measures MergePath alone: the tree work of a received
// path without the HPKE decryption and key derivation.
func BenchmarkMergePath(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			g := benchGroups[n]()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.t.MergePath(0, &g.path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTreeHash measures tree hashing: op=update is the incremental
// cost after a leaf change (log N + 1 hashes, then Hash() is O(1));
// op=full recomputes every node's hash from the array form (what a joiner
// pays once).
func BenchmarkTreeHash(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("N=%d/op=update", n), func(b *testing.B) {
			g := benchGroups[n]()
			ln, _ := g.t.Leaf(5)
			upd := *ln
			upd.EncryptionKey = seedBytes("bench update", 5, 32)
			b.ReportAllocs()
			for b.Loop() {
				nt, err := g.t.Update(5, &upd)
				if err != nil {
					b.Fatal(err)
				}
				_ = nt.Hash()
			}
		})
		if n > 4096 && testing.Short() {
			continue
		}
		b.Run(fmt.Sprintf("N=%d/op=full", n), func(b *testing.B) {
			g := benchGroups[n]()
			nodes := g.t.Nodes()
			b.ReportAllocs()
			for b.Loop() {
				nt, err := tree.FromNodes(g.s, nodes)
				if err != nil {
					b.Fatal(err)
				}
				_ = nt.Hash()
			}
		})
	}
}

// BenchmarkAdd measures adding a member into a blank leaf (RFC 9420,
// Section 12.1.1): leftmost-blank search, unmerged_leaves on the path,
// log N + 1 new nodes, key index updates.
func BenchmarkAdd(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			g := benchGroups[n]()
			t, err := g.t.Remove(treemath.LeafIndex(n / 3))
			if err != nil {
				b.Fatal(err)
			}
			ln, _ := g.t.Leaf(treemath.LeafIndex(n / 3))
			add := *ln
			add.EncryptionKey = seedBytes("bench add enc", 0, 32)
			add.SignatureKey = seedBytes("bench add sig", 0, 32)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := t.Add(&add); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
