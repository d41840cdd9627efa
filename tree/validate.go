package tree

import (
	"bytes"
	"fmt"
	"slices"
	"sync"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/treemath"
)

// Validate checks a ratchet tree the way a new member must before using it
// [RFC 9420, Section 12.4.3.1]:
//
//   - if treeHash is not nil, the root tree hash equals it (ErrTreeHash);
//   - every unmerged_leaves list is sorted, names non-blank leaves below its
//     node, and each such leaf is also listed by every non-blank node in
//     between (ErrUnmergedLeaves);
//   - no encryption key appears in two nodes and no signature key in two
//     leaves (ErrDuplicateKey);
//   - every non-blank parent node is parent-hash valid [RFC 9420, Section
//     7.9.2]: exactly one descendant chains to it (ErrParentHash);
//   - every leaf node's signature verifies over its LeafNodeTBS, with
//     groupID and the leaf index for the update and commit sources
//     (ErrLeafSignature).
//
// The first failure is returned, naming the node. Leaf signatures are
// verified in parallel; the reported failure is always the one of the
// lowest leaf index, so the result does not depend on scheduling.
// Credential, capability and lifetime checks are group policy and left to
// the caller.
//
// [RFC 9420, Section 12.4.3.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.1
// [RFC 9420, Section 7.9.2]: https://www.rfc-editor.org/rfc/rfc9420#section-7.9.2
func (t Tree) Validate(groupID, treeHash []byte) error {
	if t.root == nil {
		return fmt.Errorf("%w: empty tree", ErrLeafIndex)
	}
	if treeHash != nil && !bytes.Equal(t.root.treeHash(), treeHash) {
		return fmt.Errorf("%w: got %x, want %x", ErrTreeHash, t.root.treeHash(), treeHash)
	}
	if err := t.checkUnmergedLeaves(); err != nil {
		return err
	}
	if err := t.checkKeyUniqueness(); err != nil {
		return err
	}
	if err := t.VerifyParentHashes(); err != nil {
		return err
	}
	return t.VerifyLeafSignatures(groupID)
}

// walk calls fn for every non-blank node of the subtree n (level level,
// leftmost leaf first) in array order, stopping at the first error.
func walk(n *node, first treemath.LeafIndex, level uint, fn func(x treemath.NodeIndex, n *node) error) error {
	if n.occupied == 0 {
		return nil
	}
	if level == 0 {
		return fn(first.Node(), n)
	}
	if err := walk(n.left, first, level-1, fn); err != nil {
		return err
	}
	if n.parent != nil {
		if err := fn(ancestorAt(first, level), n); err != nil {
			return err
		}
	}
	return walk(n.right, first+treemath.LeafIndex(1)<<(level-1), level-1, fn)
}

func (t Tree) walk(fn func(x treemath.NodeIndex, n *node) error) error {
	if t.root == nil {
		return nil
	}
	return walk(t.root, 0, t.depth(), fn)
}

// checkUnmergedLeaves implements the unmerged-leaf rules of RFC 9420,
// Sections 7.1 and 12.4.3.1.
func (t Tree) checkUnmergedLeaves() error {
	return t.walk(func(x treemath.NodeIndex, n *node) error {
		if n.parent == nil {
			return nil
		}
		_, _, raw := n.parent.fields()
		um := make([]treemath.LeafIndex, len(raw)/4)
		for j := range um {
			um[j] = unmergedAt(raw, j)
		}
		for j, u := range um {
			// "The entries in the unmerged_leaves vector MUST be sorted in
			// increasing order" (Section 7.1).
			if j > 0 && um[j-1] >= u {
				return fmt.Errorf("%w: node %d: unmerged_leaves not sorted increasingly", ErrUnmergedLeaves, x)
			}
			// "Verify that the entry represents a non-blank leaf node that
			// is a descendant of the parent node."
			if uint64(u) >= uint64(t.leaves) || !treemath.IsAncestor(x, u.Node()) {
				return fmt.Errorf("%w: node %d: unmerged leaf %d is not below it", ErrUnmergedLeaves, x, u)
			}
			if _, ok := t.leaf(u); !ok {
				return fmt.Errorf("%w: node %d: unmerged leaf %d is blank", ErrUnmergedLeaves, x, u)
			}
			// "Verify that every non-blank intermediate node between the
			// leaf node and the parent node also has an entry for the leaf
			// node in its unmerged_leaves."
			for k := uint(1); k < treemath.Level(x); k++ {
				y := ancestorAt(u, k)
				if p, ok := t.parent(y); ok {
					if _, found := slices.BinarySearch(p.UnmergedLeaves, u); !found {
						return fmt.Errorf("%w: node %d lists unmerged leaf %d but intermediate node %d does not", ErrUnmergedLeaves, x, u, y)
					}
				}
			}
		}
		return nil
	})
}

// checkKeyUniqueness implements "the encryption key in the parent node does
// not appear in any other node of the tree" (Section 12.4.3.1) and the
// uniqueness of leaf signature and encryption keys (Section 7.3).
func (t Tree) checkKeyUniqueness() error {
	dup := func(kind keyKind, key []byte, x treemath.NodeIndex, what string) error {
		if h := t.holders(kind, key); len(h) > 1 {
			return fmt.Errorf("%w: %s of node %d also held by node %d", ErrDuplicateKey, what, x, otherHolder(h, x))
		}
		return nil
	}
	return t.walk(func(x treemath.NodeIndex, n *node) error {
		if n.leaf != nil {
			enc, sig := n.leaf.keys()
			if err := dup(kindSignature, sig, x, "signature key"); err != nil {
				return err
			}
			return dup(kindEncryption, enc, x, "encryption key")
		}
		return dup(kindEncryption, n.parent.key(), x, "encryption key")
	})
}

func otherHolder(h []uint32, x treemath.NodeIndex) uint32 {
	for _, y := range h {
		if treemath.NodeIndex(y) != x {
			return y
		}
	}
	return uint32(x)
}

// VerifyParentHashes checks that every non-blank parent node is
// parent-hash valid [RFC 9420, Section 7.9.2], top down: for each
// non-blank parent P there must be exactly one descendant D — in the
// resolution of one child C, the other child being S — such that
// D.parent_hash is the parent hash of P with copath child S (computed over
// S's original tree hash, without P's unmerged leaves) and the resolution
// of C minus D is exactly P's unmerged leaves under C. Since every
// non-blank parent is checked, each one chains down to a leaf.
//
// [RFC 9420, Section 7.9.2]: https://www.rfc-editor.org/rfc/rfc9420#section-7.9.2
func (t Tree) VerifyParentHashes() error {
	b := newBuilder(t.s)
	return t.walk(func(x treemath.NodeIndex, n *node) error {
		if n.parent == nil {
			return nil
		}
		key, ph0, _ := n.parent.fields()
		um := n.parent.unmerged()
		k := treemath.Level(x)
		first := treemath.LeafIndex((uint64(x) + 1 - uint64(1)<<k) / 2)
		mid := first + treemath.LeafIndex(1)<<(k-1)
		matches := 0
		for side := range 2 {
			c, s := n.left, n.right
			cx, cFirst, sFirst := treemath.Left(x), first, mid
			if side == 1 {
				c, s = n.right, n.left
				cx, cFirst, sFirst = treemath.Right(x), mid, first
			}
			osth, err := b.originalHash(s, sFirst, k-1, unmergedIn(um, sFirst, k-1))
			if err != nil {
				return err
			}
			ph, err := parentHash(t.s, key, ph0, osth)
			if err != nil {
				return err
			}
			if chainsTo(c, cx, unmergedIn(um, cFirst, k-1), ph) {
				matches++
			}
		}
		if matches != 1 {
			return fmt.Errorf("%w: parent node %d is not parent-hash valid (%d matching children)", ErrParentHash, x, matches)
		}
		return nil
	})
}

// unmergedIn returns the entries of the sorted list um that lie in the
// subtree of the given level whose leftmost leaf is first.
func unmergedIn(um []treemath.LeafIndex, first treemath.LeafIndex, level uint) []treemath.LeafIndex {
	end := uint64(first) + uint64(1)<<level
	lo, _ := slices.BinarySearch(um, first)
	hi := lo
	for hi < len(um) && uint64(um[hi]) < end {
		hi++
	}
	return um[lo:hi]
}

// chainsTo reports whether some node D in the resolution of c (node index
// cx) has parent_hash ph and the rest of that resolution is exactly the
// leaves um (RFC 9420, Section 7.9.2, third criterion).
func chainsTo(c *node, cx treemath.NodeIndex, um []treemath.LeafIndex, ph []byte) bool {
	if c.occupied == 0 {
		return false
	}
	res := resolution(c, cx, nil, make([]treemath.NodeIndex, 0, len(um)+1))
	if len(res) != len(um)+1 {
		return false
	}
	want := make([]treemath.NodeIndex, len(um))
	for i, u := range um {
		want[i] = u.Node()
	}
	for j, d := range res {
		dn := lookupBelow(c, cx, d)
		if !bytes.Equal(nodeParentHash(dn), ph) {
			continue
		}
		rest := slices.Concat(res[:j], res[j+1:])
		slices.Sort(rest)
		if slices.Equal(rest, want) {
			return true
		}
	}
	return false
}

// lookupBelow returns the node at index x inside the subtree n rooted at
// index nx.
func lookupBelow(n *node, nx, x treemath.NodeIndex) *node {
	for nx != x {
		if x < nx {
			n, nx = n.left, treemath.Left(nx)
		} else {
			n, nx = n.right, treemath.Right(nx)
		}
	}
	return n
}

// nodeParentHash returns the parent_hash field of a node: a parent's, or a
// leaf's when its source is commit; nil otherwise.
func nodeParentHash(n *node) []byte {
	switch {
	case n.parent != nil:
		_, ph, _ := n.parent.fields()
		return ph
	case n.leaf != nil:
		if v := n.leaf.view(); v.source == codec.LeafNodeSourceCommit {
			return v.parentHash
		}
	}
	return nil
}

// originalHash returns the tree hash of subtree n with the leaves in excl
// (sorted, all inside n) blanked and removed from every unmerged_leaves
// list (RFC 9420, Section 7.9: original_sibling_tree_hash). Subtrees
// without excluded leaves reuse their cached hash, so the cost is
// O(len(excl) · log N) hashes.
func (b *builder) originalHash(n *node, first treemath.LeafIndex, level uint, excl []treemath.LeafIndex) ([]byte, error) {
	if len(excl) == 0 {
		return n.treeHash(), nil
	}
	if level == 0 {
		in, err := b.leafHashInput(first, nil)
		if err != nil {
			return nil, err
		}
		return b.s.Hash(in), nil
	}
	mid := first + treemath.LeafIndex(1)<<(level-1)
	split, _ := slices.BinarySearch(excl, mid)
	lh, err := b.originalHash(n.left, first, level-1, excl[:split])
	if err != nil {
		return nil, err
	}
	rh, err := b.originalHash(n.right, mid, level-1, excl[split:])
	if err != nil {
		return nil, err
	}
	p := n.parent
	if p != nil {
		// The parent with the excluded leaves left out of its unmerged
		// leaves (records are immutable: a new one).
		um := slices.DeleteFunc(p.unmerged(), func(u treemath.LeafIndex) bool {
			_, found := slices.BinarySearch(excl, u)
			return found
		})
		if p, err = p.withUnmerged(um); err != nil {
			return nil, err
		}
	}
	in, err := b.parentHashInput(p, lh, rh)
	if err != nil {
		return nil, err
	}
	return b.s.Hash(in), nil
}

// verifyWorkers is the fixed fan-out of VerifyLeafSignatures: a constant,
// not the number of CPUs, so the work split never depends on the machine
// (the results are combined in leaf order either way); eight goroutines
// keep up to eight cores busy and cost little on fewer.
const verifyWorkers = 8

// VerifyLeafSignatures verifies the signature of every non-blank leaf over
// its LeafNodeTBS [RFC 9420, Section 7.2], with groupID and the leaf index
// as context for the update and commit sources. The checks run in
// parallel on verifyWorkers goroutines (sequentially for small trees); the
// error reported is the one of the lowest failing leaf.
//
// [RFC 9420, Section 7.2]: https://www.rfc-editor.org/rfc/rfc9420#section-7.2
func (t Tree) VerifyLeafSignatures(groupID []byte) error {
	type member struct {
		i treemath.LeafIndex
		r *leafRec
	}
	var ms []member
	for i, r := range t.memberRecs() {
		ms = append(ms, member{i, r})
	}
	errs := make([]error, len(ms))
	workers := verifyWorkers
	if len(ms) < 2*workers {
		for j, m := range ms {
			if errs[j] = m.r.verify(t.s, groupID, m.i); errs[j] != nil {
				return errs[j]
			}
		}
		return nil
	}
	// Deterministic fan-out: worker w checks members w, w+workers, ...;
	// errors land in index order.
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for j := w; j < len(ms); j += workers {
				errs[j] = ms[j].r.verify(t.s, groupID, ms[j].i)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
