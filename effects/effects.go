// Package effects owns the closed set of effects that a transition returns:
// plain values describing what the caller must do (persist or delete a
// secret, send a message, deliver plaintext, tell the application what
// changed). The core performs none of them itself.
//
// Effects come back from transitions.Apply sorted by phase, and the shell
// carries them out in that order, as raft's Ready contract prescribes:
//
//  1. durably append the log record (or store the new state);
//  2. PhasePersist: PersistSecret;
//  3. PhaseSend: SendToGroup, SendWelcome, PublishGroupInfo;
//  4. PhaseDeliver: DeliverApplication, ProposalReceived, CommitStaged,
//     EpochAdvanced, RemovedFromGroup, Exported, KeyPackageCreated,
//     SignatureKeyCreated, WelcomeStaged, Joined;
//  5. PhaseDelete: DeleteSecret — only after the new state is durable, so a
//     crash never loses a key that a durable state still needs.
//
// Digest commits to a list of effects; the event log records it so that a
// replay can check it reproduced exactly the same effects.
package effects

import (
	"cmp"
	"crypto/sha256"
	"slices"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/treemath"
)

// Phase orders effects: every effect of a phase is carried out before any of
// the next.
type Phase uint8

// The phases, in execution order.
const (
	PhasePersist Phase = iota // store secrets
	PhaseSend                 // hand messages to the delivery service
	PhaseDeliver              // tell the application
	PhaseDelete               // erase secrets, after the new state is durable
)

// Effect is one thing the caller must do. The set is closed: only the types
// of this package implement it.
type Effect interface {
	// Phase returns the phase the effect belongs to.
	Phase() Phase
	// marshal writes the effect's canonical encoding, for Digest.
	marshal(b *cryptobyte.Builder)
	kind() uint8
}

// SecretKind says what a stored secret is.
type SecretKind uint8

// The kinds of secrets that effects persist or delete.
const (
	SecretInitKey       SecretKind = 1 + iota // private HPKE init key of a KeyPackage; ID is its KeyPackageRef
	SecretLeafKey                             // private HPKE key of a leaf node; ID is its public key
	SecretPathKey                             // private HPKE key of a parent node; ID is its public key
	SecretEpoch                               // an epoch's secrets; ID is group id || epoch
	SecretResumptionPSK                       // a resumption PSK; ID is group id || epoch
	SecretMessageKey                          // a message key of the secret tree; ID is group id || epoch || leaf || generation || kind
	SecretSignatureKey                        // a signature private key; ID is its public key; Secret is the uint16 suite then the private key
	SecretKeyPackage                          // a KeyPackage bundle (key package, init and leaf private keys); ID is its KeyPackageRef
)

// SecretRef names a secret the caller stores outside the state.
type SecretRef struct {
	Kind SecretKind
	ID   []byte
}

// PersistSecret asks the caller to store Secret under Ref durably.
type PersistSecret struct {
	Ref    SecretRef
	Secret []byte
}

// DeleteSecret asks the caller to erase the secret under Ref (and any copy of
// it) once the new state is durable: forward secrecy depends on it.
type DeleteSecret struct {
	Ref SecretRef
}

// ContentKind says what a group message carries.
type ContentKind uint8

// The kinds of group message content.
const (
	KindApplication ContentKind = 1
	KindProposal    ContentKind = 2
	KindCommit      ContentKind = 3
)

// SendToGroup asks the caller to send an MLSMessage to the group's members.
type SendToGroup struct {
	Group   []byte
	Epoch   uint64 // the epoch the message belongs to
	Kind    ContentKind
	Message []byte // MLSMessage bytes
}

// SendWelcome asks the caller to send a Welcome to new members.
type SendWelcome struct {
	Welcome []byte   // MLSMessage(Welcome) bytes
	To      [][]byte // KeyPackageRefs of the recipients, in the Welcome's order
}

// PublishGroupInfo offers a signed GroupInfo for external joiners.
type PublishGroupInfo struct {
	Group     []byte
	Epoch     uint64
	GroupInfo []byte // MLSMessage(GroupInfo) bytes
}

// DeliverApplication hands a decrypted application message to the application.
type DeliverApplication struct {
	Group  []byte
	Epoch  uint64
	Sender treemath.LeafIndex
	Data   []byte
	AAD    []byte // authenticated_data
}

// ProposalReceived reports a proposal stored in the pending-proposal queue.
type ProposalReceived struct {
	Group    []byte
	Epoch    uint64
	Ref      []byte         // ProposalRef
	Sender   codec.Sender   // who sent the proposal
	Proposal codec.Proposal // the proposal, a copy the caller may keep
}

// CommitStaged reports a received commit that was validated and staged; the
// application inspects it and then merges or discards it.
type CommitStaged struct {
	Group       []byte
	Epoch       uint64       // the epoch the commit moves from
	Sender      codec.Sender // the committer
	Added       []treemath.LeafIndex
	Removed     []treemath.LeafIndex
	Updated     []treemath.LeafIndex
	SelfRemoved bool
}

// EpochAdvanced reports that the group moved to a new epoch.
type EpochAdvanced struct {
	Group         []byte
	From, To      uint64
	Authenticator []byte // epoch_authenticator of epoch To
	Added         []treemath.LeafIndex
	Removed       []treemath.LeafIndex
}

// RemovedFromGroup reports that this member was removed; the state stays
// readable but inactive.
type RemovedFromGroup struct {
	Group []byte
	Epoch uint64       // the epoch in which the removal took effect
	By    codec.Sender // the sender of the commit
}

// Exported hands an exported secret (MLS-Exporter) to the application.
type Exported struct {
	Group  []byte
	Epoch  uint64
	Label  string
	Secret []byte
}

// KeyPackageCreated hands a new KeyPackage to the application, for
// publication (RFC 9420, Section 10). Its private keys come in a
// PersistSecret of kind SecretKeyPackage.
type KeyPackageCreated struct {
	Suite      uint16
	Ref        []byte // KeyPackageRef
	KeyPackage []byte // MLSMessage(KeyPackage) bytes
	LastResort bool
}

// SignatureKeyCreated reports a new signature key pair; the private key
// comes in a PersistSecret of kind SecretSignatureKey.
type SignatureKeyCreated struct {
	Suite     uint16
	PublicKey []byte
}

// WelcomeStaged reports a validated Welcome, for the application to inspect
// (the staged state lists the members) before accepting the join.
type WelcomeStaged struct {
	Group   []byte
	Epoch   uint64
	Signer  treemath.LeafIndex // the member who signed the GroupInfo
	Self    treemath.LeafIndex // this client's leaf
	Members uint32             // number of members
}

// Joined reports that this client became a member of a group.
type Joined struct {
	Group         []byte
	Epoch         uint64
	Self          treemath.LeafIndex
	Authenticator []byte // epoch_authenticator of the epoch joined
}

// Phase implements Effect.
func (PersistSecret) Phase() Phase { return PhasePersist }

// Phase implements Effect.
func (DeleteSecret) Phase() Phase { return PhaseDelete }

// Phase implements Effect.
func (SendToGroup) Phase() Phase { return PhaseSend }

// Phase implements Effect.
func (SendWelcome) Phase() Phase { return PhaseSend }

// Phase implements Effect.
func (PublishGroupInfo) Phase() Phase { return PhaseSend }

// Phase implements Effect.
func (DeliverApplication) Phase() Phase { return PhaseDeliver }

// Phase implements Effect.
func (ProposalReceived) Phase() Phase { return PhaseDeliver }

// Phase implements Effect.
func (CommitStaged) Phase() Phase { return PhaseDeliver }

// Phase implements Effect.
func (EpochAdvanced) Phase() Phase { return PhaseDeliver }

// Phase implements Effect.
func (RemovedFromGroup) Phase() Phase { return PhaseDeliver }

// Phase implements Effect.
func (Exported) Phase() Phase { return PhaseDeliver }

// Phase implements Effect.
func (KeyPackageCreated) Phase() Phase { return PhaseDeliver }

// Phase implements Effect.
func (SignatureKeyCreated) Phase() Phase { return PhaseDeliver }

// Phase implements Effect.
func (WelcomeStaged) Phase() Phase { return PhaseDeliver }

// Phase implements Effect.
func (Joined) Phase() Phase { return PhaseDeliver }

func (KeyPackageCreated) kind() uint8   { return 12 }
func (SignatureKeyCreated) kind() uint8 { return 13 }
func (WelcomeStaged) kind() uint8       { return 14 }
func (Joined) kind() uint8              { return 15 }

func (e KeyPackageCreated) marshal(b *cryptobyte.Builder) {
	b.AddUint16(e.Suite)
	codec.AddOpaque(b, e.Ref)
	codec.AddOpaque(b, e.KeyPackage)
	if e.LastResort {
		b.AddUint8(1)
	} else {
		b.AddUint8(0)
	}
}

func (e SignatureKeyCreated) marshal(b *cryptobyte.Builder) {
	b.AddUint16(e.Suite)
	codec.AddOpaque(b, e.PublicKey)
}

func (e WelcomeStaged) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.Group)
	b.AddUint64(e.Epoch)
	b.AddUint32(uint32(e.Signer))
	b.AddUint32(uint32(e.Self))
	b.AddUint32(e.Members)
}

func (e Joined) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.Group)
	b.AddUint64(e.Epoch)
	b.AddUint32(uint32(e.Self))
	codec.AddOpaque(b, e.Authenticator)
}

func (PersistSecret) kind() uint8      { return 1 }
func (DeleteSecret) kind() uint8       { return 2 }
func (SendToGroup) kind() uint8        { return 3 }
func (SendWelcome) kind() uint8        { return 4 }
func (PublishGroupInfo) kind() uint8   { return 5 }
func (DeliverApplication) kind() uint8 { return 6 }
func (ProposalReceived) kind() uint8   { return 7 }
func (CommitStaged) kind() uint8       { return 8 }
func (EpochAdvanced) kind() uint8      { return 9 }
func (RemovedFromGroup) kind() uint8   { return 10 }
func (Exported) kind() uint8           { return 11 }

func addRef(b *cryptobyte.Builder, r SecretRef) {
	b.AddUint8(uint8(r.Kind))
	codec.AddOpaque(b, r.ID)
}

func addLeaves(b *cryptobyte.Builder, ls []treemath.LeafIndex) {
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, l := range ls {
			b.AddUint32(uint32(l))
		}
	})
}

func (e PersistSecret) marshal(b *cryptobyte.Builder) {
	addRef(b, e.Ref)
	// The digest commits to the secret through its hash only, so digests can
	// be shown and logged without revealing it.
	h := sha256.Sum256(e.Secret)
	b.AddBytes(h[:])
}

func (e DeleteSecret) marshal(b *cryptobyte.Builder) { addRef(b, e.Ref) }

func (e SendToGroup) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.Group)
	b.AddUint64(e.Epoch)
	b.AddUint8(uint8(e.Kind))
	codec.AddOpaque(b, e.Message)
}

func (e SendWelcome) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.Welcome)
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, r := range e.To {
			codec.AddOpaque(b, r)
		}
	})
}

func (e PublishGroupInfo) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.Group)
	b.AddUint64(e.Epoch)
	codec.AddOpaque(b, e.GroupInfo)
}

func (e DeliverApplication) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.Group)
	b.AddUint64(e.Epoch)
	b.AddUint32(uint32(e.Sender))
	codec.AddOpaque(b, e.Data)
	codec.AddOpaque(b, e.AAD)
}

func (e ProposalReceived) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.Group)
	b.AddUint64(e.Epoch)
	codec.AddOpaque(b, e.Ref)
	codec.AddVector(b, e.Sender.Marshal)
	codec.AddVector(b, e.Proposal.Marshal)
}

func (e CommitStaged) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.Group)
	b.AddUint64(e.Epoch)
	codec.AddVector(b, e.Sender.Marshal)
	addLeaves(b, e.Added)
	addLeaves(b, e.Removed)
	addLeaves(b, e.Updated)
	if e.SelfRemoved {
		b.AddUint8(1)
	} else {
		b.AddUint8(0)
	}
}

func (e EpochAdvanced) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.Group)
	b.AddUint64(e.From)
	b.AddUint64(e.To)
	codec.AddOpaque(b, e.Authenticator)
	addLeaves(b, e.Added)
	addLeaves(b, e.Removed)
}

func (e RemovedFromGroup) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.Group)
	b.AddUint64(e.Epoch)
	codec.AddVector(b, e.By.Marshal)
}

func (e Exported) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.Group)
	b.AddUint64(e.Epoch)
	codec.AddOpaque(b, []byte(e.Label))
	h := sha256.Sum256(e.Secret)
	b.AddBytes(h[:])
}

// Sort returns effs ordered by phase, keeping the relative order of effects
// of the same phase. It does not modify effs.
func Sort(effs []Effect) []Effect {
	out := slices.Clone(effs)
	slices.SortStableFunc(out, func(a, b Effect) int { return cmp.Compare(a.Phase(), b.Phase()) })
	return out
}

// Sorted reports whether effs is ordered by phase.
func Sorted(effs []Effect) bool {
	return slices.IsSortedFunc(effs, func(a, b Effect) int { return cmp.Compare(a.Phase(), b.Phase()) })
}

// Encode returns the canonical encoding of effs: for each effect, its kind
// byte and its fields. Secrets appear only as SHA-256 hashes.
func Encode(effs []Effect) []byte {
	var b cryptobyte.Builder
	for _, e := range effs {
		b.AddUint8(e.kind())
		codec.AddVector(&b, e.marshal)
	}
	out, err := b.Bytes()
	if err != nil {
		// Only a field over 2^30-1 bytes fails to encode; the core never
		// builds one (messages are bounded by the limits).
		panic("effects: " + err.Error())
	}
	return out
}

// Digest returns SHA-256 of Encode(effs).
func Digest(effs []Effect) [32]byte {
	return sha256.Sum256(Encode(effs))
}
