package replay

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// File is a log file open for appending. It is not safe for concurrent use.
//
// Records are written with one write call each and not synced; call Sync
// when a record must be durable (before carrying out its effects, see
// package effects).
type File struct {
	f      *os.File
	w      *Writer
	header Header
}

// Create creates a new log file at path with header h; it fails if the file
// exists.
func Create(path string, h Header) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	w, err := NewWriter(f, h)
	if err != nil {
		f.Close()
		return nil, err
	}
	if h.Format == 0 {
		h.Format = FormatVersion
	}
	return &File{f: f, w: w, header: h}, nil
}

// Open opens an existing log file for appending and returns it with its
// contents. A torn or damaged final record — a crash during the last write
// — is dropped: the file is truncated to its last good record (and synced)
// before anything is appended, and Log.Recovery says how many bytes went.
// Damage before the final record is a *CorruptError and the file is not
// opened: it must be repaired by hand (or restored), never silently cut.
func Open(path string) (*File, *Log, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	l, err := ReadLog(data)
	if err != nil {
		return nil, l, fmt.Errorf("%s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	if l.Recovery.DroppedBytes > 0 {
		if err := f.Truncate(l.Recovery.ValidBytes); err != nil {
			f.Close()
			return nil, nil, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, nil, err
		}
	}
	if _, err := f.Seek(l.Recovery.ValidBytes, 0); err != nil {
		f.Close()
		return nil, nil, err
	}
	var w *Writer
	switch {
	case len(l.Records) > 0:
		w = ResumeWriter(f, l.Header, &l.Records[len(l.Records)-1])
	case l.Snapshot != nil:
		w = ResumeAfterSnapshot(f, l.Header, *l.Snapshot)
	default:
		w = ResumeWriter(f, l.Header, nil)
	}
	return &File{f: f, w: w, header: l.Header}, l, nil
}

// Header returns the log's header.
func (f *File) Header() Header { return f.header }

// Append appends r (see Writer.Append).
func (f *File) Append(r Record) (Record, error) { return f.w.Append(r) }

// Next returns the sequence number the next appended record gets.
func (f *File) Next() uint64 { return f.w.Next() }

// Sync makes every appended record durable.
func (f *File) Sync() error { return f.f.Sync() }

// Close syncs and closes the file.
func (f *File) Close() error {
	return errors.Join(f.f.Sync(), f.f.Close())
}

// ReadFile reads the log file at path. Unlike Open it never modifies the
// file: a torn final record is reported in Log.Recovery only.
func ReadFile(path string) (*Log, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	l, err := ReadLog(data)
	if err != nil {
		return l, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory, synced and renamed over path, so that a crash leaves either the
// old file or the new one.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// Retain returns the encoding of a SnapshotAndTail log that keeps the last
// k records of l and replaces the ones before them with snap, which must be
// the snapshot of the state after record len(l.Records)-k-1 (Seq, Prev and
// State are checked against the records). When l keeps k records or fewer
// it is returned re-encoded unchanged. This is the retention step of
// SnapshotAndTail(k): the dropped records, and the secrets their seeds
// could regenerate, are gone from the result.
func Retain(l *Log, k int, snap Snapshot) ([]byte, error) {
	if k < 0 {
		return nil, fmt.Errorf("mls: retain %d records", k)
	}
	var buf bytes.Buffer
	if len(l.Records) <= k {
		var w *Writer
		var err error
		if l.Snapshot != nil {
			w, err = NewSnapshotWriter(&buf, l.Header, *l.Snapshot)
		} else {
			w, err = NewWriter(&buf, l.Header)
		}
		if err != nil {
			return nil, err
		}
		for _, r := range l.Records {
			if _, err := w.Append(r); err != nil {
				return nil, err
			}
		}
		return buf.Bytes(), nil
	}
	cut := len(l.Records) - k
	last := l.Records[cut-1]
	if snap.Seq != last.Seq+1 || snap.Prev != Hash(last) || snap.State != last.State {
		return nil, fmt.Errorf("mls: snapshot (seq %d) is not the state after record %d", snap.Seq, last.Seq)
	}
	w, err := NewSnapshotWriter(&buf, l.Header, snap)
	if err != nil {
		return nil, err
	}
	for _, r := range l.Records[cut:] {
		got, err := w.Append(r)
		if err != nil {
			return nil, err
		}
		if got.Prev != r.Prev {
			panic("replay: retained record does not chain")
		}
	}
	return buf.Bytes(), nil
}
