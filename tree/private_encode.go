package tree

import (
	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
)

// MarshalSecrets appends an encoding of p, private keys included, to b:
// the leaf index, then the node index and HPKE private key of every node p
// holds, in increasing node order. The public keys are not encoded; they
// are derived again on decoding. Whoever reads the encoding can decrypt
// the path secrets sent to this member, so it must be stored like key
// material (package state's Encode explains the duty).
func (p PrivatePath) MarshalSecrets(b *cryptobyte.Builder) {
	b.AddUint32(uint32(p.leaf))
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, k := range p.keys {
			b.AddUint32(uint32(k.node))
			codec.AddOpaque(b, k.priv)
		}
	})
}

// UnmarshalSecrets reads what MarshalSecrets wrote, for suite s. Node
// indices must increase strictly and lie on the direct path of the leaf
// (the leaf's node included, at most treemath.MaxLeaves' depth); each
// private key must be a valid key of s, from which the public key is
// derived.
func (p *PrivatePath) UnmarshalSecrets(d *codec.Decoder, s *suite.Suite) {
	*p = PrivatePath{}
	leaf := treemath.LeafIndex(d.Uint32())
	if !d.OK() {
		return
	}
	if uint64(leaf) >= uint64(treemath.MaxLeaves) {
		d.Failf(codec.ErrInvalidValue, "private path of leaf %d", leaf)
		return
	}
	var keys []nodeKey
	d.VectorEach(func(d *codec.Decoder) {
		x := treemath.NodeIndex(d.Uint32())
		priv := d.Opaque()
		if !d.OK() {
			return
		}
		if len(keys) > 0 && x <= keys[len(keys)-1].node || !treemath.IsAncestor(x, leaf.Node()) ||
			uint64(x) >= uint64(treemath.NodeWidth(treemath.MaxLeaves)) {
			d.Failf(codec.ErrInvalidValue, "private path node %d out of order or not on the direct path of leaf %d", x, leaf)
			return
		}
		pub, err := s.HPKEPublicKey(priv)
		if err != nil {
			d.Failf(codec.ErrInvalidValue, "private key of node %d: %v", x, err)
			return
		}
		keys = append(keys, nodeKey{node: x, pub: pub, priv: priv})
	})
	if d.OK() {
		*p = PrivatePath{leaf: leaf, keys: keys}
	}
}
