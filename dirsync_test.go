package mls

import (
	"bytes"
	"errors"
	"fmt"
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
	dirPut(t, d, "k", "OLD-SECRET-1")  // commit 1: synced? no (1 of 3)
	dirPut(t, d, "k", "NEW-VALUE-222") // commit 2 (another length: not in place)
	if v, err := d.Get(ctx, []byte("k")); err != nil || string(v) != "NEW-VALUE-222" {
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
	if bytes.Contains(dirFile(t, dir), []byte("NEW-VALUE-222")) {
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
	dirPut(t, d, "a", "22") // another length: appended, not in place
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
	if got := dirFile(t, dir); len(got) != one+len(dirMark) || !bytes.HasSuffix(got, dirMark[:]) {
		t.Fatalf("file of %d bytes, want %d (the tail cut off, a sync mark after what was kept)", len(got), one+len(dirMark))
	}
}

// TestDirStorageInPlace checks that a batch putting one value of the
// length of the one it replaces overwrites it where it is — in every sync
// mode: the file does not grow, no byte of the old value remains before
// any sync, and the new value is read back, also after reopening — and
// that a value lying across a sector boundary is appended instead.
func TestDirStorageInPlace(t *testing.T) {
	for _, opts := range []DirOptions{{}, {SyncEvery: 100}} {
		dir := t.TempDir()
		d, err := OpenDirStorageWith(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		dirPut(t, d, "k", "OLD-SECRET-1")
		size := len(dirFile(t, dir))
		dirPut(t, d, "k", "NEW-SECRET-2")
		data := dirFile(t, dir)
		if len(data) != size || bytes.Contains(data, []byte("OLD-SECRET-1")) || !bytes.Contains(data, []byte("NEW-SECRET-2")) {
			t.Fatalf("%+v: not replaced in place: %d bytes (was %d), old value there: %v", opts, len(data), size, bytes.Contains(data, []byte("OLD-SECRET-1")))
		}
		if v, err := d.Get(ctx, []byte("k")); err != nil || string(v) != "NEW-SECRET-2" {
			t.Fatalf("Get = %q, %v", v, err)
		}
		// Pad the file so that the next value straddles a sector boundary.
		off := int64(len(dirFile(t, dir)))
		hdr := int64(8 + 4 + 1 + 2 + 1 + 4 + 4) // record header, key "p", value length, CRC
		pad := dirSector - (off+hdr)%dirSector + dirSector - (hdr + 4 + 5)
		dirPut(t, d, "p", string(bytes.Repeat([]byte{'.'}, int(pad))))
		dirPut(t, d, "s", "ACROSS-THE-EDGE")
		v := d.index["s"]
		if v.off/dirSector == (v.off+4+int64(v.n)-1)/dirSector {
			t.Fatalf("the test's value does not straddle a sector (offset %d)", v.off)
		}
		size = len(dirFile(t, dir))
		dirPut(t, d, "s", "ACROSS-THE-EDGF")
		if got := len(dirFile(t, dir)); got == size {
			t.Fatal("a value across a sector boundary was overwritten in place")
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		d, err = OpenDirStorageWith(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]string{"k": "NEW-SECRET-2", "s": "ACROSS-THE-EDGF"} {
			if v, err := d.Get(ctx, []byte(k)); err != nil || string(v) != want {
				t.Fatalf("%+v: after reopening %s = %q, %v", opts, k, v, err)
			}
		}
		d.Close()
	}
}

// TestDirStorageEraseAtOnce checks EraseAtOnce: under group commit a
// replaced value leaves the file when the commit returns, before any
// sync; and what an operating system crash can then leave — the erasure
// on disk, the unsynced record that replaced the value lost — reopens with
// that key damaged and the others intact.
func TestDirStorageEraseAtOnce(t *testing.T) {
	dir := t.TempDir()
	opts := DirOptions{SyncEvery: 100, EraseAtOnce: true}
	d, err := OpenDirStorageWith(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	dirPut(t, d, "a", "OLD-SECRET-1")
	dirPut(t, d, "b", "kept")
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	synced := len(dirFile(t, dir))
	dirPut(t, d, "a", "NEW-SECRET-22") // another length: appended
	image := dirFile(t, dir)
	if bytes.Contains(image, []byte("OLD-SECRET-1")) {
		t.Fatal("the replaced value is in the file before the sync, with EraseAtOnce")
	}
	if d.unsynced == 0 {
		t.Fatal("the commit was synced: the test checks nothing")
	}
	d.Close()
	// The operating system crash: the unsynced record lost, the erasure kept.
	if err := os.WriteFile(filepath.Join(dir, dirDataFile), image[:synced], 0o600); err != nil {
		t.Fatal(err)
	}
	d, err = OpenDirStorageWith(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if v, err := d.Get(ctx, []byte("a")); !errors.Is(err, ErrDamaged) {
		t.Fatalf("a = %q, %v; want ErrDamaged (its value erased, its replacement lost)", v, err)
	}
	if v, err := d.Get(ctx, []byte("b")); err != nil || string(v) != "kept" {
		t.Fatalf("b = %q, %v", v, err)
	}
}

// TestDirStorageDamagedAcrossCompaction: a damaged value (here erased by
// EraseAtOnce, its replacement lost to an operating system crash) keeps a
// place of its own through a compaction — it stays ErrDamaged, also after
// reopening — so that deleting it afterwards (what DeleteGroup does)
// zeroes its own bytes and nothing of the other keys'.
func TestDirStorageDamagedAcrossCompaction(t *testing.T) {
	dir := t.TempDir()
	opts := DirOptions{SyncEvery: 100, EraseAtOnce: true}
	d, err := OpenDirStorageWith(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	value := func(i int) string { return fmt.Sprintf("VALUE-%02d-................", i) }
	dirPut(t, d, "a", "OLD-SECRET-1")
	for i := range 50 {
		dirPut(t, d, fmt.Sprintf("live%02d", i), value(i))
	}
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	synced := len(dirFile(t, dir))
	dirPut(t, d, "a", "NEW-SECRET-22")
	image := dirFile(t, dir)
	d.Close()
	if err := os.WriteFile(filepath.Join(dir, dirDataFile), image[:synced], 0o600); err != nil {
		t.Fatal(err)
	}
	if d, err = OpenDirStorageWith(dir, opts); err != nil {
		t.Fatal(err)
	}
	d.compactMin = 1 // the next commit compacts
	dirPut(t, d, "live00", "VALUE-00-longer-than-before.....")
	d.compactMin = dirCompactMin
	d.Close()
	if d, err = OpenDirStorageWith(dir, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(ctx, []byte("a")); !errors.Is(err, ErrDamaged) {
		t.Fatalf("a after the compaction and a reopen: %v, want ErrDamaged", err)
	}
	var b Batch
	b.Delete([]byte("a"))
	if err := d.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		for i := 1; i < 50; i++ {
			k := fmt.Sprintf("live%02d", i)
			if v, err := d.Get(ctx, []byte(k)); err != nil || string(v) != value(i) {
				t.Fatalf("%s: %s = %q, %v", when, k, v, err)
			}
		}
	}
	check("after deleting the damaged key")
	d.Close()
	if d, err = OpenDirStorageWith(dir, DirOptions{}); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	check("after reopening")
}

// TestDirMark: the sync mark is the encoding of a record of no operations.
func TestDirMark(t *testing.T) {
	rec, _ := encodeDirRecord(nil)
	if !bytes.Equal(rec, dirMark[:]) {
		t.Fatalf("dirMark %x, a record of no operations %x", dirMark, rec)
	}
}

// TestDirStorageTornUnsyncedValue plays what an operating system crash can
// leave under group commit: a record written after the last sync whose
// header reached the disk but not its values (zeros). Reopened with group
// commit, the store ends before that record — its commit lost whole, the
// ones before intact — instead of reporting its keys damaged; the same
// damage in a record before the last sync is reported (ErrDamaged), and
// the records after it kept.
func TestDirStorageTornUnsyncedValue(t *testing.T) {
	opts := DirOptions{SyncEvery: 100}
	t.Run("after the last sync", func(t *testing.T) {
		dir := t.TempDir()
		d := must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
		dirPut(t, d, "a", "synced")
		check(t, d.Flush())
		before := len(dirFile(t, dir))
		var b Batch
		b.Put([]byte("b"), []byte("TORN-VALUE-BBBB"))
		b.Put([]byte("c"), []byte("TORN-VALUE-CCCC"))
		check(t, d.Commit(ctx, &b))
		dirPut(t, d, "e", "after")
		image := dirFile(t, dir)
		d.Close()
		i := bytes.Index(image, []byte("TORN-VALUE-CCCC"))
		clear(image[i-4 : i+15]) // c's CRC and bytes never reached the disk
		check(t, os.WriteFile(filepath.Join(dir, dirDataFile), image, 0o600))
		d = must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
		defer d.Close()
		if v, err := d.Get(ctx, []byte("a")); err != nil || string(v) != "synced" {
			t.Fatalf("a = %q, %v", v, err)
		}
		for _, k := range []string{"b", "c", "e"} {
			if _, err := d.Get(ctx, []byte(k)); !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s: %v, want ErrNotFound (the torn commit and the ones after it lost)", k, err)
			}
		}
		if got := len(dirFile(t, dir)); got != before {
			t.Fatalf("file of %d bytes, want %d (cut before the torn record)", got, before)
		}
	})
	t.Run("before the last sync", func(t *testing.T) {
		dir := t.TempDir()
		d := must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
		dirPut(t, d, "a", "DAMAGED-VALUE")
		dirPut(t, d, "b", "kept")
		check(t, d.Flush())
		dirPut(t, d, "e", "after")
		image := dirFile(t, dir)
		d.Close()
		i := bytes.Index(image, []byte("DAMAGED-VALUE"))
		image[i] ^= 1
		check(t, os.WriteFile(filepath.Join(dir, dirDataFile), image, 0o600))
		d = must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
		defer d.Close()
		if _, err := d.Get(ctx, []byte("a")); !errors.Is(err, ErrDamaged) {
			t.Fatalf("a: %v, want ErrDamaged", err)
		}
		for k, want := range map[string]string{"b": "kept", "e": "after"} {
			if v, err := d.Get(ctx, []byte(k)); err != nil || string(v) != want {
				t.Fatalf("%s = %q, %v", k, v, err)
			}
		}
	})
	t.Run("erased and replaced after the last sync", func(t *testing.T) {
		// EraseAtOnce zeroes a value of an unsynced record that a later
		// one replaced: no tear, nothing cut (a crash without Close).
		dir := t.TempDir()
		eopts := DirOptions{SyncEvery: 100, EraseAtOnce: true}
		d := must[*DirStorage](t)(OpenDirStorageWith(dir, eopts))
		dirPut(t, d, "k", "FIRST")
		dirPut(t, d, "k", "SECOND-LONGER")
		image := dirFile(t, dir)
		d.Close()
		check(t, os.WriteFile(filepath.Join(dir, dirDataFile), image, 0o600))
		d = must[*DirStorage](t)(OpenDirStorageWith(dir, eopts))
		defer d.Close()
		if v, err := d.Get(ctx, []byte("k")); err != nil || string(v) != "SECOND-LONGER" {
			t.Fatalf("k = %q, %v", v, err)
		}
	})
}

// TestDirStorageDamagedUnparsableHeader: a record in the middle of the
// file whose header is damaged so that it no longer parses (its operation
// kind) is damage, not a torn final record: the default open reports
// ErrDamaged instead of cutting every later record off. (From an audit.)
func TestDirStorageDamagedUnparsableHeader(t *testing.T) {
	dir := t.TempDir()
	d := must[*DirStorage](t)(OpenDirStorage(dir))
	dirPut(t, d, "a", "1")
	one := len(dirFile(t, dir))
	dirPut(t, d, "b", "22")
	dirPut(t, d, "c", "333")
	image := dirFile(t, dir)
	d.Close()
	image[one+12] = 9 // the second record's operation kind (after its length, CRC and count)
	check(t, os.WriteFile(filepath.Join(dir, dirDataFile), image, 0o600))
	if _, err := OpenDirStorage(dir); !errors.Is(err, ErrDamaged) {
		t.Fatalf("open: %v, want ErrDamaged", err)
	}
	if got := dirFile(t, dir); !bytes.Equal(got, image) {
		t.Fatal("the failed open changed the file")
	}
}
