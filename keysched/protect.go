package keysched

import (
	"crypto/subtle"
	"errors"
	"fmt"

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

// tbsFor returns the encoded FramedContentTBS of ac in the group context ctx.
func tbsFor(ac codec.AuthenticatedContent, ctx *codec.GroupContext) ([]byte, error) {
	return ac.TBS(ctx).Encode()
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
	ac := codec.AuthenticatedContent{WireFormat: wf, Content: content}
	tbs, err := tbsFor(ac, ctx)
	if err != nil {
		return codec.AuthenticatedContent{}, err
	}
	sig, err := signer.SignWithLabel(labelFramedContent, tbs)
	if err != nil {
		return codec.AuthenticatedContent{}, err
	}
	ac.Auth.Signature = sig
	return ac, nil
}

// VerifySignature checks ac's signature with the sender's signature public
// key (ValSem010).
func VerifySignature(cs *suite.Suite, senderPub []byte, ac codec.AuthenticatedContent, ctx *codec.GroupContext) error {
	tbs, err := tbsFor(ac, ctx)
	if err != nil {
		return err
	}
	if err := cs.VerifyWithLabel(senderPub, labelFramedContent, tbs, ac.Auth.Signature); err != nil {
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
	tbm, err := codec.AuthenticatedContentTBM{ContentTBS: ac.TBS(ctx), Auth: ac.Auth}.Encode()
	if err != nil {
		return nil, err
	}
	return cs.MAC(membershipKey, tbm), nil
}

// VerifyMembershipTag checks a member PublicMessage's membership tag in
// constant time: a missing tag is ValSem007, a wrong one ValSem008.
func VerifyMembershipTag(cs *suite.Suite, membershipKey []byte, pm codec.PublicMessage, ctx *codec.GroupContext) error {
	if len(pm.MembershipTag) == 0 {
		// ValSem007: a PublicMessage from a member must carry a membership tag.
		return valsem.Errorf(valsem.ValSem007, "member message without membership tag")
	}
	want, err := MembershipTag(cs, membershipKey, pm.AuthenticatedContent(), ctx)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(want, pm.MembershipTag) != 1 {
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
// tag itself.
//
// [RFC 9420, Section 6.2]: https://www.rfc-editor.org/rfc/rfc9420#section-6.2
func UnprotectPublic(cs *suite.Suite, membershipKey []byte, pm codec.PublicMessage, ctx *codec.GroupContext, senderPub []byte) (codec.AuthenticatedContent, error) {
	ac := pm.AuthenticatedContent()
	if ac.Content.ContentType == codec.ContentTypeApplication {
		// ValSem005: application messages must use PrivateMessage.
		return codec.AuthenticatedContent{}, valsem.Errorf(valsem.ValSem005, "application data in a PublicMessage")
	}
	if ac.Content.Sender.SenderType == codec.SenderTypeMember {
		if err := VerifyMembershipTag(cs, membershipKey, pm, ctx); err != nil {
			return codec.AuthenticatedContent{}, err
		}
	}
	if err := checkConfirmationTagPresent(ac); err != nil {
		return codec.AuthenticatedContent{}, err
	}
	if err := VerifySignature(cs, senderPub, ac, ctx); err != nil {
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
	c := ac.Content
	if c.Sender.SenderType != codec.SenderTypeMember {
		return codec.PrivateMessage{}, st, Consumed{}, fmt.Errorf("%w: %v sender in a PrivateMessage", ErrSenderType, c.Sender.SenderType)
	}
	if ac.WireFormat != codec.WireFormatPrivateMessage {
		return codec.PrivateMessage{}, st, Consumed{}, fmt.Errorf("%w: wire format %v in a PrivateMessage", ErrContentType, ac.WireFormat)
	}
	if p.Padding < 0 {
		return codec.PrivateMessage{}, st, Consumed{}, fmt.Errorf("mls: negative padding %d", p.Padding)
	}
	pt, err := codec.PrivateMessageContent{
		ContentType:     c.ContentType,
		ApplicationData: c.ApplicationData,
		Proposal:        c.Proposal,
		Commit:          c.Commit,
		Auth:            ac.Auth,
		Padding:         p.Padding,
	}.Encode()
	if err != nil {
		return codec.PrivateMessage{}, st, Consumed{}, err
	}
	pm := codec.PrivateMessage{
		GroupID:           c.GroupID,
		Epoch:             c.Epoch,
		ContentType:       c.ContentType,
		AuthenticatedData: c.AuthenticatedData,
	}
	aad, err := pm.ContentAAD().Encode()
	if err != nil {
		return codec.PrivateMessage{}, st, Consumed{}, err
	}
	kind := ratchetKindOf(c.ContentType)
	rk, nst, err := st.Next(c.Sender.LeafIndex, kind)
	if err != nil {
		return codec.PrivateMessage{}, st, Consumed{}, err
	}
	pm.Ciphertext, err = cs.Seal(rk.Key, ApplyReuseGuard(rk.Nonce, p.ReuseGuard), aad, pt)
	if err != nil {
		return codec.PrivateMessage{}, st, Consumed{}, err
	}
	sd, err := codec.SenderData{LeafIndex: c.Sender.LeafIndex, Generation: rk.Generation, ReuseGuard: p.ReuseGuard}.Encode()
	if err != nil {
		return codec.PrivateMessage{}, st, Consumed{}, err
	}
	sdAAD, err := pm.SenderDataAAD().Encode()
	if err != nil {
		return codec.PrivateMessage{}, st, Consumed{}, err
	}
	sdKey, sdNonce, err := SenderDataKeyNonce(cs, senderDataSecret, pm.Ciphertext)
	if err != nil {
		return codec.PrivateMessage{}, st, Consumed{}, err
	}
	pm.EncryptedSenderData, err = cs.Seal(sdKey, sdNonce, sdAAD, sd)
	if err != nil {
		return codec.PrivateMessage{}, st, Consumed{}, err
	}
	return pm, nst, Consumed{Leaf: c.Sender.LeafIndex, Kind: kind, Generation: rk.Generation}, nil
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
	aad, err := pm.SenderDataAAD().Encode()
	if err != nil {
		return codec.SenderData{}, err
	}
	pt, err := cs.Open(key, nonce, aad, pm.EncryptedSenderData)
	if err != nil {
		// ValSem006: decryption of a PrivateMessage must succeed.
		return codec.SenderData{}, valsem.Wrap(valsem.ValSem006, err, "sender data")
	}
	sd, err := codec.DecodeSenderData(pt)
	if err != nil {
		return codec.SenderData{}, valsem.Wrap(valsem.ValSem006, fmt.Errorf("%w: %w", ErrMalformed, err), "sender data")
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
// made before choosing st and senderDataSecret.
//
// [RFC 9420, Section 6.3]: https://www.rfc-editor.org/rfc/rfc9420#section-6.3
func UnprotectPrivate(cs *suite.Suite, st SecretTree, senderDataSecret []byte, pm codec.PrivateMessage, ctx *codec.GroupContext, senderKey SenderKeyFunc) (codec.AuthenticatedContent, SecretTree, Consumed, error) {
	sd, err := DecryptSenderData(cs, senderDataSecret, pm)
	if err != nil {
		return codec.AuthenticatedContent{}, st, Consumed{}, err
	}
	kind := ratchetKindOf(pm.ContentType)
	rk, nst, err := st.Key(sd.LeafIndex, kind, sd.Generation)
	if err != nil {
		// ValSem006: no key for this sender and generation.
		return codec.AuthenticatedContent{}, st, Consumed{}, valsem.Wrap(valsem.ValSem006, err, "content key")
	}
	aad, err := pm.ContentAAD().Encode()
	if err != nil {
		return codec.AuthenticatedContent{}, st, Consumed{}, err
	}
	pt, err := cs.Open(rk.Key, ApplyReuseGuard(rk.Nonce, sd.ReuseGuard), aad, pm.Ciphertext)
	if err != nil {
		// ValSem006: decryption of a PrivateMessage must succeed.
		return codec.AuthenticatedContent{}, st, Consumed{}, valsem.Wrap(valsem.ValSem006, err, "content")
	}
	pmc, err := codec.DecodePrivateMessageContent(pt, pm.ContentType)
	if errors.Is(err, codec.ErrNonZeroPadding) {
		// ValSem011: PrivateMessageContent padding must be all zero.
		return codec.AuthenticatedContent{}, st, Consumed{}, valsem.Wrap(valsem.ValSem011, err, "padding")
	}
	if err != nil {
		return codec.AuthenticatedContent{}, st, Consumed{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	ac := codec.AuthenticatedContent{
		WireFormat: codec.WireFormatPrivateMessage,
		Content: codec.FramedContent{
			GroupID:           pm.GroupID,
			Epoch:             pm.Epoch,
			Sender:            codec.MemberSender(sd.LeafIndex),
			AuthenticatedData: pm.AuthenticatedData,
			ContentType:       pm.ContentType,
			ApplicationData:   pmc.ApplicationData,
			Proposal:          pmc.Proposal,
			Commit:            pmc.Commit,
		},
		Auth: pmc.Auth,
	}
	if err := checkConfirmationTagPresent(ac); err != nil {
		return codec.AuthenticatedContent{}, st, Consumed{}, err
	}
	pub, err := senderKey(sd.LeafIndex)
	if err != nil {
		return codec.AuthenticatedContent{}, st, Consumed{}, err
	}
	if err := VerifySignature(cs, pub, ac, ctx); err != nil {
		return codec.AuthenticatedContent{}, st, Consumed{}, err
	}
	return ac, nst, Consumed{Leaf: sd.LeafIndex, Kind: kind, Generation: rk.Generation}, nil
}
