package replay

import (
	"bytes"
	"fmt"
)

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
