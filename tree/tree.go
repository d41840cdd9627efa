package tree

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"math/bits"
	"slices"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// Tree is a persistent ratchet tree [RFC 9420, Section 4]. A Tree is an
// immutable value: no method modifies its receiver; each change returns a
// new Tree that shares every unchanged subtree with the old one, so
// changing one leaf and its direct path allocates O(log N) nodes and both
// versions stay usable. The zero Tree is empty (no leaves) and only useful
// as "no tree yet".
//
// The leaf count is always a power of two, as [RFC 9420, Section 7.7]
// requires. A Tree keeps each leaf and parent node as its encoding
// (decoded when it is read: see leafRec and parentRec), so the LeafNode
// and ParentNode values passed in are not retained, and those returned
// are fresh.
//
// [RFC 9420, Section 4]: https://www.rfc-editor.org/rfc/rfc9420#section-4
// [RFC 9420, Section 7.7]: https://www.rfc-editor.org/rfc/rfc9420#section-7.7
type Tree struct {
	s      *suite.Suite
	root   *node
	leaves treemath.LeafCount
	keys   keyIndex
	// built counts the nodes constructed by the operation that returned
	// this value; tests use it to bound allocations per operation.
	built int
}

// New returns a one-leaf tree holding self at leaf 0, the tree of a newly
// created group [RFC 9420, Section 11].
//
// [RFC 9420, Section 11]: https://www.rfc-editor.org/rfc/rfc9420#section-11
func New(s *suite.Suite, self *codec.LeafNode) (Tree, error) {
	if self == nil {
		return Tree{}, fmt.Errorf("%w: nil leaf node", ErrLeafIndex)
	}
	rec, err := newLeafRec(self)
	if err != nil {
		return Tree{}, err
	}
	b := newBuilder(s)
	n, err := b.leafNode(0, rec)
	if err != nil {
		return Tree{}, err
	}
	t := Tree{s: s, root: n, leaves: 1, built: b.count}
	t.keys = t.keys.indexLeaf(0, rec)
	return t, nil
}

// Suite returns the tree's cipher suite.
func (t Tree) Suite() *suite.Suite { return t.s }

// LeafCount returns the number of leaves (blank ones included), a power of
// two, or 0 for the zero Tree.
func (t Tree) LeafCount() treemath.LeafCount { return t.leaves }

// MemberCount returns the number of non-blank leaves.
func (t Tree) MemberCount() int {
	if t.root == nil {
		return 0
	}
	return int(t.root.members)
}

// Hash returns the tree hash of the root [RFC 9420, Section 7.8]. It is
// cached: O(1). The caller owns the returned slice.
//
// [RFC 9420, Section 7.8]: https://www.rfc-editor.org/rfc/rfc9420#section-7.8
func (t Tree) Hash() []byte {
	if t.root == nil {
		return nil
	}
	return slices.Clone(t.root.treeHash())
}

// depth returns log2 of the leaf count: the level of the root.
func (t Tree) depth() uint { return treemath.Level(treemath.Root(t.leaves)) }

// lookup returns the node at index x, or nil if x is outside the tree.
func (t Tree) lookup(x treemath.NodeIndex) *node {
	if t.root == nil || !treemath.IsInTree(x, t.leaves) {
		return nil
	}
	n, cur := t.root, treemath.Root(t.leaves)
	for cur != x {
		if x < cur {
			n, cur = n.left, treemath.Left(cur)
		} else {
			n, cur = n.right, treemath.Right(cur)
		}
	}
	return n
}

// NodeHash returns the tree hash of the subtree rooted at x [RFC 9420,
// Section 7.8] and whether x is in the tree. It costs O(log N).
//
// [RFC 9420, Section 7.8]: https://www.rfc-editor.org/rfc/rfc9420#section-7.8
func (t Tree) NodeHash(x treemath.NodeIndex) ([]byte, bool) {
	n := t.lookup(x)
	if n == nil {
		return nil, false
	}
	return slices.Clone(n.treeHash()), true
}

// leafRec returns the record of the leaf node at leaf index i, or nil and
// false if i is blank or outside the tree. The record is shared with t.
func (t Tree) leafRec(i treemath.LeafIndex) (*leafRec, bool) {
	if uint64(i) >= uint64(t.leaves) {
		return nil, false
	}
	n := t.lookup(i.Node())
	return n.leaf, n.leaf != nil
}

// leaf returns the leaf node at leaf index i, decoded from its record (a
// fresh value the caller owns), or nil and false if i is blank or outside
// the tree.
func (t Tree) leaf(i treemath.LeafIndex) (*codec.LeafNode, bool) {
	r, ok := t.leafRec(i)
	if !ok {
		return nil, false
	}
	ln := r.decode()
	return ln, ln != nil
}

// parentRec returns the record of the parent node at node index x, or nil
// and false if x is blank, a leaf, or outside the tree. The record is
// shared with t.
func (t Tree) parentRec(x treemath.NodeIndex) (*parentRec, bool) {
	if x.IsLeaf() {
		return nil, false
	}
	n := t.lookup(x)
	if n == nil {
		return nil, false
	}
	return n.parent, n.parent != nil
}

// parent returns the parent node at node index x, decoded from its record
// (a fresh value the caller owns), or nil and false if x is blank, a leaf,
// or outside the tree.
func (t Tree) parent(x treemath.NodeIndex) (*codec.ParentNode, bool) {
	r, ok := t.parentRec(x)
	if !ok {
		return nil, false
	}
	p := r.decode()
	return p, p != nil
}

// IsBlank reports whether node x is blank (or outside the tree).
func (t Tree) IsBlank(x treemath.NodeIndex) bool {
	n := t.lookup(x)
	return n == nil || n.blank()
}

// encryptionKey returns the HPKE public key of node x, or nil if x is blank
// or outside the tree. The result is shared with t.
func (t Tree) encryptionKey(x treemath.NodeIndex) []byte {
	n := t.lookup(x)
	switch {
	case n == nil:
		return nil
	case n.leaf != nil:
		enc, _ := n.leaf.keys()
		return enc
	case n.parent != nil:
		return n.parent.key()
	}
	return nil
}

// members iterates over the non-blank leaves in increasing leaf index
// order, yielding each leaf node decoded from its record (fresh values the
// caller owns). Whole blank subtrees are skipped.
func (t Tree) members() iter.Seq2[treemath.LeafIndex, *codec.LeafNode] {
	return func(yield func(treemath.LeafIndex, *codec.LeafNode) bool) {
		for i, r := range t.memberRecs() {
			ln := r.decode()
			if ln == nil {
				continue // unreachable: records decode (newLeafRec)
			}
			if !yield(i, ln) {
				return
			}
		}
	}
}

// memberRecs iterates over the non-blank leaves in increasing leaf index
// order, yielding their records, shared with t.
func (t Tree) memberRecs() iter.Seq2[treemath.LeafIndex, *leafRec] {
	return func(yield func(treemath.LeafIndex, *leafRec) bool) {
		if t.root != nil {
			walkMembers(t.root, 0, t.depth(), yield)
		}
	}
}

func walkMembers(n *node, first treemath.LeafIndex, level uint, yield func(treemath.LeafIndex, *leafRec) bool) bool {
	if n.members == 0 {
		return true
	}
	if level == 0 {
		return yield(first, n.leaf)
	}
	return walkMembers(n.left, first, level-1, yield) &&
		walkMembers(n.right, first+treemath.LeafIndex(1)<<(level-1), level-1, yield)
}

// LeafBySignatureKey returns the leaf holding the signature key key, in
// O(log N), for the uniqueness rules of [RFC 9420, Section 7.3]
// (ValSem101).
//
// [RFC 9420, Section 7.3]: https://www.rfc-editor.org/rfc/rfc9420#section-7.3
func (t Tree) LeafBySignatureKey(key []byte) (treemath.LeafIndex, bool) {
	h := t.holders(kindSignature, key)
	if len(h) == 0 {
		return 0, false
	}
	return treemath.NodeIndex(h[0]).Leaf(), true
}

// NodeByEncryptionKey returns the node (leaf or parent) holding the HPKE
// encryption key key, in O(log N), for the uniqueness rules of
// [RFC 9420, Section 7.3] and [RFC 9420, Section 12.4.3.1] (ValSem103,
// ValSem110, ValSem206, ValSem207).
//
// [RFC 9420, Section 7.3]: https://www.rfc-editor.org/rfc/rfc9420#section-7.3
// [RFC 9420, Section 12.4.3.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.1
func (t Tree) NodeByEncryptionKey(key []byte) (treemath.NodeIndex, bool) {
	h := t.holders(kindEncryption, key)
	if len(h) == 0 {
		return 0, false
	}
	return treemath.NodeIndex(h[0]), true
}

// holders returns the nodes holding key in the key space kind, sorted (nil
// if none): the index's candidates, each checked against its node's key.
// The slice must not be modified.
func (t Tree) holders(kind keyKind, key []byte) []uint32 {
	c := t.keys.lookup(kind, key)
	for i, x := range c {
		if !t.holds(kind, key, treemath.NodeIndex(x)) {
			// A hash collision: keep only the true holders.
			out := slices.Clone(c[:i])
			for _, y := range c[i+1:] {
				if t.holds(kind, key, treemath.NodeIndex(y)) {
					out = append(out, y)
				}
			}
			if len(out) == 0 {
				return nil
			}
			return out
		}
	}
	return c
}

// holds reports whether node x holds key in the key space kind.
func (t Tree) holds(kind keyKind, key []byte, x treemath.NodeIndex) bool {
	n := t.lookup(x)
	switch {
	case n == nil:
		return false
	case n.leaf != nil && kind == kindSignature:
		_, sig := n.leaf.keys()
		return bytes.Equal(sig, key)
	case n.leaf != nil:
		enc, _ := n.leaf.keys()
		return bytes.Equal(enc, key)
	case n.parent != nil && kind == kindEncryption:
		return bytes.Equal(n.parent.key(), key)
	}
	return false
}

// Index maintenance. Each non-blank leaf contributes its signature and
// encryption keys, each non-blank parent its encryption key.

func (ix keyIndex) indexLeaf(i treemath.LeafIndex, ln *leafRec) keyIndex {
	return ix.indexLeafKeys(i, ln, true)
}

func (ix keyIndex) unindexLeaf(i treemath.LeafIndex, ln *leafRec) keyIndex {
	return ix.unindexLeafKeys(i, ln, true)
}

// indexLeafKeys adds ln's encryption key, and its signature key if sig,
// as keys of leaf i.
func (ix keyIndex) indexLeafKeys(i treemath.LeafIndex, ln *leafRec, sig bool) keyIndex {
	if ln == nil {
		return ix
	}
	x := uint32(i.Node())
	enc, sk := ln.keys()
	if sig {
		ix = ix.insert(kindSignature, sk, x)
	}
	return ix.insert(kindEncryption, enc, x)
}

// unindexLeafKeys removes what indexLeafKeys adds.
func (ix keyIndex) unindexLeafKeys(i treemath.LeafIndex, ln *leafRec, sig bool) keyIndex {
	if ln == nil {
		return ix
	}
	x := uint32(i.Node())
	enc, sk := ln.keys()
	if sig {
		ix = ix.remove(kindSignature, sk, x)
	}
	return ix.remove(kindEncryption, enc, x)
}

func (ix keyIndex) reindexParent(x treemath.NodeIndex, old, p *parentRec) keyIndex {
	if old == p || (old != nil && p != nil && bytes.Equal(old.key(), p.key())) {
		if p != nil {
			// The key stays without an insert: count it as met, so that
			// a batch that keeps a key is checked key by key.
			ix.tx.collide()
		}
		return ix
	}
	if old != nil {
		ix = ix.remove(kindEncryption, old.key(), uint32(x))
	}
	if p != nil {
		ix = ix.insert(kindEncryption, p.key(), uint32(x))
	}
	return ix
}

// unindexSubtree removes the keys of every non-blank node of n (whose
// leftmost leaf is first) from the index. Blank subtrees are skipped.
func (ix keyIndex) unindexSubtree(n *node, first treemath.LeafIndex, level uint) keyIndex {
	if n.occupied == 0 {
		return ix
	}
	if level == 0 {
		return ix.unindexLeaf(first, n.leaf)
	}
	x := ancestorAt(first, level)
	ix = ix.reindexParent(x, n.parent, nil)
	ix = ix.unindexSubtree(n.left, first, level-1)
	return ix.unindexSubtree(n.right, first+treemath.LeafIndex(1)<<(level-1), level-1)
}

// ancestorAt returns the node index of leaf i's ancestor at level k
// (k = 0 gives the leaf itself).
func ancestorAt(i treemath.LeafIndex, k uint) treemath.NodeIndex {
	return treemath.NodeIndex((uint64(i)>>k)<<(k+1) | (uint64(1)<<k - 1))
}

// rebuild returns the root of a tree equal to t except for leaf i, whose
// content becomes leaf, and its ancestors, whose content becomes
// parentAt(x, old) for each ancestor x with old content old. Only the
// depth+1 nodes of that path are built; every copath subtree is shared.
func (t Tree) rebuild(b *builder, i treemath.LeafIndex, leaf *leafRec, parentAt func(x treemath.NodeIndex, old *parentRec) *parentRec) (*node, error) {
	d := t.depth()
	var path [33]*node // path[k] is the ancestor at level k
	n := t.root
	for k := d; ; k-- {
		path[k] = n
		if k == 0 {
			break
		}
		if (uint64(i)>>(k-1))&1 == 0 {
			n = n.left
		} else {
			n = n.right
		}
	}
	cur, err := b.leafNode(i, leaf)
	if err != nil {
		return nil, err
	}
	for k := uint(1); k <= d; k++ {
		old := path[k]
		p := parentAt(ancestorAt(i, k), old.parent)
		if (uint64(i)>>(k-1))&1 == 0 {
			cur, err = b.parentNode(p, cur, old.right)
		} else {
			cur, err = b.parentNode(p, old.left, cur)
		}
		if err != nil {
			return nil, err
		}
	}
	return cur, nil
}

// blankParent is the parentAt function that blanks the whole direct path.
func blankParent(treemath.NodeIndex, *parentRec) *parentRec { return nil }

// leftmostBlank returns the leftmost blank leaf, and false if every leaf is
// occupied.
func (t Tree) leftmostBlank() (treemath.LeafIndex, bool) {
	d := t.depth()
	if uint64(t.root.members) == uint64(1)<<d {
		return 0, false
	}
	n, first := t.root, treemath.LeafIndex(0)
	for k := d; k > 0; k-- {
		if uint64(n.left.members) < uint64(1)<<(k-1) {
			n = n.left
		} else {
			n, first = n.right, first+treemath.LeafIndex(1)<<(k-1)
		}
	}
	return first, true
}

// extend doubles the tree: a new blank root over the old tree and a blank
// right subtree of the same size [RFC 9420, Section 7.7].
func (t Tree) extend(b *builder) (Tree, error) {
	if t.leaves >= treemath.MaxLeaves {
		return t, fmt.Errorf("%w: %d leaves", ErrTreeTooLarge, t.leaves)
	}
	d := t.depth()
	right, err := b.blankSubtree(treemath.LeafIndex(t.leaves), d)
	if err != nil {
		return t, err
	}
	root, err := b.parentNode(nil, t.root, right)
	if err != nil {
		return t, err
	}
	t.root, t.leaves = root, t.leaves*2
	return t, nil
}

// Add places ln at the leftmost blank leaf, extending the tree if there is
// none, and adds the new leaf index to the unmerged_leaves of every
// non-blank parent on its direct path [RFC 9420, Section 12.1.1]. It
// returns the new tree and the new member's leaf index. A signature or
// encryption key already in the tree is rejected (ValSem101, ValSem103).
//
// [RFC 9420, Section 12.1.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1.1
func (t Tree) Add(ln *codec.LeafNode) (Tree, treemath.LeafIndex, error) {
	if ln == nil || t.root == nil {
		return t, 0, fmt.Errorf("%w: add to an empty tree or of a nil leaf node", ErrLeafIndex)
	}
	// ValSem101: the signature key must be unique among members.
	if j, ok := t.LeafBySignatureKey(ln.SignatureKey); ok {
		return t, 0, valsem.Wrap(valsem.ValSem101, ErrDuplicateKey, fmt.Sprintf("signature key already used by leaf %d", j))
	}
	// ValSem103: the encryption key must be unique in the tree.
	if x, ok := t.NodeByEncryptionKey(ln.EncryptionKey); ok {
		return t, 0, valsem.Wrap(valsem.ValSem103, ErrDuplicateKey, fmt.Sprintf("encryption key already used by node %d", x))
	}
	rec, err := newLeafRec(ln)
	if err != nil {
		return t, 0, err
	}
	b := newBuilder(t.s)
	nt := t
	i, ok := t.leftmostBlank()
	if !ok {
		var err error
		if nt, err = t.extend(b); err != nil {
			return t, 0, err
		}
		i = treemath.LeafIndex(t.leaves)
	}
	var perr error
	root, err := nt.rebuild(b, i, rec, func(_ treemath.NodeIndex, old *parentRec) *parentRec {
		if old == nil {
			return nil
		}
		um := old.unmerged()
		j, _ := slices.BinarySearch(um, i)
		np, err := old.withUnmerged(slices.Insert(um, j, i))
		if err != nil {
			perr = err
			return old
		}
		return np
	})
	if err == nil {
		err = perr
	}
	if err != nil {
		return t, 0, err
	}
	nt.root = root
	nt.keys = nt.keys.indexLeaf(i, rec)
	nt.built = b.count
	return nt, i, nil
}

// Update replaces the leaf node of member i with ln and blanks its direct
// path, as an Update proposal does [RFC 9420, Section 12.1.2]. A signature
// key held by another member is rejected (ErrDuplicateKey), an encryption
// key held by another node too (ValSem110).
//
// [RFC 9420, Section 12.1.2]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1.2
func (t Tree) Update(i treemath.LeafIndex, ln *codec.LeafNode) (Tree, error) {
	old, ok := t.leafRec(i)
	if !ok || ln == nil {
		return t, fmt.Errorf("%w: update of leaf %d", ErrLeafIndex, i)
	}
	if j, ok := t.LeafBySignatureKey(ln.SignatureKey); ok && j != i {
		return t, fmt.Errorf("%w: signature key already used by leaf %d", ErrDuplicateKey, j)
	}
	// ValSem110: the encryption key must be unique in the tree.
	for _, x := range t.holders(kindEncryption, ln.EncryptionKey) {
		if treemath.NodeIndex(x) != i.Node() {
			return t, valsem.Wrap(valsem.ValSem110, ErrDuplicateKey, fmt.Sprintf("encryption key already used by node %d", x))
		}
	}
	rec, err := newLeafRec(ln)
	if err != nil {
		return t, err
	}
	nt, _, err := t.replacePath(i, old, rec, blankParent)
	return nt, err
}

// replacePath rebuilds leaf i (old content old) and its direct path and
// keeps the key index in step. It also reports whether a key it inserted
// met its hash held by another node (keyIndex.collided): if not, every
// key of the new leaf and parents has no other holder.
func (t Tree) replacePath(i treemath.LeafIndex, old, ln *leafRec, parentAt func(treemath.NodeIndex, *parentRec) *parentRec) (Tree, bool, error) {
	b := newBuilder(t.s)
	// One batch for the 2(d+1) key changes of the path: the upper trie
	// nodes are copied once, not once per key.
	keys := t.keys.begin()
	// A leaf that keeps its signature key (an update or a commit's path
	// usually does) keeps its index entry: its other holders, if any,
	// are the old index's, and count as met (keyIndex.collided).
	var keepSig bool
	if old != nil && ln != nil {
		_, os := old.keys()
		_, ns := ln.keys()
		keepSig = bytes.Equal(os, ns)
		if keepSig && len(keys.lookup(kindSignature, ns)) > 1 {
			keys.tx.collide()
		}
	}
	keys = keys.unindexLeafKeys(i, old, !keepSig)
	root, err := t.rebuild(b, i, ln, func(x treemath.NodeIndex, op *parentRec) *parentRec {
		p := parentAt(x, op)
		keys = keys.reindexParent(x, op, p)
		return p
	})
	if err != nil {
		return t, false, err
	}
	keys = keys.indexLeafKeys(i, ln, !keepSig)
	nt := t
	nt.root, nt.keys, nt.built = root, keys.end(), b.count
	return nt, keys.collided(), nil
}

// Remove blanks the leaf of member i and its direct path, then truncates
// the tree while its right half holds no member [RFC 9420, Section
// 12.1.3]. A blank or out-of-range i is rejected (ValSem108).
//
// [RFC 9420, Section 12.1.3]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1.3
func (t Tree) Remove(i treemath.LeafIndex) (Tree, error) {
	old, ok := t.leafRec(i)
	if !ok {
		// ValSem108: the removed member must be a member.
		return t, valsem.Wrap(valsem.ValSem108, ErrLeafIndex, fmt.Sprintf("leaf %d is blank or outside the tree", i))
	}
	nt, _, err := t.replacePath(i, old, nil, blankParent)
	if err != nil {
		return t, err
	}
	return nt.truncate(), nil
}

// truncate drops the right half of the tree, root included, while that half
// has no non-blank leaf [RFC 9420, Section 7.7]. Keys of dropped non-blank
// nodes leave the index.
func (t Tree) truncate() Tree {
	for t.leaves > 1 && t.root.right.members == 0 {
		d := t.depth()
		t.keys = t.keys.reindexParent(treemath.Root(t.leaves), t.root.parent, nil)
		t.keys = t.keys.unindexSubtree(t.root.right, treemath.LeafIndex(t.leaves/2), d-1)
		t.root, t.leaves = t.root.left, t.leaves/2
	}
	return t
}

// Resolution returns the resolution of node x [RFC 9420, Section 4.1.2]:
// x itself and its unmerged leaves if x is non-blank, nothing for a blank
// leaf, and the resolutions of its children for a blank parent, in order.
// Leaves in exclude (the members added by the current commit, RFC 9420,
// Section 7.6) are left out. Blank subtrees cost O(1).
//
// [RFC 9420, Section 4.1.2]: https://www.rfc-editor.org/rfc/rfc9420#section-4.1.2
func (t Tree) Resolution(x treemath.NodeIndex, exclude ...treemath.LeafIndex) []treemath.NodeIndex {
	n := t.lookup(x)
	if n == nil {
		return nil
	}
	return resolution(n, x, exclude, nil)
}

func resolution(n *node, x treemath.NodeIndex, exclude []treemath.LeafIndex, out []treemath.NodeIndex) []treemath.NodeIndex {
	switch {
	case n.occupied == 0:
		return out
	case n.leaf != nil:
		if !slices.Contains(exclude, x.Leaf()) {
			out = append(out, x)
		}
		return out
	case n.parent != nil:
		out = append(out, x)
		_, _, um := n.parent.fields()
		for j := range len(um) / 4 {
			if u := unmergedAt(um, j); !slices.Contains(exclude, u) {
				out = append(out, u.Node())
			}
		}
		return out
	}
	out = resolution(n.left, treemath.Left(x), exclude, out)
	return resolution(n.right, treemath.Right(x), exclude, out)
}

// FilteredDirectPath returns the filtered direct path of leaf i
// [RFC 9420, Section 4.1.2]: its direct path without the nodes whose child
// on i's copath has an empty resolution, ordered from the leaf to the root.
//
// [RFC 9420, Section 4.1.2]: https://www.rfc-editor.org/rfc/rfc9420#section-4.1.2
func (t Tree) FilteredDirectPath(i treemath.LeafIndex) []treemath.NodeIndex {
	fdp, _ := t.filteredPath(i)
	return fdp
}

// FilteredCopath returns, for each node of leaf i's filtered direct path,
// its child on i's copath (the node whose resolution receives that node's
// path secret, RFC 9420, Section 7.5).
func (t Tree) FilteredCopath(i treemath.LeafIndex) []treemath.NodeIndex {
	_, cp := t.filteredPath(i)
	return cp
}

// filteredPath returns the filtered direct path of i and the matching
// copath children, each from the leaf up, in O(log N).
func (t Tree) filteredPath(i treemath.LeafIndex) (fdp, copath []treemath.NodeIndex) {
	if uint64(i) >= uint64(t.leaves) {
		return nil, nil
	}
	d := t.depth()
	var sib [33]*node // sib[k] is the copath child under the level-k ancestor
	n := t.root
	for k := d; k > 0; k-- {
		if (uint64(i)>>(k-1))&1 == 0 {
			sib[k], n = n.right, n.left
		} else {
			sib[k], n = n.left, n.right
		}
	}
	for k := uint(1); k <= d; k++ {
		if sib[k].occupied == 0 {
			continue
		}
		x := ancestorAt(i, k)
		fdp = append(fdp, x)
		copath = append(copath, copathChild(x, i))
	}
	return fdp, copath
}

// copathChild returns the child of ancestor x that does not contain leaf i.
func copathChild(x treemath.NodeIndex, i treemath.LeafIndex) treemath.NodeIndex {
	if i.Node() < x {
		return treemath.Right(x)
	}
	return treemath.Left(x)
}

// nodes returns the tree in ratchet_tree form [RFC 9420, Section
// 12.4.3.3]: the nodes in array order, nil for blank ones, without trailing
// blank nodes. The nodes are decoded from their records (fresh values).
//
// [RFC 9420, Section 12.4.3.3]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.3
func (t Tree) nodes() codec.RatchetTree {
	if t.root == nil {
		return nil
	}
	out := make(codec.RatchetTree, 0, treemath.NodeWidth(t.leaves))
	out = appendNodes(out, t.root, t.depth())
	for len(out) > 0 && out[len(out)-1] == nil {
		out = out[:len(out)-1]
	}
	return slices.Clip(out)
}

func appendNodes(out codec.RatchetTree, n *node, level uint) codec.RatchetTree {
	if n.occupied == 0 {
		for range uint64(1)<<(level+1) - 1 {
			out = append(out, nil)
		}
		return out
	}
	if level == 0 {
		return append(out, &codec.Node{NodeType: codec.NodeTypeLeaf, Leaf: n.leaf.decode()})
	}
	out = appendNodes(out, n.left, level-1)
	if n.parent != nil {
		out = append(out, &codec.Node{NodeType: codec.NodeTypeParent, Parent: n.parent.decode()})
	} else {
		out = append(out, nil)
	}
	return appendNodes(out, n.right, level-1)
}

// Encode returns the canonical encoding of the tree as the content of a
// ratchet_tree extension [RFC 9420, Section 12.4.3.3]: optional<Node>
// ratchet_tree<V>, with no trailing blank node.
//
// [RFC 9420, Section 12.4.3.3]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.3
func (t Tree) Encode() ([]byte, error) {
	var width uint64 // nodes up to the last non-blank one
	if t.root != nil && t.root.occupied > 0 {
		width = uint64(lastNode(t.root, treemath.Root(t.leaves), t.depth())) + 1
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, 64))
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		if width > 0 {
			encodeNodes(b, t.root, 0, t.depth(), width)
		}
	})
	return b.Bytes()
}

// lastNode returns the index of the last non-blank node, in array order,
// of the non-blank subtree n rooted at x (level level).
func lastNode(n *node, x treemath.NodeIndex, level uint) treemath.NodeIndex {
	for level > 0 {
		switch {
		case n.right.occupied > 0:
			n, x = n.right, treemath.Right(x)
		case n.parent != nil:
			return x
		default:
			n, x = n.left, treemath.Left(x)
		}
		level--
	}
	return x
}

// encodeNodes appends the optional<Node> entries of the subtree n (level
// level, leftmost leaf first) whose node index is below width: a leaf's
// record is copied as it is, a parent is marshalled, a blank node is one
// zero byte.
func encodeNodes(b *cryptobyte.Builder, n *node, first treemath.LeafIndex, level uint, width uint64) {
	lo := uint64(first.Node())
	if lo >= width {
		return
	}
	if n.occupied == 0 {
		hi := min(lo+uint64(1)<<(level+1)-1, width)
		for range hi - lo {
			b.AddUint8(0)
		}
		return
	}
	if level == 0 {
		b.AddUint8(1)
		b.AddUint8(uint8(codec.NodeTypeLeaf))
		b.AddBytes(n.leaf.raw)
		return
	}
	encodeNodes(b, n.left, first, level-1, width)
	if uint64(ancestorAt(first, level)) < width {
		if n.parent != nil {
			b.AddUint8(1)
			b.AddUint8(uint8(codec.NodeTypeParent))
			b.AddBytes(n.parent.raw)
		} else {
			b.AddUint8(0)
		}
	}
	encodeNodes(b, n.right, first+treemath.LeafIndex(1)<<(level-1), level-1, width)
}

// Decode decodes a ratchet_tree extension [RFC 9420, Section 12.4.3.3]
// into a Tree of suite s with at most maxLeaves leaves. A vector that is
// empty, ends with a blank node or puts a node of the wrong type at some
// position is rejected with ValSem300. Decode checks the shape only: call
// Validate before using a received tree.
//
// The leaf bound is enforced while decoding: a tree of more than
// maxLeaves leaves (rounded up to a power of two, as the tree pads them)
// fails with an error wrapping ErrTreeTooLarge and a *codec.LimitError
// whose Limit is "MaxLeaves", as soon as the node past the largest
// admissible node count is reached, before any node is built. Work and
// memory are therefore bounded by the limit, not by the input's length;
// see the package documentation for the constants.
//
// [RFC 9420, Section 12.4.3.3]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.3
func Decode(s *suite.Suite, data []byte, maxLeaves treemath.LeafCount) (Tree, error) {
	maxLeaves = min(maxLeaves, treemath.MaxLeaves)
	// The tree pads its leaves to a power of two: the largest admissible
	// padded leaf count is the largest power of two within the bound.
	padded := treemath.LeafCount(0)
	if maxLeaves > 0 {
		padded = 1 << (bits.Len32(uint32(maxLeaves)) - 1)
	}
	maxNodes := uint64(0)
	if padded > 0 {
		maxNodes = uint64(treemath.NodeWidth(padded))
	}
	nodes, err := codec.DecodeRatchetTreeMax(data, maxNodes)
	if err != nil {
		var le *codec.LimitError
		if errors.As(err, &le) {
			// More nodes than a tree of padded leaves holds: the tree
			// has at least twice as many leaves.
			return Tree{}, fmt.Errorf("%w: %w", ErrTreeTooLarge,
				&codec.LimitError{Limit: "MaxLeaves", Got: max(2*uint64(padded), 1), Max: uint64(maxLeaves)})
		}
		return Tree{}, err
	}
	// The nodes were decoded: their leaves' encodings decode again.
	return fromNodes(s, nodes, encodeLeafRec)
}

// FromNodes builds a Tree from the nodes of a ratchet_tree extension
// [RFC 9420, Section 12.4.3.3], padding it with blank nodes to a full tree.
// Shape errors are ValSem300; see Decode. The node values are kept by the
// tree and must not be modified afterwards.
//
// [RFC 9420, Section 12.4.3.3]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.3
func FromNodes(s *suite.Suite, nodes codec.RatchetTree) (Tree, error) {
	return fromNodes(s, nodes, newLeafRec)
}

func fromNodes(s *suite.Suite, nodes codec.RatchetTree, rec func(*codec.LeafNode) (*leafRec, error)) (Tree, error) {
	// ValSem300: a ratchet tree must be non-empty, end with a non-blank
	// node and have leaves at even and parents at odd positions.
	if err := nodes.Wellformed(); err != nil {
		return Tree{}, valsem.Wrap(valsem.ValSem300, err, "ratchet_tree")
	}
	if uint64(len(nodes)) > uint64(treemath.NodeWidth(treemath.MaxLeaves)) {
		return Tree{}, fmt.Errorf("%w: %d nodes", ErrTreeTooLarge, len(nodes))
	}
	leaves := treemath.LeafCount(1)
	for uint64(treemath.NodeWidth(leaves)) < uint64(len(nodes)) {
		leaves *= 2
	}
	b := newBuilder(s)
	t := Tree{s: s, leaves: leaves}
	var ix indexBuilder
	root, err := b.fromNodes(nodes, 0, t.depth(), &ix, rec)
	if err != nil {
		return Tree{}, err
	}
	t.root, t.keys, t.built = root, ix.build(), b.count
	return t, nil
}

// fromNodes builds the subtree of the given level whose leftmost leaf is
// first, collecting its keys into ix.
//
// rec makes the leaf records: newLeafRec, or encodeLeafRec for nodes
// decoded from bytes (see Decode).
func (b *builder) fromNodes(nodes codec.RatchetTree, first treemath.LeafIndex, level uint, ix *indexBuilder, rec func(*codec.LeafNode) (*leafRec, error)) (*node, error) {
	at := func(x treemath.NodeIndex) *codec.Node {
		if uint64(x) < uint64(len(nodes)) {
			return nodes[x]
		}
		return nil
	}
	if level == 0 {
		var r *leafRec
		if n := at(first.Node()); n != nil {
			var err error
			if r, err = rec(n.Leaf); err != nil {
				return nil, err
			}
			ix.add(kindSignature, n.Leaf.SignatureKey, uint32(first.Node()))
			ix.add(kindEncryption, n.Leaf.EncryptionKey, uint32(first.Node()))
		}
		return b.leafNode(first, r)
	}
	if uint64(first.Node()) >= uint64(len(nodes)) {
		// Past the end of the vector: the whole subtree is blank.
		return b.blankSubtree(first, level)
	}
	l, err := b.fromNodes(nodes, first, level-1, ix, rec)
	if err != nil {
		return nil, err
	}
	r, err := b.fromNodes(nodes, first+treemath.LeafIndex(1)<<(level-1), level-1, ix, rec)
	if err != nil {
		return nil, err
	}
	x := ancestorAt(first, level)
	var p *parentRec
	if n := at(x); n != nil {
		if p, err = newParentRec(n.Parent); err != nil {
			return nil, err
		}
		ix.add(kindEncryption, n.Parent.EncryptionKey, uint32(x))
	}
	return b.parentNode(p, l, r)
}
