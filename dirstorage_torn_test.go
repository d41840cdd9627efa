package mls

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlscore/mlscore/internal/testrun"
)

func writeImage(t *testing.T, dir string, image []byte) {
	t.Helper()
	check(t, os.WriteFile(filepath.Join(dir, dirDataFile), image, 0o600))
}

// Default mode, OS crash during Commit's fsync: the appended record's
// header page lost (zeros past the old end), a later page and the size kept.
func TestDirStorageDefaultZeroedHeader(t *testing.T) {
	dir := t.TempDir()
	d := must[*DirStorage](t)(OpenDirStorage(dir))
	dirPut(t, d, "k0", "zero")
	at := len(dirFile(t, dir))
	dirPut(t, d, "k1", string(bytes.Repeat([]byte("A"), 10000)))
	image := dirFile(t, dir)
	d.Close()
	clear(image[at:4096])
	writeImage(t, dir, image)
	d, err := OpenDirStorage(dir)
	if err != nil {
		t.Fatalf("open after an OS crash during the last commit's fsync: %v", err)
	}
	defer d.Close()
}

// Default mode, same crash, the header page kept and a value page lost.
func TestDirStorageDefaultTornValue(t *testing.T) {
	dir := t.TempDir()
	d := must[*DirStorage](t)(OpenDirStorage(dir))
	dirPut(t, d, "k0", "zero")
	dirPut(t, d, "k1", string(bytes.Repeat([]byte("A"), 10000)))
	image := dirFile(t, dir)
	d.Close()
	clear(image[4096:8192])
	writeImage(t, dir, image)
	d = must[*DirStorage](t)(OpenDirStorage(dir))
	defer d.Close()
	if _, err := d.Get(ctx, []byte("k1")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("k1: %v, want ErrNotFound (its commit never completed)", err)
	}
}

// A file created in the default mode (magic only) then used with group
// commit: open appends no mark, so tornFrom treats every later record as
// synced.
func TestDirStorageMagicOnlyThenGroupCommit(t *testing.T) {
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
	writeImage(t, dir, image)
	d = must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
	defer d.Close()
	if _, err := d.Get(ctx, []byte("k1")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("k1: %v, want ErrNotFound (file %x)", err, dirFile(t, dir)[:8])
	}
}

var _ = fmt.Sprint

// histories is the number of random histories a store test plays: short by
// default, long with MLS_LONG=1 (each history syncs the file many times).
func histories(short, long int64) int64 {
	if testrun.Long() {
		return long
	}
	return short
}
