package tree

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// PrivatePath is the secret part of one member's view of the ratchet tree:
// the HPKE private keys of its own leaf and of the nodes of its direct path
// it knows, as the tree invariant allows [RFC 9420, Section 4.1.1]. It is
// an immutable value of O(log N) size; every change returns a new one.
//
// [RFC 9420, Section 4.1.1]: https://www.rfc-editor.org/rfc/rfc9420#section-4.1.1
type PrivatePath struct {
	leaf treemath.LeafIndex
	keys []nodeKey // sorted by node index; never modified once built
}

// nodeKey is one HPKE key pair of a node (SerializePrivateKey and
// SerializePublicKey forms).
type nodeKey struct {
	node      treemath.NodeIndex
	pub, priv []byte
}

// NewPrivatePath returns the private state of the member at leaf, holding
// only the leaf's HPKE private key leafPriv (SerializePrivateKey form).
func NewPrivatePath(s *suite.Suite, leaf treemath.LeafIndex, leafPriv []byte) (PrivatePath, error) {
	pub, err := s.HPKEPublicKey(leafPriv)
	if err != nil {
		return PrivatePath{}, fmt.Errorf("%w: leaf %d: %w", ErrPrivateKey, leaf, err)
	}
	return PrivatePath{leaf: leaf, keys: []nodeKey{{leaf.Node(), pub, slices.Clone(leafPriv)}}}, nil
}

// Leaf returns the member's leaf index.
func (p PrivatePath) Leaf() treemath.LeafIndex { return p.leaf }

// Nodes returns the nodes whose private key p holds, in increasing order.
func (p PrivatePath) Nodes() []treemath.NodeIndex {
	out := make([]treemath.NodeIndex, len(p.keys))
	for i, k := range p.keys {
		out[i] = k.node
	}
	return out
}

// PrivateKey returns the HPKE private key held for node x (a copy).
func (p PrivatePath) PrivateKey(x treemath.NodeIndex) ([]byte, bool) {
	k, ok := p.find(x)
	if !ok {
		return nil, false
	}
	return slices.Clone(k.priv), true
}

// PublicKey returns the HPKE public key of the pair held for node x (a copy).
func (p PrivatePath) PublicKey(x treemath.NodeIndex) ([]byte, bool) {
	k, ok := p.find(x)
	if !ok {
		return nil, false
	}
	return slices.Clone(k.pub), true
}

func (p PrivatePath) find(x treemath.NodeIndex) (nodeKey, bool) {
	i, ok := slices.BinarySearchFunc(p.keys, x, func(k nodeKey, x treemath.NodeIndex) int { return int(k.node) - int(x) })
	if !ok {
		return nodeKey{}, false
	}
	return p.keys[i], true
}

// with returns p with the keys of nodes in drop removed and add merged in
// (add replaces existing keys of the same node).
func (p PrivatePath) with(drop func(treemath.NodeIndex) bool, add ...nodeKey) PrivatePath {
	keys := make([]nodeKey, 0, len(p.keys)+len(add))
	for _, k := range p.keys {
		if drop != nil && drop(k.node) {
			continue
		}
		if slices.ContainsFunc(add, func(a nodeKey) bool { return a.node == k.node }) {
			continue
		}
		keys = append(keys, k)
	}
	keys = append(keys, add...)
	slices.SortFunc(keys, func(a, b nodeKey) int { return cmp.Compare(a.node, b.node) })
	return PrivatePath{leaf: p.leaf, keys: keys}
}

// WithLeafKey returns p with the leaf's HPKE private key replaced by
// leafPriv (after an Update proposal of this member is committed).
func (p PrivatePath) WithLeafKey(s *suite.Suite, leafPriv []byte) (PrivatePath, error) {
	pub, err := s.HPKEPublicKey(leafPriv)
	if err != nil {
		return p, fmt.Errorf("%w: leaf %d: %w", ErrPrivateKey, p.leaf, err)
	}
	return p.with(nil, nodeKey{p.leaf.Node(), pub, slices.Clone(leafPriv)}), nil
}

// WithPathSecret returns p holding the key pair of node x derived from
// its path secret [RFC 9420, Section 7.4]: node_secret =
// DeriveSecret(path_secret, "node"), then DeriveKeyPair(node_secret). x
// must be an ancestor of p's leaf.
//
// [RFC 9420, Section 7.4]: https://www.rfc-editor.org/rfc/rfc9420#section-7.4
func (p PrivatePath) WithPathSecret(s *suite.Suite, x treemath.NodeIndex, pathSecret []byte) (PrivatePath, error) {
	if x == p.leaf.Node() || !treemath.IsAncestor(x, p.leaf.Node()) {
		return p, fmt.Errorf("%w: node %d is not on the direct path of leaf %d", ErrPrivateKey, x, p.leaf)
	}
	k, err := deriveNodeKey(s, x, pathSecret)
	if err != nil {
		return p, err
	}
	return p.with(nil, k), nil
}

// Join returns p extended with the keys a new member derives from the path
// secret of node x received in a Welcome [RFC 9420, Section 12.4.3.1]: x's
// key pair, then, for each non-blank ancestor of x in turn, the pair of
// the next path secret. Each derived public key must match the tree's
// (ValSem204).
//
// [RFC 9420, Section 12.4.3.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.1
func (p PrivatePath) Join(t Tree, x treemath.NodeIndex, pathSecret []byte) (PrivatePath, error) {
	if x == p.leaf.Node() || !treemath.IsAncestor(x, p.leaf.Node()) || !treemath.IsInTree(x, t.leaves) {
		return p, fmt.Errorf("%w: node %d is not on the direct path of leaf %d", ErrPrivateKey, x, p.leaf)
	}
	var add []nodeKey
	ps := pathSecret
	root := treemath.Root(t.leaves)
	for y := x; ; y = treemath.Parent(y) {
		if pub := t.encryptionKey(y); pub != nil {
			k, err := deriveNodeKey(t.s, y, ps)
			if err != nil {
				return p, err
			}
			// ValSem204: derived public keys must match the tree's.
			if !bytes.Equal(k.pub, pub) {
				return p, valsem.Wrap(valsem.ValSem204, ErrPrivateKey, fmt.Sprintf("public key derived for node %d differs from the tree's", y))
			}
			add = append(add, k)
			if ps, err = t.s.DeriveSecret(ps, "path"); err != nil {
				return p, err
			}
		} else if y == x {
			return p, fmt.Errorf("%w: node %d is blank", ErrPrivateKey, x)
		}
		if y == root {
			break
		}
	}
	return p.with(nil, add...), nil
}

// Check verifies that p is consistent with t: every node p holds a key for
// is non-blank in t and has the matching public key (ErrPrivateKey).
func (p PrivatePath) Check(t Tree) error {
	for _, k := range p.keys {
		if !bytes.Equal(t.encryptionKey(k.node), k.pub) {
			return fmt.Errorf("%w: node %d", ErrPrivateKey, k.node)
		}
	}
	return nil
}

// Prune returns p without the keys whose node in t is blank or holds a
// different public key: after an Update, Remove or another member's
// UpdatePath those private keys are outdated and must be forgotten
// [RFC 9420, Section 7.5].
//
// [RFC 9420, Section 7.5]: https://www.rfc-editor.org/rfc/rfc9420#section-7.5
func (p PrivatePath) Prune(t Tree) PrivatePath {
	if p.Check(t) == nil {
		return p
	}
	return p.with(func(x treemath.NodeIndex) bool {
		return !bytes.Equal(t.encryptionKey(x), p.keyPub(x))
	})
}

func (p PrivatePath) keyPub(x treemath.NodeIndex) []byte {
	k, _ := p.find(x)
	return k.pub
}

// deriveNodeKey derives node x's key pair from its path secret.
func deriveNodeKey(s *suite.Suite, x treemath.NodeIndex, pathSecret []byte) (nodeKey, error) {
	ns, err := s.DeriveSecret(pathSecret, "node")
	if err != nil {
		return nodeKey{}, err
	}
	priv, pub, err := s.DeriveKeyPair(ns)
	if err != nil {
		return nodeKey{}, err
	}
	return nodeKey{node: x, pub: pub, priv: priv}, nil
}
