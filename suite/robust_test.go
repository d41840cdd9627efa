package suite

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"testing/cryptotest"
)

// garbageLengths lists input lengths around every key, point, nonce,
// signature and tag size the seven suites use.
func garbageLengths(s *Suite) []int {
	ls := []int{0, 1, 2, 3, 7, 8, 11, 12, 13, 15, 16, 17, 31, 32, 33, 47, 48, 49, 55, 56, 57, 58,
		63, 64, 65, 66, 67, 69, 70, 71, 72, 96, 97, 98, 102, 103, 104, 105, 113, 114, 115,
		132, 133, 134, 137, 138, 139, 200, 1000}
	return append(ls, s.nsk, s.npk, s.nsig, s.kem.CiphertextSize(), s.AEADKeyLen(), s.AEADNonceLen())
}

// TestGarbageNeverPanics feeds random and degenerate bytes of many lengths
// to every parsing entry point. Nothing may panic, and nothing that must
// authenticate may succeed.
func TestGarbageNeverPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	forEachSuite(t, func(t *testing.T, s *Suite) {
		priv, pub, err := s.DeriveKeyPair(seq(4, s.HashLen()))
		if err != nil {
			t.Fatal(err)
		}
		spriv, spub, err := s.GenerateSignatureKey(seq(4, s.SignatureSeedLen()))
		if err != nil {
			t.Fatal(err)
		}
		aeadKey, nonce := seq(0, s.AEADKeyLen()), seq(0, s.AEADNonceLen())
		hpkeSeed := seq(0, s.HPKESeedLen())
		for _, n := range garbageLengths(s) {
			inputs := [][]byte{random(n), random(n), make([]byte, n), bytes.Repeat([]byte{0xff}, n)}
			if n > 0 {
				// An uncompressed-point prefix with garbage coordinates.
				b := random(n)
				b[0] = 4
				inputs = append(inputs, b)
			}
			for _, g := range inputs {
				// Signatures: garbage key, garbage signature, or both.
				if s.VerifyWithLabel(g, "L", g, g) == nil {
					t.Errorf("n=%d: garbage key and signature verify", n)
				}
				if s.VerifyWithLabel(spub, "L", nil, g) == nil {
					t.Errorf("n=%d: garbage signature verifies", n)
				}
				_ = s.VerifyWithLabel(g, "L", nil, nil)
				if sg, err := s.NewSigner(g); err == nil {
					if _, err := sg.SignWithLabel("L", g); err != nil {
						t.Errorf("n=%d: a parsed key fails to sign: %v", n, err)
					}
				}
				_, _ = s.SignaturePublicKey(g)
				_, _ = s.SignWithLabel(g, "L", g)
				_, _, _ = s.GenerateSignatureKey(g)

				// HPKE: garbage private key, KEM output, ciphertext.
				if _, err := s.HPKEOpen(priv, g, nil, nil, g); err == nil {
					t.Errorf("n=%d: garbage KEM output and ciphertext open", n)
				}
				if _, err := s.HPKEOpen(g, g, g, g, g); err == nil {
					t.Errorf("n=%d: all-garbage HPKEOpen succeeds", n)
				}
				_, _ = s.HPKEOpen(g, random(s.kem.CiphertextSize()), nil, nil, g)
				_, _ = s.DecryptWithLabel(g, "L", g, g, g)
				_, _ = s.DecryptWithLabel(priv, "L", nil, g, random(n+16))
				_, _ = s.HPKEExportReceiver(g, g, g, g, 32)
				_, _ = s.HPKEExportReceiver(priv, g, nil, nil, 32)
				_, _, _ = s.HPKESeal(g, g, g, g, hpkeSeed)
				_, _, _ = s.HPKESeal(pub, nil, nil, nil, g)
				_, _, _ = s.EncryptWithLabel(g, "L", g, g, g)
				_, _, _ = s.HPKEExportSender(g, nil, nil, 32, hpkeSeed)
				_, _ = s.HPKEPublicKey(g)
				_, _, _ = s.DeriveKeyPair(g)

				// AEAD.
				if _, err := s.Open(aeadKey, nonce, nil, g); err == nil {
					t.Errorf("n=%d: garbage AEAD ciphertext opens", n)
				}
				_, _ = s.Open(g, g, g, g)
				_, _ = s.Seal(g, g, g, g)
				_, _ = s.Seal(aeadKey, g, nil, g)

				// KDF with garbage lengths.
				_, _ = s.Expand(g, g, n-500)
				_, _ = s.ExpandWithLabel(g, string(g), g, n*100)
				_, _ = s.DeriveTreeSecret(g, string(g), uint32(n), n-3)
				_ = s.RefHash(string(g), g)
				_ = s.VerifyMAC(g, g, g)
			}
		}
		// An empty private key is a key error, not a decryption error.
		if _, err := s.HPKEOpen(spriv[:0], nil, nil, nil, nil); !errors.Is(err, ErrBadKey) {
			t.Errorf("empty private key: err %v, want ErrBadKey", err)
		}
	})
}

// TestNoHiddenRandomness runs every seeded operation under two different
// global randomness sources (testing/cryptotest): the outputs must be
// identical, proving that no crypto/rand draw reaches them. Not parallel.
func TestNoHiddenRandomness(t *testing.T) {
	run := func(seed uint64) [][]byte {
		cryptotest.SetGlobalRandom(t, seed)
		var out [][]byte
		for _, id := range All() {
			s := mustLookup(t, id)
			priv, pub, err := s.DeriveKeyPair(seq(1, s.HashLen()))
			if err != nil {
				t.Fatal(err)
			}
			enc, ct, err := s.EncryptWithLabel(pub, "L", []byte("c"), []byte("p"), seq(2, s.HPKESeedLen()))
			if err != nil {
				t.Fatal(err)
			}
			enc2, exp, err := s.HPKEExportSender(pub, nil, []byte("x"), 32, seq(3, s.HPKESeedLen()))
			if err != nil {
				t.Fatal(err)
			}
			spriv, spub, err := s.GenerateSignatureKey(seq(4, s.SignatureSeedLen()))
			if err != nil {
				t.Fatal(err)
			}
			sig, err := s.SignWithLabel(spriv, "L", []byte("content"))
			if err != nil {
				t.Fatal(err)
			}
			aead, err := s.Seal(seq(5, s.AEADKeyLen()), seq(6, s.AEADNonceLen()), nil, []byte("p"))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, priv, pub, enc, ct, enc2, exp, spriv, spub, sig, aead)
		}
		return out
	}
	a, b := run(1), run(2)
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("output %d depends on the global random source: %x vs %x", i, a[i], b[i])
		}
	}
}

// TestConcurrentUse shares one Suite and one Signer between goroutines;
// run with -race. Every goroutine must get the same bytes.
func TestConcurrentUse(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		priv, _, _ := s.GenerateSignatureKey(seq(1, s.SignatureSeedLen()))
		g, err := s.NewSigner(priv)
		if err != nil {
			t.Fatal(err)
		}
		_, hpub, _ := s.DeriveKeyPair(seq(2, s.HashLen()))
		const workers = 4
		results := make([][]byte, workers)
		done := make(chan int)
		for w := range workers {
			go func() {
				sig, err1 := g.SignWithLabel("L", []byte("c"))
				enc, ct, err2 := s.HPKESeal(hpub, nil, nil, []byte("p"), seq(3, s.HPKESeedLen()))
				if err1 != nil || err2 != nil || s.VerifyWithLabel(g.Public(), "L", []byte("c"), sig) != nil {
					results[w] = nil
				} else {
					results[w] = append(append(sig, enc...), ct...)
				}
				done <- w
			}()
		}
		for range workers {
			<-done
		}
		for w := range workers {
			if results[w] == nil || !bytes.Equal(results[w], results[0]) {
				t.Fatalf("worker %d: %x, worker 0: %x", w, results[w], results[0])
			}
		}
	})
}
