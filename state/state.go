package state

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// GroupState is one member's view of one group at one instant. It is a
// value: copying it copies two pointers, and no method modifies it. The zero
// value means "not in a group".
//
// Old states stay valid after a transition: they still hold the secrets that
// the new state deleted, which is why the caller erases what DeleteSecret
// effects name once the new state is durable.
type GroupState struct {
	pub  *public
	priv *private
}

type public struct {
	p        Public
	ctxBytes []byte // encoding of p.Context
}

type private struct {
	p    Private
	join *StagedJoin // a joining client's staged Welcome (pub is nil then)
	// rest names the version of everything in p but the current epoch's
	// secret tree: WithSecrets passes it on, every other constructor
	// makes a new one (SameButSecrets).
	rest *restVersion
}

// restVersion is the identity of a private part's version; it holds
// nothing (a non-zero size keeps distinct values at distinct addresses).
type restVersion struct{ _ byte }

// Public is the public part of a group state: what any observer of the
// group's handshake messages could compute (RFC 9420, Section 8.1).
// GroupState.Public returns a deep copy, which the caller may change freely
// without changing the state.
type Public struct {
	Suite           *suite.Suite
	Context         codec.GroupContext
	Tree            tree.Tree
	Interim         []byte // interim_transcript_hash (RFC 9420, Section 8.2)
	ConfirmationTag []byte // confirmation_tag of the commit that started the epoch
	Config          Config
	// Proposals is the pending by-reference proposal store of the epoch,
	// in arrival order (RFC 9420, Section 12.4).
	Proposals []StoredProposal
	// Active is false once this member has been removed.
	Active bool
	// Census counts the capabilities of the members, so that the "supported
	// by all members" rules (RFC 9420, Sections 7.3, 12.1.7 and 12.2) cost
	// O(1) per type instead of O(N).
	Census Census
	// ReInit holds the parameters of the ReInit proposal that the commit
	// starting this epoch covered (RFC 9420, Section 11.2): the group is
	// then closed, and its members create or join the new group. Nil
	// otherwise.
	ReInit *codec.ReInit
}

// TypeCount counts the members with one type (credential, extension or
// proposal type).
type TypeCount struct {
	Type  uint16
	Count uint32
}

// Census summarises the members' leaf nodes: how many members there are,
// how many use each credential type, and how many list each credential,
// extension and proposal type in their capabilities. Each list is sorted by
// type.
type Census struct {
	Members           uint32
	CredentialsInUse  []TypeCount
	CredentialSupport []TypeCount
	ExtensionSupport  []TypeCount
	ProposalSupport   []TypeCount
}

// Private is the secret part of a group state. GroupState.Private returns a
// deep copy, which the caller may change freely without changing the
// state.
type Private struct {
	Self treemath.LeafIndex
	// SignatureKey is the public key naming this member's signature private
	// key, which the member holds outside the state (Env.Keys).
	SignatureKey []byte
	// Path holds the HPKE private keys of the own leaf and direct path.
	Path tree.PrivatePath
	// Epoch holds the secrets of the current epoch.
	Epoch keysched.EpochSecrets
	// Secrets is the current epoch's secret tree with its ratchets.
	Secrets keysched.SecretTree
	// Past holds retained past epochs, oldest first, at most
	// Config.MaxPastEpochs.
	Past []PastEpoch
	// Resumption holds the resumption PSKs of past epochs, oldest first, at
	// most Config.ResumptionPSKs (ValSem400).
	Resumption []ResumptionPSK
	// OwnUpdates holds the leaf private keys of this member's pending
	// Update proposals.
	OwnUpdates []OwnUpdate
	// Pending is this member's own commit awaiting ConfirmCommit or
	// AbortCommit.
	Pending *PendingCommit
	// Staged is a received commit awaiting MergeStaged or DiscardStaged.
	Staged *StagedCommit
}

// StoredProposal is a proposal received or sent by reference in the current
// epoch (RFC 9420, Section 12.4).
type StoredProposal struct {
	Ref      []byte // ProposalRef
	Proposal codec.Proposal
	Sender   codec.Sender
}

// OwnUpdate is the leaf private key of an Update proposal this member sent.
type OwnUpdate struct {
	Ref            []byte // ProposalRef of the Update
	EncryptionPriv []byte // HPKE private key of the proposed leaf
}

// PastEpoch is what a member keeps of a past epoch to decrypt late
// application messages (OpenMLS max_past_epochs).
type PastEpoch struct {
	// Ended is when the epoch ended: the time (seconds since the Unix
	// epoch) of the event that merged the next one. Config.MaxPastEpochAge
	// counts from it; it is kept (and encoded) only when that is set.
	Ended            uint64
	Context          codec.GroupContext
	Tree             tree.Tree // for the senders' signature keys
	SenderDataSecret []byte
	Secrets          keysched.SecretTree
}

// ResumptionPSK is the resumption_psk of one epoch (RFC 9420, Section 8.6).
type ResumptionPSK struct {
	Epoch  uint64
	Secret []byte
}

// PendingCommit is a commit this member sent and that the delivery service
// has not confirmed yet.
type PendingCommit struct {
	Next    GroupState // the state after the commit
	Message []byte     // the MLSMessage sent
	Added   []treemath.LeafIndex
	Removed []treemath.LeafIndex
}

// StagedCommit is a received, fully validated commit, for the application to
// inspect before merging it (RFC 9420, Section 12.4.2).
type StagedCommit struct {
	Next      GroupState // the state after the commit
	Sender    codec.Sender
	Proposals []StoredProposal // the proposals the commit covers, in order
	Added     []treemath.LeafIndex
	Removed   []treemath.LeafIndex
	Updated   []treemath.LeafIndex
	// SelfRemoved reports that the commit removes this member.
	SelfRemoved bool
}

// StagedJoin is a validated Welcome, for the application to inspect before
// accepting it (RFC 9420, Section 12.4.3.1).
type StagedJoin struct {
	Next          GroupState // the state after joining
	KeyPackageRef []byte     // the key package the Welcome used
	LastResort    bool       // the key package is a last-resort one (kept)
	// Prior is the state the client held before an external join (RFC
	// 9420, Section 12.4.3.2), which a rejected join returns to; the zero
	// state for a Welcome.
	Prior GroupState
}

// ErrInvariant reports a GroupState that New refuses to build.
var ErrInvariant = errors.New("mls: group state invariant violated")

// New builds a GroupState from its parts, checking the invariants that tie
// them together: the tree hash in the GroupContext is the tree's, the own
// leaf is in the tree, the private path fits the tree, the past epochs and
// resumption PSKs are within the configured bounds. With the core's key
// (core.K) the state takes the parts' memory over without copying it: the
// core builds states from parts that nothing else holds. Without it, the
// state takes deep copies of the parts.
func New(k core.Key, pub Public, priv Private) (GroupState, error) {
	if !k.Valid() {
		pub, priv = pub.Clone(), priv.clone()
	}
	if pub.Suite == nil {
		return GroupState{}, fmt.Errorf("%w: no cipher suite", ErrInvariant)
	}
	if err := pub.Config.Check(); err != nil {
		return GroupState{}, fmt.Errorf("%w: %v", ErrInvariant, err)
	}
	if !bytes.Equal(pub.Context.TreeHash, pub.Tree.Hash()) {
		return GroupState{}, fmt.Errorf("%w: group context tree hash differs from the tree's", ErrInvariant)
	}
	if err := checkPrivate(&pub, priv); err != nil {
		return GroupState{}, err
	}
	ctx, err := pub.Context.Encode()
	if err != nil {
		return GroupState{}, fmt.Errorf("%w: %v", ErrInvariant, err)
	}
	pub.Interim = slices.Clip(pub.Interim)
	pub.ConfirmationTag = slices.Clip(pub.ConfirmationTag)
	pub.Proposals = slices.Clip(pub.Proposals)
	pub.Census.CredentialsInUse = slices.Clip(pub.Census.CredentialsInUse)
	pub.Census.CredentialSupport = slices.Clip(pub.Census.CredentialSupport)
	pub.Census.ExtensionSupport = slices.Clip(pub.Census.ExtensionSupport)
	pub.Census.ProposalSupport = slices.Clip(pub.Census.ProposalSupport)
	return GroupState{pub: &public{p: pub, ctxBytes: ctx}, priv: &private{p: clipPrivate(priv), rest: new(restVersion)}}, nil
}

// checkPrivate checks the invariants tying priv to pub: the own leaf of an
// active member is in the tree, and the past epochs and resumption PSKs are
// within the configured bounds.
func checkPrivate(pub *Public, priv Private) error {
	if pub.Active {
		if _, ok := pub.Tree.SharedSignatureKey(core.K(), priv.Self); !ok {
			return fmt.Errorf("%w: own leaf %d is blank", ErrInvariant, priv.Self)
		}
	}
	if len(priv.Past) > int(pub.Config.MaxPastEpochs) {
		return fmt.Errorf("%w: %d past epochs kept, at most %d", ErrInvariant, len(priv.Past), pub.Config.MaxPastEpochs)
	}
	if len(priv.Resumption) > int(pub.Config.ResumptionPSKs) {
		return fmt.Errorf("%w: %d resumption psks kept, at most %d", ErrInvariant, len(priv.Resumption), pub.Config.ResumptionPSKs)
	}
	return nil
}

// clipPrivate clips the slices priv stores, so that appending to them
// never writes into an array another state shares.
func clipPrivate(priv Private) Private {
	priv.SignatureKey = slices.Clip(priv.SignatureKey)
	priv.Past = slices.Clip(priv.Past)
	priv.Resumption = slices.Clip(priv.Resumption)
	priv.OwnUpdates = slices.Clip(priv.OwnUpdates)
	return priv
}

// WithPrivate returns s with its private part replaced by priv, sharing
// the public part and its encoded GroupContext with s: the cheap path for
// transitions that change only secrets (protecting or decrypting a
// message). It checks what New checks of the private part. s must be in a
// group. Like New, it takes priv's memory over with the core's key, and a
// deep copy of priv without it.
func (s GroupState) WithPrivate(k core.Key, priv Private) (GroupState, error) {
	if !k.Valid() {
		priv = priv.clone()
	}
	if s.pub == nil {
		return GroupState{}, fmt.Errorf("%w: not in a group", ErrInvariant)
	}
	if err := checkPrivate(&s.pub.p, priv); err != nil {
		return GroupState{}, err
	}
	return GroupState{pub: s.pub, priv: &private{p: clipPrivate(priv), rest: new(restVersion)}}, nil
}

// WithSecrets returns s with its current epoch's secret tree replaced by
// st and everything else shared with s: the path of an application message
// (protecting or decrypting one consumes a ratchet key and changes nothing
// else). The invariants New and WithPrivate check do not involve the
// secret tree, so it checks none; s must be in a group. A secret tree is
// an immutable value: nothing is copied, with or without the core's key.
func (s GroupState) WithSecrets(_ core.Key, st keysched.SecretTree) (GroupState, error) {
	if s.pub == nil || s.priv == nil {
		return GroupState{}, fmt.Errorf("%w: not in a group", ErrInvariant)
	}
	np := &private{p: s.priv.p, rest: s.priv.rest}
	np.p.Secrets = st
	return GroupState{pub: s.pub, priv: np}, nil
}

// SameButSecrets reports whether b was derived from a, a from b, or both
// from one state, by WithSecrets alone — the path of application
// messages: then they share the public part and every part of the
// private one but the current epoch's secret tree, so that an encoding
// of that rest (AppendSplitSecrets) is the same for both. It compares
// identities, in O(1): false does not mean that the states differ.
func SameButSecrets(a, b GroupState) bool {
	return a.pub != nil && a.pub == b.pub && a.priv != nil && b.priv != nil && a.priv.rest == b.priv.rest
}

// Secrets returns the current epoch's secret tree (the zero SecretTree
// when s is not in a group): Private().Secrets without copying the rest
// of the private part. The tree is an immutable value.
func (s GroupState) Secrets() keysched.SecretTree {
	if s.priv == nil {
		return keysched.SecretTree{}
	}
	return s.priv.p.Secrets
}

// Joining returns the state of a client holding a staged join: it is in no
// group yet (InGroup is false); AcceptJoin turns j.Next into the state.
//
// With the core's key it takes j's memory over; without it, a copy (the
// states in j are immutable values: only its byte string is copied).
func Joining(k core.Key, j StagedJoin) GroupState {
	if !k.Valid() {
		j.KeyPackageRef = bytes.Clone(j.KeyPackageRef)
	}
	return GroupState{priv: &private{join: &j, rest: new(restVersion)}}
}

// Public returns a deep copy of the public part: writing into it leaves s
// unchanged. It is the zero Public when s is not in a group.
func (s GroupState) Public() Public {
	if s.pub == nil {
		return Public{}
	}
	return s.pub.p.Clone()
}

// Private returns a deep copy of the private part: writing into it leaves s
// unchanged. It is the zero Private when s is not in a group.
func (s GroupState) Private() Private {
	if s.priv == nil {
		return Private{}
	}
	return s.priv.p.clone()
}

// Shared returns the public and private parts without copying them, for
// the core's hot paths: their memory is shared with s and must not be
// modified. They are zero when s is not in a group. Without the core's
// key (core.K) it returns deep copies, as Public and Private do.
func (s GroupState) Shared(k core.Key) (Public, Private) {
	if !k.Valid() {
		return s.Public(), s.Private()
	}
	var pub Public
	var priv Private
	if s.pub != nil {
		pub = s.pub.p
	}
	if s.priv != nil {
		priv = s.priv.p
	}
	return pub, priv
}

// StagedJoin returns a copy of the staged join of a joining client.
func (s GroupState) StagedJoin() (StagedJoin, bool) {
	if s.priv == nil || s.priv.join == nil {
		return StagedJoin{}, false
	}
	j := *s.priv.join
	j.KeyPackageRef = bytes.Clone(j.KeyPackageRef)
	return j, true
}

// InGroup reports whether s is a member's state of a group (active or
// removed), as opposed to the zero state or a joining client.
func (s GroupState) InGroup() bool { return s.pub != nil }

// Active reports whether this member is in the group: false for the zero
// state, a joining client and a removed member.
func (s GroupState) Active() bool { return s.pub != nil && s.pub.p.Active }

// Epoch returns the current epoch (0 when not in a group).
func (s GroupState) Epoch() uint64 {
	if s.pub == nil {
		return 0
	}
	return s.pub.p.Context.Epoch
}

// GroupID returns a copy of the group id (nil when not in a group).
func (s GroupState) GroupID() []byte {
	if s.pub == nil {
		return nil
	}
	return bytes.Clone(s.pub.p.Context.GroupID)
}

// Suite returns the group's cipher suite (nil when not in a group).
func (s GroupState) Suite() *suite.Suite {
	if s.pub == nil {
		return nil
	}
	return s.pub.p.Suite
}

// OwnLeaf returns this member's leaf index.
func (s GroupState) OwnLeaf() treemath.LeafIndex {
	if s.priv == nil {
		return 0
	}
	return s.priv.p.Self
}

// Tree returns the ratchet tree (a persistent value; the zero Tree when not
// in a group).
func (s GroupState) Tree() tree.Tree {
	if s.pub == nil {
		return tree.Tree{}
	}
	return s.pub.p.Tree
}

// Members iterates over the members in increasing leaf order (RFC 9420,
// Section 7.8), yielding a copy of each leaf node.
func (s GroupState) Members() iter.Seq2[treemath.LeafIndex, *codec.LeafNode] {
	return s.Tree().Members()
}

// GroupContext returns a deep copy of the GroupContext (RFC 9420, Section
// 8.1).
func (s GroupState) GroupContext() codec.GroupContext {
	if s.pub == nil {
		return codec.GroupContext{}
	}
	c := s.pub.p.Context
	c.GroupID = bytes.Clone(c.GroupID)
	c.TreeHash = bytes.Clone(c.TreeHash)
	c.ConfirmedTranscriptHash = bytes.Clone(c.ConfirmedTranscriptHash)
	exts := make(codec.Extensions, len(c.Extensions))
	for i, e := range c.Extensions {
		exts[i] = codec.Extension{ExtensionType: e.ExtensionType, ExtensionData: bytes.Clone(e.ExtensionData)}
	}
	c.Extensions = exts
	return c
}

// GroupContextBytes returns a copy of the encoded GroupContext.
func (s GroupState) GroupContextBytes() []byte {
	if s.pub == nil {
		return nil
	}
	return bytes.Clone(s.pub.ctxBytes)
}

// SharedGroupContextBytes is GroupContextBytes without the copy, for the
// core's hot paths: the bytes are shared with s and must not be modified.
// Without the core's key it returns a copy.
func (s GroupState) SharedGroupContextBytes(k core.Key) []byte {
	if !k.Valid() {
		return s.GroupContextBytes()
	}
	if s.pub == nil {
		return nil
	}
	return slices.Clip(s.pub.ctxBytes)
}

// EpochAuthenticator returns the epoch_authenticator of the current epoch
// (RFC 9420, Section 8.7), or nil when not in a group.
func (s GroupState) EpochAuthenticator() []byte {
	if s.pub == nil {
		return nil
	}
	return s.priv.p.Epoch.EpochAuthenticator()
}

// Config returns the member's group configuration.
func (s GroupState) Config() Config {
	if s.pub == nil {
		return Config{}
	}
	return s.pub.p.Config
}

// PendingCommit returns a copy of this member's unconfirmed own commit.
func (s GroupState) PendingCommit() (PendingCommit, bool) {
	if s.priv == nil || s.priv.p.Pending == nil {
		return PendingCommit{}, false
	}
	return s.priv.p.Pending.clone(), true
}

// StagedCommit returns a copy of the received commit awaiting a merge.
func (s GroupState) StagedCommit() (StagedCommit, bool) {
	if s.priv == nil || s.priv.p.Staged == nil {
		return StagedCommit{}, false
	}
	return s.priv.p.Staged.clone(), true
}

// PendingProposals returns a copy of the by-reference proposals stored in
// this epoch, in arrival order.
func (s GroupState) PendingProposals() []StoredProposal {
	if s.pub == nil {
		return nil
	}
	return cloneProposals(s.pub.p.Proposals)
}
