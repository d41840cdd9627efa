package tree

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"slices"
)

// keyIndex is a persistent map from a public key (signature or encryption)
// to the node indices holding it. It is a hash array mapped trie over
// SHA-256 of the key, 32-way with bitmap-compressed nodes: an insert or a
// removal copies only the O(log N) nodes on one root-to-entry path, so two
// tree versions share every other part of their indices.
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
// bucket of entries sharing one 64-bit hash (entries non-nil).
type hamt struct {
	bitmap   uint32
	children []*hamt
	hash     uint64
	entries  []hamtEntry
	owner    *ixTxn // the batch that created the node; nil outside batches
}

// owned reports whether n was created by the open batch tx, so that the
// batch may change it in place (its children array is then fresh too).
func (n *hamt) owned(tx *ixTxn) bool { return tx != nil && n.owner == tx }

type hamtEntry struct {
	key     string
	holders []uint32 // node indices, sorted increasingly
}

func keyHash(k string) uint64 {
	d := sha256.Sum256([]byte(k))
	return binary.BigEndian.Uint64(d[:8])
}

func indexKey(kind keyKind, key []byte) string {
	b := make([]byte, 0, len(key)+1)
	b = append(b, byte(kind))
	b = append(b, key...)
	return string(b)
}

// lookup returns the holders of key, sorted; nil if none. The slice must not
// be modified.
func (ix keyIndex) lookup(kind keyKind, key []byte) []uint32 {
	k := indexKey(kind, key)
	return hamtLookup(ix.root, keyHash(k), k)
}

func hamtLookup(n *hamt, h uint64, k string) []uint32 {
	for shift := uint(0); n != nil; shift += hamtBits {
		if n.entries != nil {
			if n.hash != h {
				return nil
			}
			for _, e := range n.entries {
				if e.key == k {
					return e.holders
				}
			}
			return nil
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
	k := indexKey(kind, key)
	root, added := hamtInsert(ix.root, keyHash(k), k, holder, 0, ix.tx)
	if !added {
		return ix // the pair was already present
	}
	return keyIndex{root: root, size: ix.size + 1, tx: ix.tx}
}

// remove returns an index with holder removed from key's holders. Removing
// an absent pair returns ix unchanged.
func (ix keyIndex) remove(kind keyKind, key []byte, holder uint32) keyIndex {
	k := indexKey(kind, key)
	root, ok := hamtRemove(ix.root, keyHash(k), k, holder, 0, ix.tx)
	if !ok {
		return ix
	}
	return keyIndex{root: root, size: ix.size - 1, tx: ix.tx}
}

// hamtInsert returns the new subtree and whether the pair was added (false:
// it was already present, and n is returned). Nodes owned by the open
// batch tx are changed in place; others are copied.
func hamtInsert(n *hamt, h uint64, k string, holder uint32, shift uint, tx *ixTxn) (*hamt, bool) {
	if n == nil {
		return &hamt{hash: h, entries: []hamtEntry{{key: k, holders: []uint32{holder}}}, owner: tx}, true
	}
	if n.entries != nil {
		if n.hash == h {
			for i := range n.entries {
				if n.entries[i].key == k {
					hs := n.entries[i].holders
					j, found := slices.BinarySearch(hs, holder)
					if found {
						return n, false
					}
					es := slices.Clone(n.entries)
					es[i].holders = slices.Insert(slices.Clip(hs), j, holder)
					return &hamt{hash: h, entries: es, owner: tx}, true
				}
			}
			es := append(slices.Clip(n.entries), hamtEntry{key: k, holders: []uint32{holder}})
			return &hamt{hash: h, entries: es, owner: tx}, true
		}
		// Two different hashes meet: push the bucket down one level and
		// insert again into the new inner node.
		inner := &hamt{bitmap: uint32(1) << ((n.hash >> shift) & hamtMask), children: []*hamt{n}, owner: tx}
		return hamtInsert(inner, h, k, holder, shift, tx)
	}
	bit := uint32(1) << ((h >> shift) & hamtMask)
	pos := bits.OnesCount32(n.bitmap & (bit - 1))
	if n.bitmap&bit == 0 {
		ch := make([]*hamt, len(n.children)+1)
		copy(ch, n.children[:pos])
		ch[pos] = &hamt{hash: h, entries: []hamtEntry{{key: k, holders: []uint32{holder}}}, owner: tx}
		copy(ch[pos+1:], n.children[pos:])
		if n.owned(tx) {
			n.bitmap, n.children = n.bitmap|bit, ch
			return n, true
		}
		return &hamt{bitmap: n.bitmap | bit, children: ch, owner: tx}, true
	}
	c, added := hamtInsert(n.children[pos], h, k, holder, shift+hamtBits, tx)
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
func hamtRemove(n *hamt, h uint64, k string, holder uint32, shift uint, tx *ixTxn) (*hamt, bool) {
	if n == nil {
		return nil, false
	}
	if n.entries != nil {
		if n.hash != h {
			return n, false
		}
		for i, e := range n.entries {
			if e.key != k {
				continue
			}
			j, found := slices.BinarySearch(e.holders, holder)
			if !found {
				return n, false
			}
			es := slices.Clone(n.entries)
			if len(e.holders) > 1 {
				es[i].holders = slices.Delete(slices.Clone(e.holders), j, j+1)
			} else {
				es = slices.Delete(es, i, i+1)
			}
			if len(es) == 0 {
				return nil, true
			}
			return &hamt{hash: h, entries: es, owner: tx}, true
		}
		return n, false
	}
	bit := uint32(1) << ((h >> shift) & hamtMask)
	if n.bitmap&bit == 0 {
		return n, false
	}
	pos := bits.OnesCount32(n.bitmap & (bit - 1))
	c, ok := hamtRemove(n.children[pos], h, k, holder, shift+hamtBits, tx)
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
		if len(ch) == 1 && ch[0].entries != nil {
			return ch[0], true
		}
		return nn, true
	}
	if len(n.children) == 1 && c.entries != nil {
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

// indexEntry is one (key, holder) pair for buildIndex.
type indexEntry struct {
	h      uint64
	key    string
	holder uint32
}

func (ix *indexBuilder) add(kind keyKind, key []byte, holder uint32) {
	k := indexKey(kind, key)
	ix.entries = append(ix.entries, indexEntry{keyHash(k), k, holder})
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
// count once.
func (ix *indexBuilder) build() keyIndex {
	es := ix.entries
	slices.SortFunc(es, func(a, b indexEntry) int {
		if c := cmpUint64(digitOrder(a.h), digitOrder(b.h)); c != 0 {
			return c
		}
		if a.key != b.key {
			if a.key < b.key {
				return -1
			}
			return 1
		}
		return int(int64(a.holder) - int64(b.holder))
	})
	es = slices.CompactFunc(es, func(a, b indexEntry) bool { return a.key == b.key && a.holder == b.holder })
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
		n := &hamt{hash: es[0].h}
		for _, e := range es {
			if k := len(n.entries); k > 0 && n.entries[k-1].key == e.key {
				n.entries[k-1].holders = append(n.entries[k-1].holders, e.holder)
			} else {
				n.entries = append(n.entries, hamtEntry{key: e.key, holders: []uint32{e.holder}})
			}
		}
		for i := range n.entries {
			n.entries[i].holders = slices.Clip(n.entries[i].holders)
		}
		n.entries = slices.Clip(n.entries)
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
