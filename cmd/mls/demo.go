package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mlscore/mlscore/internal/atomicfile"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/sim"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
)

const demoUsage = `usage: mls demo [-members N] [-ops K] [-suite S] [-seed X] [-out DIR] [-verify]

Demo simulates a group with the deterministic simulator: a first member
creates the group and adds members until there are N, then K seeded
operations follow — adds, removals, self-updates, proposals by reference,
racing commits (the delivery service accepts the first), and application
messages with drops, duplicates, reordering and delays. Handshake messages
go out as PublicMessage or PrivateMessage, as each member's policy says.

After every operation all members must agree on the epoch, tree hash,
transcript hashes, epoch authenticator and roster, and every delivered
application message must decrypt. At the end, demo prints a summary.

With -out, each member's event log is written to DIR/member-NNN.mlslog;
"mls replay" replays one. The same seed gives the same logs, byte for byte.
With -verify, every log is also replayed and checked before demo exits.

With -fault F, the run ends with a fault that splits the group, for
"mls diff" to explain: dropped-commit (a commit never reaches a member),
double-accept (the delivery service accepts two commits for one epoch),
merged-after-losing (a committer merges its pending commit after another
won) or rolled-back (a member restored from a snapshot older than its last
commit). The logs are written after the fault.
`

// maxDemoMembers bounds -members: the simulator's members run with the
// core's default Limits, whose MaxLeaves a larger group would exceed.
var maxDemoMembers = int(transitions.DefaultLimits().MaxLeaves)

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", stderr)
	members := fs.Int("members", 8, fmt.Sprintf("members to grow the group to: 1 to %d, the core's default MaxLeaves", maxDemoMembers))
	ops := fs.Int("ops", 100, "operations after the group has grown")
	suiteID := fs.Uint("suite", 1, "cipher suite: 1 to 7, or 77 (0x004D, X-Wing)")
	seed := fs.Uint64("seed", 1, "seed of the simulation")
	out := fs.String("out", "", "write the member logs to `DIR`")
	verify := fs.Bool("verify", false, "replay every log at the end")
	fault := fs.String("fault", "", "end with a fault that splits the group: "+strings.Join(demoFaults, ", "))
	fs.Usage = func() {
		fmt.Fprint(stderr, demoUsage)
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return parseStatus(err)
	}
	switch {
	case len(pos) > 0:
		return usageError(stderr, "demo", fmt.Sprintf("unexpected argument %q", pos[0]))
	case *members < 1:
		return usageError(stderr, "demo", fmt.Sprintf("-members %d: want at least 1", *members))
	case *members > maxDemoMembers:
		return usageError(stderr, "demo", fmt.Sprintf("-members %d: want at most %d (the core's default MaxLeaves)", *members, maxDemoMembers))
	case *ops < 0:
		return usageError(stderr, "demo", fmt.Sprintf("-ops %d: want 0 or more", *ops))
	case *suiteID > 0xffff:
		return usageError(stderr, "demo", fmt.Sprintf("-suite %d: no such cipher suite", *suiteID))
	}
	if _, err := suite.Lookup(suite.ID(*suiteID)); err != nil {
		return usageError(stderr, "demo", fmt.Sprintf("-suite %d: %v", *suiteID, err))
	}
	if *fault != "" && !slices.Contains(demoFaults, *fault) {
		return usageError(stderr, "demo", fmt.Sprintf("-fault %q: want one of %s", *fault, strings.Join(demoFaults, ", ")))
	}
	s, err := sim.New(sim.Config{Seed: *seed, Suite: suite.ID(*suiteID), Faults: sim.DefaultFaults, Members: *members})
	if err != nil {
		fmt.Fprintf(stderr, "mls demo: %v\n", err)
		return 2
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintf(stderr, "mls demo: %v\n", err)
			return 1
		}
	}

	start := time.Now()
	var timing [len(sim.Stats{}.Ops)]time.Duration
	bar := newProgress(stderr, *members+*ops)
	intr, stopIntr := notifyInterrupt()
	defer stopIntr()
	// interrupted stops the run cleanly on SIGINT, between two operations:
	// the logs so far are consistent, and are written before exiting.
	interrupted := func(done int) bool {
		select {
		case <-intr:
		default:
			return false
		}
		bar.done()
		where := "not written (no -out)"
		if *out != "" {
			where = "written to " + *out
			if err := writeLogs(s, *out); err != nil {
				where = "not all written: " + err.Error()
			}
		}
		fmt.Fprintf(stderr, "mls demo: interrupted after %d of %d operations; the logs so far are %s\n", done, *members+*ops, where)
		return true
	}
	grown := 0
	// Grow one member-batch at a time so the progress bar moves.
	for len(s.Active()) < *members {
		t0 := time.Now()
		target := min(*members, len(s.Active())+8)
		if err := s.Grow(target); err != nil {
			bar.done()
			fmt.Fprintf(stderr, "mls demo: seed %d: %v\n", *seed, err)
			return 1
		}
		op := sim.OpAdd
		if grown == 0 {
			op = sim.OpCreate
		}
		timing[op] += time.Since(t0)
		grown = len(s.Active())
		bar.update(grown, s)
		if interrupted(grown) {
			return 130
		}
	}
	for i := range *ops {
		t0 := time.Now()
		op, err := s.Step()
		timing[op] += time.Since(t0)
		if err != nil {
			bar.done()
			fmt.Fprintf(stderr, "mls demo: seed %d, operation %d: %v\n", *seed, i, err)
			return 1
		}
		bar.update(*members+i+1, s)
		if interrupted(*members + i + 1) {
			return 130
		}
	}
	t0 := time.Now()
	if err := s.Drain(); err != nil {
		bar.done()
		fmt.Fprintf(stderr, "mls demo: seed %d: draining: %v\n", *seed, err)
		return 1
	}
	if err := s.Check(); err != nil {
		bar.done()
		fmt.Fprintf(stderr, "mls demo: seed %d: after draining: %v\n", *seed, err)
		return 1
	}
	timing[sim.OpDeliver] += time.Since(t0)
	bar.done()
	elapsed := time.Since(start)
	var faulted string
	if *fault != "" {
		if faulted, err = injectFault(s, *fault); err != nil {
			fmt.Fprintf(stderr, "mls demo: -fault %s: %v\n", *fault, err)
			return 1
		}
	}

	var logBytes int
	for _, m := range s.Members() {
		logBytes += len(m.Log())
	}
	if *out != "" {
		if err := writeLogs(s, *out); err != nil {
			fmt.Fprintf(stderr, "mls demo: %v\n", err)
			return 1
		}
	}
	printSummary(stdout, s, *seed, suite.ID(*suiteID), elapsed, timing[:], logBytes, *out, faulted)

	if *verify {
		t0 := time.Now()
		for _, m := range s.Members() {
			l, err := replay.ReadLog(m.Log())
			if err == nil {
				_, err = replay.ReplayLog(l, nil)
			}
			if err != nil {
				fmt.Fprintf(stderr, "mls demo: replaying %s: %v\n", m.Name, err)
				var d *replay.Divergence
				if errors.As(err, &d) {
					fmt.Fprint(stderr, d.Report())
				}
				return 1
			}
		}
		fmt.Fprintf(stdout, "verify    all %d logs replay to their recorded digests (%s)\n", len(s.Members()), round(time.Since(t0)))
	}
	return 0
}

// writeLogs writes every member's log to DIR/NAME.mlslog.
func writeLogs(s *sim.Sim, dir string) error {
	for _, m := range s.Members() {
		if err := atomicfile.Write(filepath.Join(dir, m.Name+".mlslog"), m.Log()); err != nil {
			return err
		}
	}
	return nil
}

// notifyInterrupt returns a channel that receives SIGINT, and a function
// that stops the notification. Tests replace it.
var notifyInterrupt = func() (<-chan os.Signal, func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt)
	return c, func() { signal.Stop(c) }
}

func printSummary(w io.Writer, s *sim.Sim, seed uint64, id suite.ID, elapsed time.Duration, timing []time.Duration, logBytes int, out, faulted string) {
	st := s.Stats()
	act := s.Active()
	fmt.Fprintf(w, "mls demo: seed %d, cipher suite %d (%s)\n", seed, id, id)
	if len(act) > 0 {
		v := act[0].State().View()
		fmt.Fprintf(w, "group     %s…, epoch %d, %d members (%d joined, %d removed)\n",
			v.GroupID[:min(16, len(v.GroupID))], v.Epoch, len(act), st.Joined, st.Removed)
		if faulted == "" {
			fmt.Fprintf(w, "agree     all %d members: tree hash %s…, epoch authenticator %s…\n",
				len(act), v.TreeHash[:16], v.EpochAuthenticator[:16])
		} else {
			fmt.Fprintf(w, "%s\nsplit     the members no longer agree: run mls diff on their logs\n", faulted)
		}
	}
	fmt.Fprintf(w, "commits   %d accepted, %d lost a race, %d proposals by reference\n", st.Commits, st.Aborted, st.Proposals)
	fmt.Fprintf(w, "messages  %d application messages sent; %d copies decrypted (%d in a later epoch), %d dropped, %d duplicates rejected\n",
		st.AppSent, st.AppDelivered, st.AppLate, st.AppDropped, st.AppDuplicate)
	where := "not written (use -out DIR)"
	if out != "" {
		where = "written to " + out
	}
	fmt.Fprintf(w, "logs      %d events in %d logs, %s, %s\n", st.Events, len(s.Members()), sizeString(logBytes), where)
	fmt.Fprintf(w, "time      %s\n", round(elapsed))
	fmt.Fprintf(w, "          %-8s %6s %10s %10s\n", "op", "count", "total", "mean")
	for _, op := range sim.Ops() {
		n := st.Ops[op]
		if n == 0 {
			continue
		}
		fmt.Fprintf(w, "          %-8s %6d %10s %10s\n", op, n, round(timing[op]), round(timing[op]/time.Duration(n)))
	}
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func sizeString(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// progress shows how far a long run is: a bar redrawn in place when w is a
// terminal, else a line every 10% (prefixed with "mls NAME:").
type progress struct {
	w         io.Writer
	name      string
	total     int
	minTotal  int // runs of fewer steps show nothing
	tty       bool
	lastTenth int
	last      time.Time
	drawn     bool
}

func newProgress(w io.Writer, total int) *progress { return newProgressFor(w, "demo", total) }

// newProgressFor returns the progress of command name's run of total steps.
func newProgressFor(w io.Writer, name string, total int) *progress {
	p := &progress{w: w, name: name, total: total, minTotal: 50}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(n int, s *sim.Sim) {
	p.show(n, fmt.Sprintf("%d/%d operations, epoch %d, %d members", n, p.total, s.Epoch(), len(s.Active())))
}

// show reports that n of the total steps are done; status says where the
// run is. Runs of fewer than minTotal steps show nothing.
func (p *progress) show(n int, status string) {
	if p.total < p.minTotal {
		return
	}
	if p.tty {
		if time.Since(p.last) < 100*time.Millisecond && n < p.total {
			return
		}
		p.last = time.Now()
		const width = 30
		fill := width * n / p.total
		fmt.Fprintf(p.w, "\r[%s%s] %s\033[K", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), status)
		p.drawn = true
		return
	}
	if tenth := 10 * n / p.total; tenth > p.lastTenth {
		p.lastTenth = tenth
		fmt.Fprintf(p.w, "mls %s: %d%%: %s\n", p.name, 10*tenth, status)
	}
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

// shortHex returns the first n bytes of b in hex.
func shortHex(b []byte, n int) string { return hex.EncodeToString(b[:min(n, len(b))]) }
