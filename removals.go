package mls

import (
	"github.com/mlscore/mlscore/codec"
)

// RemovalKind says who left or was removed by a commit, from this
// member's point of view (OpenMLS's RemoveOperation).
type RemovalKind uint8

// The kinds of removal.
const (
	// WeLeft: this member asked to leave (its own Remove or SelfRemove
	// proposal) and another member committed it.
	WeLeft RemovalKind = iota + 1
	// WeWereRemoved: another member (or an external sender) removed this
	// member.
	WeWereRemoved
	// TheyLeft: another member asked to leave and the commit removes it.
	TheyLeft
	// TheyWereRemoved: another member is removed by someone else.
	TheyWereRemoved
)

// String returns the kind's name.
func (k RemovalKind) String() string {
	switch k {
	case WeLeft:
		return "we left"
	case WeWereRemoved:
		return "we were removed"
	case TheyLeft:
		return "they left"
	case TheyWereRemoved:
		return "they were removed"
	}
	return "unknown removal"
}

// Removal is one leaf a staged commit removes, interpreted.
type Removal struct {
	Kind RemovalKind
	// Leaf is the removed member's leaf (in the epoch before the commit).
	Leaf LeafIndex
	// By is who asked for the removal: the proposal's sender (for an inline
	// proposal, the committer).
	By codec.Sender
}

// Removals interprets the Remove and SelfRemove proposals the commit
// covers, in order: whether this member left, was removed and by whom, or
// another member left or was removed by whom.
func (c *StagedCommit) Removals() []Removal {
	var out []Removal
	for _, sp := range c.Proposals {
		by := sp.Sender
		var leaf LeafIndex
		switch sp.Proposal.ProposalType {
		case codec.ProposalRemove:
			leaf = sp.Proposal.Remove.Removed
		case codec.ProposalSelfRemove:
			leaf = by.LeafIndex
		default:
			continue
		}
		byLeaver := by.SenderType == codec.SenderTypeMember && by.LeafIndex == leaf
		var k RemovalKind
		switch {
		case leaf == c.self && byLeaver:
			k = WeLeft
		case leaf == c.self:
			k = WeWereRemoved
		case byLeaver:
			k = TheyLeft
		default:
			k = TheyWereRemoved
		}
		out = append(out, Removal{Kind: k, Leaf: leaf, By: by})
	}
	return out
}
