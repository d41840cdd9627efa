package suite

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func mustLookup(t testing.TB, id ID) *Suite {
	t.Helper()
	s, err := Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// forEachSuite runs f as a subtest "suite=N" for each supported suite,
// X-Wing included.
func forEachSuite(t *testing.T, f func(t *testing.T, s *Suite)) {
	forSuites(t, All(), f)
}

// forEachRFCSuite runs f for each of the seven suites of RFC 9420 only,
// for tests whose expected values cover those (test vectors, outputs of
// RFC 9180 DHKEM implementations).
func forEachRFCSuite(t *testing.T, f func(t *testing.T, s *Suite)) {
	forSuites(t, RFC9420Suites(), f)
}

func forSuites(t *testing.T, ids []ID, f func(t *testing.T, s *Suite)) {
	for _, id := range ids {
		s := mustLookup(t, id)
		t.Run(fmt.Sprintf("suite=%d", id), func(t *testing.T) { f(t, s) })
	}
}

// seq returns n bytes start, start+1, ... (mod 256).
func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func TestLookup(t *testing.T) {
	// Parameters from RFC 9420, Section 17.1, RFC 9180 Section 7 and RFC 8032.
	tests := []struct {
		id                                ID
		name                              string
		nh, nk, nn, seed, sigSeed, kemOut int
	}{
		{1, "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519", 32, 16, 12, 32, 32, 32},
		{2, "MLS_128_DHKEMP256_AES128GCM_SHA256_P256", 32, 16, 12, 32, 32, 65},
		{3, "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519", 32, 32, 12, 32, 32, 32},
		{4, "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448", 64, 32, 12, 56, 57, 56},
		{5, "MLS_256_DHKEMP521_AES256GCM_SHA512_P521", 64, 32, 12, 66, 66, 133},
		{6, "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448", 64, 32, 12, 56, 57, 56},
		{7, "MLS_256_DHKEMP384_AES256GCM_SHA384_P384", 48, 32, 12, 48, 48, 97},
		// draft-connolly-cfrg-xwing-kem: 64-byte encapsulation seed,
		// 1120-byte ciphertext.
		{0x004D, "MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519", 32, 32, 12, 64, 32, 1120},
	}
	var ids []ID
	for _, tt := range tests {
		ids = append(ids, tt.id)
		t.Run(tt.name, func(t *testing.T) {
			s := mustLookup(t, tt.id)
			if s.ID() != tt.id || tt.id.String() != tt.name {
				t.Errorf("ID %d, String %q", s.ID(), tt.id.String())
			}
			if s.HashLen() != tt.nh || s.AEADKeyLen() != tt.nk || s.AEADNonceLen() != tt.nn {
				t.Errorf("Nh, Nk, Nn = %d, %d, %d; want %d, %d, %d", s.HashLen(), s.AEADKeyLen(), s.AEADNonceLen(), tt.nh, tt.nk, tt.nn)
			}
			if s.HPKESeedLen() != tt.seed || s.SignatureSeedLen() != tt.sigSeed || s.kem.CiphertextSize() != tt.kemOut {
				t.Errorf("HPKESeedLen %d, SignatureSeedLen %d, KEM output %d", s.HPKESeedLen(), s.SignatureSeedLen(), s.kem.CiphertextSize())
			}
			k, f, a := s.hpke.Params()
			if !k.IsValid() || !f.IsValid() || !a.IsValid() {
				t.Errorf("invalid HPKE suite %v", s.hpke)
			}
			if int(a.KeySize()) != tt.nk || f.ExtractSize() != tt.nh {
				t.Errorf("HPKE AEAD key %d, KDF Nh %d", a.KeySize(), f.ExtractSize())
			}
			if s.Hash(nil) == nil || len(s.Hash(nil)) != tt.nh {
				t.Errorf("Hash length %d", len(s.Hash(nil)))
			}
		})
	}
	if got := All(); !slices.Equal(got, ids) {
		t.Errorf("All() = %v, want %v", got, ids)
	}
	if got := RFC9420Suites(); !slices.Equal(got, ids[:7]) {
		t.Errorf("RFC9420Suites() = %v, want %v", got, ids[:7])
	}
	for _, id := range []ID{0, 8, 0x004C, 0x004E, 0x0A0A, 0xF000, 0xffff} {
		s, err := Lookup(id)
		if s != nil || !errors.Is(err, ErrUnsupportedSuite) {
			t.Errorf("Lookup(%d) = %v, %v; want ErrUnsupportedSuite", id, s, err)
			continue
		}
		if !strings.Contains(err.Error(), hex.EncodeToString([]byte{byte(id >> 8), byte(id)})) {
			t.Errorf("Lookup(%d) error %q does not name the id", id, err)
		}
		if !strings.HasPrefix(err.Error(), "mls: ") {
			t.Errorf("error %q lacks the mls: prefix", err)
		}
		if !strings.Contains(id.String(), "0x") {
			t.Errorf("String of unknown id: %q", id.String())
		}
	}
}

// TestHashAndMAC checks Hash against FIPS 180-4 ("abc") and MAC against
// RFC 4231 test case 2.
func TestHashAndMAC(t *testing.T) {
	hashABC := map[int]string{
		32: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		48: "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
		64: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
	}
	macJefe := map[int]string{
		32: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		48: "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
		64: "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
	}
	forEachSuite(t, func(t *testing.T, s *Suite) {
		if got, want := s.Hash([]byte("abc")), unhex(t, hashABC[s.HashLen()]); !bytes.Equal(got, want) {
			t.Errorf("Hash(abc) = %x, want %x", got, want)
		}
		key, data := []byte("Jefe"), []byte("what do ya want for nothing?")
		tag := s.MAC(key, data)
		if want := unhex(t, macJefe[s.HashLen()]); !bytes.Equal(tag, want) {
			t.Errorf("MAC = %x, want %x", tag, want)
		}
		if !s.VerifyMAC(key, data, tag) {
			t.Error("VerifyMAC rejects a valid tag")
		}
		for i := range tag {
			bad := bytes.Clone(tag)
			bad[i] ^= 0x01
			if s.VerifyMAC(key, data, bad) {
				t.Fatalf("VerifyMAC accepts a tag with byte %d flipped", i)
			}
		}
		for _, bad := range [][]byte{nil, tag[:len(tag)-1], append(bytes.Clone(tag), 0)} {
			if s.VerifyMAC(key, data, bad) {
				t.Errorf("VerifyMAC accepts a %d-byte tag", len(bad))
			}
		}
		if s.VerifyMAC([]byte("Jeff"), data, tag) || s.VerifyMAC(key, []byte("what do ya want for nothing!"), tag) {
			t.Error("VerifyMAC accepts a tag under another key or message")
		}
	})
}

// TestHKDF checks Extract and Expand against RFC 5869 test case 1
// (SHA-256) and the length limits for every suite.
func TestHKDF(t *testing.T) {
	s := mustLookup(t, X25519AES128GCMSHA256Ed25519)
	ikm := bytes.Repeat([]byte{0x0b}, 22)
	prk := s.Extract(seq(0, 13), ikm)
	if want := unhex(t, "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"); !bytes.Equal(prk, want) {
		t.Fatalf("Extract = %x, want %x", prk, want)
	}
	okm, err := s.Expand(prk, seq(0xf0, 10), 42)
	if want := unhex(t, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"); err != nil || !bytes.Equal(okm, want) {
		t.Fatalf("Expand = %x, %v; want %x", okm, err, want)
	}
	forEachSuite(t, func(t *testing.T, s *Suite) {
		prk := s.Extract(nil, []byte("ikm"))
		if !bytes.Equal(prk, s.Extract(make([]byte, s.HashLen()), []byte("ikm"))) {
			t.Error("an empty salt differs from Nh zero bytes")
		}
		max := 255 * s.HashLen()
		for _, n := range []int{0, 1, s.HashLen(), s.HashLen() + 1, max} {
			out, err := s.Expand(prk, []byte("info"), n)
			if err != nil || len(out) != n {
				t.Errorf("Expand(%d) = %d bytes, %v", n, len(out), err)
			}
			// A shorter output is a prefix of a longer one (RFC 5869).
			if long, _ := s.Expand(prk, []byte("info"), max); !bytes.HasPrefix(long, out) {
				t.Errorf("Expand(%d) is not a prefix of Expand(%d)", n, max)
			}
		}
		for _, n := range []int{-1, max + 1, 1 << 20} {
			if _, err := s.Expand(prk, nil, n); !errors.Is(err, ErrLength) {
				t.Errorf("Expand(%d): err %v, want ErrLength", n, err)
			}
		}
		for _, n := range []int{-1, max + 1, 0x10000} {
			if _, err := s.ExpandWithLabel(prk, "x", nil, n); !errors.Is(err, ErrLength) {
				t.Errorf("ExpandWithLabel(%d): err %v, want ErrLength", n, err)
			}
			if _, err := s.DeriveTreeSecret(prk, "x", 1, n); !errors.Is(err, ErrLength) {
				t.Errorf("DeriveTreeSecret(%d): err %v, want ErrLength", n, err)
			}
		}
		d, err := s.DeriveSecret(prk, "label")
		if err != nil || len(d) != s.HashLen() {
			t.Errorf("DeriveSecret: %d bytes, %v", len(d), err)
		}
	})
}

// TestExpandWithLabelEncoding recomputes ExpandWithLabel, DeriveTreeSecret
// and RefHash from their RFC 9420 definitions, encoding the structs with
// package codec, for labels and contexts around the varint size boundaries.
func TestExpandWithLabelEncoding(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		secret := seq(7, s.HashLen())
		for _, n := range []int{0, 1, 55, 56, 63, 64, 200, 16383, 16384, 70000} {
			label := strings.Repeat("l", n%300)
			context := seq(byte(n), n)
			var b cryptobyte.Builder
			b.AddUint16(40)
			codec.AddOpaque(&b, []byte("MLS 1.0 "+label))
			codec.AddOpaque(&b, context)
			info, err := b.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			want, _ := s.Expand(secret, info, 40)
			got, err := s.ExpandWithLabel(secret, label, context, 40)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("n=%d: ExpandWithLabel = %x, %v; want %x", n, got, err, want)
			}

			var r cryptobyte.Builder
			codec.AddOpaque(&r, []byte(label))
			codec.AddOpaque(&r, context)
			in, err := r.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := s.RefHash(label, context), s.Hash(in); !bytes.Equal(got, want) {
				t.Errorf("n=%d: RefHash = %x, want %x", n, got, want)
			}
		}
		got, _ := s.DeriveTreeSecret(secret, "secret", 0x01020304, 16)
		want, _ := s.ExpandWithLabel(secret, "secret", []byte{1, 2, 3, 4}, 16)
		if !bytes.Equal(got, want) {
			t.Errorf("DeriveTreeSecret = %x, want %x", got, want)
		}
		got, _ = s.DeriveSecret(secret, "epoch")
		want, _ = s.ExpandWithLabel(secret, "epoch", nil, s.HashLen())
		if !bytes.Equal(got, want) {
			t.Errorf("DeriveSecret = %x, want %x", got, want)
		}
	})
}

// TestAEAD checks Seal against outputs of an independent implementation
// (pyca/cryptography 48: AESGCM, ChaCha20Poly1305), then tampering and
// bad lengths.
func TestAEAD(t *testing.T) {
	want := map[ID]string{
		1: "433d9094e2185c4dc32714dee435e95a46c12eec2471e53b42fd",
		2: "433d9094e2185c4dc32714dee435e95a46c12eec2471e53b42fd",
		3: "e321177be05915a703357e5b4500958e9fcc4aa276f837292c2c",
		4: "083a1f20feae9c1494248626cf4969b3f692787af840bbceb880",
		5: "083a1f20feae9c1494248626cf4969b3f692787af840bbceb880",
		6: "e321177be05915a703357e5b4500958e9fcc4aa276f837292c2c",
		7: "083a1f20feae9c1494248626cf4969b3f692787af840bbceb880",
		// X-Wing's AEAD is ChaCha20Poly1305, as in suites 3 and 6.
		XWingChaCha20Poly1305SHA256Ed25519: "e321177be05915a703357e5b4500958e9fcc4aa276f837292c2c",
	}
	forEachSuite(t, func(t *testing.T, s *Suite) {
		key, nonce, aad, pt := seq(1, s.AEADKeyLen()), seq(100, s.AEADNonceLen()), []byte("mls aad"), []byte("hello, mls")
		ct, err := s.Seal(key, nonce, aad, pt)
		if err != nil || !bytes.Equal(ct, unhex(t, want[s.ID()])) {
			t.Fatalf("Seal = %x, %v; want %s", ct, err, want[s.ID()])
		}
		got, err := s.Open(key, nonce, aad, ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, %v", got, err)
		}
		if len(ct)-len(pt) != s.AEADOverhead() {
			t.Fatalf("AEADOverhead = %d, Seal added %d bytes", s.AEADOverhead(), len(ct)-len(pt))
		}
		for _, spare := range []int{0, s.AEADOverhead() - 1, s.AEADOverhead()} {
			buf := append(make([]byte, 0, len(pt)+spare), pt...)
			inPlace, err := s.SealInPlace(key, nonce, aad, buf)
			if err != nil || !bytes.Equal(inPlace, unhex(t, want[s.ID()])) {
				t.Fatalf("SealInPlace with %d bytes spare = %x, %v; want %s", spare, inPlace, err, want[s.ID()])
			}
			if spare == s.AEADOverhead() && &inPlace[0] != &buf[0] {
				t.Fatalf("SealInPlace with room for the tag used a new buffer")
			}
		}
		if _, err := s.SealInPlace(key, seq(0, 8), aad, bytes.Clone(pt)); !errors.Is(err, ErrLength) {
			t.Fatalf("SealInPlace with an 8-byte nonce: err %v, want ErrLength", err)
		}
		if _, err := s.SealInPlace(seq(0, 24), nonce, aad, bytes.Clone(pt)); !errors.Is(err, ErrBadKey) {
			t.Fatalf("SealInPlace with a 24-byte key: err %v, want ErrBadKey", err)
		}
		for i := range ct {
			bad := bytes.Clone(ct)
			bad[i] ^= 0x80
			if _, err := s.Open(key, nonce, aad, bad); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("byte %d flipped: err %v, want ErrDecrypt", i, err)
			}
		}
		for name, args := range map[string][4][]byte{
			"truncated": {key, nonce, aad, ct[:len(ct)-1]},
			"empty":     {key, nonce, aad, nil},
			"extended":  {key, nonce, aad, append(bytes.Clone(ct), 0)},
			"aad":       {key, nonce, []byte("mls aaD"), ct},
			"no aad":    {key, nonce, nil, ct},
			"nonce":     {key, seq(101, s.AEADNonceLen()), aad, ct},
			"key":       {seq(2, s.AEADKeyLen()), nonce, aad, ct},
		} {
			if _, err := s.Open(args[0], args[1], args[2], args[3]); !errors.Is(err, ErrDecrypt) {
				t.Errorf("%s: err %v, want ErrDecrypt", name, err)
			}
		}
		for _, n := range []int{0, s.AEADKeyLen() - 1, s.AEADKeyLen() + 1, 24} {
			if n == s.AEADKeyLen() {
				continue
			}
			if _, err := s.Seal(seq(0, n), nonce, aad, pt); !errors.Is(err, ErrBadKey) {
				t.Errorf("Seal with %d-byte key: err %v, want ErrBadKey", n, err)
			}
			if _, err := s.Open(seq(0, n), nonce, aad, ct); !errors.Is(err, ErrBadKey) {
				t.Errorf("Open with %d-byte key: err %v, want ErrBadKey", n, err)
			}
		}
		for _, n := range []int{0, 8, 11, 13, 16, 24} {
			if _, err := s.Seal(key, seq(0, n), aad, pt); !errors.Is(err, ErrLength) {
				t.Errorf("Seal with %d-byte nonce: err %v, want ErrLength", n, err)
			}
			if _, err := s.Open(key, seq(0, n), aad, ct); !errors.Is(err, ErrLength) {
				t.Errorf("Open with %d-byte nonce: err %v, want ErrLength", n, err)
			}
		}
	})
}
