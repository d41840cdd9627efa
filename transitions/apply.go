package transitions

import (
	"fmt"

	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
)

// Apply is the state machine's single entry point: it returns the state
// after ev and the effects the caller must carry out, sorted by phase
// (effects.Sort). It is pure and deterministic: the result depends only on
// its arguments, it does no I/O, reads no clock and draws every random byte
// from env.Entropy. It never modifies s; on error it returns s itself and
// no effects, so nothing is ever half-applied.
//
// Errors are *valsem.Error values for validation rules (errors.Is(err,
// valsem.ValSemNNN)), *codec.DecodeError for malformed bytes, *PolicyError,
// *LimitError, or one of this package's sentinel errors.
func Apply(s state.GroupState, ev Event, env Env) (state.GroupState, []effects.Effect, error) {
	if env.Entropy == nil {
		return s, nil, ErrNoEntropy
	}
	if env.Keys == nil {
		env.Keys = KeyStore{}
	}
	env.Limits = env.Limits.withDefaults()
	if ev != nil {
		if err := admit(s, ev); err != nil {
			return s, nil, err
		}
	}
	next, effs, err := dispatch(s, ev, env)
	if err != nil {
		return s, nil, err
	}
	// The past-epoch window's age bound, measured with the event's time.
	next, expired, err := expirePastEpochs(next, ev.Time())
	if err != nil {
		return s, nil, err
	}
	return next, effects.Sort(append(effs, expired...)), nil
}

func dispatch(s state.GroupState, ev Event, env Env) (state.GroupState, []effects.Effect, error) {
	switch e := ev.(type) {
	case NewSignatureKey:
		return newSignatureKey(s, e, env)
	case NewKeyPackage:
		return newKeyPackage(s, e, env)
	case CreateGroup:
		return createGroup(s, e, env)
	case Propose:
		return propose(s, e, env)
	case Leave:
		return leave(s, e, env)
	case Commit:
		return commit(s, e, env)
	case ConfirmCommit:
		return confirmCommit(s, e, env)
	case AbortCommit:
		return abortCommit(s, e, env)
	case Receive:
		return receive(s, e, env)
	case MergeStaged:
		return mergeStaged(s, e, env)
	case DiscardStaged:
		return discardStaged(s, e, env)
	case DropProposal:
		return dropProposal(s, e, env)
	case Protect:
		return protect(s, e, env)
	case Export:
		return export(s, e, env)
	case JoinWelcome:
		return joinWelcome(s, e, env)
	case AcceptJoin:
		return acceptJoin(s, e, env)
	case RejectJoin:
		return rejectJoin(s, e, env)
	case PublishGroupInfo:
		return publishGroupInfo(s, e, env)
	case ExternalJoin:
		return externalJoin(s, e, env)
	case ProposeAsNewMember:
		return proposeAsNewMember(s, e, env)
	case ExternalPropose:
		return externalPropose(s, e, env)
	case ReInitGroup:
		return reInitGroup(s, e, env)
	case BranchGroup:
		return branchGroup(s, e, env)
	case ExpirePastEpochs:
		return expirePast(s, e, env)
	case nil:
		return s, nil, fmt.Errorf("%w: nil event", ErrWrongState)
	}
	return s, nil, fmt.Errorf("%w: unknown event %T", ErrWrongState, ev)
}
