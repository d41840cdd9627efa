package state

import (
	"bytes"
	"slices"

	"github.com/mlscore/mlscore/codec"
)

// The clones below back the accessors that hand a state's parts out
// (GroupState.Public, Private, PendingCommit, StagedCommit,
// PendingProposals): each copies every byte string, slice and pointer the
// part holds, so that a caller writing into the result cannot change the
// state. The parts that are sealed values themselves (the suite, the tree,
// the private path, the epoch secrets, the secret tree, nested
// GroupStates) share their memory, since nothing can write into them.

// Clone returns a deep copy of p, sharing no memory that a write could
// reach: the public part a caller may change freely (GroupState.Public, an
// observer's public part).
func (p Public) Clone() Public {
	p.Context = codec.Clone(p.Context)
	p.Interim = bytes.Clone(p.Interim)
	p.ConfirmationTag = bytes.Clone(p.ConfirmationTag)
	p.Proposals = cloneProposals(p.Proposals)
	p.Census = Census{
		Members:           p.Census.Members,
		CredentialsInUse:  slices.Clone(p.Census.CredentialsInUse),
		CredentialSupport: slices.Clone(p.Census.CredentialSupport),
		ExtensionSupport:  slices.Clone(p.Census.ExtensionSupport),
		ProposalSupport:   slices.Clone(p.Census.ProposalSupport),
	}
	if p.ReInit != nil {
		r := codec.Clone(*p.ReInit)
		p.ReInit = &r
	}
	return p
}

func (q Private) clone() Private {
	q.SignatureKey = bytes.Clone(q.SignatureKey)
	if q.Past != nil {
		past := make([]PastEpoch, len(q.Past))
		for i, pe := range q.Past {
			pe.Context = codec.Clone(pe.Context)
			pe.SenderDataSecret = bytes.Clone(pe.SenderDataSecret)
			past[i] = pe
		}
		q.Past = past
	}
	if q.Resumption != nil {
		res := make([]ResumptionPSK, len(q.Resumption))
		for i, r := range q.Resumption {
			res[i] = ResumptionPSK{Epoch: r.Epoch, Secret: bytes.Clone(r.Secret)}
		}
		q.Resumption = res
	}
	if q.OwnUpdates != nil {
		ups := make([]OwnUpdate, len(q.OwnUpdates))
		for i, u := range q.OwnUpdates {
			ups[i] = OwnUpdate{Ref: bytes.Clone(u.Ref), EncryptionPriv: bytes.Clone(u.EncryptionPriv)}
		}
		q.OwnUpdates = ups
	}
	if q.Pending != nil {
		pc := q.Pending.clone()
		q.Pending = &pc
	}
	if q.Staged != nil {
		sc := q.Staged.clone()
		q.Staged = &sc
	}
	return q
}

func (pc *PendingCommit) clone() PendingCommit {
	return PendingCommit{Next: pc.Next, Message: bytes.Clone(pc.Message),
		Added: slices.Clone(pc.Added), Removed: slices.Clone(pc.Removed)}
}

func (sc *StagedCommit) clone() StagedCommit {
	c := *sc
	c.Proposals = cloneProposals(sc.Proposals)
	c.Added = slices.Clone(sc.Added)
	c.Removed = slices.Clone(sc.Removed)
	c.Updated = slices.Clone(sc.Updated)
	return c
}

// cloneProposals returns a deep copy of ps (nil for nil).
func cloneProposals(ps []StoredProposal) []StoredProposal {
	if ps == nil {
		return nil
	}
	out := make([]StoredProposal, len(ps))
	for i, sp := range ps {
		out[i] = StoredProposal{Ref: bytes.Clone(sp.Ref), Proposal: codec.Clone(sp.Proposal), Sender: sp.Sender}
	}
	return out
}
