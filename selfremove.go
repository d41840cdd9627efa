package mls

import (
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
)

// withSelfRemove returns caps with the SelfRemove proposal type
// (draft-ietf-mls-extensions, 0x000A) in its proposal list: every client
// of this package can process and commit SelfRemove proposals, so its key
// packages and leaves advertise it unless the list already holds it.
func withSelfRemove(caps codec.Capabilities) codec.Capabilities {
	if slices.Contains(caps.Proposals, codec.ProposalSelfRemove) {
		return caps
	}
	caps.Proposals = append(slices.Clone(caps.Proposals), codec.ProposalSelfRemove)
	return caps
}

// selfRemoveCapable reports whether Leave may use a SelfRemove proposal in
// the group of s: every member lists SelfRemove in its capabilities (the
// draft's "self-remove-capable group"), and this member accepts handshake
// messages as PublicMessage, the framing a SelfRemove must use. The group's
// wire format policy is the application's, set alike for every member;
// under PureCiphertext (the default) members reject a PublicMessage, so
// Leave falls back to a Remove proposal.
func selfRemoveCapable(s state.GroupState) bool {
	if !s.Config().WireFormat.AcceptsPublic() {
		return false
	}
	for _, ln := range s.Members() {
		if !slices.Contains(ln.Capabilities.Proposals, codec.ProposalSelfRemove) {
			return false
		}
	}
	return true
}

// leaveEvent is the event Leave runs: a SelfRemove proposal where the group
// allows it, else a Remove proposal of the own leaf.
func leaveEvent(s state.GroupState, at uint64) transitions.Event {
	if selfRemoveCapable(s) {
		return transitions.Propose{At: at, Proposal: codec.Proposal{ProposalType: codec.ProposalSelfRemove}}
	}
	return transitions.Leave{At: at}
}
