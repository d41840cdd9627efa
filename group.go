package mls

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/treemath"
)

// LeafIndex is a member's position in the group's ratchet tree.
type LeafIndex = treemath.LeafIndex

// Group is this client's membership in one MLS group, in the manner of
// OpenMLS's MlsGroup. Every method that changes the group runs one event
// through the pure core (transitions.Apply, by way of the driver
// replay.Apply), with the clock's time and a fresh seed, and carries out the effects in order: (1) the group's log
// is written durably, (2) new secrets are stored, (3) outgoing messages
// are returned to the caller — the shell does no networking, (4) received
// content is returned, (5) secrets the core no longer needs are erased.
// If Apply fails, nothing is written and the group is unchanged.
//
// A Group is safe for concurrent use; its methods are serialized.
type Group struct {
	c  *Client
	id []byte

	mu  sync.Mutex
	st  state.GroupState
	log *groupLog
	ops []BatchOp // room for the next operation's Batch (batch, keepBatch)
	// unstored, when set, says that the state (a received commit's
	// staging) is not stored yet, and holds the operations of the staging
	// besides the state's (secrets it created or deleted): the group's
	// next operation stores the state it leads to with them, or Close the
	// staged state (see stagesCommit).
	unstored *Batch
	closed   bool
	// nextDelivery numbers the messages kept by Options.AtLeastOnce,
	// from the largest kept id once deliveriesKnown.
	nextDelivery    uint64
	deliveriesKnown bool
	// sent remembers the group's recent handshake messages, to tell
	// their echoes (ErrOwnMessage).
	sent sentHashes
}

// Outgoing holds the messages an operation produced, for the application
// to hand to the delivery service.
type Outgoing struct {
	// Commit is the MLSMessage to send to the group's members: the commit
	// (or the external commit of JoinExternal).
	Commit []byte
	// Welcome is the MLSMessage(Welcome) for the members the commit adds,
	// nil if it adds none. Send it only after the delivery service has
	// accepted the commit (then MergePendingCommit): a Welcome for a
	// commit that lost a race makes a client that is in no group.
	Welcome []byte
	// WelcomeTo lists the KeyPackageRefs of the Welcome's recipients.
	WelcomeTo [][]byte
	// GroupInfo is a signed MLSMessage(GroupInfo) of the new epoch, with
	// the ratchet tree, when Options.PublishGroupInfo is set.
	GroupInfo []byte
}

// outgoingOf returns what an operation sends: one message to the group
// (a commit or an external commit), the Welcome and the GroupInfo.
func outgoingOf(r effects.Ready) Outgoing {
	var o Outgoing
	o.Commit = sentMessage(r)
	if w := r.Send.Welcomes; len(w) > 0 {
		o.Welcome, o.WelcomeTo = w[len(w)-1].Welcome, w[len(w)-1].To
	}
	if g := r.Send.GroupInfos; len(g) > 0 {
		o.GroupInfo = g[len(g)-1].GroupInfo
	}
	return o
}

// sentMessage returns the message an operation sends to the group (a
// transition sends at most one), or nil.
func sentMessage(r effects.Ready) []byte {
	if m := r.Send.Messages; len(m) > 0 {
		return m[len(m)-1].Message
	}
	return nil
}

// run applies ev to the group and carries out its effects in the order
// of package effects: (1) the log's new snapshot or record, and (2) the
// secrets the event created, together with (5) the deletion of those it
// consumed, go into one Batch committed atomically — a crash leaves the
// group at the old state or the new one, never a mixture; then collect
// gathers the messages to return (3) and the content to deliver (4) from
// the effects grouped by phase (effects.Ready; TestReadyFieldsHandled
// lists what the shell does with each kind). The caller holds g.mu.
func (g *Group) run(ev transitions.Event, collect func(r effects.Ready)) error {
	return g.runWith(ev, nil, collect)
}

// runWith is run with extra, which adds to the operation's batch (after a
// successful Apply) what the shell keeps besides the state.
func (g *Group) runWith(ev transitions.Event, extra func(b *Batch, r effects.Ready), collect func(r effects.Ready)) error {
	if g.closed {
		return ErrClosed
	}
	in, err := g.c.input(g.st, ev, nil)
	if err != nil {
		return err
	}
	var j *sigJournal
	in.Keys, j = g.c.withJournal(in.Keys, nil)
	a, err := replay.Apply(in)
	if err != nil {
		return &replay.RecordError{Err: err} // its secrets cannot be held: nothing is written
	}
	var sigs []journalEntry
	if j != nil {
		sigs = j.entries
	}
	b := g.batch()
	defer g.keepBatch(b)
	if g.unstored != nil {
		b.ops = append(b.ops, g.unstored.ops...) // a later operation on a key wins
	}
	// A staged commit's state is recorded with the application's decision
	// on it (stagesCommit): the next operation's record puts what its own
	// state changed from the stored one, the staging's changes with it. A
	// rejected input changes nothing and leaves the staging unstored.
	staging := a.Err == nil && g.stagesCommit(ev, a)
	keepStaged := g.unstored != nil && a.Err != nil
	var done func()
	if !staging && !keepStaged {
		var lerr error
		if done, lerr = g.log.record(b, &a, sigs); lerr != nil {
			return lerr // the state did not advance
		}
	}
	if a.Err == nil {
		// Signature keys the new state no longer uses are erased with it.
		a.Secrets = append(a.Secrets, g.retiredSignatureKeys(a.State, a.Next)...)
		secretOps(b, a.Secrets)
		if extra != nil {
			extra(b, effects.Group(a.Effects))
		}
	}
	switch {
	case staging:
		g.unstored, b.ops = &Batch{ops: b.ops}, nil
	case keepStaged:
	case b.Len() == 0:
		g.unstored = nil // the stored state is the new one
	default:
		if cerr := g.c.store.Commit(ctx, b); cerr != nil {
			return &replay.RecordError{Err: cerr}
		}
		g.unstored = nil
	}
	if done != nil {
		done()
	}
	if a.Err != nil {
		return a.Err
	}
	g.st = a.Next
	if err := g.c.applyKeys(a.Secrets); err != nil {
		return err
	}
	r := effects.Group(a.Effects)
	if handsOut(r) {
		// Stored, but not known to be durable: not handed out. An own
		// commit stays pending (ClearPendingCommit drops it).
		if err := g.c.flush(); err != nil {
			return err
		}
	}
	g.noteSent(ev, r)
	if collect != nil {
		collect(r)
	}
	return nil
}

// handsOut reports whether r hands out a message of this member's that
// the group builds on: a commit, a proposal or a Welcome (an own
// application message is not one: a sender whose state went back sends
// under a fresh reuse guard). Losing one to an operating system crash
// after it was sent would leave the member behind its group — a commit
// it cannot merge, a proposal whose secrets (an Update's leaf key) are
// gone, a group others joined — so the shell flushes a Flusher first.
func handsOut(r effects.Ready) bool {
	for _, m := range r.Send.Messages {
		if m.Kind != effects.KindApplication {
			return true
		}
	}
	return len(r.Send.Welcomes) > 0
}

// stagesCommit reports whether the operation a, of event ev, staged a
// received commit in the default log (no records kept). Its state is
// not encoded nor committed then but with the group's next operation's — normally
// MergeStagedCommit or DiscardStagedCommit — or at Close: a processed
// commit writes once, not twice, and the group is stored either before
// the commit or after the application's decision on it. A crash in
// between leaves the group before the commit, whose message the
// application processes again (its key is not consumed in storage).
// With Options.KeepRecords each event's record is written as it happens.
func (g *Group) stagesCommit(ev transitions.Event, a replay.Applied) bool {
	if _, ok := ev.(transitions.Receive); !ok || g.log.keep != 0 {
		return false
	}
	_, before := a.State.StagedCommit()
	_, after := a.Next.StagedCommit()
	return after && !before
}

// storeUnstored commits the batch of a staged commit that no operation
// has committed yet (see stagesCommit). The caller holds g.mu.
func (g *Group) storeUnstored() error {
	if g.unstored == nil {
		return nil
	}
	// A copy: a failed commit leaves g.unstored as it was, for the next
	// operation to store with its own state.
	b := &Batch{ops: slices.Clone(g.unstored.ops)}
	done, err := g.log.snapshot(b, g.log.snap.Seq, g.log.snap.Prev, g.st)
	if err != nil {
		return err
	}
	if err := g.c.store.Commit(ctx, b); err != nil {
		return err
	}
	done()
	g.unstored = nil
	return nil
}

// maxKeptOps bounds the operations of the batch a Group keeps for its
// next operation: a commit's, not a first snapshot's whole tree.
const maxKeptOps = 256

// batch returns an empty Batch for an operation, with the room the
// previous one grew (a backend copies what Commit stores).
func (g *Group) batch() *Batch {
	b := &Batch{ops: g.ops[:0]}
	g.ops = nil
	return b
}

// keepBatch keeps b's room for the next operation, without references to
// its keys and values.
func (g *Group) keepBatch(b *Batch) {
	if cap(b.ops) <= maxKeptOps {
		clear(b.ops)
		g.ops = b.ops[:0]
	}
}

// ID returns the group id.
func (g *Group) ID() []byte { return bytes.Clone(g.id) }

// State returns the group's current state: an immutable value for
// inspection (state.GroupState.View, Tree, GroupContext, ...).
func (g *Group) State() state.GroupState {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.st
}

// Epoch returns the current epoch.
func (g *Group) Epoch() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if j, ok := g.st.StagedJoin(); ok {
		return j.Next.Epoch()
	}
	return g.st.Epoch()
}

// OwnLeaf returns this member's leaf index.
func (g *Group) OwnLeaf() LeafIndex {
	g.mu.Lock()
	defer g.mu.Unlock()
	if j, ok := g.st.StagedJoin(); ok {
		return j.Next.OwnLeaf()
	}
	return g.st.OwnLeaf()
}

// Active reports whether this client is a member of the group: false
// while an external join is pending, after the client was removed, and
// after a commit covering a ReInit closed the group (PendingReInit).
func (g *Group) Active() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, reinit := pendingReInit(g.st)
	return g.st.Active() && !reinit
}

// EpochAuthenticator returns the epoch authenticator of the current epoch
// (RFC 9420, Section 8.7): members who compare it out of band detect an
// attacker in the group.
func (g *Group) EpochAuthenticator() []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.st.EpochAuthenticator()
}

// Member is one member of a group.
type Member struct {
	Index         LeafIndex
	Credential    codec.Credential
	Identity      []byte // the identity of a basic credential
	SignatureKey  []byte
	EncryptionKey []byte
}

// membersOf returns the members of s. Every byte string is a copy, so that
// the caller cannot modify the leaf nodes of the state's tree.
func membersOf(s state.GroupState) []Member {
	var out []Member
	for i, ln := range s.Members() {
		out = append(out, Member{
			Index: i, Credential: cloneCredential(ln.Credential), Identity: bytes.Clone(ln.Credential.Identity),
			SignatureKey: bytes.Clone(ln.SignatureKey), EncryptionKey: bytes.Clone(ln.EncryptionKey),
		})
	}
	return out
}

// cloneCredential returns a deep copy of c.
func cloneCredential(c codec.Credential) codec.Credential {
	c.Identity = bytes.Clone(c.Identity)
	c.Data = bytes.Clone(c.Data)
	if c.Certificates != nil {
		certs := make([][]byte, len(c.Certificates))
		for i, cert := range c.Certificates {
			certs[i] = bytes.Clone(cert)
		}
		c.Certificates = certs
	}
	return c
}

// Members returns the group's members, in leaf order.
func (g *Group) Members() []Member {
	g.mu.Lock()
	defer g.mu.Unlock()
	return membersOf(g.st)
}

// PendingProposals returns copies of the proposals stored for the next
// commit, in arrival order.
func (g *Group) PendingProposals() []state.StoredProposal {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := g.st.PendingProposals()
	for i := range out {
		out[i].Ref = bytes.Clone(out[i].Ref)
		out[i].Proposal = cloneProposal(out[i].Proposal)
	}
	return out
}

// cloneProposal returns a deep copy of a stored proposal, which shares its
// byte strings with the group's state: decoding copies every one.
func cloneProposal(p codec.Proposal) codec.Proposal {
	enc, err := p.Encode()
	if err == nil {
		p, err = codec.DecodeProposal(enc)
	}
	if err != nil {
		// A stored proposal was encoded for its ProposalRef.
		panic("mls: stored proposal does not round-trip: " + err.Error())
	}
	return p
}

// HasPendingCommit reports whether this member's own commit (or external
// join) awaits MergePendingCommit or ClearPendingCommit.
func (g *Group) HasPendingCommit() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, pending := g.st.PendingCommit()
	_, joining := g.st.StagedJoin()
	return pending || joining
}

// RatchetTree returns the encoded ratchet tree (RFC 9420, Section
// 12.4.3.3), for new members when Welcomes and GroupInfos leave it out.
func (g *Group) RatchetTree() ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.st.Tree().Encode()
}

// decodeKeyPackage decodes a published key package within the client's
// limits: at most MaxMessageBytes, decoded with codec's bounds.
func decodeKeyPackage(b []byte, lim transitions.Limits) (codec.KeyPackage, error) {
	m, err := decodeBounded(b, lim)
	if err != nil {
		// Both sentinels match: ErrNotKeyPackage and the decode error.
		return codec.KeyPackage{}, fmt.Errorf("%w: %w", ErrNotKeyPackage, err)
	}
	if m.KeyPackage == nil {
		return codec.KeyPackage{}, ErrNotKeyPackage
	}
	return *m.KeyPackage, nil
}

// decodeBounded decodes an MLSMessage within the client's limits: at most
// MaxMessageBytes, decoded with codec's bounds. A bound exceeded while
// decoding is reported as the core reports it, as a *transitions.LimitError.
func decodeBounded(b []byte, lim transitions.Limits) (codec.MLSMessage, error) {
	max := lim.MaxMessageBytes
	if max == 0 {
		max = transitions.DefaultLimits().MaxMessageBytes
	}
	if uint64(len(b)) > uint64(max) {
		return codec.MLSMessage{}, &transitions.LimitError{Limit: "MaxMessageBytes", Got: uint64(len(b)), Max: uint64(max)}
	}
	m, err := codec.DecodeMLSMessageBounded(b, lim.Bounds())
	var le *codec.LimitError
	if errors.As(err, &le) {
		return codec.MLSMessage{}, &transitions.LimitError{Limit: le.Limit, Got: le.Got, Max: le.Max}
	}
	return m, err
}

func addProposal(kp []byte, lim transitions.Limits) (codec.Proposal, error) {
	k, err := decodeKeyPackage(kp, lim)
	if err != nil {
		return codec.Proposal{}, err
	}
	return codec.Proposal{ProposalType: codec.ProposalAdd, Add: &codec.Add{KeyPackage: k}}, nil
}

func removeProposal(leaf LeafIndex) codec.Proposal {
	return codec.Proposal{ProposalType: codec.ProposalRemove, Remove: &codec.Remove{Removed: leaf}}
}

// commit creates a commit of the stored proposals and inline ones.
func (g *Group) commit(inline []codec.Proposal, forcePath bool) (Outgoing, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.notPending(); err != nil {
		return Outgoing{}, err
	}
	var out Outgoing
	err := g.run(transitions.Commit{
		At: g.c.now(), Inline: inline, ForcePath: forcePath, PublishGroupInfo: g.c.opts.PublishGroupInfo,
	}, func(r effects.Ready) { out = outgoingOf(r) })
	return out, err
}

// AddMembers commits the addition of the members whose key packages
// (encoded MLSMessages, as Client.KeyPackage returns them) are given,
// together with the stored proposals. The commit is pending: send
// Outgoing.Commit to the group and, once the delivery service accepted
// it, call MergePendingCommit and send Outgoing.Welcome to the new members.
func (g *Group) AddMembers(keyPackages ...[]byte) (Outgoing, error) {
	if err := checkNonEmpty("AddMembers", len(keyPackages)); err != nil {
		return Outgoing{}, err
	}
	var props []codec.Proposal
	for _, kp := range keyPackages {
		p, err := addProposal(kp, g.c.opts.Limits)
		if err != nil {
			return Outgoing{}, err
		}
		props = append(props, p)
	}
	return g.commit(props, false)
}

// RemoveMembers commits the removal of the members at the given leaves,
// together with the stored proposals (see AddMembers for what follows).
func (g *Group) RemoveMembers(leaves ...LeafIndex) (Outgoing, error) {
	if err := checkNonEmpty("RemoveMembers", len(leaves)); err != nil {
		return Outgoing{}, err
	}
	var props []codec.Proposal
	for _, l := range leaves {
		props = append(props, removeProposal(l))
	}
	return g.commit(props, false)
}

// SelfUpdate commits a fresh leaf key for this member (a commit with a
// path), together with the stored proposals: post-compromise security.
func (g *Group) SelfUpdate() (Outgoing, error) {
	return g.commit(nil, true)
}

// CommitPendingProposals commits the stored proposals (RFC 9420, Section
// 12.4), as OpenMLS's commit_to_pending_proposals.
func (g *Group) CommitPendingProposals() (Outgoing, error) {
	return g.commit(nil, false)
}

// Commit commits the stored proposals and the inline ones, with a path if
// forcePath is set (or a proposal needs one): the general form of the
// commit methods.
func (g *Group) Commit(inline []codec.Proposal, forcePath bool) (Outgoing, error) {
	return g.commit(inline, forcePath)
}

// MergePendingCommit applies this member's pending commit once the
// delivery service accepted it: the group moves to the next epoch. For a
// Group returned by JoinExternal it completes the join.
func (g *Group) MergePendingCommit() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.st.StagedJoin(); ok {
		return g.run(transitions.AcceptJoin{At: g.c.now()}, nil)
	}
	return g.run(transitions.ConfirmCommit{At: g.c.now()}, nil)
}

// ClearPendingCommit drops this member's pending commit after the
// delivery service rejected it (another commit won the epoch). For a
// Group returned by JoinExternal it abandons the join, deletes the group
// from storage and closes it.
func (g *Group) ClearPendingCommit() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.st.StagedJoin(); ok {
		if err := g.run(transitions.RejectJoin{At: g.c.now()}, nil); err != nil {
			return err
		}
		if !g.st.InGroup() {
			g.closed = true
			g.c.forget(g)
			return g.remove()
		}
		return nil
	}
	return g.run(transitions.AbortCommit{At: g.c.now()}, nil)
}

// Propose sends a proposal by reference (RFC 9420, Section 12.1) and
// stores it for the next commit. It returns the message to send to the
// group and the proposal's ProposalRef (for DropProposal).
func (g *Group) Propose(p codec.Proposal) (message, ref []byte, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.notPending(); err != nil {
		return nil, nil, err
	}
	known := map[string]bool{}
	for _, sp := range g.st.PendingProposals() {
		known[string(sp.Ref)] = true
	}
	err = g.run(transitions.Propose{At: g.c.now(), Proposal: p}, func(r effects.Ready) {
		message = sentMessage(r)
	})
	if err != nil {
		return nil, nil, err
	}
	for _, sp := range g.st.PendingProposals() {
		if !known[string(sp.Ref)] {
			ref = sp.Ref
		}
	}
	return message, ref, nil
}

// ProposeAdd proposes adding the member whose key package is given.
func (g *Group) ProposeAdd(keyPackage []byte) (message, ref []byte, err error) {
	p, err := addProposal(keyPackage, g.c.opts.Limits)
	if err != nil {
		return nil, nil, err
	}
	return g.Propose(p)
}

// ProposeRemove proposes removing the member at leaf.
func (g *Group) ProposeRemove(leaf LeafIndex) (message, ref []byte, err error) {
	return g.Propose(removeProposal(leaf))
}

// ProposeSelfUpdate proposes a fresh leaf key for this member (an Update
// proposal; the core draws the key and signs the leaf).
func (g *Group) ProposeSelfUpdate() (message, ref []byte, err error) {
	// An empty template: the core keeps the current leaf's credential,
	// capabilities and extensions. The source must be set for the event
	// to encode in the log.
	return g.Propose(codec.Proposal{ProposalType: codec.ProposalUpdate,
		Update: &codec.Update{LeafNode: codec.LeafNode{LeafNodeSource: codec.LeafNodeSourceUpdate}}})
}

// ProposeExternalPSK proposes injecting the external PSK stored under
// psk_id id (Client.AddExternalPSK) into the next epoch's key schedule.
// Every member must hold the PSK.
func (g *Group) ProposeExternalPSK(id []byte) (message, ref []byte, err error) {
	return g.Propose(codec.Proposal{ProposalType: codec.ProposalPreSharedKey,
		PreSharedKey: &codec.PreSharedKey{PSK: keysched.ExternalPSKID(id, nil)}})
}

// ProposeGroupContextExtensions proposes replacing the group context
// extensions.
func (g *Group) ProposeGroupContextExtensions(exts codec.Extensions) (message, ref []byte, err error) {
	return g.Propose(codec.Proposal{ProposalType: codec.ProposalGroupContextExtensions,
		GroupContextExtensions: &codec.GroupContextExtensions{Extensions: exts}})
}

// ProposeCustom proposes an application-defined proposal of type typ
// (RFC 9420, Section 12.1.9; private use is 0xF000 to 0xFFFF) carrying
// data. Every member's capabilities must list typ.
func (g *Group) ProposeCustom(typ codec.ProposalType, data []byte) (message, ref []byte, err error) {
	return g.Propose(codec.Proposal{ProposalType: typ, Data: data})
}

// DropProposal removes a stored proposal by its ProposalRef, so that the
// next commit does not cover it.
func (g *Group) DropProposal(ref []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.run(transitions.DropProposal{At: g.c.now(), Ref: ref}, nil)
}

// Leave asks the group to remove this member: it returns a proposal for
// another member to commit (a member cannot commit its own removal, RFC
// 9420, Section 12.1.3). Where every member supports SelfRemove
// (draft-ietf-mls-extensions; this package advertises it by default) and
// the group accepts PublicMessage handshakes, the proposal is a SelfRemove,
// sent as a PublicMessage, which an external joiner can also cover
// (ExternalJoinOptions.SelfRemoves); otherwise it is a Remove proposal of
// the own leaf. Either way the commit that covers it removes this member.
func (g *Group) Leave() ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.notPending(); err != nil {
		return nil, err
	}
	var msg []byte
	err := g.run(leaveEvent(g.st, g.c.now()), func(r effects.Ready) { msg = sentMessage(r) })
	return msg, err
}

// Send encrypts an application message for the group (a PrivateMessage,
// RFC 9420, Section 6.3) and returns it. The key used is deleted at once,
// so the sender cannot decrypt its own message later: keep a copy of the
// plaintext if needed.
func (g *Group) Send(data []byte) ([]byte, error) {
	return g.SendWithAAD(data, nil)
}

// SendWithAAD is Send with authenticated data, which the message carries
// in the clear.
func (g *Group) SendWithAAD(data, aad []byte) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.notPending(); err != nil {
		return nil, err
	}
	var msg []byte
	err := g.run(transitions.Protect{At: g.c.now(), Data: data, AAD: aad}, func(r effects.Ready) { msg = sentMessage(r) })
	return msg, err
}

// Export returns MLS-Exporter(label, context, length) of the current
// epoch (RFC 9420, Section 8.5).
func (g *Group) Export(label string, context []byte, length int) ([]byte, error) {
	if length < 0 || uint64(length) > 1<<32-1 {
		return nil, fmt.Errorf("%w: export length %d", ErrInvalidArgument, length)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var secret []byte
	err := g.run(transitions.Export{At: g.c.now(), Label: label, Context: context, Length: uint32(length)}, func(r effects.Ready) {
		for _, x := range r.Deliver.Exported {
			secret = x.Secret
		}
	})
	return secret, err
}

// GroupInfo returns a signed GroupInfo of the current epoch (an encoded
// MLSMessage) with the external_pub extension, from which a client can
// join with JoinExternal; withTree includes the ratchet tree.
func (g *Group) GroupInfo(withTree bool) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var gi []byte
	err := g.run(transitions.PublishGroupInfo{At: g.c.now(), RatchetTree: withTree}, func(r effects.Ready) {
		gi = outgoingOf(r).GroupInfo
	})
	return gi, err
}

// Resync rejoins the group with an external commit that removes this
// member's current leaf (RFC 9420, Section 12.4.3.2), after its state was
// lost or went out of sync. Like JoinExternal, MergePendingCommit
// completes it and ClearPendingCommit returns to the previous state.
func (g *Group) Resync(groupInfo, ratchetTree []byte) (Outgoing, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out Outgoing
	err := g.run(transitions.ExternalJoin{
		At: g.c.now(), GroupInfo: groupInfo, RatchetTree: ratchetTree, SignatureKey: g.c.pub,
		Credential: g.c.cred, Capabilities: g.c.opts.Capabilities, Config: g.st.Config(), RemovePrior: true,
	}, func(r effects.Ready) { out = outgoingOf(r) })
	return out, err
}

// Close releases the Group; its state stays in storage, and
// Client.OpenGroup reopens it.
func (g *Group) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	g.c.forget(g)
	return g.storeUnstored() // a staged commit stays staged in storage
}

// Delete erases the group's log from storage and closes the Group: for a
// group this client was removed from or has left.
func (g *Group) Delete() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	g.c.forget(g)
	g.unstored = nil
	if g.log == nil {
		return errNotStarted
	}
	return g.remove()
}

// errNotStarted is Delete's error for a Group whose creation or join
// failed (a concurrent OpenGroup or DeleteGroup got it while it was
// started): nothing of it was stored.
var errNotStarted = fmt.Errorf("%w: the group's creation or join failed", ErrClosed)

// remove erases everything the group stored, in one batch.
func (g *Group) remove() error {
	var b Batch
	if err := g.log.remove(ctx, &b); err != nil {
		return err
	}
	// The group's own signature keys (LeafUpdate.NewSignatureKey) go
	// with it.
	dels := retiredKeys(g.st.SignatureKeys(), nil, g.c.pub)
	secretOps(&b, dels)
	if err := g.c.store.Commit(ctx, &b); err != nil {
		return err
	}
	return g.c.applyKeys(dels)
}
