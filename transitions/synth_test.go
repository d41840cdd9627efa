package transitions

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// synth is a synthetic full group of n members built directly from seeds
// (no commits): every parent node is non-blank and parent-hash valid (each
// parent chains to its left child), so a commit's path encrypts to one node
// per level, as in a group where everybody has committed.
type synth struct {
	bulk  bool // every parent blank: the tree one bulk add leaves
	cs    *suite.Suite
	gid   []byte
	n     int
	tree  tree.Tree
	sigs  [][]byte // signature private keys by leaf
	encs  [][]byte // leaf HPKE private keys
	nodes codec.RatchetTree
}

func seedOf(label string, i uint32, n int) []byte {
	h := sha256.New()
	h.Write([]byte(label))
	binary.Write(h, binary.BigEndian, i)
	out := h.Sum(nil)
	for len(out) < n {
		d := sha256.Sum256(out)
		out = append(out, d[:]...)
	}
	return out[:n]
}

func enc(f func(b *cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	f(&b)
	out, err := b.Bytes()
	if err != nil {
		panic(err)
	}
	return out
}

func newSynth(tb testing.TB, id suite.ID, n int) *synth {
	return buildSynth(tb, id, n, false)
}

// newBulkSynth is a synthetic group of n members in the shape one bulk add
// leaves: every leaf set (from a key package), every parent blank, so a
// commit's path encrypts to every other member and is O(n) bytes.
func newBulkSynth(tb testing.TB, id suite.ID, n int) *synth {
	return buildSynth(tb, id, n, true)
}

func buildSynth(tb testing.TB, id suite.ID, n int, bulk bool) *synth {
	cs, _ := suite.Lookup(id)
	sy := &synth{bulk: bulk, cs: cs, gid: []byte("synthetic group"), n: n, sigs: make([][]byte, n), encs: make([][]byte, n),
		nodes: make(codec.RatchetTree, 2*n-1)}
	var build func(x treemath.NodeIndex, ph []byte) []byte
	build = func(x treemath.NodeIndex, ph []byte) []byte {
		if x.IsLeaf() && int(x.Leaf()) >= n {
			// A blank leaf right of the last member (bulk trees of
			// n members that is not a power of two).
			return cs.Hash(enc(func(b *cryptobyte.Builder) {
				b.AddUint8(1)
				b.AddUint32(uint32(x.Leaf()))
				b.AddUint8(0)
			}))
		}
		if x.IsLeaf() {
			i := x.Leaf()
			sp, spub, err := cs.GenerateSignatureKey(seedOf("sig", uint32(i), cs.SignatureSeedLen()))
			if err != nil {
				tb.Fatal(err)
			}
			ep, epub, err := cs.DeriveKeyPair(seedOf("leaf", uint32(i), cs.HashLen()))
			if err != nil {
				tb.Fatal(err)
			}
			sy.sigs[i], sy.encs[i] = sp, ep
			ln := codec.LeafNode{EncryptionKey: epub, SignatureKey: spub,
				Credential:   codec.Credential{CredentialType: codec.CredentialBasic, Identity: binary.BigEndian.AppendUint32([]byte("m"), uint32(i))},
				Capabilities: defaultCapabilities(codec.Capabilities{}, id, codec.CredentialBasic)}
			if ph != nil {
				ln.LeafNodeSource, ln.ParentHash = codec.LeafNodeSourceCommit, ph
			} else {
				ln.LeafNodeSource, ln.Lifetime = codec.LeafNodeSourceKeyPackage, testLifetime
			}
			sg, _ := cs.NewSigner(sp)
			if err := tree.SignLeaf(sg, &ln, sy.gid, i); err != nil {
				tb.Fatal(err)
			}
			sy.nodes[x] = &codec.Node{NodeType: codec.NodeTypeLeaf, Leaf: &ln}
			return cs.Hash(enc(func(b *cryptobyte.Builder) {
				b.AddUint8(1)
				b.AddUint32(uint32(i))
				b.AddUint8(1)
				ln.Marshal(b)
			}))
		}
		if bulk {
			lh, rh := build(treemath.Left(x), nil), build(treemath.Right(x), nil)
			return cs.Hash(enc(func(b *cryptobyte.Builder) {
				b.AddUint8(2)
				b.AddUint8(0)
				codec.AddOpaque(b, lh)
				codec.AddOpaque(b, rh)
			}))
		}
		_, pub, err := cs.DeriveKeyPair(nodeSecret(cs, x))
		if err != nil {
			tb.Fatal(err)
		}
		if ph == nil {
			ph = []byte{}
		}
		p := codec.ParentNode{EncryptionKey: pub, ParentHash: ph}
		rh := build(treemath.Right(x), nil)
		lph := cs.Hash(enc(func(b *cryptobyte.Builder) {
			codec.AddOpaque(b, pub)
			codec.AddOpaque(b, ph)
			codec.AddOpaque(b, rh)
		}))
		lh := build(treemath.Left(x), lph)
		sy.nodes[x] = &codec.Node{NodeType: codec.NodeTypeParent, Parent: &p}
		return cs.Hash(enc(func(b *cryptobyte.Builder) {
			b.AddUint8(2)
			b.AddUint8(1)
			p.Marshal(b)
			codec.AddOpaque(b, lh)
			codec.AddOpaque(b, rh)
		}))
	}
	width := 1
	for width < n {
		width *= 2
	}
	if width != n && !bulk {
		tb.Fatalf("synthetic full tree of %d members: not a power of two", n)
	}
	build(treemath.Root(treemath.LeafCount(width)), nil)
	t, err := tree.FromNodes(cs, sy.nodes)
	if err != nil {
		tb.Fatal(err)
	}
	sy.tree = t
	return sy
}

// pathSecret is the path secret of parent node x.
func pathSecret(cs *suite.Suite, x treemath.NodeIndex) []byte {
	return seedOf("path", uint32(x), cs.HashLen())
}

func nodeSecret(cs *suite.Suite, x treemath.NodeIndex) []byte {
	ns, err := cs.DeriveSecret(pathSecret(cs, x), "node")
	if err != nil {
		panic(err)
	}
	return ns
}

// member returns leaf i's state at epoch 1 and its key store.
func (sy *synth) member(tb testing.TB, i treemath.LeafIndex, cfg state.Config) (state.GroupState, KeyStore) {
	cs := sy.cs
	ctx := codec.GroupContext{Version: codec.MLS10, CipherSuite: codec.CipherSuite(cs.ID()), GroupID: sy.gid, Epoch: 1,
		TreeHash: sy.tree.Hash(), ConfirmedTranscriptHash: seedOf("confirmed", 0, cs.HashLen())}
	cb, _ := ctx.Encode()
	init, _ := keysched.NewInitSecret(cs, seedOf("init", 0, cs.HashLen()))
	j, _ := init.Joiner(nil, cb)
	in, _ := j.WithPSK(keysched.NoPSK)
	es, err := in.Epoch(cb)
	if err != nil {
		tb.Fatal(err)
	}
	tag := es.ConfirmationTag(ctx.ConfirmedTranscriptHash)
	interim, _ := keysched.InterimTranscriptHash(cs, ctx.ConfirmedTranscriptHash, tag)
	st, err := es.SecretTree(sy.tree.LeafCount(), cfg.SenderRatchet)
	if err != nil {
		tb.Fatal(err)
	}
	path, err := tree.NewPrivatePath(cs, i, sy.encs[i])
	if err != nil {
		tb.Fatal(err)
	}
	for _, x := range treemath.DirectPath(i.Node(), sy.tree.LeafCount()) {
		if sy.bulk {
			break
		}
		if path, err = path.WithPathSecret(cs, x, pathSecret(cs, x)); err != nil {
			tb.Fatal(err)
		}
	}
	ln, _ := sy.tree.Leaf(i)
	s, err := state.New(core.K(),
		state.Public{Suite: cs, Context: ctx, Tree: sy.tree, Interim: interim, ConfirmationTag: tag, Config: cfg, Active: true, Census: state.CensusOf(sy.tree)},
		state.Private{Self: i, SignatureKey: ln.SignatureKey, Path: path, Epoch: es, Secrets: st})
	if err != nil {
		tb.Fatal(err)
	}
	ks, err := KeyStore{}.WithSignatureKey(cs.ID(), sy.sigs[i])
	if err != nil {
		tb.Fatal(err)
	}
	return s, ks
}

// TestSynthGroup checks the synthetic group is a valid MLS group: the tree
// validates, and a commit by one member is processed by another, in both
// shapes (full tree, and the blank-parent tree of one bulk add).
func TestSynthGroup(t *testing.T) {
	for _, bulk := range []bool{false, true} {
		t.Run(fmt.Sprintf("bulk=%v", bulk), func(t *testing.T) {
			sy := buildSynth(t, 1, 16, bulk)
			if err := sy.tree.Validate(sy.gid, sy.tree.Hash()); err != nil {
				t.Fatal(err)
			}
			cfg := state.DefaultConfig()
			a, ak := sy.member(t, 0, cfg)
			b, bk := sy.member(t, 13, cfg)
			_, effs, err := Apply(a, Commit{At: testAt, ForcePath: true}, Env{Entropy: entropySeed(1), Keys: ak})
			if err != nil {
				t.Fatal(err)
			}
			b2, _, err := Apply(b, Receive{At: testAt, Message: sent(t, effs)}, Env{Entropy: entropySeed(2), Keys: bk})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := Apply(b2, MergeStaged{At: testAt}, Env{Entropy: entropySeed(3), Keys: bk}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
