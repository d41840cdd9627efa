package replay_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/sim"
	"github.com/mlscore/mlscore/state"
)

// simLog returns the log of the member with the most records after a short
// simulation: a real history of joins, commits, races and messages.
var simLog = sync.OnceValue(func() []byte {
	s, err := sim.New(sim.Config{Seed: 11, Faults: sim.DefaultFaults, Members: 5})
	if err != nil {
		panic(err)
	}
	if err := s.Grow(5); err != nil {
		panic(err)
	}
	for range 60 {
		if _, err := s.Step(); err != nil {
			panic(err)
		}
	}
	var best []byte
	for _, m := range s.Members() {
		if len(m.Log()) > len(best) {
			best = m.Log()
		}
	}
	return bytes.Clone(best)
})

// frameOffsets returns the byte offset of every record's frame in a log
// without a snapshot (the header frame first).
func frameOffsets(t *testing.T, data []byte) []int {
	t.Helper()
	var offs []int
	off := 0
	for off < len(data) {
		offs = append(offs, off)
		n := int(data[off])<<24 | int(data[off+1])<<16 | int(data[off+2])<<8 | int(data[off+3])
		off += n + 12
	}
	if off != len(data) {
		t.Fatal("frames do not tile the log")
	}
	return offs[1:]
}

// TestCorruptRecordNeverReplayed flips every byte of a record in the middle
// of a real log: reading reports the record's sequence number, and replay
// of what was read produces states only for the records before it.
func TestCorruptRecordNeverReplayed(t *testing.T) {
	data := simLog()
	offs := frameOffsets(t, data)
	k := len(offs) / 2
	for i := offs[k]; i < offs[k+1]; i++ {
		bad := bytes.Clone(data)
		bad[i] ^= 0x10
		l, err := replay.ReadLog(bad)
		var ce *replay.CorruptError
		if !errors.As(err, &ce) || ce.Seq != uint64(k) {
			t.Fatalf("flip at byte %d (record %d): err = %v", i, k, err)
		}
		if len(l.Records) != k {
			t.Fatalf("flip at byte %d: %d records returned, want the %d before the damage", i, len(l.Records), k)
		}
	}
	bad := bytes.Clone(data)
	bad[offs[k]+20] ^= 1
	l, _ := replay.ReadLog(bad)
	res, err := replay.ReplayLog(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != k {
		t.Fatalf("%d states replayed, want %d", len(res.Steps), k)
	}
	if _, ok := res.StateAt(uint64(k)); ok {
		t.Fatal("a state exists for the corrupt record")
	}
}

// TestTruncatedLastRecordDropped cuts a real log at every offset inside its
// last record: the record is dropped and the replay ends at the one before.
func TestTruncatedLastRecordDropped(t *testing.T) {
	data := simLog()
	offs := frameOffsets(t, data)
	last := offs[len(offs)-1]
	full, err := replay.ReadLog(data)
	if err != nil {
		t.Fatal(err)
	}
	want, err := replay.ReplayLog(full, nil)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := want.StateAt(uint64(len(offs) - 2))
	for cut := last; cut < len(data); cut++ {
		l, err := replay.ReadLog(data[:cut])
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if len(l.Records) != len(offs)-1 || l.Recovery.DroppedBytes != cut-last {
			t.Fatalf("cut %d: %d records, recovery %+v", cut, len(l.Records), l.Recovery)
		}
		if cut == last || cut%97 == 0 { // replaying is slower than reading
			res, err := replay.ReplayLog(l, nil)
			if err != nil || res.Final().Digest() != before.Digest() {
				t.Fatalf("cut %d: replay %v", cut, err)
			}
		}
	}
}

// TestDivergenceInRealLog tampers the recorded state digest of records of a
// real log (re-chained, as a buggy writer would leave it): replay stops at
// that record and names the field, with the state before it.
func TestDivergenceInRealLog(t *testing.T) {
	l, err := replay.ReadLog(simLog())
	if err != nil {
		t.Fatal(err)
	}
	good, err := replay.ReplayLog(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{0, 3, len(l.Records) / 2, len(l.Records) - 1} {
		for _, field := range []string{"state", "effects", "outcome"} {
			recs := rechain(l.Records, k, func(r *replay.Record) {
				switch field {
				case "state":
					r.State[0] ^= 1
				case "effects":
					r.Effects[31] ^= 1
				case "outcome":
					r.Outcome.Class = replay.LimitError
				}
			})
			_, err := replay.Replay(l.Header, replay.Records(recs), nil)
			var d *replay.Divergence
			if !errors.As(err, &d) || d.Seq != uint64(k) || d.Field != field {
				t.Fatalf("%s of record %d: %v", field, k, err)
			}
			var wantBefore state.View
			if k > 0 {
				st, _ := good.StateAt(uint64(k - 1))
				wantBefore = st.View()
			} else {
				wantBefore = good.Start.View()
			}
			if diff := cmp.Diff(wantBefore, d.Before); diff != "" {
				t.Fatalf("%s of record %d: Before differs (-want +got):\n%s", field, k, diff)
			}
		}
	}
}

// TestSnapshotAndTailReplay retains the last k records of a real log after
// a snapshot of the state before them, for several k: the tail replays
// from the snapshot to the same states, record for record, as the full
// replay, and Compact does the same in one call.
func TestSnapshotAndTailReplay(t *testing.T) {
	l, err := replay.ReadLog(simLog())
	if err != nil {
		t.Fatal(err)
	}
	full, err := replay.ReplayLog(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := len(l.Records)
	for _, k := range []int{0, 1, 5, n / 2, n - 1, n} {
		var data []byte
		if k < n {
			snap, err := full.SnapshotBefore(l.Records[n-k-1].Seq + 1)
			if err != nil {
				t.Fatal(err)
			}
			if data, err = replay.Retain(l, k, snap); err != nil {
				t.Fatal(err)
			}
		} else {
			snap, err := full.SnapshotBefore(0) // the zero state
			if err != nil || snap.Seq != 0 {
				t.Fatalf("snapshot of the start: %v", err)
			}
		}
		compact, err := replay.Compact(l, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		if data != nil && !bytes.Equal(compact, data) {
			t.Fatalf("k=%d: Compact differs from Snapshot and Retain", k)
		}
		sl, err := replay.ReadLog(compact)
		if err != nil || len(sl.Records) != k || (k < n) != (sl.Snapshot != nil) {
			t.Fatalf("k=%d: retained log: %v", k, err)
		}
		res, err := replay.ReplayLog(sl, nil)
		if err != nil {
			t.Fatalf("k=%d: %v", k, err)
		}
		if res.Final().Digest() != full.Final().Digest() {
			t.Fatalf("k=%d: final digest differs from the full replay's", k)
		}
		for _, r := range sl.Records {
			a, _ := full.StateAt(r.Seq)
			b, ok := res.StateAt(r.Seq)
			if !ok || a.Digest() != b.Digest() {
				t.Fatalf("k=%d: state after record %d differs", k, r.Seq)
			}
		}
	}
}

// TestSnapshotCorruptNeverUsed damages the snapshot of a SnapshotAndTail
// log: a flipped byte anywhere in its frame is reported as corruption by
// ReadLog; a well-framed snapshot whose data does not decode, or decodes
// to a state other than the one its record names, is refused by ReplayLog
// before any record is replayed. (A well-framed snapshot that decodes to
// a state with the right digest but other unexpanded secret tree secrets
// cannot be told apart: the digest commits to ratchet positions, not to
// those secrets; the frame checksum is what catches such damage.)
func TestSnapshotCorruptNeverUsed(t *testing.T) {
	l, err := replay.ReadLog(simLog())
	if err != nil {
		t.Fatal(err)
	}
	full, err := replay.ReplayLog(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := 4
	last := l.Records[len(l.Records)-k-1]
	snap, err := full.SnapshotBefore(last.Seq + 1)
	if err != nil {
		t.Fatal(err)
	}
	data, err := replay.Retain(l, k, snap)
	if err != nil {
		t.Fatal(err)
	}
	offs := frameOffsets(t, data) // the snapshot frame, then the records
	for i := offs[0]; i < offs[1]; i++ {
		bad := bytes.Clone(data)
		bad[i] ^= 0x04
		sl, err := replay.ReadLog(bad)
		var ce *replay.CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, replay.ErrCorrupt) {
			t.Fatalf("flip at byte %d of the snapshot frame: err = %v", i, err)
		}
		if sl.Snapshot != nil || len(sl.Records) != 0 {
			t.Fatalf("flip at byte %d: a damaged snapshot was returned", i)
		}
	}
	replayWith := func(s replay.Snapshot) error {
		t.Helper()
		data, err := replay.Retain(l, k, s)
		if err != nil {
			t.Fatal(err)
		}
		sl, err := replay.ReadLog(data)
		if err != nil {
			t.Fatal(err)
		}
		res, err := replay.ReplayLog(sl, nil)
		if res != nil {
			t.Fatal("a result was built from a bad snapshot")
		}
		return err
	}
	garbled := snap
	garbled.Data = snap.Data[:len(snap.Data)-1]
	if err := replayWith(garbled); !errors.Is(err, replay.ErrCorrupt) {
		t.Fatalf("undecodable snapshot data: %v", err)
	}
	other, err := full.SnapshotBefore(last.Seq)
	if err != nil {
		t.Fatal(err)
	}
	wrong := snap
	wrong.Data = other.Data
	var d *replay.Divergence
	if err := replayWith(wrong); !errors.As(err, &d) || d.Field != "state" || d.Seq != snap.Seq {
		t.Fatalf("snapshot of another state: %v", err)
	}
}

// TestPropReplayReproducesDigests: for random group histories — random
// group sizes, operations, commit races and delivery orders — every
// member's log replays to states whose digests equal the live states'
// digests after every operation.
func TestPropReplayReproducesDigests(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := sim.Config{
			Seed:    rapid.Uint64().Draw(t, "seed"),
			Members: rapid.IntRange(2, 8).Draw(t, "members"),
			Faults: sim.Faults{
				Drop:      rapid.Uint32Range(0, 200).Draw(t, "drop"),
				Duplicate: rapid.Uint32Range(0, 200).Draw(t, "duplicate"),
				Reorder:   rapid.Uint32Range(0, 1000).Draw(t, "reorder"),
				Delay:     rapid.Uint32Range(0, 500).Draw(t, "delay"),
			},
		}
		s, err := sim.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Grow(rapid.IntRange(1, cfg.Members).Draw(t, "initial")); err != nil {
			t.Fatal(err)
		}
		// live[member][seq] is the live digest after record seq, sampled
		// after every operation.
		live := map[string]map[uint64][32]byte{}
		sample := func() {
			for _, m := range s.Members() {
				if m.Records() == 0 {
					continue
				}
				if live[m.Name] == nil {
					live[m.Name] = map[uint64][32]byte{}
				}
				live[m.Name][m.Records()-1] = m.State().Digest()
			}
		}
		sample()
		ops := rapid.SliceOfN(rapid.SampledFrom(sim.Ops()[1:]), 1, 25).Draw(t, "ops")
		for i, op := range ops {
			var err error
			switch op {
			case sim.OpAdd:
				err = s.Add(rapid.IntRange(1, 3).Draw(t, fmt.Sprint("add", i)))
			case sim.OpRemove:
				if len(s.Active()) > 1 {
					err = s.Remove()
				}
			case sim.OpUpdate:
				err = s.Update()
			case sim.OpPropose:
				err = s.ProposeUpdate()
			case sim.OpRace:
				err = s.Race(rapid.IntRange(2, 3).Draw(t, fmt.Sprint("racers", i)))
			case sim.OpSend:
				err = s.Send(rapid.IntRange(1, 4).Draw(t, fmt.Sprint("sends", i)))
			case sim.OpDeliver:
				err = s.Deliver()
			}
			if err == nil {
				err = s.Check()
			}
			if err != nil {
				t.Fatalf("operation %d (%s): %v", i, op, err)
			}
			sample()
		}
		for _, m := range s.Members() {
			l, err := replay.ReadLog(m.Log())
			if err != nil {
				t.Fatal(err)
			}
			res, err := replay.ReplayLog(l, nil)
			if err != nil {
				var d *replay.Divergence
				if errors.As(err, &d) {
					t.Fatalf("%s: %v\n%s", m.Name, err, d.Report())
				}
				t.Fatalf("%s: %v", m.Name, err)
			}
			for seq, want := range live[m.Name] {
				got, ok := res.StateAt(seq)
				if !ok || got.Digest() != want {
					t.Fatalf("%s: state after record %d differs from the live one", m.Name, seq)
				}
			}
		}
	})
}

func BenchmarkReplay(b *testing.B) {
	log1000 := sync.OnceValue(func() *replay.Log {
		s, err := sim.New(sim.Config{Seed: 1, Faults: sim.DefaultFaults, Members: 16})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Grow(16); err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := s.Step(); err != nil {
				b.Fatal(err)
			}
			for _, m := range s.Members() {
				if m.Records() >= 1000 {
					l, err := replay.ReadLog(m.Log())
					if err != nil {
						b.Fatal(err)
					}
					l.Records = l.Records[:1000]
					return l
				}
			}
		}
	})
	b.Run("records=1000", func(b *testing.B) {
		l := log1000()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := replay.ReplayLog(l, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
