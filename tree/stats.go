package tree

// FreshNodes returns the number of nodes of t that old does not share with
// it: a walk of t that stops at every subtree old holds at the same
// position, so it costs O(result). It returns -1 when the two trees have
// different widths (an Add that extended the tree, or a truncation).
//
// It measures the structural sharing of the persistent tree: after a
// commit in a group of N members it is at most log₂N+1 per changed leaf
// (docs/design.md, "a commit allocates O(log N) nodes"), which
// TestCommitAllocatesLogNodes (package transitions) asserts.
func FreshNodes(old, t Tree) int {
	if old.leaves != t.leaves {
		return -1
	}
	var count func(a, b *node) int
	count = func(a, b *node) int {
		if a == b || b == nil {
			return 0
		}
		n := 1
		if b.left != nil {
			var al, ar *node
			if a != nil {
				al, ar = a.left, a.right
			}
			n += count(al, b.left) + count(ar, b.right)
		}
		return n
	}
	return count(old.root, t.root)
}
