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

func mixPages(r *rand.Rand, s, x []byte) []byte {
	n := len(x)
	if r.Intn(2) == 0 {
		n = len(s)
	}
	out := make([]byte, n)
	for p := 0; p < n; p += 4096 {
		src := x
		if r.Intn(2) == 0 {
			src = s
		}
		for i := p; i < min(p+4096, n); i++ {
			if i < len(src) {
				out[i] = src[i]
			}
		}
	}
	return out
}

// OS crash images under plain group commit: any page mix of the last
// synced image and a later one (before a sync: the writes it syncs; after
// a Commit: everything since). The reopened store must be at a prefix.
func TestDirStorageCrashImages(t *testing.T) {
	t.Run("group", func(t *testing.T) { crashImages(t, 0) })
	t.Run("default", func(t *testing.T) { crashImages(t, 1) })
	t.Run("eraseAtOnce", func(t *testing.T) { crashImages(t, 2) })
}

func crashImages(t *testing.T, mode int) {
	fails := 0
	for seed := int64(0); seed < histories(3, 30) && fails < 4; seed++ {
		r := rand.New(rand.NewSource(seed))
		dir := t.TempDir()
		path := filepath.Join(dir, dirDataFile)
		opts := DirOptions{SyncEvery: 2 + r.Intn(4)}
		if mode == 1 {
			opts = DirOptions{}
		} else if mode == 2 {
			opts.EraseAtOnce = true
		}
		d := must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
		read := func() []byte { b, _ := os.ReadFile(path); return b }
		synced := read()
		models := []map[string]string{{}} // models[j]: after commit j
		lastSynced := 0
		var images [][]byte
		var lo []int
		var isFlush []bool
		dirSyncHook = func(flush bool) {
			images = append(images, read())
			lo = append(lo, lastSynced)
			isFlush = append(isFlush, flush)
		}
		type snap struct {
			s, x   []byte
			lo, hi int
		}
		var snaps []snap
		for step := 0; step < 40; step++ {
			var b Batch
			next := maps.Clone(models[len(models)-1])
			for n := r.Intn(2) + 1; n > 0; n-- {
				k := fmt.Sprintf("k%d", r.Intn(5))
				if r.Intn(6) == 0 {
					b.Delete([]byte(k))
					delete(next, k)
				} else {
					v := fmt.Sprintf("%0*d", 1+step*50+r.Intn(2)*3000+n, step) // unique lengths: no in-place
					b.Put([]byte(k), []byte(v))
					next[k] = v
				}
			}
			images, lo, isFlush = nil, nil, nil
			check(t, d.Commit(ctx, &b))
			models = append(models, next)
			n := len(models) - 1
			for i := range images { // crash during that sync
				snaps = append(snaps, snap{synced, images[i], lo[i], n})
				synced = images[i]
				if isFlush[i] {
					lastSynced = n
				}
			}
			snaps = append(snaps, snap{synced, read(), lastSynced, n})
		}
		dirSyncHook = nil
		d.Close()
		for si, sn := range snaps {
			for trial := 0; trial < 8; trial++ {
				img := mixPages(r, sn.s, sn.x)
				check(t, os.WriteFile(path, img, 0o600))
				os.Remove(filepath.Join(dir, "LOCK"))
				d, err := OpenDirStorageWith(dir, opts)
				if err != nil {
					t.Errorf("seed %d snap %d (commits %d..%d): open: %v", seed, si, sn.lo, sn.hi, err)
					fails++
					break
				}
				if fails > 4 {
					return
				}
				ok := false
				for j := sn.lo; j <= sn.hi && !ok; j++ {
					ok = true
					for i := 0; i < 5; i++ {
						k := fmt.Sprintf("k%d", i)
						v, err := d.Get(ctx, []byte(k))
						want, in := models[j][k]
						if mode == 2 && in && errors.Is(err, ErrDamaged) {
							continue // documented for EraseAtOnce
						}
						if in != (err == nil) || in && string(v) != want {
							ok = false
							break
						}
					}
				}
				if !ok {
					var got []string
					for i := 0; i < 5; i++ {
						v, err := d.Get(ctx, []byte(fmt.Sprintf("k%d", i)))
						got = append(got, fmt.Sprintf("k%d:%d/%v", i, len(v), err))
					}
					t.Errorf("seed %d snap %d: not a prefix %d..%d: %v", seed, si, sn.lo, sn.hi, got)
					for j := max(sn.lo-3, 0); j <= sn.hi; j++ {
						m := ""
						for i := 0; i < 5; i++ {
							v, in := models[j][fmt.Sprintf("k%d", i)]
							m += fmt.Sprintf(" k%d:%d/%v", i, len(v), in)
						}
						t.Logf("   model %d:%s", j, m)
					}
					fails++
				}
				d.Close()
				if !ok {
					break
				}
			}
		}
	}
}
