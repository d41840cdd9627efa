package treemath

import (
	"slices"
	"testing"
)

// naiveParent finds x's parent by walking down from the root of a tree with
// n leaves: a slow but obviously correct reference for the bit tricks.
func naiveParent(x NodeIndex, n LeafCount) (NodeIndex, bool) {
	r := Root(n)
	if x == r {
		return 0, false
	}
	cur := r
	for {
		l, rt := Left(cur), Right(cur)
		if x == l || x == rt {
			return cur, true
		}
		if x < cur {
			cur = l
		} else {
			cur = rt
		}
	}
}

func TestTreeSmall(t *testing.T) {
	tests := []struct {
		name   string
		n      LeafCount
		root   NodeIndex
		width  uint32
		dpath0 []NodeIndex
	}{
		{"one leaf", 1, 0, 1, nil},
		{"two leaves", 2, 1, 3, []NodeIndex{1}},
		{"three leaves", 3, 3, 5, []NodeIndex{1, 3}},
		{"eight leaves", 8, 7, 15, []NodeIndex{1, 3, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Root(tt.n); got != tt.root {
				t.Errorf("Root(%d) = %d, want %d", tt.n, got, tt.root)
			}
			if got := NodeWidth(tt.n); got != tt.width {
				t.Errorf("NodeWidth(%d) = %d, want %d", tt.n, got, tt.width)
			}
			if got := DirectPath(0, tt.n); !slices.Equal(got, tt.dpath0) {
				t.Errorf("DirectPath(0, %d) = %v, want %v", tt.n, got, tt.dpath0)
			}
		})
	}
}

func TestParentMatchesNaive(t *testing.T) {
	for n := LeafCount(1); n <= 1024; n *= 2 {
		for x := NodeIndex(0); uint32(x) < NodeWidth(n); x++ {
			want, ok := naiveParent(x, n)
			if !ok {
				if len(DirectPath(x, n)) != 0 {
					t.Fatalf("n=%d: root %d has a non-empty direct path", n, x)
				}
				continue
			}
			if got := Parent(x); got != want {
				t.Fatalf("n=%d: Parent(%d) = %d, want %d", n, x, got, want)
			}
			if s, w := Sibling(x), Left(want)+Right(want)-x; s != w {
				t.Fatalf("n=%d: Sibling(%d) = %d, want %d", n, x, s, w)
			}
			dp, cp := DirectPath(x, n), Copath(x, n)
			if len(dp) != len(cp) || dp[0] != want {
				t.Fatalf("n=%d x=%d: direct path %v copath %v", n, x, dp, cp)
			}
		}
	}
}

func TestLargeTreeNoOverflow(t *testing.T) {
	n := MaxLeaves
	r := Root(n)
	if r != NodeIndex(1<<31-1) {
		t.Fatalf("Root(2^31) = %d", r)
	}
	last := LeafIndex(n - 1).Node()
	if last != NodeIndex(1<<32-2) {
		t.Fatalf("last leaf node = %d", last)
	}
	dp := DirectPath(last, n)
	if len(dp) != 31 || dp[len(dp)-1] != r {
		t.Fatalf("direct path of last leaf: len %d, top %d", len(dp), dp[len(dp)-1])
	}
	if got := CommonAncestor(0, last); got != r {
		t.Fatalf("CommonAncestor(0, last) = %d, want root %d", got, r)
	}
}

func TestCommonAncestor(t *testing.T) {
	for n := LeafCount(1); n <= 33; n++ {
		for a := LeafIndex(0); a < LeafIndex(n); a++ {
			for b := LeafIndex(0); b < LeafIndex(n); b++ {
				ca := CommonAncestor(a.Node(), b.Node())
				if !IsAncestor(ca, a.Node()) || !IsAncestor(ca, b.Node()) {
					t.Fatalf("CommonAncestor(%d,%d)=%d is not an ancestor of both", a, b, ca)
				}
				if a != b && (IsAncestor(Left(ca), a.Node()) == IsAncestor(Left(ca), b.Node())) {
					t.Fatalf("CommonAncestor(%d,%d)=%d is not the lowest", a, b, ca)
				}
			}
		}
	}
}
