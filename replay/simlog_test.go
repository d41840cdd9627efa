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

// TestSnapshotAndTailNeedsStateEncoding documents the missing piece: a
// SnapshotAndTail log is written and read, but replaying it needs an
// encoding of GroupState that package state does not offer yet.
func TestSnapshotAndTailNeedsStateEncoding(t *testing.T) {
	l, err := replay.ReadLog(simLog())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replay.EncodeSnapshotData(state.GroupState{}, nil); !errors.Is(err, replay.ErrNoStateEncoding) {
		t.Skip("state encoding available: replace this test by a snapshot replay test")
	}
	k := 5
	last := l.Records[len(l.Records)-k-1]
	data, err := replay.Retain(l, k, replay.Snapshot{Seq: last.Seq + 1, Prev: replay.Hash(last), State: last.State})
	if err != nil {
		t.Fatal(err)
	}
	sl, err := replay.ReadLog(data)
	if err != nil || len(sl.Records) != k || sl.Snapshot == nil {
		t.Fatalf("retained log: %v", err)
	}
	if _, err := replay.ReplayLog(sl, nil); !errors.Is(err, replay.ErrNoStateEncoding) {
		t.Fatalf("ReplayLog = %v", err)
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
