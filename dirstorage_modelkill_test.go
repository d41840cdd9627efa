package mls

import (
	"errors"
	"fmt"
	"maps"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// Random Commits with process kills (file as the kernel holds it) and
// kills in the middle of the append (the record cut anywhere).
func TestDirStorageModelKill(t *testing.T) {
	for seed := int64(0); seed < histories(6, 60); seed++ {
		r := rand.New(rand.NewSource(seed))
		dir := t.TempDir()
		path := filepath.Join(dir, dirDataFile)
		modes := []DirOptions{{}, {SyncEvery: 3}, {SyncEvery: 2, EraseAtOnce: true}, {SyncEvery: 64, EraseAtOnce: true}}
		opts := modes[r.Intn(len(modes))]
		d := must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
		d.compactMin = 300
		model := map[string]string{}
		reopen := func(image []byte) {
			d.Close()
			check(t, os.WriteFile(path, image, 0o600))
			opts = modes[r.Intn(len(modes))]
			d = must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
			d.compactMin = 300
		}
		verify := func(step int, alt map[string]string) map[string]string {
			ok := func(m map[string]string) bool {
				for i := 0; i < 8; i++ {
					k := fmt.Sprintf("k%d", i)
					v, err := d.Get(ctx, []byte(k))
					want, in := m[k]
					if in && (err != nil || string(v) != want) || !in && !errors.Is(err, ErrNotFound) {
						return false
					}
				}
				return true
			}
			if ok(model) {
				return model
			}
			if alt != nil && ok(alt) {
				return alt
			}
			for i := 0; i < 8; i++ {
				k := fmt.Sprintf("k%d", i)
				v, err := d.Get(ctx, []byte(k))
				t.Logf("%s: %q %v; model %q; alt %q", k, v, err, model[k], alt[k])
			}
			t.Fatalf("seed %d step %d: state is neither", seed, step)
			return nil
		}
		for step := 0; step < 300; step++ {
			x := r.Intn(20)
			if x == 0 {
				reopen(dirFile(t, dir)) // SIGKILL between operations
				verify(step, nil)
				continue
			}
			var b Batch
			next := maps.Clone(model)
			for n := r.Intn(3) + 1; n > 0; n-- {
				k := fmt.Sprintf("k%d", r.Intn(8))
				if r.Intn(5) == 0 {
					b.Delete([]byte(k))
					delete(next, k)
				} else {
					v := fmt.Sprintf("%0*d", r.Intn(3)*5+1+r.Intn(2)*600, step)
					b.Put([]byte(k), []byte(v))
					next[k] = v
				}
			}
			pre := dirFile(t, dir)
			size0 := d.size
			check(t, d.Commit(ctx, &b))
			post := dirFile(t, dir)
			prev := model
			model = next
			if x == 1 && d.size > size0 && len(post) > len(pre) && int64(len(pre)) == size0 {
				// SIGKILL during the append: pre + a prefix of the record.
				cut := len(pre) + r.Intn(len(post)-len(pre))
				image := append(append([]byte{}, pre...), post[len(pre):cut]...)
				reopen(image)
				model = verify(step, prev)
			}
		}
		d.Close()
	}
}
