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
// nodes in place through the Shared accessors, which need a core.Key.

// Leaf returns a copy of the leaf node at leaf index i, or nil and false if
// i is blank or outside the tree.
func (t Tree) Leaf(i treemath.LeafIndex) (*codec.LeafNode, bool) {
	ln, ok := t.leaf(i)
	if !ok {
		return nil, false
	}
	c := codec.Clone(*ln)
	return &c, true
}

// SharedLeaf is Leaf without the copy, for the core: the result is shared
// with t and must not be modified.
func (t Tree) SharedLeaf(_ core.Key, i treemath.LeafIndex) (*codec.LeafNode, bool) {
	return t.leaf(i)
}

// Parent returns a copy of the parent node at node index x, or nil and
// false if x is blank, a leaf, or outside the tree.
func (t Tree) Parent(x treemath.NodeIndex) (*codec.ParentNode, bool) {
	p, ok := t.parent(x)
	if !ok {
		return nil, false
	}
	c := codec.Clone(*p)
	return &c, true
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
// order, yielding a copy of each leaf node. Whole blank subtrees are
// skipped.
func (t Tree) Members() iter.Seq2[treemath.LeafIndex, *codec.LeafNode] {
	return func(yield func(treemath.LeafIndex, *codec.LeafNode) bool) {
		for i, ln := range t.members() {
			c := codec.Clone(*ln)
			if !yield(i, &c) {
				return
			}
		}
	}
}

// SharedMembers is Members without the copies, for the core: the leaf
// nodes are shared with t and must not be modified.
func (t Tree) SharedMembers(_ core.Key) iter.Seq2[treemath.LeafIndex, *codec.LeafNode] {
	return t.members()
}

// Nodes returns a copy of the tree in ratchet_tree form [RFC 9420, Section
// 12.4.3.3]: the nodes in array order, nil for blank ones, without trailing
// blank nodes.
//
// [RFC 9420, Section 12.4.3.3]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.3
func (t Tree) Nodes() codec.RatchetTree {
	ns := t.nodes()
	for i, n := range ns {
		if n != nil {
			c := codec.Clone(*n)
			ns[i] = &c
		}
	}
	return ns
}
