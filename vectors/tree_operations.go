package vectors

import (
	"bytes"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

type treeOperationsCase struct {
	CipherSuite    uint16   `json:"cipher_suite"`
	TreeBefore     HexBytes `json:"tree_before"`
	Proposal       HexBytes `json:"proposal"`
	ProposalSender uint32   `json:"proposal_sender"`
	TreeHashBefore HexBytes `json:"tree_hash_before"`
	TreeAfter      HexBytes `json:"tree_after"`
	TreeHashAfter  HexBytes `json:"tree_hash_after"`
}

// runTreeOperations checks tree.Tree's Add, Update and Remove against
// tree-operations.json: tree hash before, the encoded tree after, and its
// tree hash.
func runTreeOperations(data []byte, r *Result) {
	cases, ok := decodeCases[treeOperationsCase](data, r)
	if !ok {
		return
	}
	for i, c := range cases {
		if err := checkTreeOperations(c); err != "" {
			r.Fail("case %d (suite %d): %s", i, c.CipherSuite, err)
			continue
		}
		r.Pass()
	}
}

func checkTreeOperations(c treeOperationsCase) string {
	s, err := suite.Lookup(suite.ID(c.CipherSuite))
	if err != nil {
		return sprintf("suite: %v", err)
	}
	before, err := tree.Decode(s, c.TreeBefore, treemath.MaxLeaves)
	if err != nil {
		return sprintf("tree_before: %v", err)
	}
	if got := before.Hash(); !bytes.Equal(got, c.TreeHashBefore) {
		return sprintf("tree_hash_before: got %x, want %x", got, []byte(c.TreeHashBefore))
	}
	p, err := codec.DecodeProposal(c.Proposal)
	if err != nil {
		return sprintf("proposal: %v", err)
	}
	var after tree.Tree
	switch {
	case p.Add != nil:
		ln := p.Add.KeyPackage.LeafNode
		after, _, err = before.Add(&ln)
	case p.Update != nil:
		ln := p.Update.LeafNode
		after, err = before.Update(treemath.LeafIndex(c.ProposalSender), &ln)
	case p.Remove != nil:
		after, err = before.Remove(p.Remove.Removed)
	default:
		return sprintf("proposal: unexpected type %d", p.ProposalType)
	}
	if err != nil {
		return sprintf("apply proposal type %d: %v", p.ProposalType, err)
	}
	enc, err := after.Encode()
	if err != nil {
		return sprintf("encode tree_after: %v", err)
	}
	if !bytes.Equal(enc, c.TreeAfter) {
		return sprintf("tree_after: got %x, want %x", enc, []byte(c.TreeAfter))
	}
	if got := after.Hash(); !bytes.Equal(got, c.TreeHashAfter) {
		return sprintf("tree_hash_after: got %x, want %x", got, []byte(c.TreeHashAfter))
	}
	// Persistence: the old version is untouched by the operation.
	if got := before.Hash(); !bytes.Equal(got, c.TreeHashBefore) {
		return sprintf("tree_before changed by the operation: hash %x", got)
	}
	return ""
}
