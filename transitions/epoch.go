package transitions

import (
	"fmt"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// epochResult is the key schedule of a new epoch (RFC 9420, Section 8).
type epochResult struct {
	ctx       codec.GroupContext
	ctxBytes  []byte
	confirmed []byte
	joiner    keysched.JoinerSecret
	inter     keysched.IntermediateSecret
	es        keysched.EpochSecrets
}

// provisionalContext encodes the GroupContext that UpdatePath secrets are
// encrypted under: the new epoch, tree hash and extensions with the old
// confirmed transcript hash (RFC 9420, Section 12.4.1).
func (g *group) provisionalContext(t tree.Tree, exts codec.Extensions) ([]byte, error) {
	c := g.pub.Context
	c.Epoch++
	c.TreeHash = t.Hash()
	c.Extensions = exts
	return c.Encode()
}

// keySchedule derives the next epoch of this group from a commit (its
// bytes w, signed, confirmation tag not needed), the init secret of the
// commit's kind (the epoch's, or an external commit's ExternalInit), the
// new tree and the commit secret (nil for a commit without path), with
// the covered PSKs.
func (g *group) keySchedule(init keysched.InitSecret, cov covered, t tree.Tree, commitSecret []byte, w codec.FramedWire, env Env) (epochResult, error) {
	psk, err := g.pskSecret(cov.psks, env)
	if err != nil {
		return epochResult{}, err
	}
	return deriveEpoch(g.cs, g.pub.Interim, g.pub.Context, cov.exts, t, init, commitSecret, psk, w)
}

// nextContext is the public half of the key schedule of a commit (RFC
// 9420, Sections 8.1 and 8.2): the confirmed transcript hash over the
// signed commit (its bytes w) and the new GroupContext. It needs no
// secret: a PublicGroup follows the group with it alone.
func nextContext(cs *suite.Suite, interimBefore []byte, old codec.GroupContext, exts codec.Extensions, t tree.Tree, w codec.FramedWire) (codec.GroupContext, error) {
	confirmed, err := keysched.ConfirmedTranscriptHashWire(cs, interimBefore, w)
	if err != nil {
		return codec.GroupContext{}, err
	}
	return codec.GroupContext{Version: codec.MLS10, CipherSuite: old.CipherSuite, GroupID: old.GroupID,
		Epoch: old.Epoch + 1, TreeHash: t.Hash(), ConfirmedTranscriptHash: confirmed, Extensions: exts}, nil
}

// deriveEpoch runs the key schedule of a commit's new epoch (RFC 9420,
// Section 8) from an explicit init secret: the new GroupContext
// (nextContext), the joiner secret, and from there on epochOf. Every
// commit goes through it: created (commitWith, externalJoin) or received
// (receiveCommit).
func deriveEpoch(cs *suite.Suite, interimBefore []byte, old codec.GroupContext, exts codec.Extensions, t tree.Tree, init keysched.InitSecret,
	commitSecret []byte, psk keysched.PSKSecret, w codec.FramedWire) (epochResult, error) {
	ctx, err := nextContext(cs, interimBefore, old, exts, t, w)
	if err != nil {
		return epochResult{}, err
	}
	ctxBytes, err := ctx.Encode()
	if err != nil {
		return epochResult{}, err
	}
	joiner, err := init.Joiner(commitSecret, ctxBytes)
	if err != nil {
		return epochResult{}, err
	}
	inter, err := joiner.WithPSK(psk)
	if err != nil {
		return epochResult{}, err
	}
	return epochOf(ctx, ctxBytes, joiner, inter)
}

// epochOf completes the key schedule from the intermediate secret (the
// joiner secret with the PSK secret injected) and the new GroupContext:
// the epoch secrets (RFC 9420, Section 8). A Welcome joins here
// (joinWelcome), since it needs the intermediate secret's welcome_secret
// to learn the GroupContext.
func epochOf(ctx codec.GroupContext, ctxBytes []byte, joiner keysched.JoinerSecret, inter keysched.IntermediateSecret) (epochResult, error) {
	es, err := inter.Epoch(ctxBytes)
	if err != nil {
		return epochResult{}, err
	}
	return epochResult{ctx: ctx, ctxBytes: ctxBytes, confirmed: ctx.ConfirmedTranscriptHash, joiner: joiner, inter: inter, es: es}, nil
}

// pskSecret resolves PreSharedKeyIDs (RFC 9420, Section 8.4) to psk_secret:
// external PSKs from Env.Keys, resumption PSKs of this group from the
// current epoch or the retained ones.
func (g *group) pskSecret(ids []codec.PreSharedKeyID, env Env) (keysched.PSKSecret, error) {
	if len(ids) == 0 {
		return keysched.NoPSK, nil
	}
	psks := make([]keysched.PSK, len(ids))
	for i, id := range ids {
		var secret []byte
		switch id.PSKType {
		case codec.PSKTypeExternal:
			p, ok := env.Keys.ExternalPSK(id.PSKID)
			if !ok {
				return keysched.PSKSecret{}, fmt.Errorf("%w: external psk %x", ErrMissingKey, prefix(id.PSKID))
			}
			secret = p
		case codec.PSKTypeResumption:
			p, err := g.resumptionSecret(id, env)
			if err != nil {
				return keysched.PSKSecret{}, err
			}
			secret = p
		}
		psks[i] = keysched.PSK{ID: id, Secret: secret}
	}
	return keysched.ComputePSKSecret(g.cs, psks)
}

// newEpoch is everything the state of a new epoch is assembled from,
// besides the member's secrets.
type newEpoch struct {
	cs     *suite.Suite
	ctx    codec.GroupContext
	tree   tree.Tree
	census state.Census
	tag    []byte // the confirmation tag of the commit that starts the epoch
	config state.Config
	reInit *codec.ReInit
}

// public assembles the public part of the new epoch: the interim
// transcript hash follows from the confirmed one and the confirmation tag
// (RFC 9420, Section 8.2). A PublicGroup's epochs are assembled here.
func (n newEpoch) public() (state.Public, error) {
	interim, err := keysched.InterimTranscriptHash(n.cs, n.ctx.ConfirmedTranscriptHash, n.tag)
	if err != nil {
		return state.Public{}, err
	}
	return state.Public{Suite: n.cs, Context: n.ctx, Tree: n.tree, Interim: interim, ConfirmationTag: n.tag,
		Config: n.config, Active: true, Census: n.census, ReInit: n.reInit}, nil
}

// assemble is the one place a member's state of a new epoch is built —
// creating a group (epoch 0), after creating a commit, receiving one,
// joining by Welcome or by external commit: the public part, the epoch secrets es and the secret
// tree derived from them, with priv's other fields (own leaf, signature
// key, private path, retained epochs and PSKs).
func (n newEpoch) assemble(es keysched.EpochSecrets, priv state.Private) (state.GroupState, error) {
	pub, err := n.public()
	if err != nil {
		return state.GroupState{}, err
	}
	st, err := es.SecretTree(n.tree.LeafCount(), n.config.SenderRatchet)
	if err != nil {
		return state.GroupState{}, err
	}
	priv.Epoch, priv.Secrets = es, st
	return state.New(core.K(), pub, priv)
}

// nextState builds this member's state of the epoch a commit starts
// (before the current epoch is pushed into the past epochs, which the
// merge does).
func (g *group) nextState(t tree.Tree, cen state.Census, path tree.PrivatePath, r epochResult, tag []byte, cov covered) (state.GroupState, error) {
	n := newEpoch{cs: g.cs, ctx: r.ctx, tree: t, census: cen, tag: tag, config: g.pub.Config, reInit: reInitOf(cov)}
	return n.assemble(r.es, state.Private{Self: g.self(), SignatureKey: g.nextSignatureKey(t), Path: path,
		Past: g.priv.Past, Resumption: g.priv.Resumption})
}

// removedState is the state of a member removed by a commit: the current
// epoch, inactive, readable.
func (g *group) removedState() (state.GroupState, error) {
	pub := g.pub
	pub.Active = false
	pub.Proposals = nil
	priv := g.priv
	priv.Pending, priv.Staged, priv.OwnUpdates = nil, nil, nil
	return state.New(core.K(), pub, priv)
}

// advance completes an epoch change from the current state g to next (the
// state a commit produced): the current epoch joins the past epochs and its
// resumption PSK the retained ones, within the configured bounds, and
// everything no longer needed is reported with DeleteSecret.
func (g *group) advance(next state.GroupState, at uint64) (state.GroupState, []effects.Effect, error) {
	pub, priv := next.Shared(core.K())
	cfg := pub.Config
	gid := g.gid()
	var dels []effects.Effect
	ended := state.PastEpoch{Context: g.pub.Context, Tree: g.pub.Tree,
		SenderDataSecret: g.priv.Epoch.SenderDataSecret(), Secrets: g.priv.Secrets}
	if cfg.MaxPastEpochAge != 0 {
		ended.Ended = at // the age bound counts from here (expirePastEpochs)
	}
	past := append(slices.Clone(g.priv.Past), ended)
	for len(past) > int(cfg.MaxPastEpochs) {
		dels = append(dels, effects.DeleteSecret{Ref: effects.SecretRef{Kind: effects.SecretEpoch, ID: secretID(gid, past[0].Context.Epoch)}})
		past = past[1:]
	}
	res := append(slices.Clone(g.priv.Resumption), state.ResumptionPSK{Epoch: g.epoch(), Secret: g.priv.Epoch.ResumptionPSK()})
	for len(res) > int(cfg.ResumptionPSKs) {
		dels = append(dels, effects.DeleteSecret{Ref: effects.SecretRef{Kind: effects.SecretResumptionPSK, ID: secretID(gid, res[0].Epoch)}})
		res = res[1:]
	}
	priv.Past, priv.Resumption = slices.Clip(past), slices.Clip(res)
	dels = append(dels, retiredKeys(g.priv.Path, priv.Path)...)
	out, err := state.New(core.K(), pub, priv)
	if err != nil {
		return state.GroupState{}, nil, err
	}
	return out, dels, nil
}

// retiredKeys reports the HPKE private keys of old that new no longer holds.
func retiredKeys(old, new tree.PrivatePath) []effects.Effect {
	var dels []effects.Effect
	for _, x := range old.Nodes() {
		pub, _ := old.PublicKey(x)
		if np, ok := new.PublicKey(x); ok && equalBytes(np, pub) {
			continue
		}
		kind := effects.SecretPathKey
		if x.IsLeaf() {
			kind = effects.SecretLeafKey
		}
		dels = append(dels, effects.DeleteSecret{Ref: effects.SecretRef{Kind: kind, ID: pub}})
	}
	return dels
}

// allKeys reports every secret a state holds, for a member that leaves the
// group for good.
func (g *group) allKeys() []effects.Effect {
	dels := retiredKeys(g.priv.Path, tree.PrivatePath{})
	gid := g.gid()
	for _, pe := range g.priv.Past {
		dels = append(dels, effects.DeleteSecret{Ref: effects.SecretRef{Kind: effects.SecretEpoch, ID: secretID(gid, pe.Context.Epoch)}})
	}
	for _, r := range g.priv.Resumption {
		dels = append(dels, effects.DeleteSecret{Ref: effects.SecretRef{Kind: effects.SecretResumptionPSK, ID: secretID(gid, r.Epoch)}})
	}
	return dels
}

func leaves(l []treemath.LeafIndex) []treemath.LeafIndex { return slices.Clone(l) }
