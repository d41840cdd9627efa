package tree

import "github.com/mlscore/mlscore/treemath"

// NodeRef is one node of a tree, for a storage that keeps the tree node by
// node (the shell stores every node under its tree hash): a walk from
// RootRef through Children reaches each node in O(1) and copies out only
// what the caller appends, so a walk that stops at the subtrees it already
// stored costs O(nodes visited). The zero NodeRef is not a node.
type NodeRef struct {
	n *node
	x treemath.NodeIndex
}

// RootRef returns the root of t, or false if t has no leaves.
func (t Tree) RootRef() (NodeRef, bool) {
	if t.root == nil {
		return NodeRef{}, false
	}
	return NodeRef{n: t.root, x: treemath.Root(t.leaves)}, true
}

// Index returns the node's index in its tree.
func (r NodeRef) Index() treemath.NodeIndex { return r.x }

// AppendHash appends the node's tree hash (RFC 9420, Section 7.8), which
// commits to its subtree and its position, to dst.
func (r NodeRef) AppendHash(dst []byte) []byte { return append(dst, r.n.treeHash()...) }

// AppendContent appends the encoding of the node's content to dst: the
// LeafNode's of a leaf, the ParentNode's of a parent (RFC 9420, Section
// 7.1), as the tree keeps it; nothing for a blank node, for which blank is
// true.
func (r NodeRef) AppendContent(dst []byte) (out []byte, blank bool) {
	switch {
	case r.n.leaf != nil:
		return append(dst, r.n.leaf.raw...), false
	case r.n.parent != nil:
		return append(dst, r.n.parent.raw...), false
	}
	return dst, true
}

// Children returns the node's left and right children, or false for a
// leaf.
func (r NodeRef) Children() (left, right NodeRef, ok bool) {
	if r.x.IsLeaf() {
		return NodeRef{}, NodeRef{}, false
	}
	return NodeRef{n: r.n.left, x: treemath.Left(r.x)}, NodeRef{n: r.n.right, x: treemath.Right(r.x)}, true
}
