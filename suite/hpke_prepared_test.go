package suite

import (
	"bytes"
	"testing"
)

// TestEncryptWithPreparedLabel checks that the prepared path gives the same
// bytes as EncryptWithLabel (circl's HPKE) in every suite, and decrypts.
func TestEncryptWithPreparedLabel(t *testing.T) {
	for _, id := range All() {
		s, _ := Lookup(id)
		priv, pub, err := s.DeriveKeyPair(bytes.Repeat([]byte{1}, s.HashLen()))
		if err != nil {
			t.Fatal(err)
		}
		seed := bytes.Repeat([]byte{2}, s.HPKESeedLen())
		ctx := bytes.Repeat([]byte("context"), 100)
		k1, c1, err := s.EncryptWithLabel(pub, "Welcome", ctx, []byte("secret"), seed)
		if err != nil {
			t.Fatal(err)
		}
		ec, err := s.PrepareEncryptContext("Welcome", ctx)
		if err != nil {
			t.Fatal(err)
		}
		k2, c2, err := s.EncryptWithPreparedLabel(pub, ec, []byte("secret"), seed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k1, k2) || !bytes.Equal(c1, c2) {
			t.Fatalf("suite %d: prepared encryption differs", id)
		}
		pt, err := s.DecryptWithLabel(priv, "Welcome", ctx, k2, c2)
		if err != nil || string(pt) != "secret" {
			t.Fatalf("suite %d: decrypt: %v", id, err)
		}
	}
}
