// Package keysched implements the MLS key schedule of [RFC 9420, Section 8]
// and the secret tree of [RFC 9420, Section 9], plus the cryptographic
// primitives of message protection ([RFC 9420, Section 6.2] and
// [RFC 9420, Section 6.3]) and of Welcome processing
// ([RFC 9420, Section 12.4.3.1]).
//
// The package is pure: it does no I/O, reads no clock and draws no
// randomness. Every random value (an HPKE encapsulation seed, a reuse guard)
// is an argument.
//
// # Typed secrets
//
// Each secret of the key schedule has its own type, and each type's methods
// derive only the next step, so the steps cannot run out of order or be
// confused with one another (as in crypto/internal/fips140/tls13 and
// OpenMLS's schedule module):
//
//	InitSecret ──Joiner──▶ JoinerSecret ──WithPSK──▶ IntermediateSecret ─┬─Welcome──▶ WelcomeSecret
//	                                                                     └─Epoch────▶ EpochSecrets ──Next──▶ InitSecret
//
// The diagram of the RFC (Section 8), which these types follow:
//
//	                    init_secret_[n-1]
//	                          |
//	                          |
//	                          V
//	    commit_secret --> KDF.Extract
//	                          |
//	                          |
//	                          V
//	                  ExpandWithLabel(., "joiner", GroupContext_[n], KDF.Nh)
//	                          |
//	                          |
//	                          V
//	                     joiner_secret
//	                          |
//	                          |
//	                          V
//	psk_secret (or 0) --> KDF.Extract
//	                          |
//	                          |
//	                          +--> DeriveSecret(., "welcome")
//	                          |    = welcome_secret
//	                          |
//	                          V
//	                  ExpandWithLabel(., "epoch", GroupContext_[n], KDF.Nh)
//	                          |
//	                          |
//	                          V
//	                     epoch_secret
//	                          |
//	                          |
//	                          +--> DeriveSecret(., <label>)
//	                          |    = <secret>
//	                          |
//	                          V
//	                    DeriveSecret(., "init")
//	                          |
//	                          |
//	                          V
//	                    init_secret_[n]
//
// The labels of the epoch-derived secrets are "sender data", "encryption",
// "exporter", "external", "confirm", "membership", "resumption" and
// "authentication"; [EpochSecrets] holds them all.
//
// # Secret tree
//
// [SecretTree] is a persistent value: every operation returns a new tree and
// leaves the old one usable, sharing all unchanged structure (see
// internal/pds). It follows the deletion schedule of [RFC 9420, Section 9.2]:
// a node secret is dropped as soon as its children are derived, a leaf
// secret as soon as its two ratchets are, a ratchet secret as soon as the
// next one is, and a key as soon as it is handed out. Keys of skipped
// generations are retained within the window of a [RatchetConfig].
//
// # Bounded work for hostile input
//
// A PrivateMessage and a Welcome's GroupSecrets are decrypted with keys a
// member (or a Welcome's creator) holds, so their plaintexts are as hostile
// as any input: they are decoded within a [codec.Bounds] the caller gives
// (transitions passes Limits.Bounds), and a vector over one fails in the
// decoder's counting pass, before its elements are allocated, with a
// *codec.LimitError naming the bound (wrapped in [ErrMalformed] by
// UnprotectPrivate). The constants (bytes allocated per byte of ciphertext, 64-bit):
//
//   - [UnprotectPrivate] and [UnprotectPrivateWire]: at most 4 per byte
//     (the decryption buffer and fixed costs; TestUnprotectPrivateBounds,
//     maxAllocRatio, 1.1 measured for 2^16 proposal references or path
//     secrets over bounds of 1000). With the zero Bounds, the codec's
//     memory allowance (16 per byte plus 48 KiB) still rejects such a
//     content, within 10 per byte.
//   - [DecryptGroupSecretsBounded]: at most 2 per byte plus 64 KiB for
//     psks over MaxProposals (TestDecryptGroupSecretsBounded);
//     [DecryptGroupSecrets] is bounded by the codec's allowance only.
//
// [RFC 9420, Section 8]: https://www.rfc-editor.org/rfc/rfc9420#section-8
// [RFC 9420, Section 9]: https://www.rfc-editor.org/rfc/rfc9420#section-9
// [RFC 9420, Section 9.2]: https://www.rfc-editor.org/rfc/rfc9420#section-9.2
// [RFC 9420, Section 6.2]: https://www.rfc-editor.org/rfc/rfc9420#section-6.2
// [RFC 9420, Section 6.3]: https://www.rfc-editor.org/rfc/rfc9420#section-6.3
// [RFC 9420, Section 12.4.3.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.1
package keysched
