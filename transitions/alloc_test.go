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
