// Package x509credtest builds deterministic test PKIs for X.509
// credentials: a root CA, an intermediate CA and leaf certificates issued
// by the intermediate, all made with crypto/x509's CreateCertificate and
// Ed25519 CA keys derived from fixed seeds, so that the same calls give
// the same certificates, byte for byte. It is for tests and examples only.
package x509credtest

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	encasn1 "encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// PKI is a root CA and an intermediate CA it certified.
type PKI struct {
	Root, Intermediate       *x509.Certificate
	RootDER, IntermediateDER []byte
	rootKey, interKey        ed25519.PrivateKey
	serial                   int64
}

// Ed25519Key returns the Ed25519 private key of a name: its seed is the
// SHA-256 of the name.
func Ed25519Key(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("x509credtest " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// New returns a PKI whose CA certificates are valid from notBefore to
// notAfter.
func New(notBefore, notAfter time.Time) (*PKI, error) {
	p := &PKI{rootKey: Ed25519Key("root CA"), interKey: Ed25519Key("intermediate CA")}
	var err error
	rootTmpl := p.caTemplate("mlscore test root CA", notBefore, notAfter, 1)
	if p.RootDER, err = x509.CreateCertificate(zeroReader{}, rootTmpl, rootTmpl, p.rootKey.Public(), p.rootKey); err != nil {
		return nil, err
	}
	if p.Root, err = x509.ParseCertificate(p.RootDER); err != nil {
		return nil, err
	}
	interTmpl := p.caTemplate("mlscore test intermediate CA", notBefore, notAfter, 0)
	if p.IntermediateDER, err = x509.CreateCertificate(zeroReader{}, interTmpl, p.Root, p.interKey.Public(), p.rootKey); err != nil {
		return nil, err
	}
	if p.Intermediate, err = x509.ParseCertificate(p.IntermediateDER); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *PKI) caTemplate(name string, notBefore, notAfter time.Time, maxPath int) *x509.Certificate {
	p.serial++
	return &x509.Certificate{
		SerialNumber:          big.NewInt(p.serial),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            maxPath,
		MaxPathLenZero:        maxPath == 0,
	}
}

// Roots returns a pool holding the root CA.
func (p *PKI) Roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.Root)
	return pool
}

// Leaf describes a leaf certificate to issue.
type Leaf struct {
	Name                string
	Key                 crypto.PublicKey // ed25519.PublicKey or *ecdsa.PublicKey
	NotBefore, NotAfter time.Time
	// KeyUsage is the keyUsage extension; 0 leaves it out.
	KeyUsage    x509.KeyUsage
	ExtKeyUsage []x509.ExtKeyUsage
}

// Issue returns the DER certificate of l, issued by the intermediate CA.
func (p *PKI) Issue(l Leaf) ([]byte, error) {
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject:      pkix.Name{CommonName: l.Name},
		NotBefore:    l.NotBefore,
		NotAfter:     l.NotAfter,
		KeyUsage:     l.KeyUsage,
		ExtKeyUsage:  l.ExtKeyUsage,
	}
	der, err := x509.CreateCertificate(zeroReader{}, tmpl, p.Intermediate, l.Key, p.interKey)
	if err != nil {
		return nil, fmt.Errorf("x509credtest: issuing %q: %w", l.Name, err)
	}
	return der, nil
}

// IssueEd448 returns the DER certificate of l for the Ed448 public key
// pub (57 bytes; l.Key is ignored). crypto/x509 cannot create one, so the
// certificate is made for a stand-in Ed25519 key, its
// SubjectPublicKeyInfo replaced by the Ed448 one (RFC 8410) and its
// TBSCertificate signed again by the intermediate CA.
func (p *PKI) IssueEd448(l Leaf, pub []byte) ([]byte, error) {
	l.Key = Ed25519Key("stand-in").Public()
	der, err := p.Issue(l)
	if err != nil {
		return nil, err
	}
	in := cryptobyte.String(der)
	var cert, tbs, sigAlg cryptobyte.String
	if !in.ReadASN1(&cert, asn1.SEQUENCE) || !cert.ReadASN1(&tbs, asn1.SEQUENCE) || !cert.ReadASN1Element(&sigAlg, asn1.SEQUENCE) {
		return nil, fmt.Errorf("x509credtest: re-reading %q", l.Name)
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		// version, serialNumber, signature, issuer, validity, subject.
		for range 6 {
			var e cryptobyte.String
			var tag asn1.Tag
			if !tbs.ReadAnyASN1Element(&e, &tag) {
				b.SetError(fmt.Errorf("x509credtest: re-reading %q", l.Name))
				return
			}
			b.AddBytes(e)
		}
		tbs.SkipASN1(asn1.SEQUENCE) // the stand-in key
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidEd448) })
			b.AddASN1BitString(pub)
		})
		b.AddBytes(tbs) // the extensions
	})
	newTBS, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	var out cryptobyte.Builder
	out.AddASN1(asn1.SEQUENCE, func(c *cryptobyte.Builder) {
		c.AddBytes(newTBS)
		c.AddBytes(sigAlg)
		c.AddASN1BitString(ed25519.Sign(p.interKey, newTBS))
	})
	return out.Bytes()
}

// oidEd448 is id-Ed448 (RFC 8410).
var oidEd448 = encasn1.ObjectIdentifier{1, 3, 101, 113}

// Chain returns the credential chain of a leaf: the leaf, then the
// intermediate (the root is the trust anchor, not sent).
func (p *PKI) Chain(leaf []byte) [][]byte {
	return [][]byte{bytes.Clone(leaf), bytes.Clone(p.IntermediateDER)}
}

// zeroReader is CreateCertificate's randomness: Ed25519 signatures do not
// use it, and a constant reader keeps any other draw reproducible.
type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}
