package transitions

import (
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
)

// open reports whether the group still accepts handshake messages and new
// messages of its members: after a commit covering a ReInit it does not
// (RFC 9420, Section 11.2).
func (g *group) open() error {
	if g.pub.ReInit != nil {
		return fmt.Errorf("%w: the group was reinitialized (epoch %d)", ErrWrongState, g.epoch())
	}
	return nil
}

// checkReInit validates a ReInit proposal in a list of n proposals (RFC
// 9420, Sections 12.1.5 and 12.2): its version is at least the group's
// and it is the only proposal.
func checkReInit(r *codec.ReInit, n int) error {
	if r.Version < codec.MLS10 {
		return fmt.Errorf("%w: reinit to version %d, below the group's", ErrInvalidProposals, r.Version)
	}
	if _, err := suite.Lookup(suite.ID(r.CipherSuite)); err != nil {
		return fmt.Errorf("%w: reinit to cipher suite %d: %w", ErrInvalidProposals, r.CipherSuite, err)
	}
	if n > 1 {
		return fmt.Errorf("%w: a reinit together with %d other proposals", ErrInvalidProposals, n-1)
	}
	return nil
}

// reInitOf returns a copy of the parameters of the ReInit proposal cov
// covers (RFC 9420, Section 11.2), or nil: the new epoch's state records
// them (state.Public.ReInit).
func reInitOf(cov covered) *codec.ReInit {
	for _, e := range cov.entries {
		if e.p.ProposalType == codec.ProposalReInit {
			r := *e.p.ReInit
			return &r
		}
	}
	return nil
}

func pskProposal(id codec.PreSharedKeyID) codec.Proposal {
	return codec.Proposal{ProposalType: codec.ProposalPreSharedKey, PreSharedKey: &codec.PreSharedKey{PSK: id}}
}

// ReInitGroupFor returns the ReInitGroup event that recreates the closed
// group old (the state after merging the commit covering a ReInit) with
// the creator and members described by ng (RFC 9420, Section 11.2).
//
// [RFC 9420, Section 11.2]: https://www.rfc-editor.org/rfc/rfc9420#section-11.2
func ReInitGroupFor(old state.GroupState, at uint64, ng NewGroup) (ReInitGroup, error) {
	r := old.Public().ReInit
	if r == nil {
		return ReInitGroup{}, fmt.Errorf("%w: no reinit was committed", ErrWrongState)
	}
	ri := *r
	return ReInitGroup{At: at, OldGroupID: old.GroupID(), OldEpoch: old.Epoch(), ReInit: ri, NewGroup: ng}, nil
}

// reInitGroup creates the group replacing a reinitialized one (RFC 9420,
// Section 11.2).
func reInitGroup(s state.GroupState, e ReInitGroup, env Env) (state.GroupState, []effects.Effect, error) {
	if e.ReInit.Version != codec.MLS10 {
		return s, nil, fmt.Errorf("%w: reinit to version %d", ErrUnsupported, e.ReInit.Version)
	}
	return createResumed(s, e.At, suite.ID(e.ReInit.CipherSuite), e.ReInit.GroupID, e.ReInit.Extensions, e.NewGroup,
		codec.ResumptionPSKUsageReInit, e.OldGroupID, e.OldEpoch, env)
}

// branchGroup creates a subgroup (RFC 9420, Section 11.3).
func branchGroup(s state.GroupState, e BranchGroup, env Env) (state.GroupState, []effects.Effect, error) {
	return createResumed(s, e.At, e.Suite, e.GroupID, e.GroupContextExtensions, e.NewGroup,
		codec.ResumptionPSKUsageBranch, e.OldGroupID, e.OldEpoch, env)
}

// createResumed creates a group at epoch 0 and commits its first epoch:
// the members' Adds and the resumption PSK of the old group with usage
// reinit or branch, then a Welcome (RFC 9420, Sections 11.2 and 11.3).
func createResumed(s state.GroupState, at uint64, cs suite.ID, gid []byte, exts codec.Extensions, ng NewGroup,
	usage codec.ResumptionPSKUsage, oldGID []byte, oldEpoch uint64, env Env) (state.GroupState, []effects.Effect, error) {
	if len(ng.KeyPackages) == 0 {
		return s, nil, fmt.Errorf("%w: a new group needs members", ErrInvalidProposals)
	}
	s0, _, err := createGroup(s, CreateGroup{At: at, Suite: cs, GroupID: gid, SignatureKey: ng.SignatureKey, Credential: ng.Credential,
		Capabilities: ng.Capabilities, Lifetime: ng.Lifetime, LeafExtensions: ng.LeafExtensions, GroupContextExtensions: exts, Config: ng.Config}, env)
	if err != nil {
		return s, nil, err
	}
	suiteImpl := s0.Suite()
	// The resumption PSK must be known before the new group exists; the
	// key schedule reads it from Env.Keys (ResumptionPSKID).
	id := keysched.ResumptionPSKID(usage, oldGID, oldEpoch, env.Entropy.Draw(entropy.PSKNonce, suiteImpl.HashLen()))
	old, err := foreignResumptionOf(id, env)
	if err != nil {
		return s, nil, err
	}
	adds := make([]codec.Proposal, len(ng.KeyPackages))
	for i := range ng.KeyPackages {
		adds[i] = codec.Proposal{ProposalType: codec.ProposalAdd, Add: &codec.Add{KeyPackage: ng.KeyPackages[i]}}
	}
	s1, effs, err := commitWith(s0, Commit{At: at, Inline: adds, ForcePath: ng.ForcePath, RatchetTree: ng.RatchetTree}, []codec.PreSharedKeyID{id}, env)
	if err != nil {
		return s, nil, err
	}
	s2, effs2, err := confirmCommit(s1, ConfirmCommit{At: at}, env)
	if err != nil {
		return s, nil, err
	}
	// The founder checks what every joiner will (RFC 9420, Sections 11.2
	// and 11.3), so that it never sends a Welcome they must reject.
	if err := checkResumed(id, old, s2.GroupContext(), s2.Tree(), env); err != nil {
		return s, nil, err
	}
	var out []effects.Effect
	for _, ef := range effs {
		// Nobody is in the group at epoch 0 to receive the commit.
		if _, ok := ef.(effects.SendToGroup); !ok {
			out = append(out, ef)
		}
	}
	return s2, append(out, effs2...), nil
}
