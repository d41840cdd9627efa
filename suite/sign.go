package suite

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"fmt"

	"github.com/cloudflare/circl/sign/ed448"
)

// ecdsaKeyLabel is the ExpandWithLabel label under which
// GenerateSignatureKey draws ECDSA scalar candidates from its seed. It is
// specific to this implementation (RFC 9420 leaves key generation to the
// signature scheme) and distinct from every label RFC 9420 uses.
const ecdsaKeyLabel = "mlscore ECDSA signature key candidate"

// SignatureSeedLen returns the seed length GenerateSignatureKey requires:
// 32 for Ed25519, 57 for Ed448, and the scalar length for ECDSA (32 for
// P-256, 48 for P-384, 66 for P-521).
func (s *Suite) SignatureSeedLen() int { return s.nsig }

// GenerateSignatureKey derives a signature key pair from seed, which must
// be exactly SignatureSeedLen bytes (else ErrLength). priv is in the format
// of the MLS test vectors: the RFC 8032 seed for Ed25519 and Ed448 (so
// priv == seed), the big-endian scalar for ECDSA. pub is the RFC 8032
// public key, or the uncompressed SEC1 point for ECDSA.
//
// For ECDSA, the scalar is the first candidate, for ctr = 0, 1, ..., 255,
// of ExpandWithLabel(Extract("", seed), "mlscore ECDSA signature key
// candidate", [ctr], Nsk) (with the top seven bits cleared for P-521) that
// is a valid nonzero scalar below the group order; this mirrors RFC 9180's
// DeriveKeyPair for the NIST curves, under a different label.
func (s *Suite) GenerateSignatureKey(seed []byte) (priv, pub []byte, err error) {
	if len(seed) != s.nsig {
		return nil, nil, fmt.Errorf("%w: signature key seed of %d bytes, want %d", ErrLength, len(seed), s.nsig)
	}
	switch s.sig {
	case sigEd25519, sigEd448:
		priv = append([]byte(nil), seed...)
	default:
		prk := s.Extract(nil, seed)
		mask := byte(0xff)
		if s.nsig == 66 {
			mask = 0x01
		}
		for ctr := 0; ctr <= 255 && priv == nil; ctr++ {
			cand, err := s.ExpandWithLabel(prk, ecdsaKeyLabel, []byte{byte(ctr)}, s.nsig)
			if err != nil {
				return nil, nil, err
			}
			cand[0] &= mask
			if _, err := ecdsa.ParseRawPrivateKey(s.curve, cand); err == nil {
				priv = cand
			}
		}
		if priv == nil {
			return nil, nil, fmt.Errorf("%w: no valid ECDSA scalar derived from seed", ErrBadKey)
		}
	}
	pub, err = s.SignaturePublicKey(priv)
	if err != nil {
		return nil, nil, err
	}
	return priv, pub, nil
}

// SignaturePublicKey returns the public key of a signature private key (in
// the format GenerateSignatureKey returns). The error wraps ErrBadKey.
func (s *Suite) SignaturePublicKey(priv []byte) ([]byte, error) {
	g, err := s.NewSigner(priv)
	if err != nil {
		return nil, err
	}
	return g.pub, nil
}

// Signer is a parsed signature private key of one suite. It is immutable
// and safe for concurrent use; parsing once saves the per-signature cost of
// recomputing the public key (a scalar multiplication).
type Signer struct {
	s       *Suite
	pub     []byte
	ed25519 ed25519.PrivateKey
	ed448   ed448.PrivateKey
	ecdsa   *ecdsa.PrivateKey
}

// NewSigner parses a signature private key in the format
// GenerateSignatureKey returns (RFC 8032 seed, or big-endian ECDSA scalar).
// A key of the wrong length or out of range wraps ErrBadKey.
func (s *Suite) NewSigner(priv []byte) (*Signer, error) {
	// An ECDSA scalar is a big-endian integer: some encoders drop its leading
	// zero bytes (the working group's message-protection vector for P-521
	// does), so a shorter key is left-padded to the field length.
	if s.sig != sigEd25519 && s.sig != sigEd448 && len(priv) > 0 && len(priv) < s.nsig {
		priv = append(make([]byte, s.nsig-len(priv)), priv...)
	}
	if len(priv) != s.nsig {
		return nil, fmt.Errorf("%w: signature private key of %d bytes, want %d", ErrBadKey, len(priv), s.nsig)
	}
	g := &Signer{s: s}
	switch s.sig {
	case sigEd25519:
		g.ed25519 = ed25519.NewKeyFromSeed(priv)
		g.pub = append([]byte(nil), g.ed25519[ed25519.SeedSize:]...)
	case sigEd448:
		g.ed448 = ed448.NewKeyFromSeed(priv)
		g.pub = append([]byte(nil), g.ed448[ed448.SeedSize:]...)
	default:
		k, err := ecdsa.ParseRawPrivateKey(s.curve, priv)
		if err != nil {
			return nil, fmt.Errorf("%w: ECDSA private key: %v", ErrBadKey, err)
		}
		pub, err := k.PublicKey.Bytes()
		if err != nil {
			return nil, fmt.Errorf("%w: ECDSA public key: %v", ErrBadKey, err)
		}
		g.ecdsa, g.pub = k, pub
	}
	return g, nil
}

// Public returns the signer's public key (a fresh copy).
func (g *Signer) Public() []byte { return append([]byte(nil), g.pub...) }

// SignWithLabel is RFC 9420's SignWithLabel (Section 5.1.2): a signature
// over SignContent{label = "MLS 1.0 "+label, content}. Ed25519 and Ed448
// sign SignContent directly (pure EdDSA, empty context); ECDSA signs its
// hash with the suite's hash, deterministically (RFC 6979), DER-encoded.
//
// [RFC 9420, Section 5.1.2]: https://www.rfc-editor.org/rfc/rfc9420#section-5.1.2
func (g *Signer) SignWithLabel(label string, content []byte) ([]byte, error) {
	msg, err := labeledStruct(0, mlsPrefix, label, content)
	if err != nil {
		return nil, err
	}
	switch g.s.sig {
	case sigEd25519:
		return ed25519.Sign(g.ed25519, msg), nil
	case sigEd448:
		return ed448.Sign(g.ed448, msg, ""), nil
	default:
		// A nil reader selects RFC 6979 deterministic signing.
		sig, err := g.ecdsa.Sign(nil, g.s.Hash(msg), g.s.hash)
		if err != nil {
			return nil, fmt.Errorf("%w: ECDSA sign: %v", ErrBadKey, err)
		}
		return sig, nil
	}
}

// SignWithLabel parses priv and signs with it; see Signer.SignWithLabel.
// Prefer NewSigner when signing more than once with the same key.
func (s *Suite) SignWithLabel(priv []byte, label string, content []byte) ([]byte, error) {
	g, err := s.NewSigner(priv)
	if err != nil {
		return nil, err
	}
	return g.SignWithLabel(label, content)
}

// VerifyWithLabel is RFC 9420's VerifyWithLabel (Section 5.1.2). Every
// failure wraps ErrBadSignature; a malformed public key also wraps
// ErrBadKey.
func (s *Suite) VerifyWithLabel(pub []byte, label string, content, sig []byte) error {
	msg, err := labeledStruct(0, mlsPrefix, label, content)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return s.verifySignContent(pub, msg, sig)
}

// verifySignContent verifies sig over an encoded SignContent.
func (s *Suite) verifySignContent(pub, msg, sig []byte) error {
	ok := false
	switch s.sig {
	case sigEd25519:
		if len(pub) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: %w: Ed25519 public key of %d bytes", ErrBadSignature, ErrBadKey, len(pub))
		}
		ok = ed25519.Verify(pub, msg, sig)
	case sigEd448:
		if len(pub) != ed448.PublicKeySize {
			return fmt.Errorf("%w: %w: Ed448 public key of %d bytes", ErrBadSignature, ErrBadKey, len(pub))
		}
		ok = ed448.Verify(pub, msg, sig, "")
	default:
		pk, err := ecdsa.ParseUncompressedPublicKey(s.curve, pub)
		if err != nil {
			return fmt.Errorf("%w: %w: ECDSA public key: %v", ErrBadSignature, ErrBadKey, err)
		}
		ok = ecdsa.VerifyASN1(pk, s.Hash(msg), sig)
	}
	if !ok {
		return fmt.Errorf("%w: %s signature does not verify", ErrBadSignature, s.id)
	}
	return nil
}
