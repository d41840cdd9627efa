package mls

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"testing"
)

// compactFixture opens a DirStorage (group commit, to spare fsyncs) that
// holds keys cold values of size bytes each.
func compactFixture(t *testing.T, keys, size int) (*DirStorage, string) {
	t.Helper()
	dir := t.TempDir()
	d, err := OpenDirStorageWith(dir, DirOptions{SyncEvery: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	for i := 0; i < keys; i += 256 {
		var b Batch
		for j := i; j < min(i+256, keys); j++ {
			b.Put(fmt.Appendf(nil, "cold/%06d", j), coldValue(j, size))
		}
		if err := d.Commit(ctx, &b); err != nil {
			t.Fatal(err)
		}
	}
	return d, dir
}

func coldValue(i, size int) []byte {
	return append(fmt.Appendf(nil, "COLD-%06d-", i), bytes.Repeat([]byte{byte(i)}, size-12)...)
}

func hotValue(i int) []byte {
	return append(fmt.Appendf(nil, "HOT-SECRET-%06d-", i), make([]byte, 2000)...)
}

// rewriteHot commits n replacements of the key hot (about 2 KB each), as
// a run of application messages rewrites a group's snapshot, from value
// number first on, and returns the bytes the process allocated per
// commit and the number of compactions (the file shrank).
func rewriteHot(t *testing.T, d *DirStorage, first, n int) (perCommit float64, compactions int) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := first; i < first+n; i++ {
		size := d.size
		var b Batch
		b.Put([]byte("hot"), hotValue(i))
		if err := d.Commit(ctx, &b); err != nil {
			t.Fatal(err)
		}
		if d.size < size {
			compactions++
		}
	}
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(n), compactions
}

// TestDirStorageCompaction runs commits that replace one small value
// until the dead bytes exceed dirDeadRatio times the live ones, in a store of 4 MB of other
// values: the file is compacted, every value reads back (after reopening
// too), no replaced value is left in the file, and a commit costs no more
// allocation than in a store of 40 KB — the compaction, amortized over
// the commits that made it necessary, does not grow with what the store
// holds.
func TestDirStorageCompaction(t *testing.T) {
	const size = 1000
	small, _ := compactFixture(t, 40, size)
	large, dir := compactFixture(t, 4000, size)
	n := dirDeadRatio*int(large.live)/2000 + 200 // past the first compaction of the large store
	smallCost, _ := rewriteHot(t, small, 0, n)
	largeCost, compactions := rewriteHot(t, large, 0, n)
	t.Logf("%d commits: %.0f B allocated per commit with 40 KB stored, %.0f B with 4 MB stored (%d compactions)", n, smallCost, largeCost, compactions)
	if compactions == 0 {
		t.Fatalf("no compaction in %d commits: dead %d, live %d", n, large.size-large.live, large.live)
	}
	if largeCost > smallCost+1024 {
		t.Errorf("a commit allocates %.0f B in a store of 4 MB, %.0f B in one of 40 KB: the compaction's cost grows with the store", largeCost, smallCost)
	}
	if err := large.Flush(); err != nil {
		t.Fatal(err)
	}
	check := func(d *DirStorage) {
		t.Helper()
		for i := range 4000 {
			v, err := d.Get(ctx, fmt.Appendf(nil, "cold/%06d", i))
			if err != nil || !bytes.Equal(v, coldValue(i, size)) {
				t.Fatalf("cold value %d: %.20q, %v", i, v, err)
			}
		}
		if v, err := d.Get(ctx, []byte("hot")); err != nil || !bytes.Equal(v, hotValue(n-1)) {
			t.Fatalf("hot value: %.20q, %v", v, err)
		}
	}
	check(large)
	file := dirFile(t, dir)
	if c := bytes.Count(file, []byte("HOT-SECRET-")); c != 1 {
		t.Fatalf("the file holds %d hot values, want the current one only", c)
	}
	if err := large.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDirStorage(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	check(d)
}

// TestDirStorageCompactionAllocates: one compaction of an 8 MB file
// (almost half of it dead) allocates its two buffers and a few dozen
// bytes per key, not the file's size.
func TestDirStorageCompactionAllocates(t *testing.T) {
	d, _ := compactFixture(t, 4000, 1000)
	var b Batch
	for i := range 3500 {
		b.Put(fmt.Appendf(nil, "cold/%06d", i), coldValue(i+1, 1000))
	}
	if err := d.Commit(ctx, &b); err != nil { // 3.5 MB dead: not compacted yet
		t.Fatal(err)
	}
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	size := d.size
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d.mu.Lock()
	err := d.compact()
	d.mu.Unlock()
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("compacting %d bytes to %d allocated %d bytes", size, d.size, alloc)
	if d.size >= size*3/5 {
		t.Fatalf("the file went from %d to %d bytes", size, d.size)
	}
	if max := uint64(2*dirCompactChunk + 64*4000 + 64<<10); alloc > max {
		t.Fatalf("compacting %d bytes allocated %d bytes, want at most %d", size, alloc, max)
	}
	for i := range 4000 {
		want := coldValue(i, 1000)
		if i < 3500 {
			want = coldValue(i+1, 1000)
		}
		if v, err := d.Get(ctx, fmt.Appendf(nil, "cold/%06d", i)); err != nil || !bytes.Equal(v, want) {
			t.Fatalf("value %d after compacting: %.20q, %v", i, v, err)
		}
	}
}

// TestLiveInFileOrder: a compaction copies every value, damaged ones
// too, in the order of their offsets, by either of its sorts (packed integers, or a
// comparison for offsets too large to pack).
func TestLiveInFileOrder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		index map[string]dirValue
		want  []string
	}{
		{"empty", map[string]dirValue{}, nil},
		{"packed", map[string]dirValue{
			"c": {off: 300, n: 1}, "a": {off: 8, n: 1}, "d": {off: 40, n: 2, damaged: true}, "b": {off: 100, n: 3},
		}, []string{"a", "d", "b", "c"}},
		{"offsets past the packed range", map[string]dirValue{
			"far": {off: 1 << 45, n: 1}, "near": {off: 8, n: 1}, "mid": {off: 1 << 30, n: 1},
		}, []string{"near", "mid", "far"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range liveInFileOrder(tc.index) {
				if c.old != tc.index[c.key] {
					t.Errorf("%s: value %+v, stored %+v", c.key, c.old, tc.index[c.key])
				}
				got = append(got, c.key)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("order %q, want %q", got, tc.want)
			}
		})
	}
}

// TestLiveInFileOrderMany: a thousand values whose offsets are a
// permutation of their names' order (cycles of every length) come out in
// file order.
func TestLiveInFileOrderMany(t *testing.T) {
	index := map[string]dirValue{}
	want := make([]string, 1000)
	for i := range 1000 {
		pos := i * 7919 % 1000 // 7919 is prime: a permutation of 0..999
		k := fmt.Sprintf("k%04d", i)
		index[k] = dirValue{off: int64(8 + 16*pos), n: 12}
		want[pos] = k
	}
	var got []string
	for _, c := range liveInFileOrder(index) {
		got = append(got, c.key)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("not in file order: %q...", got[:min(len(got), 8)])
	}
}
