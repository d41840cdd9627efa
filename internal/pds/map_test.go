package pds

import (
	"maps"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// model is the reference: a Go map, compared only through sorted keys.
type model map[uint32]int

func (mo model) sortedKeys() []uint32 { return slices.Sorted(maps.Keys(mo)) }

// check asserts that m holds exactly mo, in key order.
func check(t *rapid.T, m Map[int], mo model) {
	t.Helper()
	if m.Len() != len(mo) {
		t.Fatalf("Len = %d, want %d", m.Len(), len(mo))
	}
	var keys []uint32
	for k, v := range m.All() {
		if want, ok := mo[k]; !ok || want != v {
			t.Fatalf("All yields %d=%d, model has %d (present %v)", k, v, want, ok)
		}
		keys = append(keys, k)
	}
	if !slices.Equal(keys, mo.sortedKeys()) {
		t.Fatalf("keys %v, want %v", keys, mo.sortedKeys())
	}
	for k, want := range mo {
		if got, ok := m.Get(k); !ok || got != want {
			t.Fatalf("Get(%d) = %d, %v; want %d", k, got, ok, want)
		}
	}
}

// keyGen draws keys mostly from a small range (so updates collide) and
// sometimes from the whole uint32 range (so the root grows and shrinks).
func keyGen() *rapid.Generator[uint32] {
	return rapid.OneOf(
		rapid.Uint32Range(0, 64),
		rapid.Uint32Range(0, 5000),
		rapid.Uint32(),
		rapid.SampledFrom([]uint32{0, 31, 32, 1023, 1024, 1<<30 - 1, 1 << 30, 1<<32 - 1}),
	)
}

// TestPropMapModel runs random Set/Delete sequences against a Go map model
// and checks, after every step, that every earlier version is unchanged.
func TestPropMapModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var versions []Map[int]
		var models []model
		m, mo := Map[int]{}, model{}
		steps := rapid.IntRange(0, 200).Draw(t, "steps")
		for i := range steps {
			k := keyGen().Draw(t, "key")
			if rapid.IntRange(0, 3).Draw(t, "op") == 0 {
				m = m.Delete(k)
				mo = maps.Clone(mo)
				delete(mo, k)
			} else {
				m = m.Set(k, i)
				mo = maps.Clone(mo)
				mo[k] = i
			}
			versions = append(versions, m)
			models = append(models, mo)
		}
		for i := range versions {
			check(t, versions[i], models[i])
		}
	})
}

// TestPropMapMissing checks that Get and Has report absent keys as absent.
func TestPropMapMissing(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		keys := rapid.SliceOfDistinct(keyGen(), func(k uint32) uint32 { return k }).Draw(t, "keys")
		var m Map[int]
		for i, k := range keys[len(keys)/2:] {
			m = m.Set(k, i)
		}
		for _, k := range keys[:len(keys)/2] {
			if m.Has(k) {
				t.Fatalf("Has(%d) on a map that never held it", k)
			}
		}
	})
}

func TestMapDeleteToEmpty(t *testing.T) {
	m := Map[string]{}.Set(1<<31, "a").Set(3, "b")
	m = m.Delete(3).Delete(1 << 31)
	if m.Len() != 0 || m.root != nil {
		t.Fatalf("map not empty after deleting all keys: len %d", m.Len())
	}
	if _, _, ok := m.Min(); ok {
		t.Fatal("Min on empty map reports an entry")
	}
	m = m.Set(7, "c")
	if k, v, ok := m.Min(); !ok || k != 7 || v != "c" {
		t.Fatalf("Min = %d %q %v", k, v, ok)
	}
}

// TestMapShapeCanonical checks that a map's shape depends only on its
// contents: growing the root and deleting back gives the small-root shape.
func TestMapShapeCanonical(t *testing.T) {
	m := Map[int]{}.Set(1, 1)
	big := m.Set(1<<31, 2).Delete(1 << 31)
	if big.shift != m.shift {
		t.Fatalf("shift after grow+delete = %d, want %d", big.shift, m.shift)
	}
}

// TestPropDiff checks Diff against the models' difference, for a map and
// one derived from it by random updates (sharing most of its nodes) and
// for two maps built independently.
func TestPropDiff(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		build := func(m Map[int], mo model, label string) (Map[int], model) {
			mo = maps.Clone(mo)
			for range rapid.IntRange(0, 60).Draw(t, label+" steps") {
				k := keyGen().Draw(t, label+" key")
				if rapid.IntRange(0, 2).Draw(t, label+" op") == 0 {
					m = m.Delete(k)
					delete(mo, k)
				} else {
					v := rapid.IntRange(0, 3).Draw(t, label+" value")
					m = m.Set(k, v)
					mo[k] = v
				}
			}
			return m, mo
		}
		a, ma := build(Map[int]{}, model{}, "a")
		var b Map[int]
		var mb model
		if rapid.Bool().Draw(t, "derived") {
			b, mb = build(a, ma, "b")
		} else {
			b, mb = build(Map[int]{}, model{}, "b")
		}
		var want []uint32
		for k := range maps.Keys(ma) {
			if v, ok := mb[k]; !ok || v != ma[k] {
				want = append(want, k)
			}
		}
		for k := range maps.Keys(mb) {
			if _, ok := ma[k]; !ok {
				want = append(want, k)
			}
		}
		slices.Sort(want)
		var got []uint32
		Diff(a, b, func(x, y int) bool { return x == y }, func(k uint32) bool { got = append(got, k); return true })
		if !slices.Equal(got, want) {
			t.Fatalf("Diff = %v, want %v", got, want)
		}
		// Stopping early yields a prefix.
		if len(want) > 1 {
			var first []uint32
			Diff(a, b, func(x, y int) bool { return x == y }, func(k uint32) bool { first = append(first, k); return false })
			if len(first) != 1 || first[0] != want[0] {
				t.Fatalf("Diff stopped after %v, want [%d]", first, want[0])
			}
		}
	})
}
