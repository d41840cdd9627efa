package mls

import (
	"bytes"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// nodeTestTree returns a tree of four leaves with a blank leaf and a
// blank parent, in suite id.
func nodeTestTree(t *testing.T, id suite.ID) tree.Tree {
	t.Helper()
	cs, err := suite.Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(i byte) *codec.Node {
		return &codec.Node{NodeType: codec.NodeTypeLeaf, Leaf: &codec.LeafNode{
			EncryptionKey: bytes.Repeat([]byte{i}, 32), SignatureKey: bytes.Repeat([]byte{i + 100}, 32),
			Credential:     codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte{'m', i}},
			LeafNodeSource: codec.LeafNodeSourceKeyPackage, Lifetime: codec.Lifetime{NotBefore: 1, NotAfter: 2},
			Signature: []byte{i, i},
		}}
	}
	parent := func(i byte) *codec.Node {
		return &codec.Node{NodeType: codec.NodeTypeParent, Parent: &codec.ParentNode{
			EncryptionKey: bytes.Repeat([]byte{i}, 32), ParentHash: []byte{i}, UnmergedLeaves: []treemath.LeafIndex{2},
		}}
	}
	tr, err := tree.FromNodes(cs, codec.RatchetTree{leaf(1), parent(2), leaf(3), nil, nil, parent(6), leaf(7)})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestNodeValue: a stored node's value is its kind, its content as
// codec marshals it and for a parent its children's hashes as opaque<V>
// (the format stores already hold), and a tree stored node by node loads
// back — in suite 1 (32-byte hashes) and suite 5 (64-byte hashes, whose
// length takes a two-byte varint).
func TestNodeValue(t *testing.T) {
	for _, id := range []suite.ID{suite.X25519AES128GCMSHA256Ed25519, suite.P521AES256GCMSHA512P521} {
		t.Run(id.String(), func(t *testing.T) {
			tr := nodeTestTree(t, id)
			var walk func(r tree.NodeRef)
			kinds := map[byte]int{}
			walk = func(r tree.NodeRef) {
				x := r.Index()
				var b cryptobyte.Builder
				switch ln, ok := tr.Leaf(x.Leaf()); {
				case x.IsLeaf() && ok:
					b.AddUint8(nodeLeaf)
					ln.Marshal(&b)
				case x.IsLeaf():
					b.AddUint8(nodeBlankLeaf)
				default:
					if p, ok := tr.Parent(x); ok {
						b.AddUint8(nodeParent)
						p.Marshal(&b)
					} else {
						b.AddUint8(nodeBlankParent)
					}
					lh, _ := tr.NodeHash(treemath.Left(x))
					rh, _ := tr.NodeHash(treemath.Right(x))
					codec.AddOpaque(&b, lh)
					codec.AddOpaque(&b, rh)
				}
				want := b.BytesOrPanic()
				got := appendNodeValue([]byte("x"), r)[1:]
				if !bytes.Equal(got, want) {
					t.Errorf("node %d: value %x, want %x", x, got, want)
				}
				kinds[got[0]]++
				if l, rr, ok := r.Children(); ok {
					walk(l)
					walk(rr)
				}
			}
			root, _ := tr.RootRef()
			walk(root)
			if len(kinds) != 4 {
				t.Fatalf("node kinds %v: the tree lacks a kind", kinds)
			}

			store := NewMemoryStorage()
			l := &groupLog{store: store, id: []byte("g"), refs: map[nodeKey]int32{}}
			var bt Batch
			w := l.newNodeWalk(&bt)
			w.addTree(tr)
			if bt.Len() != 7 {
				t.Fatalf("%d nodes stored, want 7", bt.Len())
			}
			if err := store.Commit(ctx, &bt); err != nil {
				t.Fatal(err)
			}
			got, err := loadTree(ctx, store, l.id, tr.Suite(), tr.LeafCount(), tr.Hash())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Hash(), tr.Hash()) {
				t.Fatal("the loaded tree differs")
			}
		})
	}
}
