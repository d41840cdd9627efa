package tree_test

import (
	"bytes"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// TestPropCachedHashMatchesRecompute runs random sequences of add, remove,
// update and commit (UpdatePath) on random trees. After every step the
// cached tree hash equals a from-scratch recomputation over the array
// form, the encoding round-trips through Decode, the tree validates as a
// joiner would check it, every member's private path fits the tree, and
// the previous version is untouched.
func TestPropCachedHashMatchesRecompute(t *testing.T) {
	s := mustSuite(t, suite.X25519AES128GCMSHA256Ed25519)
	rapid.Check(t, func(rt *rapid.T) {
		g := newGroup(rt, s)
		g.nextID = rapid.Uint64Range(1, 1<<20).Draw(rt, "ids") // distinct keys per run
		var prev tree.Tree
		var prevEnc, prevHash []byte
		members := func() []treemath.LeafIndex {
			var out []treemath.LeafIndex
			for i := range g.t.Members() {
				out = append(out, i)
			}
			return out
		}
		rt.Repeat(map[string]func(*rapid.T){
			"add": func(rt *rapid.T) {
				if g.t.MemberCount() >= 24 {
					rt.Skip("group full")
				}
				g.add(rt)
			},
			"addThenCommit": func(rt *rapid.T) {
				if g.t.MemberCount() >= 24 {
					rt.Skip("group full")
				}
				var added []treemath.LeafIndex
				for range rapid.IntRange(1, 3).Draw(rt, "adds") {
					added = append(added, g.add(rt))
				}
				ms := slices.DeleteFunc(members(), func(i treemath.LeafIndex) bool { return slices.Contains(added, i) })
				g.commit(rt, rapid.SampledFrom(ms).Draw(rt, "committer"), added...)
			},
			"remove": func(rt *rapid.T) {
				ms := members()
				if len(ms) < 2 {
					rt.Skip("last member")
				}
				g.remove(rt, rapid.SampledFrom(ms).Draw(rt, "removed"))
			},
			"update": func(rt *rapid.T) {
				g.update(rt, rapid.SampledFrom(members()).Draw(rt, "updater"))
			},
			"commit": func(rt *rapid.T) {
				g.commit(rt, rapid.SampledFrom(members()).Draw(rt, "committer"))
			},
			"": func(rt *rapid.T) {
				if prevEnc != nil {
					if !bytes.Equal(mustEncode(rt, prev), prevEnc) || !bytes.Equal(prev.Hash(), prevHash) {
						rt.Fatal("previous tree version changed")
					}
				}
				g.check(rt)
				prev, prevEnc, prevHash = g.t, mustEncode(rt, g.t), g.t.Hash()
			},
		})
	})
}
