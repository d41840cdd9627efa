package mls

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests of this file come from an audit of the sync marks and of the
// shell's group lifecycle; each failed before its fix.

func dirPut2(t *testing.T, d *DirStorage, k1, v1, k2, v2 string) {
	t.Helper()
	var b Batch
	b.Put([]byte(k1), []byte(v1))
	b.Put([]byte(k2), []byte(v2))
	check(t, d.Commit(ctx, &b))
}

// TestDirStorageEraseAtOnceKeepsFlushed: under EraseAtOnce, a commit after
// a Flush erases a value of a flushed record at once; an operating system
// crash loses that commit but keeps the erasure. The flushed commits stay
// (the sync mark is durable with the sync), only the erased key is
// damaged.
func TestDirStorageEraseAtOnceKeepsFlushed(t *testing.T) {
	dir := t.TempDir()
	opts := DirOptions{SyncEvery: 8, EraseAtOnce: true}
	d := must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
	dirPut2(t, d, "base", "B", "x0", "-")
	check(t, d.Flush())
	dirPut2(t, d, "x", "value-one", "y", "flushed-y")
	dirPut2(t, d, "z", "flushed-z", "w", "flushed-w")
	check(t, d.Flush())
	flushed := len(dirFile(t, dir))
	dirPut2(t, d, "x", "value-two-longer", "q", "unsynced") // erases the flushed x at once
	image := dirFile(t, dir)
	d.Close()
	check(t, os.WriteFile(filepath.Join(dir, dirDataFile), image[:flushed], 0o600))
	d = must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
	defer d.Close()
	for _, k := range []string{"base", "y", "z", "w"} {
		if _, err := d.Get(ctx, []byte(k)); err != nil {
			t.Errorf("flushed key %s: %v", k, err)
		}
	}
	if _, err := d.Get(ctx, []byte("x")); !errors.Is(err, ErrDamaged) {
		t.Errorf("x: %v, want ErrDamaged", err)
	}
}

// TestDirStorageNoMarkDamageReported: a file without sync marks (written
// without group commit, or by an older version) is taken as synced when
// opened with group commit: a damaged value is reported, and the records
// after it — here a key rewritten by every commit, as a group's state is —
// are kept.
func TestDirStorageNoMarkDamageReported(t *testing.T) {
	dir := t.TempDir()
	d := must[*DirStorage](t)(OpenDirStorage(dir))
	dirPut(t, d, "a", "AAAAAAAAAAAAAAAA")
	dirPut(t, d, "b", "written-early")
	for i := range 200 {
		dirPut(t, d, "k", strings.Repeat("v", 10+i%2)) // another length each time: appended
	}
	dirPut(t, d, "c", "CCCCCCCCCCCCCCCC")
	d.Close()
	data := dirFile(t, dir)
	data[bytes.Index(data, []byte("AAAA"))] = 'Z'
	data[bytes.LastIndex(data, []byte("vvvv"))] = 'w'
	check(t, os.WriteFile(filepath.Join(dir, dirDataFile), data, 0o600))
	d = must[*DirStorage](t)(OpenDirStorageWith(dir, DirOptions{SyncEvery: 4}))
	defer d.Close()
	for _, k := range []string{"a", "k"} {
		if _, err := d.Get(ctx, []byte(k)); !errors.Is(err, ErrDamaged) {
			t.Errorf("%s: %v, want ErrDamaged", k, err)
		}
	}
	for _, k := range []string{"b", "c"} {
		if _, err := d.Get(ctx, []byte(k)); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
}

// TestDirStorageDamagedHeaderBeforeMark: under group commit, a damaged
// record header that a sync mark follows was synced: the open reports it
// (ErrDamaged) instead of cutting the file there.
func TestDirStorageDamagedHeaderBeforeMark(t *testing.T) {
	dir := t.TempDir()
	opts := DirOptions{SyncEvery: 4}
	d := must[*DirStorage](t)(OpenDirStorageWith(dir, opts))
	dirPut(t, d, "a", "AAAA")
	check(t, d.Flush())
	dirPut(t, d, "b", "BBBB")
	d.Close()
	data := dirFile(t, dir)
	first := len(dirMagic) + len(dirMark) // a new group-commit file starts with a mark
	data[first+15] ^= 0xff                // the first record's key
	check(t, os.WriteFile(filepath.Join(dir, dirDataFile), data, 0o600))
	if _, err := OpenDirStorageWith(dir, opts); !errors.Is(err, ErrDamaged) {
		t.Fatalf("open: %v, want ErrDamaged", err)
	}
	if got := dirFile(t, dir); !bytes.Equal(got, data) {
		t.Fatal("the failed open changed the file")
	}
}

// TestDirStorageDamagedHeaderBeforeLargeValue: the scan for a record after
// a damaged header rejects random bytes by their header's shape before
// their CRC: a torn header before 8 MB of random value opens (the record
// cut) without reading each candidate's claimed length.
func TestDirStorageDamagedHeaderBeforeLargeValue(t *testing.T) {
	dir := t.TempDir()
	d := must[*DirStorage](t)(OpenDirStorage(dir))
	dirPut(t, d, "small", "kept")
	v := make([]byte, 8<<20)
	rand.New(rand.NewSource(1)).Read(v)
	var b Batch
	b.Put([]byte("big"), v)
	check(t, d.Commit(ctx, &b))
	d.Close()
	data := dirFile(t, dir)
	at := bytes.Index(data, []byte("big")) - 15 // the big record's start
	data[at+4] ^= 1                             // its header CRC
	check(t, os.WriteFile(filepath.Join(dir, dirDataFile), data, 0o600))
	d = must[*DirStorage](t)(OpenDirStorage(dir))
	defer d.Close()
	if _, err := d.Get(ctx, []byte("big")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("big: %v, want ErrNotFound (a torn final record)", err)
	}
	if v, err := d.Get(ctx, []byte("small")); err != nil || string(v) != "kept" {
		t.Fatalf("small = %q, %v", v, err)
	}
}

// blockOnce is a Storage whose first Get of key (or Keys of prefix) once
// armed waits until released.
type blockOnce struct {
	Storage
	mu               sync.Mutex
	getKey, keysPfx  []byte
	reached, release chan struct{}
}

func (s *blockOnce) arm(get, keys []byte) {
	s.mu.Lock()
	s.getKey, s.keysPfx = get, keys
	s.reached, s.release = make(chan struct{}), make(chan struct{})
	s.mu.Unlock()
}

// stop waits until released if p is the armed key (*armed), disarming it.
func (s *blockOnce) stop(armed *[]byte, p []byte) {
	s.mu.Lock()
	hit := *armed != nil && bytes.Equal(p, *armed)
	if hit {
		*armed = nil
	}
	s.mu.Unlock()
	if hit {
		close(s.reached)
		<-s.release
	}
}

func (s *blockOnce) Get(ctx context.Context, key []byte) ([]byte, error) {
	s.stop(&s.getKey, key)
	return s.Storage.Get(ctx, key)
}

func (s *blockOnce) Keys(ctx context.Context, prefix []byte) ([][]byte, error) {
	s.stop(&s.keysPfx, prefix)
	return s.Storage.Keys(ctx, prefix)
}

func waitReached(t *testing.T, s *blockOnce, early chan error) {
	t.Helper()
	select {
	case <-s.reached:
	case err := <-early:
		t.Fatalf("returned before the storage call it should wait in: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("timeout")
	}
}

// TestDeleteGroupDuringFailedStart: DeleteGroup of a stored group while a
// JoinExternal of the same id (which fails: the id is stored) holds it
// reserved: DeleteGroup waits for the start, and when it failed deletes
// the stored group — no nil log, no panic.
func TestDeleteGroupDuringFailedStart(t *testing.T) {
	store := &blockOnce{Storage: NewMemoryStorage()}
	alice, bob := aliceAndBob(t, store)
	id := bob.g.ID()
	check(t, bob.g.Close())
	gi := must[[]byte](t)(alice.g.GroupInfo(true))
	store.arm(groupKey("g/", id), nil) // checkNotStored's read
	joined := make(chan error, 1)
	go func() {
		_, _, err := bob.c.JoinExternal(gi, &ExternalJoinOptions{RemovePrior: true})
		joined <- err
	}()
	waitReached(t, store, joined)
	deleted := make(chan error, 1)
	go func() { deleted <- bob.c.DeleteGroup(id) }()
	time.Sleep(20 * time.Millisecond) // DeleteGroup reaches the reserved Group (or not yet: either way)
	close(store.release)
	if err := <-joined; !errors.Is(err, ErrGroupExists) {
		t.Fatalf("JoinExternal: %v, want ErrGroupExists", err)
	}
	check(t, <-deleted)
	if _, err := bob.c.OpenGroup(id); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenGroup after DeleteGroup: %v", err)
	}
}

// TestOpenGroupDuringDelete: an OpenGroup reading a group while another
// goroutine opens and deletes it does not bring the deleted group back.
func TestOpenGroupDuringDelete(t *testing.T) {
	store := &blockOnce{Storage: NewMemoryStorage()}
	_, bob := aliceAndBob(t, store)
	id := bob.g.ID()
	check(t, bob.g.Close())
	store.arm(nil, groupKey("r/", id)) // the first OpenGroup's read of the records
	type res struct {
		g   *Group
		err error
	}
	first := make(chan res, 1)
	early := make(chan error, 1)
	go func() {
		g, err := bob.c.OpenGroup(id)
		early <- err
		first <- res{g, err}
	}()
	waitReached(t, store, early)
	must[*Group](t)(bob.c.OpenGroup(id))
	check(t, bob.c.DeleteGroup(id)) // the open Group's Delete
	close(store.release)
	if r := <-first; !errors.Is(r.err, os.ErrNotExist) {
		t.Fatalf("OpenGroup of a group deleted meanwhile: %v (a Group: %v), want ErrNotExist", r.err, r.g != nil)
	}
}
