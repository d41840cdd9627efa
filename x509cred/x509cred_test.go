package x509cred_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/cloudflare/circl/sign/ed448"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/x509cred"
	"github.com/mlscore/mlscore/x509cred/x509credtest"
)

var (
	t0  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day = 24 * time.Hour
)

func p256Key(t *testing.T, name string) *ecdsa.PrivateKey {
	return ecKey(t, elliptic.P256(), name)
}

// ecKey is a deterministic ECDSA key on curve c: its scalar is drawn from
// SHA-256 of the name, repeated to the curve's size (top byte cleared).
func ecKey(t *testing.T, c elliptic.Curve, name string) *ecdsa.PrivateKey {
	t.Helper()
	h := sha256.Sum256([]byte(name))
	scalar := bytes.Repeat(h[:], 3)[:(c.Params().BitSize+7)/8]
	scalar[0] = 1
	k, err := ecdsa.ParseRawPrivateKey(c, scalar)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issue(t *testing.T, p *x509credtest.PKI, l x509credtest.Leaf) codec.Credential {
	t.Helper()
	der, err := p.Issue(l)
	if err != nil {
		t.Fatal(err)
	}
	return x509cred.Credential(p.Chain(der)...)
}

// TestValidate: each kind of bad credential is rejected with its reason,
// at the time given, and the good ones are accepted.
func TestValidate(t *testing.T) {
	pki, err := x509credtest.New(t0.Add(-365*day), t0.Add(365*day))
	if err != nil {
		t.Fatal(err)
	}
	alice := x509credtest.Ed25519Key("alice")
	alicePub := []byte(alice.Public().(ed25519.PublicKey))
	good := x509credtest.Leaf{Name: "alice", Key: alice.Public(), NotBefore: t0.Add(-day), NotAfter: t0.Add(30 * day),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	p256 := p256Key(t, "bob")
	p256Pub, _ := p256.PublicKey.Bytes()
	goodP256 := good
	goodP256.Name, goodP256.Key = "bob", &p256.PublicKey

	goodP384, goodP521 := good, good
	p384, p521 := ecKey(t, elliptic.P384(), "carol"), ecKey(t, elliptic.P521(), "dave")
	goodP384.Key, goodP521.Key = &p384.PublicKey, &p521.PublicKey
	p384Pub, _ := p384.PublicKey.Bytes()
	p521Pub, _ := p521.PublicKey.Bytes()

	ed448Priv := ed448.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed448.SeedSize))
	ed448Pub := []byte(ed448Priv.Public().(ed448.PublicKey))
	ed448DER, err := pki.IssueEd448(good, ed448Pub)
	if err != nil {
		t.Fatal(err)
	}

	expired, notYet, noSign, noKU := good, good, good, good
	expired.NotBefore, expired.NotAfter = t0.Add(-60*day), t0.Add(-day)
	notYet.NotBefore = t0.Add(day)
	noSign.KeyUsage = x509.KeyUsageKeyEncipherment
	noKU.KeyUsage = 0
	serverOnly := good
	serverOnly.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}

	v := &x509cred.Validator{Roots: pki.Roots()}
	strict := &x509cred.Validator{Roots: pki.Roots(), RequireKeyUsage: true, ExtKeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	for _, tc := range []struct {
		name string
		v    *x509cred.Validator
		at   time.Time
		cred codec.Credential
		key  []byte
		want error // nil: accepted
		cert int   // the certificate at fault
	}{
		{"valid ed25519", v, t0, issue(t, pki, good), alicePub, nil, 0},
		{"valid ed25519 strict", strict, t0, issue(t, pki, good), alicePub, nil, 0},
		{"valid p256", v, t0, issue(t, pki, goodP256), p256Pub, nil, 0},
		{"valid p384", v, t0, issue(t, pki, goodP384), p384Pub, nil, 0},
		{"valid p521", v, t0, issue(t, pki, goodP521), p521Pub, nil, 0},
		{"key mismatch p384 for p521", v, t0, issue(t, pki, goodP384), p521Pub, x509cred.ErrKeyMismatch, 0},
		{"valid ed448", v, t0, x509cred.Credential(pki.Chain(ed448DER)...), ed448Pub, nil, 0},
		{"valid without keyUsage", v, t0, issue(t, pki, noKU), alicePub, nil, 0},
		{"valid leaf, later expired", v, t0.Add(31 * day), issue(t, pki, good), alicePub, x509cred.ErrExpired, 0},
		{"expired", v, t0, issue(t, pki, expired), alicePub, x509cred.ErrExpired, 0},
		{"not yet valid", v, t0, issue(t, pki, notYet), alicePub, x509cred.ErrNotYetValid, 0},
		{"CA expired", v, t0.Add(400 * day), issue(t, pki, good), alicePub, x509cred.ErrExpired, -2},
		{"wrong key usage", v, t0, issue(t, pki, noSign), alicePub, x509cred.ErrKeyUsage, 0},
		{"keyUsage required", strict, t0, issue(t, pki, noKU), alicePub, x509cred.ErrKeyUsage, 0},
		{"EKU not allowed", strict, t0, issue(t, pki, serverOnly), alicePub, x509cred.ErrKeyUsage, -2},
		{"key mismatch", v, t0, issue(t, pki, good), p256Pub, x509cred.ErrKeyMismatch, 0},
		{"key mismatch ed448", v, t0, x509cred.Credential(pki.Chain(ed448DER)...), alicePub, x509cred.ErrKeyMismatch, 0},
		{"unknown authority", &x509cred.Validator{Roots: x509.NewCertPool()}, t0, issue(t, pki, good), alicePub, x509cred.ErrUnknownAuthority, -1},
		{"no roots", &x509cred.Validator{}, t0, issue(t, pki, good), alicePub, x509cred.ErrUnknownAuthority, -1},
		{"leaf alone, intermediate missing", v, t0, x509cred.Credential(issue(t, pki, good).Certificates[0]), alicePub, x509cred.ErrUnknownAuthority, -1},
		{"leaf alone, intermediate configured", &x509cred.Validator{Roots: pki.Roots(), Intermediates: pool(pki.Intermediate)},
			t0, x509cred.Credential(issue(t, pki, good).Certificates[0]), alicePub, nil, 0},
		{"basic", v, t0, codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte("a")}, alicePub, x509cred.ErrNotX509, -1},
		{"basic allowed", &x509cred.Validator{AllowOther: true}, t0, codec.Credential{CredentialType: codec.CredentialBasic}, alicePub, nil, 0},
		{"empty chain", v, t0, x509cred.Credential(), alicePub, x509cred.ErrMalformed, -1},
		{"garbage", v, t0, x509cred.Credential([]byte{0x30, 0x03, 1, 2, 3}), alicePub, x509cred.ErrMalformed, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.v.Validate(tc.at, tc.cred, tc.key)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			var e *x509cred.Error
			if !errors.Is(err, tc.want) || !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error of reason %v", err, tc.want)
			}
			if tc.cert != -2 && e.Cert != tc.cert {
				t.Fatalf("certificate at fault %d, want %d (%v)", e.Cert, tc.cert, err)
			}
			for _, r := range []error{x509cred.ErrExpired, x509cred.ErrKeyUsage, x509cred.ErrKeyMismatch, x509cred.ErrUnknownAuthority} {
				if r != tc.want && errors.Is(err, r) {
					t.Fatalf("%v also matches %v", err, r)
				}
			}
		})
	}
}

func pool(cs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range cs {
		p.AddCert(c)
	}
	return p
}

// TestPolicy: the Policy function validates at the event's time, given in
// seconds since the Unix epoch.
func TestPolicy(t *testing.T) {
	pki, err := x509credtest.New(t0.Add(-365*day), t0.Add(365*day))
	if err != nil {
		t.Fatal(err)
	}
	k := x509credtest.Ed25519Key("alice")
	cred := issue(t, pki, x509credtest.Leaf{Name: "alice", Key: k.Public(), NotBefore: t0, NotAfter: t0.Add(day)})
	pub := []byte(k[32:])
	f := (&x509cred.Validator{Roots: pki.Roots()}).Policy()
	at := uint64(t0.Unix())
	if err := f(at+10, cred, pub); err != nil {
		t.Fatal(err)
	}
	if err := f(at+uint64(day/time.Second)+1, cred, pub); !errors.Is(err, x509cred.ErrExpired) {
		t.Fatalf("a second after NotAfter: %v", err)
	}
	if err := f(at-1, cred, pub); !errors.Is(err, x509cred.ErrNotYetValid) {
		t.Fatalf("a second before NotBefore: %v", err)
	}
	if err := f(1<<63, cred, pub); !errors.Is(err, x509cred.ErrExpired) {
		t.Fatalf("at 2^63: %v", err)
	}
}

// TestDeterministic: the fixture PKI is the same on every run, so tests
// that depend on it (and the logs they write) are reproducible.
func TestDeterministic(t *testing.T) {
	a, _ := x509credtest.New(t0, t0.Add(day))
	b, _ := x509credtest.New(t0, t0.Add(day))
	if !bytes.Equal(a.RootDER, b.RootDER) || !bytes.Equal(a.IntermediateDER, b.IntermediateDER) {
		t.Fatal("two PKIs of the same times differ")
	}
}

// BenchmarkValidate: one validation of a leaf and intermediate chain
// (two Ed25519 certificate signatures), as each leaf of a joined tree
// costs.
func BenchmarkValidate(b *testing.B) {
	pki, err := x509credtest.New(t0.Add(-365*day), t0.Add(365*day))
	if err != nil {
		b.Fatal(err)
	}
	k := x509credtest.Ed25519Key("alice")
	der, err := pki.Issue(x509credtest.Leaf{Name: "alice", Key: k.Public(), NotBefore: t0, NotAfter: t0.Add(day), KeyUsage: x509.KeyUsageDigitalSignature})
	if err != nil {
		b.Fatal(err)
	}
	cred, pub := x509cred.Credential(pki.Chain(der)...), []byte(k.Public().(ed25519.PublicKey))
	v := &x509cred.Validator{Roots: pki.Roots()}
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Validate(t0, cred, pub); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPublicKeyUnsupported: a certificate key no MLS suite signs with
// (RSA) and an unparsed key that is not Ed448 are ErrUnsupportedKey.
func TestPublicKeyUnsupported(t *testing.T) {
	for _, c := range []*x509.Certificate{
		{PublicKey: &rsa.PublicKey{N: big.NewInt(3233), E: 17}},
		{PublicKey: nil, RawSubjectPublicKeyInfo: []byte{0x30, 0x00}},
	} {
		if _, err := x509cred.PublicKey(c); !errors.Is(err, x509cred.ErrUnsupportedKey) {
			t.Errorf("%T: %v", c.PublicKey, err)
		}
	}
}
