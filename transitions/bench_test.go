package transitions

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
)

// Benchmarks run in ciphersuite 1. Groups are built once per size (a
// synthetic full tree from seeds, see synth) outside the timed loops;
// N = 65536 is skipped under -short.

var benchSizes = []int{16, 256, 4096, 65536}

var synths sync.Map // int -> func() *synth

func synthOf(tb testing.TB, n int) *synth {
	f, _ := synths.LoadOrStore(n, sync.OnceValue(func() *synth { return newSynth(tb, 1, n) }))
	return f.(func() *synth)()
}

func benchLimits(n int) Limits {
	return Limits{MaxLeaves: uint32(2 * n), MaxProposals: uint32(2 * n), MaxMessageBytes: 1 << 30}
}

func sizes(b *testing.B, f func(b *testing.B, n int)) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			if n > 4096 && testing.Short() {
				b.Skip("large group skipped under -short")
			}
			f(b, n)
		})
	}
}

// BenchmarkCommitCreate: a member of a full group of N creates a
// self-update commit with path.
func BenchmarkCommitCreate(b *testing.B) {
	sizes(b, func(b *testing.B, n int) {
		sy := synthOf(b, n)
		s, ks := sy.member(b, 0, state.DefaultConfig())
		env := Env{Keys: ks, Limits: benchLimits(n)}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			env.Entropy = entropy.FromSeed([32]byte{1})
			if _, _, err := Apply(s, Commit{At: testAt, ForcePath: true}, env); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCommitProcess: another member of the full group receives that
// commit and merges it.
func BenchmarkCommitProcess(b *testing.B) {
	sizes(b, func(b *testing.B, n int) {
		fx := fullCommitOf(b, n)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			processCommit(b, fx.recv, fx.msg, fx.env)
		}
	})
}

// fullCommit is a self-update commit of leaf 0 in the full synthetic tree
// of N members, the state of the receiver (leaf N−1) and its Env.
type fullCommit struct {
	sy   *synth
	msg  []byte
	recv state.GroupState
	env  Env
}

func fullCommitOf(b *testing.B, n int) fullCommit {
	sy := synthOf(b, n)
	cfg := state.DefaultConfig()
	s, ks := sy.member(b, 0, cfg)
	_, effs, err := Apply(s, Commit{At: testAt, ForcePath: true}, Env{Entropy: entropySeed(1), Keys: ks})
	if err != nil {
		b.Fatal(err)
	}
	r, rk := sy.member(b, treemath.LeafIndex(n-1), cfg)
	return fullCommit{sy: sy, msg: sent(b, effs), recv: r, env: Env{Keys: rk, Limits: benchLimits(n)}}
}

// BenchmarkCommitProcessFloor is the floor of BenchmarkCommitProcess in
// the same run: what processing that commit cannot avoid (pathFloor: two
// signature verifications, one HPKE open, one key pair derivation). KDF
// calls, the AEAD open and the hashes are left out.
func BenchmarkCommitProcessFloor(b *testing.B) {
	sizes(b, func(b *testing.B, n int) {
		fx := fullCommitOf(b, n)
		f := newPathFloor(b, fx.sy, len(fx.msg))
		b.ReportAllocs()
		for b.Loop() {
			f.run(b)
		}
	})
}

// pathFloor is the crypto a member cannot avoid when it processes a
// self-update commit of leaf 0 as leaf N−1 (which shares only the root
// with the committer): two signature verifications (the content's, over a
// commit-sized input, and the path leaf's), one HPKE open of a path secret
// and one key pair derivation.
type pathFloor struct {
	cs                           *suite.Suite
	sigKey, tbs, sig, leaf, lsig []byte
	secret, rpriv, kem, ct       []byte
}

func newPathFloor(b *testing.B, sy *synth, commitSize int) *pathFloor {
	cs := sy.cs
	f := &pathFloor{cs: cs, tbs: make([]byte, commitSize), leaf: make([]byte, 200), secret: make([]byte, cs.HashLen())}
	var err error
	if f.sig, err = cs.SignWithLabel(sy.sigs[0], "FramedContentTBS", f.tbs); err != nil {
		b.Fatal(err)
	}
	if f.lsig, err = cs.SignWithLabel(sy.sigs[0], "LeafNodeTBS", f.leaf); err != nil {
		b.Fatal(err)
	}
	ln, _ := sy.tree.Leaf(0)
	f.sigKey = ln.SignatureKey
	rpriv, rpub, err := cs.DeriveKeyPair(f.secret)
	if err != nil {
		b.Fatal(err)
	}
	f.rpriv = rpriv
	if f.kem, f.ct, err = cs.HPKESeal(rpub, []byte("info"), nil, f.secret, f.secret); err != nil {
		b.Fatal(err)
	}
	return f
}

func (f *pathFloor) run(b *testing.B) {
	cs := f.cs
	if err := cs.VerifyWithLabel(f.sigKey, "FramedContentTBS", f.tbs, f.sig); err != nil {
		b.Fatal(err)
	}
	if err := cs.VerifyWithLabel(f.sigKey, "LeafNodeTBS", f.leaf, f.lsig); err != nil {
		b.Fatal(err)
	}
	if _, err := cs.HPKEOpen(f.rpriv, f.kem, []byte("info"), nil, f.ct); err != nil {
		b.Fatal(err)
	}
	if _, _, err := cs.DeriveKeyPair(f.secret); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCommitProcessRatio runs BenchmarkCommitProcess's operation and
// its floor (pathFloor) alternately, one of each per iteration, and
// reports each one's CPU time (the benchmark goroutine's thread: GC
// assists included, background GC not) and their ratio. Alternating
// operation by operation puts both under the same load, so the ratio
// holds on a shared machine where whole runs of either vary by ±20 %.
// Skipped where no per-thread CPU clock is read (threadCPU).
func BenchmarkCommitProcessRatio(b *testing.B) {
	sizes(b, func(b *testing.B, n int) {
		fx := fullCommitOf(b, n)
		f := newPathFloor(b, fx.sy, len(fx.msg))
		cpuRatio(b, func() { processCommit(b, fx.recv, fx.msg, fx.env) }, func() { f.run(b) })
	})
}

// processCommit receives msg in r and merges it.
func processCommit(b *testing.B, r state.GroupState, msg []byte, env Env) {
	env.Entropy = entropy.FromSeed([32]byte{2})
	r2, _, err := Apply(r, Receive{At: testAt, Message: msg}, env)
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := Apply(r2, MergeStaged{At: testAt}, env); err != nil {
		b.Fatal(err)
	}
}

// cpuRatio runs op and floor alternately, timing each by the thread's CPU
// clock, and reports cpu-ns/op, floor-cpu-ns/op and their ratio.
func cpuRatio(b *testing.B, op, floor func()) {
	if threadCPU() == 0 {
		b.Skip("no per-thread CPU clock on this system")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var opCPU, floorCPU time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := threadCPU()
		op()
		t1 := threadCPU()
		floor()
		t2 := threadCPU()
		opCPU, floorCPU = opCPU+t1-t0, floorCPU+t2-t1
	}
	b.ReportMetric(float64(opCPU)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(floorCPU)/float64(b.N), "floor-cpu-ns/op")
	b.ReportMetric(float64(opCPU)/float64(floorCPU), "x-floor")
}

// addFixture is a one-member group with N-1 key packages to add, and the
// resulting Welcome with one joiner's key store.
type addFixture struct {
	creator state.GroupState
	ck      KeyStore
	adds    []codec.Proposal
	welcome []byte
	joiner  KeyStore
}

var addFixtures sync.Map

func addFixtureOf(b *testing.B, n int) *addFixture {
	f, _ := addFixtures.LoadOrStore(n, sync.OnceValue(func() *addFixture {
		w := newWorld(b, 1, state.DefaultConfig())
		a := w.create("creator")
		fx := &addFixture{creator: a.s, ck: a.keys}
		var last *member
		for i := range n - 1 {
			m := &member{name: fmt.Sprint("m", i)}
			effs := w.must(m, NewSignatureKey{At: testAt, Suite: 1})
			sk, _ := effects.Find[effects.SignatureKeyCreated](effs)
			m.sig = sk.PublicKey
			fx.adds = append(fx.adds, addOf(w.keyPackage(m)))
			last = m
		}
		_, effs, err := Apply(a.s, Commit{At: testAt, Inline: fx.adds, RatchetTree: TreeInclude}, Env{Entropy: entropySeed(1), Keys: a.keys, Limits: benchLimits(n)})
		if err != nil {
			b.Fatal(err)
		}
		wel, _ := effects.Find[effects.SendWelcome](effs)
		fx.welcome, fx.joiner = wel.Welcome, last.keys
		return fx
	}))
	return f.(func() *addFixture)()
}

// BenchmarkAddMembers: the creator adds N-1 members in one commit and
// builds their Welcome (with the ratchet tree).
func BenchmarkAddMembers(b *testing.B) {
	sizes(b, func(b *testing.B, n int) {
		fx := addFixtureOf(b, n)
		env := Env{Keys: fx.ck, Limits: benchLimits(n)}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			env.Entropy = entropy.FromSeed([32]byte{1})
			if _, _, err := Apply(fx.creator, Commit{At: testAt, Inline: fx.adds, RatchetTree: TreeInclude}, env); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkJoinWelcome: one of the N-1 new members joins from that
// Welcome (tree validation with parallel leaf-signature checks).
func BenchmarkJoinWelcome(b *testing.B) {
	sizes(b, func(b *testing.B, n int) {
		fx := addFixtureOf(b, n)
		env := Env{Keys: fx.joiner, Limits: benchLimits(n)}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			env.Entropy = entropy.FromSeed([32]byte{3})
			j, _, err := Apply(state.GroupState{}, JoinWelcome{At: testAt, Welcome: fx.welcome, Config: state.DefaultConfig()}, env)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := Apply(j, AcceptJoin{At: testAt}, env); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkProtectFirst: the first application message of an epoch, which
// also derives the sender's leaf secret from the secret tree (2·log₂N
// ExpandWithLabel calls).
func BenchmarkProtectFirst(b *testing.B) {
	sy := synthOf(b, 256)
	s, ks := sy.member(b, 0, state.DefaultConfig())
	for _, sz := range messageSizes {
		b.Run("size="+sz.name, func(b *testing.B) {
			data := make([]byte, sz.n)
			env := Env{Keys: ks, Entropy: entropySeed(4)}
			b.ReportAllocs()
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				if _, _, err := Apply(s, Protect{At: testAt, Data: data}, env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnprotectFirst: the receiver's first message from a sender in
// an epoch, which also derives the sender's leaf secret.
func BenchmarkUnprotectFirst(b *testing.B) {
	sy := synthOf(b, 256)
	s, ks := sy.member(b, 0, state.DefaultConfig())
	r, rk := sy.member(b, 200, state.DefaultConfig())
	for _, sz := range messageSizes {
		b.Run("size="+sz.name, func(b *testing.B) {
			_, effs, err := Apply(s, Protect{At: testAt, Data: make([]byte, sz.n)}, Env{Entropy: entropySeed(5), Keys: ks})
			if err != nil {
				b.Fatal(err)
			}
			msg := sent(b, effs)
			env := Env{Keys: rk, Entropy: entropySeed(6)}
			b.ReportAllocs()
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				if _, _, err := Apply(r, Receive{At: testAt, Message: msg}, env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNewKeyPackage: a client builds and signs a key package (two
// fresh HPKE key pairs, the leaf node's and the key package's signatures,
// its reference, the message and the bundle).
func BenchmarkNewKeyPackage(b *testing.B) {
	w := newWorld(b, 1, state.DefaultConfig())
	m := w.newMember("alice")
	ev := NewKeyPackage{At: testAt, Suite: 1, SignatureKey: m.sig, Credential: w.credential(m), Lifetime: testLifetime}
	env := Env{Keys: m.keys}
	b.ReportAllocs()
	for b.Loop() {
		env.Entropy = entropy.FromSeed([32]byte{7})
		if _, _, err := Apply(state.GroupState{}, ev, env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewKeyPackageFloor is the floor of BenchmarkNewKeyPackage in the
// same run: two HPKE key pair derivations and two signatures (with the
// parsed signer) over inputs of a key package's size.
func BenchmarkNewKeyPackageFloor(b *testing.B) {
	sy := synthOf(b, 16)
	cs := sy.cs
	sg, err := cs.NewSigner(sy.sigs[0])
	if err != nil {
		b.Fatal(err)
	}
	seed, tbs := make([]byte, cs.HashLen()), make([]byte, 250)
	b.ReportAllocs()
	for b.Loop() {
		for range 2 {
			if _, _, err := cs.DeriveKeyPair(seed); err != nil {
				b.Fatal(err)
			}
			if _, err := sg.SignWithLabel("KeyPackageTBS", tbs); err != nil {
				b.Fatal(err)
			}
		}
	}
}
