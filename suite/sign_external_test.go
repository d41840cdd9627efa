package suite

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"errors"
	"io"
	"testing"

	"github.com/cloudflare/circl/sign/ed448"
)

// softKey returns the crypto.Signer of the private key GenerateSignatureKey
// derives from a fixed seed, and that Signer parsed by NewSigner.
func softKey(t *testing.T, s *Suite) (crypto.Signer, *Signer) {
	t.Helper()
	priv, _, err := s.GenerateSignatureKey(bytes.Repeat([]byte{0x42}, s.SignatureSeedLen()))
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case g.ed25519 != nil:
		return g.ed25519, g
	case g.ed448 != nil:
		return g.ed448, g
	}
	return g.ecdsa, g
}

// TestExternalSigner: a crypto.Signer holding the same key signs exactly
// as the suite's own signer for every suite (EdDSA and a software ECDSA key
// with a nil random source are deterministic), and its public key is the
// suite's encoding of the key.
func TestExternalSigner(t *testing.T) {
	for _, id := range []ID{1, 2, 3, 4, 5, 6, 7} {
		s := mustLookup(t, id)
		ext, own := softKey(t, s)
		g, err := s.NewExternalSigner(ext)
		if err != nil {
			t.Fatalf("suite %d: %v", id, err)
		}
		if !g.External() || own.External() || !bytes.Equal(g.Public(), own.Public()) {
			t.Fatalf("suite %d: external signer's public key %x, want %x", id, g.Public(), own.Public())
		}
		want, err := own.SignWithLabel("label", []byte("content"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := g.SignWithLabel("label", []byte("content"))
		if err != nil {
			t.Fatalf("suite %d: %v", id, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("suite %d: external signature %x, own %x", id, got, want)
		}
	}
}

// randomized is an ECDSA crypto.Signer that ignores the nil source it is
// given and signs with a random nonce, as an HSM does.
type randomized struct{ *ecdsa.PrivateKey }

func (r randomized) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return r.PrivateKey.Sign(zeroReader{}, digest, opts) // a non-nil source: Go draws its own randomness
}

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) { clear(b); return len(b), nil }

// failing returns a fixed signature or error.
type failing struct {
	pub crypto.PublicKey
	sig []byte
	err error
}

func (f failing) Public() crypto.PublicKey                                  { return f.pub }
func (f failing) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return f.sig, f.err }

// TestExternalSignerChecks: a randomized ECDSA signer gives valid,
// different signatures; a key of another scheme or curve is refused
// (ErrBadKey); a signer's error or a signature that does not verify is
// ErrSigner.
func TestExternalSignerChecks(t *testing.T) {
	s2 := mustLookup(t, 2)
	ext, _ := softKey(t, s2)
	g, err := s2.NewExternalSigner(randomized{ext.(*ecdsa.PrivateKey)})
	if err != nil {
		t.Fatal(err)
	}
	a, err1 := g.SignWithLabel("l", []byte("c"))
	b, err2 := g.SignWithLabel("l", []byte("c"))
	if err1 != nil || err2 != nil || bytes.Equal(a, b) {
		t.Fatalf("randomized signer: %v %v, equal %v", err1, err2, bytes.Equal(a, b))
	}
	for _, sig := range [][]byte{a, b} {
		if err := s2.VerifyWithLabel(g.Public(), "l", []byte("c"), sig); err != nil {
			t.Fatal(err)
		}
	}

	s1, s7 := mustLookup(t, 1), mustLookup(t, 7)
	ed, _ := softKey(t, s1)
	for _, tc := range []struct {
		s   *Suite
		ext crypto.Signer
	}{{s1, ext}, {s2, ed}, {s7, ext}, {mustLookup(t, 4), ed}, {s1, failing{pub: ed25519.PublicKey{1, 2}}}, {s1, failing{pub: ed448.PublicKey{}}}} {
		if _, err := tc.s.NewExternalSigner(tc.ext); !errors.Is(err, ErrBadKey) {
			t.Errorf("suite %s, key %T: %v, want ErrBadKey", tc.s.ID(), tc.ext.Public(), err)
		}
	}

	errHSM := errors.New("token removed")
	pub := ed.Public()
	for _, f := range []failing{{pub: pub, err: errHSM}, {pub: pub, sig: make([]byte, 64)}} {
		g, err := s1.NewExternalSigner(f)
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.SignWithLabel("l", []byte("c"))
		if !errors.Is(err, ErrSigner) || (f.err != nil && !errors.Is(err, errHSM)) || (f.err == nil && !errors.Is(err, ErrBadSignature)) {
			t.Fatalf("failing signer %v: %v", f.err, err)
		}
	}
}
