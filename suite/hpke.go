package suite

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cloudflare/circl/dh/x448"
	"github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem"
)

// hpkeVersion is the HPKE label prefix (RFC 9180, Section 4).
const hpkeVersion = "HPKE-v1"

// kemSuiteID returns the KEM's suite_id, "KEM" || I2OSP(kem_id, 2)
// (RFC 9180, Section 4.1).
func (s *Suite) kemSuiteID() [5]byte {
	return [5]byte{'K', 'E', 'M', byte(s.kemID >> 8), byte(s.kemID)}
}

// kemLabeledExtract is the KEM's LabeledExtract (RFC 9180, Section 4).
func (s *Suite) kemLabeledExtract(salt []byte, label string, ikm []byte) []byte {
	sid := s.kemSuiteID()
	in := make([]byte, 0, len(hpkeVersion)+len(sid)+len(label)+len(ikm))
	in = append(in, hpkeVersion...)
	in = append(in, sid[:]...)
	in = append(in, label...)
	in = append(in, ikm...)
	return hmacSum(s.kemHash, salt, in)
}

// kemLabeledExpand is the KEM's LabeledExpand (RFC 9180, Section 4);
// length is at most 255*kemNh (the callers ask for Nsk bytes).
func (s *Suite) kemLabeledExpand(prk []byte, label string, info []byte, length int) []byte {
	sid := s.kemSuiteID()
	in := make([]byte, 2, 2+len(hpkeVersion)+len(sid)+len(label)+len(info))
	binary.BigEndian.PutUint16(in, uint16(length))
	in = append(in, hpkeVersion...)
	in = append(in, sid[:]...)
	in = append(in, label...)
	in = append(in, info...)
	return hkdfExpand(s.kemHash, s.kemNh, prk, in, length)
}

// HPKESeedLen returns the number of seed bytes one HPKE encapsulation
// consumes (circl's EncapsulationSeedSize, which is Nsk: the ephemeral key
// pair is DeriveKeyPair(seed)). HPKESeal, HPKEExportSender and
// EncryptWithLabel require seeds of exactly this length.
func (s *Suite) HPKESeedLen() int { return s.kem.EncapsulationSeedSize() }

// DeriveKeyPair derives an HPKE key pair from ikm as RFC 9180,
// Section 7.1.3 specifies for the suite's DHKEM, for any ikm length (MLS
// passes Nh-byte secrets); for X-Wing, as its draft's HPKE binding does
// (the 32-byte seed SHAKE256(ikm, 32) is the private key). priv is in SerializePrivateKey form (the raw
// X25519/X448 scalar, or the big-endian NIST scalar of Nsk bytes) and pub in
// SerializePublicKey form (raw, or uncompressed SEC1 for NIST curves).
// The error, which RFC 9180 calls DeriveKeyPairError and which has
// negligible probability, wraps ErrBadKey.
//
// [RFC 9180, Section 7.1.3]: https://www.rfc-editor.org/rfc/rfc9180#section-7.1.3
func (s *Suite) DeriveKeyPair(ikm []byte) (priv, pub []byte, err error) {
	if s.kemID == kemXWing {
		priv, pub = deriveXWingKeyPair(ikm)
		return priv, pub, nil
	}
	dkpPRK := s.kemLabeledExtract(nil, "dkp_prk", ikm)
	if s.ecdh == nil {
		// X25519 and X448: sk = LabeledExpand(dkp_prk, "sk", "", Nsk).
		sk := s.kemLabeledExpand(dkpPRK, "sk", nil, s.nsk)
		pub, err = s.hpkePublicKey(sk)
		return sk, pub, err
	}
	// P-256, P-384, P-521: rejection sampling of candidates below the
	// group order, with the top bits of P-521's first byte masked off.
	mask := byte(0xff)
	if s.kemID == kemP521 {
		mask = 0x01
	}
	for ctr := 0; ctr <= 255; ctr++ {
		sk := s.kemLabeledExpand(dkpPRK, "candidate", []byte{byte(ctr)}, s.nsk)
		sk[0] &= mask
		k, err := s.ecdh.NewPrivateKey(sk)
		if err != nil {
			continue // zero or not below the order
		}
		return sk, k.PublicKey().Bytes(), nil
	}
	return nil, nil, fmt.Errorf("%w: DeriveKeyPairError", ErrBadKey)
}

// HPKEPublicKey returns the HPKE public key (SerializePublicKey form) of a
// private key in SerializePrivateKey form. The error wraps ErrBadKey.
func (s *Suite) HPKEPublicKey(priv []byte) ([]byte, error) {
	return s.hpkePublicKey(priv)
}

func (s *Suite) hpkePublicKey(priv []byte) ([]byte, error) {
	if len(priv) != s.nsk {
		return nil, fmt.Errorf("%w: HPKE private key of %d bytes, want %d", ErrBadKey, len(priv), s.nsk)
	}
	switch s.kemID {
	case kemX448:
		var sk, pk x448.Key
		copy(sk[:], priv)
		x448.KeyGen(&pk, &sk)
		return pk[:], nil
	default:
		k, err := s.kem.UnmarshalBinaryPrivateKey(priv)
		if err != nil {
			return nil, fmt.Errorf("%w: HPKE private key: %v", ErrBadKey, err)
		}
		pub, err := k.Public().MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("%w: HPKE private key: %v", ErrBadKey, err)
		}
		return pub, nil
	}
}

// setupSender runs HPKE SetupBaseS (RFC 9180, Section 5.1.1) with the
// encapsulation randomness taken from seed.
func (s *Suite) setupSender(pub, info, seed []byte) ([]byte, hpke.Sealer, error) {
	if len(seed) != s.HPKESeedLen() {
		return nil, nil, fmt.Errorf("%w: HPKE seed of %d bytes, want %d", ErrLength, len(seed), s.HPKESeedLen())
	}
	pk, err := s.parseHPKEPublic(pub)
	if err != nil {
		return nil, nil, err
	}
	snd, err := s.hpke.NewSender(pk, info)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: HPKE sender: %v", ErrBadKey, err)
	}
	// Setup reads exactly EncapsulationSeedSize bytes and derives the
	// ephemeral key from them (EncapsulateDeterministically).
	enc, sealer, err := snd.Setup(bytes.NewReader(seed))
	if err != nil {
		// DH with a low-order or otherwise invalid public key.
		return nil, nil, fmt.Errorf("%w: HPKE encapsulation: %v", ErrBadKey, err)
	}
	return enc, sealer, nil
}

// setupReceiver runs HPKE SetupBaseR (RFC 9180, Section 5.1.1).
func (s *Suite) setupReceiver(priv, kemOutput, info []byte) (hpke.Opener, error) {
	if len(priv) != s.nsk {
		return nil, fmt.Errorf("%w: HPKE private key of %d bytes, want %d", ErrBadKey, len(priv), s.nsk)
	}
	sk, err := s.kem.UnmarshalBinaryPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE private key: %v", ErrBadKey, err)
	}
	if len(kemOutput) != s.kem.CiphertextSize() {
		return nil, fmt.Errorf("%w: HPKE KEM output of %d bytes, want %d", ErrDecrypt, len(kemOutput), s.kem.CiphertextSize())
	}
	rcv, err := s.hpke.NewReceiver(sk, info)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE receiver: %v", ErrBadKey, err)
	}
	op, err := rcv.Setup(kemOutput)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE decapsulation: %v", ErrDecrypt, err)
	}
	return op, nil
}

// parseHPKEPublic parses a SerializePublicKey-form public key.
func (s *Suite) parseHPKEPublic(pub []byte) (kem.PublicKey, error) {
	if len(pub) != s.npk {
		return nil, fmt.Errorf("%w: HPKE public key of %d bytes, want %d", ErrBadKey, len(pub), s.npk)
	}
	pk, err := s.kem.UnmarshalBinaryPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE public key: %v", ErrBadKey, err)
	}
	return pk, nil
}

// HPKESeal is single-shot HPKE SealBase (RFC 9180, Section 6.1) to pub,
// with the encapsulation randomness taken from seed (exactly HPKESeedLen
// bytes, else ErrLength). A malformed or low-order pub wraps ErrBadKey.
func (s *Suite) HPKESeal(pub, info, aad, plaintext, seed []byte) (kemOutput, ciphertext []byte, err error) {
	enc, sealer, err := s.setupSender(pub, info, seed)
	if err != nil {
		return nil, nil, err
	}
	ct, err := sealer.Seal(plaintext, aad)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: HPKE seal: %v", ErrLength, err)
	}
	return enc, ct, nil
}

// HPKEOpen is single-shot HPKE OpenBase (RFC 9180, Section 6.1). A
// malformed priv wraps ErrBadKey; an invalid kemOutput or a ciphertext that
// does not authenticate wraps ErrDecrypt.
func (s *Suite) HPKEOpen(priv, kemOutput, info, aad, ciphertext []byte) ([]byte, error) {
	op, err := s.setupReceiver(priv, kemOutput, info)
	if err != nil {
		return nil, err
	}
	pt, err := op.Open(ciphertext, aad)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE open: %v", ErrDecrypt, err)
	}
	return pt, nil
}

// checkExportLen checks an HPKE export length (at most 255*Nh).
func (s *Suite) checkExportLen(length int) error {
	if length < 0 || length > 255*s.nh {
		return fmt.Errorf("%w: HPKE export of %d bytes (max %d)", ErrLength, length, 255*s.nh)
	}
	return nil
}

// HPKEExportSender is HPKE SendExport in base mode (RFC 9180, Section 6.2):
// SetupBaseS(pub, info) with the encapsulation randomness from seed, then
// Export(exporterContext, length). MLS uses it for external init
// (RFC 9420, Section 8.3).
func (s *Suite) HPKEExportSender(pub, info, exporterContext []byte, length int, seed []byte) (kemOutput, secret []byte, err error) {
	if err := s.checkExportLen(length); err != nil {
		return nil, nil, err
	}
	enc, sealer, err := s.setupSender(pub, info, seed)
	if err != nil {
		return nil, nil, err
	}
	return enc, sealer.Export(exporterContext, uint(length)), nil
}

// HPKEExportReceiver is HPKE ReceiveExport in base mode (RFC 9180,
// Section 6.2): SetupBaseR(kemOutput, priv, info), then
// Export(exporterContext, length).
func (s *Suite) HPKEExportReceiver(priv, kemOutput, info, exporterContext []byte, length int) ([]byte, error) {
	if err := s.checkExportLen(length); err != nil {
		return nil, err
	}
	op, err := s.setupReceiver(priv, kemOutput, info)
	if err != nil {
		return nil, err
	}
	return op.Export(exporterContext, uint(length)), nil
}

// encryptContext encodes RFC 9420's EncryptContext (Section 5.1.3).
func encryptContext(label string, context []byte) ([]byte, error) {
	return labeledStruct(0, mlsPrefix, label, context)
}

// EncryptWithLabel is RFC 9420's EncryptWithLabel (Section 5.1.3):
// SealBase(pub, EncryptContext{"MLS 1.0 "+label, context}, "", plaintext),
// with the encapsulation randomness from seed (HPKESeedLen bytes).
//
// [RFC 9420, Section 5.1.3]: https://www.rfc-editor.org/rfc/rfc9420#section-5.1.3
func (s *Suite) EncryptWithLabel(pub []byte, label string, context, plaintext, seed []byte) (kemOutput, ciphertext []byte, err error) {
	info, err := encryptContext(label, context)
	if err != nil {
		return nil, nil, err
	}
	return s.HPKESeal(pub, info, nil, plaintext, seed)
}

// DecryptWithLabel is RFC 9420's DecryptWithLabel (Section 5.1.3):
// OpenBase(kemOutput, priv, EncryptContext{"MLS 1.0 "+label, context}, "",
// ciphertext).
func (s *Suite) DecryptWithLabel(priv []byte, label string, context, kemOutput, ciphertext []byte) ([]byte, error) {
	info, err := encryptContext(label, context)
	if err != nil {
		return nil, err
	}
	return s.HPKEOpen(priv, kemOutput, info, nil, ciphertext)
}
