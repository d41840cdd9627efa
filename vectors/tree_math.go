package vectors

import "github.com/mlscore/mlscore/treemath"

type treeMathCase struct {
	NLeaves uint32    `json:"n_leaves"`
	NNodes  uint32    `json:"n_nodes"`
	Root    uint32    `json:"root"`
	Left    []*uint32 `json:"left"`
	Right   []*uint32 `json:"right"`
	Parent  []*uint32 `json:"parent"`
	Sibling []*uint32 `json:"sibling"`
}

// runTreeMath checks treemath against tree-math.json.
func runTreeMath(data []byte, r *Result) {
	cases, ok := decodeCases[treeMathCase](data, r)
	if !ok {
		return
	}
	for i, c := range cases {
		if err := checkTreeMath(c); err != "" {
			r.Fail("case %d (n_leaves=%d): %s", i, c.NLeaves, err)
			continue
		}
		r.Pass()
	}
}

func checkTreeMath(c treeMathCase) string {
	n := treemath.LeafCount(c.NLeaves)
	if got := treemath.NodeWidth(n); got != c.NNodes {
		return sprintf("n_nodes: got %d, want %d", got, c.NNodes)
	}
	root := treemath.Root(n)
	if uint32(root) != c.Root {
		return sprintf("root: got %d, want %d", root, c.Root)
	}
	for _, f := range []struct {
		name string
		want []*uint32
		fn   func(treemath.NodeIndex) (treemath.NodeIndex, bool)
	}{
		{"left", c.Left, func(x treemath.NodeIndex) (treemath.NodeIndex, bool) {
			return treemath.Left(x), !x.IsLeaf()
		}},
		{"right", c.Right, func(x treemath.NodeIndex) (treemath.NodeIndex, bool) {
			return treemath.Right(x), !x.IsLeaf()
		}},
		{"parent", c.Parent, func(x treemath.NodeIndex) (treemath.NodeIndex, bool) {
			return treemath.Parent(x), x != root
		}},
		{"sibling", c.Sibling, func(x treemath.NodeIndex) (treemath.NodeIndex, bool) {
			return treemath.Sibling(x), x != root
		}},
	} {
		if uint32(len(f.want)) != c.NNodes {
			return sprintf("%s: %d entries for %d nodes", f.name, len(f.want), c.NNodes)
		}
		for x, w := range f.want {
			got, ok := f.fn(treemath.NodeIndex(x))
			switch {
			case w == nil && ok:
				return sprintf("%s[%d]: got %d, want null", f.name, x, got)
			case w != nil && !ok:
				return sprintf("%s[%d]: got null, want %d", f.name, x, *w)
			case w != nil && uint32(got) != *w:
				return sprintf("%s[%d]: got %d, want %d", f.name, x, got, *w)
			}
		}
	}
	return ""
}
