package mls

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/x509cred"
)

// Errors of external signers (Options.Signer).
var (
	// ErrNoSigner reports OpenClient on a client whose signature key is
	// not in the Storage (it was created with Options.Signer) without
	// Options.Signer.
	ErrNoSigner = errors.New("mls: the client's signature key is not in storage: set Options.Signer")
	// ErrSignerMismatch reports an Options.Signer whose public key is not
	// the stored client's signature key.
	ErrSignerMismatch = errors.New("mls: Options.Signer holds another key than the client's")
	// ErrRandomizedSigner reports an Options.Signer whose signatures are
	// randomized (an ECDSA HSM) with Options.KeepRecords not 0: the
	// records of the client's own signing events could not be replayed
	// (a re-run signs differently), so the group logs would not reopen.
	ErrRandomizedSigner = errors.New("mls: external signer signs randomly: Options.KeepRecords must be 0")
	// ErrLeafUpdateKeys reports a LeafUpdate with both Signer and
	// NewSignatureKey: the leaf gets one new key.
	ErrLeafUpdateKeys = errors.New("mls: LeafUpdate sets both Signer and NewSignatureKey")
)

// NewClientWithCredential creates a client with credential cred, in a
// Storage that holds no client yet (ErrClientExists otherwise). opts may
// be nil. The signature key is Options.Signer's, or a new one kept in the
// Storage if it is nil.
//
// An X.509 credential (codec.CredentialX509, built with
// x509cred.Credential) must certify the client's signature key, so it
// needs Options.Signer with the certified key: otherwise, or with another
// key, the error is an *x509cred.Error of reason x509cred.ErrKeyMismatch
// (or ErrMalformed, ErrUnsupportedKey for a leaf certificate that does not
// parse or has no MLS key). The chain's validity is not checked here but
// by the members, with the Validator of their policy
// (Policy.AcceptCredentialAt). Capabilities that are left empty list
// cred's type only: a group mixing credential types needs
// Options.Capabilities listing them all.
func NewClientWithCredential(store Storage, cred codec.Credential, opts *Options) (*Client, error) {
	return newClientWith(store, cred, opts)
}

// checkCredentialKey checks that an X.509 credential certifies pub.
func checkCredentialKey(cred codec.Credential, pub []byte) error {
	if cred.CredentialType != codec.CredentialX509 {
		return nil
	}
	chain, err := x509cred.Parse(cred)
	if err != nil {
		return err
	}
	certified, err := x509cred.PublicKey(chain[0])
	if err != nil {
		return err
	}
	if !bytes.Equal(certified, pub) {
		return &x509cred.Error{Reason: x509cred.ErrKeyMismatch, Cert: 0, Err: errors.New("the certificate is not for the client's signature key")}
	}
	return nil
}

// externalSigner returns ext as a signer of the client's suite; with
// KeepRecords not 0, a randomized signer is refused (ErrRandomizedSigner):
// it signs the same content twice and compares.
func (c *Client) externalSigner(ext crypto.Signer) (*suite.Signer, error) {
	cs, err := suite.Lookup(c.cs)
	if err != nil {
		return nil, err
	}
	g, err := cs.NewExternalSigner(ext)
	if err != nil {
		return nil, err
	}
	if c.opts.KeepRecords != 0 {
		const probe = "mlscore signer determinism probe"
		a, err := g.SignWithLabel(probe, nil)
		if err != nil {
			return nil, err
		}
		b, err := g.SignWithLabel(probe, nil)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(a, b) {
			return nil, ErrRandomizedSigner
		}
	}
	return g, nil
}

// addSigner puts an external signer in the client's key store (memory
// only: nothing of it is stored).
func (c *Client) addSigner(g *suite.Signer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = c.keys.WithSigner(g)
}

// useSigners makes Options.Signer the client's signature key, and adds
// Options.Signers. stored is the signature public key of a stored client
// (nil for a new one), which Options.Signer's must be.
func (c *Client) useSigners(stored []byte) error {
	for i, ext := range c.opts.Signers {
		g, err := c.externalSigner(ext)
		if err != nil {
			return fmt.Errorf("mls: Options.Signers[%d]: %w", i, err)
		}
		c.addSigner(g)
	}
	if c.opts.Signer == nil {
		return nil
	}
	g, err := c.externalSigner(c.opts.Signer)
	if err != nil {
		return fmt.Errorf("mls: Options.Signer: %w", err)
	}
	if stored != nil && !bytes.Equal(g.Public(), stored) {
		return ErrSignerMismatch
	}
	c.pub = g.Public()
	c.addSigner(g)
	return nil
}

// openSigner attaches the signature keys of a client OpenClient read:
// Options.Signer (or the stored key) and Options.Signers.
func (c *Client) openSigner() error {
	if err := c.useSigners(c.pub); err != nil {
		return err
	}
	if _, ok := c.keyStore().Signer(c.pub); !ok {
		return ErrNoSigner
	}
	return nil
}
