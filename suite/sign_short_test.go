package suite

import (
	"bytes"
	"testing"
)

// TestShortECDSAKeyIsPadded checks that an ECDSA scalar with its leading zero
// bytes dropped names the same key as its full-length encoding.
func TestShortECDSAKeyIsPadded(t *testing.T) {
	for _, id := range []ID{P256AES128GCMSHA256P256, P521AES256GCMSHA512P521, P384AES256GCMSHA384P384} {
		s, err := Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		n := s.SignatureSeedLen()
		full := make([]byte, n)
		full[n-1] = 7
		full[n-2] = 1
		g1, err := s.NewSigner(full)
		if err != nil {
			t.Fatalf("%v: %v", id, err)
		}
		g2, err := s.NewSigner(full[1:])
		if err != nil {
			t.Fatalf("%v short key: %v", id, err)
		}
		if !bytes.Equal(g1.Public(), g2.Public()) {
			t.Fatalf("%v: short key names another key", id)
		}
		if _, err := s.NewSigner(append(full, 0)); err == nil {
			t.Fatalf("%v: over-long key accepted", id)
		}
	}
	s, _ := Lookup(X25519AES128GCMSHA256Ed25519)
	if _, err := s.NewSigner(make([]byte, 31)); err == nil {
		t.Fatalf("short Ed25519 seed accepted")
	}
}
