package codec

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// FramedWire is the encoding of an AuthenticatedContent cut where the
// structures that RFC 9420 signs, tags and hashes need it:
//
//	FramedContentTBS             = version || wire_format || Head || Body || [GroupContext]
//	AuthenticatedContentTBM      = FramedContentTBS || Auth
//	ConfirmedTranscriptHashInput = wire_format || Head || Body || signature<V>
//	AuthenticatedContent         = wire_format || Head || Body || Auth
//
// For a received message the parts are the bytes it arrived in (sub-slices
// of the message or of its decrypted content), so that signatures, the
// membership tag, the transcript hash and proposal references cover those
// bytes, as crypto/tls keeps a handshake message's original bytes, instead
// of a re-encoding. Strict decoding (Encode(Decode(b)) == b) makes the two
// equal; keeping the bytes saves encoding large commits again and again.
type FramedWire struct {
	WireFormat WireFormat
	// Head is the FramedContent up to its content_type: group_id, epoch,
	// sender, authenticated_data, content_type.
	Head []byte
	// Body is the content the content_type selects: application_data, the
	// Proposal or the Commit.
	Body []byte
	// Auth is the FramedContentAuthData: signature<V> and, for a commit,
	// confirmation_tag<V>.
	Auth []byte
}

// ContentLen is the length of the FramedContent (Head and Body).
func (w FramedWire) ContentLen() int { return len(w.Head) + len(w.Body) }

// SignaturePart returns the signature<V> (length prefix included) that
// starts Auth, or nil if Auth is malformed.
func (w FramedWire) SignaturePart() []byte {
	s := cryptobyte.String(w.Auth)
	n, err := readVarint(&s)
	if err != nil || uint64(n) > uint64(len(s)) {
		return nil
	}
	return w.Auth[:len(w.Auth)-len(s)+int(n)]
}

// WireOf encodes ac into its FramedWire; use it for content built
// locally, which has no received bytes.
func WireOf(ac AuthenticatedContent) (FramedWire, error) {
	c := ac.Content
	var b cryptobyte.Builder
	c.Marshal(&b)
	fc, err := b.Bytes()
	if err != nil {
		return FramedWire{}, err
	}
	var ab cryptobyte.Builder
	ac.Auth.MarshalFor(&ab, c.ContentType)
	auth, err := ab.Bytes()
	if err != nil {
		return FramedWire{}, err
	}
	h := headLen(c)
	return FramedWire{WireFormat: ac.WireFormat, Head: fc[:h:h], Body: fc[h:], Auth: auth}, nil
}

// headLen is the encoded length of c's fields before the content body.
// Encodings are canonical (minimal varints), so it follows from the
// values.
func headLen(c FramedContent) int {
	n := opaqueLen(len(c.GroupID)) + 8 + 1 + opaqueLen(len(c.AuthenticatedData)) + 1
	if c.Sender.SenderType == SenderTypeMember || c.Sender.SenderType == SenderTypeExternal {
		n += 4
	}
	return n
}

// authLen is the encoded length of a for content of type ct.
func authLen(a FramedContentAuthData, ct ContentType) int {
	n := opaqueLen(len(a.Signature))
	if ct == ContentTypeCommit {
		n += opaqueLen(len(a.ConfirmationTag))
	}
	return n
}

// opaqueLen is the encoded length of an opaque<V> of n bytes.
func opaqueLen(n int) int { return OpaqueLen(n) }

// DecodeMLSMessageShared decodes an MLSMessage like DecodeMLSMessage,
// except that the HPKE ciphertexts it holds (an UpdatePath's encrypted
// path secrets, a Welcome's group secrets) and a PrivateMessage's
// ciphertexts are sub-slices of data instead of copies: data must not
// change while the result is in use, and nothing that outlives it may keep
// them. It serves a receiver that processes the message at once.
func DecodeMLSMessageShared(data []byte) (MLSMessage, error) {
	d := NewDecoder(data)
	d.share = true
	return decodeWith[MLSMessage](d, "MLSMessage")
}

// ReceivedWire returns the FramedWire of m: sub-slices of encoded, the
// PublicMessage encoding m was decoded from (an MLSMessage without its
// four-byte version and wire_format header).
func (m PublicMessage) ReceivedWire(encoded []byte) (FramedWire, error) {
	c := m.Content
	tail := authLen(m.Auth, c.ContentType)
	if c.Sender.SenderType == SenderTypeMember {
		tail += opaqueLen(len(m.MembershipTag))
	}
	fc := len(encoded) - tail
	h := headLen(c)
	if fc < h {
		return FramedWire{}, fmt.Errorf("%w: %d bytes are not the encoding of this PublicMessage", ErrInvalidValue, len(encoded))
	}
	return FramedWire{WireFormat: WireFormatPublicMessage, Head: encoded[:h:h], Body: encoded[h:fc:fc],
		Auth: encoded[fc : fc+authLen(m.Auth, c.ContentType) : fc+authLen(m.Auth, c.ContentType)]}, nil
}

// DecodePrivateMessageContentShared decodes the plaintext of a
// PrivateMessage like DecodePrivateMessageContent, except that HPKE
// ciphertexts are sub-slices of data (see DecodeMLSMessageShared). It also
// returns the content body and the FramedContentAuthData as sub-slices of
// data. Its vectors are within b (see Bounds), like those of a
// PublicMessage decoded by DecodeMLSMessageSharedBounded: a commit over
// b.MaxProposals or an UpdatePathNode over b.MaxLeaves fails with a
// *LimitError before its elements are allocated.
func DecodePrivateMessageContentShared(data []byte, ct ContentType, b Bounds) (c PrivateMessageContent, body, auth []byte, err error) {
	d := NewBoundedDecoder(data, b)
	d.share = true
	c.UnmarshalFor(d, ct)
	if err := d.Finish("PrivateMessageContent"); err != nil {
		return PrivateMessageContent{}, nil, nil, err
	}
	a := authLen(c.Auth, ct)
	n := len(data) - c.Padding - a
	return c, data[:n:n], data[n : n+a : n+a], nil
}

// AppendFramedHead appends the Head of a FramedContent whose body follows:
// group_id, epoch, sender, authenticated_data and content_type. A
// PrivateMessage carries these fields outside its ciphertext; a receiver
// lays them out with it.
func AppendFramedHead(dst []byte, groupID []byte, epoch uint64, sender Sender, authenticatedData []byte, ct ContentType) ([]byte, error) {
	b := cryptobyte.NewBuilder(dst)
	AddOpaque(b, groupID)
	b.AddUint64(epoch)
	sender.Marshal(b)
	AddOpaque(b, authenticatedData)
	b.AddUint8(uint8(ct))
	return b.Bytes()
}

// HeadLen is the length AppendFramedHead appends.
func HeadLen(c FramedContent) int { return headLen(c) }

// DecodeMLSMessageSharedBounded is DecodeMLSMessageShared with the
// vectors of data within b (see DecodeMLSMessageBounded): the decoder of
// messages received from the network.
func DecodeMLSMessageSharedBounded(data []byte, b Bounds) (MLSMessage, error) {
	d := NewBoundedDecoder(data, b)
	d.share = true
	return decodeWith[MLSMessage](d, "MLSMessage")
}
