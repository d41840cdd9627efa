package suite

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha3"

	"github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem/xwing"
)

// XWingChaCha20Poly1305SHA256Ed25519 is MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519,
// the post-quantum hybrid suite of code point 0x004D as OpenMLS assigns it:
// the X-Wing KEM (ML-KEM-768 combined with X25519,
// draft-connolly-cfrg-xwing-kem, HPKE KEM ID 0x647A), HKDF-SHA256,
// ChaCha20Poly1305 and Ed25519. Its code point is not registered by RFC 9420
// and its KEM is not in the working group's test vectors; interoperability
// holds with implementations that use the same code points.
const XWingChaCha20Poly1305SHA256Ed25519 ID = 0x004D

// kemXWing is X-Wing's HPKE KEM ID.
const kemXWing = 0x647A

// newXWingSuite describes the X-Wing suite, the last entry of the suites
// table. Nsk is X-Wing's 32-byte seed (its SerializePrivateKey form), Npk
// its 1216-byte public key; a KEM output (Nenc) is 1120 bytes and one
// encapsulation consumes 64 seed bytes.
func newXWingSuite() *Suite {
	return &Suite{
		id: XWingChaCha20Poly1305SHA256Ed25519, name: "MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519",
		hash: crypto.SHA256, newHash: sha256.New, nh: 32,
		aead: aeadChaCha20Poly1305, nk: 32, nn: 12,
		hpke:  hpke.NewSuite(hpke.KEM_XWING, hpke.KDF_HKDF_SHA256, hpke.AEAD_ChaCha20Poly1305),
		kemID: kemXWing, kem: hpke.KEM_XWING.Scheme(), kemHash: sha256.New, kemNh: 32,
		nsk: xwing.PrivateKeySize, npk: xwing.PublicKeySize,
		sig: sigEd25519, nsig: 32,
	}
}

// deriveXWingKeyPair is X-Wing's DeriveKeyPair for HPKE: the key pair
// seed is SHAKE256(ikm, 32), as the X-Wing draft's HPKE section and circl's
// HPKE binding define it, so any ikm length is accepted. The private key is
// that seed (X-Wing's serialized private key).
func deriveXWingKeyPair(ikm []byte) (priv, pub []byte) {
	seed := sha3.SumSHAKE256(ikm, xwing.SeedSize)
	_, pub = xwing.DeriveKeyPairPacked(seed)
	return seed, pub
}
