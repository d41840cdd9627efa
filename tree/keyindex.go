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
//
// collided records whether an insert of the batch met its key's hash
// already held (by another node, or the pair already present): if none
// did, every key the batch inserted has exactly one holder when the batch
// ends (of two holders of one key, the later inserted met the other), and
// the caller may skip checking them one by one (see Tree.mergePath).
type ixTxn struct{ collided bool }

// collide notes an insert that met its hash already held.
func (tx *ixTxn) collide() {
	if tx != nil {
		tx.collided = true
	}
}

// collided reports whether an insert of the open batch met its key's hash
// already held (see ixTxn), or the batch kept a key in place
// (reindexParent); outside a batch it is false.
func (ix keyIndex) collided() bool { return ix.tx != nil && ix.tx.collided }

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

// hamt is a trie node in the compressed layout of CHAMP (Steindorfer and
// Vinju, 2015): an inner node keeps the entries that end at it inline, in
// one packed array, so that a key costs 12 bytes of an array instead of a
// trie node of its own. An inner node at depth shift covers the pairs
// whose hashes agree on the digits above it; for each digit d (the 5 bits
// of the hash at shift) it holds
//
//   - nothing, when no pair has digit d;
//   - an inline entry (bit d of dataMap), when exactly one pair has it;
//   - a bucket (bit d of nodeMap), when two or more pairs have it and they
//     all share one hash (one key held by several nodes);
//   - an inner node one level down (bit d of nodeMap), otherwise.
//
// A bucket has both maps zero and its pairs, sorted by holder, in ents.
// The root is an inner node (nil when the index is empty). This shape is
// canonical: the same pairs give the same trie, whatever the order of
// insertions and removals.
type hamt struct {
	dataMap, nodeMap uint32
	ents             []uint32 // entries in digit order (a bucket: by holder), entStride words each
	nodes            []*hamt  // children in digit order
	owner            *ixTxn   // the batch that created the node; nil outside batches
}

// entStride is the number of uint32 words of one packed entry: the hash's
// high and low halves, then the holder. One array of 12-byte entries is
// one allocation per change, where a hash array and a holder array were
// two.
const entStride = 3

// entCount returns the number of entries of n.
func (n *hamt) entCount() int { return len(n.ents) / entStride }

// hashAt returns the hash of entry i.
func (n *hamt) hashAt(i int) uint64 {
	return uint64(n.ents[entStride*i])<<32 | uint64(n.ents[entStride*i+1])
}

// holderAt returns the holder of entry i.
func (n *hamt) holderAt(i int) uint32 { return n.ents[entStride*i+2] }

// holderSlice returns the holder of entry i as a one-element slice of
// ents (capacity clipped), which lookup hands out without allocating.
func (n *hamt) holderSlice(i int) []uint32 {
	j := entStride*i + 2
	return n.ents[j : j+1 : j+1]
}

// appendEnt appends the entry (h, holder) to ents.
func appendEnt(ents []uint32, h uint64, holder uint32) []uint32 {
	return append(ents, uint32(h>>32), uint32(h), holder)
}

// owned reports whether n was created by the open batch tx, so that the
// batch may change it in place (its nodes array is then its own too).
func (n *hamt) owned(tx *ixTxn) bool { return tx != nil && n.owner == tx }

func (n *hamt) bucket() bool { return n.dataMap|n.nodeMap == 0 }

// digit returns the trie digit of h at depth shift, as a bitmap bit.
func digit(h uint64, shift uint) uint32 { return uint32(1) << ((h >> shift) & hamtMask) }

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
		if n.bucket() {
			if n.hashAt(0) != h {
				return nil
			}
			out := make([]uint32, n.entCount())
			for i := range out {
				out[i] = n.holderAt(i)
			}
			return out
		}
		bit := digit(h, shift)
		switch {
		case n.dataMap&bit != 0:
			i := bits.OnesCount32(n.dataMap & (bit - 1))
			if n.hashAt(i) != h {
				return nil
			}
			return n.holderSlice(i)
		case n.nodeMap&bit != 0:
			n = n.nodes[bits.OnesCount32(n.nodeMap&(bit-1))]
		default:
			return nil
		}
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

// own returns n itself if the batch tx owns it, else a copy owned by tx.
// The copy shares the entry array, which is never written in place (an
// entry is added or removed by allocating a new one: insertEnt,
// deleteEnt), and has a nodes array of its own, which an owned node may
// write in place.
func (n *hamt) own(tx *ixTxn) *hamt {
	if n.owned(tx) {
		return n
	}
	return &hamt{dataMap: n.dataMap, nodeMap: n.nodeMap, ents: n.ents, nodes: slices.Clone(n.nodes), owner: tx}
}

// setChild returns n (or its copy) with the child at bit set to c, which
// replaces an inline entry, another child, or nothing.
func (n *hamt) setChild(bit uint32, c *hamt, tx *ixTxn) *hamt {
	m := n.own(tx)
	if m.dataMap&bit != 0 {
		m.ents = deleteEnt(m.ents, bits.OnesCount32(m.dataMap&(bit-1)))
		m.dataMap &^= bit
	}
	j := bits.OnesCount32(m.nodeMap & (bit - 1))
	if m.nodeMap&bit != 0 {
		m.nodes[j] = c
	} else {
		m.nodes = insertAt(m.nodes, j, c)
		m.nodeMap |= bit
	}
	return m
}

// setEntry returns n (or its copy) with the inline entry (h, holder) at
// bit, which replaces a child or nothing.
func (n *hamt) setEntry(bit uint32, h uint64, holder uint32, tx *ixTxn) *hamt {
	m := n.own(tx)
	if m.nodeMap&bit != 0 {
		m.nodes = deleteAt(m.nodes, bits.OnesCount32(m.nodeMap&(bit-1)))
		m.nodeMap &^= bit
	}
	m.ents = insertEnt(m.ents, bits.OnesCount32(m.dataMap&(bit-1)), h, holder)
	m.dataMap |= bit
	return m
}

// insertAt returns a new, exactly sized slice: s with v inserted at i.
func insertAt[T any](s []T, i int, v T) []T {
	out := make([]T, len(s)+1)
	copy(out, s[:i])
	out[i] = v
	copy(out[i+1:], s[i:])
	return out
}

// deleteAt returns a new, exactly sized slice: s without element i (nil if
// none is left).
func deleteAt[T any](s []T, i int) []T {
	if len(s) == 1 {
		return nil
	}
	out := make([]T, len(s)-1)
	copy(out, s[:i])
	copy(out[i:], s[i+1:])
	return out
}

// insertEnt returns a new, exactly sized entry array: ents with the entry
// (h, holder) inserted at entry position i.
func insertEnt(ents []uint32, i int, h uint64, holder uint32) []uint32 {
	out := make([]uint32, 0, len(ents)+entStride)
	out = append(out, ents[:entStride*i]...)
	out = appendEnt(out, h, holder)
	return append(out, ents[entStride*i:]...)
}

// deleteEnt returns a new, exactly sized entry array: ents without entry
// i (nil if none is left).
func deleteEnt(ents []uint32, i int) []uint32 {
	if len(ents) == entStride {
		return nil
	}
	out := make([]uint32, 0, len(ents)-entStride)
	out = append(out, ents[:entStride*i]...)
	return append(out, ents[entStride*(i+1):]...)
}

// bucketHolder returns the position of holder among the bucket c's
// holders, and whether it is there.
func bucketHolder(c *hamt, holder uint32) (int, bool) {
	lo, hi := 0, c.entCount()
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c.holderAt(m) < holder {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < c.entCount() && c.holderAt(lo) == holder
}

// hamtInsert returns the new subtree of the inner node n (nil: empty) at
// depth shift and whether the pair was added (false: it was already
// present, and n is returned). Nodes owned by the open batch tx are
// changed in place; others are copied.
func hamtInsert(n *hamt, h uint64, holder uint32, shift uint, tx *ixTxn) (*hamt, bool) {
	bit := digit(h, shift)
	if n == nil {
		return &hamt{dataMap: bit, ents: appendEnt(make([]uint32, 0, entStride), h, holder), owner: tx}, true
	}
	switch {
	case n.dataMap&bit != 0:
		i := bits.OnesCount32(n.dataMap & (bit - 1))
		if n.hashAt(i) == h {
			tx.collide()
			if n.holderAt(i) == holder {
				return n, false
			}
		}
		es := []indexEntry{{n.hashAt(i), n.holderAt(i)}, {h, holder}}
		slices.SortFunc(es, cmpEntry)
		return n.setChild(bit, slotNode(es, shift, tx), tx), true
	case n.nodeMap&bit != 0:
		c := n.nodes[bits.OnesCount32(n.nodeMap&(bit-1))]
		if c.bucket() {
			j, found := bucketHolder(c, holder)
			if c.hashAt(0) == h {
				tx.collide()
			}
			switch {
			case c.hashAt(0) == h && found:
				return n, false
			case c.hashAt(0) == h:
				nb := &hamt{ents: insertEnt(c.ents, j, h, holder), owner: tx}
				return n.setChild(bit, nb, tx), true
			}
			// Another hash in the bucket's slot: one level down.
			es := make([]indexEntry, 0, c.entCount()+1)
			for k := range c.entCount() {
				es = append(es, indexEntry{c.hashAt(k), c.holderAt(k)})
			}
			es = append(es, indexEntry{h, holder})
			slices.SortFunc(es, cmpEntry)
			return n.setChild(bit, slotNode(es, shift, tx), tx), true
		}
		nc, added := hamtInsert(c, h, holder, shift+hamtBits, tx)
		if !added {
			return n, false
		}
		return n.setChild(bit, nc, tx), true
	}
	return n.setEntry(bit, h, holder, tx), true
}

// hamtRemove returns the new subtree of the inner node n at depth shift
// (nil if empty) and whether the pair was present. Nodes owned by the
// open batch tx are changed in place; others are copied. A child left
// with one pair becomes an inline entry, one left with a single bucket
// becomes that bucket, so the trie keeps its canonical shape.
func hamtRemove(n *hamt, h uint64, holder uint32, shift uint, tx *ixTxn) (*hamt, bool) {
	if n == nil {
		return nil, false
	}
	bit := digit(h, shift)
	switch {
	case n.dataMap&bit != 0:
		i := bits.OnesCount32(n.dataMap & (bit - 1))
		if n.hashAt(i) != h || n.holderAt(i) != holder {
			return n, false
		}
		if n.entCount() == 1 && len(n.nodes) == 0 {
			return nil, true
		}
		m := n.own(tx)
		m.ents = deleteEnt(m.ents, i)
		m.dataMap &^= bit
		return m, true
	case n.nodeMap&bit != 0:
		c := n.nodes[bits.OnesCount32(n.nodeMap&(bit-1))]
		if c.bucket() {
			j, found := bucketHolder(c, holder)
			if c.hashAt(0) != h || !found {
				return n, false
			}
			if c.entCount() == 2 {
				return n.setEntry(bit, h, c.holderAt(1-j), tx), true
			}
			nb := &hamt{ents: deleteEnt(c.ents, j), owner: tx}
			return n.setChild(bit, nb, tx), true
		}
		nc, ok := hamtRemove(c, h, holder, shift+hamtBits, tx)
		if !ok {
			return n, false
		}
		switch {
		case nc == nil:
			// Not reached (a child holds two pairs or more), kept for safety.
			m := n.own(tx)
			m.nodes = deleteAt(m.nodes, bits.OnesCount32(m.nodeMap&(bit-1)))
			m.nodeMap &^= bit
			if m.dataMap|m.nodeMap == 0 {
				return nil, true
			}
			return m, true
		case nc.nodeMap == 0 && nc.entCount() == 1:
			return n.setEntry(bit, nc.hashAt(0), nc.holderAt(0), tx), true
		case nc.dataMap == 0 && len(nc.nodes) == 1 && nc.nodes[0].bucket():
			return n.setChild(bit, nc.nodes[0], tx), true
		}
		return n.setChild(bit, nc, tx), true
	}
	return n, false
}

// slotNode returns the child for the pairs es (at least two, sorted by
// trie position then holder, no duplicates) that share their digits down
// to depth shift: a bucket if they all have one hash, else an inner node
// at shift+hamtBits.
func slotNode(es []indexEntry, shift uint, tx *ixTxn) *hamt {
	if es[0].h == es[len(es)-1].h {
		n := &hamt{ents: make([]uint32, 0, entStride*len(es)), owner: tx}
		for _, e := range es {
			n.ents = appendEnt(n.ents, e.h, e.holder)
		}
		return n
	}
	return innerNode(es, shift+hamtBits, tx)
}

// innerNode builds the inner node at depth shift of the pairs es (at
// least one, sorted by trie position then holder, no duplicates). Its
// arrays are allocated at their exact sizes: a decoded tree's index is
// built here, and spare capacity would stay for the life of the state.
func innerNode(es []indexEntry, shift uint, tx *ixTxn) *hamt {
	n := &hamt{owner: tx}
	var inline, children int
	for rest := es; len(rest) > 0; {
		j := sameDigit(rest, shift)
		if j == 1 {
			inline++
		} else {
			children++
		}
		rest = rest[j:]
	}
	if inline > 0 {
		n.ents = make([]uint32, 0, entStride*inline)
	}
	if children > 0 {
		n.nodes = make([]*hamt, 0, children)
	}
	for len(es) > 0 {
		d := (es[0].h >> shift) & hamtMask
		j := sameDigit(es, shift)
		if j == 1 {
			n.dataMap |= 1 << d
			n.ents = appendEnt(n.ents, es[0].h, es[0].holder)
		} else {
			n.nodeMap |= 1 << d
			n.nodes = append(n.nodes, slotNode(es[:j], shift, tx))
		}
		es = es[j:]
	}
	return n
}

// sameDigit returns how many pairs at the start of es share the first
// one's digit at depth shift (at least one).
func sameDigit(es []indexEntry, shift uint) int {
	d := (es[0].h >> shift) & hamtMask
	j := 1
	for j < len(es) && (es[j].h>>shift)&hamtMask == d {
		j++
	}
	return j
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
	slices.SortFunc(es, cmpEntry)
	es = slices.Compact(es)
	if len(es) == 0 {
		return keyIndex{}
	}
	return keyIndex{root: innerNode(es, 0, nil), size: len(es)}
}

// cmpEntry orders pairs by trie position, then holder.
func cmpEntry(a, b indexEntry) int {
	if c := cmpUint64(digitOrder(a.h), digitOrder(b.h)); c != 0 {
		return c
	}
	return int(int64(a.holder) - int64(b.holder))
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
