package logfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlscore/mlscore/replay"
)

// sampleLog returns the encoding of a log of n records and the records.
func sampleLog(t *testing.T, n int) ([]byte, []replay.Record) {
	t.Helper()
	var buf bytes.Buffer
	w, err := replay.NewWriter(&buf, replay.Header{Mode: replay.Full, Module: "test", PolicyID: "p"})
	if err != nil {
		t.Fatal(err)
	}
	var recs []replay.Record
	for i := range n {
		r, err := w.Append(replay.Record{Group: []byte("group"), Event: []byte(fmt.Sprintf("event %d with some payload", i)), Seed: [32]byte{byte(i + 1)}})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return buf.Bytes(), recs
}

func TestFileCreateAppendOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.mlslog")
	f, err := Create(path, replay.Header{Mode: replay.Full, Module: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := f.Append(replay.Record{Event: []byte{byte(i)}, Seed: [32]byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(path, replay.Header{Mode: replay.Full}); err == nil {
		t.Fatal("Create overwrote an existing log")
	}
	f, l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Records) != 3 || l.Recovery.DroppedBytes != 0 || f.Next() != 3 {
		t.Fatalf("reopened: %d records, %+v, next %d", len(l.Records), l.Recovery, f.Next())
	}
	if _, err := f.Append(replay.Record{Event: []byte{3}}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	l, err = ReadFile(path)
	if err != nil || len(l.Records) != 4 {
		t.Fatalf("after append: %d records, %v", len(l.Records), err)
	}
}

// TestFileOpenTruncatesTornTail cuts the file inside its last record at
// every offset: Open drops the torn record, truncates the file, and the next
// append continues the chain from the last good record.
func TestFileOpenTruncatesTornTail(t *testing.T) {
	full, _ := sampleLog(t, 4)
	three, _ := sampleLog(t, 3)
	dir := t.TempDir()
	for cut := len(three) + 1; cut < len(full); cut++ {
		path := filepath.Join(dir, "torn.mlslog")
		if err := os.WriteFile(path, full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		f, l, err := Open(path)
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if len(l.Records) != 3 || l.Recovery.DroppedBytes != cut-len(three) {
			t.Fatalf("cut %d: %d records, %+v", cut, len(l.Records), l.Recovery)
		}
		if _, err := f.Append(replay.Record{Event: []byte("after")}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		l, err = ReadFile(path)
		if err != nil || len(l.Records) != 4 || string(l.Records[3].Event) != "after" || l.Recovery.DroppedBytes != 0 {
			t.Fatalf("cut %d: after append: %v, %+v", cut, err, l)
		}
	}
}

func TestFileOpenRefusesMiddleCorruption(t *testing.T) {
	full, _ := sampleLog(t, 4)
	one, _ := sampleLog(t, 1)
	bad := bytes.Clone(full)
	bad[len(one)+15] ^= 0x80
	path := filepath.Join(t.TempDir(), "bad.mlslog")
	os.WriteFile(path, bad, 0o600)
	f, l, err := Open(path)
	var ce *replay.CorruptError
	if f != nil || !errors.As(err, &ce) || ce.Seq != 1 || len(l.Records) != 1 {
		t.Fatalf("Open = %v, %v", f, err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, bad) {
		t.Fatal("Open modified a corrupt log")
	}
}

// TestOpenAppendsAfterSnapshot opens a snapshot log with no records: the
// next record continues the chain after the snapshot.
func TestOpenAppendsAfterSnapshot(t *testing.T) {
	data, recs := sampleLog(t, 2)
	l, err := replay.ReadLog(data)
	if err != nil {
		t.Fatal(err)
	}
	empty, err := replay.Retain(l, 0, replay.Snapshot{Seq: 2, Prev: replay.Hash(recs[1]), State: recs[1].State})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "s.mlslog")
	if err := os.WriteFile(path, empty, 0o600); err != nil {
		t.Fatal(err)
	}
	f, _, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := f.Append(replay.Record{Event: []byte("x")}); err != nil || r.Seq != 2 || r.Prev != replay.Hash(recs[1]) {
		t.Fatalf("append after snapshot: %+v %v", r, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if l, err := ReadFile(path); err != nil || l.Snapshot == nil || len(l.Records) != 1 {
		t.Fatalf("reread: %v", err)
	}
}
