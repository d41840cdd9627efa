package replay

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"testing"
)

func sampleLog(t *testing.T, n int, mode Mode) ([]byte, []Record) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Mode: mode, Module: "test", PolicyID: "p"})
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	for i := range n {
		r, err := w.Append(Record{
			Group:   []byte("group"),
			Event:   []byte(fmt.Sprintf("event %d with some payload", i)),
			Seed:    [32]byte{byte(i + 1)},
			Outcome: Outcome{Class: OutcomeClass(i % 2), Code: uint16(i)},
			State:   [32]byte{byte(i), 1},
			Effects: [32]byte{byte(i), 2},
		})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return buf.Bytes(), recs
}

func TestRoundTripAndChain(t *testing.T) {
	data, want := sampleLog(t, 5, Full)
	h, got, rec, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	if h.Mode != Full || h.Module != "test" || h.PolicyID != "p" || h.Format != FormatVersion {
		t.Fatalf("header %+v", h)
	}
	if rec.DroppedBytes != 0 || rec.ValidBytes != int64(len(data)) {
		t.Fatalf("recovery %+v on a clean log", rec)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(EncodeRecord(got[i]), EncodeRecord(want[i])) {
			t.Fatalf("record %d differs", i)
		}
		if got[i].Seq != uint64(i) {
			t.Fatalf("record %d has seq %d", i, got[i].Seq)
		}
		if i > 0 && got[i].Prev != Hash(got[i-1]) {
			t.Fatalf("record %d does not chain", i)
		}
	}
	if got[0].Prev != ([32]byte{}) {
		t.Fatalf("first record has a non-zero prev")
	}
}

func TestPublicModeZeroesSeeds(t *testing.T) {
	data, _ := sampleLog(t, 3, Public)
	_, recs, _, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Seed != ([32]byte{}) {
			t.Fatalf("record %d keeps its seed in public mode", r.Seq)
		}
	}
}

// TestTruncatedFinalRecord cuts the log at every byte offset inside its last
// record: the torn record is dropped, every earlier record survives.
func TestTruncatedFinalRecord(t *testing.T) {
	full, _ := sampleLog(t, 4, Full)
	_, _, rec3, err := Read(full)
	if err != nil {
		t.Fatal(err)
	}
	prefix, _ := sampleLog(t, 3, Full)
	start := len(prefix)
	if rec3.ValidBytes != int64(len(full)) {
		t.Fatalf("valid bytes %d", rec3.ValidBytes)
	}
	for cut := start; cut < len(full); cut++ {
		_, recs, rec, err := Read(full[:cut])
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if len(recs) != 3 {
			t.Fatalf("cut at %d: %d records, want 3", cut, len(recs))
		}
		if rec.DroppedBytes != cut-start || rec.ValidBytes != int64(start) {
			t.Fatalf("cut at %d: recovery %+v", cut, rec)
		}
	}
}

// TestFlippedByteInMiddle flips each byte of the second record: the damage
// is reported with the record's sequence number, never skipped.
func TestFlippedByteInMiddle(t *testing.T) {
	one, _ := sampleLog(t, 1, Full)
	two, _ := sampleLog(t, 2, Full)
	full, _ := sampleLog(t, 4, Full)
	for i := len(one); i < len(two); i++ {
		bad := bytes.Clone(full)
		bad[i] ^= 0x40
		_, recs, _, err := Read(bad)
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Fatalf("flip at %d: err = %v, want *CorruptError", i, err)
		}
		if ce.Seq != 1 || !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flip at %d: reported %v", i, err)
		}
		if len(recs) != 1 {
			t.Fatalf("flip at %d: %d records before the damage, want 1", i, len(recs))
		}
	}
}

func TestFlippedByteInLastRecordIsDropped(t *testing.T) {
	three, _ := sampleLog(t, 3, Full)
	full, _ := sampleLog(t, 4, Full)
	bad := bytes.Clone(full)
	bad[len(three)+20] ^= 1
	_, recs, rec, err := Read(bad)
	if err != nil || len(recs) != 3 || rec.DroppedBytes != len(full)-len(three) {
		t.Fatalf("recs %d, recovery %+v, err %v", len(recs), rec, err)
	}
}

func TestBrokenChainDetected(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Header{Mode: Full})
	w.Append(Record{Event: []byte("a")})
	// A record re-framed with a valid checksum but a wrong Prev.
	buf.Write(frame(EncodeRecord(Record{Seq: 1, Prev: [32]byte{9}, Event: []byte("b")})))
	w2 := ResumeWriter(&buf, Header{Mode: Full}, &Record{Seq: 1, Prev: [32]byte{9}, Event: []byte("b")})
	w2.Append(Record{Event: []byte("c")})
	_, recs, _, err := Read(buf.Bytes())
	if !errors.Is(err, ErrChain) || len(recs) != 1 {
		t.Fatalf("err %v, %d records", err, len(recs))
	}
}

func TestNotALog(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("hello world, this is not a log"), make([]byte, 64)} {
		if _, _, _, err := Read(in); !errors.Is(err, ErrNotLog) {
			t.Fatalf("Read(%q) err = %v", in, err)
		}
	}
}

func FuzzRead(f *testing.F) {
	data, _ := (func() ([]byte, []Record) {
		var buf bytes.Buffer
		w, _ := NewWriter(&buf, Header{Mode: Full})
		for i := range 3 {
			w.Append(Record{Event: []byte{byte(i)}})
		}
		return buf.Bytes(), nil
	})()
	f.Add(data)
	f.Fuzz(func(t *testing.T, in []byte) {
		var recs []Record
		var err error
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, recs, _, err = Read(in)
		runtime.ReadMemStats(&after)
		// The budget of TestHostileLogBounded: 20 bytes per input byte,
		// plus 64 KiB of slack for the test binary's other goroutines.
		if n := after.TotalAlloc - before.TotalAlloc; n > 20*uint64(len(in))+64<<10 {
			t.Fatalf("reading %d bytes allocated %d", len(in), n)
		}
		var ce *CorruptError
		if err != nil && !errors.Is(err, ErrNotLog) && !errors.As(err, &ce) {
			t.Fatalf("unexpected error type %v", err)
		}
		for i, r := range recs {
			if r.Seq != uint64(i) {
				t.Fatalf("record %d has seq %d", i, r.Seq)
			}
		}
	})
}
