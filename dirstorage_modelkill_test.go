package mls

import (
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
			err := matchesModel(d, model)
			if err == nil {
				return model
			}
			if alt != nil && matchesModel(d, alt) == nil {
				return alt
			}
			t.Fatalf("seed %d step %d: state is neither the model's nor the one before (%v)", seed, step, err)
			return nil
		}
		for step := 0; step < 300; step++ {
			x := r.Intn(20)
			if x == 0 {
				reopen(dirFile(t, dir)) // SIGKILL between operations
				verify(step, nil)
				continue
			}
			next := maps.Clone(model)
			b := randomBatch(r, step, next)
			pre := dirFile(t, dir)
			size0 := d.size
			check(t, d.Commit(ctx, b))
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
