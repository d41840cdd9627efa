package mls

import (
	"fmt"
	"time"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/transitions"
)

// KeyPackageOptions configures one key package (Client.KeyPackageWith), as
// OpenMLS's KeyPackage::builder: what differs from the client's defaults
// for this key package only. The zero value makes the key package
// Client.KeyPackage makes.
type KeyPackageOptions struct {
	// Extensions are the key package's own extensions (RFC 9420, Section
	// 10: KeyPackage.extensions), for the adder to read; the last_resort
	// extension is added by LastResort.
	Extensions codec.Extensions
	// LeafExtensions go into the key package's leaf node, and from there
	// into the group's tree when the key package is added (application_id
	// and the like). Each type that is not one of RFC 9420's default
	// extensions must be listed in the leaf's capabilities: the core
	// refuses to make a key package its receivers would reject (RFC 9420,
	// Section 7.3).
	LeafExtensions codec.Extensions
	// Capabilities replaces Options.Capabilities for this key package's
	// leaf when not nil; empty lists default as in Options.Capabilities.
	// The SelfRemove proposal type is added as for every leaf of this
	// package.
	Capabilities *codec.Capabilities
	// Lifetime replaces Options.Lifetime for this key package when not
	// zero: it is valid from an hour before its creation to Lifetime
	// after. Receivers refuse it outside that window, and the adder's
	// Limits.MaxLeafLifetime bounds it.
	Lifetime time.Duration
	// LastResort marks the key package with the last_resort extension
	// (RFC 9420, Section 10.1): its private keys are kept after a Welcome
	// used it, so it can serve several.
	LastResort bool
}

// KeyPackageWith creates a key package (RFC 9420, Section 10) configured
// by opts (nil: the client's defaults, as KeyPackage) and returns it as an
// encoded MLSMessage, ready to publish. Its private keys are stored until
// a Welcome uses it (kept for a last-resort key package).
//
// Receivers check it as RFC 9420, Section 10.1 asks: the leaf's
// extensions are in its capabilities, the capabilities cover the group's
// required_capabilities (valsem.ValSem106 otherwise) and the credential
// types in use, and the lifetime contains the adder's time.
func (c *Client) KeyPackageWith(opts *KeyPackageOptions) ([]byte, error) {
	var o KeyPackageOptions
	if opts != nil {
		o = *opts
	}
	if o.Lifetime < 0 {
		return nil, fmt.Errorf("%w: key package lifetime %v", ErrInvalidArgument, o.Lifetime)
	}
	caps := c.opts.Capabilities
	if o.Capabilities != nil {
		caps = *o.Capabilities
	}
	lifetime := c.lifetime()
	if o.Lifetime != 0 {
		lifetime.NotAfter = lifetime.NotBefore + 3600 + uint64(o.Lifetime/time.Second)
	}
	effs, err := c.applyClient(transitions.NewKeyPackage{
		At: c.now(), Suite: c.cs, SignatureKey: c.pub, Credential: c.cred,
		Capabilities: withSelfRemove(caps), Lifetime: lifetime, LastResort: o.LastResort,
		LeafExtensions: o.LeafExtensions, Extensions: o.Extensions,
	})
	if err != nil {
		return nil, err
	}
	if kc := effects.Group(effs).Deliver.KeyPackages; len(kc) > 0 {
		return kc[0].KeyPackage, nil
	}
	return nil, fmt.Errorf("mls: no key package created")
}
