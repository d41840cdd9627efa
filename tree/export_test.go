package tree

// NodesBuilt returns the number of tree nodes constructed by the operation
// that returned t (the allocation test's counter).
func (t Tree) NodesBuilt() int { return t.built }

// IndexSize returns the number of (key, holder) pairs in t's key index.
func IndexSize(t Tree) int { return t.keys.size }
