package mls

import (
	"sync"
	"time"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
)

// ErrNeedsSecrets reports a PrivateMessage given to a PublicGroup: only
// the members can decrypt it. A delivery service forwards it unchecked.
var ErrNeedsSecrets = transitions.ErrNeedsSecrets

// PublicGroupOptions configures a PublicGroup. A nil *PublicGroupOptions
// takes every default.
type PublicGroupOptions struct {
	// Clock returns the current time, at which leaf lifetimes are
	// checked; nil means time.Now.
	Clock func() time.Time
	// Policy holds the delivery service's decisions: credential
	// validation (AcceptCredential), external proposals and resyncs, as
	// for a member. The zero Policy accepts every valid message.
	Policy transitions.Policy
	// Limits bounds the work of one message; zero fields take the
	// defaults.
	Limits transitions.Limits
	// Config is the members' group configuration; nil means
	// state.DefaultConfig(). Its wire format policy decides which
	// members' PublicMessages are accepted, and it is part of the public
	// digest (PublicDigest equals the members' only under their
	// configuration).
	Config *state.Config
}

// PublicGroup follows a group from outside, holding no secret: the view
// of a delivery service or an auditor (RFC 9420, Section 6.2; OpenMLS's
// PublicGroup, mls-rs's ExternalGroup). It is created from a GroupInfo and
// the ratchet tree, processes the group's PublicMessage proposals and
// commits with the members' own validation rules, tracks the members and
// the public state of each epoch, and keeps a GroupInfo for external
// joiners. It is safe for concurrent use.
//
// It checks everything that needs no secret — signatures, the proposal
// rules, leaf nodes and key packages, parent hashes, the tree — and
// rejects with the same typed errors a member gives (errors.Is(err,
// valsem.ValSemNNN)). It cannot check membership tags or confirmation
// tags, whose keys only members derive: a commit it accepts may still be
// rejected by every member, so a delivery service that relays a commit
// waits for the members before treating the epoch as final. PrivateMessages
// cannot be processed (ErrNeedsSecrets). See transitions.PublicGroup, the
// pure value underneath, for the exact list.
type PublicGroup struct {
	mu   sync.Mutex
	opts PublicGroupOptions
	pg   transitions.PublicGroup
}

// PublicProcessed is the result of PublicGroup.ProcessMessage.
type PublicProcessed struct {
	Kind   MessageKind  // ProposalMessage or CommitMessage
	Epoch  uint64       // the epoch the message belongs to
	Sender codec.Sender // a member, an external sender or a new member
	// Proposal is the stored proposal of a ProposalMessage.
	Proposal *ReceivedProposal
	// Commit is what a CommitMessage did; the PublicGroup is now at
	// Commit.Epoch.
	Commit *transitions.PublicCommit
}

// NewPublicGroup returns the public view of the group a GroupInfo
// (MLSMessage bytes) describes, with the ratchet tree from the GroupInfo's
// ratchet_tree extension or, if it has none, ratchetTree (an encoded
// ratchet tree, as Group.RatchetTree returns). The GroupInfo's signature
// is verified with its signer's leaf, the tree is validated and must hash
// to the GroupContext's tree hash, and every leaf is validated; the
// GroupInfo is kept for external joiners (GroupInfo).
func NewPublicGroup(groupInfo, ratchetTree []byte, opts *PublicGroupOptions) (*PublicGroup, error) {
	p := &PublicGroup{}
	if opts != nil {
		p.opts = *opts
	}
	cfg := state.DefaultConfig()
	if p.opts.Config != nil {
		cfg = *p.opts.Config
	}
	pg, err := transitions.NewPublicGroup(groupInfo, ratchetTree, cfg, p.now(), p.env())
	if err != nil {
		return nil, err
	}
	p.pg = pg
	return p, nil
}

func (p *PublicGroup) now() uint64 {
	clock := p.opts.Clock
	if clock == nil {
		clock = time.Now
	}
	return uint64(clock().Unix())
}

func (p *PublicGroup) env() transitions.Env {
	return transitions.Env{Policy: p.opts.Policy, Limits: p.opts.Limits}
}

// ProcessMessage processes an MLSMessage sent to the group: a
// PublicMessage proposal is validated and stored for the next commit, a
// PublicMessage commit is validated and applied — the PublicGroup moves to
// the new epoch, with no GroupInfo until SetGroupInfo gives one. An
// invalid message is rejected with the typed error a member would give and
// leaves the PublicGroup unchanged; a PrivateMessage gives ErrNeedsSecrets.
func (p *PublicGroup) ProcessMessage(message []byte) (*PublicProcessed, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	epoch := p.pg.Epoch()
	next, res, err := p.pg.Process(message, p.now(), p.env())
	if err != nil {
		return nil, err
	}
	p.pg = next
	out := &PublicProcessed{Epoch: epoch, Sender: res.Sender, Commit: res.Commit}
	switch {
	case res.Proposal != nil:
		out.Kind = ProposalMessage
		out.Proposal = &ReceivedProposal{Ref: res.Proposal.Ref, Proposal: res.Proposal.Proposal}
	case res.Commit != nil:
		out.Kind = CommitMessage
	}
	return out, nil
}

// SetGroupInfo makes groupInfo (MLSMessage bytes) the GroupInfo handed to
// external joiners, once verified to be the current epoch's: its
// GroupContext and confirmation tag are the PublicGroup's, its signer is a
// member whose key verifies it, and a ratchet_tree extension hashes to the
// tree hash. A delivery service asks the committer for it with each commit
// (Options.PublishGroupInfo gives it in Outgoing.GroupInfo). Its
// external_pub key cannot be checked without the epoch's secrets.
func (p *PublicGroup) SetGroupInfo(groupInfo []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	next, err := p.pg.WithGroupInfo(groupInfo, p.env())
	if err != nil {
		return err
	}
	p.pg = next
	return nil
}

// GroupInfo returns a copy of the current epoch's GroupInfo, as given to
// NewPublicGroup or SetGroupInfo, and whether there is one: a commit
// starts an epoch without one.
func (p *PublicGroup) GroupInfo() ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pg.GroupInfo()
}

// RatchetTree returns the encoded ratchet tree, for joiners whose
// GroupInfo or Welcome does not carry it.
func (p *PublicGroup) RatchetTree() ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pg.Tree().Encode()
}

// Members returns the current members in leaf order (copies).
func (p *PublicGroup) Members() []Member {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Member
	for i, ln := range p.pg.Members() {
		// ln is already a copy (tree.Tree.Members).
		out = append(out, Member{Index: i, Credential: ln.Credential, Identity: ln.Credential.Identity,
			SignatureKey: ln.SignatureKey, EncryptionKey: ln.EncryptionKey})
	}
	return out
}

// PendingProposals returns copies of the proposals stored for the next
// commit, in arrival order.
func (p *PublicGroup) PendingProposals() []state.StoredProposal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pg.Proposals()
}

// Epoch returns the current epoch.
func (p *PublicGroup) Epoch() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pg.Epoch()
}

// GroupID returns a copy of the group id.
func (p *PublicGroup) GroupID() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pg.GroupID()
}

// PublicDigest returns the digest of the public state (state.Public.Digest):
// after each commit, every member with the same configuration has the same
// (state.GroupState.PublicDigest), so a delivery service and an auditor
// can compare their views with the members'.
func (p *PublicGroup) PublicDigest() [32]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pg.Digest()
}

// State returns the underlying pure value (immutable: every accessor
// copies), for embedders that drive it themselves.
func (p *PublicGroup) State() transitions.PublicGroup {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pg
}

// Marshal returns an encoding of the PublicGroup for the delivery
// service's storage: its public state and current GroupInfo, no secret.
// LoadPublicGroup reads it back.
func (p *PublicGroup) Marshal() ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pg.Encode()
}

// LoadPublicGroup returns the PublicGroup that Marshal encoded, decoded
// strictly within opts.Limits and checked for consistency (its tree hashes
// to its GroupContext's tree hash; its GroupInfo is verified against it).
// The stored state is taken on trust: store it where only the delivery
// service can write. opts (which Marshal does not store) may be nil.
func LoadPublicGroup(data []byte, opts *PublicGroupOptions) (*PublicGroup, error) {
	p := &PublicGroup{}
	if opts != nil {
		p.opts = *opts
	}
	pg, err := transitions.DecodePublicGroup(data, p.env())
	if err != nil {
		return nil, err
	}
	p.pg = pg
	return p, nil
}
