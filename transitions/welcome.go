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
	ow, err := openWelcome(e.Welcome, env)
	if err != nil {
		return s, nil, err
	}
	cs, gi, gs, res, bundle := ow.cs, ow.gi, ow.gs, ow.res, ow.bundle
	ctx, kp := gi.GroupContext, bundle.KeyPackage
	treeBytes := e.RatchetTree
	if x, ok := gi.Extensions.Find(codec.ExtensionRatchetTree); ok {
		treeBytes = x.ExtensionData
	}
	t, cen, self, err := welcomeTree(cs, gi, kp.LeafNode, treeBytes, e.At, env)
	if err != nil {
		return s, nil, err
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
	r, err := epochOf(ctx, ctxBytes, ow.joiner, ow.inter)
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
	j := state.Joining(core.K(), state.StagedJoin{Next: next, KeyPackageRef: ow.ref, LastResort: bundle.LastResort})
	return j, []effects.Effect{effects.WelcomeStaged{Group: bytes.Clone(ctx.GroupID), Epoch: ctx.Epoch, Signer: gi.Signer, Self: self, Members: cen.Members}}, nil
}

// openedWelcome is a Welcome opened with one of the client's key
// packages: the group secrets decrypted, the PSKs resolved, the key
// schedule run to the intermediate secret, the GroupInfo decrypted.
type openedWelcome struct {
	cs     *suite.Suite
	ref    []byte // the KeyPackageRef the Welcome used
	bundle KeyPackageBundle
	gs     codec.GroupSecrets
	res    *resumed // the resumption PSK's old group, for a reinit or branch
	joiner keysched.JoinerSecret
	inter  keysched.IntermediateSecret
	gi     codec.GroupInfo // not verified yet
}

// openWelcome decodes a Welcome within the limits, finds the client's key
// package among its recipients, decrypts its GroupSecrets and, with the
// PSKs they name, its GroupInfo (RFC 9420, Section 12.4.3.1).
func openWelcome(welcome []byte, env Env) (openedWelcome, error) {
	var ow openedWelcome
	m, err := codec.DecodeMLSMessageBounded(welcome, env.Limits.Bounds())
	if err != nil {
		return ow, limitFrom(err)
	}
	if m.Version != codec.MLS10 || m.Welcome == nil {
		return ow, fmt.Errorf("%w: not an mls10 Welcome", ErrInvalidWelcome)
	}
	w := *m.Welcome
	if ow.cs, err = suite.Lookup(suite.ID(w.CipherSuite)); err != nil {
		return ow, err
	}
	// Find a key package of ours among the recipients.
	for _, egs := range w.Secrets {
		if b, ok := env.Keys.KeyPackage(egs.NewMember); ok {
			ow.ref, ow.bundle = egs.NewMember, b
			break
		}
	}
	if ow.ref == nil {
		return ow, fmt.Errorf("%w: the welcome names none of our key packages", ErrMissingKey)
	}
	if kp := ow.bundle.KeyPackage; kp.CipherSuite != w.CipherSuite {
		return ow, fmt.Errorf("%w: welcome suite %d, key package suite %d", ErrInvalidWelcome, w.CipherSuite, kp.CipherSuite)
	}
	if ow.gs, err = keysched.DecryptGroupSecretsBounded(ow.cs, w, ow.ref, ow.bundle.InitPriv, env.Limits.Bounds()); err != nil {
		return ow, limitOrWrap(ErrInvalidWelcome, err)
	}
	psks, res, err := welcomePSKs(ow.cs, ow.gs.PSKs, env)
	if err != nil {
		return ow, err
	}
	ow.res = res
	pskSecret, err := keysched.ComputePSKSecret(ow.cs, psks)
	if err != nil {
		return ow, err
	}
	if ow.joiner, err = keysched.NewJoinerSecret(ow.cs, ow.gs.JoinerSecret); err != nil {
		return ow, fmt.Errorf("%w: %w", ErrInvalidWelcome, err)
	}
	if ow.inter, err = ow.joiner.WithPSK(pskSecret); err != nil {
		return ow, err
	}
	ws, err := ow.inter.Welcome()
	if err != nil {
		return ow, err
	}
	if ow.gi, err = ws.DecryptGroupInfo(w.EncryptedGroupInfo); err != nil {
		return ow, fmt.Errorf("%w: %w", ErrInvalidWelcome, err)
	}
	if ctx := ow.gi.GroupContext; ctx.Version != codec.MLS10 || ctx.CipherSuite != w.CipherSuite {
		return ow, fmt.Errorf("%w: group info version %d suite %d", ErrInvalidWelcome, ctx.Version, ctx.CipherSuite)
	}
	return ow, nil
}

// welcomeTree decodes the ratchet tree of a Welcome's group within the
// limits and checks it (RFC 9420, Section 12.4.3.1): the GroupInfo is
// signed by its signer's leaf, the tree is valid and hashes to the
// GroupContext's tree hash, every leaf is valid at time at, and the
// client's key package leaf own is in it. It returns the tree, its census
// and the client's leaf.
func welcomeTree(cs *suite.Suite, gi codec.GroupInfo, own codec.LeafNode, treeBytes []byte, at uint64, env Env) (tree.Tree, state.Census, treemath.LeafIndex, error) {
	fail := func(err error) (tree.Tree, state.Census, treemath.LeafIndex, error) {
		return tree.Tree{}, state.Census{}, 0, err
	}
	if treeBytes == nil {
		return fail(fmt.Errorf("%w: no ratchet tree in the welcome and none given", ErrInvalidWelcome))
	}
	ctx := gi.GroupContext
	// The leaf bound is checked while decoding, before the tree is built.
	t, err := tree.Decode(cs, treeBytes, treemath.LeafCount(env.Limits.MaxLeaves))
	if err != nil {
		return fail(limitFrom(err))
	}
	signerLeaf, ok := t.SharedLeaf(core.K(), gi.Signer)
	if !ok {
		return fail(fmt.Errorf("%w: group info signer %d is not a member", ErrInvalidWelcome, gi.Signer))
	}
	if err := keysched.VerifyGroupInfo(cs, signerLeaf.SignatureKey, gi); err != nil {
		return fail(fmt.Errorf("%w: %w", ErrInvalidWelcome, err))
	}
	// The tree: hash, parent hashes, unmerged leaves, key uniqueness and
	// leaf signatures (verified in parallel, reported in index order).
	if err := t.Validate(ctx.GroupID, ctx.TreeHash); err != nil {
		return fail(err)
	}
	rc, err := requiredCapabilities(ctx.Extensions)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrInvalidWelcome, err))
	}
	cen := state.CensusOf(t)
	var self treemath.LeafIndex
	found := false
	for i, ln := range t.SharedMembers(core.K()) {
		// Leaf validation (RFC 9420, Section 7.3) beyond the signatures
		// that Validate checked; lifetimes are checked at the event time.
		if err := checkTreeLeaf(cs, ln, leafCheck{source: ln.LeafNodeSource, at: at, required: rc, census: cen}, env); err != nil {
			return fail(fmt.Errorf("%w (leaf %d)", err, i))
		}
		if equalBytes(ln.EncryptionKey, own.EncryptionKey) && equalBytes(ln.SignatureKey, own.SignatureKey) {
			self, found = i, true
		}
	}
	if !found {
		return fail(fmt.Errorf("%w: our key package's leaf is not in the tree", ErrInvalidWelcome))
	}
	return t, cen, self, nil
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
