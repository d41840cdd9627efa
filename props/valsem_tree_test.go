package props

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/valsem"
)

// withTrailingBlanks returns the encoded ratchet tree rt with k ≥ 1 drawn
// pairs of blank nodes (a parent and a leaf) appended: a tree of the right
// shape whose last node is blank.
func withTrailingBlanks(t *rapid.T, rt []byte) []byte {
	nodes, err := codec.DecodeRatchetTree(rt)
	if err != nil {
		t.Fatalf("ratchet tree: %v", err)
	}
	for range rapid.IntRange(1, 4).Draw(t, "pairs") {
		nodes = append(nodes, nil, nil)
	}
	out, err := nodes.Encode()
	if err != nil {
		t.Fatalf("ratchet tree: %v", err)
	}
	return out
}

// ValSem300: exported ratchet trees must not have trailing blank nodes.
//
// Every member's exported tree ends with a non-blank node; a new member
// handed the tree out of band (joining from a Welcome, or by an external
// commit) rejects it with trailing blank nodes and accepts it as exported.
func TestValSem300(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{TreeOmit: true})
		for _, m := range w.Active() {
			rt, err := m.State.Tree().Encode()
			if err != nil {
				t.Fatal(err)
			}
			nodes, err := codec.DecodeRatchetTree(rt)
			if err != nil || len(nodes) == 0 || nodes[len(nodes)-1] == nil {
				t.Fatalf("%s exports a tree ending with a blank node (%v)", m.Name, err)
			}
		}
		from := w.Pick(t, "from")
		joiner := w.NewClient(t)
		var ev func(rt []byte) transitions.Event
		var rt []byte
		if rapid.Bool().Draw(t, "welcome") {
			_, effs := w.StartCommit(from, transitions.Commit{Inline: []codec.Proposal{AddOf(w.KeyPackage(joiner))}})
			wel, _ := effects.Find[effects.SendWelcome](effs)
			next, _ := from.State.PendingCommit()
			rt, _ = next.Next.Tree().Encode()
			ev = func(rt []byte) transitions.Event {
				return transitions.JoinWelcome{At: At, Welcome: wel.Welcome, RatchetTree: rt, Config: joiner.Config}
			}
		} else {
			gi := w.PublishGroupInfo(from, false)
			rt, _ = from.State.Tree().Encode()
			ev = func(rt []byte) transitions.Event { return w.ExternalJoinEvent(joiner, gi, rt, 0) }
		}
		RejectsEvent(t, joiner.State, w.Env(joiner), ev(withTrailingBlanks(t, rt)), valsem.ValSem300)
		AcceptsEvent(t, joiner.State, w.Env(joiner), ev(rt))
	})
}
