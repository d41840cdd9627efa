package keysched

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
)

// ConfirmedTranscriptHash computes confirmed_transcript_hash_[epoch] =
// Hash(interim_transcript_hash_[epoch-1] || ConfirmedTranscriptHashInput)
// ([RFC 9420, Section 8.2]). confirmedInput is the encoded
// ConfirmedTranscriptHashInput {wire_format, content, signature} of the
// Commit. For the first epoch of a group interimBefore is empty.
//
// [RFC 9420, Section 8.2]: https://www.rfc-editor.org/rfc/rfc9420#section-8.2
func ConfirmedTranscriptHash(cs *suite.Suite, interimBefore, confirmedInput []byte) []byte {
	buf := make([]byte, 0, len(interimBefore)+len(confirmedInput))
	buf = append(buf, interimBefore...)
	buf = append(buf, confirmedInput...)
	return cs.Hash(buf)
}

// InterimTranscriptHash computes interim_transcript_hash_[epoch] =
// Hash(confirmed_transcript_hash_[epoch] || InterimTranscriptHashInput),
// where InterimTranscriptHashInput is the Commit's confirmation_tag as an
// opaque<V> ([RFC 9420, Section 8.2]). A new member joining by Welcome
// computes its first interim hash with it from the GroupInfo's
// confirmed_transcript_hash and confirmation_tag
// ([RFC 9420, Section 12.4.3.1]).
//
// [RFC 9420, Section 8.2]: https://www.rfc-editor.org/rfc/rfc9420#section-8.2
// [RFC 9420, Section 12.4.3.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.1
func InterimTranscriptHash(cs *suite.Suite, confirmed, confirmationTag []byte) ([]byte, error) {
	b := cryptobyte.NewBuilder(make([]byte, 0, len(confirmed)+len(confirmationTag)+4))
	b.AddBytes(confirmed)
	codec.AddOpaque(b, confirmationTag)
	buf, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	return cs.Hash(buf), nil
}

// TranscriptHashes updates the transcript hashes with a Commit
// ([RFC 9420, Section 8.2]): from the previous epoch's interim hash and the
// Commit's AuthenticatedContent it returns the new confirmed transcript
// hash (which goes into the new GroupContext) and the new interim
// transcript hash (which needs ac's confirmation tag). ac must hold a
// Commit (ErrNotCommit).
//
// [RFC 9420, Section 8.2]: https://www.rfc-editor.org/rfc/rfc9420#section-8.2
func TranscriptHashes(cs *suite.Suite, interimBefore []byte, ac codec.AuthenticatedContent) (confirmed, interim []byte, err error) {
	confirmed, err = ConfirmedTranscriptHashOf(cs, interimBefore, ac)
	if err != nil {
		return nil, nil, err
	}
	interim, err = InterimTranscriptHash(cs, confirmed, ac.Auth.ConfirmationTag)
	if err != nil {
		return nil, nil, err
	}
	return confirmed, interim, nil
}

// ConfirmedTranscriptHashOf computes the confirmed transcript hash after
// the Commit ac. A committer uses it before the confirmation tag exists:
// the tag is MAC(confirmation_key, confirmed_transcript_hash) of the new
// epoch.
func ConfirmedTranscriptHashOf(cs *suite.Suite, interimBefore []byte, ac codec.AuthenticatedContent) ([]byte, error) {
	if ac.Content.ContentType != codec.ContentTypeCommit {
		return nil, fmt.Errorf("%w: %v", ErrNotCommit, ac.Content.ContentType)
	}
	w, err := codec.WireOf(ac)
	if err != nil {
		return nil, err
	}
	return ConfirmedTranscriptHashWire(cs, interimBefore, w)
}

// ConfirmedTranscriptHashWire is ConfirmedTranscriptHashOf over the bytes
// of a received Commit (codec.FramedWire): the ConfirmedTranscriptHashInput
// {wire_format, content, signature} is hashed from those parts, never
// re-encoded or copied. w must hold a Commit (ErrNotCommit).
func ConfirmedTranscriptHashWire(cs *suite.Suite, interimBefore []byte, w codec.FramedWire) ([]byte, error) {
	if len(w.Head) == 0 || codec.ContentType(w.Head[len(w.Head)-1]) != codec.ContentTypeCommit {
		return nil, fmt.Errorf("%w: framed content of another type", ErrNotCommit)
	}
	sig := w.SignaturePart()
	if sig == nil {
		return nil, fmt.Errorf("%w: malformed authentication data", codec.ErrInvalidValue)
	}
	var wf [2]byte
	binary.BigEndian.PutUint16(wf[:], uint16(w.WireFormat))
	return cs.HashParts(interimBefore, wf[:], w.Head, w.Body, sig), nil
}
