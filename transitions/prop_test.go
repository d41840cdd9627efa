package transitions

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/treemath"
)

type rapidTB struct{ *rapid.T }

func (rapidTB) Helper() {}

// TestPropApplyContract runs random event sequences on small groups. For
// every Apply (world.apply checks it): a failing one returns an error, no
// effects and leaves the input state's digest unchanged; a succeeding one
// never changes the input state's digest either; effects are always sorted
// by phase.
func TestPropApplyContract(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cfg := state.DefaultConfig()
		cfg.WireFormat = []state.WireFormatPolicy{state.PureCiphertext, state.MixedPlaintext}[rapid.IntRange(0, 1).Draw(rt, "wf")]
		cfg.MaxPastEpochs = uint32(rapid.IntRange(0, 2).Draw(rt, "past"))
		w := &world{t: rapidTB{rt}, name: "prop", cs: 1, cfg: cfg, tree: TreeInclude}
		w.seq = rapid.Uint64().Draw(rt, "seed")
		a := w.create("m0")
		w.add(a, "m1", "m2")
		var inflight [][]byte // messages not delivered yet
		pick := func() *member { return w.members[rapid.IntRange(0, len(w.members)-1).Draw(rt, "member")] }
		n := 0
		for step := range rapid.IntRange(1, 12).Draw(rt, "steps") {
			m := pick()
			var ev Event
			switch rapid.IntRange(0, 9).Draw(rt, "action") {
			case 0:
				ev = Protect{At: testAt, Data: []byte{byte(step)}}
			case 1:
				ev = Commit{At: testAt, ForcePath: rapid.Bool().Draw(rt, "path")}
			case 2:
				r := treemath.LeafIndex(rapid.IntRange(0, 4).Draw(rt, "removed"))
				ev = Commit{At: testAt, Inline: []codec.Proposal{removeOf(r)}}
			case 3:
				ev = Propose{At: testAt, Proposal: codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{}}}
			case 4:
				ev = []Event{ConfirmCommit{At: testAt}, AbortCommit{At: testAt}, MergeStaged{At: testAt}, DiscardStaged{At: testAt}}[rapid.IntRange(0, 3).Draw(rt, "ack")]
			case 5:
				ev = Export{At: testAt, Label: "x", Length: uint32(rapid.IntRange(0, 64).Draw(rt, "len"))}
			case 6, 7, 8:
				if len(inflight) == 0 {
					continue
				}
				i := rapid.IntRange(0, len(inflight)-1).Draw(rt, "msg")
				msg := inflight[i]
				if rapid.Bool().Draw(rt, "corrupt") {
					msg = append([]byte(nil), msg...)
					msg[rapid.IntRange(0, len(msg)-1).Draw(rt, "byte")] ^= byte(rapid.IntRange(1, 255).Draw(rt, "xor"))
				}
				ev = Receive{At: testAt, Message: msg}
			case 9:
				ev = Leave{At: testAt}
			}
			effs, err := w.apply(m, ev)
			if err == nil {
				n++
				for _, e := range effs {
					if s, ok := e.(effects.SendToGroup); ok {
						inflight = append(inflight, s.Message)
					}
				}
			}
		}
		_ = n
	})
}
