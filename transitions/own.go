package transitions

import (
	"errors"
	"fmt"

	"github.com/mlscore/mlscore/treemath"
)

// ErrOwnMessage reports a received message that this member sent itself:
// a delivery service that echoes messages back to their sender hands each
// member its own proposals, commits and application messages. The message
// is rejected and the state unchanged. An own commit is applied with
// ConfirmCommit (Group.MergePendingCommit in package mls) once the delivery
// service accepted it, not by receiving it.
var ErrOwnMessage = errors.New("mls: own message echoed back")

// ownMessageError is an ErrOwnMessage naming the sender's leaf. It also
// matches ErrWrongState, which earlier versions returned for own messages,
// so that the outcomes recorded in existing logs replay unchanged.
type ownMessageError struct{ leaf treemath.LeafIndex }

func (e ownMessageError) Error() string {
	return fmt.Sprintf("%v: sent by this member (leaf %d)", ErrOwnMessage, e.leaf)
}

// Is matches ErrOwnMessage and ErrWrongState.
func (e ownMessageError) Is(target error) bool {
	return target == ErrOwnMessage || target == ErrWrongState
}
