package keysched

import (
	"bytes"
	"maps"
	"slices"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/treemath"
)

// entryStore is a store of a tree's entries, kept by ChangedEntries.
type entryStore map[uint32][]byte

// update applies the entries that changed from old to st.
func (es entryStore) update(t interface{ Fatalf(string, ...any) }, old, st SecretTree) {
	if !st.ChangedEntries(old, func(x uint32) {
		if v, ok := st.AppendEntry(nil, x); ok {
			es[x] = v
		} else {
			delete(es, x)
		}
	}) {
		t.Fatalf("ChangedEntries: shapes differ")
	}
}

// load rebuilds a tree of st's shape from the store.
func (es entryStore) load(st SecretTree) (SecretTree, error) {
	var b cryptobyte.Builder
	st.MarshalShape(&b)
	shape, err := b.Bytes()
	if err != nil {
		return SecretTree{}, err
	}
	d := codec.NewDecoder(shape)
	var got SecretTree
	got.UnmarshalEntries(d, nil, func() ([]SecretEntry, error) {
		var out []SecretEntry
		for _, x := range slices.Sorted(maps.Keys(es)) {
			out = append(out, SecretEntry{Index: x, Value: es[x]})
		}
		return out, nil
	})
	return got, d.Finish("shape")
}

// TestPropSecretTreeEntries: a store of entries kept up to date with
// ChangedEntries after every request holds exactly the tree's entries
// (what AppendEntry gives for every index Entries lists), and
// UnmarshalEntries rebuilds from it a tree that encodes like the
// original.
func TestPropSecretTreeEntries(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		st := drawTree(t, 5, 4)
		leaves := st.Leaves()
		es := entryStore{}
		es.update(t, SecretTree{cs: st.cs, leaves: leaves, cfg: st.cfg}, st)
		steps := rapid.IntRange(0, 30).Draw(t, "steps")
		for range steps {
			leaf := treemath.LeafIndex(rapid.Uint32Range(0, uint32(leaves)-1).Draw(t, "leaf"))
			kind := RatchetKind(rapid.Uint32Range(0, 1).Draw(t, "kind"))
			gen := rapid.Uint32Range(0, 12).Draw(t, "generation")
			_, next, err := st.Key(leaf, kind, gen)
			if err != nil {
				continue
			}
			es.update(t, st, next)
			st = next
			want := entryStore{}
			for x := range st.Entries() {
				v, ok := st.AppendEntry(nil, x)
				if !ok {
					t.Fatalf("Entries lists %d, AppendEntry has none", x)
				}
				want[x] = v
			}
			if !maps.EqualFunc(es, want, bytes.Equal) {
				t.Fatalf("store holds %v, the tree's entries are %v", slices.Sorted(maps.Keys(es)), slices.Sorted(maps.Keys(want)))
			}
			if !slices.IsSorted(slices.Collect(st.Entries())) {
				t.Fatal("Entries not in increasing order")
			}
		}
		got, err := es.load(st)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(encodeTree(t, got), encodeTree(t, st)) {
			t.Fatal("the tree rebuilt from its entries encodes differently")
		}
	})
}

// TestSecretTreeEntriesReject: UnmarshalEntries refuses entries that do
// not make the tree: one missing, one of another kind, a sender at a
// parent node, trailing bytes, an index outside the tree, and a store
// error.
func TestSecretTreeEntriesReject(t *testing.T) {
	st := testTree(t, 8, RatchetConfig{OutOfOrderTolerance: 3, MaximumForwardDistance: 100})
	_, st, _ = st.Key(2, Application, 5)
	es := entryStore{}
	es.update(t, SecretTree{cs: st.cs, leaves: st.leaves, cfg: st.cfg}, st)
	if _, err := es.load(st); err != nil {
		t.Fatalf("intact entries: %v", err)
	}
	sender := uint32(2 * 2)
	node := slices.Collect(st.nodes.Keys())[0]
	tests := map[string]func(es entryStore){
		"missing node secret": func(es entryStore) { delete(es, node) },
		"missing sender":      func(es entryStore) { delete(es, sender) },
		"unknown kind":        func(es entryStore) { es[node] = append([]byte{7}, es[node][1:]...) },
		"sender as secret":    func(es entryStore) { es[sender] = append([]byte{entryNodeSecret}, es[sender][1:]...) },
		"sender at parent":    func(es entryStore) { es[sender+1] = es[sender]; delete(es, sender) },
		"trailing byte":       func(es entryStore) { es[node] = append(bytes.Clone(es[node]), 0) },
		"outside the tree":    func(es entryStore) { es[1000] = es[node]; delete(es, node) },
		"empty value":         func(es entryStore) { es[node] = nil },
		"covered twice":       func(es entryStore) { es[uint32(treemath.Root(8))] = es[node] },
	}
	for name, damage := range tests {
		t.Run(name, func(t *testing.T) {
			bad := maps.Clone(es)
			damage(bad)
			if _, err := bad.load(st); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	var b cryptobyte.Builder
	st.MarshalShape(&b)
	shape, _ := b.Bytes()
	d := codec.NewDecoder(shape)
	var got SecretTree
	got.UnmarshalEntries(d, nil, func() ([]SecretEntry, error) { return nil, codec.ErrInvalidValue })
	if d.Finish("shape") == nil {
		t.Fatal("a store error was not reported")
	}
}
