package state_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// TestEncodeSplit checks that every state of a history with past epochs,
// pending commits and resumption PSKs round-trips through EncodeSplit and
// DecodeSplit with the trees handed back by hash, to the same digest and
// the same Encode bytes; that the split encoding holds no tree (it stays
// small); and that a missing or wrong tree is refused.
func TestEncodeSplit(t *testing.T) {
	for i, s := range soloHistory(t, false) {
		trees := map[string]tree.Tree{}
		split, err := state.EncodeSplit(s, func(tr tree.Tree) { trees[string(tr.Hash())] = tr })
		if err != nil {
			t.Fatalf("state %d: EncodeSplit: %v", i, err)
		}
		get := func(cs *suite.Suite, n treemath.LeafCount, h []byte) (tree.Tree, error) {
			tr, ok := trees[string(h)]
			if !ok {
				return tree.Tree{}, fmt.Errorf("no tree %x", h)
			}
			return tr, nil
		}
		got, err := state.DecodeSplit(split, get)
		if err != nil {
			t.Fatalf("state %d: DecodeSplit: %v", i, err)
		}
		want, err1 := state.Encode(s)
		again, err2 := state.Encode(got)
		if err1 != nil || err2 != nil || !bytes.Equal(want, again) || got.Digest() != s.Digest() {
			t.Fatalf("state %d: the split round trip changed the state", i)
		}
		for _, tr := range trees {
			enc, err := tr.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if len(enc) > 64 && bytes.Contains(split, enc) {
				t.Fatalf("state %d: the split encoding holds a tree", i)
			}
		}
		if _, err := state.Decode(split); err == nil {
			t.Fatalf("state %d: Decode read a split encoding", i)
		}
		if len(trees) == 0 {
			continue
		}
		missing := func(*suite.Suite, treemath.LeafCount, []byte) (tree.Tree, error) {
			return tree.Tree{}, errors.New("gone")
		}
		if _, err := state.DecodeSplit(split, missing); !errors.Is(err, state.ErrEncoding) {
			t.Fatalf("state %d: a missing tree: %v", i, err)
		}
		var other tree.Tree
		for _, tr := range trees {
			other = tr
		}
		wrong := func(cs *suite.Suite, n treemath.LeafCount, h []byte) (tree.Tree, error) {
			if bytes.Equal(h, other.Hash()) {
				return tree.Tree{}, errors.New("not this one")
			}
			return other, nil
		}
		if len(trees) > 1 {
			if _, err := state.DecodeSplit(split, wrong); !errors.Is(err, state.ErrEncoding) {
				t.Fatalf("state %d: a wrong tree: %v", i, err)
			}
		}
	}
}
