package tree

import (
	"bytes"
	"iter"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/treemath"
)

// A Tree is sealed: the accessors below hand out deep copies of its nodes,
// so that no caller can change a tree, or the group state holding it, by
// writing into a returned value (a changed leaf would leave the cached tree
// hash stale and make the group reject valid messages). The core reads the
// nodes through the Shared accessors, which need a core.Key. A tree keeps
// each node as its encoding (leafRec, parentRec), so every node handed
// out, by the Shared accessors too, is freshly decoded and owned by the
// caller.

// Leaf returns a copy of the leaf node at leaf index i, or nil and false if
// i is blank or outside the tree.
func (t Tree) Leaf(i treemath.LeafIndex) (*codec.LeafNode, bool) {
	return t.leaf(i)
}

// SharedLeaf is Leaf for the core. The result is a fresh value like
// Leaf's (leaf nodes are kept encoded), but callers treat it as shared
// with t and must not modify it, so that the tree may hand out shared
// values again.
func (t Tree) SharedLeaf(_ core.Key, i treemath.LeafIndex) (*codec.LeafNode, bool) {
	return t.leaf(i)
}

// Parent returns a copy of the parent node at node index x, or nil and
// false if x is blank, a leaf, or outside the tree.
func (t Tree) Parent(x treemath.NodeIndex) (*codec.ParentNode, bool) {
	return t.parent(x)
}

// EncryptionKey returns a copy of the HPKE public key of node x, or nil if
// x is blank or outside the tree.
func (t Tree) EncryptionKey(x treemath.NodeIndex) []byte {
	if k := t.encryptionKey(x); k != nil {
		return bytes.Clone(k)
	}
	return nil
}

// Members iterates over the non-blank leaves in increasing leaf index
// order, yielding a copy of each leaf node (decoded from its encoding). Whole blank subtrees are
// skipped.
func (t Tree) Members() iter.Seq2[treemath.LeafIndex, *codec.LeafNode] {
	return t.members()
}

// SharedMembers is Members for the core; like SharedLeaf, its leaf nodes
// must not be modified.
func (t Tree) SharedMembers(_ core.Key) iter.Seq2[treemath.LeafIndex, *codec.LeafNode] {
	return t.members()
}

// Nodes returns a copy of the tree in ratchet_tree form [RFC 9420, Section
// 12.4.3.3]: the nodes in array order, nil for blank ones, without trailing
// blank nodes.
//
// [RFC 9420, Section 12.4.3.3]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.3
func (t Tree) Nodes() codec.RatchetTree {
	return t.nodes()
}

// SharedSignatureKey returns the signature key of member i, read from its
// record without decoding the leaf node, for the core (verifying a
// message's signature): the result is shared with t and must not be
// modified. It returns false if i is blank or outside the tree. Without
// the core's key (core.K) the result is a copy.
func (t Tree) SharedSignatureKey(k core.Key, i treemath.LeafIndex) ([]byte, bool) {
	r, ok := t.leafRec(i)
	if !ok {
		return nil, false
	}
	_, sig := r.keys()
	if !k.Valid() {
		sig = bytes.Clone(sig)
	}
	return sig, true
}
