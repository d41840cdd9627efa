package transitions

import (
	"fmt"
	"strings"

	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/state"
)

// stage is a set of lifecycle stages. A client's state is in exactly one of
// the base stages (none, joining, active, closed, inactive); an in-group
// state may add the pending and staged flags (a member can hold its own
// pending commit and a received staged one at once).
type stage uint16

// The lifecycle stages.
const (
	// stageNone: no group (the zero state).
	stageNone stage = 1 << iota
	// stageJoining: a Welcome or external join is staged, awaiting
	// AcceptJoin or RejectJoin.
	stageJoining
	// stageActive: a member of an open group.
	stageActive
	// stageClosed: a member of a group a committed ReInit closed (RFC
	// 9420, Section 11.2): it reads messages but sends no handshake.
	stageClosed
	// stageInactive: removed from the group; the state stays readable.
	stageInactive
	// stagePending: this member's own commit awaits ConfirmCommit or
	// AbortCommit.
	stagePending
	// stageStaged: a received commit awaits MergeStaged or DiscardStaged.
	stageStaged
)

const (
	stagesInGroup = stageActive | stageClosed | stageInactive
	stagesAny     = stageNone | stageJoining | stagesInGroup
)

// String names the stages of s, joined by "+".
func (s stage) String() string {
	var names []string
	for b := stageNone; b <= stageStaged; b <<= 1 {
		if s&b == 0 {
			continue
		}
		switch b {
		case stageNone:
			names = append(names, "none")
		case stageJoining:
			names = append(names, "joining")
		case stageActive:
			names = append(names, "active")
		case stageClosed:
			names = append(names, "closed")
		case stageInactive:
			names = append(names, "inactive")
		case stagePending:
			names = append(names, "pending commit")
		case stageStaged:
			names = append(names, "staged commit")
		}
	}
	return strings.Join(names, "+")
}

// stageOf returns the lifecycle stage of s: one base stage, plus the
// pending and staged flags of a member.
func stageOf(s state.GroupState) stage {
	if !s.InGroup() {
		if _, ok := s.StagedJoin(); ok {
			return stageJoining
		}
		return stageNone
	}
	pub, priv := s.Shared(core.K())
	var st stage
	switch {
	case !pub.Active:
		st = stageInactive
	case pub.ReInit != nil:
		st = stageClosed
	default:
		st = stageActive
	}
	if priv.Pending != nil {
		st |= stagePending
	}
	if priv.Staged != nil {
		st |= stageStaged
	}
	return st
}

// admission says in which stages an event is admitted: the base stage must
// be one of in, every flag of need must be set and no flag of forbid.
type admission struct {
	in, need, forbid stage
}

// admits is the lifecycle table: which stages admit each event. Apply
// consults it before any handler runs, so a handler never sees an event its
// state does not admit. Rules that depend on an event's content (a removed
// member reads application messages but no handshake) stay with the
// handler.
func admits(t eventTag) admission {
	switch t {
	case tagNewSignatureKey, tagNewKeyPackage, tagProposeAsNewMember, tagExternalPropose:
		// Client-level events: they do not touch the group state.
		return admission{in: stagesAny}
	case tagCreateGroup, tagJoinWelcome, tagReInitGroup, tagBranchGroup:
		return admission{in: stageNone}
	case tagAcceptJoin, tagRejectJoin:
		return admission{in: stageJoining}
	case tagExternalJoin:
		// From no group, or from a member's state to rejoin (resync).
		return admission{in: stageNone | stagesInGroup}
	case tagPropose, tagLeave, tagProtect, tagPublishGroupInfo:
		return admission{in: stageActive}
	case tagCommit:
		return admission{in: stageActive, forbid: stagePending}
	case tagConfirmCommit, tagAbortCommit:
		return admission{in: stagesInGroup, need: stagePending}
	case tagMergeStaged, tagDiscardStaged:
		return admission{in: stagesInGroup, need: stageStaged}
	case tagReceive, tagDropProposal, tagExport, tagExpirePastEpochs:
		return admission{in: stagesInGroup}
	}
	return admission{}
}

// admit checks ev against the lifecycle table.
func admit(s state.GroupState, ev Event) error {
	st := stageOf(s)
	a := admits(ev.tag())
	if st&a.in == 0 || st&a.need != a.need || st&a.forbid != 0 {
		return fmt.Errorf("%w: %s in stage %s", ErrWrongState, Name(ev), st)
	}
	return nil
}
