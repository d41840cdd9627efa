package tree_test

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/testrun"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// blankTree encodes a ratchet tree of the given node count (odd): blank
// nodes, one byte each, then leaf as the last node.
func blankTree(tb tester, leaf *codec.LeafNode, nodes int) []byte {
	tb.Helper()
	last, err := codec.Node{NodeType: codec.NodeTypeLeaf, Leaf: leaf}.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	body := make([]byte, nodes-1, nodes+len(last))
	body = append(append(body, 1), last...)
	var b cryptobyte.Builder
	codec.AddOpaque(&b, body)
	enc := b.BytesOrPanic()
	if small := 1 << 12; nodes <= small {
		// The hand-made encoding is the codec's.
		rt := make(codec.RatchetTree, nodes)
		rt[nodes-1] = &codec.Node{NodeType: codec.NodeTypeLeaf, Leaf: leaf}
		if want, err := rt.Encode(); err != nil || !bytes.Equal(enc, want) {
			tb.Fatalf("blank tree encoding differs from the codec's (%v)", err)
		}
	}
	return enc
}

// TestDecodeBoundedByMaxLeaves decodes trees of blank nodes at and above
// the leaf bound: at the bound the tree is built (cost per node bounded),
// above it decoding stops at the first node over the bound, with a
// *codec.LimitError naming MaxLeaves, whatever the input's length.
func TestDecodeBoundedByMaxLeaves(t *testing.T) {
	s := mustSuite(t, suite.X25519AES128GCMSHA256Ed25519)
	leaf := newMember(t, s, 1).keyPackageLeaf(t, s, 1)
	const max = treemath.LeafCount(1024)
	width := int(treemath.NodeWidth(max))

	// At the bound: every node is built, at most perNode bytes each
	// (the node, its hash input and the decoded node slice).
	const perNode = 200
	at := blankTree(t, leaf, width)
	var tr tree.Tree
	var err error
	n := testrun.Allocated(func() { tr, err = tree.Decode(s, at, max) })
	if err != nil || tr.LeafCount() != max {
		t.Fatalf("tree at the bound: %v (%d leaves)", err, tr.LeafCount())
	}
	t.Logf("at the bound: %d nodes, %d input bytes, %d bytes allocated (%.1f per node)", width, len(at), n, float64(n)/float64(width))
	if n > perNode*uint64(width)+uint64(2*len(at)) {
		t.Errorf("tree of %d nodes allocated %d bytes, want at most %d per node", width, n, perNode)
	}

	for _, c := range []struct {
		name      string
		maxLeaves treemath.LeafCount
		nodes     int
		wantGot   uint64
	}{
		{"one node over", max, width + 2, 2 * uint64(max)},
		{"1 MiB of blank nodes", max, 1<<20 - 1, 2 * uint64(max)},
		{"bound not a power of two", 1000, width, 1024},
		{"bound zero", 0, 1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := blankTree(t, leaf, c.nodes)
			var err error
			n := testrun.Allocated(func() { _, err = tree.Decode(s, in, c.maxLeaves) })
			var le *codec.LimitError
			if !errors.Is(err, tree.ErrTreeTooLarge) || !errors.As(err, &le) || le.Limit != "MaxLeaves" || le.Got != c.wantGot || le.Max != uint64(c.maxLeaves) {
				t.Fatalf("got %v, want a *codec.LimitError MaxLeaves %d > %d", err, c.wantGot, c.maxLeaves)
			}
			// Only the node slice is allocated, bounded by the limit's
			// node width: 8 bytes per node, plus the error, the leaf and slack
			// for the allocations of other goroutines of the test binary.
			bound := 8*min(uint64(len(in)), uint64(treemath.NodeWidth(c.maxLeaves))+1) + 64<<10
			t.Logf("%d input bytes, %d allocated: %v", len(in), n, err)
			if n > bound {
				t.Errorf("allocated %d bytes, want at most %d", n, bound)
			}
		})
	}
}
