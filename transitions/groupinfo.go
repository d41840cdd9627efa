package transitions

import (
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// ErrInvalidGroupInfo reports a GroupInfo that cannot be used to join or
// address a group (RFC 9420, Section 12.4.3): malformed, not signed by a
// member, or without the extension the operation needs.
var ErrInvalidGroupInfo = fmt.Errorf("mls: invalid group info")

// publishGroupInfo signs the current epoch's GroupInfo with external_pub
// (RFC 9420, Sections 12.4.3 and 12.4.3.2).
func publishGroupInfo(s state.GroupState, e PublishGroupInfo, env Env) (state.GroupState, []effects.Effect, error) {
	g, err := inGroup(s)
	if err != nil {
		return s, nil, err
	}
	sg, err := g.signer(env)
	if err != nil {
		return s, nil, err
	}
	gi := codec.GroupInfo{GroupContext: g.pub.Context, ConfirmationTag: g.pub.ConfirmationTag, Signer: g.self()}
	if e.RatchetTree {
		enc, err := g.pub.Tree.Encode()
		if err != nil {
			return s, nil, err
		}
		gi.Extensions = append(gi.Extensions, codec.Extension{ExtensionType: codec.ExtensionRatchetTree, ExtensionData: enc})
	}
	_, pub, err := g.priv.Epoch.ExternalKeyPair()
	if err != nil {
		return s, nil, err
	}
	xp, err := codec.ExternalPub{ExternalPub: pub}.Encode()
	if err != nil {
		return s, nil, err
	}
	gi.Extensions = append(gi.Extensions, codec.Extension{ExtensionType: codec.ExtensionExternalPub, ExtensionData: xp})
	gi.Extensions = greaseExtensions(gi.Extensions, env, "group_info")
	tbs, err := gi.TBS().Encode()
	if err != nil {
		return s, nil, err
	}
	if gi.Signature, err = sg.SignWithLabel("GroupInfoTBS", tbs); err != nil {
		return s, nil, err
	}
	b, err := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatGroupInfo, GroupInfo: &gi}.Encode()
	if err != nil {
		return s, nil, err
	}
	return s, []effects.Effect{effects.PublishGroupInfo{Group: g.gid(), Epoch: g.epoch(), GroupInfo: b}}, nil
}

// parsedGroupInfo is a decoded GroupInfo with its suite.
type parsedGroupInfo struct {
	gi codec.GroupInfo
	cs *suite.Suite
}

// parseGroupInfo decodes MLSMessage(GroupInfo) bytes, within the message
// limit, without verifying the signature (which needs the tree).
func parseGroupInfo(b []byte, env Env) (parsedGroupInfo, error) {
	if err := checkLimit("MaxMessageBytes", uint64(len(b)), uint64(env.Limits.MaxMessageBytes)); err != nil {
		return parsedGroupInfo{}, err
	}
	m, err := codec.DecodeMLSMessageBounded(b, env.Limits.Bounds())
	if err != nil {
		return parsedGroupInfo{}, limitFrom(err)
	}
	if m.Version != codec.MLS10 || m.GroupInfo == nil {
		return parsedGroupInfo{}, fmt.Errorf("%w: not an mls10 GroupInfo", ErrInvalidGroupInfo)
	}
	gi := *m.GroupInfo
	if gi.GroupContext.Version != codec.MLS10 {
		return parsedGroupInfo{}, fmt.Errorf("%w: group context version %d", ErrInvalidGroupInfo, gi.GroupContext.Version)
	}
	cs, err := suite.Lookup(suite.ID(gi.GroupContext.CipherSuite))
	if err != nil {
		return parsedGroupInfo{}, err
	}
	return parsedGroupInfo{gi: gi, cs: cs}, nil
}

// verifiedTree returns the group's ratchet tree from the GroupInfo's
// ratchet_tree extension or ext, validated against the GroupContext (RFC
// 9420, Section 12.4.3.1, steps on the tree), with the GroupInfo signature
// verified by its signer's leaf, every member's leaf validated at time at
// (Section 7.3) and the Policy's credential check run on each. It also
// returns the members' census and the GroupContext's decoded
// required_capabilities (nil: none).
func (p parsedGroupInfo) verifiedTree(ext []byte, at uint64, env Env) (tree.Tree, state.Census, *codec.RequiredCapabilities, error) {
	fail := func(err error) (tree.Tree, state.Census, *codec.RequiredCapabilities, error) {
		return tree.Tree{}, state.Census{}, nil, err
	}
	if err := checkLimit("MaxMessageBytes", uint64(len(ext)), uint64(env.Limits.MaxMessageBytes)); err != nil {
		return fail(err)
	}
	gi, cs := p.gi, p.cs
	treeBytes := ext
	if x, ok := gi.Extensions.Find(codec.ExtensionRatchetTree); ok {
		treeBytes = x.ExtensionData
	}
	if treeBytes == nil {
		return fail(fmt.Errorf("%w: no ratchet tree in the group info and none given", ErrInvalidGroupInfo))
	}
	// The leaf bound is checked while decoding, before the tree is built.
	t, err := tree.Decode(cs, treeBytes, treemath.LeafCount(env.Limits.MaxLeaves))
	if err != nil {
		return fail(limitFrom(err))
	}
	signer, ok := t.SharedLeaf(core.K(), gi.Signer)
	if !ok {
		return fail(fmt.Errorf("%w: signer %d is not a member", ErrInvalidGroupInfo, gi.Signer))
	}
	if err := verifyGroupInfo(cs, signer.SignatureKey, gi); err != nil {
		return fail(err)
	}
	ctx := gi.GroupContext
	if err := t.Validate(ctx.GroupID, ctx.TreeHash); err != nil {
		return fail(err)
	}
	rc, err := requiredCapabilities(ctx.Extensions)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrInvalidGroupInfo, err))
	}
	cen := state.CensusOf(t)
	for i, ln := range t.SharedMembers(core.K()) {
		if err := checkTreeLeaf(cs, ln, leafCheck{source: ln.LeafNodeSource, at: at, required: rc, census: cen}, env); err != nil {
			return fail(fmt.Errorf("%w (leaf %d)", err, i))
		}
	}
	return t, cen, rc, nil
}

func verifyGroupInfo(cs *suite.Suite, key []byte, gi codec.GroupInfo) error {
	tbs, err := gi.TBS().Encode()
	if err != nil {
		return err
	}
	if err := cs.VerifyWithLabel(key, "GroupInfoTBS", tbs, gi.Signature); err != nil {
		return fmt.Errorf("%w: signature: %w", ErrInvalidGroupInfo, err)
	}
	return nil
}

// externalProposeGroup returns the group an ExternalPropose names: its
// GroupInfo's, or, when it has none, its Context (which must be an mls10
// context of a known suite).
func externalProposeGroup(e ExternalPropose, env Env) (parsedGroupInfo, error) {
	if e.Context == nil {
		return parseGroupInfo(e.GroupInfo, env)
	}
	if len(e.GroupInfo) > 0 {
		return parsedGroupInfo{}, fmt.Errorf("%w: both a GroupInfo and a GroupContext", ErrInvalidGroupInfo)
	}
	ctx := *e.Context
	if ctx.Version != codec.MLS10 {
		return parsedGroupInfo{}, fmt.Errorf("%w: group context version %d", ErrInvalidGroupInfo, ctx.Version)
	}
	cs, err := suite.Lookup(suite.ID(ctx.CipherSuite))
	if err != nil {
		return parsedGroupInfo{}, err
	}
	return parsedGroupInfo{gi: codec.GroupInfo{GroupContext: ctx}, cs: cs}, nil
}
