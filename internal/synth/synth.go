// Package synth builds synthetic full groups for benchmarks and memory
// tests: N members' states made directly from seeds, without commits or
// Welcomes, so that a group of 65536 members costs O(N) key derivations and
// signatures. It holds internal/core's key (deps_test.go, coreKeyHolders)
// to construct states; the states it builds are fixtures, never handed to
// an application.
package synth

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// At is the time of every benchmarked event, in seconds since the Unix
// epoch.
const At = 1_700_000_000

// Group is a synthetic full group of n members built directly from
// seeds, without commits, through the library's exported API (as
// transitions/synth_test.go does inside the package): every parent node is
// non-blank and parent-hash valid (each parent chains to its left child),
// so a self-update path encrypts to one node per level, as in a group where
// everybody has committed. Building it costs O(n) key derivations and
// signatures; no commit or Welcome is needed, so large groups are cheap.
type Group struct {
	cs    *suite.Suite
	gid   []byte
	n     int // members
	tree  tree.Tree
	sigs  [][]byte // signature private keys by leaf
	encs  [][]byte // leaf HPKE private keys by leaf
	nodes codec.RatchetTree
}

// Seed returns n pseudo-random bytes for (label, i).
func Seed(label string, i uint32, n int) []byte {
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

func encodeWith(f func(b *cryptobyte.Builder)) ([]byte, error) {
	var b cryptobyte.Builder
	f(&b)
	return b.Bytes()
}

// New builds the synthetic group of n members (n a power of two,
// at least 2) in cipher suite id.
func New(id suite.ID, n int) (*Group, error) {
	if n < 2 || n&(n-1) != 0 {
		return nil, fmt.Errorf("group size %d: want a power of two, at least 2", n)
	}
	cs, err := suite.Lookup(id)
	if err != nil {
		return nil, err
	}
	sy := &Group{cs: cs, gid: []byte("synthetic group"), n: n, sigs: make([][]byte, n), encs: make([][]byte, n),
		nodes: make(codec.RatchetTree, 2*n-1)}
	lifetime := codec.Lifetime{NotBefore: At - 3600, NotAfter: At + 90*24*3600}
	caps := codec.Capabilities{Versions: []codec.ProtocolVersion{codec.MLS10},
		CipherSuites: []codec.CipherSuite{codec.CipherSuite(id)}, Credentials: []codec.CredentialType{codec.CredentialBasic}}
	// build fills the subtree under x and returns its tree hash; ph is the
	// parent hash x's parent gives it (nil for the root and right
	// children).
	var build func(x treemath.NodeIndex, ph []byte) ([]byte, error)
	build = func(x treemath.NodeIndex, ph []byte) ([]byte, error) {
		if x.IsLeaf() {
			i := x.Leaf()
			sp, spub, err := cs.GenerateSignatureKey(Seed("sig", uint32(i), cs.SignatureSeedLen()))
			if err != nil {
				return nil, err
			}
			ep, epub, err := cs.DeriveKeyPair(Seed("leaf", uint32(i), cs.HashLen()))
			if err != nil {
				return nil, err
			}
			sy.sigs[i], sy.encs[i] = sp, ep
			ln := codec.LeafNode{EncryptionKey: epub, SignatureKey: spub,
				Credential:   codec.Credential{CredentialType: codec.CredentialBasic, Identity: binary.BigEndian.AppendUint32([]byte("m"), uint32(i))},
				Capabilities: caps}
			if ph != nil {
				ln.LeafNodeSource, ln.ParentHash = codec.LeafNodeSourceCommit, ph
			} else {
				ln.LeafNodeSource, ln.Lifetime = codec.LeafNodeSourceKeyPackage, lifetime
			}
			sg, err := cs.NewSigner(sp)
			if err != nil {
				return nil, err
			}
			if err := tree.SignLeaf(sg, &ln, sy.gid, i); err != nil {
				return nil, err
			}
			sy.nodes[x] = &codec.Node{NodeType: codec.NodeTypeLeaf, Leaf: &ln}
			b, err := encodeWith(func(b *cryptobyte.Builder) {
				b.AddUint8(1) // leaf
				b.AddUint32(uint32(i))
				b.AddUint8(1) // present
				ln.Marshal(b)
			})
			return cs.Hash(b), err
		}
		_, pub, err := cs.DeriveKeyPair(synthNodeSecret(cs, x))
		if err != nil {
			return nil, err
		}
		if ph == nil {
			ph = []byte{}
		}
		p := codec.ParentNode{EncryptionKey: pub, ParentHash: ph}
		rh, err := build(treemath.Right(x), nil)
		if err != nil {
			return nil, err
		}
		lph, err := encodeWith(func(b *cryptobyte.Builder) {
			codec.AddOpaque(b, pub)
			codec.AddOpaque(b, ph)
			codec.AddOpaque(b, rh)
		})
		if err != nil {
			return nil, err
		}
		lh, err := build(treemath.Left(x), cs.Hash(lph))
		if err != nil {
			return nil, err
		}
		sy.nodes[x] = &codec.Node{NodeType: codec.NodeTypeParent, Parent: &p}
		b, err := encodeWith(func(b *cryptobyte.Builder) {
			b.AddUint8(2) // parent
			b.AddUint8(1) // present
			p.Marshal(b)
			codec.AddOpaque(b, lh)
			codec.AddOpaque(b, rh)
		})
		return cs.Hash(b), err
	}
	if _, err := build(treemath.Root(treemath.LeafCount(n)), nil); err != nil {
		return nil, err
	}
	t, err := tree.FromNodes(cs, sy.nodes)
	if err != nil {
		return nil, err
	}
	sy.tree = t
	return sy, nil
}

func synthPathSecret(cs *suite.Suite, x treemath.NodeIndex) []byte {
	return Seed("path", uint32(x), cs.HashLen())
}

func synthNodeSecret(cs *suite.Suite, x treemath.NodeIndex) []byte {
	ns, err := cs.DeriveSecret(synthPathSecret(cs, x), "node")
	if err != nil {
		panic(err) // a Nh-byte secret always derives
	}
	return ns
}

// Member returns leaf i's state at epoch 1, holding the private keys of its
// whole direct path, and its key store (its signature key).
func (sy *Group) Member(i treemath.LeafIndex) (state.GroupState, transitions.KeyStore, error) {
	cs := sy.cs
	cfg := state.DefaultConfig()
	ctx := codec.GroupContext{Version: codec.MLS10, CipherSuite: codec.CipherSuite(cs.ID()), GroupID: sy.gid, Epoch: 1,
		TreeHash: sy.tree.Hash(), ConfirmedTranscriptHash: Seed("confirmed", 0, cs.HashLen())}
	fail := func(err error) (state.GroupState, transitions.KeyStore, error) {
		return state.GroupState{}, transitions.KeyStore{}, fmt.Errorf("synthetic member %d: %w", i, err)
	}
	cb, err := ctx.Encode()
	if err != nil {
		return fail(err)
	}
	init, err := keysched.NewInitSecret(cs, Seed("init", 0, cs.HashLen()))
	if err != nil {
		return fail(err)
	}
	j, err := init.Joiner(nil, cb)
	if err != nil {
		return fail(err)
	}
	in, err := j.WithPSK(keysched.NoPSK)
	if err != nil {
		return fail(err)
	}
	es, err := in.Epoch(cb)
	if err != nil {
		return fail(err)
	}
	tag := es.ConfirmationTag(ctx.ConfirmedTranscriptHash)
	interim, err := keysched.InterimTranscriptHash(cs, ctx.ConfirmedTranscriptHash, tag)
	if err != nil {
		return fail(err)
	}
	st, err := es.SecretTree(sy.tree.LeafCount(), cfg.SenderRatchet)
	if err != nil {
		return fail(err)
	}
	path, err := tree.NewPrivatePath(cs, i, sy.encs[i])
	if err != nil {
		return fail(err)
	}
	for _, x := range treemath.DirectPath(i.Node(), sy.tree.LeafCount()) {
		if path, err = path.WithPathSecret(cs, x, synthPathSecret(cs, x)); err != nil {
			return fail(err)
		}
	}
	ln, _ := sy.tree.Leaf(i)
	s, err := state.New(core.K(),
		state.Public{Suite: cs, Context: ctx, Tree: sy.tree, Interim: interim, ConfirmationTag: tag, Config: cfg, Active: true, Census: state.CensusOf(sy.tree)},
		state.Private{Self: i, SignatureKey: ln.SignatureKey, Path: path, Epoch: es, Secrets: st})
	if err != nil {
		return fail(err)
	}
	ks, err := transitions.KeyStore{}.WithSignatureKey(cs.ID(), sy.sigs[i])
	if err != nil {
		return fail(err)
	}
	return s, ks, nil
}

// Limits are limits that admit a group of n members and its messages.
func Limits(n int) transitions.Limits {
	return transitions.Limits{MaxLeaves: uint32(2 * n), MaxProposals: uint32(2 * n), MaxMessageBytes: 1 << 30}
}

// N returns the number of members.
func (sy *Group) N() int { return sy.n }
