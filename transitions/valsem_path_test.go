package transitions

import (
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/valsem"
)

// parentHash computes RFC 9420, Section 7.9's parent hash of a node with
// key and parent_hash, over the original sibling tree hash.
func parentHash(w *world, m *member, key, ph, sibling []byte) []byte {
	var b cryptobyte.Builder
	codec.AddOpaque(&b, key)
	codec.AddOpaque(&b, ph)
	codec.AddOpaque(&b, sibling)
	enc, err := b.Bytes()
	if err != nil {
		panic(err)
	}
	return m.s.Suite().Hash(enc)
}

// TestValSemPath covers ValSem203, ValSem204, ValSem206 and ValSem207 with
// rewritten UpdatePaths of alice (leaf 0) in the trio, whose filtered
// direct path is nodes 1 and 3 (copath: leaf 1 = bob, node 5 = carol).
func TestValSemPath(t *testing.T) {
	// fixLeaf recomputes the path leaf's parent hash from the path's keys
	// and re-signs it.
	fixLeaf := func(t *testing.T, w *world, a, b *member, p *codec.UpdatePath) {
		tr := b.s.Tree()
		h5, _ := tr.NodeHash(5)
		h2, _ := tr.NodeHash(2)
		ph1 := parentHash(w, b, p.Nodes[1].EncryptionKey, nil, h5)
		p.LeafNode.ParentHash = parentHash(w, b, p.Nodes[0].EncryptionKey, ph1, h2)
		if err := tree.SignLeaf(signerOf(t, a), &p.LeafNode, a.s.GroupID(), 0); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		code valsem.Code
		mut  func(t *testing.T, w *world, a, b, c *member, p *codec.UpdatePath)
	}{
		{"ValSem203 path secret does not decrypt", valsem.ValSem203, func(t *testing.T, w *world, a, b, c *member, p *codec.UpdatePath) {
			p.Nodes[0].EncryptedPathSecret[0].Ciphertext[0] ^= 1
		}},
		{"ValSem204 derived key mismatch", valsem.ValSem204, func(t *testing.T, w *world, a, b, c *member, p *codec.UpdatePath) {
			// Encrypt another path secret to bob, under the provisional
			// group context bob computes.
			merged, err := b.s.Tree().MergePath(0, p)
			if err != nil {
				t.Fatal(err)
			}
			ctx := b.s.GroupContext()
			ctx.Epoch++
			ctx.TreeHash = merged.Hash()
			prov, _ := ctx.Encode()
			cs := b.s.Suite()
			bl, _ := b.s.Tree().Leaf(1)
			secret := make([]byte, cs.HashLen())
			kem, ct, err := cs.EncryptWithLabel(bl.EncryptionKey, "UpdatePathNode", prov, secret,
				entropy.FromSeed([32]byte{7}).Draw(entropy.HPKEEncap, cs.HPKESeedLen()))
			if err != nil {
				t.Fatal(err)
			}
			p.Nodes[0].EncryptedPathSecret[0] = codec.HPKECiphertext{KEMOutput: kem, Ciphertext: ct}
		}},
		{"ValSem206 path leaf key in use", valsem.ValSem206, func(t *testing.T, w *world, a, b, c *member, p *codec.UpdatePath) {
			cl, _ := c.s.Tree().Leaf(2)
			p.LeafNode.EncryptionKey = cl.EncryptionKey
			fixLeaf(t, w, a, b, p)
		}},
		{"ValSem207 path node key in use", valsem.ValSem207, func(t *testing.T, w *world, a, b, c *member, p *codec.UpdatePath) {
			cl, _ := c.s.Tree().Leaf(2)
			p.Nodes[1].EncryptionKey = cl.EncryptionKey
			fixLeaf(t, w, a, b, p)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, a, b, c := trio(t, codec.Capabilities{}, nil)
			msg := commitMsg(t, w, a, Commit{ForcePath: true})
			bad := reframe(t, a, msg, func(pm *codec.PublicMessage) { tt.mut(t, w, a, b, c, pm.Content.Commit.Path) })
			rejects(t, w, b, bad, tt.code)
			accepts(t, w, b, msg)
		})
	}
}
