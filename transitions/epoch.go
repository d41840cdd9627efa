package transitions

import (
	"fmt"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
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

// keySchedule derives the next epoch from the commit ac (signed, confirmation
// tag not needed), the new tree and the commit secret (nil for a commit
// without path).
func (g *group) keySchedule(cov covered, t tree.Tree, commitSecret []byte, w codec.FramedWire, env Env) (epochResult, error) {
	var r epochResult
	confirmed, err := keysched.ConfirmedTranscriptHashWire(g.cs, g.pub.Interim, w)
	if err != nil {
		return r, err
	}
	r.confirmed = confirmed
	r.ctx = codec.GroupContext{Version: codec.MLS10, CipherSuite: g.pub.Context.CipherSuite, GroupID: g.gid(),
		Epoch: g.epoch() + 1, TreeHash: t.Hash(), ConfirmedTranscriptHash: confirmed, Extensions: cov.exts}
	if r.ctxBytes, err = r.ctx.Encode(); err != nil {
		return r, err
	}
	psk, err := g.pskSecret(cov.psks, env)
	if err != nil {
		return r, err
	}
	if r.joiner, err = g.priv.Epoch.Next().Joiner(commitSecret, r.ctxBytes); err != nil {
		return r, err
	}
	if r.inter, err = r.joiner.WithPSK(psk); err != nil {
		return r, err
	}
	if r.es, err = r.inter.Epoch(r.ctxBytes); err != nil {
		return r, err
	}
	return r, nil
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

// nextState builds the state of the new epoch (before the current epoch is
// pushed into the past epochs, which the merge does).
func (g *group) nextState(t tree.Tree, cen state.Census, path tree.PrivatePath, r epochResult, tag []byte) (state.GroupState, error) {
	interim, err := keysched.InterimTranscriptHash(g.cs, r.confirmed, tag)
	if err != nil {
		return state.GroupState{}, err
	}
	st, err := r.es.SecretTree(t.LeafCount(), g.pub.Config.SenderRatchet)
	if err != nil {
		return state.GroupState{}, err
	}
	pub := state.Public{Suite: g.cs, Context: r.ctx, Tree: t, Interim: interim, ConfirmationTag: tag,
		Config: g.pub.Config, Active: true, Census: cen}
	priv := state.Private{Self: g.self(), SignatureKey: g.priv.SignatureKey, Path: path, Epoch: r.es, Secrets: st,
		Past: g.priv.Past, Resumption: g.priv.Resumption}
	return state.New(core.Key{}, pub, priv)
}

// removedState is the state of a member removed by a commit: the current
// epoch, inactive, readable.
func (g *group) removedState() (state.GroupState, error) {
	pub := g.pub
	pub.Active = false
	pub.Proposals = nil
	priv := g.priv
	priv.Pending, priv.Staged, priv.OwnUpdates = nil, nil, nil
	return state.New(core.Key{}, pub, priv)
}

// advance completes an epoch change from the current state g to next (the
// state a commit produced): the current epoch joins the past epochs and its
// resumption PSK the retained ones, within the configured bounds, and
// everything no longer needed is reported with DeleteSecret.
func (g *group) advance(next state.GroupState) (state.GroupState, []effects.Effect, error) {
	pub, priv := next.Shared(core.Key{})
	cfg := pub.Config
	gid := g.gid()
	var dels []effects.Effect
	past := append(slices.Clone(g.priv.Past), state.PastEpoch{Context: g.pub.Context, Tree: g.pub.Tree,
		SenderDataSecret: g.priv.Epoch.SenderDataSecret(), Secrets: g.priv.Secrets})
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
	out, err := state.New(core.Key{}, pub, priv)
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
