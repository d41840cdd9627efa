package sim_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/sim"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/valsem"
)

// rewrite makes TestScenarios write the output it got into the scenario
// files instead of comparing: go test ./sim -run TestScenarios -rewrite.
var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/scenarios/*.txt")

// TestScenarios runs the scenario scripts of testdata/scenarios: a
// regression scenario is a text file, not Go code. A script is a list of
// blocks; a block is one command line, a line "----", and the output the
// command must print, up to a blank line. Lines starting with # between
// blocks are comments. The commands are those of scenarioCommands.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scenario scripts in testdata/scenarios")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			runScript(t, f)
		})
	}
}

// block is one command of a script with its expected output.
type block struct {
	line    int      // line number of the command
	comment []string // comment lines before the command
	cmd     string
	want    []string
}

// parseScript splits a script into blocks; trailing comments become a
// last block without a command.
func parseScript(data []byte) ([]block, error) {
	var out []block
	var cur block
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	const (
		between = iota
		command
		output
	)
	st := between
	for sc.Scan() {
		n++
		l := sc.Text()
		switch st {
		case between:
			switch {
			case strings.TrimSpace(l) == "":
			case strings.HasPrefix(l, "#"):
				cur.comment = append(cur.comment, l)
			default:
				cur.line, cur.cmd, st = n, l, command
			}
		case command:
			if l != "----" {
				return nil, fmt.Errorf("line %d: want ---- after the command %q", n, cur.cmd)
			}
			st = output
		case output:
			if strings.TrimSpace(l) == "" {
				out = append(out, cur)
				cur, st = block{}, between
				continue
			}
			cur.want = append(cur.want, l)
		}
	}
	if st == command {
		return nil, fmt.Errorf("line %d: command %q has no ---- line", cur.line, cur.cmd)
	}
	if st == output || len(cur.comment) > 0 {
		out = append(out, cur)
	}
	return out, sc.Err()
}

// formatScript writes blocks back as a script.
func formatScript(blocks []block) []byte {
	var b bytes.Buffer
	for i, bl := range blocks {
		if i > 0 {
			b.WriteString("\n")
		}
		for _, c := range bl.comment {
			b.WriteString(c + "\n")
		}
		if bl.cmd == "" {
			continue
		}
		b.WriteString(bl.cmd + "\n----\n")
		for _, w := range bl.want {
			b.WriteString(w + "\n")
		}
	}
	return b.Bytes()
}

func runScript(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseScript(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	r := &runner{logs: map[string][]byte{}, snaps: map[string]replay.Snapshot{}}
	for i := range blocks {
		bl := &blocks[i]
		if bl.cmd == "" {
			continue
		}
		got := r.run(bl.cmd)
		if *rewrite {
			bl.want = got
			continue
		}
		if !slices.Equal(got, bl.want) {
			t.Fatalf("%s:%d: %s\ngot:\n%s\nwant:\n%s", path, bl.line, bl.cmd, strings.Join(got, "\n"), strings.Join(bl.want, "\n"))
		}
	}
	if *rewrite {
		if err := os.WriteFile(path, formatScript(blocks), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runner holds a script's simulation and what its commands remember.
type runner struct {
	s      *sim.Sim
	commit []byte                     // the last commit a fault command made
	logs   map[string][]byte          // member logs saved by save-log
	snaps  map[string]replay.Snapshot // backups by name
	split  *replay.DiffSplit          // the single split of the last diff
}

// scenarioCommands documents the commands of a script; each prints "ok"
// or what it reports, and "error: ..." when it fails.
var scenarioCommands = map[string]string{
	"new [seed=N] [members=N] [suite=N] [public]": "start a simulation (sim.Config; public: public logs and handshakes)",
	"grow N":                   "create the group if needed and add members until N are active",
	"step N":                   "N seeded random operations (sim.Step); prints their names",
	"commit-update M":          "M commits a self-update that everyone merges",
	"drop-commit C V...":       "C commits an update that the members V never receive",
	"accept-both A B [TOA...]": "A and B commit in one epoch and both are accepted; TOA merge A's",
	"merge-after-losing W L":   "L merges its own commit after losing to W's",
	"stage M":                  "M receives the last fault commit and stages it without merging",
	"discard M":                "M receives the last fault commit, stages it, then discards it",
	"damaged M":                "M receives a copy of the last fault commit with its last byte flipped",
	"process-commit M":         "M processes and merges the last fault commit",
	"backup M NAME":            "keep M's state and keys as backup NAME",
	"restore M NAME":           "restore M's whole store (state and log) from backup NAME",
	"restore-state M NAME":     "restore M's state from backup NAME while its log goes on",
	"save-log M NAME":          "keep a copy of M's log as NAME, for diff",
	"send-now M":               "M sends one message everyone receives now; prints who could not read it",
	"resync M FROM":            "M re-joins by external commit from FROM's GroupInfo",
	"diff [compact] M...":      "replay.Diff of the named logs (saved ones too); compact: snapshot-only logs",
	"recover [alternative]":    "carry out the recovery of the last diff's single split",
	"check":                    "sim.Check: every active member agrees",
	"replay M":                 "replay M's log and check its recorded outcomes",
	"epochs":                   "every active member's epoch",
}

func (r *runner) run(cmd string) []string {
	f := strings.Fields(cmd)
	out, err := r.exec(f[0], f[1:])
	if err != nil {
		out = append(out, "error: "+describe(err))
	}
	if len(out) == 0 {
		out = []string{"ok"}
	}
	return out
}

// describe gives an error's rule when it has one, else its text.
func describe(err error) string {
	var v *valsem.Error
	if errors.As(err, &v) {
		return fmt.Sprintf("ValSem%03d", uint16(v.Code))
	}
	return err.Error()
}

func (r *runner) member(name string) (*sim.Member, error) {
	if r.s == nil {
		return nil, errors.New("no simulation: start with new")
	}
	m := r.s.Member(name)
	if m == nil {
		return nil, fmt.Errorf("no member %s", name)
	}
	return m, nil
}

func (r *runner) members(names []string) ([]*sim.Member, error) {
	var out []*sim.Member
	for _, n := range names {
		m, err := r.member(n)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (r *runner) exec(verb string, args []string) ([]string, error) {
	if verb == "new" {
		return nil, r.start(args)
	}
	if r.s == nil {
		return nil, errors.New("no simulation: start with new")
	}
	need := func(n int) error {
		if len(args) < n {
			return fmt.Errorf("%s needs %d arguments", verb, n)
		}
		return nil
	}
	switch verb {
	case "grow", "step":
		if err := need(1); err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(args[0])
		if err != nil {
			return nil, err
		}
		if verb == "grow" {
			return nil, r.s.Grow(n)
		}
		var ops []string
		for range n {
			op, err := r.s.Step()
			if err != nil {
				return []string{strings.Join(ops, " ")}, err
			}
			ops = append(ops, op.String())
		}
		return []string{strings.Join(ops, " ")}, nil
	case "commit-update", "stage", "discard", "damaged", "process-commit", "send-now":
		if err := need(1); err != nil {
			return nil, err
		}
		m, err := r.member(args[0])
		if err != nil {
			return nil, err
		}
		return r.single(verb, m)
	case "drop-commit", "accept-both", "merge-after-losing", "resync":
		ms, err := r.members(args)
		if err != nil {
			return nil, err
		}
		return nil, r.fault(verb, ms)
	case "backup", "restore", "restore-state", "save-log":
		if err := need(2); err != nil {
			return nil, err
		}
		m, err := r.member(args[0])
		if err != nil {
			return nil, err
		}
		return nil, r.keep(verb, m, args[1])
	case "diff":
		return r.diff(args)
	case "recover":
		return r.recover(len(args) > 0 && args[0] == "alternative")
	case "check":
		return nil, r.s.Check()
	case "replay":
		if err := need(1); err != nil {
			return nil, err
		}
		m, err := r.member(args[0])
		if err != nil {
			return nil, err
		}
		l, err := replay.ReadLog(m.Log())
		if err != nil {
			return nil, err
		}
		if _, err := replay.ReplayLog(l, nil); err != nil {
			return []string{"does not replay"}, err
		}
		return []string{fmt.Sprintf("replays: %d records", len(l.Records))}, nil
	case "epochs":
		var out []string
		for _, m := range r.s.Active() {
			out = append(out, fmt.Sprintf("%s epoch %d", m.Name, m.State().Epoch()))
		}
		return out, nil
	}
	var known []string
	for c := range scenarioCommands {
		known = append(known, strings.Fields(c)[0])
	}
	slices.Sort(known)
	return nil, fmt.Errorf("unknown command %q; the commands are %s", verb, strings.Join(known, ", "))
}

func (r *runner) start(args []string) error {
	cfg := sim.Config{Seed: 1}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		if k == "public" {
			cfg.Mode, cfg.PublicHandshake = replay.Public, true
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("new: %s: %v", a, err)
		}
		switch k {
		case "seed":
			cfg.Seed = n
		case "members":
			cfg.Members = int(n)
		case "suite":
			cfg.Suite = suite.ID(n)
		default:
			return fmt.Errorf("new: unknown setting %q", k)
		}
	}
	s, err := sim.New(cfg)
	r.s = s
	return err
}

// single runs the commands about one member.
func (r *runner) single(verb string, m *sim.Member) ([]string, error) {
	at := r.s.Now()
	switch verb {
	case "commit-update":
		return nil, r.s.CommitUpdate(m)
	case "send-now":
		failed, err := r.s.SendNow(m)
		if err != nil || len(failed) == 0 {
			return nil, err
		}
		var out []string
		for _, n := range slices.Sorted(mapsKeys(failed)) {
			out = append(out, fmt.Sprintf("%s could not read it: %s", n, describe(failed[n])))
		}
		return out, nil
	}
	if r.commit == nil {
		return nil, errors.New("no fault commit yet")
	}
	switch verb {
	case "stage":
		_, err := r.s.Apply(m, transitions.Receive{At: at, Message: r.commit})
		return nil, err
	case "discard":
		if _, err := r.s.Apply(m, transitions.Receive{At: at, Message: r.commit}); err != nil {
			return nil, err
		}
		_, err := r.s.Apply(m, transitions.DiscardStaged{At: at})
		return nil, err
	case "damaged":
		bad := bytes.Clone(r.commit)
		bad[len(bad)-1] ^= 1
		_, err := r.s.Apply(m, transitions.Receive{At: at, Message: bad})
		if err == nil {
			return nil, errors.New("the damaged commit was accepted")
		}
		return []string{"rejected: " + describe(err)}, nil
	default: // process-commit
		return nil, r.s.ProcessCommit(m, r.commit)
	}
}

func mapsKeys(m map[string]error) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// fault runs the fault and resync commands.
func (r *runner) fault(verb string, ms []*sim.Member) error {
	if len(ms) < map[string]int{"drop-commit": 1, "accept-both": 2, "merge-after-losing": 2, "resync": 2}[verb] {
		return fmt.Errorf("%s: too few members", verb)
	}
	switch verb {
	case "drop-commit":
		msg, err := r.s.DropCommit(ms[0], ms[1:]...)
		r.commit = msg
		return err
	case "accept-both":
		return r.s.AcceptBoth(ms[0], ms[1], ms[2:]...)
	case "merge-after-losing":
		return r.s.MergeAfterLosing(ms[0], ms[1])
	default:
		return r.s.Resync(ms[0], ms[1])
	}
}

// keep runs the backup, restore and save-log commands.
func (r *runner) keep(verb string, m *sim.Member, name string) error {
	switch verb {
	case "backup":
		snap, err := r.s.Backup(m)
		r.snaps[name] = snap
		return err
	case "save-log":
		r.logs[name] = bytes.Clone(m.Log())
		return nil
	}
	snap, ok := r.snaps[name]
	if !ok {
		return fmt.Errorf("no backup %s", name)
	}
	if verb == "restore" {
		return r.s.Restore(m, snap)
	}
	return r.s.RestoreState(m, snap)
}

func (r *runner) diff(args []string) ([]string, error) {
	compact := len(args) > 0 && args[0] == "compact"
	if compact {
		args = args[1:]
	}
	var in []replay.DiffInput
	for _, n := range args {
		data, ok := r.logs[n]
		if !ok {
			m, err := r.member(n)
			if err != nil {
				return nil, err
			}
			data = m.Log()
		}
		l, err := replay.ReadLog(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if compact {
			if data, err = replay.Compact(l, 0, nil); err != nil {
				return nil, err
			}
			if l, err = replay.ReadLog(data); err != nil {
				return nil, err
			}
		}
		in = append(in, replay.DiffInput{Name: n, Log: l})
	}
	rep, err := replay.Diff(in, nil)
	if err != nil {
		return nil, err
	}
	r.split = nil
	if len(rep.Splits) == 1 {
		r.split = &rep.Splits[0]
	}
	var b strings.Builder
	if err := rep.Text(&b); err != nil {
		return nil, err
	}
	var out []string
	for l := range strings.SplitSeq(strings.TrimRight(b.String(), "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out, nil
}

// recover carries out the recovery of the last diff's split through the
// simulator, which does what the named mls API operations do, and prints
// the actions.
func (r *runner) recover(alt bool) ([]string, error) {
	sp := r.split
	if sp == nil || len(sp.Recovery) == 0 {
		return nil, errors.New("the last diff found no single split with a recovery")
	}
	hasAlt := slices.ContainsFunc(sp.Recovery, func(rc replay.DiffRecovery) bool { return rc.Alternative })
	var out []string
	for _, rc := range sp.Recovery {
		if hasAlt && rc.Alternative != alt {
			continue
		}
		m, err := r.member(rc.Member)
		if err != nil {
			return out, err
		}
		out = append(out, rc.Action+" "+rc.Member)
		switch rc.Action {
		case "merge-staged":
			if _, err := r.s.Apply(m, transitions.MergeStaged{At: r.s.Now()}); err != nil {
				return out, err
			}
			fallthrough
		case "process-commits":
			for _, c := range rc.Commits {
				msg, err := hex.DecodeString(c.Message)
				if err != nil || len(msg) == 0 {
					return out, fmt.Errorf("commit %s has no bytes", c.Hash)
				}
				if err := r.s.ProcessCommit(m, msg); err != nil {
					return out, err
				}
			}
		case "resync":
			from, err := r.member(rc.From)
			if err != nil {
				return out, err
			}
			if err := r.s.Resync(m, from); err != nil {
				return out, err
			}
		default:
			return out, fmt.Errorf("recovery action %q", rc.Action)
		}
	}
	return out, nil
}

// TestScenarioScriptFormat checks the parser and the printer on a script
// with comments, an output with several lines and a trailing comment.
func TestScenarioScriptFormat(t *testing.T) {
	src := "# a comment\nnew seed=1\n----\nok\n\n# two lines\nepochs\n----\na\nb\n\n# the end\n"
	blocks, err := parseScript([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 3 || blocks[1].cmd != "epochs" || !slices.Equal(blocks[1].want, []string{"a", "b"}) || blocks[2].cmd != "" {
		t.Fatalf("blocks %+v", blocks)
	}
	if got := string(formatScript(blocks)); got != src {
		t.Fatalf("printed\n%q\nwant\n%q", got, src)
	}
	for _, bad := range []string{"new\nok\n", "new\n"} {
		if _, err := parseScript([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	for _, c := range []string{"grow x", "bogus", "new colour=3", "diff nobody"} {
		r := &runner{logs: map[string][]byte{}, snaps: map[string]replay.Snapshot{}}
		if c != "new colour=3" {
			r.run("new seed=1")
		}
		if out := r.run(c); len(out) == 0 || !strings.HasPrefix(out[len(out)-1], "error: ") {
			t.Errorf("%s: %q, want an error", c, out)
		}
	}
}
