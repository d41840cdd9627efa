package keysched

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// labelFramedContent is the SignWithLabel label of FramedContentTBS
// (RFC 9420, Section 6.1).
const labelFramedContent = "FramedContentTBS"

// Signer signs content with SignWithLabel; *suite.Signer implements it. It
// must be deterministic (Ed25519, Ed448, or ECDSA per RFC 6979) for replay.
type Signer interface {
	SignWithLabel(label string, content []byte) ([]byte, error)
}

// signerAt is a Signer that also signs content laid out after headroom for
// the SignContent prefix, without copying it (*suite.Signer).
type signerAt interface {
	SignWithLabelAt(label string, buf []byte, off int) ([]byte, error)
}

// KeySigner adapts a raw signature private key to Signer.
type KeySigner struct {
	Suite *suite.Suite
	Priv  []byte
}

// SignWithLabel implements Signer with Suite.SignWithLabel.
func (k KeySigner) SignWithLabel(label string, content []byte) ([]byte, error) {
	return k.Suite.SignWithLabel(k.Priv, label, content)
}

// Consumed names the ratchet key a protect or unprotect operation used: it
// is deleted from the returned SecretTree, and a caller that persists
// secrets emits a DeleteSecret for it.
type Consumed struct {
	Leaf       treemath.LeafIndex
	Kind       RatchetKind
	Generation uint32
}

// ratchetKindOf returns the ratchet that protects content of type ct.
func ratchetKindOf(ct codec.ContentType) RatchetKind {
	if ct == codec.ContentTypeApplication {
		return Application
	}
	return Handshake
}

// SignContent signs content as it will be sent in wire format wf: the
// signature of [RFC 9420, Section 6.1] is SignWithLabel(.,
// "FramedContentTBS", FramedContentTBS), where the TBS includes ctx for
// member and new_member_commit senders. It returns the AuthenticatedContent
// with the signature set. For a commit, the caller then sets
// Auth.ConfirmationTag, which depends on the signature through the
// confirmed transcript hash.
//
// [RFC 9420, Section 6.1]: https://www.rfc-editor.org/rfc/rfc9420#section-6.1
func SignContent(signer Signer, wf codec.WireFormat, content codec.FramedContent, ctx *codec.GroupContext) (codec.AuthenticatedContent, error) {
	cb, err := contextBytes(content.Sender.SenderType, ctx)
	if err != nil {
		return codec.AuthenticatedContent{}, err
	}
	return SignContentBytes(signer, wf, content, cb)
}

// SignContentBytes is SignContent with the GroupContext given as its
// encoding ctxBytes (state.GroupState keeps it for the epoch), ignored for
// senders whose FramedContentTBS has none. The FramedContentTBS of
// application content is laid out in one buffer of its final size.
func SignContentBytes(signer Signer, wf codec.WireFormat, content codec.FramedContent, ctxBytes []byte) (codec.AuthenticatedContent, error) {
	t := content.Sender.SenderType
	if !hasContext(t) {
		ctxBytes = nil
	} else if ctxBytes == nil {
		return codec.AuthenticatedContent{}, fmt.Errorf("%w: FramedContentTBS of a %v sender without group context", codec.ErrInvalidValue, t)
	}
	// buf: [SignContent prefix][FramedContentTBS], the prefix written by
	// a signerAt in place.
	off := suite.LabelHeadroom(labelFramedContent)
	b := cryptobyte.NewBuilder(make([]byte, off, off+4+codec.HeadLen(content)+bodyBound(content)+len(ctxBytes)))
	b.AddUint16(uint16(codec.MLS10))
	b.AddUint16(uint16(wf))
	content.Marshal(b)
	b.AddBytes(ctxBytes)
	buf, err := b.Bytes()
	if err != nil {
		return codec.AuthenticatedContent{}, err
	}
	var sig []byte
	if sa, ok := signer.(signerAt); ok {
		sig, err = sa.SignWithLabelAt(labelFramedContent, buf, off)
	} else {
		sig, err = signer.SignWithLabel(labelFramedContent, buf[off:])
	}
	if err != nil {
		return codec.AuthenticatedContent{}, err
	}
	return codec.AuthenticatedContent{WireFormat: wf, Content: content, Auth: codec.FramedContentAuthData{Signature: sig}}, nil
}

// bodyBound bounds the encoded length of c's body when it is application
// data; for a proposal or commit it is 0 and the encoding grows as needed.
func bodyBound(c codec.FramedContent) int {
	if c.ContentType != codec.ContentTypeApplication {
		return 0
	}
	return codec.OpaqueBound(len(c.ApplicationData))
}

// VerifySignature checks ac's signature with the sender's signature public
// key (ValSem010).
func VerifySignature(cs *suite.Suite, senderPub []byte, ac codec.AuthenticatedContent, ctx *codec.GroupContext) error {
	w, err := codec.WireOf(ac)
	if err != nil {
		return err
	}
	buf, off, err := layoutTBS(w, ac.Content.Sender.SenderType, ctx)
	if err != nil {
		return err
	}
	return verifyTBS(cs, senderPub, buf, off, ac.Auth.Signature)
}

// hasContext reports whether the FramedContentTBS of a message from a
// sender of type t includes the GroupContext (RFC 9420, Section 6.1).
func hasContext(t codec.SenderType) bool {
	return t == codec.SenderTypeMember || t == codec.SenderTypeNewMemberCommit
}

// contextBytes returns the encoded GroupContext that the FramedContentTBS
// of a sender of type t includes, or nil.
func contextBytes(t codec.SenderType, ctx *codec.GroupContext) ([]byte, error) {
	if !hasContext(t) {
		return nil, nil
	}
	if ctx == nil {
		return nil, fmt.Errorf("%w: FramedContentTBS of a %v sender without group context", codec.ErrInvalidValue, t)
	}
	return ctx.Encode()
}

// layoutTBS returns a buffer holding the FramedContentTBS of w at buf[off:],
// after headroom for the SignContent prefix (suite.VerifyWithLabelAt): one
// copy of the content, however large.
func layoutTBS(w codec.FramedWire, t codec.SenderType, ctx *codec.GroupContext) (buf []byte, off int, err error) {
	cb, err := contextBytes(t, ctx)
	if err != nil {
		return nil, 0, err
	}
	off = suite.LabelHeadroom(labelFramedContent)
	buf = make([]byte, off, off+4+w.ContentLen()+len(cb))
	buf = binary.BigEndian.AppendUint16(buf, uint16(codec.MLS10))
	buf = binary.BigEndian.AppendUint16(buf, uint16(w.WireFormat))
	buf = append(buf, w.Head...)
	buf = append(buf, w.Body...)
	buf = append(buf, cb...)
	return buf, off, nil
}

// verifyTBS checks sig over the FramedContentTBS at buf[off:] (ValSem010).
func verifyTBS(cs *suite.Suite, senderPub, buf []byte, off int, sig []byte) error {
	if err := cs.VerifyWithLabelAt(senderPub, labelFramedContent, buf, off, sig); err != nil {
		// ValSem010: the signature must verify.
		return valsem.Wrap(valsem.ValSem010, err, "FramedContentTBS signature")
	}
	return nil
}

// MembershipTag computes a PublicMessage's membership_tag =
// MAC(membership_key, AuthenticatedContentTBM) ([RFC 9420, Section 6.2]).
//
// [RFC 9420, Section 6.2]: https://www.rfc-editor.org/rfc/rfc9420#section-6.2
func MembershipTag(cs *suite.Suite, membershipKey []byte, ac codec.AuthenticatedContent, ctx *codec.GroupContext) ([]byte, error) {
	w, err := codec.WireOf(ac)
	if err != nil {
		return nil, err
	}
	cb, err := contextBytes(ac.Content.Sender.SenderType, ctx)
	if err != nil {
		return nil, err
	}
	var hdr [4]byte
	binary.BigEndian.PutUint16(hdr[:], uint16(codec.MLS10))
	binary.BigEndian.PutUint16(hdr[2:], uint16(w.WireFormat))
	return cs.MACParts(membershipKey, hdr[:], w.Head, w.Body, cb, w.Auth), nil
}

// VerifyMembershipTag checks a member PublicMessage's membership tag in
// constant time: a missing tag is ValSem007, a wrong one ValSem008.
func VerifyMembershipTag(cs *suite.Suite, membershipKey []byte, pm codec.PublicMessage, ctx *codec.GroupContext) error {
	w, err := codec.WireOf(pm.AuthenticatedContent())
	if err != nil {
		return err
	}
	buf, off, err := layoutTBS(w, pm.Content.Sender.SenderType, ctx)
	if err != nil {
		return err
	}
	return verifyMembershipTag(cs, membershipKey, pm.MembershipTag, buf[off:], w.Auth)
}

// verifyMembershipTag checks tag against MAC(key, tbs || auth), the
// AuthenticatedContentTBM (ValSem007, ValSem008).
func verifyMembershipTag(cs *suite.Suite, key, tag, tbs, auth []byte) error {
	if len(tag) == 0 {
		// ValSem007: a PublicMessage from a member must carry a membership tag.
		return valsem.Errorf(valsem.ValSem007, "member message without membership tag")
	}
	if subtle.ConstantTimeCompare(cs.MACParts(key, tbs, auth), tag) != 1 {
		// ValSem008: the membership tag must verify.
		return valsem.Errorf(valsem.ValSem008, "membership tag does not verify")
	}
	return nil
}

// ProtectPublic frames signed content as a PublicMessage
// ([RFC 9420, Section 6.2]), adding the membership tag for a member sender.
// ac must have wire format mls_public_message and must not be application
// data, which is only ever sent encrypted (ErrContentType).
//
// [RFC 9420, Section 6.2]: https://www.rfc-editor.org/rfc/rfc9420#section-6.2
func ProtectPublic(cs *suite.Suite, membershipKey []byte, ac codec.AuthenticatedContent, ctx *codec.GroupContext) (codec.PublicMessage, error) {
	if ac.WireFormat != codec.WireFormatPublicMessage {
		return codec.PublicMessage{}, fmt.Errorf("%w: wire format %v in a PublicMessage", ErrContentType, ac.WireFormat)
	}
	if ac.Content.ContentType == codec.ContentTypeApplication {
		return codec.PublicMessage{}, fmt.Errorf("%w: application data in a PublicMessage", ErrContentType)
	}
	pm := codec.PublicMessage{Content: ac.Content, Auth: ac.Auth}
	if ac.Content.Sender.SenderType == codec.SenderTypeMember {
		tag, err := MembershipTag(cs, membershipKey, ac, ctx)
		if err != nil {
			return codec.PublicMessage{}, err
		}
		pm.MembershipTag = tag
	}
	return pm, nil
}

// UnprotectPublic authenticates a PublicMessage ([RFC 9420, Section 6.2]):
// application content is ValSem005; for a member sender the membership tag
// must be present (ValSem007) and verify (ValSem008); a commit must carry a
// confirmation tag (ValSem009); the signature must verify with senderPub
// (ValSem010). The group-id, epoch and sender checks (ValSem002–004), which
// need the group state, are the caller's, as is verifying the confirmation
// tag itself. The tag and signature cover pm's encoding; a receiver that
// has the bytes pm arrived in uses UnprotectPublicWire.
//
// [RFC 9420, Section 6.2]: https://www.rfc-editor.org/rfc/rfc9420#section-6.2
func UnprotectPublic(cs *suite.Suite, membershipKey []byte, pm codec.PublicMessage, ctx *codec.GroupContext, senderPub []byte) (codec.AuthenticatedContent, error) {
	w, err := codec.WireOf(pm.AuthenticatedContent())
	if err != nil {
		return codec.AuthenticatedContent{}, err
	}
	return UnprotectPublicWire(cs, membershipKey, pm, w, ctx, senderPub)
}

// UnprotectPublicWire is UnprotectPublic over the bytes pm arrived in: w
// is pm.ReceivedWire of its encoding, and the membership tag and the
// signature are checked over w, with a single copy of the content (the
// signed message) however large it is.
func UnprotectPublicWire(cs *suite.Suite, membershipKey []byte, pm codec.PublicMessage, w codec.FramedWire, ctx *codec.GroupContext, senderPub []byte) (codec.AuthenticatedContent, error) {
	return unprotectPublicWire(cs, membershipKey, true, pm, w, ctx, senderPub)
}

// VerifyPublicWire is UnprotectPublicWire for a party outside the group
// that holds no membership key — a delivery service or auditor following
// the group (transitions.PublicGroup): everything but the membership tag
// of a member's message is checked (ValSem005, ValSem009, ValSem010). The
// membership tag is what it cannot check: it proves the sender knew the
// epoch's membership_key ([RFC 9420, Section 6.2]).
//
// [RFC 9420, Section 6.2]: https://www.rfc-editor.org/rfc/rfc9420#section-6.2
func VerifyPublicWire(cs *suite.Suite, pm codec.PublicMessage, w codec.FramedWire, ctx *codec.GroupContext, senderPub []byte) (codec.AuthenticatedContent, error) {
	return unprotectPublicWire(cs, nil, false, pm, w, ctx, senderPub)
}

// unprotectPublicWire checks a PublicMessage over its received bytes w:
// the membership tag of a member's message when withTag, the confirmation
// tag's presence and the signature.
func unprotectPublicWire(cs *suite.Suite, membershipKey []byte, withTag bool, pm codec.PublicMessage, w codec.FramedWire, ctx *codec.GroupContext, senderPub []byte) (codec.AuthenticatedContent, error) {
	ac := pm.AuthenticatedContent()
	if ac.Content.ContentType == codec.ContentTypeApplication {
		// ValSem005: application messages must use PrivateMessage.
		return codec.AuthenticatedContent{}, valsem.Errorf(valsem.ValSem005, "application data in a PublicMessage")
	}
	buf, off, err := layoutTBS(w, ac.Content.Sender.SenderType, ctx)
	if err != nil {
		return codec.AuthenticatedContent{}, err
	}
	if withTag && ac.Content.Sender.SenderType == codec.SenderTypeMember {
		if err := verifyMembershipTag(cs, membershipKey, pm.MembershipTag, buf[off:], w.Auth); err != nil {
			return codec.AuthenticatedContent{}, err
		}
	}
	if err := checkConfirmationTagPresent(ac); err != nil {
		return codec.AuthenticatedContent{}, err
	}
	if err := verifyTBS(cs, senderPub, buf, off, ac.Auth.Signature); err != nil {
		return codec.AuthenticatedContent{}, err
	}
	return ac, nil
}

// checkConfirmationTagPresent enforces ValSem009.
func checkConfirmationTagPresent(ac codec.AuthenticatedContent) error {
	if ac.Content.ContentType == codec.ContentTypeCommit && len(ac.Auth.ConfirmationTag) == 0 {
		// ValSem009: a commit must carry a confirmation tag.
		return valsem.Errorf(valsem.ValSem009, "commit without confirmation tag")
	}
	return nil
}

// PrivateParams are the per-message choices of the sender of a
// PrivateMessage.
type PrivateParams struct {
	// Padding is the number of zero bytes appended to the content
	// (RFC 9420, Section 6.3.1).
	Padding int
	// ReuseGuard is the fresh random reuse_guard (RFC 9420, Section 6.3.1),
	// drawn by the caller from its entropy source.
	ReuseGuard [ReuseGuardLen]byte
}

// ProtectPrivate encrypts signed content as a PrivateMessage
// ([RFC 9420, Section 6.3]). It takes the next generation of the sender's
// handshake or application ratchet from st, encrypts the
// PrivateMessageContent (content, auth, padding) under that key and the
// nonce XOR reuse guard with PrivateContentAAD, then encrypts the SenderData
// under the key and nonce derived from senderDataSecret and the ciphertext
// sample, with SenderDataAAD. The sender must be a member and ac's wire
// format mls_private_message. It returns the message, the tree without the
// used key, and what was consumed; st itself is unchanged.
//
// [RFC 9420, Section 6.3]: https://www.rfc-editor.org/rfc/rfc9420#section-6.3
func ProtectPrivate(cs *suite.Suite, st SecretTree, senderDataSecret []byte, ac codec.AuthenticatedContent, p PrivateParams) (codec.PrivateMessage, SecretTree, Consumed, error) {
	_, pm, nst, used, err := ProtectPrivateMessage(cs, st, senderDataSecret, ac, p)
	return pm, nst, used, err
}

// DecryptSenderData decrypts and decodes a PrivateMessage's SenderData
// ([RFC 9420, Section 6.3.2]). Failure is ValSem006.
//
// [RFC 9420, Section 6.3.2]: https://www.rfc-editor.org/rfc/rfc9420#section-6.3.2
func DecryptSenderData(cs *suite.Suite, senderDataSecret []byte, pm codec.PrivateMessage) (codec.SenderData, error) {
	key, nonce, err := SenderDataKeyNonce(cs, senderDataSecret, pm.Ciphertext)
	if err != nil {
		return codec.SenderData{}, err
	}
	_, aad, err := privateAADs(pm)
	if err != nil {
		return codec.SenderData{}, err
	}
	var sd codec.SenderData
	pt, err := cs.Open(key, nonce, aad, pm.EncryptedSenderData)
	if err == nil {
		if sd, err = codec.DecodeSenderData(pt); err != nil {
			err = fmt.Errorf("%w: %w", ErrMalformed, err)
		}
	}
	if err != nil {
		// ValSem006: the sender data must decrypt, and decode.
		return codec.SenderData{}, valsem.Wrap(valsem.ValSem006, err, "sender data")
	}
	return sd, nil
}

// SenderKeyFunc returns the signature public key of the member at a leaf.
// It is how UnprotectPrivate learns the sender's key once the sender data is
// decrypted; it returns an error (for example ValSem004 for a blank leaf)
// to reject the sender.
type SenderKeyFunc func(leaf treemath.LeafIndex) ([]byte, error)

// UnprotectPrivate decrypts and authenticates a PrivateMessage
// ([RFC 9420, Section 6.3]): sender data, then the content with the sender's
// ratchet key for the generation named there, then the padding and the
// signature. Errors: decryption failures, including an unusable generation,
// are ValSem006 (wrapping a *GenerationError where there is one); non-zero
// padding is ValSem011; a commit without confirmation tag ValSem009; a bad
// signature ValSem010. On success it returns the AuthenticatedContent, the
// tree without the used key, and what was consumed; st itself is unchanged.
// The group-id and epoch checks (ValSem002, ValSem003) are the caller's,
// made before choosing st and senderDataSecret. The decrypted content's
// vectors are within b (see codec.Bounds; the zero Bounds puts no bound
// beyond the plaintext's length): a content over one fails with
// ErrMalformed wrapping a *codec.LimitError that names the bound, before
// the vector's elements are allocated.
//
// [RFC 9420, Section 6.3]: https://www.rfc-editor.org/rfc/rfc9420#section-6.3
func UnprotectPrivate(cs *suite.Suite, st SecretTree, senderDataSecret []byte, pm codec.PrivateMessage, ctx *codec.GroupContext, senderKey SenderKeyFunc, b codec.Bounds) (codec.AuthenticatedContent, SecretTree, Consumed, error) {
	cb, err := contextBytes(codec.SenderTypeMember, ctx)
	if err != nil {
		return codec.AuthenticatedContent{}, st, Consumed{}, err
	}
	r, err := UnprotectPrivateWire(cs, st, senderDataSecret, pm, cb, senderKey, b)
	return r.Content, r.Secrets, r.Consumed, err
}

// Unprotected is a PrivateMessage decrypted and authenticated by
// UnprotectPrivateWire.
type Unprotected struct {
	Content  codec.AuthenticatedContent
	Wire     codec.FramedWire // the content's bytes as decrypted
	Secrets  SecretTree       // the secret tree without the key used
	Consumed Consumed         // the key used
}

// UnprotectPrivateWire is UnprotectPrivate that also returns the content's
// FramedWire: the content body is the decrypted bytes, which the signature
// check and later the transcript hash and proposal reference cover without
// re-encoding. The plaintext is decrypted into a buffer laid out as the
// signed SignContent (prefix, FramedContentTBS head, body, GroupContext),
// so a large commit costs one buffer. The HPKE ciphertexts of the content
// (an UpdatePath's) alias that buffer, and when pm was decoded by
// codec.DecodeMLSMessageShared, its ciphertexts alias the message. The
// content's vectors are within b, as for UnprotectPrivate. ctxBytes is the
// encoded GroupContext of the message's epoch (state.GroupState keeps the
// current one), which the signature covers; it is copied, not kept.
func UnprotectPrivateWire(cs *suite.Suite, st SecretTree, senderDataSecret []byte, pm codec.PrivateMessage, ctxBytes []byte, senderKey SenderKeyFunc, b codec.Bounds) (Unprotected, error) {
	out := Unprotected{Secrets: st}
	sd, err := DecryptSenderData(cs, senderDataSecret, pm)
	if err != nil {
		return out, err
	}
	aad, _, err := privateAADs(pm)
	if err != nil {
		return out, err
	}
	fc := codec.FramedContent{GroupID: pm.GroupID, Epoch: pm.Epoch, Sender: codec.MemberSender(sd.LeafIndex),
		AuthenticatedData: pm.AuthenticatedData, ContentType: pm.ContentType}
	cb := ctxBytes // the sender is a member: its FramedContentTBS ends with the GroupContext
	if cb == nil {
		return out, fmt.Errorf("%w: FramedContentTBS of a member sender without group context", codec.ErrInvalidValue)
	}
	// buf: [SignContent prefix][version wire_format head][plaintext ... ]
	// with room for the GroupContext after the plaintext.
	hl := codec.HeadLen(fc)
	off := suite.LabelHeadroom(labelFramedContent)
	start := off + 4 + hl
	buf := make([]byte, start, start+len(pm.Ciphertext)+len(cb))
	kind := ratchetKindOf(pm.ContentType)
	rk, nst, err := st.Key(sd.LeafIndex, kind, sd.Generation)
	if err == nil {
		buf, err = cs.OpenTo(buf, rk.Key, ApplyReuseGuard(rk.Nonce, sd.ReuseGuard), aad, pm.Ciphertext)
	}
	if err != nil {
		// ValSem006: the sender data names a key of the secret tree (a
		// *GenerationError if not), and it decrypts the content.
		return out, valsem.Wrap(valsem.ValSem006, err, "content")
	}
	pmc, body, auth, err := codec.DecodePrivateMessageContentShared(buf[start:], pm.ContentType, b)
	if errors.Is(err, codec.ErrNonZeroPadding) {
		// ValSem011: PrivateMessageContent padding must be all zero.
		return out, valsem.Wrap(valsem.ValSem011, err, "padding")
	}
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	fc.ApplicationData, fc.Proposal, fc.Commit = pmc.ApplicationData, pmc.Proposal, pmc.Commit
	ac := codec.AuthenticatedContent{WireFormat: codec.WireFormatPrivateMessage, Content: fc, Auth: pmc.Auth}
	if err := checkConfirmationTagPresent(ac); err != nil {
		return out, err
	}
	pub, err := senderKey(sd.LeafIndex)
	if err != nil {
		return out, err
	}
	// Lay the FramedContentTBS out around the body: version, wire format
	// and head before it, the GroupContext after it (over the auth data,
	// kept as a copy, and the padding).
	auth = append([]byte(nil), auth...)
	tbs := binary.BigEndian.AppendUint16(buf[off:off:start], uint16(codec.MLS10))
	tbs = binary.BigEndian.AppendUint16(tbs, uint16(codec.WireFormatPrivateMessage))
	if tbs, err = codec.AppendFramedHead(tbs, fc.GroupID, fc.Epoch, fc.Sender, fc.AuthenticatedData, fc.ContentType); err != nil {
		return out, err
	}
	if len(tbs) != start-off || &tbs[0] != &buf[off] {
		return out, fmt.Errorf("mls: framed content head of %d bytes, want %d", len(tbs)-4, hl)
	}
	end := start + len(body)
	buf = append(buf[:end], cb...)
	if err := verifyTBS(cs, pub, buf, off, ac.Auth.Signature); err != nil {
		return out, err
	}
	out.Content = ac
	out.Wire = codec.FramedWire{WireFormat: codec.WireFormatPrivateMessage, Head: buf[off+4 : start : start], Body: buf[start:end:end], Auth: auth}
	out.Secrets = nst
	out.Consumed = Consumed{Leaf: sd.LeafIndex, Kind: kind, Generation: rk.Generation}
	return out, nil
}
