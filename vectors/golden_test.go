package vectors

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mlscore/mlscore/internal/atomicfile"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/sim"
	"github.com/mlscore/mlscore/suite"
)

// The golden logs in testdata/logs are mlscore's own event logs (not the
// working group's vectors), written by the simulator from fixed recipes.
// TestGoldenLogs checks that each still replays with zero divergences to the
// final digest pinned beside it, and that its recipe still produces it byte
// for byte — run under another GOARCH (.ci/run does GOARCH=386), the second
// check proves that the same seed gives the same log on every architecture.
// See testdata/logs/README.md before regenerating them with -update.

var update = flag.Bool("update", false, "rewrite the golden logs in testdata/logs from their recipes (a reviewed decision: see testdata/logs/README.md)")

const goldenDir = "testdata/logs"

// goldenRecipe says how a golden log is generated: a simulation, then the
// log of its member with the most records (the lowest index on a tie),
// optionally compacted to a SnapshotAndTail log.
type goldenRecipe struct {
	Seed            uint64   `json:"seed"`
	Suite           suite.ID `json:"suite"`
	Mode            string   `json:"mode"`             // "full" or "public": the simulation's log mode
	PublicHandshake bool     `json:"public_handshake"` // every proposal and commit as a PublicMessage
	Members         int      `json:"members"`          // grown to, then steered towards
	Ops             int      `json:"ops"`              // seeded sim.Step operations after growing
	Tail            int      `json:"tail,omitempty"`   // > 0: keep the last Tail records after a snapshot (replay.Compact)
}

// goldenPin is the small file written beside a golden log when it is
// generated: its recipe, and what replaying it must give.
type goldenPin struct {
	Recipe    goldenRecipe `json:"recipe"`
	Member    string       `json:"member"`     // whose log it is
	Format    uint16       `json:"format"`     // replay.FormatVersion that wrote it
	LogMode   string       `json:"log_mode"`   // the header's mode
	Records   int          `json:"records"`    // records in the log (after the snapshot, if any)
	Epoch     uint64       `json:"epoch"`      // epoch of the final state (0 for a Public log)
	LogSHA256 string       `json:"log_sha256"` // of the log file
	// FinalDigest is the state digest after the last record; for a Public
	// log, the public digest the replay's observer holds after it.
	FinalDigest string `json:"final_digest"`
	// Followed and Checkpoints count, in a Public log, the records whose
	// public state the replay's observer derived itself and those whose
	// checkpoint it took on the writer's word (replay.Result).
	Followed    int `json:"followed,omitempty"`
	Checkpoints int `json:"checkpoints,omitempty"`
}

var goldens = []struct {
	name   string
	recipe goldenRecipe
}{
	{"suite1-full", goldenRecipe{Seed: 101, Suite: 1, Mode: "full", Members: 5, Ops: 60}},
	{"suite2-full", goldenRecipe{Seed: 202, Suite: 2, Mode: "full", Members: 4, Ops: 30}},
	{"suite3-full", goldenRecipe{Seed: 303, Suite: 3, Mode: "full", Members: 4, Ops: 30}},
	{"suite1-public", goldenRecipe{Seed: 404, Suite: 1, Mode: "public", PublicHandshake: true, Members: 5, Ops: 40}},
	{"suite1-snapshot", goldenRecipe{Seed: 505, Suite: 1, Mode: "full", Members: 5, Ops: 40, Tail: 40}},
}

// generateGolden runs a recipe and returns the log and whose it is.
func generateGolden(r goldenRecipe) ([]byte, string, error) {
	mode := replay.Full
	if r.Mode == "public" {
		mode = replay.Public
	}
	s, err := sim.New(sim.Config{Seed: r.Seed, Suite: r.Suite, Mode: mode, Faults: sim.DefaultFaults,
		Members: r.Members, PublicHandshake: r.PublicHandshake})
	if err != nil {
		return nil, "", err
	}
	if err := s.Grow(r.Members); err != nil {
		return nil, "", err
	}
	for range r.Ops {
		if _, err := s.Step(); err != nil {
			return nil, "", err
		}
	}
	if err := s.Drain(); err != nil {
		return nil, "", err
	}
	var best *sim.Member
	for _, m := range s.Members() {
		if best == nil || m.Records() > best.Records() {
			best = m
		}
	}
	data := bytes.Clone(best.Log())
	if r.Tail > 0 {
		l, err := replay.ReadLog(data)
		if err != nil {
			return nil, "", err
		}
		if data, err = replay.Compact(l, r.Tail, nil); err != nil {
			return nil, "", err
		}
	}
	return data, best.Name, nil
}

// replayGolden replays a log and returns its pin (without the recipe and
// member).
func replayGolden(data []byte) (goldenPin, error) {
	l, err := replay.ReadLog(data)
	if err != nil {
		return goldenPin{}, err
	}
	if l.Recovery.DroppedBytes != 0 {
		return goldenPin{}, fmt.Errorf("a torn final record of %d bytes was dropped", l.Recovery.DroppedBytes)
	}
	res, err := replay.ReplayLog(l, nil)
	if err != nil {
		return goldenPin{}, err
	}
	if len(res.Steps) == 0 {
		return goldenPin{}, fmt.Errorf("no records")
	}
	sum := sha256Hex(data)
	p := goldenPin{Format: l.Header.Format, LogMode: l.Header.Mode.String(), Records: len(l.Records), LogSHA256: sum}
	if res.Public {
		if !res.Observed {
			return goldenPin{}, fmt.Errorf("the public log records no public digests")
		}
		d := res.Steps[len(res.Steps)-1].Observed.Digest()
		p.FinalDigest = hex.EncodeToString(d[:])
		p.Followed, p.Checkpoints = res.Followed, res.Checkpoints
		return p, nil
	}
	final := res.Final()
	d := final.Digest()
	p.FinalDigest = hex.EncodeToString(d[:])
	if final.InGroup() {
		p.Epoch = final.Epoch()
	}
	return p, nil
}

func writeGolden(t *testing.T, name string, r goldenRecipe) {
	t.Helper()
	data, member, err := generateGolden(r)
	if err != nil {
		t.Fatalf("generating: %v", err)
	}
	p, err := replayGolden(data)
	if err != nil {
		t.Fatalf("the generated log does not replay: %v", err)
	}
	p.Recipe, p.Member = r, member
	js, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(goldenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(filepath.Join(goldenDir, name+".mlslog"), data); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(filepath.Join(goldenDir, name+".json"), append(js, '\n')); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s.mlslog: %s, %d records, %d bytes, final digest %s", name, member, p.Records, len(data), p.FinalDigest[:16])
}

func readPin(t *testing.T, name string) goldenPin {
	t.Helper()
	js, err := os.ReadFile(filepath.Join(goldenDir, name+".json"))
	if err != nil {
		t.Fatalf("%v (generate the golden logs with go test ./vectors -run TestGoldenLogs -update)", err)
	}
	var p goldenPin
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s.json: %v", name, err)
	}
	return p
}

// TestGoldenLogs replays every golden log (zero divergences, the pinned
// final digest) and regenerates it from its recipe, requiring the same
// bytes. With -update it first rewrites the logs and their pins.
func TestGoldenLogs(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			if *update {
				writeGolden(t, g.name, g.recipe)
			}
			pin := readPin(t, g.name)
			if pin.Recipe != g.recipe {
				t.Fatalf("%s.json holds recipe %+v, the test %+v: regenerate with -update", g.name, pin.Recipe, g.recipe)
			}
			data, err := os.ReadFile(filepath.Join(goldenDir, g.name+".mlslog"))
			if err != nil {
				t.Fatal(err)
			}

			t.Run("replay", func(t *testing.T) {
				got, err := replayGolden(data)
				if err != nil {
					// A divergence here means the core no longer does what
					// it did when the log was written: a behaviour change.
					t.Fatalf("%s.mlslog: %v", g.name, err)
				}
				got.Recipe, got.Member = pin.Recipe, pin.Member
				if got != pin {
					t.Errorf("%s.mlslog replays to\n%+v\nthe pin in %s.json says\n%+v", g.name, got, g.name, pin)
				}
			})

			t.Run("regenerate", func(t *testing.T) {
				gen, member, err := generateGolden(g.recipe)
				if err != nil {
					t.Fatalf("regenerating: %v", err)
				}
				if member != pin.Member {
					t.Errorf("the recipe now picks %s's log, the golden is %s's", member, pin.Member)
				}
				if !bytes.Equal(gen, data) {
					t.Errorf("regenerating %s from seed %d gives different bytes (%d, golden %d): %s",
						g.name, g.recipe.Seed, len(gen), len(data), firstDifference(gen, data))
				}
			})
		})
	}
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// firstDifference describes where two logs first differ.
func firstDifference(got, want []byte) string {
	gl, gerr := replay.ReadLog(got)
	wl, werr := replay.ReadLog(want)
	if gerr != nil || werr != nil {
		return fmt.Sprintf("reading: %v, %v", gerr, werr)
	}
	if gl.Header != wl.Header {
		return fmt.Sprintf("header %+v, golden %+v", gl.Header, wl.Header)
	}
	if (gl.Snapshot == nil) != (wl.Snapshot == nil) ||
		gl.Snapshot != nil && !bytes.Equal(replay.EncodeSnapshot(*gl.Snapshot), replay.EncodeSnapshot(*wl.Snapshot)) {
		return "the snapshots differ"
	}
	for i := range min(len(gl.Records), len(wl.Records)) {
		g, w := gl.Records[i], wl.Records[i]
		if bytes.Equal(replay.EncodeRecord(g), replay.EncodeRecord(w)) {
			continue
		}
		var fields []string
		if !bytes.Equal(g.Event, w.Event) {
			fields = append(fields, "event")
		}
		if g.Seed != w.Seed {
			fields = append(fields, "seed")
		}
		if g.Outcome != w.Outcome {
			fields = append(fields, "outcome")
		}
		if g.State != w.State {
			fields = append(fields, "state digest")
		}
		if g.Effects != w.Effects {
			fields = append(fields, "effects digest")
		}
		if g.Public != w.Public || !bytes.Equal(g.Checkpoint, w.Checkpoint) {
			fields = append(fields, "public digest or checkpoint")
		}
		return fmt.Sprintf("record %d differs in %v", g.Seq, slices.Clip(fields))
	}
	return fmt.Sprintf("%d records, golden %d", len(gl.Records), len(wl.Records))
}
