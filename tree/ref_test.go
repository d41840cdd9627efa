package tree_test

import (
	"bytes"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// TestNodeRef walks every node of a tree with blanks from RootRef through
// Children and checks each against the index-based accessors: its index,
// its tree hash (NodeHash), its content (Leaf or Parent, marshalled) and
// blankness (IsBlank).
func TestNodeRef(t *testing.T) {
	if _, ok := (tree.Tree{}).RootRef(); ok {
		t.Fatal("the zero tree has a root")
	}
	for _, id := range []suite.ID{suite.X25519AES128GCMSHA256Ed25519, suite.P521AES256GCMSHA512P521} {
		t.Run(id.String(), func(t *testing.T) {
			g := newGroup(t, mustSuite(t, id))
			var added []treemath.LeafIndex
			for range 6 {
				added = append(added, g.add(t))
			}
			g.commit(t, 0, added...)
			g.remove(t, 2)
			g.commit(t, 4)
			root, ok := g.t.RootRef()
			if !ok || root.Index() != treemath.Root(g.t.LeafCount()) {
				t.Fatalf("root %v, %v", root.Index(), ok)
			}
			seen := map[treemath.NodeIndex]bool{}
			var walk func(r tree.NodeRef)
			walk = func(r tree.NodeRef) {
				x := r.Index()
				seen[x] = true
				want, _ := g.t.NodeHash(x)
				if got := r.AppendHash([]byte("prefix")); !bytes.Equal(got, append([]byte("prefix"), want...)) {
					t.Errorf("node %d: hash %x, want %x", x, got, want)
				}
				var b cryptobyte.Builder
				if ln, ok := g.t.Leaf(x.Leaf()); x.IsLeaf() && ok {
					ln.Marshal(&b)
				} else if p, ok := g.t.Parent(x); ok {
					p.Marshal(&b)
				}
				content := b.BytesOrPanic()
				got, blank := r.AppendContent([]byte{7})
				if blank != g.t.IsBlank(x) || !bytes.Equal(got, append([]byte{7}, content...)) {
					t.Errorf("node %d: content %x (blank %v), want %x (blank %v)", x, got, blank, content, g.t.IsBlank(x))
				}
				l, rr, ok := r.Children()
				if ok != !x.IsLeaf() {
					t.Fatalf("node %d: children %v", x, ok)
				}
				if ok {
					if l.Index() != treemath.Left(x) || rr.Index() != treemath.Right(x) {
						t.Fatalf("node %d: children %d, %d", x, l.Index(), rr.Index())
					}
					walk(l)
					walk(rr)
				}
			}
			walk(root)
			if uint64(len(seen)) != uint64(treemath.NodeWidth(g.t.LeafCount())) {
				t.Fatalf("walked %d nodes of %d", len(seen), treemath.NodeWidth(g.t.LeafCount()))
			}
			if !g.t.IsBlank(treemath.LeafIndex(2).Node()) {
				t.Fatal("the removed leaf is not blank: the walk checked no blank leaf")
			}
		})
	}
}
