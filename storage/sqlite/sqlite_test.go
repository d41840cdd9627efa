package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
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

// TestMigration opens a database written by schema version 1 (no
// checksum column) and checks that its values read back and that the
// migrated store works; a database of a newer schema is refused.
func TestMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
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
	if _, err := tx.Exec(`PRAGMA user_version = 1`); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(tx.Commit(), db.Close()); err != nil {
		t.Fatal(err)
	}
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
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A newer schema is refused.
	db, err = sql.Open("sqlite", "file:"+path)
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
	if _, err := s.db.Exec(`UPDATE kv SET v = ? WHERE k = ?`, []byte("X"), []byte("bad")); err != nil {
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

const lockChildEnv = "MLS_SQLITE_LOCK_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(lockChildEnv); path != "" {
		if _, err := Open(ctx, path); err != nil {
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
// opened (mls.ErrLocked), and that the lock dies with its holder.
func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mls.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+path)
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
	if _, err := Open(ctx, path); !errors.Is(err, mls.ErrLocked) {
		t.Fatalf("opening a database another process holds: %v, want ErrLocked", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("opening after the holder was killed: %v", err)
	}
	s.Close()
}
