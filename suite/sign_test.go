package suite

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/cloudflare/circl/sign/ed448"
	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
)

// TestSignaturePublicKey checks public keys against an independent
// implementation (pyca/cryptography 48) for private keys 11 11 ... (the
// P-521 scalar is 01 11 11 ...).
func TestSignaturePublicKey(t *testing.T) {
	tests := []struct {
		id        ID
		priv, pub string
	}{
		{1, "1111111111111111111111111111111111111111111111111111111111111111", "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737"},
		{3, "1111111111111111111111111111111111111111111111111111111111111111", "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737"},
		{4, "111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111", "5cb54f740b213877746f89b5542b13f2ecce171086e7d91254d5645ee99c257c50631039b3daee2da92065f5fa9ce53e00d090f2ecf795e380"},
		{6, "111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111", "5cb54f740b213877746f89b5542b13f2ecce171086e7d91254d5645ee99c257c50631039b3daee2da92065f5fa9ce53e00d090f2ecf795e380"},
		{2, "1111111111111111111111111111111111111111111111111111111111111111", "040217e617f0b6443928278f96999e69a23a4f2c152bdf6d6cdf66e5b80282d4ed194a7debcb97712d2dda3ca85aa8765a56f45fc758599652f2897c65306e5794"},
		{5, "011111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111", "0401f17c0111ebe63872f40a45aeeddec7ca8946aa5b2e798487ddec42f579edf7c5b5d780199bb7cea72401def9ced4475e538e61bfa6e9cd7bbfafc8e47051a6fad301527f7dbcf2ec7dd744f72998138bd4907950ae2bf7aaa83810f9b08be6ae4e00ce606dd875a849187e7235735df2a9256ff662e096cfc19273c208f0f3d93ee1a1"},
		{7, "111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111", "04386e767ea5cb716c9cd620ff7342129c892a6fccefe612140c80bff59e943468019dda16e5079b0c1d9001d23a624b6dd088d0c3826394194787403e8a7d07e5e22f7e9c0b8e80fa1faff5d28b4bb597b267f0b87023ca61fc8454bddefd2e0e"},
	}
	for _, tt := range tests {
		s := mustLookup(t, tt.id)
		pub, err := s.SignaturePublicKey(unhex(t, tt.priv))
		if err != nil || hex.EncodeToString(pub) != tt.pub {
			t.Errorf("suite %d: SignaturePublicKey = %x, %v; want %s", tt.id, pub, err, tt.pub)
		}
		g, err := s.NewSigner(unhex(t, tt.priv))
		if err != nil || hex.EncodeToString(g.Public()) != tt.pub {
			t.Errorf("suite %d: NewSigner: %v", tt.id, err)
		}
	}
}

// signContent encodes SignContent with package codec.
func signContent(t *testing.T, label string, content []byte) []byte {
	var b cryptobyte.Builder
	codec.AddOpaque(&b, []byte("MLS 1.0 "+label))
	codec.AddOpaque(&b, content)
	out, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSignatures(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		seed := seq(1, s.SignatureSeedLen())
		priv, pub, err := s.GenerateSignatureKey(seed)
		if err != nil {
			t.Fatal(err)
		}
		// Determinism of key generation.
		priv2, pub2, _ := s.GenerateSignatureKey(seed)
		priv3, pub3, _ := s.GenerateSignatureKey(seq(2, s.SignatureSeedLen()))
		if !bytes.Equal(priv, priv2) || !bytes.Equal(pub, pub2) {
			t.Error("GenerateSignatureKey is not deterministic")
		}
		if bytes.Equal(priv, priv3) || bytes.Equal(pub, pub3) {
			t.Error("GenerateSignatureKey ignores its seed")
		}
		if len(priv) != s.SignatureSeedLen() {
			t.Errorf("private key of %d bytes", len(priv))
		}
		if got, err := s.SignaturePublicKey(priv); err != nil || !bytes.Equal(got, pub) {
			t.Errorf("SignaturePublicKey = %x, %v; want %x", got, err, pub)
		}
		for _, n := range []int{0, s.SignatureSeedLen() - 1, s.SignatureSeedLen() + 1} {
			if _, _, err := s.GenerateSignatureKey(seq(0, n)); !errors.Is(err, ErrLength) {
				t.Errorf("%d-byte seed: err %v, want ErrLength", n, err)
			}
			if n > 0 && n < s.SignatureSeedLen() && s.sig != sigEd25519 && s.sig != sigEd448 {
				continue // a short ECDSA scalar is left-padded (TestShortECDSAKeyIsPadded)
			}
			if _, err := s.NewSigner(seq(0, n)); !errors.Is(err, ErrBadKey) {
				t.Errorf("%d-byte key: err %v, want ErrBadKey", n, err)
			}
			if _, err := s.SignWithLabel(seq(0, n), "L", nil); !errors.Is(err, ErrBadKey) {
				t.Errorf("SignWithLabel with %d-byte key: err %v, want ErrBadKey", n, err)
			}
		}

		g, err := s.NewSigner(priv)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(g.Public(), pub) {
			t.Error("Signer.Public differs from GenerateSignatureKey's")
		}
		content := []byte("content")
		sig, err := g.SignWithLabel("LeafNodeTBS", content)
		if err != nil {
			t.Fatal(err)
		}
		// Deterministic signatures (RFC 6979 for ECDSA).
		sig2, _ := s.SignWithLabel(priv, "LeafNodeTBS", content)
		if !bytes.Equal(sig, sig2) {
			t.Errorf("signatures differ: %x, %x", sig, sig2)
		}
		if err := s.VerifyWithLabel(pub, "LeafNodeTBS", content, sig); err != nil {
			t.Fatalf("VerifyWithLabel: %v", err)
		}
		// The signature is over SignContent with the scheme's plain
		// verification.
		msg := signContent(t, "LeafNodeTBS", content)
		ok := false
		switch s.sig {
		case sigEd25519:
			ok = ed25519.Verify(pub, msg, sig)
		case sigEd448:
			ok = ed448.Verify(pub, msg, sig, "")
		default:
			pk, err := ecdsa.ParseUncompressedPublicKey(s.curve, pub)
			ok = err == nil && ecdsa.VerifyASN1(pk, s.Hash(msg), sig)
		}
		if !ok {
			t.Error("signature does not verify as a plain signature over SignContent")
		}

		for i := range sig {
			bad := bytes.Clone(sig)
			bad[i] ^= 0x04
			if err := s.VerifyWithLabel(pub, "LeafNodeTBS", content, bad); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("signature byte %d flipped: err %v, want ErrBadSignature", i, err)
			}
		}
		for name, a := range map[string]struct {
			pub, content, sig []byte
			label             string
		}{
			"label":     {pub, content, sig, "LeafNodeTbs"},
			"content":   {pub, []byte("contenT"), sig, "LeafNodeTBS"},
			"key":       {pub3, content, sig, "LeafNodeTBS"},
			"truncated": {pub, content, sig[:len(sig)-1], "LeafNodeTBS"},
			"extended":  {pub, content, append(bytes.Clone(sig), 0), "LeafNodeTBS"},
			"empty":     {pub, content, nil, "LeafNodeTBS"},
		} {
			if err := s.VerifyWithLabel(a.pub, a.label, a.content, a.sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("%s: err %v, want ErrBadSignature", name, err)
			}
		}
		for _, bad := range [][]byte{nil, pub[:len(pub)-1], append(bytes.Clone(pub), 0)} {
			err := s.VerifyWithLabel(bad, "LeafNodeTBS", content, sig)
			if !errors.Is(err, ErrBadSignature) || !errors.Is(err, ErrBadKey) {
				t.Errorf("%d-byte public key: err %v, want ErrBadSignature and ErrBadKey", len(bad), err)
			}
		}
	})
}

// TestECDSAKeyRange checks that an ECDSA scalar of zero or at least the
// group order is rejected.
func TestECDSAKeyRange(t *testing.T) {
	for _, id := range []ID{2, 5, 7} {
		s := mustLookup(t, id)
		n := s.curve.Params().N.FillBytes(make([]byte, s.SignatureSeedLen()))
		for _, bad := range [][]byte{make([]byte, s.SignatureSeedLen()), n, bytes.Repeat([]byte{0xff}, s.SignatureSeedLen())} {
			if _, err := s.NewSigner(bad); !errors.Is(err, ErrBadKey) {
				t.Errorf("suite %d: scalar %x: err %v, want ErrBadKey", id, bad, err)
			}
		}
	}
}
