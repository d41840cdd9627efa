package mls

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
)

// Errors of the shell's safety rules.
var (
	// ErrOwnMessage reports a message this member sent that the delivery
	// service echoed back to it (ProcessMessage). Nothing changed: an own
	// commit takes effect with MergePendingCommit, an own proposal is
	// already stored, an own application message needs no decryption. It
	// is the core's transitions.ErrOwnMessage.
	//
	// It is reported for an echo of the group's epoch (the core tells
	// the sender by its leaf), for the external commit of a pending
	// JoinExternal or Resync (told by its new leaf, also after the group
	// was reopened), and for an exact echo of one of the last 16
	// handshake messages (commits, proposals, Leave) the Group sent: an
	// own commit echoed after MergePendingCommit, an own proposal echoed
	// after another commit moved the group on. Those are remembered by
	// their SHA-256 in memory only: after OpenGroup an echo of an
	// earlier epoch fails as any message of a past epoch (ValSem003).
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
	// below KeepAllRecords, an export length outside 0 to 2^32-1, a
	// state.Config outside its limits — the error also matches
	// state.ErrInvalidConfig or valsem.ValSem400 —, a group id longer
	// than the 956 bytes the shell stores, a storage key or value outside
	// the limits of Storage, a batch over DirStorage's operation limit,
	// a key SealedStorage reserves).
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

// checkConfig refuses a configuration outside its ranges (state.Config.Check)
// with an error matching ErrInvalidArgument and the cause
// (state.ErrInvalidConfig, or valsem.ValSem400 for ResumptionPSKs).
func checkConfig(what string, cfg state.Config) error {
	if err := cfg.Check(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidArgument, what, err)
	}
	return nil
}

// checkGroupID refuses a group id longer than the shell stores
// (maxGroupID bytes) with ErrInvalidArgument.
func checkGroupID(what string, id []byte) error {
	if len(id) > maxGroupID {
		return fmt.Errorf("%w: %s of %d bytes, the shell stores at most %d", ErrInvalidArgument, what, len(id), maxGroupID)
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

// ownEchoError is an ErrOwnMessage the shell recognised (ownEcho). Like
// the core's, it also matches transitions.ErrWrongState, which earlier
// versions returned for own messages.
type ownEchoError struct{ what string }

func (e ownEchoError) Error() string { return fmt.Sprintf("%v: %s", ErrOwnMessage, e.what) }

// Is matches ErrOwnMessage and transitions.ErrWrongState.
func (e ownEchoError) Is(target error) bool {
	return target == ErrOwnMessage || target == transitions.ErrWrongState
}

// maxSentHashes bounds the handshake messages a Group remembers having
// sent (sentHashes).
const maxSentHashes = 16

// sentHashes remembers the SHA-256 (and length) of the last
// maxSentHashes handshake messages a Group sent, in memory: an exact echo
// of one is an own message even once the group moved past its epoch. A
// received message is hashed only if its length is one of theirs.
type sentHashes struct {
	h   [maxSentHashes][sha256.Size]byte
	len [maxSentHashes]int
	n   int // messages noted, the next goes to h[n%maxSentHashes]
}

func (s *sentHashes) note(msg []byte) {
	if len(msg) == 0 {
		return
	}
	s.h[s.n%maxSentHashes] = sha256.Sum256(msg)
	s.len[s.n%maxSentHashes] = len(msg)
	s.n++
}

func (s *sentHashes) has(msg []byte) bool {
	var h *[sha256.Size]byte
	for i := range min(s.n, maxSentHashes) {
		if s.len[i] != len(msg) {
			continue
		}
		if h == nil {
			sum := sha256.Sum256(msg)
			h = &sum
		}
		if s.h[i] == *h {
			return true
		}
	}
	return false
}

// noteSent remembers the handshake messages an event of the group sent:
// every message but an application message (Protect). The caller holds
// g.mu.
func (g *Group) noteSent(ev transitions.Event, r effects.Ready) {
	if _, app := ev.(transitions.Protect); app {
		return
	}
	for _, m := range r.Send.Messages {
		g.sent.note(m.Message)
	}
}

// ownEcho reports whether message is this member's own handshake message
// echoed back where the core cannot tell: one the Group sent recently
// (sentHashes), or the external commit of the pending join. The caller
// holds g.mu.
func (g *Group) ownEcho(message []byte) error {
	if g.sent.has(message) {
		return ownEchoError{"a handshake message this group sent"}
	}
	if j, ok := g.st.StagedJoin(); ok && ownJoinCommit(j, message, g.c.opts.Limits) {
		return ownEchoError{"the external commit of the pending join"}
	}
	return nil
}

// ownJoinCommit reports whether message is the external commit of the
// staged join j (JoinExternal or Resync): a commit by a new member for the
// epoch before j's, in j's group, whose path sets the leaf j holds — its
// encryption key is fresh, so no other client's commit carries it.
func ownJoinCommit(j state.StagedJoin, message []byte, lim transitions.Limits) bool {
	m, err := decodeBounded(message, lim)
	if err != nil || m.PublicMessage == nil {
		return false
	}
	c := m.PublicMessage.Content
	next := j.Next
	if c.ContentType != codec.ContentTypeCommit || c.Commit == nil || c.Commit.Path == nil ||
		c.Sender.SenderType != codec.SenderTypeNewMemberCommit ||
		!bytes.Equal(c.GroupID, next.GroupID()) || c.Epoch+1 != next.Epoch() {
		return false
	}
	own, ok := next.Tree().Leaf(next.OwnLeaf())
	leaf := c.Commit.Path.LeafNode
	return ok && bytes.Equal(leaf.EncryptionKey, own.EncryptionKey) && bytes.Equal(leaf.SignatureKey, own.SignatureKey)
}
