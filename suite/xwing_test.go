package suite

import (
	"bytes"
	"crypto/sha3"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/cloudflare/circl/hpke"
)

// writeXWingHex writes one field of the X-Wing draft's test-vector file
// (spec/test-vectors.txt of draft-connolly-cfrg-xwing-kem): the name and
// the hex value on one line when it fits in 74 columns, else the name, then
// the hex in lines of 72 characters indented by two spaces.
func writeXWingHex(w *bytes.Buffer, name string, val []byte) {
	const width, indent = 74, "  "
	h := hex.EncodeToString(val)
	if len(name)+len(h)+5 < width {
		fmt.Fprintf(w, "%s     %s\n", name, h)
		return
	}
	fmt.Fprintf(w, "%s\n", name)
	for len(h) > 0 {
		n := min(len(h), width-len(indent))
		fmt.Fprintf(w, "%s%s\n", indent, h[:n])
		h = h[n:]
	}
}

// TestXWingKnownAnswers regenerates the X-Wing draft's test-vector file
// through this package's X-Wing suite and compares its SHAKE128 digest with
// the one circl's kem/xwing test pins for that file (1bcd0057...). The
// seeds come from a SHAKE128 stream with empty input, as in the draft. For
// each of the three cases: the key pair seed is the serialized private key
// (HPKEPublicKey gives pk), the 64-byte encapsulation seed is the HPKE seed
// (HPKESeal's KEM output is ct), and decapsulation gives ss.
func TestXWingKnownAnswers(t *testing.T) {
	s := mustLookup(t, XWingChaCha20Poly1305SHA256Ed25519)
	stream := sha3.NewSHAKE128()
	var w bytes.Buffer
	for range 3 {
		seed := make([]byte, 32)
		_, _ = stream.Read(seed)
		writeXWingHex(&w, "seed", seed)
		pk, err := s.HPKEPublicKey(seed)
		if err != nil {
			t.Fatal(err)
		}
		writeXWingHex(&w, "sk", seed)
		writeXWingHex(&w, "pk", pk)
		eseed := make([]byte, s.HPKESeedLen())
		_, _ = stream.Read(eseed)
		writeXWingHex(&w, "eseed", eseed)
		ct, _, err := s.HPKESeal(pk, nil, nil, nil, eseed)
		if err != nil {
			t.Fatal(err)
		}
		writeXWingHex(&w, "ct", ct)
		sk, err := s.kem.UnmarshalBinaryPrivateKey(seed)
		if err != nil {
			t.Fatal(err)
		}
		ss, err := s.kem.Decapsulate(sk, ct)
		if err != nil {
			t.Fatal(err)
		}
		writeXWingHex(&w, "ss", ss)
		w.WriteString("\n")
	}
	sum := sha3.SumSHAKE128(w.Bytes(), 32)
	if got, want := hex.EncodeToString(sum), "1bcd0057d861d6b866239936cadcaeee1ec0164dedc181c386e9e54fe46156fe"; got != want {
		t.Fatalf("digest of the regenerated X-Wing vectors = %s, want %s\n%s", got, want, w.String())
	}
}

// TestXWingDeriveKeyPair checks the HPKE DeriveKeyPair of X-Wing: the
// private key is SHAKE256(ikm, 32) (expected values from Python's
// hashlib.shake_256), the public key is the one of that seed, and both agree
// with circl's HPKE binding of X-Wing for inputs of any length.
func TestXWingDeriveKeyPair(t *testing.T) {
	s := mustLookup(t, XWingChaCha20Poly1305SHA256Ed25519)
	tests := []struct {
		name string
		ikm  []byte
		sk   string
	}{
		{"empty", nil, "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f"},
		{"7 bytes", seq(0, 7), "552294355aff5c43a2c7009607e47c0ca3720536eeccb2f7560d1574ce1a1979"},
		{"Nh bytes", seq(0, 32), "69f07c8840ce80024db30939882c3d5bbc9c98b3e31e4513ebd2ca9b4503cdd3"},
		{"100 bytes", seq(9, 100), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sk, pk, err := s.DeriveKeyPair(tt.ikm)
			if err != nil {
				t.Fatal(err)
			}
			if tt.sk != "" && hex.EncodeToString(sk) != tt.sk {
				t.Errorf("private key %x, want %s", sk, tt.sk)
			}
			if len(sk) != 32 || len(pk) != 1216 {
				t.Fatalf("key lengths %d, %d; want 32, 1216", len(sk), len(pk))
			}
			if pub, err := s.HPKEPublicKey(sk); err != nil || !bytes.Equal(pub, pk) {
				t.Errorf("HPKEPublicKey(sk) = %x…, %v; want DeriveKeyPair's", pub[:8], err)
			}
			cpk, csk := hpke.KEM_XWING.Scheme().DeriveKeyPair(tt.ikm)
			cpkb, _ := cpk.MarshalBinary()
			cskb, _ := csk.MarshalBinary()
			if !bytes.Equal(cskb, sk) || !bytes.Equal(cpkb, pk) {
				t.Errorf("circl's HPKE DeriveKeyPair differs: %x vs %x", cskb, sk)
			}
		})
	}
	a, _, _ := s.DeriveKeyPair(seq(1, 32))
	b, _, _ := s.DeriveKeyPair(seq(2, 32))
	if bytes.Equal(a, b) {
		t.Error("DeriveKeyPair ignores its input")
	}
}

// TestXWingImplicitRejection checks that a KEM output altered in either
// half (the ML-KEM ciphertext, whose decapsulation rejects implicitly with
// a pseudorandom secret, or the X25519 share) makes the HPKE open fail with
// ErrDecrypt rather than return a plaintext.
func TestXWingImplicitRejection(t *testing.T) {
	s := mustLookup(t, XWingChaCha20Poly1305SHA256Ed25519)
	priv, pub, _ := s.DeriveKeyPair(seq(1, 32))
	enc, ct, err := s.EncryptWithLabel(pub, "UpdatePathNode", []byte("ctx"), []byte("path secret"), seq(5, s.HPKESeedLen()))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1087, 1088, 1119} {
		bad := bytes.Clone(enc)
		bad[i] ^= 1
		if _, err := s.DecryptWithLabel(priv, "UpdatePathNode", []byte("ctx"), bad, ct); err == nil {
			t.Errorf("KEM output byte %d flipped: decrypted", i)
		}
	}
	if got, err := s.DecryptWithLabel(priv, "UpdatePathNode", []byte("ctx"), enc, ct); err != nil || string(got) != "path secret" {
		t.Fatalf("DecryptWithLabel = %q, %v", got, err)
	}
}
