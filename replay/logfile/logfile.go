// Package logfile keeps a package replay log in a file: Create and Open
// return a File that appends records, and ReadFile reads a log file
// without changing it. Package replay itself is pure (it encodes, reads
// and replays logs in memory); the file system is here. To replace a log
// file whole (a retained or exported log), write it with one atomic
// write: internal/atomicfile in this module, or any write-copy, sync,
// rename, sync-directory sequence.
package logfile

import (
	"errors"
	"fmt"
	"os"

	"github.com/mlscore/mlscore/replay"
)

// File is a log file open for appending. It is not safe for concurrent use.
//
// Records are written with one write call each and not synced; call Sync
// when a record must be durable (before carrying out its effects, see
// package effects).
type File struct {
	f      *os.File
	w      *replay.Writer
	header replay.Header
}

// Create creates a new log file at path (mode 0600) with header h; it
// fails if the file exists.
func Create(path string, h replay.Header) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	w, err := replay.NewWriter(f, h)
	if err != nil {
		f.Close()
		return nil, err
	}
	if h.Format == 0 {
		h.Format = replay.FormatVersion
	}
	return &File{f: f, w: w, header: h}, nil
}

// Open opens an existing log file for appending and returns it with its
// contents. A torn or damaged final record — a crash during the last write
// — is dropped: the file is truncated to its last good record (and synced)
// before anything is appended, and Log.Recovery says how many bytes went.
// Damage before the final record is a *replay.CorruptError and the file
// is not opened: it must be repaired by hand (or restored), never
// silently cut.
func Open(path string) (*File, *replay.Log, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	l, err := replay.ReadLog(data)
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
	var w *replay.Writer
	switch {
	case len(l.Records) > 0:
		w = replay.ResumeWriter(f, l.Header, &l.Records[len(l.Records)-1])
	case l.Snapshot != nil:
		w = replay.ResumeAfterSnapshot(f, l.Header, *l.Snapshot)
	default:
		w = replay.ResumeWriter(f, l.Header, nil)
	}
	return &File{f: f, w: w, header: l.Header}, l, nil
}

// Header returns the log's header.
func (f *File) Header() replay.Header { return f.header }

// Append appends r (see replay.Writer.Append).
func (f *File) Append(r replay.Record) (replay.Record, error) { return f.w.Append(r) }

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
func ReadFile(path string) (*replay.Log, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	l, err := replay.ReadLog(data)
	if err != nil {
		return l, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}
