package transitions

import (
	"fmt"
	"sync"
	"testing"

	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/treemath"
)

// Commit processing in the tree one bulk add leaves (every parent blank):
// the committer's path encrypts to all N−1 others, so the commit is O(N)
// bytes (about 82 bytes per member in suite 1) and its processing is
// dominated by the bytes: decrypting, verifying the signature over them,
// the membership tag and the confirmed transcript hash.

var bulkSizes = []int{1000, 10000, 65536}

var bulkSynths sync.Map // int -> func() *synth

func bulkSynthOf(b *testing.B, n int) *synth {
	f, _ := bulkSynths.LoadOrStore(n, sync.OnceValue(func() *synth { return newBulkSynth(b, 1, n) }))
	return f.(func() *synth)()
}

// bulkCommit is a self-update commit of leaf 0 in the bulk tree of n
// members, framed per wf, and the state of the receiver (leaf n−1) that
// accepts it.
type bulkCommit struct {
	msg  []byte
	recv state.GroupState
	rk   KeyStore
}

var bulkCommits sync.Map // string -> func() *bulkCommit

func bulkCommitOf(b *testing.B, n int, wf state.WireFormatPolicy) *bulkCommit {
	key := fmt.Sprint(n, wf)
	f, _ := bulkCommits.LoadOrStore(key, sync.OnceValue(func() *bulkCommit {
		sy := bulkSynthOf(b, n)
		cfg := state.DefaultConfig()
		cfg.WireFormat = wf
		s, ks := sy.member(b, 0, cfg)
		_, effs, err := Apply(s, Commit{At: testAt, ForcePath: true}, Env{Entropy: entropySeed(1), Keys: ks, Limits: benchLimits(n)})
		if err != nil {
			b.Fatal(err)
		}
		r, rk := sy.member(b, treemath.LeafIndex(n-1), cfg)
		return &bulkCommit{msg: sent(b, effs), recv: r, rk: rk}
	}))
	return f.(func() *bulkCommit)()
}

var bulkFormats = []struct {
	name string
	wf   state.WireFormatPolicy
}{{"private", state.PureCiphertext}, {"public", state.PurePlaintext}}

func bulkSizesRun(b *testing.B, f func(b *testing.B, n int, wf state.WireFormatPolicy)) {
	for _, n := range bulkSizes {
		for _, w := range bulkFormats {
			b.Run(fmt.Sprintf("N=%d/wf=%s", n, w.name), func(b *testing.B) {
				if n > 10000 && testing.Short() {
					b.Skip("large group skipped under -short")
				}
				f(b, n, w.wf)
			})
		}
	}
}

// BenchmarkCommitProcessBulk: the last member of a group just filled by
// one bulk add receives a self-update commit of the first and merges it.
// bytes/commit reports the commit's size, against which B/op is judged
// (target: at most twice the commit plus O(log N)).
func BenchmarkCommitProcessBulk(b *testing.B) {
	bulkSizesRun(b, func(b *testing.B, n int, wf state.WireFormatPolicy) {
		bc := bulkCommitOf(b, n, wf)
		env := Env{Keys: bc.rk, Limits: benchLimits(n)}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			env.Entropy = entropy.FromSeed([32]byte{2})
			r2, _, err := Apply(bc.recv, Receive{At: testAt, Message: bc.msg}, env)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := Apply(r2, MergeStaged{At: testAt}, env); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(bc.msg)), "bytes/commit")
	})
}

// BenchmarkCommitProcessBulkFloor is the floor of BenchmarkCommitProcessBulk
// in the same run: what processing the commit cannot avoid. Two signature
// verifications (the content's, over the whole commit, and the path
// leaf's), one HPKE open and one key pair derivation (the receiver shares
// only the root with the committer), the AEAD open of the whole commit
// (PrivateMessage) or the membership tag's HMAC over it (PublicMessage),
// and the confirmed transcript hash over it. KDF calls are left out.
func BenchmarkCommitProcessBulkFloor(b *testing.B) {
	bulkSizesRun(b, func(b *testing.B, n int, wf state.WireFormatPolicy) {
		floor := bulkFloor(b, n, wf)
		b.ReportAllocs()
		for b.Loop() {
			floor()
		}
	})
}

// bulkFloor returns one run of BenchmarkCommitProcessBulkFloor's floor.
func bulkFloor(b *testing.B, n int, wf state.WireFormatPolicy) func() {
	bc := bulkCommitOf(b, n, wf)
	sy := bulkSynthOf(b, n)
	cs := sy.cs
	f := newPathFloor(b, sy, len(bc.msg))
	key, nonce := make([]byte, cs.AEADKeyLen()), make([]byte, cs.AEADNonceLen())
	sealed, _ := cs.Seal(key, nonce, nil, make([]byte, len(bc.msg)))
	private := wf == state.PureCiphertext
	return func() {
		f.run(b)
		if private {
			if _, err := cs.Open(key, nonce, nil, sealed); err != nil {
				b.Fatal(err)
			}
		} else {
			cs.MAC(key, f.tbs)
		}
		cs.Hash(f.tbs)
	}
}

// BenchmarkCommitProcessBulkRatio is BenchmarkCommitProcessBulk and its
// floor run alternately (cpuRatio): CPU time of each and their ratio.
func BenchmarkCommitProcessBulkRatio(b *testing.B) {
	bulkSizesRun(b, func(b *testing.B, n int, wf state.WireFormatPolicy) {
		bc := bulkCommitOf(b, n, wf)
		env := Env{Keys: bc.rk, Limits: benchLimits(n)}
		cpuRatio(b, func() { processCommit(b, bc.recv, bc.msg, env) }, bulkFloor(b, n, wf))
	})
}
