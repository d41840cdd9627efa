package keysched

import (
	"errors"
	"fmt"

	"github.com/mlscore/mlscore/treemath"
)

// Sentinel errors. Every error of this package either wraps one of these or
// is a *valsem.Error carrying the validation rule that failed.
var (
	// ErrSecretLength reports a secret argument whose length is not the
	// suite's KDF.Nh (or, for keys and nonces, AEAD.Nk and AEAD.Nn).
	ErrSecretLength = errors.New("mls: secret has the wrong length")
	// ErrLeafOutOfRange reports a leaf index outside the secret tree.
	ErrLeafOutOfRange = errors.New("mls: leaf index outside the secret tree")
	// ErrGenerationTooFar reports a generation more than the configured
	// maximum forward distance ahead of the ratchet.
	ErrGenerationTooFar = errors.New("mls: generation too far ahead of the ratchet")
	// ErrGenerationExpired reports a past generation outside the
	// out-of-order window: its key, if it was ever kept, has been deleted.
	ErrGenerationExpired = errors.New("mls: generation older than the out-of-order window")
	// ErrGenerationConsumed reports a generation whose key was already
	// used: a key is handed out at most once (RFC 9420, Section 9.2).
	ErrGenerationConsumed = errors.New("mls: generation already consumed")
	// ErrRatchetExhausted reports a ratchet whose generation counter would
	// overflow uint32.
	ErrRatchetExhausted = errors.New("mls: ratchet generation counter exhausted")
	// ErrPSKCount reports more pre-shared keys than the uint16 index of
	// PSKLabel can count (RFC 9420, Section 8.4).
	ErrPSKCount = errors.New("mls: too many pre-shared keys")
	// ErrNotCommit reports a transcript-hash or confirmation operation on
	// content that is not a Commit.
	ErrNotCommit = errors.New("mls: content is not a commit")
	// ErrSenderType reports a sender type that the operation does not
	// allow, e.g. a PrivateMessage from a non-member.
	ErrSenderType = errors.New("mls: sender type not allowed here")
	// ErrContentType reports a content type that the operation does not
	// allow, e.g. an application message as a PublicMessage.
	ErrContentType = errors.New("mls: content type not allowed here")
	// ErrMissingConfirmationTag reports a commit without a confirmation tag.
	ErrMissingConfirmationTag = errors.New("mls: commit without confirmation tag")
	// ErrNoMatchingSecrets reports a Welcome that holds no
	// EncryptedGroupSecrets for the given KeyPackageRef.
	ErrNoMatchingSecrets = errors.New("mls: welcome has no secrets for this key package")
	// ErrMalformed reports a decrypted structure that does not decode.
	ErrMalformed = errors.New("mls: malformed decrypted content")
	// ErrEpochMismatch reports a message whose group id, epoch or sender
	// data does not match what the caller's keys are for.
	ErrEpochMismatch = errors.New("mls: message does not match the group context")
)

// GenerationError is a rejected ratchet request: which leaf and ratchet, the
// generation asked for and where the ratchet stood. It wraps one of
// ErrGenerationTooFar, ErrGenerationExpired, ErrGenerationConsumed or
// ErrRatchetExhausted.
type GenerationError struct {
	Leaf       treemath.LeafIndex // the sender's leaf
	Kind       RatchetKind        // handshake or application
	Generation uint32             // the generation requested
	Next       uint32             // the ratchet's next unused generation
	Err        error              // the reason (a sentinel above)
}

// Error implements error.
func (e *GenerationError) Error() string {
	return fmt.Sprintf("%v: leaf %d %s ratchet, generation %d (next %d)", e.Err, e.Leaf, e.Kind, e.Generation, e.Next)
}

// Unwrap returns the reason.
func (e *GenerationError) Unwrap() error { return e.Err }
