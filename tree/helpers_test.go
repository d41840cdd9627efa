package tree_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

var testGroupID = []byte("tree test group")

func mustSuite(tb tester, id suite.ID) *suite.Suite {
	tb.Helper()
	s, err := suite.Lookup(id)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// seedBytes returns n deterministic bytes for (label, i).
func seedBytes(label string, i uint64, n int) []byte {
	var out []byte
	for ctr := uint32(0); len(out) < n; ctr++ {
		var b [12]byte
		binary.BigEndian.PutUint64(b[:8], i)
		binary.BigEndian.PutUint32(b[8:], ctr)
		h := sha256.Sum256(append([]byte(label), b[:]...))
		out = append(out, h[:]...)
	}
	return out[:n]
}

// member is a real client: an HPKE leaf key pair and a signer, both
// derived from its number.
type member struct {
	encPriv, encPub []byte
	signer          *suite.Signer
}

func newMember(tb tester, s *suite.Suite, id uint64) member {
	tb.Helper()
	priv, pub, err := s.DeriveKeyPair(seedBytes("enc", id, s.HashLen()))
	if err != nil {
		tb.Fatal(err)
	}
	sigPriv, _, err := s.GenerateSignatureKey(seedBytes("sig", id, s.SignatureSeedLen()))
	if err != nil {
		tb.Fatal(err)
	}
	g, err := s.NewSigner(sigPriv)
	if err != nil {
		tb.Fatal(err)
	}
	return member{priv, pub, g}
}

// keyPackageLeaf returns m's signed key_package leaf node.
func (m member) keyPackageLeaf(tb tester, s *suite.Suite, id uint64) *codec.LeafNode {
	tb.Helper()
	ln := &codec.LeafNode{
		EncryptionKey:  m.encPub,
		SignatureKey:   m.signer.Public(),
		Credential:     codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte(fmt.Sprintf("member %d", id))},
		Capabilities:   codec.Capabilities{Versions: []codec.ProtocolVersion{codec.MLS10}, CipherSuites: []codec.CipherSuite{codec.CipherSuite(s.ID())}, Credentials: []codec.CredentialType{codec.CredentialBasic}},
		LeafNodeSource: codec.LeafNodeSourceKeyPackage,
		Lifetime:       codec.Lifetime{NotBefore: 0, NotAfter: 1 << 40},
	}
	if err := tree.SignLeaf(m.signer, ln, nil, 0); err != nil {
		tb.Fatal(err)
	}
	return ln
}

// synthTree builds a full tree of n leaves (a power of two) for
// benchmarks: every node non-blank with distinct pseudo-random HPKE
// public keys (any 32 bytes is an X25519 key) and dummy signatures, except
// the leaves listed in real, which get real key pairs. It is not
// parent-hash valid; it is the shape a large group's tree has after many
// commits, built in O(N) hashing without O(N) key generations.
func synthTree(tb tester, s *suite.Suite, n int, real map[treemath.LeafIndex]member) tree.Tree {
	tb.Helper()
	width := 2*n - 1
	nodes := make(codec.RatchetTree, width)
	for x := range width {
		if x%2 == 0 {
			i := treemath.LeafIndex(x / 2)
			enc := seedBytes("synth enc", uint64(x), 32)
			sig := seedBytes("synth sig", uint64(x), 32)
			if m, ok := real[i]; ok {
				enc, sig = m.encPub, m.signer.Public()
			}
			nodes[x] = &codec.Node{NodeType: codec.NodeTypeLeaf, Leaf: &codec.LeafNode{
				EncryptionKey:  enc,
				SignatureKey:   sig,
				Credential:     codec.Credential{CredentialType: codec.CredentialBasic, Identity: seedBytes("id", uint64(x), 8)},
				Capabilities:   codec.Capabilities{Versions: []codec.ProtocolVersion{codec.MLS10}, CipherSuites: []codec.CipherSuite{1}},
				LeafNodeSource: codec.LeafNodeSourceCommit,
				ParentHash:     seedBytes("ph", uint64(x), 32),
				Signature:      seedBytes("signature", uint64(x), 64),
			}}
		} else {
			nodes[x] = &codec.Node{NodeType: codec.NodeTypeParent, Parent: &codec.ParentNode{
				EncryptionKey: seedBytes("synth enc", uint64(x), 32),
				ParentHash:    seedBytes("ph", uint64(x), 32),
			}}
		}
	}
	t, err := tree.FromNodes(s, nodes)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// naiveTreeHash recomputes the tree hash of node x from the array form,
// independently of the tree's cache (RFC 9420, Section 7.8).
func naiveTreeHash(tb tester, s *suite.Suite, nodes codec.RatchetTree, n treemath.LeafCount, x treemath.NodeIndex) []byte {
	tb.Helper()
	var at *codec.Node
	if int(x) < len(nodes) {
		at = nodes[x]
	}
	b := cryptobyte.NewBuilder(nil)
	if x.IsLeaf() {
		b.AddUint8(1)
		b.AddUint32(uint32(x.Leaf()))
		if at == nil {
			b.AddUint8(0)
		} else {
			b.AddUint8(1)
			at.Leaf.Marshal(b)
		}
	} else {
		b.AddUint8(2)
		if at == nil {
			b.AddUint8(0)
		} else {
			b.AddUint8(1)
			at.Parent.Marshal(b)
		}
		codec.AddOpaque(b, naiveTreeHash(tb, s, nodes, n, treemath.Left(x)))
		codec.AddOpaque(b, naiveTreeHash(tb, s, nodes, n, treemath.Right(x)))
	}
	in, err := b.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	return s.Hash(in)
}

func naiveRootHash(tb tester, t tree.Tree) []byte {
	return naiveTreeHash(tb, t.Suite(), t.Nodes(), t.LeafCount(), treemath.Root(t.LeafCount()))
}

func mustEncode(tb tester, t tree.Tree) []byte {
	tb.Helper()
	b, err := t.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func log2(n treemath.LeafCount) int {
	k := 0
	for 1<<k < int(n) {
		k++
	}
	return k
}

// tester is what the helpers need of *testing.T, *testing.B and *rapid.T.
type tester interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}
