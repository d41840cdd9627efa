package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	mls "github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/storagetest"
)

var ctx = context.Background()

var backend = storagetest.Backend{Open: func(t *testing.T, dir string) mls.Storage {
	s, err := Open(ctx, filepath.Join(dir, "mls.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}}

func TestConformance(t *testing.T) { storagetest.Run(t, backend) }

func TestForwardSecrecy(t *testing.T) { storagetest.RunForwardSecrecy(t, backend) }

// TestOverwrite: a Welcome for a group id the store holds fails with
// mls.ErrGroupExists and leaves the stored group intact
// (storagetest.RunOverwrite).
func TestOverwrite(t *testing.T) { storagetest.RunOverwrite(t, backend) }

// TestKeepRecords keeps every record in the database, exports the log
// with Client.ExportLog and replays it with package replay (what mls
// replay reads).
func TestKeepRecords(t *testing.T) { storagetest.RunKeepRecords(t, backend) }

// TestCrashSafety kills a child process that runs two members on SQLite
// databases at random points (storagetest.RunCrash): after every kill no
// old epoch's secret is in the database or its journal, the members
// recover and agree, and no application message is delivered twice.
// MLS_CRASH_KILLS sets the number of kills (10 by default; CI runs 200).
func TestCrashSafety(t *testing.T) { storagetest.RunCrash(t, backend, 0) }

// TestMigration opens databases written by every older schema version
// (1: no checksum column; 2: a WITHOUT ROWID table) and checks that their
// values read back and that the migrated store works; a database of a
// newer schema is refused.
func TestMigration(t *testing.T) {
	for v := 1; v < SchemaVersion; v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) { testMigration(t, v) })
	}
}

// oldDatabase writes a database of schema version v holding a = "one"
// and b = "".
func oldDatabase(t *testing.T, path string, v int) {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := migrations[0](ctx, tx); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO kv (k, v) VALUES (?, ?), (?, ?)`, []byte("a"), []byte("one"), []byte("b"), []byte{}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < v; i++ {
		if err := migrations[i](ctx, tx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, v)); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(tx.Commit(), db.Close()); err != nil {
		t.Fatal(err)
	}
}

func testMigration(t *testing.T, v int) {
	path := filepath.Join(t.TempDir(), "old.db")
	oldDatabase(t, path, v)
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"a": "one", "b": ""} {
		v, err := s.Get(ctx, []byte(k))
		if err != nil || string(v) != want {
			t.Fatalf("Get(%q) after migration = %q, %v", k, v, err)
		}
	}
	var b mls.Batch
	b.Put([]byte("c"), []byte("three"))
	if err := s.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	var ddl string
	if err := s.conn.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE name = 'kv'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ddl, "WITHOUT ROWID") || !strings.Contains(ddl, "sum") {
		t.Fatalf("table after migration: %s", ddl)
	}
	if keys, err := s.Keys(ctx, nil); err != nil || len(keys) != 3 {
		t.Fatalf("Keys after migration: %q, %v", keys, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A newer schema is refused.
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(ctx, path); !errors.Is(err, ErrSchema) {
		t.Fatalf("opening a newer schema: %v, want ErrSchema", err)
	}
}

// TestDamagedValue checks that a value whose checksum fails reads as
// mls.ErrDamaged, and only that one.
func TestDamagedValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mls.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var b mls.Batch
	b.Put([]byte("good"), []byte("1"))
	b.Put([]byte("bad"), []byte("2"))
	if err := s.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if _, err := s.conn.ExecContext(ctx, `UPDATE kv SET v = ? WHERE k = ?`, []byte("X"), []byte("bad")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, []byte("bad")); !errors.Is(err, mls.ErrDamaged) {
		t.Fatalf("damaged value: %v", err)
	}
	if v, err := s.Get(ctx, []byte("good")); err != nil || string(v) != "1" {
		t.Fatalf("intact value: %q, %v", v, err)
	}
	s.Close()
}

const (
	lockChildEnv     = "MLS_SQLITE_LOCK_CHILD"
	lockChildSyncEnv = "MLS_SQLITE_LOCK_CHILD_SYNC_EVERY" // the child's Options.SyncEvery
)

func TestMain(m *testing.M) {
	if path := os.Getenv(lockChildEnv); path != "" {
		k, _ := strconv.Atoi(os.Getenv(lockChildSyncEnv))
		if _, err := OpenWith(ctx, path, Options{SyncEvery: k}); err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(2)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// TestLock checks that a database another process holds cannot be
// opened (mls.ErrLocked), and that the lock dies with its holder: with
// either journal, whichever one the holder or the second opener uses.
func TestLock(t *testing.T) {
	for _, c := range []struct{ holder, opener int }{{0, 0}, {64, 64}, {0, 64}, {64, 0}} {
		t.Run(fmt.Sprintf("SyncEvery=%d,%d", c.holder, c.opener), func(t *testing.T) {
			testLock(t, c.holder, c.opener)
		})
	}
}

func testLock(t *testing.T, holder, opener int) {
	path := filepath.Join(t.TempDir(), "mls.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+path, fmt.Sprintf("%s=%d", lockChildSyncEnv, holder))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	buf := make([]byte, 256)
	n, _ := out.Read(buf)
	if string(buf[:n]) != "locked\n" {
		t.Fatalf("child: %q", buf[:n])
	}
	if _, err := OpenWith(ctx, path, Options{SyncEvery: opener}); !errors.Is(err, mls.ErrLocked) {
		t.Fatalf("opening a database another process holds: %v, want ErrLocked", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	s, err := OpenWith(ctx, path, Options{SyncEvery: opener})
	if err != nil {
		t.Fatalf("opening after the holder was killed: %v", err)
	}
	s.Close()
}

// syncEvery is a backend with Options.SyncEvery k.
func syncEvery(k int) storagetest.Backend {
	return storagetest.Backend{Open: func(t *testing.T, dir string) mls.Storage {
		s, err := OpenWith(ctx, filepath.Join(dir, "mls.db"), Options{SyncEvery: k})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}
}

// flushing is a Store with Options.SyncEvery whose every Commit is
// followed by Flush: the conformance suite's durability and erasure checks
// then hold after each commit, and run through the write-ahead log and
// its checkpoints.
type flushing struct{ *Store }

func (f flushing) Commit(ctx context.Context, b *mls.Batch) error {
	return errors.Join(f.Store.Commit(ctx, b), f.Flush())
}

func TestConformanceSyncEvery(t *testing.T) {
	b := storagetest.Backend{Open: func(t *testing.T, dir string) mls.Storage {
		return flushing{syncEvery(1000).Open(t, dir).(*Store)}
	}}
	storagetest.Run(t, b)
	storagetest.RunForwardSecrecy(t, b)
}

// TestCrashSafetySyncEvery is the crash test on stores with
// Options.SyncEvery 8, with 5 kills (MLS_CRASH_KILLS does not apply): a
// killed process loses nothing the kernel holds, so every committed
// operation survives, and reopening erases, at its checkpoint, the values
// the unsynced commits replaced.
func TestCrashSafetySyncEvery(t *testing.T) { storagetest.RunCrash(t, syncEvery(8), 5) }

// dirHolds reports whether a file in dir holds v, and which files dir
// holds.
func dirHolds(t *testing.T, dir string, v string) (bool, []string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	var names []string
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, e.Name())
		found = found || bytes.Contains(data, []byte(v))
	}
	return found, names
}

func put(t *testing.T, s *Store, k, v string) {
	t.Helper()
	var b mls.Batch
	b.Put([]byte(k), []byte(v))
	if err := s.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
}

// TestSyncEvery checks the write-ahead log mode: a replaced value stays in
// the files (the log) until the checkpoint on the SyncEvery-th commit,
// Flush or Close, and then no byte of it remains in any file; no shared
// memory file is made; reads see every commit at once; and a database
// moves between the two modes with its values.
func TestSyncEvery(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mls.db")
	s, err := OpenWith(ctx, path, Options{SyncEvery: 3})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, "k", "OLD-SECRET-1") // commit 1 of 3
	put(t, s, "k", "NEW-VALUE-22") // commit 2
	if v, err := s.Get(ctx, []byte("k")); err != nil || string(v) != "NEW-VALUE-22" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	found, names := dirHolds(t, dir, "OLD-SECRET-1")
	if !found || !slices.Contains(names, "mls.db-wal") {
		t.Fatalf("before the checkpoint: replaced value found %v, files %q: want it in the log mls.db-wal", found, names)
	}
	// What a crash now leaves: the files as they are, copied.
	crashed := []string{t.TempDir(), t.TempDir()}
	for _, d := range crashed {
		for _, name := range names {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	put(t, s, "j", "x") // commit 3: the checkpoint
	if found, names := dirHolds(t, dir, "OLD-SECRET-1"); found {
		t.Fatalf("the replaced value is still in the files %q after the checkpoint", names)
	}
	put(t, s, "k", "THIRD-VALUE-")
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if found, names := dirHolds(t, dir, "NEW-VALUE-22"); found {
		t.Fatalf("Flush left a replaced value in the files %q", names)
	}
	put(t, s, "k", "FOURTH-VALUE")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	found, names = dirHolds(t, dir, "THIRD-VALUE-")
	if found || slices.Contains(names, "mls.db-shm") {
		t.Fatalf("after Close: replaced value found %v, files %q (no shared memory file wanted)", found, names)
	}
	// Opening what a crash left, in either mode, keeps the commits and
	// erases the values they replaced.
	for i, k := range []int{0, 3} {
		c, err := OpenWith(ctx, filepath.Join(crashed[i], "mls.db"), Options{SyncEvery: k})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := c.Get(ctx, []byte("k")); err != nil || string(v) != "NEW-VALUE-22" {
			t.Fatalf("after a crash, opened with SyncEvery %d: %q, %v", k, v, err)
		}
		if found, names := dirHolds(t, crashed[i], "OLD-SECRET-1"); found || slices.Contains(names, "mls.db-shm") {
			t.Fatalf("after a crash, opened with SyncEvery %d: replaced value found %v, files %q (no shared memory file wanted)", k, found, names)
		}
		c.Close()
	}
	// The default mode reads it, and the log mode again after that.
	want := "FOURTH-VALUE"
	for _, k := range []int{0, 3} {
		s, err = OpenWith(ctx, path, Options{SyncEvery: k})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := s.Get(ctx, []byte("k")); err != nil || string(v) != want {
			t.Fatalf("reopened with SyncEvery %d: %q, %v; want %q", k, v, err, want)
		}
		want = fmt.Sprintf("VALUE-OF-%d", k)
		put(t, s, "k", want)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, names := dirHolds(t, dir, ""); slices.Contains(names, "mls.db-wal") && k == 0 {
			t.Fatalf("the default mode left a write-ahead log: %q", names)
		}
	}
}

// endingCtx is a context whose Err reports context.Canceled from its
// (n+1)-th call on.
type endingCtx struct {
	context.Context
	n int
}

func (c *endingCtx) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

// TestCommitCanceled checks that a context that ends between two of a
// batch's statements ends the Commit with its error and leaves nothing of
// the batch, in either mode, and that the store goes on.
func TestCommitCanceled(t *testing.T) {
	for _, k := range []int{0, 64} {
		t.Run(fmt.Sprintf("SyncEvery=%d", k), func(t *testing.T) {
			s, err := OpenWith(ctx, filepath.Join(t.TempDir(), "mls.db"), Options{SyncEvery: k})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			put(t, s, "a", "old")
			var b mls.Batch
			b.Put([]byte("a"), []byte("new"))
			b.Put([]byte("b"), []byte("x"))
			b.Delete([]byte("a"))
			// Commit's first check and the first two operations' pass.
			if err := s.Commit(&endingCtx{ctx, 3}, &b); !errors.Is(err, context.Canceled) {
				t.Fatalf("Commit with a context that ends: %v, want context.Canceled", err)
			}
			if v, err := s.Get(ctx, []byte("a")); err != nil || string(v) != "old" {
				t.Fatalf("a after the canceled Commit: %q, %v; want %q", v, err, "old")
			}
			if _, err := s.Get(ctx, []byte("b")); !errors.Is(err, mls.ErrNotFound) {
				t.Fatalf("b after the canceled Commit: %v, want ErrNotFound", err)
			}
			if err := s.Commit(ctx, &b); err != nil {
				t.Fatal(err)
			}
			if keys, err := s.Keys(ctx, nil); err != nil || len(keys) != 1 || string(keys[0]) != "b" {
				t.Fatalf("Keys after the batch: %q, %v", keys, err)
			}
			if _, err := s.Keys(&endingCtx{ctx, 1}, nil); !errors.Is(err, context.Canceled) {
				t.Fatalf("Keys with a context that ends: %v, want context.Canceled", err)
			}
		})
	}
}
