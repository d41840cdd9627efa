package suite

import (
	"encoding/binary"
	"fmt"
)

// EncryptContext is a prepared EncryptWithLabel context: the HPKE info_hash
// of EncryptContext{label, context} (RFC 9180, Section 5.1), computed once.
// Sealing many messages under one large context — a Welcome's
// GroupSecrets, whose context is the encrypted GroupInfo holding the whole
// ratchet tree — then costs O(1) per recipient instead of rehashing the
// context each time (RFC 9420, Section 12.4.3.1).
type EncryptContext struct {
	infoHash []byte
}

// hpkeSuiteID returns "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) ||
// I2OSP(aead_id, 2) (RFC 9180, Section 5.1).
func (s *Suite) hpkeSuiteID() []byte {
	k, f, a := s.hpke.Params()
	b := []byte("HPKE")
	b = binary.BigEndian.AppendUint16(b, uint16(k))
	b = binary.BigEndian.AppendUint16(b, uint16(f))
	return binary.BigEndian.AppendUint16(b, uint16(a))
}

// hpkeLabeledExtract is HPKE's LabeledExtract with the full suite_id. The
// HPKE KDF of every MLS suite is HKDF with the suite's hash.
func (s *Suite) hpkeLabeledExtract(salt []byte, label string, ikm []byte) []byte {
	sid := s.hpkeSuiteID()
	in := make([]byte, 0, len(hpkeVersion)+len(sid)+len(label)+len(ikm))
	in = append(in, hpkeVersion...)
	in = append(in, sid...)
	in = append(in, label...)
	in = append(in, ikm...)
	return hmacSum(s.newHash, salt, in)
}

func (s *Suite) hpkeLabeledExpand(prk []byte, label string, info []byte, length int) []byte {
	sid := s.hpkeSuiteID()
	in := make([]byte, 2, 2+len(hpkeVersion)+len(sid)+len(label)+len(info))
	binary.BigEndian.PutUint16(in, uint16(length))
	in = append(in, hpkeVersion...)
	in = append(in, sid...)
	in = append(in, label...)
	in = append(in, info...)
	return hkdfExpand(s.newHash, s.nh, prk, in, length)
}

// PrepareEncryptContext prepares EncryptWithLabel's context for label and
// context (RFC 9420, Section 5.1.3) for EncryptWithPreparedLabel.
func (s *Suite) PrepareEncryptContext(label string, context []byte) (EncryptContext, error) {
	info, err := encryptContext(label, context)
	if err != nil {
		return EncryptContext{}, err
	}
	return EncryptContext{infoHash: s.hpkeLabeledExtract(nil, "info_hash", info)}, nil
}

// EncryptWithPreparedLabel is EncryptWithLabel with a prepared context: the
// same bytes for the same seed, computed with HPKE's base-mode key schedule
// (RFC 9180, Section 5.1) from the precomputed info_hash.
func (s *Suite) EncryptWithPreparedLabel(pub []byte, ec EncryptContext, plaintext, seed []byte) (kemOutput, ciphertext []byte, err error) {
	if ec.infoHash == nil {
		return nil, nil, fmt.Errorf("%w: unprepared encrypt context", ErrLength)
	}
	if len(seed) != s.HPKESeedLen() {
		return nil, nil, fmt.Errorf("%w: HPKE seed of %d bytes, want %d", ErrLength, len(seed), s.HPKESeedLen())
	}
	pk, err := s.parseHPKEPublic(pub)
	if err != nil {
		return nil, nil, err
	}
	enc, ss, err := s.kem.EncapsulateDeterministically(pk, seed)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: HPKE encapsulation: %v", ErrBadKey, err)
	}
	pskIDHash := s.hpkeLabeledExtract(nil, "psk_id_hash", nil)
	ksContext := make([]byte, 0, 1+len(pskIDHash)+len(ec.infoHash))
	ksContext = append(ksContext, 0) // mode_base
	ksContext = append(ksContext, pskIDHash...)
	ksContext = append(ksContext, ec.infoHash...)
	secret := s.hpkeLabeledExtract(ss, "secret", nil)
	key := s.hpkeLabeledExpand(secret, "key", ksContext, s.nk)
	nonce := s.hpkeLabeledExpand(secret, "base_nonce", ksContext, s.nn)
	ct, err := s.Seal(key, nonce, nil, plaintext)
	if err != nil {
		return nil, nil, err
	}
	return enc, ct, nil
}
