package transitions

import (
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
)

type result = struct{}

func notYet(s state.GroupState) (state.GroupState, []effects.Effect, error) {
	return s, nil, ErrUnsupported
}

func newSignatureKey(s state.GroupState, e NewSignatureKey, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
func newKeyPackage(s state.GroupState, e NewKeyPackage, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
func createGroup(s state.GroupState, e CreateGroup, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
func propose(s state.GroupState, e Propose, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
func leave(s state.GroupState, e Leave, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
func commit(s state.GroupState, e Commit, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
func confirmCommit(s state.GroupState, e ConfirmCommit, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
func abortCommit(s state.GroupState, e AbortCommit, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
func receive(s state.GroupState, e Receive, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
func mergeStaged(s state.GroupState, e MergeStaged, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
func discardStaged(s state.GroupState, e DiscardStaged, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
func dropProposal(s state.GroupState, e DropProposal, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
func protect(s state.GroupState, e Protect, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
func export(s state.GroupState, e Export, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
func joinWelcome(s state.GroupState, e JoinWelcome, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
func acceptJoin(s state.GroupState, e AcceptJoin, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
func rejectJoin(s state.GroupState, e RejectJoin, env Env) (state.GroupState, []effects.Effect, error) {
	return notYet(s)
}
