package transitions

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// propose sends a standalone proposal by reference (RFC 9420, Section 12.1).
func propose(s state.GroupState, e Propose, env Env) (state.GroupState, []effects.Effect, error) {
	g, err := inGroup(s)
	if err != nil {
		return s, nil, err
	}
	sg, err := g.signer(env)
	if err != nil {
		return s, nil, err
	}
	p := e.Proposal
	if err := checkSendableProposal(p); err != nil {
		return s, nil, err
	}
	var encPriv []byte
	switch p.ProposalType {
	case codec.ProposalUpdate:
		if p.Update == nil {
			return s, nil, fmt.Errorf("%w: update without leaf template", ErrInvalidProposals)
		}
		own, _ := g.pub.Tree.SharedLeaf(core.K(), g.self())
		ln := ownLeafTemplate(g.cs.ID(), *own, p.Update.LeafNode)
		ln.LeafNodeSource = codec.LeafNodeSourceUpdate
		lsg, err := g.leafSigner(ln, sg, env)
		if err != nil {
			return s, nil, err
		}
		var pub []byte
		if encPriv, pub, err = newLeafKey(g.cs, env, entropy.LeafEncryption); err != nil {
			return s, nil, err
		}
		ln.EncryptionKey = pub
		greaseLeaf(&ln, env)
		if err := tree.SignLeaf(lsg, &ln, g.gid(), g.self()); err != nil {
			return s, nil, err
		}
		p.Update = &codec.Update{LeafNode: ln}
	case codec.ProposalPreSharedKey:
		if p.PreSharedKey != nil && len(p.PreSharedKey.PSK.PSKNonce) == 0 {
			psk := *p.PreSharedKey
			psk.PSK.PSKNonce = env.Entropy.Draw(entropy.PSKNonce, g.cs.HashLen())
			p.PreSharedKey = &psk
		}
	}
	return g.sendProposal(s, p, e.AAD, encPriv, e.At, sg, env)
}

// leave asks the group to remove this member (RFC 9420, Section 12.1.3).
func leave(s state.GroupState, e Leave, env Env) (state.GroupState, []effects.Effect, error) {
	g, err := inGroup(s)
	if err != nil {
		return s, nil, err
	}
	sg, err := g.signer(env)
	if err != nil {
		return s, nil, err
	}
	p := codec.Proposal{ProposalType: codec.ProposalRemove, Remove: &codec.Remove{Removed: g.self()}}
	return g.sendProposal(s, p, e.AAD, nil, e.At, sg, env)
}

func (g *group) sendProposal(s state.GroupState, p codec.Proposal, aad, encPriv []byte, at uint64, sg keysched.Signer, env Env) (state.GroupState, []effects.Effect, error) {
	self := codec.MemberSender(g.self())
	// A member sends only proposals it would accept.
	if _, err := g.cover(nil, []entry{{p: p, sender: self, ref: []byte{}}}, modeReceiver, at, env); err != nil {
		return s, nil, err
	}
	content := codec.FramedContent{GroupID: g.gid(), Epoch: g.epoch(), Sender: self, AuthenticatedData: aad,
		ContentType: codec.ContentTypeProposal, Proposal: &p}
	ac, err := keysched.SignContent(sg, g.proposalWireFormat(p), content, &g.pub.Context)
	if err != nil {
		return s, nil, err
	}
	ref, err := proposalRef(g.cs, ac)
	if err != nil {
		return s, nil, err
	}
	sl, err := g.seal(ac, env)
	if err != nil {
		return s, nil, err
	}
	pub, err := g.store(state.StoredProposal{Ref: ref, Proposal: p, Sender: self}, env)
	if err != nil {
		return s, nil, err
	}
	priv := g.priv
	priv.Secrets = sl.secrets
	if encPriv != nil {
		priv.OwnUpdates = append(slices.Clone(priv.OwnUpdates), state.OwnUpdate{Ref: ref, EncryptionPriv: encPriv})
	}
	next, err := state.New(core.K(), pub, priv)
	if err != nil {
		return s, nil, err
	}
	effs := append([]effects.Effect{effects.SendToGroup{Group: g.gid(), Epoch: g.epoch(), Kind: effects.KindProposal, Message: sl.msg}}, sl.deletes...)
	return next, effs, nil
}

// confirmCommit merges this member's pending commit.
func confirmCommit(s state.GroupState, e ConfirmCommit, env Env) (state.GroupState, []effects.Effect, error) {
	g, err := inGroup(s)
	if err != nil {
		return s, nil, err
	}
	pc := g.priv.Pending // non-nil: the lifecycle table admits ConfirmCommit only then
	next, dels, err := g.advance(pc.Next, e.At)
	if err != nil {
		return s, nil, err
	}
	effs := append([]effects.Effect{g.epochAdvanced(next, pc.Added, pc.Removed)}, dels...)
	return next, effs, nil
}

// epochAdvanced reports the move from g's epoch to next's by merging a
// commit that added and removed the given leaves.
func (g *group) epochAdvanced(next state.GroupState, added, removed []treemath.LeafIndex) effects.EpochAdvanced {
	return effects.EpochAdvanced{Group: g.gid(), From: g.epoch(), To: next.Epoch(),
		Authenticator: next.EpochAuthenticator(), Added: leaves(added), Removed: leaves(removed)}
}

// abortCommit drops this member's pending commit.
func abortCommit(s state.GroupState, e AbortCommit, env Env) (state.GroupState, []effects.Effect, error) {
	return dropPrivate(s, func(p *state.Private) { p.Pending = nil })
}

// dropPrivate returns s with one item of its private part removed by drop
// (the lifecycle table admits the event only when there is one); the public
// part is shared.
func dropPrivate(s state.GroupState, drop func(*state.Private)) (state.GroupState, []effects.Effect, error) {
	g, err := inGroup(s)
	if err != nil {
		return s, nil, err
	}
	priv := g.priv // a copy: s's private part is untouched
	drop(&priv)
	next, err := s.WithPrivate(core.K(), priv)
	if err != nil {
		return s, nil, err
	}
	return next, nil, nil
}

// mergeStaged applies the staged commit.
func mergeStaged(s state.GroupState, e MergeStaged, env Env) (state.GroupState, []effects.Effect, error) {
	g, err := inGroup(s)
	if err != nil {
		return s, nil, err
	}
	sc := g.priv.Staged // non-nil: the lifecycle table admits MergeStaged only then
	if sc.SelfRemoved {
		effs := append([]effects.Effect{effects.RemovedFromGroup{Group: g.gid(), Epoch: g.epoch() + 1, By: sc.Sender}}, g.allKeys()...)
		return sc.Next, effs, nil
	}
	next, dels, err := g.advance(sc.Next, e.At)
	if err != nil {
		return s, nil, err
	}
	effs := append([]effects.Effect{g.epochAdvanced(next, sc.Added, sc.Removed)}, dels...)
	return next, effs, nil
}

// discardStaged drops the staged commit.
func discardStaged(s state.GroupState, e DiscardStaged, env Env) (state.GroupState, []effects.Effect, error) {
	return dropPrivate(s, func(p *state.Private) { p.Staged = nil })
}

// dropProposal removes a stored proposal by reference.
func dropProposal(s state.GroupState, e DropProposal, env Env) (state.GroupState, []effects.Effect, error) {
	g, err := inGroup(s)
	if err != nil {
		return s, nil, err
	}
	i := slices.IndexFunc(g.pub.Proposals, func(sp state.StoredProposal) bool { return bytes.Equal(sp.Ref, e.Ref) })
	if i < 0 {
		return s, nil, fmt.Errorf("%w: no stored proposal %x", ErrWrongState, prefix(e.Ref))
	}
	pub, priv := g.pub, g.priv
	pub.Proposals = slices.Delete(slices.Clone(pub.Proposals), i, i+1)
	priv.OwnUpdates = slices.DeleteFunc(slices.Clone(priv.OwnUpdates), func(u state.OwnUpdate) bool { return bytes.Equal(u.Ref, e.Ref) })
	next, err := state.New(core.K(), pub, priv)
	if err != nil {
		return s, nil, err
	}
	return next, nil, nil
}

// protect encrypts application data (RFC 9420, Section 6.3).
func protect(s state.GroupState, e Protect, env Env) (state.GroupState, []effects.Effect, error) {
	gv, err := groupOf(s)
	if err != nil {
		return s, nil, err
	}
	g := &gv
	if err := checkLimit("MaxMessageBytes", uint64(len(e.Data)+len(e.AAD)), uint64(env.Limits.MaxMessageBytes)); err != nil {
		return s, nil, err
	}
	sg, err := g.signer(env)
	if err != nil {
		return s, nil, err
	}
	// The content, the message and the key deletion read the group id
	// without keeping it; the effect gets the one copy.
	content := codec.FramedContent{GroupID: g.pub.Context.GroupID, Epoch: g.epoch(), Sender: codec.MemberSender(g.self()),
		AuthenticatedData: e.AAD, ContentType: codec.ContentTypeApplication, ApplicationData: e.Data}
	ac, err := keysched.SignContentBytes(sg, codec.WireFormatPrivateMessage, content, s.SharedGroupContextBytes(core.K()))
	if err != nil {
		return s, nil, err
	}
	sl, err := g.seal(ac, env)
	if err != nil {
		return s, nil, err
	}
	// Only the secret tree changes: share everything else.
	next, err := s.WithSecrets(core.K(), sl.secrets)
	if err != nil {
		return s, nil, err
	}
	effs := make([]effects.Effect, 0, 1+len(sl.deletes))
	effs = append(effs, effects.SendToGroup{Group: g.gid(), Epoch: g.epoch(), Kind: effects.KindApplication, Message: sl.msg})
	return next, append(effs, sl.deletes...), nil
}

// export computes MLS-Exporter (RFC 9420, Section 8.5).
func export(s state.GroupState, e Export, env Env) (state.GroupState, []effects.Effect, error) {
	g, err := inGroup(s)
	if err != nil {
		return s, nil, err
	}
	if err := checkLimit("MaxExportLength", uint64(e.Length), uint64(env.Limits.MaxExportLength)); err != nil {
		return s, nil, err
	}
	out, err := g.priv.Epoch.Export(e.Label, e.Context, int(e.Length))
	if err != nil {
		return s, nil, err
	}
	return s, []effects.Effect{effects.Exported{Group: g.gid(), Epoch: g.epoch(), Label: e.Label, Secret: out}}, nil
}
