package mls

import (
	"errors"
	"fmt"

	"github.com/mlscore/mlscore/transitions"
)

// Errors of the shell's safety rules.
var (
	// ErrOwnMessage reports a message this member sent that the delivery
	// service echoed back to it (ProcessMessage). Nothing changed: an own
	// commit takes effect with MergePendingCommit, an own proposal is
	// already stored, an own application message needs no decryption. It
	// is the core's transitions.ErrOwnMessage.
	ErrOwnMessage = transitions.ErrOwnMessage
	// ErrCommitPending reports an operation refused because this member's
	// own commit is pending: resolve it first with MergePendingCommit (the
	// delivery service accepted it) or ClearPendingCommit (it did not).
	ErrCommitPending = errors.New("mls: this member's commit is pending")
	// ErrNothingToCommit reports AddMembers or RemoveMembers called with no
	// key package or leaf: no commit is made.
	ErrNothingToCommit = errors.New("mls: nothing to add or remove")
	// ErrInvalidArgument reports an argument or option outside its range
	// (a negative KeyPackageOptions.Lifetime, an Options.KeepRecords
	// below KeepAllRecords, an export length outside 0 to 2^32-1).
	ErrInvalidArgument = errors.New("mls: invalid argument")
)

// notPending enforces the rule for sending while this member's commit is
// pending: nothing is sent — no application message, proposal or other
// commit — until MergePendingCommit or ClearPendingCommit. A message of the
// old epoch sent after the commit could not be read by members that
// already moved on unless they keep past epochs, and proposals of the old
// epoch are discarded by the commit; OpenMLS refuses the same operations
// with MlsGroupStateError::PendingCommit. The rule covers every commit
// HasPendingCommit reports: an own commit of the group's epoch, and an
// external commit (JoinExternal, Resync) awaiting MergePendingCommit or
// ClearPendingCommit. The caller holds g.mu.
func (g *Group) notPending() error {
	if _, ok := g.st.PendingCommit(); ok {
		return ErrCommitPending
	}
	if _, ok := g.st.StagedJoin(); ok {
		return fmt.Errorf("%w: an external commit (JoinExternal or Resync)", ErrCommitPending)
	}
	return nil
}

// checkNonEmpty refuses an AddMembers or RemoveMembers without members.
func checkNonEmpty(op string, n int) error {
	if n == 0 {
		return fmt.Errorf("%w: %s without members", ErrNothingToCommit, op)
	}
	return nil
}
