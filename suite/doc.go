// Package suite implements the seven MLS cipher suites of RFC 9420
// (Section 17.1), the post-quantum hybrid suite 0x004D (X-Wing, as OpenMLS
// numbers it) and the cryptographic building blocks MLS defines on top of
// them in [RFC 9420, Section 5]: the hash, the KDF with ExpandWithLabel,
// DeriveSecret and DeriveTreeSecret (Section 8), RefHash (Section 5.2), the
// MAC, the AEAD, HPKE with EncryptWithLabel and DecryptWithLabel
// (Section 5.1.3) and SignWithLabel and VerifyWithLabel (Section 5.1.2).
//
//	ID  KEM                        AEAD               Hash     Signature
//	1   DHKEM(X25519, HKDF-SHA256) AES-128-GCM        SHA-256  Ed25519
//	2   DHKEM(P-256, HKDF-SHA256)  AES-128-GCM        SHA-256  ECDSA P-256
//	3   DHKEM(X25519, HKDF-SHA256) ChaCha20Poly1305   SHA-256  Ed25519
//	4   DHKEM(X448, HKDF-SHA512)   AES-256-GCM        SHA-512  Ed448
//	5   DHKEM(P-521, HKDF-SHA512)  AES-256-GCM        SHA-512  ECDSA P-521
//	6   DHKEM(X448, HKDF-SHA512)   ChaCha20Poly1305   SHA-512  Ed448
//	7   DHKEM(P-384, HKDF-SHA384)  AES-256-GCM        SHA-384  ECDSA P-384
//	77  X-Wing (ML-KEM-768+X25519) ChaCha20Poly1305   SHA-256  Ed25519
//
// Everything here is pure and deterministic: the package reads no clock and
// draws no randomness of its own. Operations that need randomness take it
// as an explicit seed argument (HPKESeal, HPKEExportSender,
// EncryptWithLabel, GenerateSignatureKey), so the same inputs always give
// the same bytes. Concretely:
//
//   - HPKE key pairs come from DeriveKeyPair, this package's own
//     implementation of [RFC 9180, Section 7.1.3] for every KEM (circl's
//     requires the seed to be exactly Nsk bytes long, while MLS passes
//     Nh-byte secrets, which differ for X448 and P-521). X-Wing's is its
//     draft's HPKE binding: the private key is the seed SHAKE256(ikm, 32).
//   - HPKE encapsulation goes through circl's Sender.Setup with a reader
//     that yields exactly the caller's seed (HPKESeedLen bytes: Nsk for
//     the DHKEMs, 64 for X-Wing, whose ML-KEM and X25519 halves take 32
//     each), that is through EncapsulateDeterministically.
//   - ECDSA signatures are deterministic (RFC 6979, through
//     (*ecdsa.PrivateKey).Sign with a nil reader); EdDSA is deterministic by
//     design.
//
// A *Suite is immutable and safe for concurrent use, and so is a *Signer.
// Bad input (wrong key or nonce lengths, invalid points, tampered
// ciphertexts or signatures) returns an error wrapping one of the sentinel
// errors; it never panics.
//
// [RFC 9420, Section 5]: https://www.rfc-editor.org/rfc/rfc9420#section-5
// [RFC 9180, Section 7.1.3]: https://www.rfc-editor.org/rfc/rfc9180#section-7.1.3
package suite
