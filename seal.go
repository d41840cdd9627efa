package mls

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// ErrWrongKey reports opening a SealedStorage with another key than the
// one its values were sealed with.
var ErrWrongKey = errors.New("mls: wrong storage sealing key")

// sealCheckKey holds a sealed known value, by which OpenSealedStorage
// tells a wrong key from a damaged value.
var sealCheckKey = []byte("seal/check")

const sealCheckValue = "mlscore sealed storage v1"

// SealedStorage is a Storage that encrypts every value of another
// Storage with an AEAD whose key the application supplies — from the
// operating system's key store, say — and never stores. Each value is
// sealed with a fresh random nonce, its key as associated data (so that
// values cannot be swapped between keys), and stored as nonce followed by
// ciphertext. Keys are not encrypted: they reveal group ids, the hashes
// of secrets' ids and tree hashes, and how many of each there are, not
// their contents. Erasure is the inner store's: the ciphertext of a
// replaced value is erased as the inner store erases any value.
//
// With random nonces the number of values one key may seal safely depends
// on the nonce size: use XChaCha20-Poly1305
// (golang.org/x/crypto/chacha20poly1305.NewX, 24-byte nonces) rather than
// AES-GCM (12-byte nonces) for a long-lived store.
type SealedStorage struct {
	inner Storage
	aead  cipher.AEAD
}

// Flush flushes the inner Storage if it is a Flusher (it does nothing
// otherwise).
func (s *SealedStorage) Flush() error {
	if f, ok := s.inner.(Flusher); ok {
		return f.Flush()
	}
	return nil
}

// OpenSealedStorage wraps inner. The first time, it stores a sealed
// check value; afterwards it fails with ErrWrongKey if aead's key is not
// the one the store was sealed with. A value that later fails to open is
// reported as ErrDamaged.
func OpenSealedStorage(ctx context.Context, inner Storage, aead cipher.AEAD) (*SealedStorage, error) {
	s := &SealedStorage{inner: inner, aead: aead}
	v, err := inner.Get(ctx, sealCheckKey)
	switch {
	case errors.Is(err, ErrNotFound):
		var b Batch
		b.Put(sealCheckKey, s.seal(sealCheckKey, []byte(sealCheckValue)))
		if err := inner.Commit(ctx, &b); err != nil {
			return nil, err
		}
		return s, nil
	case err != nil:
		return nil, err
	}
	if pt, err := s.open(sealCheckKey, v); err != nil || string(pt) != sealCheckValue {
		return nil, ErrWrongKey
	}
	return s, nil
}

func (s *SealedStorage) seal(key, value []byte) []byte {
	ns := s.aead.NonceSize()
	out := make([]byte, ns, ns+len(value)+s.aead.Overhead())
	rand.Read(out) // never fails (crypto/rand)
	return s.aead.Seal(out, out[:ns], value, key)
}

func (s *SealedStorage) open(key, v []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(v) < ns {
		return nil, fmt.Errorf("%w: sealed value of %q too short", ErrDamaged, key)
	}
	pt, err := s.aead.Open(nil, v[:ns], v[ns:], key)
	if err != nil {
		return nil, fmt.Errorf("%w: sealed value of %q does not open", ErrDamaged, key)
	}
	return pt, nil
}

// Get implements Storage.
func (s *SealedStorage) Get(ctx context.Context, key []byte) ([]byte, error) {
	v, err := s.inner.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return s.open(key, v)
}

// Keys implements Storage. The check value's key is not listed.
func (s *SealedStorage) Keys(ctx context.Context, prefix []byte) ([][]byte, error) {
	keys, err := s.inner.Keys(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := keys[:0]
	for _, k := range keys {
		if string(k) != string(sealCheckKey) {
			out = append(out, k)
		}
	}
	return out, nil
}

// Commit implements Storage.
func (s *SealedStorage) Commit(ctx context.Context, b *Batch) error {
	if err := b.Check(); err != nil {
		return err
	}
	var sb Batch
	for _, op := range b.ops {
		if string(op.Key) == string(sealCheckKey) {
			return fmt.Errorf("%w: key %q is reserved by SealedStorage", ErrInvalidArgument, op.Key)
		}
		if op.Delete {
			sb.Delete(op.Key)
		} else {
			sb.Put(op.Key, s.seal(op.Key, op.Value))
		}
	}
	return s.inner.Commit(ctx, &sb)
}

// Close closes the inner store if it has a Close method.
func (s *SealedStorage) Close() error {
	if c, ok := s.inner.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}
