package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/internal/synth"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
)

// The scenarios of the Performance chapter of the OpenMLS book, measured
// by mls bench -scenario.

// scenario is one of the book's scenarios: how its group is built and
// brought into the state the measurements start from.
type scenario struct {
	name, about string
	// build returns the group in the scenario's state at n members.
	build func(r *scenarioRunner, n int) (*benchGroup, error)
	// created: the group is made by the book's group creation, whose cost
	// the scenario reports ("create").
	created bool
	// offline: the scenario measures the catch-up of the offline member
	// C instead of the per-operation costs.
	offline bool
}

// The warm-up of the scenarios: messages between two commits, and rounds.
const (
	messagesPerRound = 10
	stableRounds     = 4
	churnRounds      = 4
	offlineEpochs    = 10
)

func scenarios() []scenario {
	return []scenario{
		{name: "stable", created: true, about: fmt.Sprintf("created by A adding N−1 members in one commit, then %d rounds of %d messages "+
			"and one member's self-update", stableRounds, messagesPerRound),
			build: func(r *scenarioRunner, n int) (*benchGroup, error) { return r.warm(n, stableRounds, 0) }},
		{name: "somewhat-stable", created: true, about: fmt.Sprintf("as stable, and in each of %d rounds N/32 members are removed and "+
			"as many new ones added (at least one; N/8 replacements in all)", churnRounds),
			build: func(r *scenarioRunner, n int) (*benchGroup, error) { return r.warm(n, churnRounds, max(1, n/32)) }},
		{name: "high-fluctuation", created: true, about: fmt.Sprintf("as stable, and in each of %d rounds N/4 members are removed and "+
			"as many new ones added (N replacements in all)", churnRounds),
			build: func(r *scenarioRunner, n int) (*benchGroup, error) { return r.warm(n, churnRounds, max(1, n/4)) }},
		{name: "blank", about: "every second leaf blank: N members in a tree of 2N leaves, made from a synthetic full group of 2N " +
			"by one commit removing every odd leaf (which blanks every parent node off the committer's path)",
			build: func(r *scenarioRunner, n int) (*benchGroup, error) { return blankGroup(r.cs, n) }},
		{name: "offline", created: true, offline: true, about: fmt.Sprintf("long-time offline device: after setup, member C is offline "+
			"while the group goes through %d commits (self-updates, an add, a remove) with %d messages before each; "+
			"C then processes them all in order", offlineEpochs, messagesPerRound),
			build: func(r *scenarioRunner, n int) (*benchGroup, error) { return r.setup(n) }},
		{name: "setup", created: true, about: "tree right after setup: A created the group and added N−1 members in one commit " +
			"without a path, so every parent node is blank; nothing else happened",
			build: func(r *scenarioRunner, n int) (*benchGroup, error) { return r.setup(n) }},
		{name: "updated", about: "tree after every member updated: every parent node set (a synthetic full group, built from " +
			"seeds by internal/synth instead of N commits)",
			build: func(r *scenarioRunner, n int) (*benchGroup, error) { return synthGroup(r.cs, n, n-1) }},
	}
}

// parseScenarios parses -scenario: names, or "all".
func parseScenarios(s string) ([]scenario, error) {
	all := scenarios()
	if s == "all" {
		return all, nil
	}
	var out []scenario
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		i := slices.IndexFunc(all, func(sc scenario) bool { return sc.name == f })
		if i < 0 {
			return nil, fmt.Errorf("-scenario %q: unknown scenario %q (want all or %s)", s, f, scenarioNames())
		}
		if slices.ContainsFunc(out, func(sc scenario) bool { return sc.name == f }) {
			return nil, fmt.Errorf("-scenario %q: %q given twice", s, f)
		}
		out = append(out, all[i])
	}
	return out, nil
}

func scenarioNames() string {
	var names []string
	for _, sc := range scenarios() {
		names = append(names, sc.name)
	}
	return strings.Join(names, ", ")
}

// scenarioMaxMembers bounds -members: the blank scenario builds a
// synthetic group of twice as many.
const scenarioMaxMembers = 1 << 16

// parseMembers parses -members: powers of two from 4 to 65536, increasing.
func parseMembers(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 4 || n > scenarioMaxMembers || n&(n-1) != 0 {
			return nil, fmt.Errorf("-members %q: %q is not a power of two from 4 to %d", s, f, scenarioMaxMembers)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("-members %q: sizes must increase", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// scenarioSchema names the format of bench.json.
const scenarioSchema = "mlscore-bench-scenarios/1"

// scenarioReport is bench.json.
type scenarioReport struct {
	Schema     string           `json:"schema"`
	Suite      suite.ID         `json:"suite"`
	SuiteName  string           `json:"suite_name"`
	Clock      string           `json:"clock"`       // of the times: "cpu" (process user + system CPU time) or "wall"
	BudgetNs   int64            `json:"budget_ns"`   // wall-clock time budget of one figure's samples
	MaxSamples int              `json:"max_samples"` // samples per figure at most
	Machine    benchMachine     `json:"machine"`
	LoadBefore string           `json:"load_before,omitempty"` // /proc/loadavg at the start
	LoadAfter  string           `json:"load_after,omitempty"`  // and at the end
	Started    string           `json:"started"`               // RFC 3339, UTC
	ElapsedNs  int64            `json:"elapsed_ns"`
	Complete   bool             `json:"complete"` // false if interrupted
	Scenarios  []scenarioResult `json:"scenarios"`
}

// scenarioResult is one scenario at every size measured.
type scenarioResult struct {
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Sizes       []sizeResult `json:"sizes"`
}

// sizeResult is one scenario at one group size.
type sizeResult struct {
	Members int        `json:"members"`
	Leaves  uint32     `json:"leaves"` // of the ratchet tree
	Epoch   uint64     `json:"epoch"`  // of the state the measurements start from
	BuildNs int64      `json:"build_ns"`
	Ops     []opResult `json:"ops"`
}

// opResult is one figure: an operation in one role, timed in samples
// that each start from the same state (message and catch-up samples
// continue from the previous one).
type opResult struct {
	Op           string  `json:"op"`   // create, join, add, remove, update, message, catch-up, catch-up-commits
	Role         string  `json:"role"` // creator, joiner, committer, member, sender, receiver, offline
	Samples      int     `json:"samples"`
	MedianNs     float64 `json:"median_ns"`
	P10Ns        float64 `json:"p10_ns"`
	P90Ns        float64 `json:"p90_ns"`
	MinNs        float64 `json:"min_ns"`
	MaxNs        float64 `json:"max_ns"`
	WallMedianNs float64 `json:"wall_median_ns"` // the median on the wall clock
	AllocsPerOp  float64 `json:"allocs_per_op"`
	BytesPerOp   float64 `json:"bytes_per_op"`
	MessageBytes int     `json:"message_bytes,omitempty"` // the commit, Welcome or message processed
}

// label is the figure's name in tables and legends.
func (o opResult) label() string { return o.Op + " (" + o.Role + ")" }

// meter takes samples.
type meter struct {
	budget     time.Duration
	maxSamples int
	cpu        bool // time samples in process CPU time, else wall-clock time
	intr       <-chan os.Signal
	stop       bool
}

func (m *meter) interrupted() bool {
	if !m.stop {
		select {
		case <-m.intr:
			m.stop = true
		default:
		}
	}
	return m.stop
}

// measure times f(0), f(1), ...: samples until the budget of wall-clock
// time is spent (at least one, at most min(limit, maxSamples)). Each
// sample is timed on the meter's clock (process CPU time, or wall-clock
// time) and on the wall clock; the allocations are counted over all
// samples.
func (m *meter) measure(op, role string, limit int, f func(i int) error) (opResult, error) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	var ts, walls []float64
	limit = min(limit, m.maxSamples)
	begin := time.Now()
	for i := 0; i == 0 || i < limit && time.Since(begin) < m.budget; i++ {
		if m.interrupted() {
			return opResult{}, errInterrupted
		}
		c0, _ := processCPU()
		start := time.Now()
		if err := f(i); err != nil {
			return opResult{}, fmt.Errorf("%s (%s): %w", op, role, err)
		}
		wall := float64(time.Since(start).Nanoseconds())
		c1, _ := processCPU()
		walls = append(walls, wall)
		if m.cpu {
			ts = append(ts, float64(c1-c0))
		} else {
			ts = append(ts, wall)
		}
	}
	runtime.ReadMemStats(&m1)
	slices.Sort(ts)
	slices.Sort(walls)
	k := float64(len(ts))
	at := func(p float64) float64 { return ts[int(p*float64(len(ts)-1)+0.5)] }
	return opResult{Op: op, Role: role, Samples: len(ts), MedianNs: median(ts), P10Ns: at(0.1), P90Ns: at(0.9),
		MinNs: ts[0], MaxNs: ts[len(ts)-1], WallMedianNs: median(walls),
		AllocsPerOp: float64(m1.Mallocs-m0.Mallocs) / k, BytesPerOp: float64(m1.TotalAlloc-m0.TotalAlloc) / k}, nil
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// scenarioRunner runs the scenarios of one cipher suite.
type scenarioRunner struct {
	cs       *suite.Suite
	m        *meter
	progress io.Writer
	// setups caches the created group of each size and its creation's
	// figure: several scenarios start from it (states are immutable, so
	// each takes a clone).
	setups map[int]*setupEntry
	// took records how long each scenario took at each size, for the
	// estimate of what is left.
	took map[int][]took
}

// took is how long one scenario took at one size: building its group and
// measuring.
type took struct{ build, measure time.Duration }

type setupEntry struct {
	g      *benchGroup
	create opResult
}

func (r *scenarioRunner) logf(format string, args ...any) {
	fmt.Fprintf(r.progress, "mls bench: "+format+"\n", args...)
}

// setup returns a clone of the created group of n members, creating it
// (and measuring its creation) the first time.
func (r *scenarioRunner) setup(n int) (*benchGroup, error) {
	if e := r.setups[n]; e != nil {
		return e.g.clone(), nil
	}
	r.logf("  creating %d key packages and the group of %d members (one commit adding %d)", n-1, n, n-1)
	var create opResult
	g, err := setupGroup(r.cs, n, func(f func() error) error {
		var err error
		create, err = r.m.measure("create", "creator", r.m.maxSamples, func(int) error { return f() })
		return err
	})
	if err != nil {
		return nil, err
	}
	r.setups = map[int]*setupEntry{n: {g: g, create: create}} // one size at a time: the sizes increase
	return g.clone(), nil
}

// warm returns the created group of n members after rounds rounds of
// messagesPerRound messages and a self-update, each round also removing
// churn untracked members (B commits) and adding churn new ones (A
// commits).
func (r *scenarioRunner) warm(n, rounds, churn int) (*benchGroup, error) {
	g, err := r.setup(n)
	if err != nil {
		return nil, err
	}
	ms := []*member{g.a, g.b, g.c}
	for round := range rounds {
		if r.m.interrupted() {
			return nil, errInterrupted
		}
		for i := range messagesPerRound {
			if _, err := g.send(ms[i%2]); err != nil {
				return nil, err
			}
		}
		if _, _, err := g.commit(ms[round%3], transitions.Commit{ForcePath: true}); err != nil {
			return nil, err
		}
		if churn == 0 {
			continue
		}
		// Removals first, so that the adds fill the blank leaves and the
		// tree keeps its size.
		if _, _, err := g.commit(g.b, transitions.Commit{Inline: removesOf(g.pickUntracked(churn))}); err != nil {
			return nil, err
		}
		cs, err := g.newClients(churn)
		if err != nil {
			return nil, err
		}
		if _, _, err := g.commit(g.a, transitions.Commit{Inline: addsOf(cs), RatchetTree: transitions.TreeOmit}); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// run runs the scenarios at the sizes, appending to rep as figures are
// complete.
func (r *scenarioRunner) run(scs []scenario, sizes []int, rep *scenarioReport) error {
	for _, sc := range scs {
		rep.Scenarios = append(rep.Scenarios, scenarioResult{Name: sc.name, Description: sc.about})
	}
	total, done := len(scs)*len(sizes), 0
	for _, n := range sizes {
		for i, sc := range scs {
			done++
			r.logf("[%d/%d] %s, N=%d%s", done, total, sc.name, n, r.estimate(scs, sizes, done-1))
			start := time.Now()
			res := &rep.Scenarios[i]
			res.Sizes = append(res.Sizes, sizeResult{Members: n})
			sz := &res.Sizes[len(res.Sizes)-1]
			err := r.runOne(sc, n, sz)
			build := time.Duration(sz.BuildNs)
			r.took[n] = append(r.took[n], took{build: build, measure: time.Since(start) - build})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// estimate guesses the time the remaining runs take from the last size
// measured: its mean build time scaled linearly with N, and its mean
// measuring time (mostly the budget of each figure) by √N.
func (r *scenarioRunner) estimate(scs []scenario, sizes []int, done int) string {
	if done == 0 {
		return ""
	}
	var left, build, meas float64
	last := 0
	for i, n := range sizes {
		if ts := r.took[n]; len(ts) > 0 {
			build, meas, last = 0, 0, n
			for _, t := range ts {
				build += float64(t.build) / float64(len(ts))
				meas += float64(t.measure) / float64(len(ts))
			}
		}
		x := float64(n) / float64(last)
		for j := range scs {
			if i*len(scs)+j >= done {
				left += build*x + meas*math.Sqrt(x)
			}
		}
	}
	return fmt.Sprintf(" (about %s left, estimated)", time.Duration(left).Round(time.Second))
}

// runOne builds sc's group at n members and measures it into res.
func (r *scenarioRunner) runOne(sc scenario, n int, res *sizeResult) error {
	start := time.Now()
	g, err := sc.build(r, n)
	if err != nil {
		return fmt.Errorf("%s, N=%d: %w", sc.name, n, err)
	}
	res.BuildNs = time.Since(start).Nanoseconds()
	res.Leaves, res.Epoch = uint32(g.a.s.Tree().LeafCount()), g.a.s.Epoch()
	r.logf("  group ready in %s: %d leaves, epoch %d", time.Since(start).Round(time.Millisecond), res.Leaves, res.Epoch)
	add := func(o opResult) {
		res.Ops = append(res.Ops, o)
		r.logf("  %-28s %4d samples, median %s", o.label(), o.Samples, durString(o.MedianNs))
	}
	if sc.created {
		add(r.setups[n].create)
	}
	var ops []opFunc
	if sc.offline {
		ops, err = r.catchUpOps(g)
	} else {
		ops, err = r.groupOps(g)
	}
	if err != nil {
		return fmt.Errorf("%s, N=%d: %w", sc.name, n, err)
	}
	for _, o := range ops {
		if r.m.interrupted() {
			return errInterrupted
		}
		res, err := o()
		if err != nil {
			if errors.Is(err, errInterrupted) {
				return err
			}
			return fmt.Errorf("%s, N=%d: %w", sc.name, n, err)
		}
		add(res)
	}
	return nil
}

// opFunc measures one figure.
type opFunc func() (opResult, error)

// groupOps are the book's measurements in g's state: add, join, remove and
// update, each as the committer (A: the commit and its confirmation) and as
// another member (B: receiving and merging it; the new member: joining
// from the Welcome), and a 100-byte application message as the sender (A)
// and the receiver (B).
func (r *scenarioRunner) groupOps(g *benchGroup) ([]opFunc, error) {
	d, err := g.newClient()
	if err != nil {
		return nil, err
	}
	removed := g.pickUntracked(1)
	if len(removed) == 0 {
		return nil, errors.New("nobody to remove")
	}
	var ops []opFunc
	var addCommit, addWelcome []byte
	ops = append(ops, r.commitOps(g, "add", transitions.Commit{Inline: addsOf([]client{d}), RatchetTree: transitions.TreeInclude},
		func(msg, welcome []byte) { addCommit, addWelcome = msg, welcome })...)
	ops = append(ops, func() (opResult, error) {
		if addWelcome == nil {
			return opResult{}, fmt.Errorf("add (committer): no Welcome (commit of %d bytes)", len(addCommit))
		}
		o, err := r.m.measure("join", "joiner", r.m.maxSamples, func(int) error {
			h := g.clone()
			_, err := h.join("D", d, addWelcome)
			return err
		})
		o.MessageBytes = len(addWelcome)
		return o, err
	})
	ops = append(ops, r.commitOps(g, "remove", transitions.Commit{Inline: removesOf(removed)}, nil)...)
	ops = append(ops, r.commitOps(g, "update", transitions.Commit{ForcePath: true}, nil)...)
	return append(ops, r.messageOps(g)...), nil
}

// commitOps measure A committing cm (and confirming it), then B receiving
// and merging the commit; got receives the commit and its Welcome.
func (r *scenarioRunner) commitOps(g *benchGroup, op string, cm transitions.Commit, got func(msg, welcome []byte)) []opFunc {
	cm.At = synth.At
	var msg []byte
	seed := g.seed()
	return []opFunc{
		func() (opResult, error) {
			env := g.env(g.a.ks)
			o, err := r.m.measure(op, "committer", r.m.maxSamples, func(i int) error {
				env.Entropy = entropyOf(seed)
				s1, effs, err := transitions.Apply(g.a.s, cm, env)
				if err != nil {
					return err
				}
				if i == 0 {
					var welcome []byte
					msg, welcome = commitOutputs(effs)
					if got != nil {
						got(msg, welcome)
					}
				}
				_, _, err = transitions.Apply(s1, transitions.ConfirmCommit{At: synth.At}, env)
				return err
			})
			o.MessageBytes = len(msg)
			return o, err
		},
		func() (opResult, error) {
			env := g.env(g.b.ks)
			var auth []byte
			o, err := r.m.measure(op, "member", r.m.maxSamples, func(i int) error {
				s1, _, err := transitions.Apply(g.b.s, transitions.Receive{At: synth.At, Message: msg}, env)
				if err != nil {
					return err
				}
				s2, _, err := transitions.Apply(s1, transitions.MergeStaged{At: synth.At}, env)
				if i == 0 && err == nil {
					auth = s2.EpochAuthenticator()
				}
				return err
			})
			if err == nil && len(auth) == 0 {
				err = fmt.Errorf("%s (member): no epoch after the commit", op)
			}
			o.MessageBytes = len(msg)
			return o, err
		},
	}
}

// messageOps measure A protecting 100-byte messages and B decrypting
// them, each continuing from the state the previous sample left (the
// steady state of an epoch).
func (r *scenarioRunner) messageOps(g *benchGroup) []opFunc {
	limit := r.m.maxSamples
	return []opFunc{
		func() (opResult, error) {
			cur, env := g.a.s, g.env(g.a.ks)
			var size int
			o, err := r.m.measure("message", "sender", limit, func(int) error {
				var effs []effects.Effect
				var err error
				cur, effs, err = transitions.Apply(cur, transitions.Protect{At: synth.At, Data: benchData}, env)
				if s, ok := effects.Find[effects.SendToGroup](effs); ok {
					size = len(s.Message)
				}
				return err
			})
			o.MessageBytes = size
			return o, err
		},
		func() (opResult, error) {
			// Messages 0..limit from a copy of A; B decrypts them in
			// order.
			h := g.clone()
			h.active = []*member{h.a}
			msgs := make([][]byte, limit)
			for i := range msgs {
				var err error
				if msgs[i], err = h.send(h.a); err != nil {
					return opResult{}, err
				}
			}
			cur, env := g.b.s, g.env(g.b.ks)
			o, err := r.m.measure("message", "receiver", limit, func(i int) error {
				var effs []effects.Effect
				var err error
				cur, effs, err = transitions.Apply(cur, transitions.Receive{At: synth.At, Message: msgs[i]}, env)
				if d, ok := effects.Find[effects.DeliverApplication](effs); err == nil && (!ok || !bytes.Equal(d.Data, benchData)) {
					return errors.New("message not delivered intact")
				}
				return err
			})
			o.MessageBytes = len(msgs[0])
			return o, err
		},
	}
}

// catchUpOps: C goes offline; A and B go through offlineEpochs commits
// with messagesPerRound messages before each; C then processes everything
// in order ("catch-up"), or only the commits ("catch-up-commits").
func (r *scenarioRunner) catchUpOps(g *benchGroup) ([]opFunc, error) {
	c := *g.c
	g.active = []*member{g.a, g.b}
	var seq []sent
	for e := range offlineEpochs {
		for i := range messagesPerRound {
			msg, err := g.send([]*member{g.a, g.b}[i%2])
			if err != nil {
				return nil, err
			}
			seq = append(seq, sent{msg: msg})
		}
		by := []*member{g.a, g.b}[e%2]
		cm := transitions.Commit{ForcePath: true}
		switch e {
		case 3:
			cs, err := g.newClients(1)
			if err != nil {
				return nil, err
			}
			cm = transitions.Commit{Inline: addsOf(cs), RatchetTree: transitions.TreeOmit}
		case 6:
			cm = transitions.Commit{Inline: removesOf(g.pickUntracked(1))}
		}
		msg, _, err := g.commit(by, cm)
		if err != nil {
			return nil, err
		}
		seq = append(seq, sent{msg: msg, commit: true})
	}
	want := g.a.s.EpochAuthenticator()
	catchUp := func(op string, commitsOnly bool) opFunc {
		return func() (opResult, error) {
			env := g.env(c.ks)
			size := 0
			for _, s := range seq {
				if s.commit || !commitsOnly {
					size += len(s.msg)
				}
			}
			o, err := r.m.measure(op, "offline", r.m.maxSamples, func(int) error {
				cur := c.s
				for _, s := range seq {
					if commitsOnly && !s.commit {
						continue
					}
					var err error
					if cur, _, err = transitions.Apply(cur, transitions.Receive{At: synth.At, Message: s.msg}, env); err != nil {
						return err
					}
					if s.commit {
						if cur, _, err = transitions.Apply(cur, transitions.MergeStaged{At: synth.At}, env); err != nil {
							return err
						}
					}
				}
				if !bytes.Equal(cur.EpochAuthenticator(), want) {
					return errors.New("the offline member caught up to another epoch")
				}
				return nil
			})
			o.MessageBytes = size
			return o, err
		}
	}
	return []opFunc{catchUp("catch-up", false), catchUp("catch-up-commits", true)}, nil
}
