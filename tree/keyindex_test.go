package tree

import (
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
)

// TestPropKeyIndexMatchesModel compares the persistent key index with a
// plain map under random inserts and removals (duplicates included), in and
// out of batches, and checks that older versions are unaffected by later
// changes. Inside a batch, collided reports exactly whether an insert met
// its key already held (by another holder, or by the same), and when none
// did, every key the batch inserted has one holder.
func TestPropKeyIndexMatchesModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var ix keyIndex
		model := map[string][]uint32{}
		type version struct {
			ix    keyIndex
			model map[string][]uint32
		}
		var versions []version
		var collided bool      // the model's: an insert of the open batch met another holder
		var batchKeys []string // keys the open batch inserted
		key := func() []byte {
			return []byte(fmt.Sprintf("key%d", rapid.IntRange(0, 300).Draw(rt, "key")))
		}
		rt.Repeat(map[string]func(*rapid.T){
			"insert": func(rt *rapid.T) {
				k, h := key(), rapid.Uint32Range(0, 5).Draw(rt, "holder")
				ix = ix.insert(kindEncryption, k, h)
				hs := model[string(k)]
				if ix.tx != nil {
					batchKeys = append(batchKeys, string(k))
				}
				collided = collided || (ix.tx != nil && len(hs) > 0)
				if j, found := slices.BinarySearch(hs, h); !found {
					model[string(k)] = slices.Insert(slices.Clone(hs), j, h)
				}
			},
			"remove": func(rt *rapid.T) {
				k, h := key(), rapid.Uint32Range(0, 5).Draw(rt, "holder")
				ix = ix.remove(kindEncryption, k, h)
				hs := model[string(k)]
				if j, found := slices.BinarySearch(hs, h); found {
					hs = slices.Delete(slices.Clone(hs), j, j+1)
					if len(hs) == 0 {
						delete(model, string(k))
					} else {
						model[string(k)] = hs
					}
				}
			},
			// Batches (begin … end) change their own fresh trie nodes in
			// place; versions taken outside batches must never change.
			"begin": func(rt *rapid.T) {
				if ix.tx == nil {
					ix = ix.begin()
					collided, batchKeys = false, nil
				}
			},
			"end": func(rt *rapid.T) {
				ix = ix.end()
			},
			"snapshot": func(rt *rapid.T) {
				if ix.tx != nil {
					rt.Skip("no snapshots inside a batch")
				}
				versions = append(versions, version{ix, cloneModel(model)})
			},
			"": func(rt *rapid.T) {
				if ix.tx != nil && ix.collided() != collided {
					rt.Fatalf("collided = %v, want %v", ix.collided(), collided)
				}
				if ix.tx != nil && !ix.collided() {
					for _, k := range batchKeys {
						if hs := model[k]; len(hs) > 1 {
							rt.Fatalf("no collision reported, but %q has holders %v", k, hs)
						}
					}
				}
				for _, v := range append(versions, version{ix, model}) {
					n := 0
					for k, hs := range v.model {
						n += len(hs)
						if got := v.ix.lookup(kindEncryption, []byte(k)); !slices.Equal(got, hs) {
							rt.Fatalf("lookup %q: got %v, want %v", k, got, hs)
						}
						if got := v.ix.lookup(kindSignature, []byte(k)); got != nil {
							rt.Fatalf("signature lookup %q: got %v, want none", k, got)
						}
					}
					if v.ix.size != n {
						rt.Fatalf("size %d, want %d", v.ix.size, n)
					}
					// The one-pass builder gives the same map.
					var b indexBuilder
					for k, hs := range v.model {
						for _, h := range hs {
							b.add(kindEncryption, []byte(k), h)
							b.add(kindEncryption, []byte(k), h) // duplicates count once
						}
					}
					bix := b.build()
					if bix.size != n {
						rt.Fatalf("built index size %d, want %d", bix.size, n)
					}
					for k, hs := range v.model {
						if got := bix.lookup(kindEncryption, []byte(k)); !slices.Equal(got, hs) {
							rt.Fatalf("built index lookup %q: got %v, want %v", k, got, hs)
						}
					}
					// The shape is canonical: insertions and removals
					// in any order give the trie the builder makes.
					if !sameTrie(v.ix.root, bix.root) {
						rt.Fatalf("trie shape differs from the built one")
					}
				}
			},
		})
	})
}

func cloneModel(m map[string][]uint32) map[string][]uint32 {
	out := make(map[string][]uint32, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestKeyIndexCollisions drives the bucket path with keys that share a
// hash (forced through hamtInsert's hash argument): their holders share a
// bucket.
func TestKeyIndexCollisions(t *testing.T) {
	var root *hamt
	const h = 0xdeadbeef
	for _, x := range []uint32{5, 1, 3} {
		root, _ = hamtInsert(root, h, x, 0, nil)
	}
	root, _ = hamtInsert(root, h+1<<20, 9, 0, nil) // same low 20 bits: splits four levels down
	if root.dataMap != 0 || len(root.nodes) != 1 || root.nodes[0].bucket() {
		t.Fatalf("expected one inner child, got %+v", root)
	}
	if got := hamtLookup(root, h); !slices.Equal(got, []uint32{1, 3, 5}) {
		t.Fatalf("lookup h: %v", got)
	}
	if got := hamtLookup(root, h+1<<20); !slices.Equal(got, []uint32{9}) {
		t.Fatalf("lookup h+1<<20: %v", got)
	}
	if got := hamtLookup(root, h+2<<20); got != nil {
		t.Fatalf("lookup of an absent hash: %v", got)
	}
	for _, x := range []uint32{1, 3, 5} {
		var ok bool
		if root, ok = hamtRemove(root, h, x, 0, nil); !ok {
			t.Fatalf("remove %d failed", x)
		}
	}
	root, ok := hamtRemove(root, h+1<<20, 9, 0, nil)
	if !ok || root != nil {
		t.Fatalf("index not empty after removing everything: %+v, %v", root, ok)
	}
}

// TestTreeHoldersChecksKeys: a candidate the index returns for a key is a
// holder only if its node holds that key, so a hash collision (simulated by
// indexing a node under a key it does not hold) neither hides a true
// holder nor invents one.
func TestTreeHoldersChecksKeys(t *testing.T) {
	cs, _ := suite.Lookup(1)
	leaf := func(i byte) *codec.Node {
		return &codec.Node{NodeType: codec.NodeTypeLeaf, Leaf: &codec.LeafNode{EncryptionKey: []byte{'e', i}, SignatureKey: []byte{'s', i},
			Credential: codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte{i}}, LeafNodeSource: codec.LeafNodeSourceKeyPackage}}
	}
	tr, err := FromNodes(cs, codec.RatchetTree{leaf(0), nil, leaf(1), nil, leaf(2)})
	if err != nil {
		t.Fatal(err)
	}
	ln0, _ := tr.Leaf(0)
	ln2, _ := tr.Leaf(2)
	absent := []byte("a key no node holds")
	tr.keys = tr.keys.insert(kindSignature, absent, uint32(treemath.LeafIndex(2).Node()))
	tr.keys = tr.keys.insert(kindSignature, ln0.SignatureKey, uint32(treemath.LeafIndex(2).Node()))
	tr.keys = tr.keys.insert(kindEncryption, ln2.EncryptionKey, uint32(treemath.LeafIndex(0).Node()))
	if _, ok := tr.LeafBySignatureKey(absent); ok {
		t.Fatal("a colliding candidate was taken for a holder")
	}
	if i, ok := tr.LeafBySignatureKey(ln0.SignatureKey); !ok || i != 0 {
		t.Fatalf("LeafBySignatureKey = %d, %v; want 0", i, ok)
	}
	if got := tr.holders(kindSignature, ln0.SignatureKey); !slices.Equal(got, []uint32{0}) {
		t.Fatalf("holders %v, want [0]", got)
	}
	if x, ok := tr.NodeByEncryptionKey(ln2.EncryptionKey); !ok || x != treemath.LeafIndex(2).Node() {
		t.Fatalf("NodeByEncryptionKey = %d, %v", x, ok)
	}
}

// sameTrie reports whether two tries have the same shape and entries
// (owners aside).
func sameTrie(a, b *hamt) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.dataMap != b.dataMap || a.nodeMap != b.nodeMap || !slices.Equal(a.ents, b.ents) || len(a.nodes) != len(b.nodes) {
		return false
	}
	for i := range a.nodes {
		if !sameTrie(a.nodes[i], b.nodes[i]) {
			return false
		}
	}
	return true
}
