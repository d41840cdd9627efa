package storagetest_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	mls "github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/storagetest"
)

func TestMemoryStorage(t *testing.T) {
	storagetest.Run(t, storagetest.Backend{
		Open:     func(t *testing.T, dir string) mls.Storage { return mls.NewMemoryStorage() },
		Volatile: true,
	})
}

func TestDirStorage(t *testing.T) {
	storagetest.Run(t, storagetest.Backend{Open: func(t *testing.T, dir string) mls.Storage {
		s, err := mls.OpenDirStorage(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}})
}

// flushing is a DirStorage with group commit (DirOptions.SyncEvery) whose
// every Commit is followed by Flush: the suite's durability and erasure
// checks then hold after each commit, and run through the deferred
// erasure of group commit.
type flushing struct{ *mls.DirStorage }

func (f flushing) Commit(ctx context.Context, b *mls.Batch) error {
	return errors.Join(f.DirStorage.Commit(ctx, b), f.Flush())
}

func TestDirStorageGroupCommit(t *testing.T) {
	b := storagetest.Backend{Open: func(t *testing.T, dir string) mls.Storage {
		s, err := mls.OpenDirStorageWith(dir, mls.DirOptions{SyncEvery: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return flushing{s}
	}}
	storagetest.Run(t, b)
	storagetest.RunForwardSecrecy(t, b)
}

// TestDirStorageEraseAtOnce runs the suite on a DirStorage with group
// commit and EraseAtOnce, without flushing: the erasure checks hold after
// each commit, before any sync.
func TestDirStorageEraseAtOnce(t *testing.T) {
	b := storagetest.Backend{Open: func(t *testing.T, dir string) mls.Storage {
		s, err := mls.OpenDirStorageWith(dir, mls.DirOptions{SyncEvery: 1000, EraseAtOnce: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}
	storagetest.Run(t, b)
	storagetest.RunForwardSecrecy(t, b)
	storagetest.RunKeepRecords(t, b)
	storagetest.RunOverwrite(t, b)
}

func TestDirStorageForwardSecrecy(t *testing.T) {
	storagetest.RunForwardSecrecy(t, storagetest.Backend{Open: func(t *testing.T, dir string) mls.Storage {
		s, err := mls.OpenDirStorage(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}})
}

func sealed(t *testing.T, inner mls.Storage, key byte) mls.Storage {
	aead, err := chacha20poly1305.NewX(bytes.Repeat([]byte{key}, chacha20poly1305.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	s, err := mls.OpenSealedStorage(context.Background(), inner, aead)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealedStorage(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		storagetest.Run(t, storagetest.Backend{
			Open:     func(t *testing.T, dir string) mls.Storage { return sealed(t, mls.NewMemoryStorage(), 1) },
			Volatile: true,
		})
	})
	dir := storagetest.Backend{Open: func(t *testing.T, dir string) mls.Storage {
		s, err := mls.OpenDirStorage(dir)
		if err != nil {
			t.Fatal(err)
		}
		return sealed(t, s, 1)
	}}
	t.Run("dir", func(t *testing.T) { storagetest.Run(t, dir) })
	t.Run("ForwardSecrecy", func(t *testing.T) { storagetest.RunForwardSecrecy(t, dir) })
	t.Run("WrongKey", func(t *testing.T) {
		inner := mls.NewMemoryStorage()
		s := sealed(t, inner, 1)
		var b mls.Batch
		b.Put([]byte("k"), []byte("plaintext value"))
		if err := s.Commit(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		raw, err := inner.Get(context.Background(), []byte("k"))
		if err != nil || bytes.Contains(raw, []byte("plaintext")) {
			t.Fatalf("the inner store holds %q, %v", raw, err)
		}
		aead, _ := chacha20poly1305.NewX(bytes.Repeat([]byte{2}, chacha20poly1305.KeySize))
		if _, err := mls.OpenSealedStorage(context.Background(), inner, aead); !errors.Is(err, mls.ErrWrongKey) {
			t.Fatalf("opening with another key: %v, want ErrWrongKey", err)
		}
		// A value moved to another key does not open.
		var mv mls.Batch
		mv.Put([]byte("k2"), raw)
		if err := inner.Commit(context.Background(), &mv); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(context.Background(), []byte("k2")); !errors.Is(err, mls.ErrDamaged) {
			t.Fatalf("a value moved between keys: %v, want ErrDamaged", err)
		}
	})
}

func TestKeepRecords(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		storagetest.RunKeepRecords(t, storagetest.Backend{
			Open:     func(t *testing.T, dir string) mls.Storage { return mls.NewMemoryStorage() },
			Volatile: true,
		})
	})
	t.Run("sealed dir", func(t *testing.T) {
		storagetest.RunKeepRecords(t, storagetest.Backend{Open: func(t *testing.T, dir string) mls.Storage {
			s, err := mls.OpenDirStorage(dir)
			if err != nil {
				t.Fatal(err)
			}
			return sealed(t, s, 3)
		}})
	})
}

// TestOverwrite runs the overwrite attack (RunOverwrite) on every backend
// of this module.
func TestOverwrite(t *testing.T) {
	for _, c := range []struct {
		name string
		b    storagetest.Backend
	}{
		{"memory", storagetest.Backend{Open: func(t *testing.T, dir string) mls.Storage { return mls.NewMemoryStorage() }, Volatile: true}},
		{"dir", storagetest.Backend{Open: func(t *testing.T, dir string) mls.Storage {
			s, err := mls.OpenDirStorage(dir)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}}},
		{"sealed dir", storagetest.Backend{Open: func(t *testing.T, dir string) mls.Storage {
			s, err := mls.OpenDirStorage(dir)
			if err != nil {
				t.Fatal(err)
			}
			return sealed(t, s, 7)
		}}},
	} {
		t.Run(c.name, func(t *testing.T) { storagetest.RunOverwrite(t, c.b) })
	}
}
