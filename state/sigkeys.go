package state

import (
	"bytes"

	"github.com/mlscore/mlscore/codec"
)

// SignatureKeys returns the signature public keys whose private keys s
// needs: the member's current key, the keys of the states it may become
// (a pending or staged commit's next state, a staged join and the state
// it would return to), and the keys of this member's own Update
// proposals in the proposal store (a commit covering one makes its key
// the member's). Each key appears once, as a copy. A shell compares the sets before and after an
// event to erase a signature key no state needs any more.
func (s GroupState) SignatureKeys() [][]byte {
	var out [][]byte
	s.appendSignatureKeys(&out)
	return out
}

func (s GroupState) appendSignatureKeys(out *[][]byte) {
	add := func(k []byte) {
		if len(k) == 0 {
			return
		}
		for _, o := range *out {
			if bytes.Equal(o, k) {
				return
			}
		}
		*out = append(*out, bytes.Clone(k))
	}
	if s.priv == nil {
		return
	}
	if j := s.priv.join; j != nil {
		j.Next.appendSignatureKeys(out)
		j.Prior.appendSignatureKeys(out)
		return
	}
	p := s.priv.p
	add(p.SignatureKey)
	if p.Pending != nil {
		p.Pending.Next.appendSignatureKeys(out)
	}
	if p.Staged != nil {
		p.Staged.Next.appendSignatureKeys(out)
	}
	if s.pub == nil {
		return
	}
	for _, sp := range s.pub.p.Proposals {
		if sp.Proposal.ProposalType == codec.ProposalUpdate && sp.Proposal.Update != nil &&
			sp.Sender.SenderType == codec.SenderTypeMember && sp.Sender.LeafIndex == p.Self {
			add(sp.Proposal.Update.LeafNode.SignatureKey)
		}
	}
}
