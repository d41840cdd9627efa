package suite

import (
	"crypto"
	"crypto/ecdh"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"

	"github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem"
)

// ID is an MLS cipher suite identifier, the CipherSuite value of
// [RFC 9420, Section 17.1].
//
// [RFC 9420, Section 17.1]: https://www.rfc-editor.org/rfc/rfc9420#section-17.1
type ID uint16

// The cipher suites of RFC 9420, Section 17.1.
const (
	// X25519AES128GCMSHA256Ed25519 is MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519.
	X25519AES128GCMSHA256Ed25519 ID = 1
	// P256AES128GCMSHA256P256 is MLS_128_DHKEMP256_AES128GCM_SHA256_P256.
	P256AES128GCMSHA256P256 ID = 2
	// X25519ChaCha20Poly1305SHA256Ed25519 is MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519.
	X25519ChaCha20Poly1305SHA256Ed25519 ID = 3
	// X448AES256GCMSHA512Ed448 is MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448.
	X448AES256GCMSHA512Ed448 ID = 4
	// P521AES256GCMSHA512P521 is MLS_256_DHKEMP521_AES256GCM_SHA512_P521.
	P521AES256GCMSHA512P521 ID = 5
	// X448ChaCha20Poly1305SHA512Ed448 is MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448.
	X448ChaCha20Poly1305SHA512Ed448 ID = 6
	// P384AES256GCMSHA384P384 is MLS_256_DHKEMP384_AES256GCM_SHA384_P384.
	P384AES256GCMSHA384P384 ID = 7
)

// Sentinel errors. Every error of this package wraps one of them (errors.Is).
var (
	// ErrUnsupportedSuite reports a cipher suite ID this package does not implement.
	ErrUnsupportedSuite = errors.New("mls: unsupported cipher suite")
	// ErrBadSignature reports a signature that does not verify (or cannot be parsed).
	ErrBadSignature = errors.New("mls: invalid signature")
	// ErrDecrypt reports an AEAD or HPKE decryption failure: a tampered or
	// truncated ciphertext, wrong key, nonce or associated data, or an
	// invalid KEM output.
	ErrDecrypt = errors.New("mls: decryption failed")
	// ErrBadKey reports a malformed key: wrong length, a point not on the
	// curve, a scalar out of range.
	ErrBadKey = errors.New("mls: invalid key")
	// ErrLength reports an input of the wrong length (a nonce, a seed) or a
	// requested output length out of range.
	ErrLength = errors.New("mls: invalid length")
	// ErrSigner reports a failure of an external signer
	// (NewExternalSigner): its error, or a signature that does not verify
	// under its public key.
	ErrSigner = errors.New("mls: external signer failed")
)

// kemID values (RFC 9180, Section 7.1) used by the KEM's own labeled KDF.
const (
	kemP256   = 0x0010
	kemP384   = 0x0011
	kemP521   = 0x0012
	kemX25519 = 0x0020
	kemX448   = 0x0021
)

// sigAlg is the signature algorithm of a suite.
type sigAlg uint8

const (
	sigEd25519 sigAlg = iota + 1
	sigEd448
	sigECDSA
)

// aeadAlg is the AEAD of a suite.
type aeadAlg uint8

const (
	aeadAESGCM aeadAlg = iota + 1
	aeadChaCha20Poly1305
)

// Suite is one MLS cipher suite. It is immutable after construction and safe
// for concurrent use; obtain one with Lookup.
type Suite struct {
	id   ID
	name string

	// Hash and KDF (HKDF over the suite's hash).
	hash    crypto.Hash
	newHash func() hash.Hash
	nh      int // hash output length = KDF.Nh

	// AEAD.
	aead aeadAlg
	nk   int
	nn   int

	// HPKE.
	hpke    hpke.Suite
	kemID   uint16
	kem     kem.Scheme
	kemHash func() hash.Hash // the KEM's own KDF hash (RFC 9180, Section 7.1)
	kemNh   int              // its output length
	ecdh    ecdh.Curve       // nil for X25519/X448
	nsk     int              // KEM private key length
	npk     int              // KEM public key length

	// Signatures.
	sig   sigAlg
	curve elliptic.Curve // ECDSA only
	nsig  int            // signature private key (seed or scalar) length
}

// suites holds the seven suites of RFC 9420, indexed by ID-1, then the
// X-Wing suite (ID 0x004D).
var suites = [...]*Suite{
	{
		id: X25519AES128GCMSHA256Ed25519, name: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
		hash: crypto.SHA256, newHash: sha256.New, nh: 32,
		aead: aeadAESGCM, nk: 16, nn: 12,
		hpke:  hpke.NewSuite(hpke.KEM_X25519_HKDF_SHA256, hpke.KDF_HKDF_SHA256, hpke.AEAD_AES128GCM),
		kemID: kemX25519, kem: hpke.KEM_X25519_HKDF_SHA256.Scheme(), kemHash: sha256.New, kemNh: 32, nsk: 32, npk: 32,
		sig: sigEd25519, nsig: 32,
	},
	{
		id: P256AES128GCMSHA256P256, name: "MLS_128_DHKEMP256_AES128GCM_SHA256_P256",
		hash: crypto.SHA256, newHash: sha256.New, nh: 32,
		aead: aeadAESGCM, nk: 16, nn: 12,
		hpke:  hpke.NewSuite(hpke.KEM_P256_HKDF_SHA256, hpke.KDF_HKDF_SHA256, hpke.AEAD_AES128GCM),
		kemID: kemP256, kem: hpke.KEM_P256_HKDF_SHA256.Scheme(), kemHash: sha256.New, kemNh: 32, ecdh: ecdh.P256(), nsk: 32, npk: 65,
		sig: sigECDSA, curve: elliptic.P256(), nsig: 32,
	},
	{
		id: X25519ChaCha20Poly1305SHA256Ed25519, name: "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
		hash: crypto.SHA256, newHash: sha256.New, nh: 32,
		aead: aeadChaCha20Poly1305, nk: 32, nn: 12,
		hpke:  hpke.NewSuite(hpke.KEM_X25519_HKDF_SHA256, hpke.KDF_HKDF_SHA256, hpke.AEAD_ChaCha20Poly1305),
		kemID: kemX25519, kem: hpke.KEM_X25519_HKDF_SHA256.Scheme(), kemHash: sha256.New, kemNh: 32, nsk: 32, npk: 32,
		sig: sigEd25519, nsig: 32,
	},
	{
		id: X448AES256GCMSHA512Ed448, name: "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448",
		hash: crypto.SHA512, newHash: sha512.New, nh: 64,
		aead: aeadAESGCM, nk: 32, nn: 12,
		hpke:  hpke.NewSuite(hpke.KEM_X448_HKDF_SHA512, hpke.KDF_HKDF_SHA512, hpke.AEAD_AES256GCM),
		kemID: kemX448, kem: hpke.KEM_X448_HKDF_SHA512.Scheme(), kemHash: sha512.New, kemNh: 64, nsk: 56, npk: 56,
		sig: sigEd448, nsig: 57,
	},
	{
		id: P521AES256GCMSHA512P521, name: "MLS_256_DHKEMP521_AES256GCM_SHA512_P521",
		hash: crypto.SHA512, newHash: sha512.New, nh: 64,
		aead: aeadAESGCM, nk: 32, nn: 12,
		hpke:  hpke.NewSuite(hpke.KEM_P521_HKDF_SHA512, hpke.KDF_HKDF_SHA512, hpke.AEAD_AES256GCM),
		kemID: kemP521, kem: hpke.KEM_P521_HKDF_SHA512.Scheme(), kemHash: sha512.New, kemNh: 64, ecdh: ecdh.P521(), nsk: 66, npk: 133,
		sig: sigECDSA, curve: elliptic.P521(), nsig: 66,
	},
	{
		id: X448ChaCha20Poly1305SHA512Ed448, name: "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448",
		hash: crypto.SHA512, newHash: sha512.New, nh: 64,
		aead: aeadChaCha20Poly1305, nk: 32, nn: 12,
		hpke:  hpke.NewSuite(hpke.KEM_X448_HKDF_SHA512, hpke.KDF_HKDF_SHA512, hpke.AEAD_ChaCha20Poly1305),
		kemID: kemX448, kem: hpke.KEM_X448_HKDF_SHA512.Scheme(), kemHash: sha512.New, kemNh: 64, nsk: 56, npk: 56,
		sig: sigEd448, nsig: 57,
	},
	{
		id: P384AES256GCMSHA384P384, name: "MLS_256_DHKEMP384_AES256GCM_SHA384_P384",
		hash: crypto.SHA384, newHash: sha512.New384, nh: 48,
		aead: aeadAESGCM, nk: 32, nn: 12,
		hpke:  hpke.NewSuite(hpke.KEM_P384_HKDF_SHA384, hpke.KDF_HKDF_SHA384, hpke.AEAD_AES256GCM),
		kemID: kemP384, kem: hpke.KEM_P384_HKDF_SHA384.Scheme(), kemHash: sha512.New384, kemNh: 48, ecdh: ecdh.P384(), nsk: 48, npk: 97,
		sig: sigECDSA, curve: elliptic.P384(), nsig: 48,
	},
	newXWingSuite(),
}

// rfcSuites is the number of RFC 9420 suites at the start of suites.
const rfcSuites = 7

// String returns the suite's IANA name (RFC 9420, Section 17.1), or
// "CipherSuite(0x....)" for an unknown ID.
func (id ID) String() string {
	if s, err := Lookup(id); err == nil {
		return s.name
	}
	return fmt.Sprintf("CipherSuite(0x%04x)", uint16(id))
}

// All returns the IDs of the supported suites in ascending order: the seven
// of RFC 9420 (RFC9420Suites) and the X-Wing suite
// (XWingChaCha20Poly1305SHA256Ed25519). The caller owns the returned slice.
func All() []ID {
	ids := make([]ID, len(suites))
	for i, s := range suites {
		ids[i] = s.id
	}
	return ids
}

// RFC9420Suites returns the IDs of the seven suites of RFC 9420,
// Section 17.1 (1 to 7), the ones the working group's test vectors cover.
// The caller owns the returned slice.
func RFC9420Suites() []ID {
	ids := make([]ID, rfcSuites)
	for i, s := range suites[:rfcSuites] {
		ids[i] = s.id
	}
	return ids
}

// Lookup returns the suite for id. For an unknown id the error wraps
// ErrUnsupportedSuite and names the id.
func Lookup(id ID) (*Suite, error) {
	if id == XWingChaCha20Poly1305SHA256Ed25519 {
		return suites[rfcSuites], nil
	}
	if id == 0 || int(id) > rfcSuites {
		return nil, fmt.Errorf("%w: 0x%04x", ErrUnsupportedSuite, uint16(id))
	}
	return suites[id-1], nil
}

// ID returns the suite's identifier.
func (s *Suite) ID() ID { return s.id }

// HashLen returns Nh, the length of the suite's hash output, which is also
// the KDF's output length (KDF.Nh).
func (s *Suite) HashLen() int { return s.nh }

// AEADKeyLen returns Nk, the AEAD key length in bytes.
func (s *Suite) AEADKeyLen() int { return s.nk }

// AEADNonceLen returns Nn, the AEAD nonce length in bytes.
func (s *Suite) AEADNonceLen() int { return s.nn }
