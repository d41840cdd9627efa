// Package storagetest is the conformance suite of mls.Storage backends:
// a backend's tests call Run with a function that opens the backend's
// store in a directory, and the suite checks every guarantee that
// mls.Storage documents — values and keys as stored, copies in and out,
// sorted prefix listings, the limits, batches applied in order and
// atomically visible, concurrent use, cancelled contexts, durability
// across reopening, and erasure: once a value is replaced or deleted, no
// byte of it remains in the store's files.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	mls "github.com/mlscore/mlscore"
)

// Backend describes the backend under test.
type Backend struct {
	// Open opens (or creates) the store kept in dir, an empty directory
	// the first time. The suite closes the store it returns (if it has a
	// Close method) before opening dir again.
	Open func(t *testing.T, dir string) mls.Storage
	// Volatile marks a backend that keeps nothing across Close (a memory
	// store): the durability and file-erasure checks are skipped.
	Volatile bool
}

var ctx = context.Background()

func closeStore(t *testing.T, s mls.Storage) {
	t.Helper()
	if c, ok := s.(interface{ Close() error }); ok {
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

func open(t *testing.T, b Backend, dir string) mls.Storage {
	t.Helper()
	s := b.Open(t, dir)
	t.Cleanup(func() {
		if c, ok := s.(interface{ Close() error }); ok {
			c.Close()
		}
	})
	return s
}

func commit(t *testing.T, s mls.Storage, ops ...mls.BatchOp) {
	t.Helper()
	var b mls.Batch
	for _, op := range ops {
		if op.Delete {
			b.Delete(op.Key)
		} else {
			b.Put(op.Key, op.Value)
		}
	}
	if err := s.Commit(ctx, &b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func put(k, v string) mls.BatchOp { return mls.BatchOp{Key: []byte(k), Value: []byte(v)} }
func del(k string) mls.BatchOp    { return mls.BatchOp{Key: []byte(k), Delete: true} }

func wantValue(t *testing.T, s mls.Storage, k, v string) {
	t.Helper()
	got, err := s.Get(ctx, []byte(k))
	if err != nil {
		t.Fatalf("Get(%q): %v", k, err)
	}
	if string(got) != v {
		t.Fatalf("Get(%q) = %q, want %q", k, got, v)
	}
}

func wantAbsent(t *testing.T, s mls.Storage, k string) {
	t.Helper()
	got, err := s.Get(ctx, []byte(k))
	if !errors.Is(err, mls.ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", k, got, err)
	}
}

func wantKeys(t *testing.T, s mls.Storage, prefix string, want ...string) {
	t.Helper()
	keys, err := s.Keys(ctx, []byte(prefix))
	if err != nil {
		t.Fatalf("Keys(%q): %v", prefix, err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, string(k))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Keys(%q) = %q, want %q", prefix, got, want)
	}
}

// Run runs the conformance suite on the backend.
func Run(t *testing.T, b Backend) {
	t.Run("PutGetDelete", func(t *testing.T) {
		s := open(t, b, t.TempDir())
		wantAbsent(t, s, "a")
		commit(t, s, put("a", "1"), put("b", ""), put("\x00\xff", "bin"))
		wantValue(t, s, "a", "1")
		wantValue(t, s, "b", "")
		wantValue(t, s, "\x00\xff", "bin")
		commit(t, s, put("a", "2"))
		wantValue(t, s, "a", "2")
		commit(t, s, del("a"), del("never-stored"))
		wantAbsent(t, s, "a")
		wantValue(t, s, "b", "")
	})
	t.Run("BatchOrder", func(t *testing.T) {
		s := open(t, b, t.TempDir())
		commit(t, s, put("k", "1"), put("k", "2"), put("d", "x"), del("d"), del("e"), put("e", "3"))
		wantValue(t, s, "k", "2")
		wantAbsent(t, s, "d")
		wantValue(t, s, "e", "3")
		var empty mls.Batch
		if err := s.Commit(ctx, &empty); err != nil {
			t.Fatalf("empty batch: %v", err)
		}
	})
	t.Run("Copies", func(t *testing.T) {
		s := open(t, b, t.TempDir())
		k, v := []byte("key"), []byte("value")
		commit(t, s, mls.BatchOp{Key: k, Value: v})
		k[0], v[0] = 'X', 'X'
		wantValue(t, s, "key", "value")
		got, _ := s.Get(ctx, []byte("key"))
		got[0] = 'Y'
		wantValue(t, s, "key", "value")
		keys, err := s.Keys(ctx, nil)
		if err != nil || len(keys) != 1 {
			t.Fatalf("Keys(nil) = %q, %v; want one key", keys, err)
		}
		keys[0][0] = 'Z'
		wantKeys(t, s, "", "key")
	})
	t.Run("Keys", func(t *testing.T) {
		s := open(t, b, t.TempDir())
		commit(t, s, put("g/b", "1"), put("g/a", "1"), put("g", "1"), put("g/a/x", "1"), put("h", "1"), put("g\xff", "1"), put("f\xff", "1"))
		wantKeys(t, s, "g/", "g/a", "g/a/x", "g/b")
		wantKeys(t, s, "g", "g", "g/a", "g/a/x", "g/b", "g\xff")
		wantKeys(t, s, "", "f\xff", "g", "g/a", "g/a/x", "g/b", "g\xff", "h")
		wantKeys(t, s, "x")
		commit(t, s, del("g/a"))
		wantKeys(t, s, "g/", "g/a/x", "g/b")
	})
	t.Run("Limits", func(t *testing.T) {
		s := open(t, b, t.TempDir())
		var bad mls.Batch
		bad.Put([]byte("ok"), []byte("1"))
		bad.Put(nil, []byte("empty key"))
		if err := s.Commit(ctx, &bad); err == nil {
			t.Fatal("a batch with an empty key committed")
		}
		wantAbsent(t, s, "ok") // nothing of a failed batch is applied
		long := bytes.Repeat([]byte{'k'}, mls.MaxKeyLen)
		big := bytes.Repeat([]byte{7}, 1<<20)
		commit(t, s, mls.BatchOp{Key: long, Value: big})
		got, err := s.Get(ctx, long)
		if err != nil || !bytes.Equal(got, big) {
			t.Fatalf("longest key with a 1 MiB value: %v", err)
		}
		var tooLong mls.Batch
		tooLong.Put(append(long, 'k'), nil)
		if err := s.Commit(ctx, &tooLong); err == nil {
			t.Fatal("a key over MaxKeyLen committed")
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		s := open(t, b, t.TempDir())
		c, cancel := context.WithCancel(ctx)
		cancel()
		var bt mls.Batch
		bt.Put([]byte("a"), []byte("1"))
		if err := s.Commit(c, &bt); !errors.Is(err, context.Canceled) {
			t.Fatalf("Commit with a cancelled context: %v", err)
		}
		wantAbsent(t, s, "a")
		if _, err := s.Get(c, []byte("a")); !errors.Is(err, context.Canceled) {
			t.Fatalf("Get with a cancelled context: %v", err)
		}
		if _, err := s.Keys(c, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("Keys with a cancelled context: %v", err)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := open(t, b, t.TempDir())
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 20 {
					var bt mls.Batch
					bt.Put(fmt.Appendf(nil, "g%d/%02d", g, i), fmt.Appendf(nil, "v%d", i))
					bt.Put(fmt.Appendf(nil, "g%d/last", g), fmt.Appendf(nil, "%d", i))
					if err := s.Commit(ctx, &bt); err != nil {
						errs <- err
						return
					}
					if _, err := s.Get(ctx, fmt.Appendf(nil, "g%d/last", g)); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for g := range 8 {
			keys, err := s.Keys(ctx, fmt.Appendf(nil, "g%d/", g))
			if err != nil || len(keys) != 21 {
				t.Fatalf("group %d: %d keys, %v", g, len(keys), err)
			}
			wantValue(t, s, fmt.Sprintf("g%d/last", g), "19")
		}
	})
	if b.Volatile {
		return
	}
	t.Run("Durable", func(t *testing.T) {
		dir := t.TempDir()
		s := b.Open(t, dir)
		commit(t, s, put("a", "1"), put("b", "2"), put("c", "3"))
		commit(t, s, put("a", "4"), del("b"))
		closeStore(t, s)
		s = open(t, b, dir)
		wantValue(t, s, "a", "4")
		wantAbsent(t, s, "b")
		wantValue(t, s, "c", "3")
		wantKeys(t, s, "", "a", "c")
	})
	t.Run("Erasure", func(t *testing.T) {
		dir := t.TempDir()
		s := b.Open(t, dir)
		secret := func(i int) []byte { return fmt.Appendf(nil, "SECRET-%04d-%s", i, bytes.Repeat([]byte{'#'}, 40)) }
		// Values replaced and deleted, in batches of several kinds, and
		// enough of them that a backend compacts its files.
		for i := range 300 {
			var bt mls.Batch
			bt.Put([]byte("state"), secret(i))
			bt.Put(fmt.Appendf(nil, "key/%d", i), secret(1000+i))
			if i > 0 {
				bt.Delete(fmt.Appendf(nil, "key/%d", i-1))
			}
			bt.Put([]byte("big"), append(secret(2000+i), make([]byte, 8<<10)...))
			if err := s.Commit(ctx, &bt); err != nil {
				t.Fatal(err)
			}
		}
		live := [][]byte{secret(299), secret(1299), secret(2299)}
		check := func(when string) {
			t.Helper()
			found := map[string]bool{}
			err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				for i := range 300 {
					for _, base := range []int{0, 1000, 2000} {
						if v := secret(base + i); bytes.Contains(data, v) {
							found[string(v)] = true
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for v := range found {
				if !slices.ContainsFunc(live, func(l []byte) bool { return string(l) == v }) {
					t.Fatalf("%s: replaced or deleted value %q is still in the files", when, v[:11])
				}
			}
		}
		check("after the commits")
		closeStore(t, s)
		check("after Close")
		s = open(t, b, dir)
		check("after reopening")
		wantValue(t, s, "state", string(secret(299)))
		wantValue(t, s, "key/299", string(secret(1299)))
		wantKeys(t, s, "key/", "key/299")
	})
}
