package transitions

import (
	"fmt"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
)

// TestAddSignaturesInListOrder: the key package signatures of a long Add
// list are verified on the fan-out (at least 2·fanOutWorkers adds), and the
// error reported is the one of the first invalid Add in list order, however
// the goroutines ran: a broken leaf signature at position i and a broken
// key package signature at position j give the leaf error when i < j and the
// key package error when j < i, for the committer and for a receiver.
func TestAddSignaturesInListOrder(t *testing.T) {
	const n = 2*fanOutWorkers + 4
	tests := []struct {
		leafBad, kpBad int
		want           error
	}{
		{leafBad: 3, kpBad: 17, want: ErrInvalidLeafNode},
		{leafBad: 17, kpBad: 3, want: ErrInvalidKeyPackage},
		{leafBad: 0, kpBad: n - 1, want: ErrInvalidLeafNode},
		{leafBad: n - 1, kpBad: 0, want: ErrInvalidKeyPackage},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("leaf=%d/kp=%d", tt.leafBad, tt.kpBad), func(t *testing.T) {
			cfg := state.DefaultConfig()
			cfg.WireFormat = state.MixedPlaintext
			w := newWorld(t, 1, cfg)
			a := w.create("alice")
			b := w.add(a, "bob")[0]
			var good, bad []codec.Proposal
			for i := range n {
				m := w.newMember(fmt.Sprint("m", i))
				kp := w.keyPackage(m)
				good = append(good, addOf(kp))
				switch i {
				case tt.leafBad:
					// A broken leaf signature under a valid key package
					// signature.
					kp.LeafNode.Signature = append([]byte(nil), kp.LeafNode.Signature...)
					kp.LeafNode.Signature[0] ^= 1
					tbs, _ := kp.TBS().Encode()
					sig, err := signerOf(t, m).SignWithLabel("KeyPackageTBS", tbs)
					if err != nil {
						t.Fatal(err)
					}
					kp.Signature = sig
				case tt.kpBad:
					kp.Signature = append([]byte(nil), kp.Signature...)
					kp.Signature[0] ^= 1
				}
				bad = append(bad, addOf(kp))
			}
			other := ErrInvalidKeyPackage
			if tt.want == ErrInvalidKeyPackage {
				other = ErrInvalidLeafNode
			}
			before := a.s.Digest()
			if _, _, err := Apply(a.s, Commit{At: testAt, Inline: bad}, w.env(a)); !errorsIs(err, tt.want) || errorsIs(err, other) || a.s.Digest() != before {
				t.Fatalf("committer: got %v, want %v", err, tt.want)
			}
			msg := commitMsg(t, w, a, Commit{Inline: good})
			rejects(t, w, b, reframe(t, a, msg, setProposals(bad...)), tt.want)
		})
	}
}
