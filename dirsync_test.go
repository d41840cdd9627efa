package mls

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func dirPut(t *testing.T, d *DirStorage, k, v string) {
	t.Helper()
	var b Batch
	b.Put([]byte(k), []byte(v))
	if err := d.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
}

func dirFile(t *testing.T, dir string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, dirDataFile))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestDirStorageSyncEvery checks group commit: a replaced value stays in
// the file until its replacement is synced (on the SyncEvery-th commit,
// Flush or Close), then no byte of it remains; reads see every commit at
// once; and a reopened store holds every commit that was flushed.
func TestDirStorageSyncEvery(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDirStorageWith(dir, DirOptions{SyncEvery: 3})
	if err != nil {
		t.Fatal(err)
	}
	dirPut(t, d, "k", "OLD-SECRET-1") // commit 1: synced? no (1 of 3)
	dirPut(t, d, "k", "NEW-VALUE-22") // commit 2
	if v, err := d.Get(ctx, []byte("k")); err != nil || string(v) != "NEW-VALUE-22" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if !bytes.Contains(dirFile(t, dir), []byte("OLD-SECRET-1")) {
		t.Fatal("the replaced value was erased before its replacement was synced")
	}
	dirPut(t, d, "j", "x") // commit 3: the sync, then the erasure
	if bytes.Contains(dirFile(t, dir), []byte("OLD-SECRET-1")) {
		t.Fatal("the replaced value is still in the file after the sync")
	}
	dirPut(t, d, "k", "THIRD-VALUE-")
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(dirFile(t, dir), []byte("NEW-VALUE-22")) {
		t.Fatal("Flush left a replaced value in the file")
	}
	dirPut(t, d, "k", "FOURTH-VALUE")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(dirFile(t, dir), []byte("THIRD-VALUE-")) {
		t.Fatal("Close left a replaced value in the file")
	}
	d, err = OpenDirStorageWith(dir, DirOptions{SyncEvery: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if v, err := d.Get(ctx, []byte("k")); err != nil || string(v) != "FOURTH-VALUE" {
		t.Fatalf("after reopening: %q, %v", v, err)
	}
}

// TestDirStorageSyncEveryDamagedTail plants what an operating system crash
// can leave under group commit — a damaged record followed by an intact
// one, both written after the last sync: opened with SyncEvery the store
// ends at the last good record (each commit atomic, the later ones lost);
// opened without, the damage is reported.
func TestDirStorageSyncEveryDamagedTail(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDirStorageWith(dir, DirOptions{SyncEvery: 100})
	if err != nil {
		t.Fatal(err)
	}
	dirPut(t, d, "a", "1")
	one := len(dirFile(t, dir))
	dirPut(t, d, "a", "2")
	dirPut(t, d, "b", "3")
	image := dirFile(t, dir)
	d.Close()
	image[one+15] ^= 0xff // the key in the second record's header: it parses, its CRC fails
	if err := os.WriteFile(filepath.Join(dir, dirDataFile), image, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDirStorage(dir); !errors.Is(err, ErrDamaged) {
		t.Fatalf("default open of a damaged middle record: %v, want ErrDamaged", err)
	}
	d, err = OpenDirStorageWith(dir, DirOptions{SyncEvery: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if v, err := d.Get(ctx, []byte("a")); err != nil || string(v) != "1" {
		t.Fatalf("a = %q, %v; want the first commit's value", v, err)
	}
	if _, err := d.Get(ctx, []byte("b")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("b = %v; a commit after the damage survived", err)
	}
	if got := dirFile(t, dir); len(got) != one {
		t.Fatalf("file of %d bytes, want %d (the tail cut off)", len(got), one)
	}
}
