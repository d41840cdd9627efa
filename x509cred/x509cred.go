// Package x509cred validates X.509 credentials (RFC 9420, Section 5.3:
// credential_type x509, a certificate chain, leaf first) with the standard
// library's crypto/x509, for transitions.Policy.AcceptCredentialAt and the
// shell's Options.Policy.
//
// A Validator checks, for the time of the event being applied (never the
// wall clock: the core has no clock, and a replayed log must give the
// same answer):
//
//  1. the credential is of type x509 and every certificate parses;
//  2. the chain leads from the leaf to one of the configured Roots,
//     through the credential's other certificates and the configured
//     Intermediates, every certificate valid at the event's time
//     (crypto/x509's Verify with CurrentTime), with the extended key
//     usages the Validator asks for;
//  3. the leaf's keyUsage extension, when present, allows
//     digitalSignature (RFC 5280, Section 4.2.1.3), and is present at all
//     if RequireKeyUsage is set;
//  4. the leaf node's MLS signature key is the certificate's public key.
//
// # Supported keys
//
// The certificate's key is compared with the MLS signature key in the
// encoding of RFC 9420's cipher suites: an Ed25519 key (32 bytes), an
// ECDSA key on P-256, P-384 or P-521 (the uncompressed SEC1 point) and an
// Ed448 key (57 bytes, OID 1.3.101.113). crypto/x509 does not parse Ed448
// keys, so an Ed448 leaf's key is read from its SubjectPublicKeyInfo
// here; a certificate *signed* with Ed448 (an Ed448 root or intermediate)
// cannot be verified by crypto/x509 and fails as ErrInvalidChain. RSA and
// other keys fail as ErrUnsupportedKey: no MLS cipher suite signs with
// them.
//
// # Errors
//
// Every rejection is an *Error whose Reason is one of the sentinel errors
// (ErrNotX509, ErrMalformed, ErrExpired, ErrNotYetValid,
// ErrUnknownAuthority, ErrKeyUsage, ErrKeyMismatch, ErrUnsupportedKey,
// ErrInvalidChain), so that errors.Is(err, x509cred.ErrExpired) works on
// the error the shell returns; it wraps crypto/x509's error where there is
// one.
package x509cred

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/mlscore/mlscore/codec"
)

// The reasons of a rejection, matched with errors.Is.
var (
	// ErrNotX509 reports a credential that is not of type x509 (and the
	// Validator does not AllowOther).
	ErrNotX509 = errors.New("mls: not an X.509 credential")
	// ErrMalformed reports an empty chain or a certificate that does not
	// parse.
	ErrMalformed = errors.New("mls: malformed X.509 certificate")
	// ErrExpired reports a certificate of the chain whose NotAfter is
	// before the event's time.
	ErrExpired = errors.New("mls: X.509 certificate expired")
	// ErrNotYetValid reports a certificate of the chain whose NotBefore is
	// after the event's time.
	ErrNotYetValid = errors.New("mls: X.509 certificate not yet valid")
	// ErrUnknownAuthority reports a chain that does not lead to one of the
	// Validator's Roots.
	ErrUnknownAuthority = errors.New("mls: X.509 certificate signed by unknown authority")
	// ErrKeyUsage reports a leaf whose key usage does not allow
	// digitalSignature, or a chain without the extended key usages the
	// Validator asks for.
	ErrKeyUsage = errors.New("mls: X.509 certificate key usage does not allow MLS signing")
	// ErrKeyMismatch reports a leaf node whose signature key is not the
	// leaf certificate's public key.
	ErrKeyMismatch = errors.New("mls: signature key does not match the X.509 certificate")
	// ErrUnsupportedKey reports a certificate key of a kind no MLS cipher
	// suite signs with (RSA, ...).
	ErrUnsupportedKey = errors.New("mls: unsupported X.509 public key")
	// ErrInvalidChain reports a chain that crypto/x509 rejects for another
	// reason (a leaf not authorized to sign certificates used as an
	// intermediate, name constraints, a signature algorithm it does not
	// verify).
	ErrInvalidChain = errors.New("mls: invalid X.509 certificate chain")
)

// Error is a rejected X.509 credential.
type Error struct {
	// Reason is one of the sentinel errors of this package.
	Reason error
	// Cert is the index in the credential's chain (0 is the leaf) of the
	// certificate at fault, -1 when none is (a chain that leads nowhere).
	Cert int
	// Err is crypto/x509's error, or more detail; nil if none.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	msg := e.Reason.Error()
	if e.Cert >= 0 {
		msg += fmt.Sprintf(" (certificate %d)", e.Cert)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is e's Reason.
func (e *Error) Is(target error) bool { return target == e.Reason }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Validator validates X.509 credentials. Its zero value trusts no root:
// it rejects every X.509 chain with ErrUnknownAuthority (it never falls
// back to the system's roots, which would make a group's validity depend
// on the machine). A Validator must not be modified while in use.
type Validator struct {
	// Roots are the trust anchors.
	Roots *x509.CertPool
	// Intermediates are intermediate certificates usable besides those
	// of the credential's chain (which are always used).
	Intermediates *x509.CertPool
	// ExtKeyUsages, if not empty, are the extended key usages the leaf
	// must allow (any one of them, with every certificate of the chain
	// allowing it, as crypto/x509 checks them). Empty accepts any.
	ExtKeyUsages []x509.ExtKeyUsage
	// RequireKeyUsage rejects a leaf without the keyUsage extension; by
	// default an absent extension allows every usage (RFC 5280, Section
	// 4.2.1.3).
	RequireKeyUsage bool
	// AllowOther accepts credentials of other types (basic, ...) without
	// checking them; by default they are rejected with ErrNotX509.
	AllowOther bool
}

// Validate checks credential c of a leaf node whose signature key is
// signatureKey at time at (see the package documentation). It returns
// nil or an *Error.
func (v *Validator) Validate(at time.Time, c codec.Credential, signatureKey []byte) error {
	if c.CredentialType != codec.CredentialX509 {
		if v.AllowOther {
			return nil
		}
		return &Error{Reason: ErrNotX509, Cert: -1, Err: fmt.Errorf("credential type %d", c.CredentialType)}
	}
	chain, err := Parse(c)
	if err != nil {
		return err
	}
	leaf := chain[0]
	if err := v.verifyChain(at, chain); err != nil {
		return err
	}
	if leaf.KeyUsage == 0 && v.RequireKeyUsage {
		return &Error{Reason: ErrKeyUsage, Cert: 0, Err: errors.New("no keyUsage extension")}
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return &Error{Reason: ErrKeyUsage, Cert: 0, Err: errors.New("keyUsage lacks digitalSignature")}
	}
	pub, err := PublicKey(leaf)
	if err != nil {
		return err
	}
	if !bytes.Equal(pub, signatureKey) {
		return &Error{Reason: ErrKeyMismatch, Cert: 0}
	}
	return nil
}

// verifyChain runs crypto/x509's path building and maps its errors.
func (v *Validator) verifyChain(at time.Time, chain []*x509.Certificate) error {
	roots := v.Roots
	if roots == nil {
		roots = x509.NewCertPool()
	}
	inter := x509.NewCertPool()
	if v.Intermediates != nil {
		inter = v.Intermediates.Clone()
	}
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	eku := v.ExtKeyUsages
	if len(eku) == 0 {
		eku = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at, KeyUsages: eku})
	if err == nil {
		return nil
	}
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return &Error{Reason: ErrUnknownAuthority, Cert: -1, Err: err}
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		r := ErrExpired
		if ci.Cert != nil && at.Before(ci.Cert.NotBefore) {
			r = ErrNotYetValid
		}
		return &Error{Reason: r, Cert: indexOf(chain, ci.Cert), Err: err}
	case errors.As(err, &ci) && ci.Reason == x509.IncompatibleUsage:
		return &Error{Reason: ErrKeyUsage, Cert: indexOf(chain, ci.Cert), Err: err}
	case errors.As(err, &ci):
		return &Error{Reason: ErrInvalidChain, Cert: indexOf(chain, ci.Cert), Err: err}
	}
	return &Error{Reason: ErrInvalidChain, Cert: -1, Err: err}
}

// indexOf returns the index of c in chain, -1 if it is not there (a
// configured intermediate or root).
func indexOf(chain []*x509.Certificate, c *x509.Certificate) int {
	for i, x := range chain {
		if c != nil && x.Equal(c) {
			return i
		}
	}
	return -1
}

// Policy returns v.Validate as a transitions.Policy.AcceptCredentialAt
// function (at in seconds since the Unix epoch, the event's time).
func (v *Validator) Policy() func(at uint64, c codec.Credential, signatureKey []byte) error {
	return func(at uint64, c codec.Credential, signatureKey []byte) error {
		if at > 1<<62 {
			// Beyond any certificate's validity (time.Unix takes an int64).
			at = 1 << 62
		}
		return v.Validate(time.Unix(int64(at), 0), c, signatureKey)
	}
}

// Parse parses the certificates of an X.509 credential, leaf first. Any
// failure is an *Error: ErrNotX509, or ErrMalformed for an empty chain or
// a certificate that does not parse.
func Parse(c codec.Credential) ([]*x509.Certificate, error) {
	if c.CredentialType != codec.CredentialX509 {
		return nil, &Error{Reason: ErrNotX509, Cert: -1, Err: fmt.Errorf("credential type %d", c.CredentialType)}
	}
	if len(c.Certificates) == 0 {
		return nil, &Error{Reason: ErrMalformed, Cert: -1, Err: errors.New("empty certificate chain")}
	}
	chain := make([]*x509.Certificate, len(c.Certificates))
	for i, der := range c.Certificates {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, &Error{Reason: ErrMalformed, Cert: i, Err: err}
		}
		chain[i] = cert
	}
	return chain, nil
}

// Credential returns the X.509 credential of a chain of DER certificates,
// leaf first.
func Credential(der ...[]byte) codec.Credential {
	certs := make([][]byte, len(der))
	for i, d := range der {
		certs[i] = bytes.Clone(d)
	}
	return codec.Credential{CredentialType: codec.CredentialX509, Certificates: certs}
}

// oidEd448 is id-Ed448 (RFC 8410).
var oidEd448 = asn1.ObjectIdentifier{1, 3, 101, 113}

// PublicKey returns cert's public key in the encoding of an MLS signature
// key: the 32 bytes of an Ed25519 key, the uncompressed point of an ECDSA
// key on P-256, P-384 or P-521, the 57 bytes of an Ed448 key. Other keys
// fail with an *Error of Reason ErrUnsupportedKey.
func PublicKey(cert *x509.Certificate) ([]byte, error) {
	switch k := cert.PublicKey.(type) {
	case ed25519.PublicKey:
		return bytes.Clone(k), nil
	case *ecdsa.PublicKey:
		pub, err := k.Bytes()
		if err != nil {
			return nil, &Error{Reason: ErrUnsupportedKey, Cert: 0, Err: err}
		}
		return pub, nil
	case nil:
		if pub, ok := ed448Key(cert.RawSubjectPublicKeyInfo); ok {
			return pub, nil
		}
	}
	return nil, &Error{Reason: ErrUnsupportedKey, Cert: 0, Err: fmt.Errorf("public key algorithm %v", cert.PublicKeyAlgorithm)}
}

// ed448Key reads an Ed448 SubjectPublicKeyInfo (RFC 8410, Section 4: the
// algorithm without parameters, the 57-byte key as a BIT STRING).
func ed448Key(spki []byte) ([]byte, bool) {
	s := cryptobyte.String(spki)
	var inner, alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	var key asn1.BitString
	if !s.ReadASN1(&inner, cbasn1.SEQUENCE) || !s.Empty() ||
		!inner.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) || !alg.Empty() ||
		!inner.ReadASN1BitString(&key) || !inner.Empty() {
		return nil, false
	}
	if !oid.Equal(oidEd448) || key.BitLength != 57*8 {
		return nil, false
	}
	return bytes.Clone(key.Bytes), true
}
