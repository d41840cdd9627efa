package tree

// NodesBuilt returns the number of tree nodes constructed by the operation
// that returned t (the allocation test's counter).
func (t Tree) NodesBuilt() int { return t.built }

// FreshNodes counts the nodes of t that old does not share: a walk of t
// that stops at every subtree old holds at the same position.
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

// IndexSize returns the number of (key, holder) pairs in t's key index.
func IndexSize(t Tree) int { return t.keys.size }
