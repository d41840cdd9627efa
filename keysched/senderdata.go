package keysched

import (
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
