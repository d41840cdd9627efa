package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/bits"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/internal/synth"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/sim"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/treemath"
)

const benchUsage = `usage: mls bench [-suite S] [-sizes 16,256,4096] [-ops K] [-records R] [-json]
       mls bench -scenario NAME[,NAME...] [-members 16,256,4096] [-suite S] [-budget D] [-out DIR] [-json]

Bench measures, in this process with the library (not through go test),
the costs that docs/design.md's targets are stated in, and prints each with its
ratio to the crypto floor F — the signatures, HPKE, AEAD and key derivations
the operation cannot avoid, computed from the primitives measured in the
same run:

  primitives     Sign, Verify (100 B, with label), HPKESeal/HPKEOpen of an
                 Nh-byte secret, AEADSeal/AEADOpen of 100 B (key setup
                 included), DeriveKeyPair (one path node key pair)
  CommitCreate   a member of a group of N creates a self-update commit with
                 a path; F = (d+1)·DeriveKeyPair + d·HPKESeal + 2·Sign,
                 d = log₂N
  CommitProcess  the member at the far end of the tree receives that commit
                 and merges it; F = 2·Verify + HPKEOpen + DeriveKeyPair
  Protect        encrypt a 100 B application message, steady state of an
                 epoch; F = Sign + 2·AEADSeal
  Unprotect      decrypt the next 100 B message; F = Verify + 2·AEADOpen
  Replay         replay.Replay of the first R records of a simulated member's
                 log; its floor is re-applying the same events (decoded
                 beforehand) without any of replay's checks, so the ratio is
                 the cost of verifying the log

The groups are synthetic full groups of N members (a power of two) built from
seeds through the exported API: every parent node is set, so a path encrypts
to one node per level, as in a group where everybody has committed; Protect
and Unprotect use the group of the first size. Each figure times K operations after
one untimed warm-up (Replay: max(3, K/20) replays of the log), in five
rounds, and reports the mean of the fastest round — the least disturbed by
other load — with the allocations per operation over all rounds. Times vary with the machine's load; the
figures of record are in docs/performance.md (go test -bench).

With -scenario, bench runs the scenarios of the Performance chapter of the
OpenMLS book at each group size of -members (powers of two from 4 to
65536), or all of them (-scenario all):

` + "%s" + `
Each scenario's group is driven through the core state machine like the
simulator's (package sim) — every commit confirmed by its committer,
received and merged by the other members measured, who must agree — but
only the measured members keep states: A (leaf 0) commits and sends, B
(the last leaf) receives, C (the middle leaf) is the offline device. The
book's measurements, from the scenario's state:

  create    (creator)    CreateGroup, one commit adding N−1 key packages
                         (the ratchet tree in the Welcome), ConfirmCommit
  add       (committer)  commit adding one member, ConfirmCommit
  add       (member)     receive and merge that commit
  join      (joiner)     JoinWelcome and AcceptJoin of its Welcome
  remove    (committer, member)  the same for the removal of a member
  update    (committer, member)  the same for a self-update (a path)
  message   (sender)     protect a 100-byte application message
  message   (receiver)   decrypt it
  catch-up  (offline)    the offline device processes what it missed;
                         catch-up-commits: the commits only

Each figure is timed in samples that start from the same state (messages
continue from the previous sample), taken until -budget of wall-clock time
is spent: at least one, at most 200, so expensive operations at large N
take one. Samples are timed in process CPU time (-clock cpu, where the
platform has it; a shared machine's load then matters less) or wall-clock
time (-clock wall). The table gives the median, the spread (p10–p90 from
10 samples, else min–max) and the allocations and bytes allocated per
operation. -out DIR receives
bench.json (format "mlscore-bench-scenarios/1", documented in
docs/performance.md) and bench-NAME.svg, one chart per scenario: time
against group size on log-log axes, one line per operation. Progress and
an estimate of the time left go to standard error; SIGINT stops the run
and writes what finished.
`

// benchMaxSize bounds -sizes: a synthetic group of 65536 members takes
// seconds to build and about 100 MB.
const benchMaxSize = 1 << 16

// benchFigure is one line of the table.
type benchFigure struct {
	Name        string  `json:"name"`
	N           int     `json:"n,omitempty"` // group size, or records for Replay
	Ops         int     `json:"ops"`         // timed operations
	NsPerOp     float64 `json:"ns_per_op"`
	AllocsPerOp float64 `json:"allocs_per_op"`
	BytesPerOp  float64 `json:"bytes_per_op"`
	// FloorNs is the crypto floor F in nanoseconds and Ratio = NsPerOp/F;
	// both zero for a primitive, which is its own floor.
	FloorNs float64 `json:"floor_ns,omitempty"`
	Ratio   float64 `json:"ratio,omitempty"`
	Floor   string  `json:"floor,omitempty"` // how F is made up
}

// benchMachine describes where the figures were measured.
type benchMachine struct {
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
	Circl      string `json:"circl,omitempty"`
}

// benchReport is the whole output of mls bench, as -json prints it.
type benchReport struct {
	Suite   suite.ID      `json:"suite"`
	Name    string        `json:"suite_name"`
	Sizes   []int         `json:"sizes"`
	Ops     int           `json:"ops"`
	Records int           `json:"records"`
	Machine benchMachine  `json:"machine"`
	Figures []benchFigure `json:"figures"`
}

func runBench(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench", stderr)
	suiteID := fs.Uint("suite", 1, "cipher suite: 1 to 7, or 77 (0x004D, X-Wing)")
	sizesFlag := fs.String("sizes", "16,256,4096", "group sizes `N,...` (powers of two, 2 to 65536)")
	ops := fs.Int("ops", 100, "timed operations per figure")
	records := fs.Int("records", 1000, "records of the replayed log")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	scenarioFlag := fs.String("scenario", "", "run the OpenMLS book's scenarios `NAME,...` (or all) instead")
	membersFlag := fs.String("members", "16,256,4096", "with -scenario: group sizes `N,...` (powers of two, 4 to 65536, increasing)")
	budget := fs.Duration("budget", 500*time.Millisecond, "with -scenario: time for the samples of one figure")
	outDir := fs.String("out", ".", "with -scenario: `DIR`ectory for bench.json and the charts")
	clock := fs.String("clock", "cpu", "with -scenario: time samples in process CPU time (cpu) or wall-clock time (wall)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, benchUsage, scenarioList())
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return parseStatus(err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *scenarioFlag != "" || set["scenario"] {
		return runBenchScenarioFlags(set, *scenarioFlag, *membersFlag, *suiteID, *budget, *outDir, *clock, *asJSON, pos, stdout, stderr)
	}
	for _, f := range []string{"members", "budget", "out", "clock"} {
		if set[f] {
			return usageError(stderr, "bench", "-"+f+" applies to -scenario only")
		}
	}
	sizes, err := parseSizes(*sizesFlag)
	if err == nil && *ops < 1 {
		err = fmt.Errorf("-ops %d: want at least 1", *ops)
	}
	if err == nil && (*records < 1 || *records > 1_000_000) {
		err = fmt.Errorf("-records %d: want 1 to 1000000", *records)
	}
	if err == nil && *suiteID > 0xffff {
		err = fmt.Errorf("-suite %d: no such cipher suite", *suiteID)
	}
	var cs *suite.Suite
	if err == nil {
		if cs, err = suite.Lookup(suite.ID(*suiteID)); err != nil {
			err = fmt.Errorf("-suite %d: %w", *suiteID, err)
		}
	}
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	if err != nil {
		return usageError(stderr, "bench", err.Error())
	}

	rep := benchReport{Suite: cs.ID(), Name: cs.ID().String(), Sizes: sizes, Ops: *ops, Records: *records, Machine: machine()}
	intr, stopIntr := notifyInterrupt()
	defer stopIntr()
	b := &bencher{cs: cs, ops: *ops, progress: stderr, intr: intr}
	status := 0
	if err := b.run(sizes, *records); errors.Is(err, errInterrupted) {
		// The figures measured so far are complete: print them, then say
		// the run stopped early.
		defer fmt.Fprintf(stderr, "mls bench: interrupted after %d figures\n", len(b.figures))
		status = 130
	} else if err != nil {
		fmt.Fprintf(stderr, "mls bench: %v\n", err)
		return 1
	}
	rep.Figures = b.figures
	if *asJSON {
		out, _ := json.MarshalIndent(rep, "", "  ")
		stdout.Write(append(out, '\n'))
		return status
	}
	printBench(stdout, rep)
	return status
}

// parseSizes parses -sizes: a comma-separated list of powers of two.
func parseSizes(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 || n > benchMaxSize || n&(n-1) != 0 {
			return nil, fmt.Errorf("-sizes %q: %q is not a power of two from 2 to %d", s, f, benchMaxSize)
		}
		out = append(out, n)
	}
	return out, nil
}

func machine() benchMachine {
	m := benchMachine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/cloudflare/circl" {
				m.Circl = d.Version
			}
		}
	}
	return m
}

// bencher measures the figures of one cipher suite.
type bencher struct {
	cs      *suite.Suite
	ops     int
	figures []benchFigure
	prim    map[string]float64 // ns per primitive operation
	// progress receives a line before each slow setup step.
	progress io.Writer
	// intr receives SIGINT: the run stops before the next figure.
	intr <-chan os.Signal
}

// errInterrupted stops a bench run between two figures on SIGINT.
var errInterrupted = errors.New("interrupted")

// measureRounds is the number of rounds a measurement is split into.
const measureRounds = 5

// measure times k calls of f and returns the time per call and the
// allocations per call. The calls run in up to measureRounds rounds and the
// time is the mean of the fastest round, so that a burst of load from other
// processes in one round does not skew the figure (and its ratio to a floor
// measured at another moment).
func measure(k int, f func(i int) error) (ns, allocs, bytes float64, err error) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	rounds := min(measureRounds, k)
	best := -1.0
	i := 0
	for r := range rounds {
		n := k/rounds + btoi(r < k%rounds)
		start := time.Now()
		for range n {
			if err := f(i); err != nil {
				return 0, 0, 0, err
			}
			i++
		}
		if t := float64(time.Since(start).Nanoseconds()) / float64(n); best < 0 || t < best {
			best = t
		}
	}
	runtime.ReadMemStats(&m1)
	fk := float64(k)
	return best, float64(m1.Mallocs-m0.Mallocs) / fk, float64(m1.TotalAlloc-m0.TotalAlloc) / fk, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// add measures f (warm-up call with index -1, then ops timed calls) and
// appends its figure; floor is in nanoseconds (0 for a primitive).
func (b *bencher) add(name string, n, ops int, floor float64, formula string, f func(i int) error) error {
	select {
	case <-b.intr:
		return errInterrupted
	default:
	}
	if err := f(-1); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	ns, allocs, bytes, err := measure(ops, f)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fig := benchFigure{Name: name, N: n, Ops: ops, NsPerOp: ns, AllocsPerOp: allocs, BytesPerOp: bytes, Floor: formula}
	if floor > 0 {
		fig.FloorNs, fig.Ratio = floor, ns/floor
	}
	b.figures = append(b.figures, fig)
	return nil
}

func (b *bencher) run(sizes []int, records int) error {
	if err := b.primitives(); err != nil {
		return err
	}
	groups := map[int]*synth.Group{}
	for _, n := range sizes {
		if groups[n] != nil {
			continue
		}
		if n >= 1024 {
			fmt.Fprintf(b.progress, "mls bench: building a synthetic group of %d members\n", n)
		}
		sy, err := synth.New(b.cs.ID(), n)
		if err != nil {
			return err
		}
		groups[n] = sy
		if err := b.commits(sy); err != nil {
			return err
		}
	}
	if err := b.messages(groups[sizes[0]]); err != nil {
		return err
	}
	return b.replay(records)
}

// primitives measures the crypto floor.
func (b *bencher) primitives() error {
	cs := b.cs
	b.prim = map[string]float64{}
	sigPriv, sigPub, err := cs.GenerateSignatureKey(synth.Seed("bench sig", 0, cs.SignatureSeedLen()))
	if err != nil {
		return err
	}
	sg, err := cs.NewSigner(sigPriv)
	if err != nil {
		return err
	}
	msg := make([]byte, 100)
	sig, err := sg.SignWithLabel("bench", msg)
	if err != nil {
		return err
	}
	hpkePriv, hpkePub, err := cs.DeriveKeyPair(synth.Seed("bench hpke", 0, cs.HashLen()))
	if err != nil {
		return err
	}
	secret, seed := synth.Seed("bench secret", 0, cs.HashLen()), synth.Seed("bench seed", 0, cs.HPKESeedLen())
	kem, ct, err := cs.HPKESeal(hpkePub, []byte("info"), nil, secret, seed)
	if err != nil {
		return err
	}
	key, nonce := make([]byte, cs.AEADKeyLen()), make([]byte, cs.AEADNonceLen())
	sealed, err := cs.Seal(key, nonce, nil, msg)
	if err != nil {
		return err
	}
	prims := []struct {
		name string
		f    func() error
	}{
		{"Sign", func() error { _, err := sg.SignWithLabel("bench", msg); return err }},
		{"Verify", func() error { return cs.VerifyWithLabel(sigPub, "bench", msg, sig) }},
		{"HPKESeal", func() error { _, _, err := cs.HPKESeal(hpkePub, []byte("info"), nil, secret, seed); return err }},
		{"HPKEOpen", func() error { _, err := cs.HPKEOpen(hpkePriv, kem, []byte("info"), nil, ct); return err }},
		{"AEADSeal", func() error { _, err := cs.Seal(key, nonce, nil, msg); return err }},
		{"AEADOpen", func() error { _, err := cs.Open(key, nonce, nil, sealed); return err }},
		{"DeriveKeyPair", func() error { _, _, err := cs.DeriveKeyPair(secret); return err }},
	}
	for _, p := range prims {
		name := p.name
		if strings.HasPrefix(name, "AEAD") {
			name += " 100B"
		}
		if err := b.add(name, 0, b.ops, 0, "", func(int) error { return p.f() }); err != nil {
			return err
		}
		b.prim[p.name] = b.figures[len(b.figures)-1].NsPerOp
	}
	return nil
}

func sentMessage(effs []effects.Effect) ([]byte, error) {
	for _, e := range effs {
		if s, ok := e.(effects.SendToGroup); ok {
			return s.Message, nil
		}
	}
	return nil, errors.New("nothing sent")
}

// commits measures a self-update commit at the group's size: creating it
// (leaf 0) and processing it (the last leaf, whose common ancestor with
// leaf 0 is the root).
func (b *bencher) commits(sy *synth.Group) error {
	n := sy.N()
	d := bits.Len(uint(n)) - 1
	p := b.prim
	s, ks, err := sy.Member(0)
	if err != nil {
		return err
	}
	env := transitions.Env{Keys: ks, Limits: synth.Limits(n)}
	floor := float64(d+1)*p["DeriveKeyPair"] + float64(d)*p["HPKESeal"] + 2*p["Sign"]
	err = b.add("CommitCreate", n, b.ops, floor, fmt.Sprintf("(d+1)·DeriveKeyPair + d·HPKESeal + 2·Sign, d=%d", d), func(int) error {
		env.Entropy = entropy.FromSeed([32]byte{1})
		_, _, err := transitions.Apply(s, transitions.Commit{At: synth.At, ForcePath: true}, env)
		return err
	})
	if err != nil {
		return err
	}
	env.Entropy = entropy.FromSeed([32]byte{1})
	_, effs, err := transitions.Apply(s, transitions.Commit{At: synth.At, ForcePath: true}, env)
	if err != nil {
		return err
	}
	msg, err := sentMessage(effs)
	if err != nil {
		return err
	}
	r, rk, err := sy.Member(treemath.LeafIndex(n - 1))
	if err != nil {
		return err
	}
	renv := transitions.Env{Keys: rk, Limits: synth.Limits(n)}
	floor = 2*p["Verify"] + p["HPKEOpen"] + p["DeriveKeyPair"]
	return b.add("CommitProcess", n, b.ops, floor, "2·Verify + HPKEOpen + DeriveKeyPair", func(int) error {
		renv.Entropy = entropy.FromSeed([32]byte{2})
		r2, _, err := transitions.Apply(r, transitions.Receive{At: synth.At, Message: msg}, renv)
		if err != nil {
			return err
		}
		_, _, err = transitions.Apply(r2, transitions.MergeStaged{At: synth.At}, renv)
		return err
	})
}

// messages measures Protect and Unprotect of 100 B in the steady state of an
// epoch: each operation starts from the state the previous one returned, so
// the sender's and receiver's ratchets are already derived.
func (b *bencher) messages(sy *synth.Group) error {
	n := sy.N()
	p := b.prim
	s, ks, err := sy.Member(0)
	if err != nil {
		return err
	}
	data := make([]byte, 100)
	env := transitions.Env{Keys: ks, Entropy: entropy.FromSeed([32]byte{4}), Limits: synth.Limits(n)}
	cur := s
	err = b.add("Protect 100B", n, b.ops, p["Sign"]+2*p["AEADSeal"], "Sign + 2·AEADSeal", func(int) error {
		var err error
		cur, _, err = transitions.Apply(cur, transitions.Protect{At: synth.At, Data: data}, env)
		return err
	})
	if err != nil {
		return err
	}

	// The receiver decrypts messages 1..ops in order, after message 0
	// (the warm-up) derived the sender's ratchet.
	msgs := make([][]byte, b.ops+1)
	cur = s
	for i := range msgs {
		var effs []effects.Effect
		if cur, effs, err = transitions.Apply(cur, transitions.Protect{At: synth.At, Data: data}, env); err != nil {
			return err
		}
		if msgs[i], err = sentMessage(effs); err != nil {
			return err
		}
	}
	r, rk, err := sy.Member(treemath.LeafIndex(n - 1))
	if err != nil {
		return err
	}
	renv := transitions.Env{Keys: rk, Entropy: entropy.FromSeed([32]byte{6}), Limits: synth.Limits(n)}
	rc := r
	return b.add("Unprotect 100B", n, b.ops, p["Verify"]+2*p["AEADOpen"], "Verify + 2·AEADOpen", func(i int) error {
		var err error
		rc, _, err = transitions.Apply(rc, transitions.Receive{At: synth.At, Message: msgs[i+1]}, renv)
		return err
	})
}

// replay measures replay.Replay of the first records records of the log of
// a simulated member, against re-applying its events without checks.
func (b *bencher) replay(records int) error {
	if records >= 100 {
		fmt.Fprintf(b.progress, "mls bench: simulating a group until a member's log has %d records\n", records)
	}
	h, recs, err := benchLog(b.cs.ID(), records)
	if err != nil {
		return err
	}
	events := make([]transitions.Event, len(recs))
	for i, r := range recs {
		if events[i], err = transitions.DecodeEvent(r.Event); err != nil {
			return fmt.Errorf("record %d: %w", r.Seq, err)
		}
	}
	// The floor: the transitions replay must re-run, with the key store it
	// must rebuild, and nothing else.
	apply := func() error {
		var s state.GroupState
		var ks transitions.KeyStore
		for i, ev := range events {
			next, effs, err := transitions.Apply(s, ev, transitions.Env{Entropy: entropy.FromSeed(recs[i].Seed), Keys: ks})
			if err != nil {
				continue // a rejected input (a duplicate): the state is unchanged
			}
			if ks, err = ks.With(effs); err != nil {
				return err
			}
			s = next
		}
		return nil
	}
	runs := max(3, b.ops/20)
	if err := apply(); err != nil {
		return err
	}
	floor, _, _, err := measure(runs, func(int) error { return apply() })
	if err != nil {
		return err
	}
	return b.add("Replay", len(recs), runs, floor, fmt.Sprintf("Apply of the %d events, unchecked", len(recs)), func(int) error {
		_, err := replay.Replay(h, replay.Records(recs), nil)
		return err
	})
}

// benchLog simulates a group of 8 until one member's log has records
// records and returns the first records of it.
func benchLog(id suite.ID, records int) (replay.Header, []replay.Record, error) {
	s, err := sim.New(sim.Config{Seed: 1, Suite: id, Faults: sim.DefaultFaults, Members: 8})
	if err != nil {
		return replay.Header{}, nil, err
	}
	if err := s.Grow(8); err != nil {
		return replay.Header{}, nil, err
	}
	for {
		var best *sim.Member
		for _, m := range s.Members() {
			if best == nil || m.Records() > best.Records() {
				best = m
			}
		}
		if best.Records() >= uint64(records) {
			h, recs, _, err := replay.Read(best.Log())
			if err != nil {
				return replay.Header{}, nil, err
			}
			return h, recs[:records], nil
		}
		if _, err := s.Step(); err != nil {
			return replay.Header{}, nil, err
		}
	}
}

func printBench(w io.Writer, rep benchReport) {
	m := rep.Machine
	fmt.Fprintf(w, "mls bench: cipher suite %d (%s), %d operations per figure\n", rep.Suite, rep.Name, rep.Ops)
	circl := ""
	if m.Circl != "" {
		circl = ", circl " + m.Circl
	}
	fmt.Fprintf(w, "machine:   %s/%s, %d CPUs (GOMAXPROCS %d), %s%s\n", m.GOOS, m.GOARCH, m.NumCPU, m.GOMAXPROCS, m.Go, circl)
	fmt.Fprintf(w, "groups:    synthetic full groups of %s members; messages in the group of %d\n\n", joinInts(rep.Sizes), rep.Sizes[0])
	fmt.Fprintf(w, "%-15s %6s %11s %10s %10s %11s %6s  %s\n", "operation", "N", "time/op", "allocs/op", "B/op", "floor F", "ratio", "F is")
	for _, f := range rep.Figures {
		n, floor, ratio, formula := "-", "-", "-", "(primitive)"
		if f.N > 0 {
			n = strconv.Itoa(f.N)
		}
		if f.FloorNs > 0 {
			floor, ratio, formula = durString(f.FloorNs), fmt.Sprintf("%.2f", f.Ratio), f.Floor
		}
		fmt.Fprintf(w, "%-15s %6s %11s %10.0f %10.0f %11s %6s  %s\n", f.Name, n, durString(f.NsPerOp), f.AllocsPerOp, f.BytesPerOp, floor, ratio, formula)
	}
	fmt.Fprintf(w, "\nN is the group size (for Replay, the records replayed); d = log₂N.\n")
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// durString formats nanoseconds with three significant digits.
func durString(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.3g s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.3g ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.3g µs", ns/1e3)
	}
	return fmt.Sprintf("%.3g ns", ns)
}
