package transitions

import (
	"fmt"
	"math/bits"
	"testing"

	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// TestCommitAllocatesLogNodes asserts the memory half of the core contract
// (docs/design.md, "Immutable and cheap"): a self-update commit with path in a
// full group of N members builds at most c·(log₂N+1) new tree nodes, on
// the committer's side (ConfirmCommit) and on a receiver's (Receive, then
// MergeStaged); every other node is shared with the previous epoch's tree.
// The count is tree.FreshNodes, a walk of the new tree that stops at every
// shared subtree. N = 65536 runs in the long run (MLS_LONG=1).
func TestCommitAllocatesLogNodes(t *testing.T) {
	sizes := []int{16, 256, 4096}
	if longRun() {
		sizes = append(sizes, 65536)
	}
	const c = 1 // exactly the leaf and its direct path are new
	cfg := state.DefaultConfig()
	for _, n := range sizes {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			sy := newSynth(t, 1, n)
			limit := c * (bits.Len(uint(n)-1) + 1)
			env := Env{Limits: benchLimits(n)}

			a, ak := sy.member(t, 0, cfg)
			env.Keys, env.Entropy = ak, entropySeed(1)
			staged, effs, err := Apply(a, Commit{At: testAt, ForcePath: true}, env)
			if err != nil {
				t.Fatal(err)
			}
			a2, _, err := Apply(staged, ConfirmCommit{At: testAt}, env)
			if err != nil {
				t.Fatal(err)
			}
			if got := tree.FreshNodes(a.Tree(), a2.Tree()); got < 1 || got > limit {
				t.Errorf("committer: %d new tree nodes, want 1..%d", got, limit)
			}

			r, rk := sy.member(t, treemath.LeafIndex(n-1), cfg)
			env.Keys, env.Entropy = rk, entropySeed(2)
			r1, _, err := Apply(r, Receive{At: testAt, Message: sent(t, effs)}, env)
			if err != nil {
				t.Fatal(err)
			}
			r2, _, err := Apply(r1, MergeStaged{At: testAt}, env)
			if err != nil {
				t.Fatal(err)
			}
			if got := tree.FreshNodes(r.Tree(), r2.Tree()); got < 1 || got > limit {
				t.Errorf("receiver: %d new tree nodes, want 1..%d", got, limit)
			}
			t.Logf("new tree nodes: committer %d, receiver %d, limit %d", tree.FreshNodes(a.Tree(), a2.Tree()), tree.FreshNodes(r.Tree(), r2.Tree()), limit)
			if r2.Tree().Hash() == nil || string(r2.Tree().Hash()) != string(a2.Tree().Hash()) {
				t.Errorf("committer and receiver disagree on the tree hash")
			}
		})
	}
}

// TestMessageAllocations pins the allocations of an application message
// in the steady state (protectOp and unprotectOp: a group of 256, 100
// bytes) near the figures docs/performance.md gives, 31 and 42 on
// linux/amd64, with a margin of three for other platforms' crypto code: a
// return of per-message copies or re-encodings of the state (61 and 60
// before 2026-12-03) fails it.
func TestMessageAllocations(t *testing.T) {
	for _, c := range []struct {
		name string
		op   func(testing.TB, int) func() error
		max  float64
	}{{"Protect", protectOp, 31 + 3}, {"Unprotect", unprotectOp, 42 + 3}} {
		t.Run(c.name, func(t *testing.T) {
			f := c.op(t, 100)
			var err error
			n := testing.AllocsPerRun(50, func() {
				if e := f(); e != nil {
					err = e
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if n > c.max {
				t.Fatalf("%s allocates %v times per message, want at most %v", c.name, n, c.max)
			}
			t.Logf("%v allocations per message", n)
		})
	}
}
