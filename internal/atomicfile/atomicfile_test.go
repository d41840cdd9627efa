package atomicfile

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	for _, data := range [][]byte{[]byte("first"), []byte("second, longer"), nil} {
		if err := Write(path, data); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("after Write(%q): %q, %v", data, got, err)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 && fi.Mode().Perm() != 0o666 {
			t.Fatalf("mode %v, %v", fi.Mode(), err)
		}
		if _, err := os.Stat(TempPath(path)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("copy left behind: %v", err)
		}
	}
}

// TestWriteErasesLeftCopy plants the copy an interrupted Write leaves
// (secret bytes under TempPath): the next Write replaces it, and the
// file it writes holds none of its bytes.
func TestWriteErasesLeftCopy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	secret := bytes.Repeat([]byte("SECRET"), 100)
	if err := os.WriteFile(TempPath(path), secret, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if e.Name() != "f" || bytes.Contains(b, []byte("SECRET")) {
			t.Fatalf("directory holds %s: %q", e.Name(), b)
		}
	}
}

// TestWriteFailureKeepsFile makes the rename fail (the target is a
// non-empty directory): the target is unchanged and no copy is left.
func TestWriteFailureKeepsFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d")
	if err := os.MkdirAll(filepath.Join(path, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("data")); err == nil {
		t.Fatal("Write over a non-empty directory succeeded")
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Fatalf("target changed: %v", err)
	}
	if _, err := os.Stat(TempPath(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("copy left behind: %v", err)
	}
}

func TestEraseMissing(t *testing.T) {
	if err := Erase(filepath.Join(t.TempDir(), "none")); err != nil {
		t.Fatal(err)
	}
}

// TestWriteFromReleases: WriteFrom calls release only after a write that
// succeeded, before the rename; a failed write leaves the file and no
// copy.
func TestWriteFromReleases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := Write(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	released := false
	werr := errors.New("write failed")
	err := WriteFrom(path, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return werr
	}, func() { released = true })
	if !errors.Is(err, werr) || released {
		t.Fatalf("failed write: %v, released %v", err, released)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Fatalf("after a failed write: %q", got)
	}
	if _, err := os.Stat(TempPath(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("copy left behind: %v", err)
	}
	err = WriteFrom(path, func(w io.Writer) error {
		if released {
			t.Error("released before the write")
		}
		_, err := io.WriteString(w, "new")
		return err
	}, func() {
		if got, _ := os.ReadFile(path); string(got) != "old" {
			t.Errorf("at release the file holds %q", got)
		}
		released = true
	})
	if err != nil || !released {
		t.Fatalf("WriteFrom: %v, released %v", err, released)
	}
	if got, _ := os.ReadFile(path); string(got) != "new" {
		t.Fatalf("after WriteFrom: %q", got)
	}
}
