package transitions

import (
	"runtime"
	"testing"
	"time"

	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
)

// The application-message benchmarks: a group of 256, messages of 100
// bytes and 10 KiB. Each operation is built by a constructor (outside the
// timed loop) that returns one call of it, so that BenchmarkProtect and
// the others time it alone, BenchmarkMessageRatio times it beside its
// floor and TestMessageAllocations counts its allocations.

var messageSizes = []struct {
	name string
	n    int
}{{"100B", 100}, {"10KiB", 10 << 10}}

// unprotectBatch is the number of consecutive messages a receiver decrypts
// before the benchmark rewinds it.
const unprotectBatch = 512

// protectOp: a member of a group of 256 encrypts application messages of
// n bytes, in the steady state of an epoch: each call protects the next
// message from the state the previous one returned, so the sender's
// ratchets are already derived (the first message of an epoch also walks
// the secret tree; BenchmarkProtectFirst measures that).
func protectOp(b testing.TB, n int) func() error {
	s, ks := synthOf(b, 256).member(b, 0, state.DefaultConfig())
	data := make([]byte, n)
	env := Env{Keys: ks, Entropy: entropySeed(4)}
	cur, _, err := Apply(s, Protect{At: testAt, Data: data}, env)
	if err != nil {
		b.Fatal(err)
	}
	return func() error {
		var err error
		cur, _, err = Apply(cur, Protect{At: testAt, Data: data}, env)
		return err
	}
}

// unprotectOp: another member decrypts the sender's messages in order, in
// the steady state of an epoch: the receiver has already derived the
// sender's ratchets (from message 0, at setup) and each call decrypts the
// next generation from the state the previous one returned; after
// unprotectBatch messages it rewinds to the state after message 0 (a copy
// of a pointer: states are immutable).
func unprotectOp(b testing.TB, n int) func() error {
	sy := synthOf(b, 256)
	s, ks := sy.member(b, 0, state.DefaultConfig())
	r, rk := sy.member(b, 200, state.DefaultConfig())
	msgs := make([][]byte, unprotectBatch+1)
	cur, env := s, Env{Entropy: entropySeed(5), Keys: ks}
	for i := range msgs {
		var effs []effects.Effect
		var err error
		if cur, effs, err = Apply(cur, Protect{At: testAt, Data: make([]byte, n)}, env); err != nil {
			b.Fatal(err)
		}
		msgs[i] = sent(b, effs)
	}
	renv := Env{Keys: rk, Entropy: entropySeed(6)}
	r0, _, err := Apply(r, Receive{At: testAt, Message: msgs[0]}, renv)
	if err != nil {
		b.Fatal(err)
	}
	rc, i := r0, 1
	return func() error {
		var err error
		if rc, _, err = Apply(rc, Receive{At: testAt, Message: msgs[i]}, renv); err != nil {
			return err
		}
		if i++; i == len(msgs) {
			rc, i = r0, 1
		}
		return nil
	}
}

// protectFloorOp is the crypto floor of protectOp: SignWithLabel over a
// FramedContentTBS-sized input (the message plus 64 bytes of framing) with
// the member's parsed signer, the AEAD seal of the content and the AEAD
// seal of the 8-byte sender data, each with its key setup. The ratchet's
// KDF calls are left out, so the ratio to it is conservative.
func protectFloorOp(b testing.TB, n int) func() error {
	sy := synthOf(b, 256)
	cs := sy.cs
	sg, err := cs.NewSigner(sy.sigs[0])
	if err != nil {
		b.Fatal(err)
	}
	key, nonce := make([]byte, cs.AEADKeyLen()), make([]byte, cs.AEADNonceLen())
	tbs, data, sd := make([]byte, n+64), make([]byte, n), make([]byte, 8)
	return func() error {
		if _, err := sg.SignWithLabel("FramedContentTBS", tbs); err != nil {
			return err
		}
		if _, err := cs.Seal(key, nonce, nil, data); err != nil {
			return err
		}
		_, err := cs.Seal(key, nonce, nil, sd)
		return err
	}
}

// unprotectFloorOp is the crypto floor of unprotectOp: VerifyWithLabel
// over a FramedContentTBS-sized input and the two AEAD opens (sender data
// and content), each with its key setup; KDF calls left out.
func unprotectFloorOp(b testing.TB, n int) func() error {
	sy := synthOf(b, 256)
	cs := sy.cs
	ln, _ := sy.tree.Leaf(0)
	key, nonce := make([]byte, cs.AEADKeyLen()), make([]byte, cs.AEADNonceLen())
	tbs := make([]byte, n+64)
	sig, err := cs.SignWithLabel(sy.sigs[0], "FramedContentTBS", tbs)
	if err != nil {
		b.Fatal(err)
	}
	ct, _ := cs.Seal(key, nonce, nil, make([]byte, n))
	sdct, _ := cs.Seal(key, nonce, nil, make([]byte, 8))
	return func() error {
		if err := cs.VerifyWithLabel(ln.SignatureKey, "FramedContentTBS", tbs, sig); err != nil {
			return err
		}
		if _, err := cs.Open(key, nonce, nil, sdct); err != nil {
			return err
		}
		_, err := cs.Open(key, nonce, nil, ct)
		return err
	}
}

// benchMessages runs the operation that op builds for every message size.
func benchMessages(b *testing.B, op func(testing.TB, int) func() error) {
	for _, sz := range messageSizes {
		b.Run("size="+sz.name, func(b *testing.B) {
			f := op(b, sz.n)
			b.ReportAllocs()
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				if err := f(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProtect: see protectOp.
func BenchmarkProtect(b *testing.B) { benchMessages(b, protectOp) }

// BenchmarkUnprotect: see unprotectOp.
func BenchmarkUnprotect(b *testing.B) { benchMessages(b, unprotectOp) }

// BenchmarkProtectFloor: see protectFloorOp.
func BenchmarkProtectFloor(b *testing.B) { benchMessages(b, protectFloorOp) }

// BenchmarkUnprotectFloor: see unprotectFloorOp.
func BenchmarkUnprotectFloor(b *testing.B) { benchMessages(b, unprotectFloorOp) }

// ratioBlock is how many calls BenchmarkMessageRatio makes of an operation
// before it switches to the floor, and back.
const ratioBlock = 32

// BenchmarkMessageRatio measures Protect and Unprotect against their
// floors in the same loop, on one OS thread: each iteration runs a block
// of ratioBlock operations and a block of ratioBlock floor operations
// (alternating which comes first), each block timed by the thread's CPU
// time, so that both see the same machine state — on a shared machine the
// load moves either by ±10 % between separate runs. It reports the CPU
// time per operation of each (op-cpu-ns, floor-cpu-ns) and their ratio;
// ns/op is the wall time of one iteration (2·ratioBlock operations). The
// runtime's background work (garbage collection on other threads) is not
// in the figures; the allocation it follows is in the B/op of the
// benchmarks above.
func BenchmarkMessageRatio(b *testing.B) {
	for _, c := range []struct {
		name      string
		op, floor func(testing.TB, int) func() error
	}{{"Protect", protectOp, protectFloorOp}, {"Unprotect", unprotectOp, unprotectFloorOp}} {
		for _, sz := range messageSizes {
			b.Run(c.name+"/size="+sz.name, func(b *testing.B) {
				fs := [2]func() error{c.op(b, sz.n), c.floor(b, sz.n)}
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				if threadCPU() == 0 {
					b.Skip("no per-thread CPU time on this platform")
				}
				var cpu [2]time.Duration
				first := 0
				for b.Loop() {
					for k := range 2 {
						j := (first + k) % 2
						t0 := threadCPU()
						for range ratioBlock {
							if err := fs[j](); err != nil {
								b.Fatal(err)
							}
						}
						cpu[j] += threadCPU() - t0
					}
					first ^= 1
				}
				ops := float64(b.N * ratioBlock)
				b.ReportMetric(float64(cpu[0])/ops, "op-cpu-ns")
				b.ReportMetric(float64(cpu[1])/ops, "floor-cpu-ns")
				b.ReportMetric(float64(cpu[0])/float64(cpu[1]), "ratio")
			})
		}
	}
}
