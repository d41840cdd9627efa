package transitions

import (
	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
)

// Event tags of the external join, external proposal, reinit and branch
// events (the range 32 and up that events.go reserves). Never renumber.
const (
	tagPublishGroupInfo eventTag = 32 + iota
	tagExternalJoin
	tagProposeAsNewMember
	tagExternalPropose
	tagReInitGroup
	tagBranchGroup
)

// PublishGroupInfo signs a GroupInfo of the current epoch (RFC 9420,
// Section 12.4.3) with the external_pub extension, so that new members can
// join with an external commit (Section 12.4.3.2), and optionally the
// ratchet_tree extension. With Policy.Grease, a GREASE extension is added
// (Section 13.5). Effect: PublishGroupInfo. The state is unchanged.
//
// [RFC 9420, Section 12.4.3]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3
type PublishGroupInfo struct {
	At          uint64
	RatchetTree bool
}

// ExternalJoin joins a group with an external commit (RFC 9420, Section
// 12.4.3.2) built from a published GroupInfo: the commit covers an
// ExternalInit proposal, a Remove of the joiner's prior leaf when
// RemovePrior is set (resync), and a PreSharedKey proposal per external
// PSK named in PSKs (held in Env.Keys), and always carries a path. The
// returned state is a joining client (state.GroupState.StagedJoin shows
// the group at the new epoch): AcceptJoin makes it a member once the
// delivery service accepted the commit, RejectJoin returns to the input
// state. Effects: SendToGroup (the commit).
//
// [RFC 9420, Section 12.4.3.2]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.2
type ExternalJoin struct {
	At uint64
	// GroupInfo is MLSMessage(GroupInfo) with the external_pub extension.
	GroupInfo []byte
	// RatchetTree is the ratchet tree (an encoded ratchet_tree extension
	// body) when the GroupInfo carries none.
	RatchetTree  []byte
	SignatureKey []byte // names the joiner's signature private key in Env.Keys
	Credential   codec.Credential
	// Capabilities of the joiner's leaf; empty lists default as in
	// NewKeyPackage.
	Capabilities   codec.Capabilities
	LeafExtensions codec.Extensions
	Config         state.Config
	// PSKs are the psk_ids of external PSKs to inject (Env.Keys holds them).
	PSKs [][]byte
	// RemovePrior removes the joiner's prior leaf (same signature key, else
	// same credential) from the group: a resync.
	RemovePrior bool
	AAD         []byte
	// SelfRemoves are the group's pending SelfRemove proposals
	// (MLSMessage PublicMessages, draft-ietf-mls-extensions), fetched with
	// the GroupInfo: the joiner checks their signatures against the tree
	// and covers them by reference, removing the members that asked to
	// leave.
	SelfRemoves [][]byte
}

// ProposeAsNewMember sends an Add proposal of the client's own key package
// to a group it is not a member of, with sender type new_member_proposal
// (RFC 9420, Section 12.1.8). KeyPackageRef names the key package bundle in
// Env.Keys, whose signature key signs the proposal. GroupInfo identifies
// the group and epoch (its signature is not verified: that needs the
// tree). Effects: SendToGroup. The state is unchanged.
//
// [RFC 9420, Section 12.1.8]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1.8
type ProposeAsNewMember struct {
	At            uint64
	GroupInfo     []byte // MLSMessage(GroupInfo)
	KeyPackageRef []byte
	AAD           []byte
}

// ExternalPropose sends a proposal as an external sender listed in the
// group's external_senders extension (RFC 9420, Section 12.1.8.1): an Add,
// Remove, PreSharedKey (an empty nonce is drawn), ReInit,
// GroupContextExtensions or custom proposal. SignatureKey names the
// external sender's signature private key in Env.Keys and must be listed
// in the external_senders extension of the group's GroupContext: the
// GroupInfo's, or Context when GroupInfo is empty (the public state of a
// group the sender follows, as a PublicGroup; an external sender's
// signature does not cover the context, RFC 9420, Section 6.1, so only its
// group id, epoch, suite and extensions are used). Effects: SendToGroup.
// The state is unchanged.
//
// [RFC 9420, Section 12.1.8.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1.8.1
type ExternalPropose struct {
	At           uint64
	GroupInfo    []byte // MLSMessage(GroupInfo)
	SignatureKey []byte
	Proposal     codec.Proposal
	AAD          []byte
	// Context names the group when GroupInfo is empty; nil otherwise
	// (both set is an ErrInvalidGroupInfo, and EncodeEvent refuses it).
	Context *codec.GroupContext
}

// ReInitGroup creates the group that replaces a reinitialized one (RFC
// 9420, Section 11.2): a group with the ReInit proposal's group id, version,
// cipher suite and extensions, whose first commit adds the members'
// KeyPackages and injects the resumption PSK (usage reinit) of OldGroupID
// at OldEpoch, the epoch after the commit covering the ReInit. Env.Keys
// must hold that epoch's Resumption under ResumptionPSKID (see
// KeyStore.WithResumption and ResumptionOf); the event fails with
// ErrInvalidResumption unless ReInit is the one committed there. The
// input state must be the zero state; the result is the new group at
// epoch 1. ReInitGroupFor fills the fields from the old group's state.
// Effects: SendWelcome, EpochAdvanced.
//
// [RFC 9420, Section 11.2]: https://www.rfc-editor.org/rfc/rfc9420#section-11.2
type ReInitGroup struct {
	At         uint64
	OldGroupID []byte
	OldEpoch   uint64
	ReInit     codec.ReInit
	NewGroup
}

// BranchGroup creates a subgroup of an existing group (RFC 9420, Section
// 11.3): a new group with the same cipher suite whose first commit adds the
// members' KeyPackages and injects the resumption PSK (usage branch) of
// OldGroupID at OldEpoch, whose Resumption Env.Keys must hold under
// ResumptionPSKID; the event fails with ErrInvalidResumption unless Suite
// is the old group's and every member matches an old member
// (Policy.MatchBranchMember). The input state must be the zero state; the
// result is the new group at epoch 1. Effects: SendWelcome, EpochAdvanced.
//
// [RFC 9420, Section 11.3]: https://www.rfc-editor.org/rfc/rfc9420#section-11.3
type BranchGroup struct {
	At         uint64
	OldGroupID []byte
	OldEpoch   uint64
	Suite      suite.ID
	// GroupID of the subgroup; nil draws 16 random bytes.
	GroupID                []byte
	GroupContextExtensions codec.Extensions
	NewGroup
}

// NewGroup is the part of ReInitGroup and BranchGroup that describes the
// creator's leaf, the members to add and the first commit of the new group
// (RFC 9420, Sections 11.2 and 11.3).
type NewGroup struct {
	SignatureKey []byte // names the creator's signature private key in Env.Keys
	Credential   codec.Credential
	// Capabilities of the creator's leaf; empty lists default as in
	// NewKeyPackage.
	Capabilities   codec.Capabilities
	Lifetime       codec.Lifetime // seconds since the Unix epoch
	LeafExtensions codec.Extensions
	Config         state.Config
	// KeyPackages of the members to add (in the new group's cipher suite).
	KeyPackages []codec.KeyPackage
	ForcePath   bool
	RatchetTree TreeOption
}

// Time returns the event's At.
func (e PublishGroupInfo) Time() uint64 { return e.At }

// Time returns the event's At.
func (e ExternalJoin) Time() uint64 { return e.At }

// Time returns the event's At.
func (e ProposeAsNewMember) Time() uint64 { return e.At }

// Time returns the event's At.
func (e ExternalPropose) Time() uint64 { return e.At }

// Time returns the event's At.
func (e ReInitGroup) Time() uint64 { return e.At }

// Time returns the event's At.
func (e BranchGroup) Time() uint64 { return e.At }

func (PublishGroupInfo) tag() eventTag   { return tagPublishGroupInfo }
func (ExternalJoin) tag() eventTag       { return tagExternalJoin }
func (ProposeAsNewMember) tag() eventTag { return tagProposeAsNewMember }
func (ExternalPropose) tag() eventTag    { return tagExternalPropose }
func (ReInitGroup) tag() eventTag        { return tagReInitGroup }
func (BranchGroup) tag() eventTag        { return tagBranchGroup }
