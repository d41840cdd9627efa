package suite

import (
	"fmt"
	"testing"
)

// benchSuites runs f as a sub-benchmark "suite=N" for each suite.
func benchSuites(b *testing.B, f func(b *testing.B, s *Suite)) {
	for _, id := range All() {
		s := mustLookup(b, id)
		b.Run(fmt.Sprintf("suite=%d", id), func(b *testing.B) { f(b, s) })
	}
}

// benchSizes are the AEAD plaintext sizes: a short application message and
// a large one.
var benchSizes = []struct {
	name string
	n    int
}{{"100B", 100}, {"10KiB", 10 << 10}}

// BenchmarkSign measures SignWithLabel with a parsed Signer over 100 bytes.
func BenchmarkSign(b *testing.B) {
	benchSuites(b, func(b *testing.B, s *Suite) {
		priv, _, _ := s.GenerateSignatureKey(seq(1, s.SignatureSeedLen()))
		g, err := s.NewSigner(priv)
		if err != nil {
			b.Fatal(err)
		}
		content := seq(0, 100)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := g.SignWithLabel("LeafNodeTBS", content); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerify measures VerifyWithLabel over 100 bytes (public key
// parsing included, as callers hold encoded keys).
func BenchmarkVerify(b *testing.B) {
	benchSuites(b, func(b *testing.B, s *Suite) {
		priv, pub, _ := s.GenerateSignatureKey(seq(1, s.SignatureSeedLen()))
		content := seq(0, 100)
		sig, _ := s.SignWithLabel(priv, "LeafNodeTBS", content)
		b.ReportAllocs()
		for b.Loop() {
			if err := s.VerifyWithLabel(pub, "LeafNodeTBS", content, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHPKESeal measures a single-shot HPKE seal of an Nh-byte secret
// (a path secret), encapsulation included.
func BenchmarkHPKESeal(b *testing.B) {
	benchSuites(b, func(b *testing.B, s *Suite) {
		_, pub, _ := s.DeriveKeyPair(seq(1, s.HashLen()))
		seed, pt := seq(2, s.HPKESeedLen()), seq(3, s.HashLen())
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := s.HPKESeal(pub, []byte("info"), nil, pt, seed); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHPKEOpen measures a single-shot HPKE open of an Nh-byte secret,
// decapsulation included.
func BenchmarkHPKEOpen(b *testing.B) {
	benchSuites(b, func(b *testing.B, s *Suite) {
		priv, pub, _ := s.DeriveKeyPair(seq(1, s.HashLen()))
		enc, ct, _ := s.HPKESeal(pub, []byte("info"), nil, seq(3, s.HashLen()), seq(2, s.HPKESeedLen()))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.HPKEOpen(priv, enc, []byte("info"), nil, ct); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAEADSeal measures Seal (key setup included) at two sizes.
func BenchmarkAEADSeal(b *testing.B) {
	benchSuites(b, func(b *testing.B, s *Suite) {
		key, nonce := seq(1, s.AEADKeyLen()), seq(2, s.AEADNonceLen())
		for _, sz := range benchSizes {
			pt := seq(3, sz.n)
			b.Run("size="+sz.name, func(b *testing.B) {
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Seal(key, nonce, nil, pt); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}

// BenchmarkAEADOpen measures Open (key setup included) at two sizes.
func BenchmarkAEADOpen(b *testing.B) {
	benchSuites(b, func(b *testing.B, s *Suite) {
		key, nonce := seq(1, s.AEADKeyLen()), seq(2, s.AEADNonceLen())
		for _, sz := range benchSizes {
			ct, _ := s.Seal(key, nonce, nil, seq(3, sz.n))
			b.Run("size="+sz.name, func(b *testing.B) {
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Open(key, nonce, nil, ct); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}

// BenchmarkExpandWithLabel measures one Nh-byte ExpandWithLabel with a
// short context, the key schedule's unit of work.
func BenchmarkExpandWithLabel(b *testing.B) {
	benchSuites(b, func(b *testing.B, s *Suite) {
		secret, context := seq(1, s.HashLen()), seq(2, 32)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.ExpandWithLabel(secret, "epoch", context, s.HashLen()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDeriveKeyPair measures HPKE DeriveKeyPair from an Nh-byte
// secret (a path node key pair).
func BenchmarkDeriveKeyPair(b *testing.B) {
	benchSuites(b, func(b *testing.B, s *Suite) {
		ikm := seq(1, s.HashLen())
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := s.DeriveKeyPair(ikm); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGenerateSignatureKey measures signature key generation from a
// seed.
func BenchmarkGenerateSignatureKey(b *testing.B) {
	benchSuites(b, func(b *testing.B, s *Suite) {
		seed := seq(1, s.SignatureSeedLen())
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := s.GenerateSignatureKey(seed); err != nil {
				b.Fatal(err)
			}
		}
	})
}
