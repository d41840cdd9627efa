package tree

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"slices"
)

// keyIndex is a persistent map from a public key (signature or encryption)
// to the node indices holding it. It is a hash array mapped trie over a
// 64-bit hash (SHA-256) of the key, 32-way with bitmap-compressed nodes: an
// insert or a removal copies only the O(log N) nodes on one root-to-entry
// path, so two tree versions share every other part of their indices.
//
// The index stores hashes and holders only, not the keys: the tree holds
// the keys, and Tree.holders checks each candidate holder against its
// node's key, so keys whose hashes collide (which an attacker can arrange
// for 64 bits) are told apart there. Storing no key bytes keeps the index
// at one small trie node per key, a third of a member's state less.
//
// Several nodes may hold the same key (a tree received from the network can
// be invalid); the index keeps them all, so duplicates stay detectable and
// removing one holder leaves the others.
type keyIndex struct {
	root *hamt
	size int    // number of (key, holder) pairs
	tx   *ixTxn // the open batch, if any (see begin)
}

// ixTxn identifies one batch of index updates (a transient, as in
// Clojure's persistent collections). Trie nodes created during the batch
// carry it as their owner and are updated in place by the batch's later
// operations, so a path update that touches the same upper trie nodes for
// each of its 2(log₂N+1) keys copies each of them once instead of once per
// key. Nodes of other versions have another owner (or none) and are copied
// as usual, so no version reachable from outside the batch ever changes.
// A batch allocates a fresh ixTxn, which the nodes it owns keep alive: a
// later batch can never get the same address.
type ixTxn struct{ _ byte }

// begin opens a batch: the index returned, and those derived from it
// until end, share the batch's fresh nodes. Intermediate indices of a
// batch must not be kept.
func (ix keyIndex) begin() keyIndex {
	ix.tx = new(ixTxn)
	return ix
}

// end closes the batch: the index returned is immutable again.
func (ix keyIndex) end() keyIndex {
	ix.tx = nil
	return ix
}

// keyKind separates the key spaces: a signature key and an encryption key
// with the same bytes are different keys.
type keyKind byte

const (
	kindSignature  keyKind = 1
	kindEncryption keyKind = 2
)

const (
	hamtBits = 5
	hamtMask = 1<<hamtBits - 1
)

// hamt is a trie node: either an inner node (bitmap and children) or a
// bucket (holders non-nil): the holders, sorted, of every key with hash
// hash.
type hamt struct {
	bitmap   uint32
	hash     uint64
	children []*hamt
	holders  []uint32
	owner    *ixTxn // the batch that created the node; nil outside batches
}

// owned reports whether n was created by the open batch tx, so that the
// batch may change it in place (its children array is then fresh too).
func (n *hamt) owned(tx *ixTxn) bool { return tx != nil && n.owner == tx }

// keyHash is the index's hash of key in the key space kind: the first 8
// bytes of SHA-256(kind || key).
func keyHash(kind keyKind, key []byte) uint64 {
	var buf [160]byte // the longest public key (P-521, 133 bytes) fits
	b := append(buf[:0], byte(kind))
	d := sha256.Sum256(append(b, key...))
	return binary.BigEndian.Uint64(d[:8])
}

// lookup returns the candidate holders of key, sorted: the holders of
// every key with key's hash (nil if none), a superset of key's holders that
// Tree.holders narrows. The slice must not be modified.
func (ix keyIndex) lookup(kind keyKind, key []byte) []uint32 {
	return hamtLookup(ix.root, keyHash(kind, key))
}

func hamtLookup(n *hamt, h uint64) []uint32 {
	for shift := uint(0); n != nil; shift += hamtBits {
		if n.holders != nil {
			if n.hash != h {
				return nil
			}
			return n.holders
		}
		bit := uint32(1) << ((h >> shift) & hamtMask)
		if n.bitmap&bit == 0 {
			return nil
		}
		n = n.children[bits.OnesCount32(n.bitmap&(bit-1))]
	}
	return nil
}

// insert returns an index with holder added to key's holders.
func (ix keyIndex) insert(kind keyKind, key []byte, holder uint32) keyIndex {
	root, added := hamtInsert(ix.root, keyHash(kind, key), holder, 0, ix.tx)
	if !added {
		return ix // the pair was already present
	}
	return keyIndex{root: root, size: ix.size + 1, tx: ix.tx}
}

// remove returns an index with holder removed from key's holders. Removing
// an absent pair returns ix unchanged.
func (ix keyIndex) remove(kind keyKind, key []byte, holder uint32) keyIndex {
	root, ok := hamtRemove(ix.root, keyHash(kind, key), holder, 0, ix.tx)
	if !ok {
		return ix
	}
	return keyIndex{root: root, size: ix.size - 1, tx: ix.tx}
}

// hamtInsert returns the new subtree and whether the pair was added (false:
// it was already present, and n is returned). Nodes owned by the open
// batch tx are changed in place; others are copied.
func hamtInsert(n *hamt, h uint64, holder uint32, shift uint, tx *ixTxn) (*hamt, bool) {
	if n == nil {
		return &hamt{hash: h, holders: []uint32{holder}, owner: tx}, true
	}
	if n.holders != nil {
		if n.hash == h {
			j, found := slices.BinarySearch(n.holders, holder)
			if found {
				return n, false
			}
			return &hamt{hash: h, holders: slices.Insert(slices.Clip(n.holders), j, holder), owner: tx}, true
		}
		// Two different hashes meet: push the bucket down one level and
		// insert again into the new inner node.
		inner := &hamt{bitmap: uint32(1) << ((n.hash >> shift) & hamtMask), children: []*hamt{n}, owner: tx}
		return hamtInsert(inner, h, holder, shift, tx)
	}
	bit := uint32(1) << ((h >> shift) & hamtMask)
	pos := bits.OnesCount32(n.bitmap & (bit - 1))
	if n.bitmap&bit == 0 {
		ch := make([]*hamt, len(n.children)+1)
		copy(ch, n.children[:pos])
		ch[pos] = &hamt{hash: h, holders: []uint32{holder}, owner: tx}
		copy(ch[pos+1:], n.children[pos:])
		if n.owned(tx) {
			n.bitmap, n.children = n.bitmap|bit, ch
			return n, true
		}
		return &hamt{bitmap: n.bitmap | bit, children: ch, owner: tx}, true
	}
	c, added := hamtInsert(n.children[pos], h, holder, shift+hamtBits, tx)
	if !added {
		return n, false
	}
	if n.owned(tx) {
		n.children[pos] = c
		return n, true
	}
	ch := slices.Clone(n.children)
	ch[pos] = c
	return &hamt{bitmap: n.bitmap, children: ch, owner: tx}, true
}

// hamtRemove returns the new subtree (nil if empty) and whether the pair was
// present. Nodes owned by the open batch tx are changed in place; others are
// copied.
func hamtRemove(n *hamt, h uint64, holder uint32, shift uint, tx *ixTxn) (*hamt, bool) {
	if n == nil {
		return nil, false
	}
	if n.holders != nil {
		if n.hash != h {
			return n, false
		}
		j, found := slices.BinarySearch(n.holders, holder)
		if !found {
			return n, false
		}
		if len(n.holders) == 1 {
			return nil, true
		}
		return &hamt{hash: h, holders: slices.Delete(slices.Clone(n.holders), j, j+1), owner: tx}, true
	}
	bit := uint32(1) << ((h >> shift) & hamtMask)
	if n.bitmap&bit == 0 {
		return n, false
	}
	pos := bits.OnesCount32(n.bitmap & (bit - 1))
	c, ok := hamtRemove(n.children[pos], h, holder, shift+hamtBits, tx)
	if !ok {
		return n, false
	}
	if c == nil {
		if len(n.children) == 1 {
			return nil, true
		}
		ch := make([]*hamt, 0, len(n.children)-1)
		ch = append(ch, n.children[:pos]...)
		ch = append(ch, n.children[pos+1:]...)
		nn := &hamt{bitmap: n.bitmap &^ bit, children: ch, owner: tx}
		// Collapse an inner node left with a single bucket, so the trie
		// keeps its canonical shape.
		if len(ch) == 1 && ch[0].holders != nil {
			return ch[0], true
		}
		return nn, true
	}
	if len(n.children) == 1 && c.holders != nil {
		return c, true
	}
	if n.owned(tx) {
		n.children[pos] = c
		return n, true
	}
	ch := slices.Clone(n.children)
	ch[pos] = c
	return &hamt{bitmap: n.bitmap, children: ch, owner: tx}, true
}

// indexEntry is one (key hash, holder) pair for buildIndex.
type indexEntry struct {
	h      uint64
	holder uint32
}

func (ix *indexBuilder) add(kind keyKind, key []byte, holder uint32) {
	ix.entries = append(ix.entries, indexEntry{keyHash(kind, key), holder})
}

// indexBuilder collects pairs and builds the trie in one pass, without the
// garbage of n persistent inserts (used when decoding a whole tree).
type indexBuilder struct{ entries []indexEntry }

// digitOrder maps a hash to an integer whose order is the trie's
// traversal order: the level-0 digit (lowest 5 bits) most significant.
func digitOrder(h uint64) uint64 {
	var r uint64
	for shift := uint(0); shift < 60; shift += hamtBits {
		r = r<<hamtBits | (h>>shift)&hamtMask
	}
	return r<<4 | h>>60
}

// build returns the index of the collected pairs; duplicates of a pair
// count once. Pairs are sorted by trie position, then holder, so a
// bucket's holders come out sorted.
func (ix *indexBuilder) build() keyIndex {
	es := ix.entries
	slices.SortFunc(es, func(a, b indexEntry) int {
		if c := cmpUint64(digitOrder(a.h), digitOrder(b.h)); c != 0 {
			return c
		}
		return int(int64(a.holder) - int64(b.holder))
	})
	es = slices.Compact(es)
	return keyIndex{root: buildHamt(es, 0), size: len(es)}
}

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// buildHamt builds the subtree of the sorted pairs es at level shift: a
// bucket when they share one hash, else an inner node per distinct digit.
func buildHamt(es []indexEntry, shift uint) *hamt {
	if len(es) == 0 {
		return nil
	}
	if es[0].h == es[len(es)-1].h {
		n := &hamt{hash: es[0].h, holders: make([]uint32, len(es))}
		for i, e := range es {
			n.holders[i] = e.holder
		}
		return n
	}
	n := &hamt{}
	for len(es) > 0 {
		d := (es[0].h >> shift) & hamtMask
		j := 1
		for j < len(es) && (es[j].h>>shift)&hamtMask == d {
			j++
		}
		n.bitmap |= 1 << d
		n.children = append(n.children, buildHamt(es[:j], shift+hamtBits))
		es = es[j:]
	}
	n.children = slices.Clip(n.children)
	return n
}
