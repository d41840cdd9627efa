// Package shellbench holds the shell's storage benchmarks, run by the root
// package (BenchmarkShell*, on a DirStorage or in memory) and by the
// nested storage modules on their backends (storage/sqlite:
// BenchmarkSQLite*): an operation through the public Group API on a real
// Storage, beside the same event run by the core alone
// (transitions.Apply, BenchmarkCore*), in the same binary so that both
// figures come from the same run. The difference is the shell's cost:
// encoding what changed, committing it, and the backend.
//
// Each shell benchmark reports the bytes the shell wrote per operation
// (B-written/op: keys and values of the committed batches) and every
// benchmark the process's CPU time per operation (cpu-ns/op, user +
// system from getrusage, which leaves out the time spent waiting for the
// disk). Groups are synthetic full trees (package internal/synth) of
// cipher suite 1; the messages carry 100 bytes. N=16384 runs only without
// -short.
package shellbench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	mls "github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/internal/shellhook"
	"github.com/mlscore/mlscore/internal/synth"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/treemath"
)

// sizes are the group sizes every benchmark runs (as sub-benchmarks
// N=128, N=1024, N=16384).
var sizes = [...]int{128, 1024, 16384}

// synths holds the synthetic groups built so far: int -> func() *synth.Group.
var synths sync.Map

func synthOf(b *testing.B, n int) *synth.Group {
	f, _ := synths.LoadOrStore(n, sync.OnceValues(func() (*synth.Group, error) { return synth.New(1, n) }))
	sy, err := f.(func() (*synth.Group, error))()
	if err != nil {
		b.Fatal(err)
	}
	return sy
}

func eachSize(b *testing.B, f func(b *testing.B, n int)) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			if n > 1024 && testing.Short() {
				b.Skip("large group skipped under -short")
			}
			f(b, n)
		})
	}
}

// Open returns the Storage a shell benchmark runs on, new and empty (a
// backend in files opens one in b.TempDir(), and closes it with
// b.Cleanup).
type Open func(b *testing.B) mls.Storage

// counting counts the bytes committed through it.
type counting struct {
	mls.Storage
	mu      sync.Mutex
	written int64
}

func (c *counting) Commit(ctx context.Context, b *mls.Batch) error {
	c.mu.Lock()
	for _, op := range b.Ops() {
		c.written += int64(len(op.Key) + len(op.Value))
	}
	c.mu.Unlock()
	return c.Storage.Commit(ctx, b)
}

// Flush flushes the Storage it wraps if that is an mls.Flusher, as the
// shell does before handing out a commit it created.
func (c *counting) Flush() error {
	if f, ok := c.Storage.(mls.Flusher); ok {
		return f.Flush()
	}
	return nil
}

func (c *counting) take() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.written
	c.written = 0
	return n
}

// group returns a Group on a Storage from open, in state s, whose
// client's key store is ks.
func group(b *testing.B, open Open, n int, s state.GroupState, ks transitions.KeyStore) (*mls.Group, *counting) {
	store := &counting{Storage: open(b)}
	var i uint64
	c, err := mls.NewClient(store, []byte("bench"), &mls.Options{
		Clock: func() time.Time { return time.Unix(synth.At, 0) },
		Seed: func() [32]byte { // deterministic: the benchmark's name and a counter
			i++
			return sha256.Sum256(binary.BigEndian.AppendUint64([]byte(b.Name()), i))
		},
		Limits: synth.Limits(n),
	})
	if err != nil {
		b.Fatal(err)
	}
	g, err := shellhook.Adopt(c, s, ks)
	if err != nil {
		b.Fatal(err)
	}
	store.take()
	return g.(*mls.Group), store
}

// cpuMeter reports the process CPU time per operation of a benchmark.
type cpuMeter struct{ start time.Duration }

func startCPU() cpuMeter { return cpuMeter{ProcessCPU()} }

func (m cpuMeter) report(b *testing.B, ops int) {
	if ops > 0 {
		if t := ProcessCPU(); t > 0 {
			b.ReportMetric(float64(t-m.start)/float64(ops), "cpu-ns/op")
		}
	}
}

var msg100 = make([]byte, 100)

// Send benchmarks Group.Send of a 100-byte message, in the steady state of
// an epoch, on a Storage from open.
func Send(b *testing.B, open Open) {
	eachSize(b, func(b *testing.B, n int) {
		s, ks, err := synthOf(b, n).Member(0)
		if err != nil {
			b.Fatal(err)
		}
		g, store := group(b, open, n, s, ks)
		if _, err := g.Send(msg100); err != nil {
			b.Fatal(err)
		}
		store.take()
		b.ReportAllocs()
		cpu, ops := startCPU(), 0
		for b.Loop() {
			if _, err := g.Send(msg100); err != nil {
				b.Fatal(err)
			}
			ops++
		}
		cpu.report(b, ops)
		b.ReportMetric(float64(store.take())/float64(ops), "B-written/op")
	})
}

// CoreProtect benchmarks the same message protected by the core alone.
func CoreProtect(b *testing.B) {
	eachSize(b, func(b *testing.B, n int) {
		s, ks, err := synthOf(b, n).Member(0)
		if err != nil {
			b.Fatal(err)
		}
		env := transitions.Env{Keys: ks, Entropy: entropy.FromSeed([32]byte{4}), Limits: synth.Limits(n)}
		cur, _, err := transitions.Apply(s, transitions.Protect{At: synth.At, Data: msg100}, env)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		cpu, ops := startCPU(), 0
		for b.Loop() {
			if cur, _, err = transitions.Apply(cur, transitions.Protect{At: synth.At, Data: msg100}, env); err != nil {
				b.Fatal(err)
			}
			ops++
		}
		cpu.report(b, ops)
	})
}

// sentMessage returns the message an operation's effects send.
func sentMessage(b *testing.B, effs []effects.Effect) []byte {
	m := effects.Group(effs).Send.Messages
	if len(m) == 0 {
		b.Fatal("the operation sent no message")
	}
	return m[len(m)-1].Message
}

// messageSource makes the sender's messages in chunks, outside the timer.
type messageSource struct {
	cur  state.GroupState
	env  transitions.Env
	msgs [][]byte
}

func (m *messageSource) next(b *testing.B) []byte {
	if len(m.msgs) == 0 {
		b.StopTimer()
		for range 256 {
			var effs []effects.Effect
			var err error
			if m.cur, effs, err = transitions.Apply(m.cur, transitions.Protect{At: synth.At, Data: msg100}, m.env); err != nil {
				b.Fatal(err)
			}
			m.msgs = append(m.msgs, sentMessage(b, effs))
		}
		b.StartTimer()
	}
	msg := m.msgs[0]
	m.msgs = m.msgs[1:]
	return msg
}

// receiveFixture returns member 0's message source and the state and keys
// of member n-1, the receiver.
func receiveFixture(b *testing.B, n int) (*messageSource, state.GroupState, transitions.KeyStore) {
	sy := synthOf(b, n)
	s, ks, err := sy.Member(0)
	if err != nil {
		b.Fatal(err)
	}
	r, rk, err := sy.Member(treemath.LeafIndex(n - 1))
	if err != nil {
		b.Fatal(err)
	}
	return &messageSource{cur: s, env: transitions.Env{Keys: ks, Entropy: entropy.FromSeed([32]byte{5}), Limits: synth.Limits(n)}}, r, rk
}

// Receive benchmarks Group.ProcessMessage of the sender's next 100-byte
// message, in the steady state of an epoch, on a Storage from open.
func Receive(b *testing.B, open Open) {
	eachSize(b, func(b *testing.B, n int) {
		src, r, rk := receiveFixture(b, n)
		g, store := group(b, open, n, r, rk)
		if _, err := g.ProcessMessage(src.next(b)); err != nil {
			b.Fatal(err)
		}
		store.take()
		b.ReportAllocs()
		cpu, ops := startCPU(), 0
		for b.Loop() {
			if _, err := g.ProcessMessage(src.next(b)); err != nil {
				b.Fatal(err)
			}
			ops++
		}
		cpu.report(b, ops)
		b.ReportMetric(float64(store.take())/float64(ops), "B-written/op")
	})
}

// CoreUnprotect benchmarks the same messages received by the core alone.
func CoreUnprotect(b *testing.B) {
	eachSize(b, func(b *testing.B, n int) {
		src, r, rk := receiveFixture(b, n)
		env := transitions.Env{Keys: rk, Entropy: entropy.FromSeed([32]byte{6}), Limits: synth.Limits(n)}
		cur, _, err := transitions.Apply(r, transitions.Receive{At: synth.At, Message: src.next(b)}, env)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		cpu, ops := startCPU(), 0
		for b.Loop() {
			if cur, _, err = transitions.Apply(cur, transitions.Receive{At: synth.At, Message: src.next(b)}, env); err != nil {
				b.Fatal(err)
			}
			ops++
		}
		cpu.report(b, ops)
	})
}

// commitFixture returns member 0's self-update commit with path and the
// state and keys of member n-1, its receiver.
func commitFixture(b *testing.B, n int) ([]byte, state.GroupState, transitions.KeyStore) {
	sy := synthOf(b, n)
	s, ks, err := sy.Member(0)
	if err != nil {
		b.Fatal(err)
	}
	_, effs, err := transitions.Apply(s, transitions.Commit{At: synth.At, ForcePath: true},
		transitions.Env{Keys: ks, Entropy: entropy.FromSeed([32]byte{1}), Limits: synth.Limits(n)})
	if err != nil {
		b.Fatal(err)
	}
	r, rk, err := sy.Member(treemath.LeafIndex(n - 1))
	if err != nil {
		b.Fatal(err)
	}
	return sentMessage(b, effs), r, rk
}

// CommitProcess benchmarks Group.ProcessMessage of another member's
// self-update commit with path, then MergeStagedCommit, on a Storage from
// open. Each iteration first puts the group back into the state before
// the commit (not timed).
func CommitProcess(b *testing.B, open Open) {
	eachSize(b, func(b *testing.B, n int) {
		msg, r, rk := commitFixture(b, n)
		g, store := group(b, open, n, r, rk)
		b.ReportAllocs()
		var cpuTime time.Duration
		var written int64
		ops := 0
		for b.Loop() {
			b.StopTimer()
			if err := shellhook.Reset(g, r); err != nil {
				b.Fatal(err)
			}
			store.take()
			// The CPU clock is read inside the timed region: StartTimer
			// and StopTimer read the memory statistics (a stop of the
			// world), which is not the operation's cost.
			b.StartTimer()
			t0 := ProcessCPU()
			if _, err := g.ProcessMessage(msg); err != nil {
				b.Fatal(err)
			}
			if err := g.MergeStagedCommit(); err != nil {
				b.Fatal(err)
			}
			cpuTime += ProcessCPU() - t0
			b.StopTimer()
			written += store.take()
			ops++
			b.StartTimer()
		}
		if ops > 0 {
			if cpuTime > 0 {
				b.ReportMetric(float64(cpuTime)/float64(ops), "cpu-ns/op")
			}
			b.ReportMetric(float64(written)/float64(ops), "B-written/op")
		}
	})
}

// CoreCommitProcess benchmarks the same commit received and merged by the
// core alone.
func CoreCommitProcess(b *testing.B) {
	eachSize(b, func(b *testing.B, n int) {
		msg, r, rk := commitFixture(b, n)
		env := transitions.Env{Keys: rk, Entropy: entropy.FromSeed([32]byte{2}), Limits: synth.Limits(n)}
		b.ReportAllocs()
		cpu, ops := startCPU(), 0
		for b.Loop() {
			r2, _, err := transitions.Apply(r, transitions.Receive{At: synth.At, Message: msg}, env)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := transitions.Apply(r2, transitions.MergeStaged{At: synth.At}, env); err != nil {
				b.Fatal(err)
			}
			ops++
		}
		cpu.report(b, ops)
	})
}

// CommitCreate benchmarks the committer's side: Group.SelfUpdate (a
// commit with a fresh path, pending) then MergePendingCommit, on a
// Storage from open. Each iteration first puts the group back into the
// state before the commit (not timed).
func CommitCreate(b *testing.B, open Open) {
	eachSize(b, func(b *testing.B, n int) {
		s, ks, err := synthOf(b, n).Member(0)
		if err != nil {
			b.Fatal(err)
		}
		g, store := group(b, open, n, s, ks)
		b.ReportAllocs()
		var cpuTime time.Duration
		var written int64
		ops := 0
		for b.Loop() {
			b.StopTimer()
			if err := shellhook.Reset(g, s); err != nil {
				b.Fatal(err)
			}
			store.take()
			b.StartTimer() // the CPU clock is read inside, as in CommitProcess
			t0 := ProcessCPU()
			if _, err := g.SelfUpdate(); err != nil {
				b.Fatal(err)
			}
			if err := g.MergePendingCommit(); err != nil {
				b.Fatal(err)
			}
			cpuTime += ProcessCPU() - t0
			b.StopTimer()
			written += store.take()
			ops++
			b.StartTimer()
		}
		if ops > 0 {
			if cpuTime > 0 {
				b.ReportMetric(float64(cpuTime)/float64(ops), "cpu-ns/op")
			}
			b.ReportMetric(float64(written)/float64(ops), "B-written/op")
		}
	})
}

// CoreCommitCreate benchmarks the same self-update commit created and
// merged by the core alone.
func CoreCommitCreate(b *testing.B) {
	eachSize(b, func(b *testing.B, n int) {
		s, ks, err := synthOf(b, n).Member(0)
		if err != nil {
			b.Fatal(err)
		}
		env := transitions.Env{Keys: ks, Entropy: entropy.FromSeed([32]byte{3}), Limits: synth.Limits(n)}
		b.ReportAllocs()
		cpu, ops := startCPU(), 0
		for b.Loop() {
			s2, _, err := transitions.Apply(s, transitions.Commit{At: synth.At, ForcePath: true}, env)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := transitions.Apply(s2, transitions.ConfirmCommit{At: synth.At}, env); err != nil {
				b.Fatal(err)
			}
			ops++
		}
		cpu.report(b, ops)
	})
}

// ratioPair is one side of an operation (a commit's receiver or
// committer, a message's sender or receiver) as the shell and as the
// core run it, with what must happen before each iteration, not timed
// (putting the shell's group back, making the next messages), and the
// shell's storage.
type ratioPair struct {
	shell, core, untimed func() error
	store                *counting
}

// ratioSide names a side and builds its pair for a group of n members.
type ratioSide struct {
	name string
	pair func(*testing.B, Open, int) ratioPair
}

// runRatio runs each side's shell and core operations alternately, in
// alternating order, each timed by the process's CPU time, at every size,
// and reports shell-cpu-ns, core-cpu-ns, their ratio and the bytes the
// shell wrote per operation (B-written/op).
func runRatio(b *testing.B, open Open, sides ...ratioSide) {
	for _, side := range sides {
		b.Run(side.name, func(b *testing.B) {
			eachSize(b, func(b *testing.B, n int) {
				p := side.pair(b, open, n)
				p.store.take()
				var cpu [2]time.Duration // shell, core
				var written int64
				first := 0
				for b.Loop() {
					if err := p.untimed(); err != nil {
						b.Fatal(err)
					}
					p.store.take() // what the untimed part wrote
					for k := range 2 {
						j := (first + k) % 2
						op := p.core
						if j == 0 {
							op = p.shell
						}
						t0 := ProcessCPU()
						if err := op(); err != nil {
							b.Fatal(err)
						}
						cpu[j] += ProcessCPU() - t0
					}
					written += p.store.take()
					first ^= 1
				}
				if cpu[1] > 0 {
					b.ReportMetric(float64(cpu[0])/float64(b.N), "shell-cpu-ns")
					b.ReportMetric(float64(cpu[1])/float64(b.N), "core-cpu-ns")
					b.ReportMetric(float64(cpu[0])/float64(cpu[1]), "ratio")
				}
				b.ReportMetric(float64(written)/float64(b.N), "B-written/op")
			})
		})
	}
}

func processPair(b *testing.B, open Open, n int) ratioPair {
	msg, r, rk := commitFixture(b, n)
	g, store := group(b, open, n, r, rk)
	env := transitions.Env{Keys: rk, Entropy: entropy.FromSeed([32]byte{2}), Limits: synth.Limits(n)}
	return ratioPair{
		shell: func() error {
			if _, err := g.ProcessMessage(msg); err != nil {
				return err
			}
			return g.MergeStagedCommit()
		},
		core: func() error {
			r2, _, err := transitions.Apply(r, transitions.Receive{At: synth.At, Message: msg}, env)
			if err == nil {
				_, _, err = transitions.Apply(r2, transitions.MergeStaged{At: synth.At}, env)
			}
			return err
		},
		untimed: func() error { return shellhook.Reset(g, r) },
		store:   store,
	}
}

func createPair(b *testing.B, open Open, n int) ratioPair {
	s, ks, err := synthOf(b, n).Member(0)
	if err != nil {
		b.Fatal(err)
	}
	g, store := group(b, open, n, s, ks)
	env := transitions.Env{Keys: ks, Entropy: entropy.FromSeed([32]byte{3}), Limits: synth.Limits(n)}
	return ratioPair{
		shell: func() error {
			if _, err := g.SelfUpdate(); err != nil {
				return err
			}
			return g.MergePendingCommit()
		},
		core: func() error {
			s2, _, err := transitions.Apply(s, transitions.Commit{At: synth.At, ForcePath: true}, env)
			if err == nil {
				_, _, err = transitions.Apply(s2, transitions.ConfirmCommit{At: synth.At}, env)
			}
			return err
		},
		untimed: func() error { return shellhook.Reset(g, s) },
		store:   store,
	}
}

// CommitRatio runs a commit through the shell and through the core side
// by side, for the receiver ("process": ProcessMessage and
// MergeStagedCommit of a self-update commit with path) and the committer
// ("create": SelfUpdate and MergePendingCommit), on a Storage from open.
// Each iteration runs the core's operation and the shell's (the group
// put back first, not timed) in alternating order, each timed by the
// process's CPU time, so that both figures are taken under the same load:
// separate benchmarks on a shared machine move by more than the shell
// costs. It reports shell-cpu-ns, core-cpu-ns, their ratio and the bytes
// the shell wrote per commit (B-written/op; runRatio).
func CommitRatio(b *testing.B, open Open) {
	runRatio(b, open, ratioSide{"process", processPair}, ratioSide{"create", createPair})
}

func sendPair(b *testing.B, open Open, n int) ratioPair {
	s, ks, err := synthOf(b, n).Member(0)
	if err != nil {
		b.Fatal(err)
	}
	g, store := group(b, open, n, s, ks)
	if _, err := g.Send(msg100); err != nil { // the first message of the epoch: not the steady state
		b.Fatal(err)
	}
	env := transitions.Env{Keys: ks, Entropy: entropy.FromSeed([32]byte{4}), Limits: synth.Limits(n)}
	cur, _, err := transitions.Apply(s, transitions.Protect{At: synth.At, Data: msg100}, env)
	if err != nil {
		b.Fatal(err)
	}
	store.take()
	return ratioPair{
		untimed: func() error { return nil },
		shell:   func() error { _, err := g.Send(msg100); return err },
		core: func() error {
			var err error
			cur, _, err = transitions.Apply(cur, transitions.Protect{At: synth.At, Data: msg100}, env)
			return err
		},
		store: store,
	}
}

func receivePair(b *testing.B, open Open, n int) ratioPair {
	src, r, rk := receiveFixture(b, n)
	g, store := group(b, open, n, r, rk)
	env := transitions.Env{Keys: rk, Entropy: entropy.FromSeed([32]byte{6}), Limits: synth.Limits(n)}
	cur := r
	var msgs [][]byte // the sender's next messages, read by the shell and by the core
	fill := func() {
		for range 256 {
			var effs []effects.Effect
			var err error
			if src.cur, effs, err = transitions.Apply(src.cur, transitions.Protect{At: synth.At, Data: msg100}, src.env); err != nil {
				b.Fatal(err)
			}
			msgs = append(msgs, sentMessage(b, effs))
		}
	}
	fill()
	// The first message of the epoch derives the sender's ratchet: not
	// the steady state.
	if _, err := g.ProcessMessage(msgs[0]); err != nil {
		b.Fatal(err)
	}
	var err error
	if cur, _, err = transitions.Apply(cur, transitions.Receive{At: synth.At, Message: msgs[0]}, env); err != nil {
		b.Fatal(err)
	}
	msgs = msgs[1:]
	store.take()
	var shellNext, coreNext int // indices into msgs: each takes every message once, in order
	next := func(i *int) []byte {
		if shellNext == coreNext && shellNext >= 1024 { // both are done with what they read
			msgs = append(msgs[:0], msgs[shellNext:]...)
			shellNext, coreNext = 0, 0
		}
		m := msgs[*i]
		*i++
		return m
	}
	return ratioPair{
		untimed: func() error {
			if max(shellNext, coreNext) >= len(msgs) {
				fill()
			}
			return nil
		},
		shell: func() error { _, err := g.ProcessMessage(next(&shellNext)); return err },
		core: func() error {
			var err error
			cur, _, err = transitions.Apply(cur, transitions.Receive{At: synth.At, Message: next(&coreNext)}, env)
			return err
		},
		store: store,
	}
}

// MessageRatio runs an application message of 100 bytes through the
// shell and through the core side by side, for the sender ("send":
// Group.Send against Protect) and a receiver ("receive":
// Group.ProcessMessage against Receive), in the steady state of an epoch,
// on a Storage from open. Each iteration runs one of each in alternating
// order, each timed by the process's CPU time (user + system, garbage
// collection included), so that both figures are taken under the same
// load. It reports shell-cpu-ns, core-cpu-ns, their ratio, and the bytes
// the shell wrote per message (B-written/op).
func MessageRatio(b *testing.B, open Open) {
	runRatio(b, open, ratioSide{"send", sendPair}, ratioSide{"receive", receivePair})
}
