package tree

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
)

// shortHashLen is the hash length of the suites whose tree hashes a node
// keeps inline (SHA-256: suites 1, 2 and 3).
const shortHashLen = 32

// node is one node of the persistent tree together with its subtree. It is
// never modified after construction, so any number of tree versions can
// share it. A node at level 0 is a leaf (leaf may be nil: blank); a node at
// a higher level is a parent (parent may be nil: blank) with both children
// set.
//
// A tree has about two nodes per member, so the struct is kept to 80
// bytes (a Go size class): a 32-byte tree hash inline, a longer one
// (SHA-384, SHA-512) behind a pointer.
type node struct {
	left, right *node
	leaf        *leafRec
	parent      *parentRec

	// members counts the non-blank leaves of the subtree, occupied its
	// non-blank nodes. They answer "leftmost blank leaf", "may the tree be
	// truncated" and "is this resolution empty" in O(1) per node.
	members  uint32
	occupied uint32

	// hash is the tree hash of this subtree (RFC 9420, Section 7.8),
	// computed once in the constructor: inline when it is 32 bytes long,
	// else in long.
	hash [shortHashLen]byte
	long *[]byte
}

func (n *node) blank() bool { return n.leaf == nil && n.parent == nil }

func (n *node) treeHash() []byte {
	if n.long != nil {
		return *n.long
	}
	return n.hash[:]
}

// builder constructs nodes for one operation: it hashes with the suite and
// counts the nodes it builds (the allocation test reads the count through
// Tree.built).
type builder struct {
	s     *suite.Suite
	count int
	buf   []byte
}

func newBuilder(s *suite.Suite) *builder { return &builder{s: s} }

// leafNode builds the leaf at index i with content ln (nil: blank). Its
// tree hash is H(TreeHashInput{leaf, LeafNodeHashInput{i, ln}}).
func (b *builder) leafNode(i treemath.LeafIndex, ln *leafRec) (*node, error) {
	n := &node{leaf: ln}
	b.count++
	if ln != nil {
		n.members, n.occupied = 1, 1
	}
	in, err := b.leafHashInput(i, ln)
	if err != nil {
		return nil, err
	}
	n.setHash(b.s.Hash(in))
	return n, nil
}

// parentNode builds a parent with content p (nil: blank) over l and r. Its
// tree hash is H(TreeHashInput{parent, ParentNodeHashInput{p, th(l), th(r)}}).
func (b *builder) parentNode(p *parentRec, l, r *node) (*node, error) {
	n := &node{left: l, right: r, parent: p}
	b.count++
	n.members = l.members + r.members
	n.occupied = l.occupied + r.occupied
	if p != nil {
		n.occupied++
	}
	in, err := b.parentHashInput(p, l.treeHash(), r.treeHash())
	if err != nil {
		return nil, err
	}
	n.setHash(b.s.Hash(in))
	return n, nil
}

func (n *node) setHash(h []byte) {
	if len(h) == shortHashLen {
		copy(n.hash[:], h)
		return
	}
	long := h[:len(h):len(h)]
	n.long = &long
}

// Node types of TreeHashInput (RFC 9420, Section 7.8).
const (
	nodeTypeLeaf   = uint8(codec.NodeTypeLeaf)
	nodeTypeParent = uint8(codec.NodeTypeParent)
)

// leafHashInput encodes TreeHashInput for a leaf:
//
//	struct { uint32 leaf_index; optional<LeafNode> leaf_node; } LeafNodeHashInput;
func (b *builder) leafHashInput(i treemath.LeafIndex, ln *leafRec) ([]byte, error) {
	c := cryptobyte.NewBuilder(b.buf[:0])
	c.AddUint8(nodeTypeLeaf)
	c.AddUint32(uint32(i))
	if ln == nil {
		c.AddUint8(0)
	} else {
		c.AddUint8(1)
		c.AddBytes(ln.raw)
	}
	out, err := c.Bytes()
	if err == nil {
		b.buf = out
	}
	return out, err
}

// parentHashInput encodes TreeHashInput for a parent:
//
//	struct { optional<ParentNode> parent_node; opaque left_hash<V>; opaque right_hash<V>; } ParentNodeHashInput;
func (b *builder) parentHashInput(p *parentRec, lh, rh []byte) ([]byte, error) {
	c := cryptobyte.NewBuilder(b.buf[:0])
	c.AddUint8(nodeTypeParent)
	if p == nil {
		c.AddUint8(0)
	} else {
		c.AddUint8(1)
		c.AddBytes(p.raw)
	}
	codec.AddOpaque(c, lh)
	codec.AddOpaque(c, rh)
	out, err := c.Bytes()
	if err == nil {
		b.buf = out
	}
	return out, err
}

// blankSubtree builds an all-blank subtree of the given level whose leftmost
// leaf is first. It costs 2^(level+1)-1 nodes; the tree only does it when it
// doubles, so the cost is amortized over the adds that fill it.
func (b *builder) blankSubtree(first treemath.LeafIndex, level uint) (*node, error) {
	if level == 0 {
		return b.leafNode(first, nil)
	}
	l, err := b.blankSubtree(first, level-1)
	if err != nil {
		return nil, err
	}
	r, err := b.blankSubtree(first+treemath.LeafIndex(1)<<(level-1), level-1)
	if err != nil {
		return nil, err
	}
	return b.parentNode(nil, l, r)
}

// parentHash computes the parent hash of a parent with encryption key
// encKey and parent_hash ph, seen from the child whose sibling has tree hash
// siblingHash (RFC 9420, Section 7.9):
//
//	struct { HPKEPublicKey encryption_key; opaque parent_hash<V>; opaque original_sibling_tree_hash<V>; } ParentHashInput;
func parentHash(s *suite.Suite, encKey, ph, siblingHash []byte) ([]byte, error) {
	if len(encKey) > codec.MaxVarint || len(ph) > codec.MaxVarint || len(siblingHash) > codec.MaxVarint {
		return nil, fmt.Errorf("mls: parent hash input does not encode: %w", codec.ErrTooLong)
	}
	// The input is hashed and dropped: built on the stack when it fits
	// (it is about 100 bytes in every suite but X-Wing's 1216-byte keys).
	var buf [256]byte
	in := codec.AppendOpaque(buf[:0], encKey)
	in = codec.AppendOpaque(in, ph)
	in = codec.AppendOpaque(in, siblingHash)
	return s.Hash(in), nil
}
