package transitions

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/state"
)

// receive runs a received MLSMessage through the stages decoded → framed →
// authenticated, then handles its content (RFC 9420, Sections 6 and 12).
func receive(s state.GroupState, e Receive, env Env) (state.GroupState, []effects.Effect, error) {
	g, err := inGroup(s)
	if err != nil {
		return s, nil, err
	}
	d, err := decodeMessage(e.Message, env)
	if err != nil {
		return s, nil, err
	}
	f, err := g.frame(d)
	if err == nil {
		err = g.checkPastAge(f, e.At)
	}
	if err != nil {
		return s, nil, err
	}
	if f.ct != codec.ContentTypeApplication && !g.pub.Active {
		return s, nil, fmt.Errorf("%w: removed from the group", ErrWrongState)
	}
	if f.ct != codec.ContentTypeApplication {
		if err := g.open(); err != nil {
			return s, nil, err
		}
	}
	a, err := g.authenticate(f, env.Limits.Bounds())
	if err != nil {
		return s, nil, err
	}
	var dels []effects.Effect
	if a.consumed != nil {
		dels = append(dels, deleteMessageKey(g.pub.Context.GroupID, a.keys.ctx.Epoch, a.consumed.Leaf, uint8(a.consumed.Kind), a.consumed.Generation))
	}
	var next state.GroupState
	var effs []effects.Effect
	switch a.ac.Content.ContentType {
	case codec.ContentTypeApplication:
		next, effs, err = g.receiveApplication(a)
	case codec.ContentTypeProposal:
		next, effs, err = g.receiveProposal(a, e.At, env)
	case codec.ContentTypeCommit:
		next, effs, err = g.receiveCommit(a, e.At, env)
	default:
		err = fmt.Errorf("%w: content type %d", ErrInvalidMessage, a.ac.Content.ContentType)
	}
	if err != nil {
		return s, nil, err
	}
	return next, append(effs, dels...), nil
}

// withSecrets returns the private part with the secret tree of the epoch
// the message used replaced by its consumed version.
func (g *group) withSecrets(a authenticatedMessage) state.Private {
	priv := g.priv
	if a.consumed == nil {
		return priv
	}
	if a.keys.past < 0 {
		priv.Secrets = a.secrets
		return priv
	}
	priv.Past = slices.Clone(priv.Past)
	priv.Past[a.keys.past].Secrets = a.secrets
	return priv
}

func (g *group) receiveApplication(a authenticatedMessage) (state.GroupState, []effects.Effect, error) {
	// Only secrets change: share the public part (no GroupContext
	// re-encoding) and, for a message of the current epoch, all of the
	// private part but its secret tree.
	var next state.GroupState
	var err error
	if a.consumed != nil && a.keys.past < 0 {
		next, err = g.s.WithSecrets(core.K(), a.secrets)
	} else {
		next, err = g.s.WithPrivate(core.K(), g.withSecrets(a))
	}
	if err != nil {
		return state.GroupState{}, nil, err
	}
	c := a.ac.Content
	return next, []effects.Effect{effects.DeliverApplication{Group: g.gid(), Epoch: c.Epoch, Sender: c.Sender.LeafIndex,
		Data: c.ApplicationData, AAD: c.AuthenticatedData}}, nil
}

// receiveProposal validates a standalone proposal and stores it by
// reference (RFC 9420, Section 12.1).
func (g *group) receiveProposal(a authenticatedMessage, at uint64, env Env) (state.GroupState, []effects.Effect, error) {
	sp, pub, err := g.followProposal(a, at, env)
	if err != nil {
		return state.GroupState{}, nil, err
	}
	next, err := state.New(core.K(), pub, g.withSecrets(a))
	if err != nil {
		return state.GroupState{}, nil, err
	}
	return next, []effects.Effect{effects.ProposalReceived{Group: g.gid(), Epoch: g.epoch(), Ref: bytes.Clone(sp.Ref), Sender: sp.Sender, Proposal: codec.Clone(sp.Proposal)}}, nil
}

// followProposal validates a standalone proposal (the proposal pipeline,
// its framing and the policy on senders outside the group) and returns it
// as stored and the public part with it in the store. It needs no secret:
// a PublicGroup stores proposals with it.
func (g *group) followProposal(a authenticatedMessage, at uint64, env Env) (state.StoredProposal, state.Public, error) {
	c := a.ac.Content
	ref := proposalRefWire(g.cs, a.wire)
	if _, err := g.cover(nil, []entry{{p: *c.Proposal, sender: c.Sender, ref: ref}}, modeReceiver, at, env); err != nil {
		return state.StoredProposal{}, state.Public{}, err
	}
	if err := checkSelfRemoveFraming(*c.Proposal, a.wf); err != nil {
		return state.StoredProposal{}, state.Public{}, err
	}
	if err := checkExternalProposal(c.Sender, *c.Proposal, env); err != nil {
		return state.StoredProposal{}, state.Public{}, err
	}
	sp := state.StoredProposal{Ref: ref, Proposal: *c.Proposal, Sender: c.Sender}
	pub, err := g.store(sp, env)
	if err != nil {
		return state.StoredProposal{}, state.Public{}, err
	}
	return sp, pub, nil
}

// store returns the public part with sp added to the proposal store.
func (g *group) store(sp state.StoredProposal, env Env) (state.Public, error) {
	pub := g.pub
	for _, q := range pub.Proposals {
		if equalBytes(q.Ref, sp.Ref) {
			return pub, fmt.Errorf("%w: proposal %x already stored", ErrInvalidMessage, prefix(sp.Ref))
		}
	}
	if err := checkLimit("MaxProposals", uint64(len(pub.Proposals)+1), uint64(env.Limits.MaxProposals)); err != nil {
		return pub, err
	}
	pub.Proposals = append(slices.Clone(pub.Proposals), sp)
	return pub, nil
}
