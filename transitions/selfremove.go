package transitions

import (
	"fmt"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// SelfRemove (draft-ietf-mls-extensions, "SelfRemove Proposal"; proposal
// type 0x000A as OpenMLS numbers it) lets a member ask to leave with a
// proposal that names no leaf: the leaf removed is the proposal's sender.
// The draft's rules, enforced here:
//
//  1. It is sent by a member, never as an external or new-member proposal
//     ("SelfRemove cannot be sent as an external proposal").
//  2. It is sent as a PublicMessage ("these proposals MUST be sent in an MLS
//     PublicMessage"), so that an external joiner can see it.
//  3. A commit covers it only by reference ("SelfRemove proposals are only
//     allowed in a Commit by reference"), regular or external: it is the one
//     by-reference proposal an external commit may cover.
//  4. The commit treats it as a Remove of the sender's leaf; like a Remove it
//     requires a path (IANA registration: "Path Required: Y"), so that the
//     leaver, who knew the old epoch's secrets, cannot compute the next one.
//  5. Every member that stays must support it (ValSem113, as for any
//     non-default proposal type): the draft applies only in a
//     "self-remove-capable group".

// removal returns the leaf a Remove or SelfRemove entry removes.
func removal(e entry) (treemath.LeafIndex, bool) {
	switch e.p.ProposalType {
	case codec.ProposalRemove:
		return e.p.Remove.Removed, true
	case codec.ProposalSelfRemove:
		return e.sender.LeafIndex, true
	}
	return 0, false
}

// checkSelfRemove checks rules 1 and 3 for one entry of a proposal list:
// the sender is a member, and a commit (committer != nil) covers it by
// reference. A standalone proposal (committer == nil) is its own reference.
func checkSelfRemove(e entry, committer *treemath.LeafIndex) error {
	if e.sender.SenderType != codec.SenderTypeMember {
		return fmt.Errorf("%w: self_remove from a %s sender", ErrInvalidProposals, e.sender.SenderType)
	}
	if committer != nil && e.ref == nil {
		return fmt.Errorf("%w: self_remove covered by value", ErrInvalidProposals)
	}
	return nil
}

// checkSelfRemove validates a SelfRemove entry: rules 1 and 3, then the
// removal of its sender's leaf like a Remove's. Its support by the members
// (rule 5) is checkCustom's, as for any type RFC 9420 does not define.
func (p *pipeline) checkSelfRemove(_ int, e entry) error {
	if err := checkSelfRemove(e, p.committer); err != nil {
		return err
	}
	return p.checkRemoval(e.sender.LeafIndex)
}

// checkSelfRemoveFraming checks rule 2 for a received standalone proposal.
func checkSelfRemoveFraming(p codec.Proposal, wf codec.WireFormat) error {
	if p.ProposalType == codec.ProposalSelfRemove && wf != codec.WireFormatPublicMessage {
		return fmt.Errorf("%w: self_remove received as %s, not as a public message", ErrInvalidMessage, wf)
	}
	return nil
}

// proposalWireFormat is the framing of a standalone proposal this member
// sends: its handshake framing, except SelfRemove, always a PublicMessage
// (rule 2).
func (g *group) proposalWireFormat(p codec.Proposal) codec.WireFormat {
	if p.ProposalType == codec.ProposalSelfRemove {
		return codec.WireFormatPublicMessage
	}
	return g.handshakeWireFormat()
}

// joinerSelfRemove is one pending SelfRemove an external joiner covers:
// the leaf it removes and its ProposalRef.
type joinerSelfRemove struct {
	leaf treemath.LeafIndex
	ref  []byte
}

// joinerSelfRemoves validates the pending SelfRemove proposals an external
// joiner fetched with the GroupInfo (MLSMessage PublicMessages) against the
// group context and the verified tree of that GroupInfo: each is a member's
// SelfRemove of this group and epoch, signed by the member's leaf
// signature key. The membership tag is not checked: "a non-member cannot
// verify membership" (draft-ietf-mls-extensions). Each leaf leaves once.
func joinerSelfRemoves(cs *suite.Suite, ctx *codec.GroupContext, t tree.Tree, msgs [][]byte, env Env) ([]joinerSelfRemove, error) {
	out := make([]joinerSelfRemove, 0, len(msgs))
	for i, raw := range msgs {
		if err := checkLimit("MaxMessageBytes", uint64(len(raw)), uint64(env.Limits.MaxMessageBytes)); err != nil {
			return nil, err
		}
		m, err := codec.DecodeMLSMessage(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: self_remove %d: %w", ErrInvalidMessage, i, err)
		}
		if m.WireFormat != codec.WireFormatPublicMessage || m.PublicMessage == nil {
			return nil, fmt.Errorf("%w: self_remove %d is a %s, not a public message", ErrInvalidMessage, i, m.WireFormat)
		}
		c := m.PublicMessage.Content
		switch {
		case !equalBytes(c.GroupID, ctx.GroupID) || c.Epoch != ctx.Epoch:
			return nil, fmt.Errorf("%w: self_remove %d is for epoch %d of another group or epoch", ErrInvalidMessage, i, c.Epoch)
		case c.ContentType != codec.ContentTypeProposal || c.Proposal == nil || c.Proposal.ProposalType != codec.ProposalSelfRemove:
			return nil, fmt.Errorf("%w: message %d is not a self_remove proposal", ErrInvalidMessage, i)
		case c.Sender.SenderType != codec.SenderTypeMember:
			return nil, fmt.Errorf("%w: self_remove %d from a %s sender", ErrInvalidProposals, i, c.Sender.SenderType)
		}
		leaf := c.Sender.LeafIndex
		ln, ok := t.SharedLeaf(core.K(), leaf)
		if !ok {
			return nil, fmt.Errorf("%w: self_remove %d from blank or absent leaf %d", ErrInvalidProposals, i, leaf)
		}
		ac := m.PublicMessage.AuthenticatedContent()
		if err := keysched.VerifySignature(cs, ln.SignatureKey, ac, ctx); err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out, func(s joinerSelfRemove) bool { return s.leaf == leaf }) {
			return nil, fmt.Errorf("%w: two self_remove proposals of leaf %d", ErrInvalidProposals, leaf)
		}
		ref, err := proposalRef(cs, ac)
		if err != nil {
			return nil, err
		}
		out = append(out, joinerSelfRemove{leaf: leaf, ref: ref})
	}
	return out, nil
}
