package props

import (
	"golang.org/x/crypto/cryptobyte"
	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// SetProposals returns a content mutation that replaces a commit's
// proposal list with ps, inline.
func SetProposals(ps ...codec.Proposal) func(*codec.FramedContent) {
	return func(c *codec.FramedContent) {
		c.Commit.Proposals = nil
		for i := range ps {
			c.Commit.Proposals = append(c.Commit.Proposals, codec.ProposalOrRef{Type: codec.ProposalOrRefProposal, Proposal: &ps[i]})
		}
	}
}

// Shuffled draws a permutation of ps; the validation rules do not depend
// on the order of a list, so the properties draw it.
func Shuffled(t *rapid.T, ps ...codec.Proposal) []codec.Proposal {
	return rapid.Permutation(ps).Draw(t, "order")
}

// NewKeyPackage creates a new client and returns it with a fresh valid key
// package.
func (w *World) NewKeyPackage(t *rapid.T) (*Member, codec.KeyPackage) {
	c := w.NewClient(t)
	return c, w.KeyPackage(c)
}

// CraftKeyPackage returns a fresh key package of owner changed by mut,
// with its leaf node and itself re-signed by owner: valid but for what mut
// changed.
func (w *World) CraftKeyPackage(owner *Member, mut func(*codec.KeyPackage)) codec.KeyPackage {
	w.t.Helper()
	kp := w.KeyPackage(owner)
	mut(&kp)
	ResignKeyPackage(w.t, owner, &kp)
	return kp
}

// ResignKeyPackage re-signs kp's leaf node and kp with owner's key.
func ResignKeyPackage(t TB, owner *Member, kp *codec.KeyPackage) {
	t.Helper()
	sg := owner.Signer()
	if err := tree.SignLeaf(sg, &kp.LeafNode, nil, 0); err != nil {
		t.Fatalf("sign leaf: %v", err)
	}
	tbs, err := kp.TBS().Encode()
	if err != nil {
		t.Fatalf("key package tbs: %v", err)
	}
	if kp.Signature, err = sg.SignWithLabel("KeyPackageTBS", tbs); err != nil {
		t.Fatalf("sign key package: %v", err)
	}
}

// ResignLeaf re-signs a leaf node of leaf index l of owner's group (an
// update or commit leaf node).
func ResignLeaf(t TB, owner *Member, ln *codec.LeafNode) {
	t.Helper()
	if err := tree.SignLeaf(owner.Signer(), ln, owner.State.GroupID(), owner.State.OwnLeaf()); err != nil {
		t.Fatalf("sign leaf: %v", err)
	}
}

// NodeKeys returns the encryption keys of every non-blank node of t, with
// their node indices.
func NodeKeys(t tree.Tree) ([][]byte, []treemath.NodeIndex) {
	var keys [][]byte
	var at []treemath.NodeIndex
	for i, n := range t.Nodes() {
		switch {
		case n == nil:
		case n.Leaf != nil:
			keys, at = append(keys, n.Leaf.EncryptionKey), append(at, treemath.NodeIndex(i))
		case n.Parent != nil:
			keys, at = append(keys, n.Parent.EncryptionKey), append(at, treemath.NodeIndex(i))
		}
	}
	return keys, at
}

// BlankLeaves returns the blank leaves inside t.
func BlankLeaves(t tree.Tree) []treemath.LeafIndex {
	var out []treemath.LeafIndex
	for l := range uint32(t.LeafCount()) {
		if _, ok := t.Leaf(treemath.LeafIndex(l)); !ok {
			out = append(out, treemath.LeafIndex(l))
		}
	}
	return out
}

// Update returns an Update proposal message of from (by reference, not
// delivered) whose leaf node mut changed, re-signed: valid but for what mut
// changed.
func (w *World) Update(t *rapid.T, from, recv *Member, mut func(*codec.LeafNode)) (good, bad []byte) {
	w.t.Helper()
	good = w.ValidUpdate(from)
	bad = Reframe(w.t, from, recv, good, func(c *codec.FramedContent) {
		ln := &c.Proposal.Update.LeafNode
		mut(ln)
		ResignLeaf(w.t, from, ln)
	})
	return good, bad
}

// ValidUpdate has from send an Update proposal by reference without
// delivering it.
func (w *World) ValidUpdate(from *Member) []byte {
	w.t.Helper()
	return Sent(w.t, w.must(from, proposeUpdate))
}

// FixPath makes the UpdatePath p of committer consistent again after its
// public keys were changed: it recomputes the parent hash chain over the
// provisional tree tr (RFC 9420, Section 7.9) into the leaf node and
// re-signs the leaf with owner's key, so that the path is valid but for the
// keys themselves.
func FixPath(t TB, owner *Member, tr tree.Tree, p *codec.UpdatePath) {
	t.Helper()
	fdp := tr.FilteredDirectPath(owner.State.OwnLeaf())
	cop := tr.FilteredCopath(owner.State.OwnLeaf())
	if len(fdp) != len(p.Nodes) || len(cop) != len(fdp) {
		t.Fatalf("fix path: %d path nodes, filtered direct path %d, copath %d", len(p.Nodes), len(fdp), len(cop))
	}
	cs := tr.Suite()
	var above []byte
	for j := len(fdp) - 1; j >= 0; j-- {
		ph := []byte{}
		if j < len(fdp)-1 {
			ph = above
		}
		sib, ok := tr.NodeHash(cop[j])
		if !ok {
			t.Fatalf("fix path: no hash of node %d", cop[j])
		}
		var b cryptobyte.Builder
		codec.AddOpaque(&b, p.Nodes[j].EncryptionKey)
		codec.AddOpaque(&b, ph)
		codec.AddOpaque(&b, sib)
		in, err := b.Bytes()
		if err != nil {
			t.Fatalf("fix path: %v", err)
		}
		above = cs.Hash(in)
	}
	p.LeafNode.ParentHash = above
	ResignLeaf(t, owner, &p.LeafNode)
}

// RemainingKeys returns the encryption keys of the nodes of t that a path
// of committer leaves in place: every non-blank node but the committer's
// leaf and its direct path.
func RemainingKeys(t tree.Tree, committer treemath.LeafIndex) [][]byte {
	replaced := map[treemath.NodeIndex]bool{committer.Node(): true}
	for _, x := range treemath.DirectPath(committer.Node(), t.LeafCount()) {
		replaced[x] = true
	}
	keys, at := NodeKeys(t)
	var out [][]byte
	for i, k := range keys {
		if !replaced[at[i]] {
			out = append(out, k)
		}
	}
	return out
}

// CommonAncestorIndex returns the position in committer's filtered direct
// path (in tr) of the lowest node above recv's leaf: the node whose path
// secret recv decrypts.
func CommonAncestorIndex(tr tree.Tree, committer, recv treemath.LeafIndex) int {
	for j, x := range tr.FilteredDirectPath(committer) {
		if treemath.IsAncestor(x, recv.Node()) {
			return j
		}
	}
	return -1
}
