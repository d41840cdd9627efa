package suite

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// newAEAD returns the suite's AEAD keyed with key (error wraps ErrBadKey).
func (s *Suite) newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != s.nk {
		return nil, fmt.Errorf("%w: AEAD key of %d bytes, want %d", ErrBadKey, len(key), s.nk)
	}
	var (
		a   cipher.AEAD
		err error
	)
	switch s.aead {
	case aeadChaCha20Poly1305:
		a, err = chacha20poly1305.New(key)
	default:
		var b cipher.Block
		if b, err = aes.NewCipher(key); err == nil {
			a, err = cipher.NewGCM(b)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return a, nil
}

// Seal encrypts and authenticates plaintext with the suite's AEAD and
// returns ciphertext||tag in a new slice. key must be Nk bytes (ErrBadKey)
// and nonce Nn bytes (ErrLength).
func (s *Suite) Seal(key, nonce, aad, plaintext []byte) ([]byte, error) {
	return s.sealTo(nil, key, nonce, aad, plaintext)
}

// sealTo seals plaintext and appends ciphertext||tag to dst, which is nil
// or plaintext[:0] (cipher.AEAD's rule for in-place sealing).
func (s *Suite) sealTo(dst, key, nonce, aad, plaintext []byte) ([]byte, error) {
	if len(nonce) != s.nn {
		return nil, fmt.Errorf("%w: AEAD nonce of %d bytes, want %d", ErrLength, len(nonce), s.nn)
	}
	a, err := s.newAEAD(key)
	if err != nil {
		return nil, err
	}
	return a.Seal(dst, nonce, plaintext, aad), nil
}

// AEADOverhead is the length of the AEAD's authentication tag: what Seal
// adds to the plaintext. Both AEADs of the supported suites (AES-GCM and
// ChaCha20Poly1305) have 16-byte tags.
func (s *Suite) AEADOverhead() int { return 16 }

// SealInPlace is Seal that encrypts plaintext where it lies: the
// ciphertext overwrites it and the tag goes into its spare capacity, so a
// caller that encodes the plaintext into a buffer with AEADOverhead bytes
// to spare seals without a second buffer (with less capacity, the result
// is a new slice). plaintext must not be used afterwards.
func (s *Suite) SealInPlace(key, nonce, aad, plaintext []byte) ([]byte, error) {
	return s.sealTo(plaintext[:0], key, nonce, aad, plaintext)
}

// Open authenticates and decrypts ciphertext (ciphertext||tag) with the
// suite's AEAD. A wrong key length wraps ErrBadKey and a wrong nonce length
// ErrLength; any authentication failure wraps ErrDecrypt.
func (s *Suite) Open(key, nonce, aad, ciphertext []byte) ([]byte, error) {
	return s.OpenTo(nil, key, nonce, aad, ciphertext)
}

// OpenTo is Open that appends the plaintext to dst and returns the
// extended slice; dst must not overlap ciphertext. With room in dst the
// plaintext is written there, so a caller that lays it out in a buffer of
// its own saves an allocation and a copy.
func (s *Suite) OpenTo(dst, key, nonce, aad, ciphertext []byte) ([]byte, error) {
	if len(nonce) != s.nn {
		return nil, fmt.Errorf("%w: AEAD nonce of %d bytes, want %d", ErrLength, len(nonce), s.nn)
	}
	a, err := s.newAEAD(key)
	if err != nil {
		return nil, err
	}
	pt, err := a.Open(dst, nonce, ciphertext, aad)
	if err != nil {
		return nil, fmt.Errorf("%w: AEAD authentication failed", ErrDecrypt)
	}
	return pt, nil
}
