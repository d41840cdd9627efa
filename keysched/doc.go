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
// [RFC 9420, Section 8]: https://www.rfc-editor.org/rfc/rfc9420#section-8
// [RFC 9420, Section 9]: https://www.rfc-editor.org/rfc/rfc9420#section-9
// [RFC 9420, Section 9.2]: https://www.rfc-editor.org/rfc/rfc9420#section-9.2
// [RFC 9420, Section 6.2]: https://www.rfc-editor.org/rfc/rfc9420#section-6.2
// [RFC 9420, Section 6.3]: https://www.rfc-editor.org/rfc/rfc9420#section-6.3
// [RFC 9420, Section 12.4.3.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.1
package keysched
