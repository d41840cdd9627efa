package props

import (
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
