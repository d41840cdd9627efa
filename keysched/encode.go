package keysched

import (
	"cmp"
	"math"
	"slices"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/pds"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
)

// This file encodes EpochSecrets and SecretTree for state snapshots
// (package state's Encode). The encodings hold the secrets themselves:
// whoever reads them can decrypt the epoch's messages, so they must be
// stored like key material and erased when the state they belong to is
// superseded (forward secrecy, RFC 9420, Section 9.2).
//
// Decoding is strict: every length is the suite's, every index lies in the
// tree, and a decoded SecretTree satisfies the invariants its methods rely
// on, so hostile input gives an error and never a panic later.

// suiteOf reads a uint16 cipher suite id and checks that it is want's (or
// any supported suite when want is nil).
func suiteOf(d *codec.Decoder, want *suite.Suite) *suite.Suite {
	id := suite.ID(d.Uint16())
	if !d.OK() {
		return nil
	}
	cs, err := suite.Lookup(id)
	if err != nil {
		d.Fail(err)
		return nil
	}
	if want != nil && cs != want {
		d.Failf(codec.ErrInvalidValue, "cipher suite 0x%04x, want 0x%04x", uint16(id), uint16(want.ID()))
		return nil
	}
	return cs
}

// secret reads an opaque<V> of exactly n bytes.
func secret(d *codec.Decoder, what string, n int) []byte {
	b := d.Opaque()
	if d.OK() && len(b) != n {
		d.Failf(codec.ErrInvalidValue, "%s is %d bytes, want %d", what, len(b), n)
		return nil
	}
	return b
}

// MarshalSecrets appends an encoding of e, secrets included, to b: a
// presence flag, then the suite and every epoch-derived secret. The zero
// EpochSecrets encodes as absent.
func (e EpochSecrets) MarshalSecrets(b *cryptobyte.Builder) {
	if e.cs == nil {
		b.AddUint8(0)
		return
	}
	b.AddUint8(1)
	b.AddUint16(uint16(e.cs.ID()))
	for _, s := range e.fields() {
		codec.AddOpaque(b, *s)
	}
}

// fields lists e's secrets in encoding order.
func (e *EpochSecrets) fields() []*[]byte {
	return []*[]byte{&e.senderData, &e.encryption, &e.exporter, &e.external, &e.confirmationKey,
		&e.membershipKey, &e.resumptionPSK, &e.epochAuthenticator, &e.init}
}

// UnmarshalSecrets reads what MarshalSecrets wrote. want, if not nil, is
// the only suite accepted. Every secret must be KDF.Nh bytes.
func (e *EpochSecrets) UnmarshalSecrets(d *codec.Decoder, want *suite.Suite) {
	*e = EpochSecrets{}
	if !d.Optional() {
		return
	}
	cs := suiteOf(d, want)
	if cs == nil {
		return
	}
	out := EpochSecrets{cs: cs}
	for _, s := range out.fields() {
		*s = secret(d, "epoch secret", cs.HashLen())
	}
	if d.OK() {
		*e = out
	}
}

// MarshalSecrets appends an encoding of t, secrets included, to b: a
// presence flag, the suite, the leaf count, the ratchet configuration, the
// node secrets not yet expanded, and every sender's two ratchets with
// their positions and retained out-of-order keys. The zero SecretTree
// encodes as absent.
func (t SecretTree) MarshalSecrets(b *cryptobyte.Builder) {
	t.MarshalShape(b)
	if t.cs == nil {
		return
	}
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for x, s := range t.nodes.All() {
			b.AddUint32(x)
			codec.AddOpaque(b, s)
		}
	})
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for leaf, s := range t.senders.All() {
			b.AddUint32(leaf)
			marshalSender(b, s)
		}
	})
}

// unmarshalShape reads what MarshalShape wrote: a tree without secrets,
// and false if the tree is absent or d failed. The leaf count must be a
// power of two within treemath.MaxLeaves.
func unmarshalShape(d *codec.Decoder, want *suite.Suite) (SecretTree, bool) {
	if !d.Optional() {
		return SecretTree{}, false
	}
	cs := suiteOf(d, want)
	leaves := treemath.LeafCount(d.Uint32())
	cfg := RatchetConfig{OutOfOrderTolerance: d.Uint32(), MaximumForwardDistance: d.Uint32()}
	if cs == nil || !d.OK() {
		return SecretTree{}, false
	}
	if leaves == 0 || leaves > treemath.MaxLeaves || leaves&(leaves-1) != 0 {
		d.Failf(codec.ErrInvalidValue, "secret tree of %d leaves", leaves)
		return SecretTree{}, false
	}
	return SecretTree{cs: cs, leaves: leaves, cfg: cfg}, true
}

// leafSpan is the interval of leaves [first, first+count) below a stored
// node secret or an expanded sender.
type leafSpan struct{ first, count uint64 }

// UnmarshalSecrets reads what MarshalSecrets wrote. want, if not nil, is
// the only suite accepted. It checks the invariants the tree's methods
// rely on: a power-of-two leaf count; node and leaf indices in the tree,
// strictly increasing; every leaf below exactly one stored node secret or
// expanded exactly once; lengths of secrets, keys and nonces; ratchet
// positions at most 2^32 with a secret unless exhausted; retained keys
// only for generations within the out-of-order window below the position.
func (t *SecretTree) UnmarshalSecrets(d *codec.Decoder, want *suite.Suite) {
	*t = SecretTree{}
	nt, ok := unmarshalShape(d, want)
	if !ok {
		return
	}
	cs, leaves := nt.cs, nt.leaves
	var spans []leafSpan
	width := treemath.NodeWidth(leaves)
	last := int64(-1)
	d.VectorEach(func(d *codec.Decoder) {
		x := d.Uint32()
		s := secret(d, "secret tree node secret", cs.HashLen())
		if !d.OK() {
			return
		}
		if int64(x) <= last || x >= width {
			d.Failf(codec.ErrInvalidValue, "secret tree node %d out of order or outside the tree", x)
			return
		}
		last = int64(x)
		k := treemath.Level(treemath.NodeIndex(x))
		spans = append(spans, leafSpan{first: uint64(x) >> (k + 1) << k, count: 1 << k})
		nt.nodes = nt.nodes.Set(x, s)
	})
	last = -1
	d.VectorEach(func(d *codec.Decoder) {
		leaf := d.Uint32()
		if !d.OK() {
			return
		}
		if int64(leaf) <= last || uint64(leaf) >= uint64(leaves) {
			d.Failf(codec.ErrInvalidValue, "sender %d out of order or outside the tree", leaf)
			return
		}
		last = int64(leaf)
		var s senderRatchets
		for i := range s {
			s[i] = nt.unmarshalRatchet(d)
		}
		if !d.OK() {
			return
		}
		spans = append(spans, leafSpan{first: uint64(leaf), count: 1})
		nt.senders = nt.senders.Set(leaf, &s)
	})
	if !d.OK() {
		return
	}
	// Every leaf must be reachable exactly once: the spans tile the leaves.
	slices.SortFunc(spans, func(a, b leafSpan) int { return cmp.Compare(a.first, b.first) })
	next := uint64(0)
	for _, sp := range spans {
		if sp.first < next {
			d.Failf(codec.ErrInvalidValue, "secret tree leaf %d is covered twice", sp.first)
			return
		}
		if sp.first > next {
			d.Failf(codec.ErrInvalidValue, "secret tree leaf %d is covered by no secret", next)
			return
		}
		next += sp.count
	}
	if next != uint64(leaves) {
		d.Failf(codec.ErrInvalidValue, "secret tree leaves from %d are covered by no secret", next)
		return
	}
	*t = nt
}

// unmarshalRatchet reads one ratchet of t's suite and configuration.
func (t SecretTree) unmarshalRatchet(d *codec.Decoder) ratchet {
	var r ratchet
	r.next = d.Uint64()
	sec := d.Opaque()
	if !d.OK() {
		return ratchet{}
	}
	switch {
	case r.next > math.MaxUint32+1:
		d.Failf(codec.ErrInvalidValue, "ratchet position %d", r.next)
		return ratchet{}
	case r.next == math.MaxUint32+1 && sec != nil:
		d.Failf(codec.ErrInvalidValue, "exhausted ratchet with a secret")
		return ratchet{}
	case r.next <= math.MaxUint32 && len(sec) != t.cs.HashLen():
		d.Failf(codec.ErrInvalidValue, "ratchet secret is %d bytes, want %d", len(sec), t.cs.HashLen())
		return ratchet{}
	}
	r.secret = sec
	var past pds.Map[RatchetKey]
	last := int64(-1)
	d.VectorEach(func(d *codec.Decoder) {
		g := d.Uint32()
		key := secret(d, "ratchet key", t.cs.AEADKeyLen())
		nonce := secret(d, "ratchet nonce", t.cs.AEADNonceLen())
		if !d.OK() {
			return
		}
		if int64(g) <= last || uint64(g) >= r.next || r.next-uint64(g) > uint64(t.cfg.OutOfOrderTolerance) {
			d.Failf(codec.ErrInvalidValue, "retained generation %d out of order or outside the window below %d", g, r.next)
			return
		}
		last = int64(g)
		past = past.Set(g, RatchetKey{Generation: g, Key: key, Nonce: nonce})
	})
	r.past = past
	return r
}
