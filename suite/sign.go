package suite

import (
	"crypto"
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
	ext     crypto.Signer // NewExternalSigner's key, held by the caller
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

// NewExternalSigner returns a Signer whose private key the caller holds
// behind a crypto.Signer: a hardware security module, an operating
// system's keystore, or a software key kept outside mlscore's storage.
// Its public key must be of the suite's signature scheme: an
// ed25519.PublicKey (suites 1, 3), an ed448.PublicKey of circl (suites 4,
// 6), an *ecdsa.PublicKey on the suite's curve (P-256 for suite 2, P-521
// for 5, P-384 for 7); otherwise the error wraps ErrBadKey.
//
// SignWithLabel calls ext.Sign with a nil random source: for EdDSA with
// the encoded SignContent and crypto.Hash(0) (pure EdDSA, no context),
// for ECDSA with the SignContent's hash under the suite's hash function,
// expecting an ASN.1 DER signature. A software *ecdsa.PrivateKey signs
// deterministically with a nil source (RFC 6979), an HSM usually does
// not: its ECDSA signatures then differ from one run to the next, and so
// do the messages and states that depend on them. Each signature ext
// returns is verified before use (a wrong key or encoding fails with
// ErrBadSignature, never leaves the process).
func (s *Suite) NewExternalSigner(ext crypto.Signer) (*Signer, error) {
	g := &Signer{s: s, ext: ext}
	switch pk := ext.Public().(type) {
	case ed25519.PublicKey:
		if s.sig == sigEd25519 && len(pk) == ed25519.PublicKeySize {
			g.pub = append([]byte(nil), pk...)
		}
	case ed448.PublicKey:
		if s.sig == sigEd448 && len(pk) == ed448.PublicKeySize {
			g.pub = append([]byte(nil), pk...)
		}
	case *ecdsa.PublicKey:
		if s.sig == sigECDSA && pk.Curve == s.curve {
			pub, err := pk.Bytes()
			if err != nil {
				return nil, fmt.Errorf("%w: ECDSA public key: %v", ErrBadKey, err)
			}
			g.pub = pub
		}
	}
	if g.pub == nil {
		return nil, fmt.Errorf("%w: external signer's key %T is not of %s's signature scheme", ErrBadKey, ext.Public(), s.id)
	}
	return g, nil
}

// signExternal signs the encoded SignContent msg with the external signer
// and verifies the result.
func (g *Signer) signExternal(msg []byte) ([]byte, error) {
	var sig []byte
	var err error
	if g.s.sig == sigECDSA {
		sig, err = g.ext.Sign(nil, g.s.Hash(msg), g.s.hash)
	} else {
		sig, err = g.ext.Sign(nil, msg, crypto.Hash(0))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: external signer: %w", ErrSigner, err)
	}
	if err := g.s.verifySignContent(g.pub, msg, sig); err != nil {
		return nil, fmt.Errorf("%w: external signer's signature: %w", ErrSigner, err)
	}
	return sig, nil
}

// External reports whether g's private key is held by a crypto.Signer
// (NewExternalSigner).
func (g *Signer) External() bool { return g.ext != nil }

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
	return g.sign(msg)
}

// SignWithLabelAt is SignWithLabel with content = buf[off:], laid out by
// the caller after at least LabelHeadroom(label) bytes of headroom, which
// it overwrites with the SignContent prefix: the signed message is built
// in place instead of copied (see VerifyWithLabelAt). A short headroom
// fails with ErrLength.
func (g *Signer) SignWithLabelAt(label string, buf []byte, off int) ([]byte, error) {
	msg, err := signContentAt(label, buf, off)
	if err != nil {
		return nil, err
	}
	return g.sign(msg)
}

// sign signs an encoded SignContent.
func (g *Signer) sign(msg []byte) ([]byte, error) {
	if g.ext != nil {
		return g.signExternal(msg)
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
