package mls

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
)

// MessageKind says what a processed message carried.
type MessageKind uint8

// The kinds of processed message.
const (
	// ApplicationMessage: Data and AAD hold the decrypted message.
	ApplicationMessage MessageKind = 1 + iota
	// ProposalMessage: a proposal was validated and stored for the next
	// commit; Proposal describes it.
	ProposalMessage
	// CommitMessage: a commit was validated and staged; inspect Commit,
	// then call MergeStagedCommit or DiscardStagedCommit.
	CommitMessage
)

// String returns the kind's name.
func (k MessageKind) String() string {
	switch k {
	case ApplicationMessage:
		return "application"
	case ProposalMessage:
		return "proposal"
	case CommitMessage:
		return "commit"
	}
	return "unknown"
}

// ProcessedMessage is the result of Group.ProcessMessage: a message that
// passed every check of RFC 9420 (framing, signature, decryption, and for
// proposals and commits every validation rule).
type ProcessedMessage struct {
	Kind  MessageKind
	Epoch uint64 // the epoch the message belongs to
	// Sender is the message's sender: a member (LeafIndex), an external
	// sender or a new member.
	Sender codec.Sender
	// Data and AAD are an application message's plaintext and
	// authenticated data.
	Data, AAD []byte
	// DeliveryID names a received application message kept in storage
	// until Group.Ack (Options.AtLeastOnce); nil otherwise.
	DeliveryID []byte
	// Proposal is the stored proposal of a ProposalMessage.
	Proposal *ReceivedProposal
	// Commit is the staged commit of a CommitMessage.
	Commit *StagedCommit
}

// ReceivedProposal is a proposal stored by ProcessMessage.
type ReceivedProposal struct {
	Ref      []byte // ProposalRef, for Group.DropProposal
	Proposal codec.Proposal
}

// StagedCommit describes a received commit before it is merged (RFC 9420,
// Section 12.4.2), for the application to approve.
type StagedCommit struct {
	// Proposals are the proposals the commit covers, in order.
	Proposals []state.StoredProposal
	// Added, Removed and Updated are the leaves the commit adds, removes
	// and updates (leaf indices after the commit for Added).
	Added, Removed, Updated []LeafIndex
	// SelfRemoved reports that the commit removes this member: after
	// merging it the group is inactive.
	SelfRemoved bool
	// Entering are the members of the next epoch whose credential or
	// signature key this member has not accepted before: the added
	// members, updated leaves, a committer's new credential, an external
	// joiner. A validation that needs the outside world (a directory, a
	// revocation list) checks them before MergeStagedCommit, or calls
	// DiscardStagedCommit (see "Credentials" in docs/guide.md).
	Entering []Member

	self LeafIndex // this member's leaf, for Removals
}

// ProcessMessage processes an MLSMessage received for this group: an
// application message is decrypted (its key then deleted), a proposal is
// validated and stored, a commit is validated and staged. Invalid messages
// are rejected with the core's typed error (errors.Is(err,
// valsem.ValSemNNN)) and leave the group unchanged. This member's own
// messages echoed back by the delivery service fail with ErrOwnMessage
// (see there for which are told apart).
//
// A staged commit is written to storage with the application's decision
// (MergeStagedCommit or DiscardStagedCommit, in one write with it), with
// any later operation, or at Close: a crash before then leaves the group
// stored before the commit, and the application processes the commit's
// message again. Acknowledge a commit to the delivery service once it is
// merged.
func (g *Group) ProcessMessage(message []byte) (*ProcessedMessage, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		if err := g.ownEcho(message); err != nil {
			return nil, err
		}
	}
	var pm *ProcessedMessage
	var id []byte
	var extra func(b *Batch, r effects.Ready)
	if g.c.opts.AtLeastOnce {
		extra = func(b *Batch, r effects.Ready) {
			for _, d := range r.Deliver.Application {
				id = g.deliveryID(message)
				b.Put(groupKey("a/", g.id, id...), encodeDelivery(d))
			}
		}
	}
	err := g.runWith(transitions.Receive{At: g.c.now(), Message: message}, extra, func(r effects.Ready) {
		pm = g.processed(r)
	})
	if err != nil {
		return nil, err
	}
	if pm != nil && pm.Kind == ApplicationMessage {
		pm.DeliveryID = id
	}
	return pm, nil
}

// deliveryID returns the id of a kept message: a counter (arrival order;
// it continues after the largest kept id) and a hash of the message (so
// that an id acknowledged before a restart names no later message).
func (g *Group) deliveryID(message []byte) []byte {
	if !g.deliveriesKnown {
		prefix := groupKey("a/", g.id)
		if keys, err := g.c.store.Keys(ctx, prefix); err == nil && len(keys) > 0 {
			if last := keys[len(keys)-1][len(prefix):]; len(last) >= 8 {
				g.nextDelivery = binary.BigEndian.Uint64(last) + 1
			}
		}
		g.deliveriesKnown = true
	}
	h := sha256.Sum256(message)
	id := binary.BigEndian.AppendUint64(nil, g.nextDelivery)
	g.nextDelivery++
	return append(id, h[:8]...)
}

func encodeDelivery(d effects.DeliverApplication) []byte {
	var b cryptobyte.Builder
	b.AddUint64(d.Epoch)
	b.AddUint32(uint32(d.Sender))
	codec.AddOpaque(&b, d.Data)
	codec.AddOpaque(&b, d.AAD)
	out, err := b.Bytes()
	if err != nil {
		panic("mls: encoding a delivery: " + err.Error()) // a received message fits
	}
	return out
}

// Ack acknowledges a message kept by Options.AtLeastOnce: it is erased
// from storage. Acknowledging an id that is not kept is not an error.
func (g *Group) Ack(deliveryID []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	var b Batch
	b.Delete(groupKey("a/", g.id, deliveryID...))
	return g.c.store.Commit(ctx, &b)
}

// Unacked returns the application messages kept by Options.AtLeastOnce
// and not acknowledged yet, in arrival order: after a crash, those the
// application may not have stored.
func (g *Group) Unacked() ([]*ProcessedMessage, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, ErrClosed
	}
	prefix := groupKey("a/", g.id)
	keys, err := g.c.store.Keys(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []*ProcessedMessage
	for _, k := range keys {
		v, err := g.c.store.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		d := codec.NewDecoder(v)
		pm := &ProcessedMessage{Kind: ApplicationMessage, DeliveryID: k[len(prefix):]}
		pm.Epoch = d.Uint64()
		pm.Sender = codec.MemberSender(LeafIndex(d.Uint32()))
		pm.Data, pm.AAD = d.Opaque(), d.Opaque()
		if err := d.Finish("kept message"); err != nil {
			return nil, fmt.Errorf("%w: kept message %x: %w", ErrDamaged, k, err)
		}
		out = append(out, pm)
	}
	return out, nil
}

// processed reads the deliver-phase effects of a Receive.
func (g *Group) processed(r effects.Ready) *ProcessedMessage {
	d := r.Deliver
	switch {
	case len(d.Application) > 0:
		e := d.Application[0]
		return &ProcessedMessage{Kind: ApplicationMessage, Epoch: e.Epoch, Sender: codec.MemberSender(e.Sender), Data: e.Data, AAD: e.AAD}
	case len(d.Proposals) > 0:
		e := d.Proposals[0]
		return &ProcessedMessage{Kind: ProposalMessage, Epoch: e.Epoch, Sender: e.Sender, Proposal: &ReceivedProposal{Ref: e.Ref, Proposal: e.Proposal}}
	case len(d.Commits) > 0:
		e := d.Commits[0]
		pm := &ProcessedMessage{Kind: CommitMessage, Epoch: e.Epoch, Commit: &StagedCommit{
			Added: e.Added, Removed: e.Removed, Updated: e.Updated, SelfRemoved: e.SelfRemoved,
		}, Sender: e.Sender}
		if sc, ok := g.st.StagedCommit(); ok {
			pm.Commit.Proposals = sc.Proposals
			pm.Commit.Entering = entering(g.st, sc)
		}
		pm.Commit.self = g.st.OwnLeaf()
		return pm
	}
	return nil
}

// MergeStagedCommit applies the staged commit: the group moves to the
// next epoch (or becomes inactive if the commit removed this member), and
// the old epoch's secrets are erased.
func (g *Group) MergeStagedCommit() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.run(transitions.MergeStaged{At: g.c.now()}, nil)
}

// DiscardStagedCommit drops the staged commit: the application did not
// approve it. The group stays in its epoch.
func (g *Group) DiscardStagedCommit() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.run(transitions.DiscardStaged{At: g.c.now()}, nil)
}
