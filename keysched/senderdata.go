package keysched

import (
	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
)

// ReuseGuardLen is the length of SenderData.reuse_guard.
const ReuseGuardLen = 4

// SenderDataKeyNonce derives the key and nonce that protect a
// PrivateMessage's SenderData ([RFC 9420, Section 6.3.2]):
//
//	ciphertext_sample = ciphertext[0..KDF.Nh-1]
//	sender_data_key   = ExpandWithLabel(sender_data_secret, "key", ciphertext_sample, AEAD.Nk)
//	sender_data_nonce = ExpandWithLabel(sender_data_secret, "nonce", ciphertext_sample, AEAD.Nn)
//
// A ciphertext shorter than KDF.Nh is used whole.
//
// [RFC 9420, Section 6.3.2]: https://www.rfc-editor.org/rfc/rfc9420#section-6.3.2
func SenderDataKeyNonce(cs *suite.Suite, senderDataSecret, ciphertext []byte) (key, nonce []byte, err error) {
	sample := ciphertext[:min(len(ciphertext), cs.HashLen())]
	key, err = cs.ExpandWithLabel(senderDataSecret, "key", sample, cs.AEADKeyLen())
	if err != nil {
		return nil, nil, err
	}
	nonce, err = cs.ExpandWithLabel(senderDataSecret, "nonce", sample, cs.AEADNonceLen())
	if err != nil {
		return nil, nil, err
	}
	return key, nonce, nil
}

// ApplyReuseGuard returns a new nonce: nonce with guard XORed into its first
// four bytes ([RFC 9420, Section 6.3.1]). nonce is not modified.
//
// [RFC 9420, Section 6.3.1]: https://www.rfc-editor.org/rfc/rfc9420#section-6.3.1
func ApplyReuseGuard(nonce []byte, guard [ReuseGuardLen]byte) []byte {
	out := clone(nonce)
	for i := range min(len(out), ReuseGuardLen) {
		out[i] ^= guard[i]
	}
	return out
}

// applyReuseGuardInPlace is ApplyReuseGuard that XORs guard into nonce
// itself and returns it: for a nonce that the caller owns and uses once.
func applyReuseGuardInPlace(nonce []byte, guard [ReuseGuardLen]byte) []byte {
	for i := range min(len(nonce), ReuseGuardLen) {
		nonce[i] ^= guard[i]
	}
	return nonce
}

// privateAADs encodes pm's PrivateContentAAD into one buffer and returns
// it with pm's SenderDataAAD, which is its prefix (group_id, epoch,
// content_type; RFC 9420, Section 6.3): the content AAD adds
// authenticated_data after it.
func privateAADs(pm codec.PrivateMessage) (content, senderData []byte, err error) {
	b := cryptobyte.NewBuilder(make([]byte, 0, codec.OpaqueBound(len(pm.GroupID))+9+codec.OpaqueBound(len(pm.AuthenticatedData))))
	pm.SenderDataAAD().Marshal(b)
	sd, err := b.Bytes()
	if err != nil {
		return nil, nil, err
	}
	n := len(sd)
	codec.AddOpaque(b, pm.AuthenticatedData)
	if content, err = b.Bytes(); err != nil {
		return nil, nil, err
	}
	return content, content[:n:n], nil
}

// sealSenderData encodes sd into a buffer with room for the AEAD tag and
// seals it there with the sender data key and nonce (RFC 9420, Section
// 6.3.2).
func sealSenderData(cs *suite.Suite, key, nonce, aad []byte, sd codec.SenderData) ([]byte, error) {
	b := cryptobyte.NewBuilder(make([]byte, 0, 8+ReuseGuardLen+cs.AEADOverhead()))
	sd.Marshal(b)
	pt, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	return cs.SealInPlace(key, nonce, aad, pt)
}
