package tree

import (
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// TestPropKeyIndexMatchesModel compares the persistent key index with a
// plain map under random inserts and removals (duplicates included), in and
// out of batches, and checks that older versions are unaffected by later
// changes.
func TestPropKeyIndexMatchesModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var ix keyIndex
		model := map[string][]uint32{}
		type version struct {
			ix    keyIndex
			model map[string][]uint32
		}
		var versions []version
		key := func() []byte {
			return []byte(fmt.Sprintf("key%d", rapid.IntRange(0, 300).Draw(rt, "key")))
		}
		rt.Repeat(map[string]func(*rapid.T){
			"insert": func(rt *rapid.T) {
				k, h := key(), rapid.Uint32Range(0, 5).Draw(rt, "holder")
				ix = ix.insert(kindEncryption, k, h)
				hs := model[string(k)]
				if j, found := slices.BinarySearch(hs, h); !found {
					model[string(k)] = slices.Insert(slices.Clone(hs), j, h)
				}
			},
			"remove": func(rt *rapid.T) {
				k, h := key(), rapid.Uint32Range(0, 5).Draw(rt, "holder")
				ix = ix.remove(kindEncryption, k, h)
				hs := model[string(k)]
				if j, found := slices.BinarySearch(hs, h); found {
					hs = slices.Delete(slices.Clone(hs), j, j+1)
					if len(hs) == 0 {
						delete(model, string(k))
					} else {
						model[string(k)] = hs
					}
				}
			},
			// Batches (begin … end) change their own fresh trie nodes in
			// place; versions taken outside batches must never change.
			"begin": func(rt *rapid.T) {
				if ix.tx == nil {
					ix = ix.begin()
				}
			},
			"end": func(rt *rapid.T) {
				ix = ix.end()
			},
			"snapshot": func(rt *rapid.T) {
				if ix.tx != nil {
					rt.Skip("no snapshots inside a batch")
				}
				versions = append(versions, version{ix, cloneModel(model)})
			},
			"": func(rt *rapid.T) {
				for _, v := range append(versions, version{ix, model}) {
					n := 0
					for k, hs := range v.model {
						n += len(hs)
						if got := v.ix.lookup(kindEncryption, []byte(k)); !slices.Equal(got, hs) {
							rt.Fatalf("lookup %q: got %v, want %v", k, got, hs)
						}
						if got := v.ix.lookup(kindSignature, []byte(k)); got != nil {
							rt.Fatalf("signature lookup %q: got %v, want none", k, got)
						}
					}
					if v.ix.size != n {
						rt.Fatalf("size %d, want %d", v.ix.size, n)
					}
					// The one-pass builder gives the same map.
					var b indexBuilder
					for k, hs := range v.model {
						for _, h := range hs {
							b.add(kindEncryption, []byte(k), h)
							b.add(kindEncryption, []byte(k), h) // duplicates count once
						}
					}
					bix := b.build()
					if bix.size != n {
						rt.Fatalf("built index size %d, want %d", bix.size, n)
					}
					for k, hs := range v.model {
						if got := bix.lookup(kindEncryption, []byte(k)); !slices.Equal(got, hs) {
							rt.Fatalf("built index lookup %q: got %v, want %v", k, got, hs)
						}
					}
				}
			},
		})
	})
}

func cloneModel(m map[string][]uint32) map[string][]uint32 {
	out := make(map[string][]uint32, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestKeyIndexCollisions drives the bucket path with keys that share a
// hash (forced through hamtInsert's hash argument).
func TestKeyIndexCollisions(t *testing.T) {
	var root *hamt
	const h = 0xdeadbeef
	for i, k := range []string{"a", "b", "c"} {
		root, _ = hamtInsert(root, h, k, uint32(i), 0, nil)
	}
	root, _ = hamtInsert(root, h+1<<20, "d", 9, 0, nil) // same low 20 bits: splits four levels down
	if root.entries != nil || len(root.children) != 1 {
		t.Fatalf("expected one inner child, got %+v", root)
	}
	for i, k := range []string{"a", "b", "c"} {
		if got := hamtLookup(root, h, k); !slices.Equal(got, []uint32{uint32(i)}) {
			t.Fatalf("lookup %q: %v", k, got)
		}
	}
	if got := hamtLookup(root, h+1<<20, "d"); !slices.Equal(got, []uint32{9}) {
		t.Fatalf("lookup d: %v", got)
	}
	if got := hamtLookup(root, h, "d"); got != nil {
		t.Fatalf("lookup d under the wrong hash: %v", got)
	}
	for i, k := range []string{"a", "b", "c"} {
		var ok bool
		if root, ok = hamtRemove(root, h, k, uint32(i), 0, nil); !ok {
			t.Fatalf("remove %q failed", k)
		}
	}
	root, ok := hamtRemove(root, h+1<<20, "d", 9, 0, nil)
	if !ok || root != nil {
		t.Fatalf("index not empty after removing everything: %+v, %v", root, ok)
	}
}
