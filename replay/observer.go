package replay

import (
	"errors"
	"fmt"
	"slices"

	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/treemath"
)

// Observer follows the public part of one member's group state from the
// inputs its log records, holding no secret: the state machine of an
// observer or delivery service, seen through one member's log. It runs the
// received PublicMessages through transitions.PublicGroup — the public mode
// of the member's own commit-receiving pipeline — so it derives and checks
// exactly what the member's public state gets from public content. It is a
// value; Step returns a new one.
//
// A received PublicMessage proposal (from a member, an external sender or
// a new member) is validated and enters the proposal store under its
// ProposalRef. A received PublicMessage commit (a member's, or an external
// commit) is validated — signature, proposal rules, leaf nodes, UpdatePath
// and parent hashes, with the typed errors a member gives — and, once the
// member merges it, gives the next epoch's tree, tree hash, GroupContext,
// confirmed and interim transcript hashes, confirmation tag, census, ReInit
// parameters and active flag (a commit removing the member leaves it at
// the current epoch, inactive). It cannot check membership tags or
// confirmation tags (their keys are secret), nor follow PrivateMessage
// handshakes, the member's own proposals and commits (their messages are
// effects, not inputs) or Welcome joins (the GroupInfo is encrypted): for
// those its prediction is "no public change", and a log carries a
// checkpoint wherever the member's public state differs from it.
type Observer struct {
	pub    state.Public
	self   treemath.LeafIndex
	staged *state.Public // the next public state of a received, staged PublicMessage commit
}

// NewObserver returns an observer starting from a public state and the
// member's own leaf (state.DecodePublic's results).
func NewObserver(pub state.Public, self treemath.LeafIndex) Observer {
	return Observer{pub: pub.Clone(), self: self}
}

// Public returns a deep copy of the observed public state.
func (o Observer) Public() state.Public { return o.pub.Clone() }

// Digest returns the digest of the observed public state
// (state.Public.Digest).
func (o Observer) Digest() [32]byte { return o.pub.Digest() }

// Step applies one recorded input with its recorded outcome. followed
// reports that the observer derived a public change from public content
// (a proposal stored, a commit staged or merged); otherwise its
// prediction is that the public state did not change. An error reports
// public content that the public group rejects although the member
// accepted it (a signature that does not verify, a proposal that breaks a
// rule, a path that does not merge): a log with such a record is not
// consistent. The checks run with the default Policy and Limits, at the
// event's time.
func (o Observer) Step(ev transitions.Event, out Outcome) (next Observer, followed bool, err error) {
	if out.Class != OK || o.pub.Suite == nil || !o.pub.Active {
		return o, false, nil
	}
	switch e := ev.(type) {
	case transitions.Receive:
		pg, err := transitions.PublicGroupAt(o.pub)
		if err != nil {
			return o, false, fmt.Errorf("mls: observer: %w", err)
		}
		pgNext, res, err := pg.Process(e.Message, e.At, transitions.Env{})
		if errors.Is(err, transitions.ErrNeedsSecrets) {
			return o, false, nil // a PrivateMessage
		}
		if err != nil {
			return o, false, fmt.Errorf("mls: observer: %w", err)
		}
		if res.Commit == nil {
			o.pub = pgNext.Public()
			return o, true, nil
		}
		nextPub := pgNext.Public()
		if slices.Contains(res.Commit.Removed, o.self) {
			// The member keeps the current epoch, inactive (it cannot
			// derive the next one).
			nextPub = o.pub.Clone()
			nextPub.Active, nextPub.Proposals = false, nil
		}
		o.staged = &nextPub
		return o, true, nil
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
