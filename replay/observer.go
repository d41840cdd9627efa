package replay

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/treemath"
)

// Observer follows the public part of one member's group state from the
// inputs its log records, holding no secret: the state machine of an
// observer or delivery service (RFC 9420, Section 6.2; openmls PublicGroup,
// mls-rs ExternalGroup), seen through one member's log. It is a value; Step
// returns a new one.
//
// It re-derives exactly what public content determines: a received
// PublicMessage proposal enters the proposal store under its ProposalRef;
// a received PublicMessage commit by a member, once the member merges it,
// gives the next epoch's tree (the covered Update, Remove and Add
// proposals and the UpdatePath applied, parent hashes checked), its tree
// hash, GroupContext (epoch, GroupContextExtensions), confirmed and interim
// transcript hashes, confirmation tag, census and active flag. It checks
// the signatures of those messages against the sender's leaf in its tree.
// It cannot check membership tags or confirmation tags (their keys are
// secret), nor follow PrivateMessage handshakes, the member's own
// proposals and commits (their messages are effects, not inputs), Welcome
// joins (the GroupInfo is encrypted), external commits, ReInit or PSK
// proposals: for those its prediction is "no public change", and a log
// carries a checkpoint wherever the member's public state differs from it.
type Observer struct {
	pub    state.Public
	self   treemath.LeafIndex
	staged *state.Public // the next public state of a received, staged PublicMessage commit
}

// NewObserver returns an observer starting from a public state and the
// member's own leaf (state.DecodePublic's results).
func NewObserver(pub state.Public, self treemath.LeafIndex) Observer {
	return Observer{pub: pub, self: self}
}

// Public returns a deep copy of the observed public state.
func (o Observer) Public() state.Public { return o.pub.Clone() }

// Digest returns the digest of the observed public state
// (state.Public.Digest).
func (o Observer) Digest() [32]byte { return o.pub.Digest() }

// errNotFollowed reports input the observer cannot follow.
var errNotFollowed = errors.New("mls: not followable by an observer")

// Step applies one recorded input with its recorded outcome. followed
// reports that the observer derived a public change from public content
// (a proposal stored, a commit staged or merged); otherwise its
// prediction is that the public state did not change. An error reports
// public content that contradicts the observed state (a signature that
// does not verify, a proposal reference that does not resolve, a path
// that does not merge): a log with such a record is not consistent.
func (o Observer) Step(ev transitions.Event, out Outcome) (next Observer, followed bool, err error) {
	if out.Class != OK || o.pub.Suite == nil {
		return o, false, nil
	}
	switch e := ev.(type) {
	case transitions.Receive:
		m, err := codec.DecodeMLSMessage(e.Message)
		if err != nil || m.WireFormat != codec.WireFormatPublicMessage || m.PublicMessage == nil {
			return o, false, nil
		}
		pm := m.PublicMessage
		if pm.Content.Sender.SenderType != codec.SenderTypeMember || pm.Content.Epoch != o.pub.Context.Epoch {
			return o, false, nil
		}
		ac := codec.AuthenticatedContent{WireFormat: codec.WireFormatPublicMessage, Content: pm.Content, Auth: pm.Auth}
		ln, ok := o.pub.Tree.Leaf(pm.Content.Sender.LeafIndex)
		if !ok {
			return o, false, fmt.Errorf("mls: observer: sender leaf %d is blank", pm.Content.Sender.LeafIndex)
		}
		if err := keysched.VerifySignature(o.pub.Suite, ln.SignatureKey, ac, &o.pub.Context); err != nil {
			return o, false, fmt.Errorf("mls: observer: %w", err)
		}
		switch pm.Content.ContentType {
		case codec.ContentTypeProposal:
			b, err := ac.Encode()
			if err != nil {
				return o, false, err
			}
			sp := state.StoredProposal{Ref: o.pub.Suite.RefHash("MLS 1.0 Proposal Reference", b), Proposal: *pm.Content.Proposal, Sender: pm.Content.Sender}
			o.pub.Proposals = append(slices.Clip(o.pub.Proposals), sp)
			return o, true, nil
		case codec.ContentTypeCommit:
			nextPub, err := o.commit(ac)
			if errors.Is(err, errNotFollowed) {
				return o, false, nil
			}
			if err != nil {
				return o, false, fmt.Errorf("mls: observer: %w", err)
			}
			o.staged = &nextPub
			return o, true, nil
		}
		return o, false, nil
	case transitions.MergeStaged:
		if o.staged == nil {
			return o, false, nil
		}
		o.pub, o.staged = *o.staged, nil
		return o, true, nil
	case transitions.DiscardStaged:
		o.staged = nil
		return o, false, nil
	}
	return o, false, nil
}

// commit derives the public state after a member's PublicMessage commit
// (RFC 9420, Sections 12.3 and 12.4.2), without secrets.
func (o Observer) commit(ac codec.AuthenticatedContent) (state.Public, error) {
	p := o.pub
	c := ac.Content.Commit
	committer := ac.Content.Sender.LeafIndex
	var props []state.StoredProposal
	for i, por := range c.Proposals {
		if por.Type == codec.ProposalOrRefReference {
			j := slices.IndexFunc(p.Proposals, func(sp state.StoredProposal) bool { return bytes.Equal(sp.Ref, por.Reference) })
			if j < 0 {
				return p, fmt.Errorf("proposal %d references unknown proposal %x", i, por.Reference)
			}
			props = append(props, p.Proposals[j])
		} else {
			props = append(props, state.StoredProposal{Proposal: *por.Proposal, Sender: ac.Content.Sender})
		}
	}
	exts := p.Context.Extensions
	for _, sp := range props {
		switch sp.Proposal.ProposalType {
		case codec.ProposalAdd, codec.ProposalUpdate, codec.ProposalRemove:
		case codec.ProposalGroupContextExtensions:
			exts = sp.Proposal.GroupContextExtensions.Extensions
		default:
			// PSK, ReInit, ExternalInit and custom proposals change what
			// the observer cannot see (the key schedule) or need rules it
			// does not apply.
			return p, errNotFollowed
		}
	}
	t := p.Tree
	var err error
	selfRemoved := false
	for _, typ := range []codec.ProposalType{codec.ProposalUpdate, codec.ProposalRemove, codec.ProposalAdd} {
		for _, sp := range props {
			if sp.Proposal.ProposalType != typ {
				continue
			}
			switch typ {
			case codec.ProposalUpdate:
				t, err = t.Update(sp.Sender.LeafIndex, &sp.Proposal.Update.LeafNode)
			case codec.ProposalRemove:
				selfRemoved = selfRemoved || sp.Proposal.Remove.Removed == o.self
				t, err = t.Remove(sp.Proposal.Remove.Removed)
			case codec.ProposalAdd:
				t, _, err = t.Add(&sp.Proposal.Add.KeyPackage.LeafNode)
			}
			if err != nil {
				return p, err
			}
		}
	}
	if c.Path != nil {
		if t, err = t.MergePath(committer, c.Path); err != nil {
			return p, err
		}
	}
	if selfRemoved {
		// The member keeps the current epoch, inactive (it cannot derive
		// the next one).
		p.Active, p.Proposals = false, nil
		return p, nil
	}
	confirmed, err := keysched.ConfirmedTranscriptHashOf(p.Suite, p.Interim, ac)
	if err != nil {
		return p, err
	}
	interim, err := keysched.InterimTranscriptHash(p.Suite, confirmed, ac.Auth.ConfirmationTag)
	if err != nil {
		return p, err
	}
	ctx := p.Context
	ctx.Epoch++
	ctx.TreeHash = t.Hash()
	ctx.ConfirmedTranscriptHash = confirmed
	ctx.Extensions = exts
	return state.Public{Suite: p.Suite, Context: ctx, Tree: t, Interim: interim, ConfirmationTag: ac.Auth.ConfirmationTag,
		Config: p.Config, Active: true, Census: state.CensusOf(t)}, nil
}
