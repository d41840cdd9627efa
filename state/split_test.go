package state_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// treesByHash returns a getTree function that serves trees by hash.
func treesByHash(trees map[string]tree.Tree) func(*suite.Suite, treemath.LeafCount, []byte) (tree.Tree, error) {
	return func(cs *suite.Suite, n treemath.LeafCount, h []byte) (tree.Tree, error) {
		tr, ok := trees[string(h)]
		if !ok {
			return tree.Tree{}, fmt.Errorf("no tree %x", h)
		}
		return tr, nil
	}
}

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
		get := treesByHash(trees)
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

// TestSplitSecrets checks that every state of the history round-trips
// through AppendSplitSecrets and DecodeSplitSecrets, with the trees handed
// back by hash and the secret trees' entries by epoch, to the same Encode
// bytes and digest; that the encoding holds no secret tree entry (they
// are the caller's); that consecutive states hand over each epoch's tree
// at most once; and that a missing or damaged entry is refused.
func TestSplitSecrets(t *testing.T) {
	for i, s := range soloHistory(t, false) {
		trees := map[string]tree.Tree{}
		entries := map[uint64][]keysched.SecretEntry{}
		split, err := state.AppendSplitSecrets(nil, s, func(tr tree.Tree) { trees[string(tr.Hash())] = tr },
			func(epoch uint64, st keysched.SecretTree) {
				if _, dup := entries[epoch]; dup {
					t.Fatalf("state %d: epoch %d's secret tree handed over twice", i, epoch)
				}
				entries[epoch] = []keysched.SecretEntry{}
				for x := range st.Entries() {
					v, _ := st.AppendEntry(nil, x)
					entries[epoch] = append(entries[epoch], keysched.SecretEntry{Index: x, Value: v})
				}
			})
		if err != nil {
			t.Fatalf("state %d: AppendSplitSecrets: %v", i, err)
		}
		getTree := treesByHash(trees)
		getSecrets := func(es map[uint64][]keysched.SecretEntry) func(uint64) ([]keysched.SecretEntry, error) {
			return func(epoch uint64) ([]keysched.SecretEntry, error) {
				e, ok := es[epoch]
				if !ok {
					return nil, fmt.Errorf("no secret tree for epoch %d", epoch)
				}
				return e, nil
			}
		}
		got, err := state.DecodeSplitSecrets(split, codec.Bounds{}, getTree, getSecrets(entries))
		if err != nil {
			t.Fatalf("state %d: DecodeSplitSecrets: %v", i, err)
		}
		want, err1 := state.Encode(s)
		again, err2 := state.Encode(got)
		if err1 != nil || err2 != nil || !bytes.Equal(want, again) || got.Digest() != s.Digest() {
			t.Fatalf("state %d: the round trip changed the state", i)
		}
		if _, err := state.DecodeSplit(split, getTree); err == nil {
			t.Fatalf("state %d: DecodeSplit read an AppendSplitSecrets encoding", i)
		}
		_, pending := s.PendingCommit()
		_, staged := s.StagedCommit()
		nested := pending || staged
		for epoch, es := range entries {
			for _, e := range es {
				// A sender's ratchets (a fresh tree's root secret is the
				// epoch's encryption secret, which the epoch secrets hold;
				// a pending or staged commit's next state holds this
				// epoch's tree inline as its past epoch).
				if e.Value[0] == 1 && !nested && bytes.Contains(split, e.Value[1:]) {
					t.Fatalf("state %d: the encoding holds entry %d of epoch %d", i, e.Index, epoch)
				}
			}
			missing := maps.Clone(entries)
			delete(missing, epoch)
			if _, err := state.DecodeSplitSecrets(split, codec.Bounds{}, getTree, getSecrets(missing)); !errors.Is(err, state.ErrEncoding) {
				t.Fatalf("state %d: epoch %d's secret tree missing: %v", i, epoch, err)
			}
			if len(es) > 0 {
				damaged := maps.Clone(entries)
				damaged[epoch] = es[1:]
				if _, err := state.DecodeSplitSecrets(split, codec.Bounds{}, getTree, getSecrets(damaged)); !errors.Is(err, state.ErrEncoding) {
					t.Fatalf("state %d: an entry of epoch %d missing: %v", i, epoch, err)
				}
			}
		}
	}
}

// TestSameButSecrets checks SameButSecrets on the history: a state and
// its successor that it reports the same but for the current secret
// tree encode to the same AppendSplitSecrets bytes, and the history's
// messages (WithSecrets) give such pairs while its commits do not.
func TestSameButSecrets(t *testing.T) {
	hist := soloHistory(t, false)
	split := func(s state.GroupState) []byte {
		out, err := state.AppendSplitSecrets(nil, s, func(tree.Tree) {}, func(uint64, keysched.SecretTree) {})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	same, differ := 0, 0
	for i := 1; i < len(hist); i++ {
		prev, next := hist[i-1], hist[i]
		if !state.SameButSecrets(next, next) && next.InGroup() {
			t.Fatalf("state %d: not the same as itself", i)
		}
		if !state.SameButSecrets(prev, next) {
			differ++
			continue
		}
		same++
		if !bytes.Equal(split(prev), split(next)) {
			t.Fatalf("states %d and %d: the same but for the secret tree, yet their rest encodes differently", i-1, i)
		}
		if prev.Epoch() != next.Epoch() || prev.Secrets().Leaves() != next.Secrets().Leaves() {
			t.Fatalf("states %d and %d: reported the same across an epoch", i-1, i)
		}
	}
	if same == 0 || differ == 0 {
		t.Fatalf("%d pairs the same but for the secret tree, %d not: the history checks nothing", same, differ)
	}
	if state.SameButSecrets(state.GroupState{}, state.GroupState{}) {
		t.Fatal("two states in no group reported the same")
	}
}
