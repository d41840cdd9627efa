package mls

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
)

// Errors of the delivery-service API.
var (
	// ErrNotExternalSender reports an external proposal by a client whose
	// signature key the group's external_senders extension does not list
	// (RFC 9420, Section 12.1.8.1), or for a group that has none.
	ErrNotExternalSender = errors.New("mls: not an external sender of the group")
	// ErrNotGroupInfo reports bytes that are not an MLSMessage carrying a
	// GroupInfo.
	ErrNotGroupInfo = errors.New("mls: not an MLSMessage carrying a GroupInfo")
)

// ExternalSender returns this client as an entry of a group's
// external_senders extension (RFC 9420, Section 12.1.8.1): its signature
// key and credential. A group that lists it accepts its proposals
// (ProposeExternal).
func (c *Client) ExternalSender() codec.ExternalSender {
	return codec.ExternalSender{SignatureKey: c.SignatureKey(), Credential: c.Credential()}
}

// ExternalSendersExtension returns the external_senders group context
// extension listing senders, for GroupOptions.Extensions or
// Group.ProposeGroupContextExtensions. A sender's index in the list is
// the sender_index of its proposals.
func ExternalSendersExtension(senders ...codec.ExternalSender) (codec.Extension, error) {
	data, err := codec.ExternalSenders(senders).Encode()
	if err != nil {
		return codec.Extension{}, fmt.Errorf("mls: external senders: %w", err)
	}
	return codec.Extension{ExtensionType: codec.ExtensionExternalSenders, ExtensionData: data}, nil
}

// decodeGroupInfo decodes an MLSMessage carrying a GroupInfo within the
// client's limits.
func decodeGroupInfo(b []byte, lim transitions.Limits) (codec.GroupInfo, error) {
	m, err := decodeBounded(b, lim)
	if err != nil {
		return codec.GroupInfo{}, fmt.Errorf("%w: %w", ErrNotGroupInfo, err)
	}
	if m.GroupInfo == nil {
		return codec.GroupInfo{}, ErrNotGroupInfo
	}
	return *m.GroupInfo, nil
}

// ProposeExternal sends proposal p, as an external sender (RFC 9420,
// Section 12.1.8.1), to the group that groupInfo (an encoded MLSMessage,
// as Group.GroupInfo returns it) describes, at the GroupInfo's epoch. The
// client need not be a member; its signature key must be listed in the
// group's external_senders extension (ErrNotExternalSender otherwise)
// and its suite must be the group's. Allowed are Add, Remove,
// PreSharedKey (a nonce is drawn if p has none), ReInit,
// GroupContextExtensions and custom proposals; Update and ExternalInit
// fail with ValSem112. It returns the proposal as a PublicMessage for the
// delivery service to hand to the members, who store it with
// ProcessMessage (Options.Policy.AcceptExternalProposal decides) and
// commit it. Nothing is stored.
func (c *Client) ProposeExternal(groupInfo []byte, p codec.Proposal) ([]byte, error) {
	gi, err := decodeGroupInfo(groupInfo, c.opts.Limits)
	if err != nil {
		return nil, err
	}
	return c.proposeExternal(gi.GroupContext, transitions.ExternalPropose{GroupInfo: groupInfo, Proposal: p})
}

// proposeExternal runs ev, an ExternalPropose for the group of context
// ctx, as this client, once the group lists it as an external sender.
func (c *Client) proposeExternal(ctx codec.GroupContext, ev transitions.ExternalPropose) ([]byte, error) {
	if err := c.checkExternalSender(ctx); err != nil {
		return nil, err
	}
	ev.At, ev.SignatureKey = c.now(), c.pub
	effs, err := c.applyClient(ev)
	if err != nil {
		return nil, err
	}
	return sentMessage(effects.Group(effs)), nil
}

// checkExternalSender fails with ErrNotExternalSender unless ctx's
// external_senders extension lists this client's signature key.
func (c *Client) checkExternalSender(ctx codec.GroupContext) error {
	x, ok := ctx.Extensions.Find(codec.ExtensionExternalSenders)
	if !ok {
		return fmt.Errorf("%w: group %x has no external_senders extension", ErrNotExternalSender, ctx.GroupID)
	}
	l, err := codec.DecodeExternalSenders(x.ExtensionData)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotGroupInfo, err)
	}
	for _, es := range l {
		if bytes.Equal(es.SignatureKey, c.pub) {
			return nil
		}
	}
	return fmt.Errorf("%w: group %x lists %d external senders, not this client's key", ErrNotExternalSender, ctx.GroupID, len(l))
}

// ProposeExternalAdd proposes, as an external sender, adding the member
// whose key package (an encoded MLSMessage) is given: see ProposeExternal.
func (c *Client) ProposeExternalAdd(groupInfo, keyPackage []byte) ([]byte, error) {
	p, err := addProposal(keyPackage, c.opts.Limits)
	if err != nil {
		return nil, err
	}
	return c.ProposeExternal(groupInfo, p)
}

// ProposeExternalRemove proposes, as an external sender, removing the
// member at leaf: see ProposeExternal.
func (c *Client) ProposeExternalRemove(groupInfo []byte, leaf LeafIndex) ([]byte, error) {
	return c.ProposeExternal(groupInfo, removeProposal(leaf))
}

// ProposeJoin asks to join the group that groupInfo describes with a new
// member proposal (RFC 9420, Section 12.1.8; OpenMLS's JoinProposal): an
// Add of a fresh key package of this client, signed with its signature key
// and sent with sender type new_member_proposal as a PublicMessage. A
// member who accepts it (Options.Policy.AcceptExternalProposal) commits it,
// and the client joins from the Welcome (JoinGroup) like any added member.
// The key package's private keys are stored until that Welcome uses them.
func (c *Client) ProposeJoin(groupInfo []byte) ([]byte, error) {
	gi, err := decodeGroupInfo(groupInfo, c.opts.Limits)
	if err != nil {
		return nil, err
	}
	if suite.ID(gi.GroupContext.CipherSuite) != c.cs {
		return nil, fmt.Errorf("%w: group suite %d, client suite %d", ErrSuiteMismatch, gi.GroupContext.CipherSuite, c.cs)
	}
	kp, err := c.KeyPackage()
	if err != nil {
		return nil, err
	}
	k, err := decodeKeyPackage(kp, c.opts.Limits)
	if err != nil {
		return nil, err
	}
	cs, err := suite.Lookup(c.cs)
	if err != nil {
		return nil, err
	}
	ref, err := keysched.KeyPackageRef(cs, k)
	if err != nil {
		return nil, err
	}
	effs, err := c.applyClient(transitions.ProposeAsNewMember{At: c.now(), GroupInfo: groupInfo, KeyPackageRef: ref})
	if err != nil {
		return nil, err
	}
	return sentMessage(effects.Group(effs)), nil
}

// ProposeExternal sends prop to the group p follows, at p's current epoch,
// as the external sender sender (see Client.ProposeExternal): a delivery
// service that follows a group with a PublicGroup proposes from its public
// state, with or without a GroupInfo of the epoch. The proposal is not
// stored in p: like every message the delivery service relays, hand it to
// p.ProcessMessage when it is sent, so that p follows the commit that
// covers it.
func (p *PublicGroup) ProposeExternal(sender *Client, prop codec.Proposal) ([]byte, error) {
	ctx := p.State().Public().Context
	return sender.proposeExternal(ctx, transitions.ExternalPropose{Context: &ctx, Proposal: prop})
}

// ProposeExternalAdd is ProposeExternal of an Add of the member whose key
// package (an encoded MLSMessage) is given.
func (p *PublicGroup) ProposeExternalAdd(sender *Client, keyPackage []byte) ([]byte, error) {
	prop, err := addProposal(keyPackage, sender.opts.Limits)
	if err != nil {
		return nil, err
	}
	return p.ProposeExternal(sender, prop)
}

// ProposeExternalRemove is ProposeExternal of a Remove of the member at
// leaf (PublicGroup.Members lists them).
func (p *PublicGroup) ProposeExternalRemove(sender *Client, leaf LeafIndex) ([]byte, error) {
	return p.ProposeExternal(sender, removeProposal(leaf))
}
