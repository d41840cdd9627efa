package mls

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
)

// LeafUpdate is what this member changes in its own leaf with
// SelfUpdateWith (a commit with a path) or ProposeSelfUpdateWith (an
// Update proposal), as OpenMLS's LeafNodeParameters. The leaf always gets
// a fresh encryption key; the zero LeafUpdate changes nothing else (it is
// SelfUpdate and ProposeSelfUpdate).
type LeafUpdate struct {
	// Credential replaces the leaf's credential when not nil. It may be of
	// any type every member supports (RFC 9420, Section 7.3) — basic,
	// x509 or another listed in their capabilities. Receivers validate it
	// with their Policy.AcceptCredential, as RFC 9420, Section 5.3.1 asks
	// of a credential replacing a member's (a successor of the old one).
	Credential *codec.Credential
	// NewSignatureKey draws a fresh signature key pair for this member's
	// leaf in this group. The proposal or commit carrying the new leaf is
	// signed with the current key and the leaf itself with the new one
	// (RFC 9420, Sections 6.1 and 7.3); once the change is merged the
	// member signs with the new key. The new private key is stored
	// before the operation runs, and erased if it fails; a signature key
	// no state of the group needs any more — the old one once the change
	// is merged, the new one if it is abandoned — is erased in the same
	// batch as the state that stops needing it, unless it is the client's
	// own (Client.SignatureKey, which its key packages and other groups
	// use) or the log keeps records (Options.KeepRecords), which replay
	// with it.
	NewSignatureKey bool
	// Signer gives the leaf a new signature key held by the application
	// (a crypto.Signer, as Options.Signer: an HSM's, a keystore's), e.g.
	// with a Credential certifying it, to rotate an X.509 certificate
	// and its key. Nothing of it is stored; after a restart, pass it in
	// Options.Signers so that the group can sign again. It excludes
	// NewSignatureKey (ErrLeafUpdateKeys).
	Signer crypto.Signer
	// Capabilities replace the leaf's capabilities when not nil (the
	// SelfRemove proposal type is added as for every leaf of this
	// package). They must still cover the group's required capabilities
	// and the credential types in use.
	Capabilities *codec.Capabilities
	// Extensions replace the leaf's extensions when not empty; each type
	// that is not one of RFC 9420's default extensions must be in the
	// capabilities.
	Extensions codec.Extensions
}

// template returns the Update proposal carrying u as a leaf template for
// the core (see transitions.Propose), with the new signature key pub.
func (u LeafUpdate) template(pub []byte) codec.Proposal {
	ln := codec.LeafNode{LeafNodeSource: codec.LeafNodeSourceUpdate, SignatureKey: pub, Extensions: u.Extensions}
	if u.Credential != nil {
		ln.Credential = cloneCredential(*u.Credential)
	}
	if u.Capabilities != nil {
		ln.Capabilities = withSelfRemove(*u.Capabilities)
	}
	return codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{LeafNode: ln}}
}

// SelfUpdateWith commits a new own leaf (a commit with a path, as
// OpenMLS's self_update with LeafNodeParameters), together with the
// stored proposals: a fresh encryption key and the changes u asks for —
// a new credential, signature key, capabilities or extensions. The
// commit is pending, as for SelfUpdate.
func (g *Group) SelfUpdateWith(u LeafUpdate) (Outgoing, error) {
	var out Outgoing
	err := g.withLeafUpdate(u, func(p codec.Proposal) error {
		var err error
		out, err = g.commit([]codec.Proposal{p}, true)
		return err
	})
	return out, err
}

// ProposeSelfUpdateWith proposes a new own leaf (an Update proposal, as
// OpenMLS's propose_self_update with LeafNodeParameters) with the changes
// u asks for; see ProposeSelfUpdate. The change takes effect when a
// commit covering the proposal is merged.
func (g *Group) ProposeSelfUpdateWith(u LeafUpdate) (message, ref []byte, err error) {
	err = g.withLeafUpdate(u, func(p codec.Proposal) error {
		var err error
		message, ref, err = g.Propose(p)
		return err
	})
	return message, ref, err
}

// withLeafUpdate runs op with u's leaf template, after drawing and
// storing the new signature key u asks for; the key is erased if op
// fails.
func (g *Group) withLeafUpdate(u LeafUpdate, op func(codec.Proposal) error) error {
	var pub []byte
	var created []effects.Effect
	if u.Signer != nil {
		if u.NewSignatureKey {
			return ErrLeafUpdateKeys
		}
		sg, rnd, err := g.c.externalSigner(u.Signer)
		if err != nil {
			return fmt.Errorf("mls: LeafUpdate.Signer: %w", err)
		}
		g.c.addSigner(sg, u.Signer, rnd)
		pub = sg.Public()
	}
	if u.NewSignatureKey {
		effs, err := g.c.applyClient(transitions.NewSignatureKey{At: g.c.now(), Suite: g.c.cs})
		if err != nil {
			return err
		}
		for _, sk := range effects.Group(effs).Deliver.SignatureKeys {
			pub = sk.PublicKey
		}
		if pub == nil {
			return fmt.Errorf("mls: no signature key created")
		}
		created = []effects.Effect{effects.DeleteSecret{Ref: effects.SecretRef{Kind: effects.SecretSignatureKey, ID: pub}}}
	}
	err := op(u.template(pub))
	if err != nil && created != nil {
		if derr := g.c.commitSecrets(created); derr != nil {
			return errors.Join(err, derr)
		}
	}
	return err
}

// retiredSignatureKeys returns the DeleteSecret effects of the signature
// keys before needed and next does not (state.GroupState.SignatureKeys),
// except the client's own key, which its key packages and other groups
// use. A log that keeps records keeps every key: its records replay with
// them.
func (g *Group) retiredSignatureKeys(before, next state.GroupState) []effects.Effect {
	if g.c.opts.KeepRecords != 0 || state.SameButSecrets(before, next) {
		return nil // an application message changes no signature key
	}
	return retiredKeys(before.SignatureKeys(), next.SignatureKeys(), g.c.pub)
}

// retiredKeys returns the DeleteSecret effects of the keys of old that are
// neither in kept nor own.
func retiredKeys(old, kept [][]byte, own []byte) []effects.Effect {
	var dels []effects.Effect
	for _, k := range old {
		if bytes.Equal(k, own) || slices.ContainsFunc(kept, func(x []byte) bool { return bytes.Equal(x, k) }) {
			continue
		}
		dels = append(dels, effects.DeleteSecret{Ref: effects.SecretRef{Kind: effects.SecretSignatureKey, ID: bytes.Clone(k)}})
	}
	return dels
}

// groupSignerSecrets returns the stored signature keys other than the
// client's own: those LeafUpdate.NewSignatureKey drew. A debugging log
// (KeepAllRecords) keeps them all, and its export carries them so that
// the commits and proposals that introduced them replay on their own.
func (c *Client) groupSignerSecrets() []effects.PersistSecret {
	prefix := []byte{'s', '/', byte(effects.SecretSignatureKey)}
	keys, err := c.store.Keys(ctx, prefix)
	if err != nil {
		return nil
	}
	var out []effects.PersistSecret
	for _, k := range keys {
		v, err := c.store.Get(ctx, k)
		if err != nil {
			continue
		}
		p, err := parseSecret(k, v)
		if err != nil || bytes.Equal(p.Ref.ID, c.pub) {
			continue
		}
		out = append(out, p)
	}
	return out
}
