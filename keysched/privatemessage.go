package keysched

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
)

// ProtectPrivateMessage is ProtectPrivate that also returns the encoded
// MLSMessage (version mls10) carrying the PrivateMessage. The content is
// encoded and encrypted in place inside the message's buffer, after room
// for the message's head, which is written last in front of it: a large
// application message is copied once, into the plaintext, and not again
// into the message. The PrivateMessage's ciphertext is a sub-slice of the
// encoding; its group id and authenticated data are ac's. On error st is
// returned unchanged.
func ProtectPrivateMessage(cs *suite.Suite, st SecretTree, senderDataSecret []byte, ac codec.AuthenticatedContent, p PrivateParams) ([]byte, codec.PrivateMessage, SecretTree, Consumed, error) {
	c := ac.Content
	if c.Sender.SenderType != codec.SenderTypeMember {
		return nil, codec.PrivateMessage{}, st, Consumed{}, fmt.Errorf("%w: %v sender in a PrivateMessage", ErrSenderType, c.Sender.SenderType)
	}
	if ac.WireFormat != codec.WireFormatPrivateMessage {
		return nil, codec.PrivateMessage{}, st, Consumed{}, fmt.Errorf("%w: wire format %v in a PrivateMessage", ErrContentType, ac.WireFormat)
	}
	if p.Padding < 0 {
		return nil, codec.PrivateMessage{}, st, Consumed{}, fmt.Errorf("mls: negative padding %d", p.Padding)
	}
	if len(c.GroupID) > codec.MaxVarint || len(c.AuthenticatedData) > codec.MaxVarint {
		return nil, codec.PrivateMessage{}, st, Consumed{}, fmt.Errorf("%w: group id or authenticated data", codec.ErrTooLong)
	}
	pm := codec.PrivateMessage{GroupID: c.GroupID, Epoch: c.Epoch, ContentType: c.ContentType, AuthenticatedData: c.AuthenticatedData}
	headRoom := privateHeadBound(cs, pm)
	buf, err := privatePlaintext(cs, ac, p.Padding, headRoom)
	if err != nil {
		return nil, codec.PrivateMessage{}, st, Consumed{}, err
	}
	aad, sdAAD, err := privateAADs(pm)
	if err != nil {
		return nil, codec.PrivateMessage{}, st, Consumed{}, err
	}
	kind := ratchetKindOf(c.ContentType)
	rk, nst, err := st.Next(c.Sender.LeafIndex, kind)
	if err != nil {
		return nil, codec.PrivateMessage{}, st, Consumed{}, err
	}
	// buf[headRoom:] has room for the tag: the ciphertext takes the
	// plaintext's place. rk's nonce is a fresh value of this call: the
	// guard is applied to it in place.
	if pm.Ciphertext, err = cs.SealInPlace(rk.Key, applyReuseGuardInPlace(rk.Nonce, p.ReuseGuard), aad, buf[headRoom:]); err != nil {
		return nil, codec.PrivateMessage{}, st, Consumed{}, err
	}
	if len(pm.Ciphertext) == 0 || &pm.Ciphertext[0] != &buf[:headRoom+1][headRoom] {
		return nil, codec.PrivateMessage{}, st, Consumed{}, fmt.Errorf("mls: PrivateMessage ciphertext not sealed in place")
	}
	if len(pm.Ciphertext) > codec.MaxVarint {
		return nil, codec.PrivateMessage{}, st, Consumed{}, fmt.Errorf("%w: PrivateMessage ciphertext of %d bytes", codec.ErrTooLong, len(pm.Ciphertext))
	}
	sdKey, sdNonce, err := SenderDataKeyNonce(cs, senderDataSecret, pm.Ciphertext)
	if err != nil {
		return nil, codec.PrivateMessage{}, st, Consumed{}, err
	}
	sd := codec.SenderData{LeafIndex: c.Sender.LeafIndex, Generation: rk.Generation, ReuseGuard: p.ReuseGuard}
	if pm.EncryptedSenderData, err = sealSenderData(cs, sdKey, sdNonce, sdAAD, sd); err != nil {
		return nil, codec.PrivateMessage{}, st, Consumed{}, err
	}
	msg, err := putPrivateHead(buf[:headRoom], pm)
	if err != nil {
		return nil, codec.PrivateMessage{}, st, Consumed{}, err
	}
	return msg[:len(msg)+len(pm.Ciphertext)], pm, nst, Consumed{Leaf: c.Sender.LeafIndex, Kind: kind, Generation: rk.Generation}, nil
}

// privateHeadBound bounds the length of the encoded MLSMessage before a
// PrivateMessage's ciphertext: version, wire format, group id, epoch,
// content type, authenticated data, encrypted sender data and the
// ciphertext's length prefix.
func privateHeadBound(cs *suite.Suite, pm codec.PrivateMessage) int {
	return 4 + codec.OpaqueBound(len(pm.GroupID)) + 9 + codec.OpaqueBound(len(pm.AuthenticatedData)) +
		codec.OpaqueBound(8+ReuseGuardLen+cs.AEADOverhead()) + 4
}

// privatePlaintext encodes ac's PrivateMessageContent with padding zero
// bytes into a buffer after headRoom bytes, with room after it for the
// AEAD tag: buf[headRoom:] is the plaintext. Application data is encoded
// in place; a proposal or commit, whose length is not bounded up front,
// is encoded by a growing builder and copied in.
func privatePlaintext(cs *suite.Suite, ac codec.AuthenticatedContent, padding, headRoom int) ([]byte, error) {
	c, a := ac.Content, ac.Auth
	n := bodyBound(c) + codec.OpaqueBound(len(a.Signature)) + codec.OpaqueBound(len(a.ConfirmationTag)) + padding + cs.AEADOverhead()
	buf := make([]byte, headRoom, headRoom+n)
	b := cryptobyte.NewBuilder(buf[headRoom:headRoom])
	codec.PrivateMessageContent{ContentType: c.ContentType, ApplicationData: c.ApplicationData, Proposal: c.Proposal,
		Commit: c.Commit, Auth: a, Padding: padding}.Marshal(b)
	pt, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	if len(pt)+cs.AEADOverhead() > n {
		// The builder outgrew buf (or left no room for the tag).
		buf = append(make([]byte, headRoom, headRoom+len(pt)+cs.AEADOverhead()), pt...)
	}
	return buf[:headRoom+len(pt)], nil
}

// putPrivateHead writes the MLSMessage head of pm (everything before the
// ciphertext's bytes) at the end of room and returns the message's start
// in room's array: room[len(room)-len(head):], extended by the caller over
// the ciphertext that follows room.
func putPrivateHead(room []byte, pm codec.PrivateMessage) ([]byte, error) {
	ctLen := len(pm.Ciphertext)
	n := 4 + codec.OpaqueLen(len(pm.GroupID)) + 9 + codec.OpaqueLen(len(pm.AuthenticatedData)) +
		codec.OpaqueLen(len(pm.EncryptedSenderData)) + codec.OpaqueLen(ctLen) - ctLen
	if n > len(room) {
		return nil, fmt.Errorf("mls: PrivateMessage head of %d bytes in %d", n, len(room))
	}
	h := room[len(room)-n : len(room)-n]
	h = binary.BigEndian.AppendUint16(h, uint16(codec.MLS10))
	h = binary.BigEndian.AppendUint16(h, uint16(codec.WireFormatPrivateMessage))
	h = codec.AppendOpaque(h, pm.GroupID)
	h = binary.BigEndian.AppendUint64(h, pm.Epoch)
	h = append(h, byte(pm.ContentType))
	h = codec.AppendOpaque(h, pm.AuthenticatedData)
	h = codec.AppendOpaque(h, pm.EncryptedSenderData)
	h = codec.AppendVarint(h, uint32(ctLen))
	if len(h) != n {
		return nil, fmt.Errorf("mls: PrivateMessage head of %d bytes, want %d", len(h), n)
	}
	return h, nil
}
