package mls

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
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

// externalSigner returns ext as a signer of the client's suite. With
// KeepRecords not 0 it signs the same content twice: randomized is true
// if the two signatures differ (an ECDSA HSM), and the client then
// journals that signer's signatures (see sigJournal).
func (c *Client) externalSigner(ext crypto.Signer) (g *suite.Signer, randomized bool, err error) {
	cs, err := suite.Lookup(c.cs)
	if err != nil {
		return nil, false, err
	}
	if g, err = cs.NewExternalSigner(ext); err != nil {
		return nil, false, err
	}
	if c.opts.KeepRecords != 0 {
		const probe = "mlscore signer determinism probe"
		a, err := g.SignWithLabel(probe, nil)
		if err != nil {
			return nil, false, err
		}
		b, err := g.SignWithLabel(probe, nil)
		if err != nil {
			return nil, false, err
		}
		randomized = !bytes.Equal(a, b)
	}
	return g, randomized, nil
}

// addSigner puts an external signer in the client's key store (memory
// only: nothing of it is stored); a randomized one is also journaled.
func (c *Client) addSigner(g *suite.Signer, ext crypto.Signer, randomized bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = c.keys.WithSigner(g)
	if randomized {
		if c.journaled == nil {
			c.journaled = map[string]crypto.Signer{}
		}
		c.journaled[string(g.Public())] = ext
	}
}

// useSigners makes Options.Signer the client's signature key, and adds
// Options.Signers. stored is the signature public key of a stored client
// (nil for a new one), which Options.Signer's must be.
func (c *Client) useSigners(stored []byte) error {
	for i, ext := range c.opts.Signers {
		g, rnd, err := c.externalSigner(ext)
		if err != nil {
			return fmt.Errorf("mls: Options.Signers[%d]: %w", i, err)
		}
		c.addSigner(g, ext, rnd)
	}
	if c.opts.Signer == nil {
		return nil
	}
	g, rnd, err := c.externalSigner(c.opts.Signer)
	if err != nil {
		return fmt.Errorf("mls: Options.Signer: %w", err)
	}
	if stored != nil && !bytes.Equal(g.Public(), stored) {
		return ErrSignerMismatch
	}
	c.pub = g.Public()
	c.addSigner(g, c.opts.Signer, rnd)
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

// sigJournal keeps the signatures of randomized external signers for the
// records of a group's log (Options.KeepRecords not 0). Reopening a group
// re-runs its records, and the client's own commits and messages are
// signed again: a randomized signer (an ECDSA HSM) would sign differently
// and the replay would not reach the recorded states. So each record is
// written with the signatures its event made, under "v/" (group id, the
// SHA-256 of what was signed), and a replay signs from them; they are
// erased with the records, when a snapshot replaces them. They are
// signatures the group's messages carry, not secrets. Deterministic
// signers (Ed25519, Ed448, a software ECDSA key) are not journaled.
type sigJournal struct {
	mu      sync.Mutex
	memo    map[[32]byte][]byte // recorded signatures (replay)
	entries []journalEntry      // signatures made during this event
}

// journalEntry is one journaled signature.
type journalEntry struct {
	key [32]byte // SHA-256 of the digest or message signed
	sig []byte
}

// journalSigner is a randomized external signer whose signatures go
// through a journal.
type journalSigner struct {
	ext crypto.Signer
	j   *sigJournal
}

// Public implements crypto.Signer.
func (s journalSigner) Public() crypto.PublicKey { return s.ext.Public() }

// Sign implements crypto.Signer: a signature the journal recorded for the
// same input, or a new one, recorded.
func (s journalSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	k := sha256.Sum256(digest)
	s.j.mu.Lock()
	sig, ok := s.j.memo[k]
	s.j.mu.Unlock()
	if ok {
		return bytes.Clone(sig), nil
	}
	sig, err := s.ext.Sign(rand, digest, opts)
	if err != nil {
		return nil, err
	}
	s.j.mu.Lock()
	s.j.entries = append(s.j.entries, journalEntry{key: k, sig: bytes.Clone(sig)})
	s.j.mu.Unlock()
	return sig, nil
}

// journaling reports whether the client journals signatures.
func (c *Client) journaling() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.journaled) > 0
}

// withJournal returns ks with the randomized external signers going
// through a new journal holding memo, and that journal; ks and nil if the
// client journals nothing.
func (c *Client) withJournal(ks transitions.KeyStore, memo map[[32]byte][]byte) (transitions.KeyStore, *sigJournal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.journaled) == 0 {
		return ks, nil
	}
	cs, err := suite.Lookup(c.cs)
	if err != nil {
		return ks, nil // the client's suite was looked up when it was made
	}
	j := &sigJournal{memo: memo}
	for _, ext := range c.journaled {
		if g, err := cs.NewExternalSigner(journalSigner{ext: ext, j: j}); err == nil {
			ks = ks.WithSigner(g)
		}
	}
	return ks, j
}

// loadJournal reads the signatures journaled for group id's records.
func (c *Client) loadJournal(id []byte) (map[[32]byte][]byte, error) {
	keys, err := c.store.Keys(ctx, groupKey("v/", id))
	if err != nil {
		return nil, err
	}
	memo := map[[32]byte][]byte{}
	for _, k := range keys {
		v, err := c.store.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		var h [32]byte
		if len(k) < len(h) {
			return nil, fmt.Errorf("%w: journaled signature key %x", ErrDamaged, k)
		}
		copy(h[:], k[len(k)-len(h):])
		memo[h] = v
	}
	return memo, nil
}

// replayEnvFor is the environment group id's log replays under: replayEnv,
// with the journaled signatures if the client journals.
func (c *Client) replayEnvFor(id []byte) (replay.EnvFunc, error) {
	if !c.journaling() {
		return c.replayEnv, nil
	}
	memo, err := c.loadJournal(id)
	if err != nil {
		return nil, err
	}
	return func(r replay.Record) transitions.Env {
		env := c.replayEnv(r)
		env.Keys, _ = c.withJournal(c.keyStore(), memo)
		return env
	}, nil
}
