package transitions

import (
	"bytes"
	"errors"
	"fmt"
	"iter"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// ErrNeedsSecrets reports a message a PublicGroup cannot process: a
// PrivateMessage, whose content only the members can decrypt. A delivery
// service forwards it unchecked.
var ErrNeedsSecrets = errors.New("mls: a PrivateMessage cannot be processed without the group's secrets")

// PublicGroup is a group seen from outside, holding no secret: the public
// mode of the commit-receiving pipeline, for a delivery service or an
// auditor (RFC 9420, Sections 6.2 and 12.4.2; OpenMLS's PublicGroup,
// mls-rs's ExternalGroup). It starts from a GroupInfo and the ratchet tree
// (NewPublicGroup), follows the PublicMessage proposals and commits of
// members, external senders and new members (Process), and tracks the
// members, the proposal store and the public part of each epoch: the tree,
// the GroupContext, the transcript hashes and the confirmation tag.
//
// It runs every check of the member's pipeline that needs no secret, with
// the same typed errors (errors.Is on valsem codes): framing (ValSem002–
// ValSem004, ValSem112, ValSem245), signatures (ValSem010, ValSem246), the
// proposal rules (ValSem101–ValSem113, ValSem200–ValSem209 but ValSem205,
// ValSem240–ValSem244, ValSem401–ValSem403), leaf node and key package
// validation, and the UpdatePath's leaf and parent hashes. It cannot check
// what needs the epoch's secrets: a member's membership tag (ValSem007,
// ValSem008; membership_key), a commit's confirmation tag (ValSem205;
// confirmation_key), that the UpdatePath's ciphertexts decrypt, that an
// ExternalInit's kem_output decapsulates (external_secret), that PSKs
// exist. A commit it accepts may thus still be rejected by every member;
// the members then stay at the epoch, and so should the delivery service,
// which is why it must not treat its own acceptance as final before the
// members have answered. It cannot process PrivateMessages at all
// (ErrNeedsSecrets).
//
// A PublicGroup is a value, immutable like state.GroupState: Process and
// WithGroupInfo return a new one and never change the receiver, and every
// accessor returns a copy.
type PublicGroup struct {
	pub state.Public // never changed in place once built
	// groupInfo is MLSMessage(GroupInfo) bytes of the current epoch,
	// verified to match pub, or nil.
	groupInfo []byte
}

// NewPublicGroup returns the public group that a GroupInfo (MLSMessage
// bytes) describes, with the ratchet tree from its ratchet_tree extension
// or, if it has none, ratchetTree. The GroupInfo's signature is verified
// with its signer's leaf; the tree is validated (parent hashes, unmerged
// leaves, key uniqueness, leaf signatures) and its hash must be the
// GroupContext's; every leaf is validated at time at (RFC 9420, Sections
// 7.3 and 12.4.3.1) and the group's extensions must be supported by every
// member (ValSem209). cfg is the members' configuration: it is part of the
// public state (state.Public.Digest), and its wire format policy decides
// which handshake messages of members are accepted. The GroupInfo becomes
// the one GroupInfo returns.
func NewPublicGroup(groupInfo, ratchetTree []byte, cfg state.Config, at uint64, env Env) (PublicGroup, error) {
	env = publicEnv(env)
	if err := checkConfig(cfg, env); err != nil {
		return PublicGroup{}, err
	}
	p, err := parseGroupInfo(groupInfo, env)
	if err != nil {
		return PublicGroup{}, err
	}
	t, cen, rc, err := p.verifiedTree(ratchetTree, at, env)
	if err != nil {
		return PublicGroup{}, err
	}
	ctx := p.gi.GroupContext
	if err := checkGCE(ctx.Extensions, rc, cen); err != nil {
		return PublicGroup{}, err
	}
	pub, err := newEpoch{cs: p.cs, ctx: ctx, tree: t, census: cen, tag: p.gi.ConfirmationTag, config: cfg}.public()
	if err != nil {
		return PublicGroup{}, err
	}
	return PublicGroup{pub: pub, groupInfo: bytes.Clone(groupInfo)}, nil
}

// PublicGroupAt returns the public group at a public state taken on trust
// (a checkpoint: state.DecodePublic's result, or state.GroupState.Public of
// a member), for following a group from a state whose history was checked
// elsewhere. The state's tree must hash to its GroupContext's tree hash and
// its configuration be valid. It holds no GroupInfo.
func PublicGroupAt(pub state.Public) (PublicGroup, error) {
	if pub.Suite == nil {
		return PublicGroup{}, fmt.Errorf("%w: no group", ErrWrongState)
	}
	if err := pub.Config.Check(); err != nil {
		return PublicGroup{}, err
	}
	if !equalBytes(pub.Tree.Hash(), pub.Context.TreeHash) {
		return PublicGroup{}, fmt.Errorf("%w: the tree's hash is not the group context's", ErrWrongState)
	}
	return PublicGroup{pub: pub.Clone()}, nil
}

// publicEnv fills the defaults of an Env for the public mode, which draws
// no entropy and reads no key.
func publicEnv(env Env) Env {
	env.Limits = env.Limits.withDefaults()
	env.Keys = KeyStore{}
	return env
}

// view returns the public mode's view of p for one message.
func (p PublicGroup) view() (*group, error) {
	if p.pub.Suite == nil {
		return nil, fmt.Errorf("%w: not in a group", ErrWrongState)
	}
	return &group{pub: p.pub, cs: p.pub.Suite, public: true}, nil
}

// PublicProcessed is what a PublicGroup learned from one message.
type PublicProcessed struct {
	ContentType codec.ContentType
	Sender      codec.Sender
	// Proposal is a proposal message as stored by reference: its
	// ProposalRef, content and sender. Nil for a commit.
	Proposal *state.StoredProposal
	// Commit is what a commit did. Nil for a proposal.
	Commit *PublicCommit
}

// PublicCommit describes a commit a PublicGroup followed.
type PublicCommit struct {
	// Epoch is the epoch the commit started.
	Epoch uint64
	// Proposals are the proposals the commit covers, in order (a
	// ProposalRef for those covered by reference).
	Proposals []state.StoredProposal
	// Added, Removed and Updated are the leaves the commit filled, blanked
	// and changed by Update proposals; an external joiner's leaf is the
	// last of Added.
	Added, Removed, Updated []treemath.LeafIndex
	// Committer is the committer's leaf in the new epoch's tree: the
	// sender's, or the external joiner's.
	Committer treemath.LeafIndex
}

// Process runs one MLSMessage (bytes as received) through the public
// mode of the pipeline at time at (for leaf lifetimes), under env's Policy
// and Limits (env.Entropy and env.Keys are not used). A proposal is
// validated and stored; a commit is validated and applied: the returned
// group is at the new epoch, with an empty proposal store and no
// GroupInfo until WithGroupInfo gives one. On error p is returned
// unchanged with the error a member would give for the same message (see
// PublicGroup for the checks that need secrets).
func (p PublicGroup) Process(msg []byte, at uint64, env Env) (PublicGroup, PublicProcessed, error) {
	env = publicEnv(env)
	g, err := p.view()
	if err != nil {
		return p, PublicProcessed{}, err
	}
	d, err := decodeMessage(msg, env)
	if err != nil {
		return p, PublicProcessed{}, err
	}
	if d.msg.WireFormat != codec.WireFormatPublicMessage {
		return p, PublicProcessed{}, ErrNeedsSecrets
	}
	f, err := g.frame(d)
	if err != nil {
		return p, PublicProcessed{}, err
	}
	a, err := g.authenticate(f, env.Limits.Bounds())
	if err != nil {
		return p, PublicProcessed{}, err
	}
	c := a.ac.Content
	out := PublicProcessed{ContentType: c.ContentType, Sender: c.Sender}
	switch c.ContentType {
	case codec.ContentTypeProposal:
		sp, pub, err := g.followProposal(a, at, env)
		if err != nil {
			return p, PublicProcessed{}, err
		}
		out.Proposal = cloneStored(sp)
		return PublicGroup{pub: pub, groupInfo: p.groupInfo}, out, nil
	case codec.ContentTypeCommit:
		next, pc, err := g.publicCommit(a, at, env)
		if err != nil {
			return p, PublicProcessed{}, err
		}
		out.Commit = pc
		return next, out, nil
	}
	return p, PublicProcessed{}, fmt.Errorf("%w: content type %d", ErrInvalidMessage, c.ContentType)
}

// publicCommit runs the public stages of the commit-receiving pipeline
// (followCommit), then the public half of the key schedule (nextContext)
// and assembles the new epoch's public part.
func (g *group) publicCommit(a authenticatedMessage, at uint64, env Env) (PublicGroup, *PublicCommit, error) {
	rc, err := g.followCommit(a.ac, a.wire, at, env)
	if err != nil {
		return PublicGroup{}, nil, err
	}
	ctx, err := nextContext(g.cs, g.pub.Interim, g.pub.Context, rc.cov.exts, rc.tree, rc.wire)
	if err != nil {
		return PublicGroup{}, nil, err
	}
	n := newEpoch{cs: g.cs, ctx: ctx, tree: rc.tree, census: rc.census, tag: rc.ac.Auth.ConfirmationTag,
		config: g.pub.Config, reInit: reInitOf(rc.cov)}
	pub, err := n.public()
	if err != nil {
		return PublicGroup{}, nil, err
	}
	pc := &PublicCommit{Epoch: ctx.Epoch, Added: leaves(rc.added), Removed: leaves(rc.cov.removed),
		Updated: leaves(rc.cov.updated), Committer: rc.committer}
	for _, en := range rc.cov.entries {
		pc.Proposals = append(pc.Proposals, *cloneStored(state.StoredProposal{Ref: en.ref, Proposal: en.p, Sender: en.sender}))
	}
	return PublicGroup{pub: pub}, pc, nil
}

func cloneStored(sp state.StoredProposal) *state.StoredProposal {
	return &state.StoredProposal{Ref: bytes.Clone(sp.Ref), Proposal: codec.Clone(sp.Proposal), Sender: sp.Sender}
}

// WithGroupInfo returns p holding groupInfo (MLSMessage bytes) as the
// current epoch's GroupInfo, for external joiners (GroupInfo). A
// PublicGroup cannot make a GroupInfo itself: it is signed by a member,
// and its external_pub extension is derived from the epoch's
// external_secret. So it keeps the latest one it is given — typically
// with the commit that started the epoch, as mls-assist pairs them —
// once it is verified to match its state: the GroupContext is the
// current one byte for byte, the confirmation tag is the current one, the
// signer is a member whose leaf verifies the signature, and a ratchet_tree
// extension, if present, hashes to the tree hash. The external_pub key
// cannot be checked without secrets: a joiner using a wrong one produces
// a commit the members reject.
func (p PublicGroup) WithGroupInfo(groupInfo []byte, env Env) (PublicGroup, error) {
	env = publicEnv(env)
	if p.pub.Suite == nil {
		return p, fmt.Errorf("%w: not in a group", ErrWrongState)
	}
	gp, err := parseGroupInfo(groupInfo, env)
	if err != nil {
		return p, err
	}
	gi := gp.gi
	got, err := gi.GroupContext.Encode()
	if err != nil {
		return p, err
	}
	want, err := p.pub.Context.Encode()
	if err != nil {
		return p, err
	}
	if !equalBytes(got, want) {
		return p, fmt.Errorf("%w: group info of epoch %d does not match the group context of epoch %d", ErrInvalidGroupInfo, gi.GroupContext.Epoch, p.pub.Context.Epoch)
	}
	if !equalBytes(gi.ConfirmationTag, p.pub.ConfirmationTag) {
		return p, fmt.Errorf("%w: confirmation tag differs from the epoch's", ErrInvalidGroupInfo)
	}
	signer, ok := p.pub.Tree.SharedLeaf(core.Key{}, gi.Signer)
	if !ok {
		return p, fmt.Errorf("%w: signer %d is not a member", ErrInvalidGroupInfo, gi.Signer)
	}
	if err := verifyGroupInfo(gp.cs, signer.SignatureKey, gi); err != nil {
		return p, err
	}
	if x, ok := gi.Extensions.Find(codec.ExtensionRatchetTree); ok {
		t, err := tree.Decode(gp.cs, x.ExtensionData, treemath.LeafCount(env.Limits.MaxLeaves))
		if err != nil {
			return p, limitFrom(err)
		}
		if !equalBytes(t.Hash(), p.pub.Context.TreeHash) {
			return p, fmt.Errorf("%w: ratchet_tree extension does not hash to the tree hash", ErrInvalidGroupInfo)
		}
	}
	return PublicGroup{pub: p.pub, groupInfo: bytes.Clone(groupInfo)}, nil
}

// GroupInfo returns a copy of the current epoch's GroupInfo (MLSMessage
// bytes), as given to NewPublicGroup or WithGroupInfo, and whether there
// is one: a commit starts an epoch without one.
func (p PublicGroup) GroupInfo() ([]byte, bool) {
	return bytes.Clone(p.groupInfo), p.groupInfo != nil
}

// Public returns a deep copy of the public state.
func (p PublicGroup) Public() state.Public { return p.pub.Clone() }

// Digest returns the digest of the public state (state.Public.Digest):
// after every commit it equals state.GroupState.PublicDigest of each
// member with the same configuration that merged the commit.
func (p PublicGroup) Digest() [32]byte { return p.pub.Digest() }

// Epoch returns the current epoch.
func (p PublicGroup) Epoch() uint64 { return p.pub.Context.Epoch }

// GroupID returns a copy of the group id.
func (p PublicGroup) GroupID() []byte { return bytes.Clone(p.pub.Context.GroupID) }

// Tree returns the ratchet tree (a persistent value: its accessors copy).
func (p PublicGroup) Tree() tree.Tree { return p.pub.Tree }

// Members returns the members' leaf indices and copies of their leaf
// nodes, in leaf order.
func (p PublicGroup) Members() iter.Seq2[treemath.LeafIndex, *codec.LeafNode] {
	return p.pub.Tree.Members()
}

// Proposals returns copies of the stored by-reference proposals of the
// epoch, in arrival order.
func (p PublicGroup) Proposals() []state.StoredProposal {
	out := make([]state.StoredProposal, len(p.pub.Proposals))
	for i, sp := range p.pub.Proposals {
		out[i] = *cloneStored(sp)
	}
	return out
}

// publicGroupMagic opens an encoding of a PublicGroup.
const publicGroupMagic = "MLSPGRPv"

// publicGroupVersion versions the encoding of a PublicGroup.
const publicGroupVersion = 1

// Encode returns an encoding of p for a delivery service to store: the
// public state (state.EncodePublicPart) and the current GroupInfo, if
// any. It holds no secret.
func (p PublicGroup) Encode() ([]byte, error) {
	st, err := state.EncodePublicPart(p.pub, noLeaf)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddBytes([]byte(publicGroupMagic))
	b.AddUint16(publicGroupVersion)
	codec.AddOpaque(&b, st)
	if p.groupInfo == nil {
		b.AddUint8(0)
	} else {
		b.AddUint8(1)
		codec.AddOpaque(&b, p.groupInfo)
	}
	return b.Bytes()
}

// DecodePublicGroup decodes Encode's output, strictly and within
// env.Limits: the public state must be consistent (its tree hashes to its
// GroupContext's tree hash, its configuration is valid) and a GroupInfo
// is verified against it again, as WithGroupInfo does.
func DecodePublicGroup(data []byte, env Env) (PublicGroup, error) {
	env = publicEnv(env)
	d := codec.NewDecoder(data)
	if m := d.Fixed(len(publicGroupMagic)); d.OK() && string(m) != publicGroupMagic {
		d.Failf(codec.ErrInvalidValue, "not a public group encoding")
	}
	if v := d.Uint16(); d.OK() && v != publicGroupVersion {
		d.Failf(codec.ErrInvalidValue, "public group encoding version %d, this reader knows %d", v, publicGroupVersion)
	}
	st := d.Opaque()
	var gi []byte
	if d.Optional() {
		gi = d.Opaque()
	}
	if err := d.Finish("PublicGroup"); err != nil {
		return PublicGroup{}, err
	}
	pub, _, err := state.DecodePublicBounded(st, env.Limits.Bounds())
	if err != nil {
		return PublicGroup{}, limitFrom(err)
	}
	p, err := PublicGroupAt(pub)
	if err != nil {
		return PublicGroup{}, err
	}
	if gi != nil {
		return p.WithGroupInfo(gi, env)
	}
	return p, nil
}
