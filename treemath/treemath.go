// Package treemath implements the array-tree arithmetic of RFC 9420,
// Appendix C: the mapping between leaf and node indices of a left-balanced
// binary tree laid out in an array, and the relations between nodes (parent,
// children, sibling, direct path, copath, common ancestor).
//
// Leaves sit at even node indices, parents at odd ones. All arithmetic is done
// in uint64 internally so trees of up to 2^31 leaves (2^32-1 nodes) cannot
// overflow.
//
// [RFC 9420, Appendix C]: https://www.rfc-editor.org/rfc/rfc9420#appendix-C
package treemath

import "math/bits"

// LeafIndex is the position of a leaf among the leaves (0, 1, 2, ...).
type LeafIndex uint32

// NodeIndex is the position of a node in the array representation.
type NodeIndex uint32

// LeafCount is a number of leaves. Tree widths are counted in leaves.
type LeafCount uint32

// MaxLeaves is the largest number of leaves this package supports (2^31).
const MaxLeaves LeafCount = 1 << 31

// Node returns the node index of leaf i.
func (i LeafIndex) Node() NodeIndex { return NodeIndex(uint64(i) * 2) }

// IsLeaf reports whether x is a leaf node.
func (x NodeIndex) IsLeaf() bool { return x%2 == 0 }

// Leaf returns the leaf index of node x, which must be a leaf.
func (x NodeIndex) Leaf() LeafIndex { return LeafIndex(x / 2) }

// Level returns the level of node x: 0 for leaves, k for a parent whose
// children are at level k-1.
func Level(x NodeIndex) uint {
	return uint(bits.TrailingZeros64(^uint64(x)))
}

// NodeWidth returns the number of nodes of a tree with n leaves (2n-1, 0 for n = 0).
func NodeWidth(n LeafCount) uint32 {
	if n == 0 {
		return 0
	}
	return uint32(2*uint64(n) - 1)
}

// Root returns the root node of a tree with n leaves (n > 0).
func Root(n LeafCount) NodeIndex {
	w := uint64(NodeWidth(n))
	if w == 0 {
		return 0
	}
	return NodeIndex((uint64(1) << (bits.Len64(w) - 1)) - 1)
}

// Left returns the left child of parent x. It returns x itself for a leaf.
func Left(x NodeIndex) NodeIndex {
	k := Level(x)
	if k == 0 {
		return x
	}
	return NodeIndex(uint64(x) ^ (uint64(1) << (k - 1)))
}

// Right returns the right child of parent x. It returns x itself for a leaf.
func Right(x NodeIndex) NodeIndex {
	k := Level(x)
	if k == 0 {
		return x
	}
	return NodeIndex(uint64(x) ^ (uint64(3) << (k - 1)))
}

// Parent returns the parent of x in a tree of arbitrary (unbounded) width;
// callers must not ask for the parent of the root.
func Parent(x NodeIndex) NodeIndex {
	k := Level(x)
	b := (uint64(x) >> (k + 1)) & 1
	return NodeIndex((uint64(x) | (uint64(1) << k)) ^ (b << (k + 1)))
}

// Sibling returns the other child of x's parent.
func Sibling(x NodeIndex) NodeIndex {
	p := Parent(x)
	if x < p {
		return Right(p)
	}
	return Left(p)
}

// IsInTree reports whether x is a node of a tree with n leaves.
func IsInTree(x NodeIndex, n LeafCount) bool { return uint64(x) < uint64(NodeWidth(n)) }

// DirectPath returns the direct path of x in a tree with n leaves: the
// ancestors of x from its parent up to and including the root. It is empty
// for the root.
func DirectPath(x NodeIndex, n LeafCount) []NodeIndex {
	r := Root(n)
	if x == r {
		return nil
	}
	d := make([]NodeIndex, 0, Level(r))
	for x != r {
		x = Parent(x)
		d = append(d, x)
	}
	return d
}

// Copath returns the copath of x in a tree with n leaves: the sibling of x
// and of each node of its direct path except the root.
func Copath(x NodeIndex, n LeafCount) []NodeIndex {
	r := Root(n)
	if x == r {
		return nil
	}
	c := make([]NodeIndex, 0, Level(r))
	for x != r {
		c = append(c, Sibling(x))
		x = Parent(x)
	}
	return c
}

// CommonAncestor returns the lowest common ancestor of x and y.
func CommonAncestor(x, y NodeIndex) NodeIndex {
	kx, ky := Level(x)+1, Level(y)+1
	if kx <= ky && uint64(x)>>ky == uint64(y)>>ky {
		return y
	}
	if ky <= kx && uint64(x)>>kx == uint64(y)>>kx {
		return x
	}
	xn, yn := uint64(x), uint64(y)
	k := uint(0)
	for xn != yn {
		xn >>= 1
		yn >>= 1
		k++
	}
	return NodeIndex((xn << k) + (uint64(1) << (k - 1)) - 1)
}

// IsAncestor reports whether a is an ancestor of (or equal to) x.
func IsAncestor(a, x NodeIndex) bool {
	k := Level(a)
	lo := uint64(a) - (uint64(1) << k) + 1
	hi := uint64(a) + (uint64(1) << k) - 1
	return uint64(x) >= lo && uint64(x) <= hi
}
