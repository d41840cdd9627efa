package replay

import (
	"bytes"
	"errors"
	"testing"
)

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
	empty, _ := Retain(l, 0, Snapshot{Seq: 6, Prev: Hash(recs[5]), State: recs[5].State})
	el, err := ReadLog(empty)
	if err != nil || el.Snapshot == nil {
		t.Fatalf("retained empty tail: %v", err)
	}
	var tail bytes.Buffer
	w := ResumeAfterSnapshot(&tail, el.Header, *el.Snapshot)
	if r, err := w.Append(Record{Event: []byte("x")}); err != nil || r.Seq != 6 || r.Prev != Hash(recs[5]) {
		t.Fatalf("append after snapshot: %+v %v", r, err)
	}
	if el2, err := ReadLog(append(bytes.Clone(empty), tail.Bytes()...)); err != nil || len(el2.Records) != 1 {
		t.Fatalf("log after append: %v", err)
	}
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
