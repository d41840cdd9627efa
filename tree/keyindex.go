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
	size int // number of (key, holder) pairs
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
}

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
	root := hamtInsert(ix.root, keyHash(k), k, holder, 0)
	if root == ix.root {
		return ix // the pair was already present
	}
	return keyIndex{root: root, size: ix.size + 1}
}

// remove returns an index with holder removed from key's holders. Removing
// an absent pair returns ix unchanged.
func (ix keyIndex) remove(kind keyKind, key []byte, holder uint32) keyIndex {
	k := indexKey(kind, key)
	root, ok := hamtRemove(ix.root, keyHash(k), k, holder, 0)
	if !ok {
		return ix
	}
	return keyIndex{root: root, size: ix.size - 1}
}

// hamtInsert returns the new subtree, or n itself if the pair was already
// present.
func hamtInsert(n *hamt, h uint64, k string, holder uint32, shift uint) *hamt {
	if n == nil {
		return &hamt{hash: h, entries: []hamtEntry{{key: k, holders: []uint32{holder}}}}
	}
	if n.entries != nil {
		if n.hash == h {
			es := slices.Clone(n.entries)
			for i := range es {
				if es[i].key == k {
					hs := es[i].holders
					j, found := slices.BinarySearch(hs, holder)
					if found {
						return n
					}
					es[i].holders = slices.Insert(slices.Clip(hs), j, holder)
					return &hamt{hash: h, entries: es}
				}
			}
			es = append(es, hamtEntry{key: k, holders: []uint32{holder}})
			return &hamt{hash: h, entries: es}
		}
		// Two different hashes meet: push the bucket down one level and
		// insert again into the new inner node.
		inner := &hamt{bitmap: uint32(1) << ((n.hash >> shift) & hamtMask), children: []*hamt{n}}
		return hamtInsert(inner, h, k, holder, shift)
	}
	bit := uint32(1) << ((h >> shift) & hamtMask)
	pos := bits.OnesCount32(n.bitmap & (bit - 1))
	if n.bitmap&bit == 0 {
		ch := make([]*hamt, len(n.children)+1)
		copy(ch, n.children[:pos])
		ch[pos] = &hamt{hash: h, entries: []hamtEntry{{key: k, holders: []uint32{holder}}}}
		copy(ch[pos+1:], n.children[pos:])
		return &hamt{bitmap: n.bitmap | bit, children: ch}
	}
	c := hamtInsert(n.children[pos], h, k, holder, shift+hamtBits)
	if c == n.children[pos] {
		return n
	}
	ch := slices.Clone(n.children)
	ch[pos] = c
	return &hamt{bitmap: n.bitmap, children: ch}
}

// hamtRemove returns the new subtree (nil if empty) and whether the pair was
// present.
func hamtRemove(n *hamt, h uint64, k string, holder uint32, shift uint) (*hamt, bool) {
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
			return &hamt{hash: h, entries: es}, true
		}
		return n, false
	}
	bit := uint32(1) << ((h >> shift) & hamtMask)
	if n.bitmap&bit == 0 {
		return n, false
	}
	pos := bits.OnesCount32(n.bitmap & (bit - 1))
	c, ok := hamtRemove(n.children[pos], h, k, holder, shift+hamtBits)
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
		nn := &hamt{bitmap: n.bitmap &^ bit, children: ch}
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
	ch := slices.Clone(n.children)
	ch[pos] = c
	return &hamt{bitmap: n.bitmap, children: ch}, true
}
