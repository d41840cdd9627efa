package transitions

import (
	"bytes"
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// joinWelcome validates a Welcome and stages the join (RFC 9420, Section
// 12.4.3.1).
func joinWelcome(s state.GroupState, e JoinWelcome, env Env) (state.GroupState, []effects.Effect, error) {
	if err := checkConfig(e.Config, env); err != nil {
		return s, nil, err
	}
	for _, b := range [][]byte{e.Welcome, e.RatchetTree} {
		if err := checkLimit("MaxMessageBytes", uint64(len(b)), uint64(env.Limits.MaxMessageBytes)); err != nil {
			return s, nil, err
		}
	}
	m, err := codec.DecodeMLSMessageBounded(e.Welcome, env.Limits.Bounds())
	if err != nil {
		return s, nil, limitFrom(err)
	}
	if m.Version != codec.MLS10 || m.Welcome == nil {
		return s, nil, fmt.Errorf("%w: not an mls10 Welcome", ErrInvalidWelcome)
	}
	w := *m.Welcome
	cs, err := suite.Lookup(suite.ID(w.CipherSuite))
	if err != nil {
		return s, nil, err
	}
	// Find a key package of ours among the recipients.
	var ref []byte
	var bundle KeyPackageBundle
	for _, egs := range w.Secrets {
		if b, ok := env.Keys.KeyPackage(egs.NewMember); ok {
			ref, bundle = egs.NewMember, b
			break
		}
	}
	if ref == nil {
		return s, nil, fmt.Errorf("%w: the welcome names none of our key packages", ErrMissingKey)
	}
	kp := bundle.KeyPackage
	if kp.CipherSuite != w.CipherSuite {
		return s, nil, fmt.Errorf("%w: welcome suite %d, key package suite %d", ErrInvalidWelcome, w.CipherSuite, kp.CipherSuite)
	}
	gs, err := keysched.DecryptGroupSecretsBounded(cs, w, ref, bundle.InitPriv, env.Limits.Bounds())
	if err != nil {
		return s, nil, limitOrWrap(ErrInvalidWelcome, err)
	}
	psks, res, err := welcomePSKs(cs, gs.PSKs, env)
	if err != nil {
		return s, nil, err
	}
	pskSecret, err := keysched.ComputePSKSecret(cs, psks)
	if err != nil {
		return s, nil, err
	}
	joiner, err := keysched.NewJoinerSecret(cs, gs.JoinerSecret)
	if err != nil {
		return s, nil, fmt.Errorf("%w: %w", ErrInvalidWelcome, err)
	}
	inter, err := joiner.WithPSK(pskSecret)
	if err != nil {
		return s, nil, err
	}
	ws, err := inter.Welcome()
	if err != nil {
		return s, nil, err
	}
	gi, err := ws.DecryptGroupInfo(w.EncryptedGroupInfo)
	if err != nil {
		return s, nil, fmt.Errorf("%w: %w", ErrInvalidWelcome, err)
	}
	ctx := gi.GroupContext
	if ctx.Version != codec.MLS10 || ctx.CipherSuite != w.CipherSuite {
		return s, nil, fmt.Errorf("%w: group info version %d suite %d", ErrInvalidWelcome, ctx.Version, ctx.CipherSuite)
	}
	treeBytes := e.RatchetTree
	if x, ok := gi.Extensions.Find(codec.ExtensionRatchetTree); ok {
		treeBytes = x.ExtensionData
	}
	if treeBytes == nil {
		return s, nil, fmt.Errorf("%w: no ratchet tree in the welcome and none given", ErrInvalidWelcome)
	}
	// The leaf bound is checked while decoding, before the tree is built.
	t, err := tree.Decode(cs, treeBytes, treemath.LeafCount(env.Limits.MaxLeaves))
	if err != nil {
		return s, nil, limitFrom(err)
	}
	signerLeaf, ok := t.SharedLeaf(core.Key{}, gi.Signer)
	if !ok {
		return s, nil, fmt.Errorf("%w: group info signer %d is not a member", ErrInvalidWelcome, gi.Signer)
	}
	if err := keysched.VerifyGroupInfo(cs, signerLeaf.SignatureKey, gi); err != nil {
		return s, nil, fmt.Errorf("%w: %w", ErrInvalidWelcome, err)
	}
	// The tree: hash, parent hashes, unmerged leaves, key uniqueness and
	// leaf signatures (verified in parallel, reported in index order).
	if err := t.Validate(ctx.GroupID, ctx.TreeHash); err != nil {
		return s, nil, err
	}
	rc, err := requiredCapabilities(ctx.Extensions)
	if err != nil {
		return s, nil, fmt.Errorf("%w: %w", ErrInvalidWelcome, err)
	}
	cen := state.CensusOf(t)
	var self treemath.LeafIndex
	found := false
	for i, ln := range t.SharedMembers(core.Key{}) {
		// Leaf validation (RFC 9420, Section 7.3) beyond the signatures
		// that Validate checked; lifetimes are checked at the event time.
		if err := checkTreeLeaf(cs, ln, leafCheck{source: ln.LeafNodeSource, at: e.At, required: rc, census: cen}, env); err != nil {
			return s, nil, fmt.Errorf("%w (leaf %d)", err, i)
		}
		if equalBytes(ln.EncryptionKey, kp.LeafNode.EncryptionKey) && equalBytes(ln.SignatureKey, kp.LeafNode.SignatureKey) {
			self, found = i, true
		}
	}
	if !found {
		return s, nil, fmt.Errorf("%w: our key package's leaf is not in the tree", ErrInvalidWelcome)
	}
	if res != nil {
		// RFC 9420, Sections 11.2 and 11.3: a reinitialized group or a
		// subgroup matches the old group its PSK names.
		if err := checkResumed(res.id, res.old, ctx, t, env); err != nil {
			return s, nil, fmt.Errorf("%w: %w", ErrInvalidWelcome, err)
		}
	}
	for _, x := range ctx.Extensions {
		if !isDefaultExtension(x.ExtensionType) && countOf(cen.ExtensionSupport, uint16(x.ExtensionType)) < cen.Members {
			// ValSem209: the group's extensions are supported by all members.
			return s, nil, valsem.Errorf(valsem.ValSem209, "group context extension %d not supported by all members", x.ExtensionType)
		}
	}
	path, err := tree.NewPrivatePath(cs, self, bundle.EncryptionPriv)
	if err != nil {
		return s, nil, err
	}
	if gs.PathSecret != nil {
		x := treemath.CommonAncestor(self.Node(), gi.Signer.Node())
		if path, err = path.Join(t, x, gs.PathSecret.PathSecret); err != nil {
			return s, nil, err
		}
	}
	ctxBytes, err := ctx.Encode()
	if err != nil {
		return s, nil, err
	}
	r, err := epochOf(ctx, ctxBytes, joiner, inter)
	if err != nil {
		return s, nil, err
	}
	// ValSem205: the GroupInfo's confirmation tag verifies.
	if !r.es.VerifyConfirmationTag(ctx.ConfirmedTranscriptHash, gi.ConfirmationTag) {
		return s, nil, valsem.Errorf(valsem.ValSem205, "welcome confirmation tag does not verify")
	}
	n := newEpoch{cs: cs, ctx: ctx, tree: t, census: cen, tag: gi.ConfirmationTag, config: e.Config}
	next, err := n.assemble(r.es, state.Private{Self: self, SignatureKey: kp.LeafNode.SignatureKey, Path: path})
	if err != nil {
		return s, nil, err
	}
	j := state.Joining(core.Key{}, state.StagedJoin{Next: next, KeyPackageRef: ref, LastResort: bundle.LastResort})
	return j, []effects.Effect{effects.WelcomeStaged{Group: bytes.Clone(ctx.GroupID), Epoch: ctx.Epoch, Signer: gi.Signer, Self: self, Members: cen.Members}}, nil
}

// checkTreeLeaf validates a leaf of a tree being joined; its signature was
// verified with the tree.
func checkTreeLeaf(cs *suite.Suite, ln *codec.LeafNode, lc leafCheck, env Env) error {
	lc.signatureChecked = true
	return validateLeaf(cs, ln, lc, env)
}

// acceptJoin makes the staged join the state.
func acceptJoin(s state.GroupState, e AcceptJoin, env Env) (state.GroupState, []effects.Effect, error) {
	j, _ := s.StagedJoin() // the lifecycle table admits AcceptJoin only while joining
	n := j.Next
	effs := []effects.Effect{effects.Joined{Group: n.GroupID(), Epoch: n.Epoch(), Self: n.OwnLeaf(), Authenticator: n.EpochAuthenticator()}}
	if !j.LastResort && j.KeyPackageRef != nil {
		effs = append(effs, effects.DeleteSecret{Ref: effects.SecretRef{Kind: effects.SecretKeyPackage, ID: j.KeyPackageRef}})
	}
	return n, effs, nil
}

// rejectJoin drops the staged join.
func rejectJoin(s state.GroupState, e RejectJoin, env Env) (state.GroupState, []effects.Effect, error) {
	j, _ := s.StagedJoin() // the lifecycle table admits RejectJoin only while joining
	// An external join returns to the state it started from.
	return j.Prior, nil, nil
}
