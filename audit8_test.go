package mls

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func a8Img(t *testing.T, dir string, image []byte) {
	t.Helper()
	check(t, os.WriteFile(filepath.Join(dir, dirDataFile), image, 0o600))
}

// Group commit: flush writes the mark BEFORE the fsync, so an OS crash
// during the fsync may persist the mark's page but not an earlier page of
// the records it claims synced.
func TestA8MarkBeforeSyncHeaderLost(t *testing.T) {
	opts := DirOptions{SyncEvery: 2}
	dir := t.TempDir()
	d := must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
	start := len(dirFile(t, dir)) // 20: magic + mark, synced
	dirPut(t, d, "k1", string(bytes.Repeat([]byte("A"), 10000)))
	dirPut(t, d, "k2", "B") // 2nd commit: mark written, then fsync
	image := dirFile(t, dir)
	d.Close()
	clear(image[start:4096]) // page 0's new bytes (A's header) never reached the disk
	a8Img(t, dir, image)
	d, err := OpenDirStorageWith(dir, opts)
	if err != nil {
		t.Fatalf("open after an OS crash during the fsync: %v", err)
	}
	defer d.Close()
}

func TestA8MarkBeforeSyncValueLost(t *testing.T) {
	opts := DirOptions{SyncEvery: 2}
	dir := t.TempDir()
	d := must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
	dirPut(t, d, "k1", string(bytes.Repeat([]byte("A"), 10000)))
	dirPut(t, d, "k2", "B")
	image := dirFile(t, dir)
	d.Close()
	clear(image[4096:8192]) // a page of A's value never reached the disk; the mark's page (2) did
	a8Img(t, dir, image)
	d = must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
	defer d.Close()
	_, err1 := d.Get(ctx, []byte("k1"))
	v2, err2 := d.Get(ctx, []byte("k2"))
	if !errors.Is(err1, ErrNotFound) || !errors.Is(err2, ErrNotFound) {
		t.Fatalf("not a prefix of commits: k1: %v; k2 = %q, %v", err1, v2, err2)
	}
}

// Default mode, OS crash during Commit's fsync: the appended record's
// header page lost (zeros past the old end), a later page and the size kept.
func TestA8DefaultZeroHeader(t *testing.T) {
	dir := t.TempDir()
	d := must[*DirStorage](t)(OpenDirStorage(dir))
	dirPut(t, d, "k0", "zero")
	at := len(dirFile(t, dir))
	dirPut(t, d, "k1", string(bytes.Repeat([]byte("A"), 10000)))
	image := dirFile(t, dir)
	d.Close()
	clear(image[at:4096])
	a8Img(t, dir, image)
	d, err := OpenDirStorage(dir)
	if err != nil {
		t.Fatalf("open after an OS crash during the last commit's fsync: %v", err)
	}
	defer d.Close()
}

// Default mode, same crash, the header page kept and a value page lost.
func TestA8DefaultTornValue(t *testing.T) {
	dir := t.TempDir()
	d := must[*DirStorage](t)(OpenDirStorage(dir))
	dirPut(t, d, "k0", "zero")
	dirPut(t, d, "k1", string(bytes.Repeat([]byte("A"), 10000)))
	image := dirFile(t, dir)
	d.Close()
	clear(image[4096:8192])
	a8Img(t, dir, image)
	d = must[*DirStorage](t)(OpenDirStorage(dir))
	defer d.Close()
	if _, err := d.Get(ctx, []byte("k1")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("k1: %v, want ErrNotFound (its commit never completed)", err)
	}
}

// A file created in the default mode (magic only) then used with group
// commit: open appends no mark, so tornFrom treats every later record as
// synced.
func TestA8MagicOnlyThenGroup(t *testing.T) {
	dir := t.TempDir()
	d := must[*DirStorage](t)(OpenDirStorage(dir))
	check(t, d.Close())
	opts := DirOptions{SyncEvery: 100}
	d = must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
	dirPut(t, d, "k1", "TORN-VALUE-1111")
	image := dirFile(t, dir) // OS crash: never synced
	d.Close()
	i := bytes.Index(image, []byte("TORN-VALUE-1111"))
	clear(image[i-4 : i+15])
	a8Img(t, dir, image)
	d = must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
	defer d.Close()
	if _, err := d.Get(ctx, []byte("k1")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("k1: %v, want ErrNotFound (file %x)", err, dirFile(t, dir)[:8])
	}
}

var _ = fmt.Sprint
