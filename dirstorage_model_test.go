package mls

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// modelKeys is the number of keys the model tests use: k0 to k7.
const modelKeys = 8

// randomBatch returns a batch of one to three puts and deletes of the
// model's keys, values of 1 to 611 bytes (some in place, some appended),
// and applies it to model.
func randomBatch(r *rand.Rand, step int, model map[string]string) *Batch {
	var b Batch
	for n := r.Intn(3) + 1; n > 0; n-- {
		k := fmt.Sprintf("k%d", r.Intn(modelKeys))
		if r.Intn(5) == 0 {
			b.Delete([]byte(k))
			delete(model, k)
		} else {
			v := fmt.Sprintf("%0*d", r.Intn(3)*5+1+r.Intn(2)*600, step)
			b.Put([]byte(k), []byte(v))
			model[k] = v
		}
	}
	return &b
}

// matchesModel reports the first key whose value in d is not model's.
func matchesModel(d *DirStorage, model map[string]string) error {
	for i := range modelKeys {
		k := fmt.Sprintf("k%d", i)
		v, err := d.Get(ctx, []byte(k))
		want, ok := model[k]
		if ok && (err != nil || string(v) != want) || !ok && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%s = %q, %v; the model has %q (%v)", k, v, err, want, ok)
		}
	}
	return nil
}

// Random Commits/Flush/Close/reopen in mixed modes against a model, no crash.
func TestDirStorageModel(t *testing.T) {
	for seed := int64(0); seed < histories(4, 40); seed++ {
		r := rand.New(rand.NewSource(seed))
		dir := t.TempDir()
		modes := []DirOptions{{}, {SyncEvery: 3}, {SyncEvery: 2, EraseAtOnce: true}, {SyncEvery: 64}}
		opts := modes[r.Intn(len(modes))]
		d := must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
		d.compactMin = 200
		model := map[string]string{}
		for step := 0; step < 300; step++ {
			switch x := r.Intn(20); {
			case x == 0:
				check(t, d.Flush())
			case x == 1:
				check(t, d.Close())
				opts = modes[r.Intn(len(modes))]
				d = must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
				d.compactMin = 200
			case x == 2:
				var b Batch
				check(t, d.Commit(ctx, &b))
			default:
				b := randomBatch(r, step, model)
				check(t, d.Commit(ctx, b))
			}
			if err := matchesModel(d, model); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
		}
		d.Close()
	}
}

func buildModelFile(t testing.TB, dir string, opts DirOptions) map[string]map[string]bool {
	committed := map[string]map[string]bool{}
	d, err := OpenDirStorageWith(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	put := func(k, v string) {
		var b Batch
		b.Put([]byte(k), []byte(v))
		if committed[k] == nil {
			committed[k] = map[string]bool{}
		}
		committed[k][v] = true
		if err := d.Commit(ctx, &b); err != nil {
			t.Fatal(err)
		}
	}
	put("a", "one")
	put("b", "two-two")
	put("a", "ONE") // in place
	var b Batch
	b.Put([]byte("c"), []byte("three"))
	b.Delete([]byte("b"))
	committed["c"] = map[string]bool{"three": true}
	check2(t, d.Commit(ctx, &b))
	d.Flush()
	put("b", "four-four-four")
	put("a", "five!")
	d.Close()
	return committed
}

func check2(t testing.TB, err error) {
	if err != nil {
		t.Fatal(err)
	}
}

func FuzzDirStorageOpen(f *testing.F) {
	f.Add(uint8(0), []byte{10, 0xff})
	f.Add(uint8(1), []byte{30, 0, 40, 0, 50, 0})
	f.Add(uint8(2), []byte{9, 0x20})
	f.Fuzz(func(t *testing.T, mode uint8, muts []byte) {
		modes := []DirOptions{{}, {SyncEvery: 3}, {SyncEvery: 2, EraseAtOnce: true}}
		wopts := modes[int(mode)%3]
		ropts := modes[int(mode/3)%3]
		dir := t.TempDir()
		committed := buildModelFile(t, dir, wopts)
		path := filepath.Join(dir, dirDataFile)
		data, _ := os.ReadFile(path)
		for i := 0; i+1 < len(muts); i += 2 {
			p := int(muts[i]) * len(data) / 256
			if p < len(data) {
				data[p] ^= muts[i+1]
			}
		}
		if len(muts)%2 == 1 {
			data = data[:int(muts[len(muts)-1])*len(data)/256]
		}
		os.WriteFile(path, data, 0o600)
		d, err := OpenDirStorageWith(dir, ropts)
		if err != nil {
			return
		}
		defer d.Close()
		keys, err := d.Keys(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			v, err := d.Get(ctx, k)
			if err != nil {
				if !errors.Is(err, ErrDamaged) {
					t.Fatalf("Get %q: %v", k, err)
				}
				continue
			}
			if !committed[string(k)][string(v)] {
				t.Fatalf("Get %q = %q, never committed", k, v)
			}
		}
		// a commit and reopen must work after any successful open
		var b Batch
		b.Put([]byte("z"), []byte("zz"))
		if err := d.Commit(ctx, &b); err != nil {
			t.Fatal(err)
		}
		d.Close()
		d2, err := OpenDirStorageWith(dir, ropts)
		if err != nil {
			t.Fatalf("reopen after a clean session: %v", err)
		}
		if v, err := d2.Get(ctx, []byte("z")); err != nil || string(v) != "zz" {
			t.Fatalf("z = %q %v", v, err)
		}
		d2.Close()
	})
}
