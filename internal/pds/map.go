// Package pds holds the persistent (immutable, structurally shared) data
// structures that mlscore's state values are built from.
//
// A persistent structure is never modified after construction: an update
// returns a new value that shares every untouched part with the old one, so
// the old value stays valid and costs nothing extra to keep. This is what lets
// a GroupState be copied in O(1) and updated in O(log N) (see docs/design.md,
// "Immutable and cheap").
//
// Iteration is always in key order, never in Go map order, so that anything
// derived from a structure (encodings, digests, effects) is deterministic.
package pds

import (
	"iter"
	"math/bits"
)

// Map is a persistent map from uint32 keys to values of type V.
//
// It is a bitmap-compressed 32-way trie over the key's bits, most significant
// first, so an in-order walk visits keys in increasing order. The root covers
// only as many bits as the largest key needs, so a map whose keys are below
// 2^(5k) has depth k: a map of 65536 leaf indices has depth 4. An update
// copies the nodes on one root-to-leaf path (at most 7) and shares the rest.
//
// The zero Map is empty and ready to use. Map is a value: copy it freely.
// Values are stored as given; if V holds pointers or slices, the caller must
// treat what it stores and gets back as immutable.
type Map[V any] struct {
	root  *node[V]
	shift uint8 // bits below the root's digit: the root covers keys < 1<<(shift+bitsPerLevel)
	n     int
}

const (
	bitsPerLevel = 5
	fanout       = 1 << bitsPerLevel
	digitMask    = fanout - 1
	maxShift     = 30 // the top digit holds key bits 31..30
)

// node is one trie node. At shift 0 it holds values, above it holds
// children; in both cases bitmap says which of the 32 digits are present and
// the slice is packed in digit order.
type node[V any] struct {
	bitmap   uint32
	children []*node[V]
	values   []V
}

// digit returns the 5-bit digit of key at shift.
func digit(key uint32, shift uint8) uint32 { return (key >> shift) & digitMask }

// slot returns the packed position of digit d in bitmap bm and whether it is present.
func slot(bm uint32, d uint32) (int, bool) {
	bit := uint32(1) << d
	return bits.OnesCount32(bm & (bit - 1)), bm&bit != 0
}

// covers reports whether a root at shift can hold key.
func covers(shift uint8, key uint32) bool {
	if shift >= maxShift {
		return true
	}
	return key>>(shift+bitsPerLevel) == 0
}

// Len returns the number of entries.
func (m Map[V]) Len() int { return m.n }

// Get returns the value stored under key and whether there is one.
func (m Map[V]) Get(key uint32) (V, bool) {
	var zero V
	if m.root == nil || !covers(m.shift, key) {
		return zero, false
	}
	n := m.root
	for shift := m.shift; ; shift -= bitsPerLevel {
		i, ok := slot(n.bitmap, digit(key, shift))
		if !ok {
			return zero, false
		}
		if shift == 0 {
			return n.values[i], true
		}
		n = n.children[i]
	}
}

// Has reports whether key is present.
func (m Map[V]) Has(key uint32) bool {
	_, ok := m.Get(key)
	return ok
}

// Set returns a map in which key maps to v. m is unchanged.
func (m Map[V]) Set(key uint32, v V) Map[V] {
	root, shift := m.root, m.shift
	if root == nil {
		shift = 0
		for !covers(shift, key) {
			shift += bitsPerLevel
		}
	}
	// Grow the root until it covers key: the old root becomes child 0 of a
	// new root one level up (all its keys have a zero digit there).
	for !covers(shift, key) {
		shift += bitsPerLevel
		root = &node[V]{bitmap: 1, children: []*node[V]{root}}
	}
	newRoot, added := set(root, shift, key, v)
	n := m.n
	if added {
		n++
	}
	return Map[V]{root: newRoot, shift: shift, n: n}
}

// set returns a copy of n (which may be nil) with key set to v, and whether
// key was new.
func set[V any](n *node[V], shift uint8, key uint32, v V) (*node[V], bool) {
	d := digit(key, shift)
	var bm uint32
	if n != nil {
		bm = n.bitmap
	}
	i, present := slot(bm, d)
	out := &node[V]{bitmap: bm | 1<<d}
	if shift == 0 {
		var old []V
		if n != nil {
			old = n.values
		}
		if present {
			out.values = make([]V, len(old))
			copy(out.values, old)
			out.values[i] = v
			return out, false
		}
		out.values = make([]V, len(old)+1)
		copy(out.values, old[:i])
		out.values[i] = v
		copy(out.values[i+1:], old[i:])
		return out, true
	}
	var old []*node[V]
	if n != nil {
		old = n.children
	}
	var child *node[V]
	if present {
		child = old[i]
	}
	c, added := set(child, shift-bitsPerLevel, key, v)
	if present {
		out.children = make([]*node[V], len(old))
		copy(out.children, old)
		out.children[i] = c
		return out, added
	}
	out.children = make([]*node[V], len(old)+1)
	copy(out.children, old[:i])
	out.children[i] = c
	copy(out.children[i+1:], old[i:])
	return out, added
}

// Delete returns a map without key. m is unchanged. If key is absent, it
// returns m itself (sharing everything).
func (m Map[V]) Delete(key uint32) Map[V] {
	if m.root == nil || !covers(m.shift, key) {
		return m
	}
	root, removed := del(m.root, m.shift, key)
	if !removed {
		return m
	}
	if m.n == 1 {
		return Map[V]{}
	}
	shift := m.shift
	// Shrink the root while only its digit-0 child remains, so a map's
	// shape depends on its contents, not on its history.
	for shift > 0 && root.bitmap == 1 {
		root = root.children[0]
		shift -= bitsPerLevel
	}
	return Map[V]{root: root, shift: shift, n: m.n - 1}
}

// del returns a copy of n without key (nil if it becomes empty), and whether
// key was present.
func del[V any](n *node[V], shift uint8, key uint32) (*node[V], bool) {
	d := digit(key, shift)
	i, present := slot(n.bitmap, d)
	if !present {
		return n, false
	}
	bm := n.bitmap &^ (1 << d)
	if shift == 0 {
		if bm == 0 {
			return nil, true
		}
		out := &node[V]{bitmap: bm, values: make([]V, len(n.values)-1)}
		copy(out.values, n.values[:i])
		copy(out.values[i:], n.values[i+1:])
		return out, true
	}
	c, removed := del(n.children[i], shift-bitsPerLevel, key)
	if !removed {
		return n, false
	}
	if c != nil {
		out := &node[V]{bitmap: n.bitmap, children: make([]*node[V], len(n.children))}
		copy(out.children, n.children)
		out.children[i] = c
		return out, true
	}
	if bm == 0 {
		return nil, true
	}
	out := &node[V]{bitmap: bm, children: make([]*node[V], len(n.children)-1)}
	copy(out.children, n.children[:i])
	copy(out.children[i:], n.children[i+1:])
	return out, true
}

// All returns an iterator over the entries in increasing key order.
func (m Map[V]) All() iter.Seq2[uint32, V] {
	return func(yield func(uint32, V) bool) {
		if m.root != nil {
			walk(m.root, m.shift, 0, yield)
		}
	}
}

// walk visits n's entries in key order; prefix holds the key bits above
// n's digit. It returns false if yield asked to stop.
func walk[V any](n *node[V], shift uint8, prefix uint32, yield func(uint32, V) bool) bool {
	bm := n.bitmap
	for i := 0; bm != 0; i++ {
		d := uint32(bits.TrailingZeros32(bm))
		bm &= bm - 1
		key := prefix | d<<shift
		if shift == 0 {
			if !yield(key, n.values[i]) {
				return false
			}
			continue
		}
		if !walk(n.children[i], shift-bitsPerLevel, key, yield) {
			return false
		}
	}
	return true
}

// Keys returns an iterator over the keys in increasing order.
func (m Map[V]) Keys() iter.Seq[uint32] {
	return func(yield func(uint32) bool) {
		for k := range m.All() {
			if !yield(k) {
				return
			}
		}
	}
}

// Min returns the smallest key and its value, and false if m is empty.
func (m Map[V]) Min() (uint32, V, bool) {
	for k, v := range m.All() {
		return k, v, true
	}
	var zero V
	return 0, zero, false
}

// Diff calls yield, in increasing order, with every key whose entry
// differs between a and b: present in only one of them, or present in
// both with values that same reports different. Subtrees that a and b
// share (an update copies only one root-to-leaf path) are skipped without
// being visited, so comparing a map with one derived from it by k updates
// costs O(k) node visits, not O(Len). It stops when yield returns false.
func Diff[V any](a, b Map[V], same func(x, y V) bool, yield func(key uint32) bool) {
	diffUneven(a.root, a.shift, b.root, b.shift, same, yield)
}

// diffUneven is Diff of the maps rooted at na (at shift sa) and nb (at
// shift sb). A root that covers fewer key bits compares with child 0 of
// the wider one, whose other children hold only keys the narrower map
// lacks, all larger. It returns false if yield asked to stop.
func diffUneven[V any](na *node[V], sa uint8, nb *node[V], sb uint8, same func(x, y V) bool, yield func(uint32) bool) bool {
	switch {
	case na == nil:
		return diffNodes(nil, nb, sb, 0, same, yield)
	case nb == nil || sa == sb:
		return diffNodes(na, nb, sa, 0, same, yield)
	case sa > sb:
		return diffUneven(firstChild(na), sa-bitsPerLevel, nb, sb, same, yield) &&
			walkBeyondFirst(na, sa, yield)
	default:
		return diffUneven(na, sa, firstChild(nb), sb-bitsPerLevel, same, yield) &&
			walkBeyondFirst(nb, sb, yield)
	}
}

// firstChild returns the child of n for digit 0, nil if absent.
func firstChild[V any](n *node[V]) *node[V] {
	if n.bitmap&1 == 0 {
		return nil
	}
	return n.children[0]
}

// walkBeyondFirst reports the keys below the children of root (at the
// given shift, above 0, with key prefix 0) other than child 0. It returns
// false if yield asked to stop.
func walkBeyondFirst[V any](root *node[V], shift uint8, yield func(uint32) bool) bool {
	bm := root.bitmap
	for i := 0; bm != 0; i++ {
		d := uint32(bits.TrailingZeros32(bm))
		bm &= bm - 1
		if d == 0 {
			continue
		}
		if !walk(root.children[i], shift-bitsPerLevel, d<<shift, func(k uint32, _ V) bool { return yield(k) }) {
			return false
		}
	}
	return true
}

// diffNodes reports the keys whose entries differ below na and nb, two
// nodes (either may be nil) at the same shift with key prefix prefix.
func diffNodes[V any](na, nb *node[V], shift uint8, prefix uint32, same func(x, y V) bool, yield func(uint32) bool) bool {
	keysOf := func(n *node[V]) bool {
		return walk(n, shift, prefix, func(k uint32, _ V) bool { return yield(k) })
	}
	switch {
	case na == nb:
		return true
	case na == nil:
		return keysOf(nb)
	case nb == nil:
		return keysOf(na)
	}
	var ia, ib int
	for bm := na.bitmap | nb.bitmap; bm != 0; bm &= bm - 1 {
		d := uint32(bits.TrailingZeros32(bm))
		inA, inB := na.bitmap&(1<<d) != 0, nb.bitmap&(1<<d) != 0
		key := prefix | d<<shift
		if shift == 0 {
			if !inA || !inB || !same(na.values[ia], nb.values[ib]) {
				if !yield(key) {
					return false
				}
			}
		} else {
			var ca, cb *node[V]
			if inA {
				ca = na.children[ia]
			}
			if inB {
				cb = nb.children[ib]
			}
			if !diffNodes(ca, cb, shift-bitsPerLevel, key, same, yield) {
				return false
			}
		}
		if inA {
			ia++
		}
		if inB {
			ib++
		}
	}
	return true
}
