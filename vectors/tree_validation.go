package vectors

import (
	"bytes"
	"slices"

	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

type treeValidationCase struct {
	CipherSuite uint16     `json:"cipher_suite"`
	Tree        HexBytes   `json:"tree"`
	GroupID     HexBytes   `json:"group_id"`
	Resolutions [][]uint32 `json:"resolutions"`
	TreeHashes  []HexBytes `json:"tree_hashes"`
}

// runTreeValidation checks resolutions, per-node tree hashes, parent
// hashes and leaf signatures against tree-validation.json.
func runTreeValidation(data []byte, r *Result) {
	cases, ok := decodeCases[treeValidationCase](data, r)
	if !ok {
		return
	}
	for i, c := range cases {
		if err := checkTreeValidation(c); err != "" {
			r.Fail("case %d (suite %d): %s", i, c.CipherSuite, err)
			continue
		}
		r.Pass()
	}
}

func checkTreeValidation(c treeValidationCase) string {
	s, err := suite.Lookup(suite.ID(c.CipherSuite))
	if err != nil {
		return sprintf("suite: %v", err)
	}
	t, err := tree.Decode(s, c.Tree, treemath.MaxLeaves)
	if err != nil {
		return sprintf("tree: %v", err)
	}
	width := treemath.NodeWidth(t.LeafCount())
	if uint32(len(c.Resolutions)) != width || uint32(len(c.TreeHashes)) != width {
		return sprintf("%d resolutions and %d tree hashes for %d nodes", len(c.Resolutions), len(c.TreeHashes), width)
	}
	for x := range width {
		got := t.Resolution(treemath.NodeIndex(x))
		want := make([]treemath.NodeIndex, len(c.Resolutions[x]))
		for j, y := range c.Resolutions[x] {
			want[j] = treemath.NodeIndex(y)
		}
		if !slices.Equal(got, want) {
			return sprintf("resolutions[%d]: got %v, want %v", x, got, want)
		}
		h, _ := t.NodeHash(treemath.NodeIndex(x))
		if !bytes.Equal(h, c.TreeHashes[x]) {
			return sprintf("tree_hashes[%d]: got %x, want %x", x, h, []byte(c.TreeHashes[x]))
		}
	}
	if err := t.Validate(c.GroupID, c.TreeHashes[treemath.Root(t.LeafCount())]); err != nil {
		return sprintf("validate: %v", err)
	}
	return ""
}
