package mls

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/internal/synth"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/treemath"
)

// The shell's benchmarks compare an operation through the public Group
// API, on a DirStorage (MLS_BENCH_MEMORY=1: in memory;
// MLS_BENCH_SYNC_EVERY=K: a DirStorage syncing every K commits), with the same event run by the core alone
// (transitions.Apply): the difference is the shell's cost — encoding what
// changed, committing it, and the file system. Each reports the bytes the
// shell wrote per operation (B-written/op: keys and values of the
// committed batches) and the process's CPU time per operation
// (cpu-ns/op, user + system, which leaves out the time spent waiting for
// fsync). Groups are synthetic full trees (package internal/synth); N=16384
// runs only without -short.

var shellBenchSizes = []int{128, 1024, 16384}

var shellSynths sync.Map // int -> func() *synth.Group

func shellSynthOf(b *testing.B, n int) *synth.Group {
	f, _ := shellSynths.LoadOrStore(n, sync.OnceValue(func() *synth.Group {
		sy, err := synth.New(1, n)
		if err != nil {
			b.Fatal(err)
		}
		return sy
	}))
	return f.(func() *synth.Group)()
}

func shellSizes(b *testing.B, f func(b *testing.B, n int)) {
	for _, n := range shellBenchSizes {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			if n > 1024 && testing.Short() {
				b.Skip("large group skipped under -short")
			}
			f(b, n)
		})
	}
}

// countingStorage counts the bytes committed through it.
type countingStorage struct {
	Storage
	mu      sync.Mutex
	written int64
}

func (c *countingStorage) Commit(ctx context.Context, b *Batch) error {
	c.mu.Lock()
	for _, op := range b.Ops() {
		c.written += int64(len(op.Key) + len(op.Value))
	}
	c.mu.Unlock()
	return c.Storage.Commit(ctx, b)
}

func (c *countingStorage) take() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.written
	c.written = 0
	return n
}

// benchGroup returns a Group on a DirStorage in state s, whose client's
// key store is ks.
func benchGroup(b *testing.B, n int, s state.GroupState, ks transitions.KeyStore) (*Group, *countingStorage) {
	var store *countingStorage
	if os.Getenv("MLS_BENCH_MEMORY") != "" {
		store = &countingStorage{Storage: NewMemoryStorage()}
	} else {
		// MLS_BENCH_SYNC_EVERY=K measures group commit (DirOptions).
		k, _ := strconv.Atoi(os.Getenv("MLS_BENCH_SYNC_EVERY"))
		d, err := OpenDirStorageWith(b.TempDir(), DirOptions{SyncEvery: k})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { d.Close() })
		store = &countingStorage{Storage: d}
	}
	c, err := NewClient(store, []byte("bench"), &Options{
		Clock:  func() time.Time { return time.Unix(synth.At, 0) },
		Seed:   seeds(b.Name()),
		Limits: synth.Limits(n),
	})
	if err != nil {
		b.Fatal(err)
	}
	c.keys = ks
	var bt Batch
	l, done, err := newGroupLog(&bt, store, s.GroupID(), "", 0, s)
	if err == nil {
		err = store.Commit(ctx, &bt)
	}
	if err != nil {
		b.Fatal(err)
	}
	done()
	g := &Group{c: c, id: s.GroupID(), st: s, log: l}
	c.groups[string(g.id)] = g
	store.take()
	return g, store
}

// reset puts g back into state s (outside the timed region).
func (g *Group) reset(b *testing.B, s state.GroupState) {
	var bt Batch
	done, err := g.log.snapshot(&bt, 0, [32]byte{}, s, nil, nil)
	if err == nil {
		err = g.c.store.Commit(ctx, &bt)
	}
	if err != nil {
		b.Fatal(err)
	}
	done()
	g.st = s
}

// cpuMeter reports the process CPU time per operation of a benchmark.
type cpuMeter struct{ start time.Duration }

func startCPU() cpuMeter { return cpuMeter{processCPU()} }

func (m cpuMeter) report(b *testing.B, ops int) {
	if ops > 0 {
		if t := processCPU(); t > 0 {
			b.ReportMetric(float64(t-m.start)/float64(ops), "cpu-ns/op")
		}
	}
}

var msg100 = make([]byte, 100)

// BenchmarkShellSend: Group.Send of a 100-byte message, in the steady
// state of an epoch.
func BenchmarkShellSend(b *testing.B) {
	shellSizes(b, func(b *testing.B, n int) {
		s, ks, err := shellSynthOf(b, n).Member(0)
		if err != nil {
			b.Fatal(err)
		}
		g, store := benchGroup(b, n, s, ks)
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

// BenchmarkCoreProtect: the same message protected by the core alone.
func BenchmarkCoreProtect(b *testing.B) {
	shellSizes(b, func(b *testing.B, n int) {
		s, ks, err := shellSynthOf(b, n).Member(0)
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
			m.msgs = append(m.msgs, sentMessage(effects.Group(effs)))
		}
		b.StartTimer()
	}
	msg := m.msgs[0]
	m.msgs = m.msgs[1:]
	return msg
}

func receiveFixture(b *testing.B, n int) (*messageSource, state.GroupState, transitions.KeyStore) {
	sy := shellSynthOf(b, n)
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

// BenchmarkShellReceive: Group.ProcessMessage of the sender's next
// 100-byte message, in the steady state of an epoch.
func BenchmarkShellReceive(b *testing.B) {
	shellSizes(b, func(b *testing.B, n int) {
		src, r, rk := receiveFixture(b, n)
		g, store := benchGroup(b, n, r, rk)
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

// BenchmarkCoreUnprotect: the same messages received by the core alone.
func BenchmarkCoreUnprotect(b *testing.B) {
	shellSizes(b, func(b *testing.B, n int) {
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

func commitFixture(b *testing.B, n int) ([]byte, state.GroupState, transitions.KeyStore) {
	sy := shellSynthOf(b, n)
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
	return sentMessage(effects.Group(effs)), r, rk
}

// BenchmarkShellCommitProcess: Group.ProcessMessage of another member's
// self-update commit with path, then MergeStagedCommit.
func BenchmarkShellCommitProcess(b *testing.B) {
	shellSizes(b, func(b *testing.B, n int) {
		msg, r, rk := commitFixture(b, n)
		g, store := benchGroup(b, n, r, rk)
		b.ReportAllocs()
		var cpuTime time.Duration
		var written int64
		ops := 0
		for b.Loop() {
			b.StopTimer()
			g.reset(b, r)
			store.take()
			t0 := processCPU()
			b.StartTimer()
			if _, err := g.ProcessMessage(msg); err != nil {
				b.Fatal(err)
			}
			if err := g.MergeStagedCommit(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpuTime += processCPU() - t0
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

// BenchmarkCoreCommitProcess: the same commit received and merged by the
// core alone.
func BenchmarkCoreCommitProcess(b *testing.B) {
	shellSizes(b, func(b *testing.B, n int) {
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
