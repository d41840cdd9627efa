package transitions

import (
	"fmt"
	"slices"

	"github.com/mlscore/mlscore/state"
)

// selectStored resolves the policy's selection against the proposal store:
// each selected proposal must be stored, at most once, and the commit
// covers the stored value (by its reference), in the selection's order. A
// selection that names anything else is the application's error
// (ErrInvalidProposals), reported before anything is sent.
func selectStored(store, sel []state.StoredProposal) ([]state.StoredProposal, error) {
	out := make([]state.StoredProposal, 0, len(sel))
	for _, sp := range sel {
		i := slices.IndexFunc(store, func(q state.StoredProposal) bool { return equalBytes(q.Ref, sp.Ref) })
		if i < 0 {
			return nil, fmt.Errorf("%w: the policy selected proposal %x, which is not stored", ErrInvalidProposals, prefix(sp.Ref))
		}
		if slices.ContainsFunc(out, func(q state.StoredProposal) bool { return equalBytes(q.Ref, sp.Ref) }) {
			return nil, fmt.Errorf("%w: the policy selected proposal %x twice", ErrInvalidProposals, prefix(sp.Ref))
		}
		out = append(out, store[i])
	}
	return out, nil
}
