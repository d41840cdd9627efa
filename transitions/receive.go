package transitions

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/valsem"
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
		dels = append(dels, deleteMessageKey(g.gid(), a.keys.ctx.Epoch, a.consumed.Leaf, uint8(a.consumed.Kind), a.consumed.Generation))
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
	// re-encoding).
	next, err := g.s.WithPrivate(core.Key{}, g.withSecrets(a))
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
	c := a.ac.Content
	ref := proposalRefWire(g.cs, a.wire)
	if _, err := g.cover(nil, []entry{{p: *c.Proposal, sender: c.Sender, ref: ref}}, modeReceiver, at, env); err != nil {
		return state.GroupState{}, nil, err
	}
	if err := checkSelfRemoveFraming(*c.Proposal, a.wf); err != nil {
		return state.GroupState{}, nil, err
	}
	if err := checkExternalProposal(c.Sender, *c.Proposal, env); err != nil {
		return state.GroupState{}, nil, err
	}
	pub, err := g.store(state.StoredProposal{Ref: ref, Proposal: *c.Proposal, Sender: c.Sender}, env)
	if err != nil {
		return state.GroupState{}, nil, err
	}
	next, err := state.New(core.Key{}, pub, g.withSecrets(a))
	if err != nil {
		return state.GroupState{}, nil, err
	}
	return next, []effects.Effect{effects.ProposalReceived{Group: g.gid(), Epoch: g.epoch(), Ref: bytes.Clone(ref), Sender: c.Sender, Proposal: codec.Clone(*c.Proposal)}}, nil
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

// receiveCommit validates a received commit and stages it (RFC 9420,
// Section 12.4.2).
func (g *group) receiveCommit(a authenticatedMessage, at uint64, env Env) (state.GroupState, []effects.Effect, error) {
	ac := a.ac
	if ac.Content.Sender.SenderType == codec.SenderTypeNewMemberCommit {
		return g.receiveExternalCommit(a, at, env)
	}
	c := ac.Content.Commit
	committer := ac.Content.Sender.LeafIndex
	entries := make([]entry, 0, len(c.Proposals))
	for i, por := range c.Proposals {
		switch por.Type {
		case codec.ProposalOrRefReference:
			j := slices.IndexFunc(g.pub.Proposals, func(sp state.StoredProposal) bool { return equalBytes(sp.Ref, por.Reference) })
			if j < 0 {
				return state.GroupState{}, nil, fmt.Errorf("%w: proposal %d references unknown proposal %x", ErrInvalidProposals, i, prefix(por.Reference))
			}
			sp := g.pub.Proposals[j]
			entries = append(entries, entry{p: sp.Proposal, sender: sp.Sender, ref: sp.Ref})
		default:
			entries = append(entries, entry{p: *por.Proposal, sender: ac.Content.Sender})
		}
	}
	cov, err := g.cover(&committer, entries, modeReceiver, at, env)
	if err != nil {
		return state.GroupState{}, nil, err
	}
	// ValSem201: a path is present when a covered proposal requires one.
	if cov.pathRequired && c.Path == nil {
		return state.GroupState{}, nil, valsem.Errorf(valsem.ValSem201, "commit without path covers proposals that require one")
	}
	t, cen := cov.tree, cov.census
	path := g.priv.Path
	if cov.ownUpdate != nil {
		if path, err = path.WithLeafKey(g.cs, cov.ownUpdate); err != nil {
			return state.GroupState{}, nil, err
		}
	}
	var commitSecret []byte
	if c.Path != nil {
		old, _ := t.SharedLeaf(core.Key{}, committer)
		rc, err := requiredCapabilities(cov.exts)
		if err != nil {
			return state.GroupState{}, nil, err
		}
		if err := validateLeaf(g.cs, &c.Path.LeafNode, leafCheck{source: codec.LeafNodeSourceCommit, gid: g.gid(), leaf: committer,
			at: at, required: rc, census: cen}, env); err != nil {
			return state.GroupState{}, nil, err
		}
		if l, dup := t.LeafBySignatureKey(c.Path.LeafNode.SignatureKey); dup && l != committer {
			return state.GroupState{}, nil, fmt.Errorf("%w: path leaf uses the signature key of leaf %d", ErrInvalidLeafNode, l)
		}
		t2, err := t.MergePath(committer, c.Path)
		if err != nil {
			return state.GroupState{}, nil, err
		}
		if !cov.selfRemoved {
			prov, err := g.provisionalContext(t2, cov.exts)
			if err != nil {
				return state.GroupState{}, nil, err
			}
			rp, err := t2.DecryptPath(path.Prune(t2), committer, c.Path, prov, cov.added)
			if err != nil {
				return state.GroupState{}, nil, err
			}
			path, commitSecret = rp.Private, rp.CommitSecret
		}
		cen = censusAdd(censusAdd(cen, old, -1), &c.Path.LeafNode, 1)
		t = t2
	} else {
		path = path.Prune(t)
	}
	var next state.GroupState
	if cov.selfRemoved {
		// A removed member cannot derive the next epoch (the path is
		// encrypted to the others); its state becomes inactive.
		if next, err = g.removedState(); err != nil {
			return state.GroupState{}, nil, err
		}
	} else {
		r, err := g.keySchedule(cov, t, commitSecret, a.wire, env)
		if err != nil {
			return state.GroupState{}, nil, err
		}
		// ValSem205: the confirmation tag verifies.
		if !r.es.VerifyConfirmationTag(r.confirmed, ac.Auth.ConfirmationTag) {
			return state.GroupState{}, nil, valsem.Errorf(valsem.ValSem205, "confirmation tag of the commit by leaf %d does not verify", committer)
		}
		if next, err = g.nextState(t, cen, path, r, ac.Auth.ConfirmationTag); err != nil {
			return state.GroupState{}, nil, err
		}
		if next, err = withReInit(next, cov); err != nil {
			return state.GroupState{}, nil, err
		}
	}
	staged := &state.StagedCommit{Next: next, Sender: ac.Content.Sender, Added: leaves(cov.added), Removed: leaves(cov.removed),
		Updated: leaves(cov.updated), SelfRemoved: cov.selfRemoved}
	for _, en := range cov.entries {
		staged.Proposals = append(staged.Proposals, state.StoredProposal{Ref: en.ref, Proposal: en.p, Sender: en.sender})
	}
	priv := g.withSecrets(a)
	priv.Staged = staged
	cur, err := g.s.WithPrivate(core.Key{}, priv)
	if err != nil {
		return state.GroupState{}, nil, err
	}
	return cur, []effects.Effect{effects.CommitStaged{Group: g.gid(), Epoch: g.epoch(), Sender: ac.Content.Sender,
		Added: leaves(cov.added), Removed: leaves(cov.removed), Updated: leaves(cov.updated), SelfRemoved: cov.selfRemoved}}, nil
}
