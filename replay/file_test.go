package replay

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFileCreateAppendOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.mlslog")
	f, err := Create(path, Header{Mode: Full, Module: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := f.Append(Record{Event: []byte{byte(i)}, Seed: [32]byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(path, Header{Mode: Full}); err == nil {
		t.Fatal("Create overwrote an existing log")
	}
	f, l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Records) != 3 || l.Recovery.DroppedBytes != 0 || f.Next() != 3 {
		t.Fatalf("reopened: %d records, %+v, next %d", len(l.Records), l.Recovery, f.Next())
	}
	if _, err := f.Append(Record{Event: []byte{3}}); err != nil {
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
	full, _ := sampleLog(t, 4, Full)
	three, _ := sampleLog(t, 3, Full)
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
		if _, err := f.Append(Record{Event: []byte("after")}); err != nil {
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
	full, _ := sampleLog(t, 4, Full)
	one, _ := sampleLog(t, 1, Full)
	bad := bytes.Clone(full)
	bad[len(one)+15] ^= 0x80
	path := filepath.Join(t.TempDir(), "bad.mlslog")
	os.WriteFile(path, bad, 0o600)
	f, l, err := Open(path)
	var ce *CorruptError
	if f != nil || !errors.As(err, &ce) || ce.Seq != 1 || len(l.Records) != 1 {
		t.Fatalf("Open = %v, %v", f, err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, bad) {
		t.Fatal("Open modified a corrupt log")
	}
}

func TestSnapshotAndTailLog(t *testing.T) {
	data, recs := sampleLog(t, 6, Full)
	l, err := ReadLog(data)
	if err != nil {
		t.Fatal(err)
	}
	snap := Snapshot{Seq: 4, Prev: Hash(recs[3]), Group: []byte("group"), State: recs[3].State, Data: []byte("opaque state")}
	out, err := Retain(l, 2, snap)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadLog(out)
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.Mode != SnapshotAndTail || got.Header.Format != FormatVersion || got.Snapshot == nil {
		t.Fatalf("header %+v, snapshot %v", got.Header, got.Snapshot)
	}
	if !bytes.Equal(EncodeSnapshot(*got.Snapshot), EncodeSnapshot(snap)) {
		t.Fatal("snapshot did not round-trip")
	}
	if len(got.Records) != 2 || got.Records[0].Seq != 4 || !bytes.Equal(EncodeRecord(got.Records[1]), EncodeRecord(recs[5])) {
		t.Fatalf("tail %+v", got.Records)
	}
	if _, _, _, err := Read(out); err != nil {
		t.Fatalf("Read of a snapshot log: %v", err)
	}

	// A snapshot that does not match the records is refused.
	bad := snap
	bad.State[0] ^= 1
	if _, err := Retain(l, 2, bad); err == nil {
		t.Fatal("Retain accepted a snapshot with the wrong digest")
	}
	// Keeping more records than there are re-encodes the log as it is.
	same, err := Retain(l, 10, Snapshot{})
	if err != nil || !bytes.Equal(same, data) {
		t.Fatalf("Retain(k > len) changed the log: %v", err)
	}
	// Retaining again from a snapshot log keeps the chain.
	snap2 := Snapshot{Seq: 5, Prev: Hash(recs[4]), State: recs[4].State, Data: []byte("later")}
	out2, err := Retain(got, 1, snap2)
	if err != nil {
		t.Fatal(err)
	}
	got2, err := ReadLog(out2)
	if err != nil || len(got2.Records) != 1 || got2.Records[0].Seq != 5 {
		t.Fatalf("second retention: %v %+v", err, got2)
	}

	// Appending to a snapshot log with no records continues after the
	// snapshot; a damaged snapshot frame is corruption.
	path := filepath.Join(t.TempDir(), "s.mlslog")
	empty, _ := Retain(l, 0, Snapshot{Seq: 6, Prev: Hash(recs[5]), State: recs[5].State})
	os.WriteFile(path, empty, 0o600)
	f, _, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := f.Append(Record{Event: []byte("x")}); err != nil || r.Seq != 6 || r.Prev != Hash(recs[5]) {
		t.Fatalf("append after snapshot: %+v %v", r, err)
	}
	f.Close()
	hdr := len(encodeHeader(got.Header))
	broken := bytes.Clone(empty)
	broken[hdr+20] ^= 1
	var ce *CorruptError
	if _, err := ReadLog(broken); !errors.As(err, &ce) {
		t.Fatalf("damaged snapshot: %v", err)
	}
}

func TestReadsFormatVersion1(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Format: 1, Mode: Full})
	if err != nil {
		t.Fatal(err)
	}
	w.Append(Record{Event: []byte("v1")})
	h, recs, _, err := Read(buf.Bytes())
	if err != nil || h.Format != 1 || len(recs) != 1 {
		t.Fatalf("v1 log: %+v %d %v", h, len(recs), err)
	}
}
