package mls

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A batch that puts one key twice (or puts then deletes it): Commit zeroes
// the first put's value (superseded within the batch); a group-commit open
// that finds the record after the last mark takes the zeroed value as torn
// (tornFrom looks for replacements only in LATER records) and cuts the
// record and everything after it. No crash involved: mode switch.
func TestDirStorageSameKeyTwiceModeSwitch(t *testing.T) {
	dir := t.TempDir()
	g := DirOptions{SyncEvery: 4}
	check(t, must[*DirStorage](t)(OpenDirStorageWith(dir, g)).Close()) // magic + mark
	d := must[*DirStorage](t)(OpenDirStorage(dir))
	var b Batch
	b.Put([]byte("k"), []byte("first"))
	b.Put([]byte("k"), []byte("second"))
	check(t, d.Commit(ctx, &b))
	dirPut(t, d, "o", "other")
	check(t, d.Close())
	d = must[*DirStorage](t)(OpenDirStorageWith(dir, g))
	defer d.Close()
	for k, want := range map[string]string{"k": "second", "o": "other"} {
		if v, err := d.Get(ctx, []byte(k)); err != nil || string(v) != want {
			t.Errorf("%s = %q, %v; want %q", k, v, err, want)
		}
	}
}

// Same with EraseAtOnce and a process crash (the file as the kernel holds
// it, no Close): "a crash of the process loses nothing".
func TestDirStorageSameKeyTwiceEraseAtOnceKill(t *testing.T) {
	dir := t.TempDir()
	g := DirOptions{SyncEvery: 100, EraseAtOnce: true}
	d := must[*DirStorage](t)(OpenDirStorageWith(dir, g))
	var b Batch
	b.Put([]byte("k"), []byte("first"))
	b.Put([]byte("k"), []byte("second"))
	check(t, d.Commit(ctx, &b))
	dirPut(t, d, "o", "other")
	image := dirFile(t, dir) // SIGKILL here
	d.Close()
	check(t, os.WriteFile(filepath.Join(dir, dirDataFile), image, 0o600))
	d = must[*DirStorage](t)(OpenDirStorageWith(dir, g))
	defer d.Close()
	for k, want := range map[string]string{"k": "second", "o": "other"} {
		if v, err := d.Get(ctx, []byte(k)); err != nil || string(v) != want {
			t.Errorf("%s = %q, %v; want %q", k, v, err, want)
		}
	}
}

// Put then delete in one batch, EraseAtOnce, process crash.
func TestDirStoragePutDeleteEraseAtOnceKill(t *testing.T) {
	dir := t.TempDir()
	g := DirOptions{SyncEvery: 100, EraseAtOnce: true}
	d := must[*DirStorage](t)(OpenDirStorageWith(dir, g))
	var b Batch
	b.Put([]byte("k"), []byte("first"))
	b.Delete([]byte("k"))
	check(t, d.Commit(ctx, &b))
	dirPut(t, d, "o", "other")
	image := dirFile(t, dir)
	d.Close()
	check(t, os.WriteFile(filepath.Join(dir, dirDataFile), image, 0o600))
	d = must[*DirStorage](t)(OpenDirStorageWith(dir, g))
	defer d.Close()
	if v, err := d.Get(ctx, []byte("o")); err != nil || string(v) != "other" {
		t.Errorf("o = %q, %v", v, err)
	}
	if _, err := d.Get(ctx, []byte("k")); !errors.Is(err, ErrNotFound) {
		t.Errorf("k: %v", err)
	}
}
