// Package atomicfile is the module's one way to replace a file's contents:
// the new contents go to a copy beside the file, which is synced, renamed
// over the file, and the rename made durable by syncing the directory. A
// crash leaves the old file or the new one, never a mixture.
//
// The copy has one fixed name per file (TempPath), so that a copy an
// interrupted write left behind is found again: Write erases it before
// writing a new one, and a store that keeps secrets in the file erases it
// when it opens (Erase). Erase overwrites a file with zeros before it
// removes it, so that the bytes of a copy that held secrets do not stay
// behind in the blocks the file system frees.
package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// TempPath returns the path of the copy Write writes before it replaces
// path: ".NAME.tmp" in the same directory.
func TempPath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
}

// Write replaces the contents of the file at path (creating it, mode
// 0600) with data, atomically and durably: it erases a copy an earlier,
// interrupted Write left (Erase of TempPath), writes data to a new copy,
// syncs it, renames it over path and syncs the directory. If it fails,
// the file at path is unchanged and the copy is erased. Writes of one
// path must not run concurrently. On Windows no handle of path may be
// open (a file cannot be renamed over an open one there).
func Write(path string, data []byte) error {
	return WriteFrom(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, nil)
}

// WriteFrom is Write with the new contents written by write, for a caller
// that streams them (from the file at path, for example). Once the copy
// is synced and closed, and only then, it calls release (if not nil),
// which closes the caller's handles of path before the rename. If write
// fails, release is not called and the file at path is unchanged.
func WriteFrom(path string, write func(w io.Writer) error, release func()) error {
	tmp := TempPath(path)
	if err := Erase(tmp); err != nil {
		return err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	werr := write(f)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return errors.Join(err, Erase(tmp))
	}
	if release != nil {
		release()
	}
	if err := os.Rename(tmp, path); err != nil {
		return errors.Join(err, Erase(tmp))
	}
	return SyncDir(filepath.Dir(path))
}

// Erase overwrites the file at path with zeros, syncs it, removes it and
// syncs its directory. A missing file is not an error.
func Erase(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil {
		_, err = f.WriteAt(make([]byte, fi.Size()), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir syncs the directory dir, which makes the creation, removal and
// renaming of its entries durable.
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := f.Sync()
	cerr := f.Close()
	return errors.Join(serr, cerr)
}
