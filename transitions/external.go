package transitions

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// noLeaf stands for the committer of an external commit while its proposals
// are validated: it is no leaf of any tree, so no proposal can name it.
const noLeaf = treemath.LeafIndex(math.MaxUint32)

// placeholderKey is the encryption key of the external joiner's leaf
// between its Add to the provisional tree and GeneratePath, which replaces
// the whole leaf; it only has to be unique in the tree.
var placeholderKey = []byte("mlscore external joiner placeholder")

// externalJoin builds an external commit from a GroupInfo (RFC 9420,
// Section 12.4.3.2) and stages the joiner's state of the new epoch.
func externalJoin(s state.GroupState, e ExternalJoin, env Env) (state.GroupState, []effects.Effect, error) {
	if err := checkConfig(e.Config, env); err != nil {
		return s, nil, err
	}
	if err := checkSendableCredential(e.Credential); err != nil {
		return s, nil, err
	}
	p, err := parseGroupInfo(e.GroupInfo, env)
	if err != nil {
		return s, nil, err
	}
	gi, cs := p.gi, p.cs
	ctx := gi.GroupContext
	xp, ok := gi.Extensions.Find(codec.ExtensionExternalPub)
	if !ok {
		return s, nil, fmt.Errorf("%w: no external_pub extension", ErrInvalidGroupInfo)
	}
	pubExt, err := codec.DecodeExternalPub(xp.ExtensionData)
	if err != nil {
		return s, nil, fmt.Errorf("%w: %w", ErrInvalidGroupInfo, err)
	}
	t, cen, _, err := p.verifiedTree(e.RatchetTree, e.At, env)
	if err != nil {
		return s, nil, err
	}
	sg, err := signerFor(env, e.SignatureKey)
	if err != nil {
		return s, nil, err
	}
	if err := checkLimit("MaxProposals", uint64(len(e.PSKs)+len(e.SelfRemoves)+2), uint64(env.Limits.MaxProposals)); err != nil {
		return s, nil, err
	}
	leavers, err := joinerSelfRemoves(cs, &ctx, t, e.SelfRemoves, env)
	if err != nil {
		return s, nil, err
	}

	jl, err := joinerProposals(cs, t, cen, pubExt.ExternalPub, leavers, sg.Public(), e, env)
	if err != nil {
		return s, nil, err
	}
	jp, err := joinerPath(cs, ctx, jl.tree, jl.census, sg, e, env)
	if err != nil {
		return s, nil, err
	}
	t, cen, self, pu := jp.tree, jp.census, jp.self, jp.pu
	c := codec.Commit{Path: jp.up}
	for i := range jl.props {
		c.Proposals = append(c.Proposals, codec.ProposalOrRef{Type: codec.ProposalOrRefProposal, Proposal: &jl.props[i]})
	}
	for _, r := range jl.refs {
		c.Proposals = append(c.Proposals, codec.ProposalOrRef{Type: codec.ProposalOrRefReference, Reference: r})
	}
	content := codec.FramedContent{GroupID: ctx.GroupID, Epoch: ctx.Epoch, Sender: codec.Sender{SenderType: codec.SenderTypeNewMemberCommit},
		AuthenticatedData: e.AAD, ContentType: codec.ContentTypeCommit, Commit: &c}
	ac, err := keysched.SignContent(sg, codec.WireFormatPublicMessage, content, &ctx)
	if err != nil {
		return s, nil, err
	}
	interimBefore, err := keysched.InterimTranscriptHash(cs, ctx.ConfirmedTranscriptHash, gi.ConfirmationTag)
	if err != nil {
		return s, nil, err
	}
	pskSecret, err := keysched.ComputePSKSecret(cs, jl.psks)
	if err != nil {
		return s, nil, err
	}
	w, err := codec.WireOf(ac)
	if err != nil {
		return s, nil, err
	}
	r, err := deriveEpoch(cs, interimBefore, ctx, ctx.Extensions, t, jl.init, pu.CommitSecret(), pskSecret, w)
	if err != nil {
		return s, nil, err
	}
	tag := r.es.ConfirmationTag(r.confirmed)
	ac.Auth.ConfirmationTag = tag
	pm, err := keysched.ProtectPublic(cs, nil, ac, &ctx)
	if err != nil {
		return s, nil, err
	}
	msg, err := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatPublicMessage, PublicMessage: &pm}.Encode()
	if err != nil {
		return s, nil, err
	}
	n := newEpoch{cs: cs, ctx: r.ctx, tree: t, census: cen, tag: tag, config: e.Config}
	next, err := n.assemble(r.es, state.Private{Self: self, SignatureKey: sg.Public(), Path: pu.Private()})
	if err != nil {
		return s, nil, err
	}
	j := state.Joining(core.K(), state.StagedJoin{Next: next, Prior: s})
	return j, []effects.Effect{effects.SendToGroup{Group: bytes.Clone(ctx.GroupID), Epoch: ctx.Epoch, Kind: effects.KindCommit, Message: msg}}, nil
}

// joinerList is the proposal list of an external commit being built, and
// the provisional tree after it.
type joinerList struct {
	props  []codec.Proposal // inline: the ExternalInit, a prior leaf's Remove, PreSharedKeys
	refs   [][]byte         // by reference: pending SelfRemoves
	psks   []keysched.PSK
	init   keysched.InitSecret // the init secret the ExternalInit exports
	tree   tree.Tree
	census state.Census
}

// joinerProposals builds an external commit's proposals (RFC 9420,
// Section 12.4.3.2): the ExternalInit to the group's external_pub, the
// Remove of the joiner's prior leaf (a resync), the pending SelfRemoves
// leavers by reference, and a PreSharedKey per external PSK of e; and
// applies the removals to t.
func joinerProposals(cs *suite.Suite, t tree.Tree, cen state.Census, externalPub []byte, leavers []joinerSelfRemove, sigKey []byte,
	e ExternalJoin, env Env) (joinerList, error) {
	kem, init, err := keysched.ExternalInit(cs, externalPub, env.Entropy.Draw(entropy.ExternalInit, cs.HPKESeedLen()))
	if err != nil {
		return joinerList{}, err
	}
	jl := joinerList{props: []codec.Proposal{{ProposalType: codec.ProposalExternalInit, ExternalInit: &codec.ExternalInit{KEMOutput: kem}}},
		init: init}
	remove := func(l treemath.LeafIndex) error {
		old, ok := t.SharedLeaf(core.K(), l)
		if !ok {
			return fmt.Errorf("%w: leaf %d removed twice", ErrInvalidProposals, l)
		}
		cen = censusAdd(cen, old, -1)
		t, err = t.Remove(l)
		return err
	}
	if e.RemovePrior {
		prior, ok := priorLeaf(t, sigKey, e.Credential)
		if !ok {
			return joinerList{}, fmt.Errorf("%w: no prior leaf of this client to remove", ErrWrongState)
		}
		if err := remove(prior); err != nil {
			return joinerList{}, err
		}
		jl.props = append(jl.props, removeProposal(prior))
	}
	// Pending SelfRemoves, covered by reference (draft-ietf-mls-extensions).
	for _, l := range leavers {
		if err := remove(l.leaf); err != nil {
			return joinerList{}, err
		}
		jl.refs = append(jl.refs, l.ref)
	}
	var seen [][]byte
	for _, id := range e.PSKs {
		secret, ok := env.Keys.ExternalPSK(id)
		if !ok {
			return joinerList{}, fmt.Errorf("%w: external psk %x", ErrMissingKey, prefix(id))
		}
		pid := keysched.ExternalPSKID(id, env.Entropy.Draw(entropy.PSKNonce, cs.HashLen()))
		if err := checkPSKID(cs.HashLen(), pid, &seen); err != nil {
			return joinerList{}, err
		}
		jl.psks = append(jl.psks, keysched.PSK{ID: pid, Secret: secret})
		jl.props = append(jl.props, codec.Proposal{ProposalType: codec.ProposalPreSharedKey, PreSharedKey: &codec.PreSharedKey{PSK: pid}})
	}
	jl.tree, jl.census = t, cen
	return jl, nil
}

// joinerLeaf is the external joiner's side of its commit's path.
type joinerLeaf struct {
	tree   tree.Tree
	census state.Census
	self   treemath.LeafIndex
	pu     *tree.PathUpdate
	up     *codec.UpdatePath
}

// joinerPath adds the external joiner's leaf to the provisional tree t,
// generates its path, checks the leaf as a receiver will, and encrypts the
// path secrets under the provisional GroupContext (RFC 9420, Section
// 12.4.3.2).
func joinerPath(cs *suite.Suite, ctx codec.GroupContext, t tree.Tree, cen state.Census, sg *suite.Signer, e ExternalJoin, env Env) (joinerLeaf, error) {
	tpl := codec.LeafNode{SignatureKey: sg.Public(), Credential: e.Credential,
		Capabilities:   defaultCapabilities(e.Capabilities, cs.ID(), e.Credential.CredentialType),
		LeafNodeSource: codec.LeafNodeSourceCommit, Extensions: e.LeafExtensions}
	greaseLeaf(&tpl, env)
	placeholder := tpl
	placeholder.EncryptionKey = placeholderKey
	t, self, err := t.Add(&placeholder)
	if err != nil {
		return joinerLeaf{}, err
	}
	if err := checkLimit("MaxLeaves", uint64(t.LeafCount()), uint64(env.Limits.MaxLeaves)); err != nil {
		return joinerLeaf{}, err
	}
	t, pu, err := t.GeneratePath(self, tpl, ctx.GroupID, env.Entropy.Draw(entropy.CommitLeaf, cs.HashLen()), sg)
	if err != nil {
		return joinerLeaf{}, err
	}
	rc, err := requiredCapabilities(ctx.Extensions)
	if err != nil {
		return joinerLeaf{}, err
	}
	// A client sends only a leaf it would accept itself.
	if err := validateLeaf(cs, pu.LeafNode(), leafCheck{source: codec.LeafNodeSourceCommit, gid: ctx.GroupID, leaf: self, at: e.At,
		required: rc, census: cen}, env); err != nil {
		return joinerLeaf{}, err
	}
	prov := ctx
	prov.Epoch++
	prov.TreeHash = t.Hash()
	provBytes, err := prov.Encode()
	if err != nil {
		return joinerLeaf{}, err
	}
	up, err := pu.Encrypt(provBytes, nil, env.Entropy.Draw(entropy.HPKEEncap, cs.HashLen()))
	if err != nil {
		return joinerLeaf{}, err
	}
	return joinerLeaf{tree: t, census: censusAdd(cen, pu.LeafNode(), 1), self: self, pu: pu, up: &up}, nil
}

// priorLeaf finds the leaf an external joiner resyncs: the member with the
// joiner's signature key, else the first with its credential.
func priorLeaf(t tree.Tree, sigKey []byte, cred codec.Credential) (treemath.LeafIndex, bool) {
	if l, ok := t.LeafBySignatureKey(sigKey); ok {
		return l, true
	}
	want, err := cred.Encode()
	if err != nil {
		return 0, false
	}
	for i, ln := range t.SharedMembers(core.K()) {
		if got, err := ln.Credential.Encode(); err == nil && equalBytes(got, want) {
			return i, true
		}
	}
	return 0, false
}

func removeProposal(l treemath.LeafIndex) codec.Proposal {
	return codec.Proposal{ProposalType: codec.ProposalRemove, Remove: &codec.Remove{Removed: l}}
}

// checkExternalCommitProposals checks the proposal list of an external
// commit (RFC 9420, Section 12.4.3.2; ValSem240–ValSem244) and returns the
// ExternalInit's kem_output and the other proposals as entries. store is
// the receiver's proposal store: the one proposal an external commit may
// cover by reference is a stored SelfRemove (draft-ietf-mls-extensions).
func checkExternalCommitProposals(c *codec.Commit, sender codec.Sender, store []state.StoredProposal) ([]byte, []entry, error) {
	var kem []byte
	inits, removes := 0, 0
	var entries []entry
	for i, por := range c.Proposals {
		if por.Type == codec.ProposalOrRefReference {
			j := slices.IndexFunc(store, func(sp state.StoredProposal) bool { return equalBytes(sp.Ref, por.Reference) })
			// ValSem244: an external commit covers no proposal by
			// reference, but a SelfRemove ("allowed in External Commits",
			// "only allowed in a Commit by reference").
			if j < 0 || store[j].Proposal.ProposalType != codec.ProposalSelfRemove {
				return nil, nil, valsem.Errorf(valsem.ValSem244, "external commit covers proposal %d by reference", i)
			}
			entries = append(entries, entry{p: store[j].Proposal, sender: store[j].Sender, ref: store[j].Ref})
			continue
		}
		p := *por.Proposal
		switch p.ProposalType {
		case codec.ProposalExternalInit:
			inits++
			kem = p.ExternalInit.KEMOutput
			continue
		case codec.ProposalRemove:
			removes++
		case codec.ProposalPreSharedKey:
		default:
			// ValSem242: only ExternalInit, Remove and PreSharedKey.
			return nil, nil, valsem.Errorf(valsem.ValSem242, "external commit covers a %s proposal", p.ProposalType)
		}
		entries = append(entries, entry{p: p, sender: sender})
	}
	switch {
	case inits == 0:
		// ValSem240: exactly one ExternalInit, at least one.
		return nil, nil, valsem.Errorf(valsem.ValSem240, "external commit without external_init")
	case inits > 1:
		// ValSem241: at most one ExternalInit.
		return nil, nil, valsem.Errorf(valsem.ValSem241, "external commit with %d external_init proposals", inits)
	case removes > 1:
		return nil, nil, fmt.Errorf("%w: external commit with %d removes", ErrInvalidProposals, removes)
	}
	return kem, entries, nil
}

// sameCredential is the default AcceptResync: the joiner presents the
// removed member's credential.
func sameCredential(removed, joiner codec.Credential) error {
	a, err1 := removed.Encode()
	b, err2 := joiner.Encode()
	if err1 != nil || err2 != nil || !equalBytes(a, b) {
		return fmt.Errorf("mls: credential differs from the removed member's")
	}
	return nil
}

// frameNonMember checks a PublicMessage from a sender outside the group
// (RFC 9420, Sections 6 and 12.1.8): the sender type fits the content
// (ValSem112), an external sender is listed in external_senders, and an
// external commit carries a path (ValSem245).
func (g *group) frameNonMember(pm *codec.PublicMessage) error {
	snd := pm.Content.Sender
	switch snd.SenderType {
	case codec.SenderTypeExternal:
		// ValSem112: external senders may only send proposals of the
		// types RFC 9420, Section 17.4 allows them: no Update and no
		// ExternalInit.
		p := pm.Content.Proposal
		if pm.Content.ContentType != codec.ContentTypeProposal || p == nil {
			return valsem.Errorf(valsem.ValSem112, "external sender of a %s", pm.Content.ContentType)
		}
		if p.ProposalType == codec.ProposalUpdate || p.ProposalType == codec.ProposalExternalInit {
			return valsem.Errorf(valsem.ValSem112, "%s proposal from an external sender", p.ProposalType)
		}
		if _, err := g.externalSender(snd.SenderIndex); err != nil {
			return err
		}
	case codec.SenderTypeNewMemberProposal:
		// ValSem112: a new_member_proposal sender sends an Add proposal.
		if pm.Content.ContentType != codec.ContentTypeProposal || pm.Content.Proposal == nil || pm.Content.Proposal.ProposalType != codec.ProposalAdd {
			return valsem.Errorf(valsem.ValSem112, "new_member_proposal sender of something other than an Add")
		}
	case codec.SenderTypeNewMemberCommit:
		// ValSem112: a new_member_commit sender sends a commit.
		if pm.Content.ContentType != codec.ContentTypeCommit || pm.Content.Commit == nil {
			return valsem.Errorf(valsem.ValSem112, "new_member_commit sender of a %s", pm.Content.ContentType)
		}
		// ValSem245: an external commit carries a path.
		if pm.Content.Commit.Path == nil {
			return valsem.Errorf(valsem.ValSem245, "external commit without path")
		}
	}
	return nil
}

// externalSender returns entry i of the group's external_senders extension
// (RFC 9420, Section 12.1.8.1).
func (g *group) externalSender(i uint32) (codec.ExternalSender, error) {
	x, ok := g.pub.Context.Extensions.Find(codec.ExtensionExternalSenders)
	if !ok {
		return codec.ExternalSender{}, valsem.Errorf(valsem.ValSem004, "external sender %d, but the group has no external_senders", i)
	}
	l, err := codec.DecodeExternalSenders(x.ExtensionData)
	if err != nil {
		return codec.ExternalSender{}, fmt.Errorf("%w: external_senders: %w", ErrInvalidMessage, err)
	}
	if int64(i) >= int64(len(l)) {
		return codec.ExternalSender{}, valsem.Errorf(valsem.ValSem004, "external sender %d of %d", i, len(l))
	}
	return l[i], nil
}

// publicSenderKey returns the signature key that must verify a
// PublicMessage: the sender leaf's for a member, the external_senders
// entry's for an external sender, the Add's key package leaf's for a
// new_member_proposal, the path leaf's for a new_member_commit (RFC 9420,
// Section 6.1).
func (g *group) publicSenderKey(f framedMessage) ([]byte, error) {
	c := f.pub.Content
	switch c.Sender.SenderType {
	case codec.SenderTypeExternal:
		x, err := g.externalSender(c.Sender.SenderIndex)
		if err != nil {
			return nil, err
		}
		return x.SignatureKey, nil
	case codec.SenderTypeNewMemberProposal:
		return c.Proposal.Add.KeyPackage.LeafNode.SignatureKey, nil
	case codec.SenderTypeNewMemberCommit:
		return c.Commit.Path.LeafNode.SignatureKey, nil
	}
	key, _ := f.keys.tree.SharedSignatureKey(core.K(), c.Sender.LeafIndex)
	return key, nil
}

// unprotectPublic authenticates a PublicMessage (RFC 9420, Section 6.2);
// an external commit whose signature does not verify with its path leaf's
// key breaks ValSem246.
func (g *group) unprotectPublic(f framedMessage) (codec.AuthenticatedContent, codec.FramedWire, error) {
	key, err := g.publicSenderKey(f)
	if err != nil {
		return codec.AuthenticatedContent{}, codec.FramedWire{}, err
	}
	// The PublicMessage follows the MLSMessage's version and wire_format.
	w, err := f.pub.ReceivedWire(f.raw[4:])
	if err != nil {
		return codec.AuthenticatedContent{}, codec.FramedWire{}, err
	}
	var ac codec.AuthenticatedContent
	if g.public {
		// No membership key: everything but the membership tag.
		ac, err = keysched.VerifyPublicWire(g.cs, *f.pub, w, f.keys.ctx, key)
	} else {
		ac, err = keysched.UnprotectPublicWire(g.cs, g.priv.Epoch.MembershipKey(), *f.pub, w, f.keys.ctx, key)
	}
	if err != nil && f.pub.Content.Sender.SenderType == codec.SenderTypeNewMemberCommit && errors.Is(err, valsem.ValSem010) {
		// ValSem246: the external commit is signed by its path leaf.
		return codec.AuthenticatedContent{}, codec.FramedWire{}, valsem.Wrap(valsem.ValSem246, err, "external commit signature does not verify with the path leaf's key")
	}
	return ac, w, err
}

// checkExternalProposal runs the Policy on a stored proposal from outside
// the group.
func checkExternalProposal(snd codec.Sender, p codec.Proposal, env Env) error {
	if snd.SenderType == codec.SenderTypeMember || env.Policy.AcceptExternalProposal == nil {
		return nil
	}
	if err := env.Policy.AcceptExternalProposal(snd, p); err != nil {
		return &PolicyError{Reason: fmt.Sprintf("%s proposal from a %s sender not accepted", p.ProposalType, snd.SenderType), Err: err}
	}
	return nil
}

// proposeAsNewMember frames an Add of the client's own key package with a
// new_member_proposal sender (RFC 9420, Section 12.1.8).
func proposeAsNewMember(s state.GroupState, e ProposeAsNewMember, env Env) (state.GroupState, []effects.Effect, error) {
	p, err := parseGroupInfo(e.GroupInfo, env)
	if err != nil {
		return s, nil, err
	}
	b, ok := env.Keys.KeyPackage(e.KeyPackageRef)
	if !ok {
		return s, nil, fmt.Errorf("%w: key package %x", ErrMissingKey, prefix(e.KeyPackageRef))
	}
	if b.KeyPackage.CipherSuite != p.gi.GroupContext.CipherSuite {
		return s, nil, valsem.Errorf(valsem.ValSem105, "key package suite %d, group suite %d", b.KeyPackage.CipherSuite, p.gi.GroupContext.CipherSuite)
	}
	sg, err := signerFor(env, b.KeyPackage.LeafNode.SignatureKey)
	if err != nil {
		return s, nil, err
	}
	prop := codec.Proposal{ProposalType: codec.ProposalAdd, Add: &codec.Add{KeyPackage: b.KeyPackage}}
	return sendExternal(s, p, codec.Sender{SenderType: codec.SenderTypeNewMemberProposal}, prop, e.AAD, sg)
}

// externalPropose frames a proposal of an external sender (RFC 9420,
// Section 12.1.8.1).
func externalPropose(s state.GroupState, e ExternalPropose, env Env) (state.GroupState, []effects.Effect, error) {
	if err := checkSendableProposal(e.Proposal); err != nil {
		return s, nil, err
	}
	p, err := externalProposeGroup(e, env)
	if err != nil {
		return s, nil, err
	}
	sg, err := signerFor(env, e.SignatureKey)
	if err != nil {
		return s, nil, err
	}
	x, ok := p.gi.GroupContext.Extensions.Find(codec.ExtensionExternalSenders)
	if !ok {
		return s, nil, fmt.Errorf("%w: the group has no external_senders extension", ErrInvalidGroupInfo)
	}
	l, err := codec.DecodeExternalSenders(x.ExtensionData)
	if err != nil {
		return s, nil, fmt.Errorf("%w: %w", ErrInvalidGroupInfo, err)
	}
	idx := slices.IndexFunc(l, func(es codec.ExternalSender) bool { return equalBytes(es.SignatureKey, e.SignatureKey) })
	if idx < 0 {
		return s, nil, fmt.Errorf("%w: signature key %x is not an external sender of the group", ErrMissingKey, prefix(e.SignatureKey))
	}
	prop := e.Proposal
	switch prop.ProposalType {
	case codec.ProposalUpdate, codec.ProposalExternalInit:
		// ValSem112: not from an external sender.
		return s, nil, valsem.Errorf(valsem.ValSem112, "%s proposal from an external sender", prop.ProposalType)
	case codec.ProposalPreSharedKey:
		if prop.PreSharedKey == nil {
			return s, nil, fmt.Errorf("%w: pre_shared_key proposal without body", ErrInvalidProposals)
		}
		if len(prop.PreSharedKey.PSK.PSKNonce) == 0 {
			psk := *prop.PreSharedKey
			psk.PSK.PSKNonce = env.Entropy.Draw(entropy.PSKNonce, p.cs.HashLen())
			prop.PreSharedKey = &psk
		}
		var seen [][]byte
		if err := checkPSKID(p.cs.HashLen(), prop.PreSharedKey.PSK, &seen); err != nil {
			return s, nil, err
		}
	}
	return sendExternal(s, p, codec.Sender{SenderType: codec.SenderTypeExternal, SenderIndex: uint32(idx)}, prop, e.AAD, sg)
}

// sendExternal signs and frames a proposal of a non-member as a
// PublicMessage of the GroupInfo's group and epoch.
func sendExternal(s state.GroupState, p parsedGroupInfo, snd codec.Sender, prop codec.Proposal, aad []byte, sg *suite.Signer) (state.GroupState, []effects.Effect, error) {
	if prop.ProposalType.IsDefault() {
		if _, err := prop.Encode(); err != nil {
			return s, nil, fmt.Errorf("%w: %w", ErrInvalidProposals, err)
		}
	}
	ctx := p.gi.GroupContext
	content := codec.FramedContent{GroupID: ctx.GroupID, Epoch: ctx.Epoch, Sender: snd, AuthenticatedData: aad,
		ContentType: codec.ContentTypeProposal, Proposal: &prop}
	ac, err := keysched.SignContent(sg, codec.WireFormatPublicMessage, content, &ctx)
	if err != nil {
		return s, nil, err
	}
	pm, err := keysched.ProtectPublic(p.cs, nil, ac, &ctx)
	if err != nil {
		return s, nil, err
	}
	msg, err := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatPublicMessage, PublicMessage: &pm}.Encode()
	if err != nil {
		return s, nil, err
	}
	return s, []effects.Effect{effects.SendToGroup{Group: bytes.Clone(ctx.GroupID), Epoch: ctx.Epoch, Kind: effects.KindProposal, Message: msg}}, nil
}
