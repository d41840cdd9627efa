package transitions

import (
	"strconv"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
)

// Event is one input of the state machine: a local intent of this member or
// bytes received from the network. The set is closed (only this package's
// types implement it) and every event is encodable with EncodeEvent, so an
// event log can replay it. Every event carries At, the time of the event in
// seconds since the Unix epoch, against which lifetimes are checked: the
// core reads no clock.
type Event interface {
	// Time returns the event's At.
	Time() uint64
	tag() eventTag
	// marshal writes the event's fields (after the format, tag and At of
	// EncodeEvent); the pointer type's unmarshal reads them back.
	marshal(b *cryptobyte.Builder)
}

type eventTag uint8

// Event tags of the encoding. Never renumber: logs depend on them. Tags
// 32 and up are reserved for the external join, PSK and reinit events of
// RFC 9420, Sections 11.2, 12.4.3.2 and 8.6.
const (
	tagNewSignatureKey eventTag = 1 + iota
	tagNewKeyPackage
	tagCreateGroup
	tagPropose
	tagLeave
	tagCommit
	tagConfirmCommit
	tagAbortCommit
	tagReceive
	tagMergeStaged
	tagDiscardStaged
	tagDropProposal
	tagProtect
	tagExport
	tagJoinWelcome
	tagAcceptJoin
	tagRejectJoin
)

// NewSignatureKey draws a fresh signature key pair for a cipher suite
// (RFC 9420, Section 5.1.2). Effects: PersistSecret (the private key, kind
// SecretSignatureKey) and SignatureKeyCreated. The state is unchanged.
type NewSignatureKey struct {
	At    uint64
	Suite suite.ID
}

// NewKeyPackage builds and signs a KeyPackage (RFC 9420, Section 10) with a
// fresh init key and leaf encryption key drawn from the entropy source.
// Effects: PersistSecret (the KeyPackage bundle, kind SecretKeyPackage,
// named by its KeyPackageRef) and KeyPackageCreated. The state is unchanged.
type NewKeyPackage struct {
	At    uint64
	Suite suite.ID
	// SignatureKey names the signature private key (Env.Keys) that signs
	// the leaf node and the key package.
	SignatureKey []byte
	Credential   codec.Credential
	// Capabilities of the leaf; empty lists default to MLS 1.0, this suite
	// and the credential's type (RFC 9420, Section 7.2).
	Capabilities codec.Capabilities
	Lifetime     codec.Lifetime // seconds since the Unix epoch
	// LeafExtensions go into the leaf node, Extensions into the key package.
	LeafExtensions codec.Extensions
	Extensions     codec.Extensions
	// LastResort marks the key package with the last_resort extension
	// (RFC 9420, Section 10.1): it may be used by several Welcomes, so
	// joining does not delete its private keys.
	LastResort bool
}

// CreateGroup creates a one-member group (RFC 9420, Section 11) at epoch 0.
// The input state must be the zero state. Effects: none beyond the new
// state (there is nobody to tell).
type CreateGroup struct {
	At    uint64
	Suite suite.ID
	// GroupID is the group id; nil draws 16 random bytes.
	GroupID      []byte
	SignatureKey []byte // names the signature private key in Env.Keys
	Credential   codec.Credential
	// Capabilities of the creator's leaf; empty lists default as in
	// NewKeyPackage.
	Capabilities           codec.Capabilities
	Lifetime               codec.Lifetime // of the creator's leaf, seconds since the Unix epoch
	LeafExtensions         codec.Extensions
	GroupContextExtensions codec.Extensions
	Config                 state.Config
}

// Propose sends a standalone proposal (RFC 9420, Section 12.1) by
// reference: it is framed per the wire format policy, stored in this
// member's proposal store too, and sent with SendToGroup.
//
// The proposal is an Add (a KeyPackage), Remove, PreSharedKey,
// GroupContextExtensions or custom proposal as given, or an Update whose
// LeafNode is a template: its credential, signature key, capabilities and
// extensions are used when non-empty (else the current leaf's), and the
// core draws the new encryption key and signs the leaf — with the new
// signature key's private key (Env.Keys) if the template names one, while
// the proposal itself is signed with the current key (RFC 9420, Section
// 6.1). Once a commit covering the Update is merged, the member signs with
// the new key.
type Propose struct {
	At       uint64
	Proposal codec.Proposal
	AAD      []byte // authenticated_data
}

// Leave asks the group to remove this member: it sends a Remove proposal
// for the own leaf by reference, for another member to commit (RFC 9420,
// Section 12.1.3: a member cannot commit its own removal).
type Leave struct {
	At  uint64
	AAD []byte
}

// TreeOption chooses whether a Welcome carries the ratchet tree.
type TreeOption uint8

// The ratchet tree options of a Commit.
const (
	TreeByConfig TreeOption = 0 // per Config.RatchetTreeExtension
	TreeInclude  TreeOption = 1 // ratchet_tree extension in the GroupInfo
	TreeOmit     TreeOption = 2 // new members get the tree out of band
)

// Commit creates a commit (RFC 9420, Section 12.4) covering the stored
// proposals that Env.Policy selects (invalid ones are dropped, as RFC 9420,
// Section 12.2 asks of a committer) followed by Inline proposals (which must
// all be valid). An inline Update is no proposal (a committer cannot
// update itself by proposal, ValSem111): it is the template of the
// committer's leaf node in the UpdatePath, as Propose's Update template
// (new credential, signature key, capabilities or extensions; the commit
// is signed with the current key, the leaf with the new one), and implies
// ForcePath; at most one. The commit becomes the state's pending commit; ConfirmCommit
// merges it once the delivery service accepted it, AbortCommit drops it.
// Effects: SendToGroup (the commit), SendWelcome if members are added,
// PublishGroupInfo if PublishGroupInfo is set.
type Commit struct {
	At     uint64
	Inline []codec.Proposal
	// ForcePath includes an UpdatePath even if no proposal requires one.
	ForcePath        bool
	RatchetTree      TreeOption
	PublishGroupInfo bool
	AAD              []byte
}

// ConfirmCommit merges this member's pending commit: the delivery service
// accepted it. Effects: EpochAdvanced and DeleteSecret for what the old
// epoch held.
type ConfirmCommit struct{ At uint64 }

// AbortCommit drops this member's pending commit: the delivery service
// rejected it.
type AbortCommit struct{ At uint64 }

// Receive processes an MLSMessage (RFC 9420, Section 6) received for this
// group: a proposal is validated and stored (ProposalReceived), a commit is
// validated and staged (CommitStaged; MergeStaged applies it), an
// application message is decrypted (DeliverApplication). Every message key
// used is reported with DeleteSecret.
type Receive struct {
	At      uint64
	Message []byte
}

// MergeStaged applies the staged commit. Effects: EpochAdvanced, or
// RemovedFromGroup if the commit removed this member (the state then stays
// readable but inactive), and DeleteSecret for the superseded secrets.
type MergeStaged struct{ At uint64 }

// DiscardStaged drops the staged commit.
type DiscardStaged struct{ At uint64 }

// DropProposal removes a proposal from the store by its ProposalRef, so
// that a later Commit does not cover it.
type DropProposal struct {
	At  uint64
	Ref []byte
}

// Protect encrypts application data as a PrivateMessage (RFC 9420,
// Section 6.3). Effects: SendToGroup and DeleteSecret for the key used.
type Protect struct {
	At   uint64
	Data []byte
	AAD  []byte
}

// Export computes MLS-Exporter(Label, Context, Length) of the current epoch
// (RFC 9420, Section 8.5). Effect: Exported.
type Export struct {
	At      uint64
	Label   string
	Context []byte
	Length  uint32 // bytes
}

// JoinWelcome validates a Welcome (RFC 9420, Section 12.4.3.1) with the key
// package bundle Env.Keys holds for it and stages the join: the returned
// state is a joining client (state.GroupState.StagedJoin shows the group),
// and AcceptJoin makes it a member. RatchetTree is the ratchet tree (an
// encoded ratchet_tree extension body) when the GroupInfo carries none.
// Effects: WelcomeStaged.
type JoinWelcome struct {
	At          uint64
	Welcome     []byte // MLSMessage(Welcome)
	RatchetTree []byte // optional
	Config      state.Config
}

// AcceptJoin turns the staged join into the state. Effects: Joined, and
// DeleteSecret for the key package bundle (unless it is a last-resort one).
type AcceptJoin struct{ At uint64 }

// RejectJoin drops the staged join.
type RejectJoin struct{ At uint64 }

// Time returns the event's At.
func (e NewSignatureKey) Time() uint64 { return e.At }

// Time returns the event's At.
func (e NewKeyPackage) Time() uint64 { return e.At }

// Time returns the event's At.
func (e CreateGroup) Time() uint64 { return e.At }

// Time returns the event's At.
func (e Propose) Time() uint64 { return e.At }

// Time returns the event's At.
func (e Leave) Time() uint64 { return e.At }

// Time returns the event's At.
func (e Commit) Time() uint64 { return e.At }

// Time returns the event's At.
func (e ConfirmCommit) Time() uint64 { return e.At }

// Time returns the event's At.
func (e AbortCommit) Time() uint64 { return e.At }

// Time returns the event's At.
func (e Receive) Time() uint64 { return e.At }

// Time returns the event's At.
func (e MergeStaged) Time() uint64 { return e.At }

// Time returns the event's At.
func (e DiscardStaged) Time() uint64 { return e.At }

// Time returns the event's At.
func (e DropProposal) Time() uint64 { return e.At }

// Time returns the event's At.
func (e Protect) Time() uint64 { return e.At }

// Time returns the event's At.
func (e Export) Time() uint64 { return e.At }

// Time returns the event's At.
func (e JoinWelcome) Time() uint64 { return e.At }

// Time returns the event's At.
func (e AcceptJoin) Time() uint64 { return e.At }

// Time returns the event's At.
func (e RejectJoin) Time() uint64 { return e.At }

func (NewSignatureKey) tag() eventTag { return tagNewSignatureKey }
func (NewKeyPackage) tag() eventTag   { return tagNewKeyPackage }
func (CreateGroup) tag() eventTag     { return tagCreateGroup }
func (Propose) tag() eventTag         { return tagPropose }
func (Leave) tag() eventTag           { return tagLeave }
func (Commit) tag() eventTag          { return tagCommit }
func (ConfirmCommit) tag() eventTag   { return tagConfirmCommit }
func (AbortCommit) tag() eventTag     { return tagAbortCommit }
func (Receive) tag() eventTag         { return tagReceive }
func (MergeStaged) tag() eventTag     { return tagMergeStaged }
func (DiscardStaged) tag() eventTag   { return tagDiscardStaged }
func (DropProposal) tag() eventTag    { return tagDropProposal }
func (Protect) tag() eventTag         { return tagProtect }
func (Export) tag() eventTag          { return tagExport }
func (JoinWelcome) tag() eventTag     { return tagJoinWelcome }
func (AcceptJoin) tag() eventTag      { return tagAcceptJoin }
func (RejectJoin) tag() eventTag      { return tagRejectJoin }

// Name returns the event's type name, e.g. "Commit", for logs and reports.
func Name(ev Event) string {
	if ev == nil {
		return "<nil>"
	}
	return ev.tag().String()
}

func (t eventTag) String() string {
	if n, _, ok := eventSpec(t); ok {
		return n
	}
	return "Event(" + strconv.Itoa(int(t)) + ")"
}
