package props

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/internal/testrun"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// long is set by MLS_PROPS_LONG: longer histories and, unless
// -rapid.checks is given, MLS_PROPS_LONG checks per property (1000 for
// MLS_PROPS_LONG=1). Without it, and without -rapid.checks, each property
// runs defaultChecks checks, so that go test ./... stays fast.
var long bool

// defaultChecks is the number of checks per property of the default run.
const defaultChecks = 10

func TestMain(m *testing.M) {
	long = testrun.PropsLong()
	testrun.Main(m, defaultChecks)
}

// historyOptions are the options of the invariant properties' histories:
// up to 6 operations after growing (12 in the long run).
func historyOptions() Options {
	if long {
		return Options{MaxOps: 12}
	}
	return Options{MaxOps: 6}
}

// counter counts the random histories an invariant property ran
// (shrinking included), the commits in them and the commits merged by
// receivers, for the long run's report.
type counter struct{ histories, commits, merges atomic.Int64 }

// report returns a counter that t logs when it ends.
func report(t *testing.T) *counter {
	c := new(counter)
	t.Cleanup(func() {
		t.Logf("%d random histories, %d commits, %d merges by receivers", c.histories.Load(), c.commits.Load(), c.merges.Load())
	})
	return c
}

// history runs w through extra random operations and counts it in c.
func history(t *rapid.T, w *World, c *counter) {
	for range rapid.IntRange(0, 3).Draw(t, "extraOps") {
		w.RandomOp(t)
	}
	c.histories.Add(1)
	c.commits.Add(int64(w.Commits))
	c.merges.Add(int64(w.Merges))
}

// TestPropSenderReceiverAgree: after every commit of a random history
// (suites 1–3, 2–8 members, adds, removes, self-updates and updates by
// reference, in drawn delivery orders), every member reaches the
// committer's epoch, group context (tree hash, confirmed transcript hash,
// extensions) and epoch authenticator, and removed members are inactive.
func TestPropSenderReceiverAgree(t *testing.T) {
	t.Parallel()
	n := report(t)
	rapid.Check(t, func(t *rapid.T) {
		o := historyOptions()
		checks := 0
		w := Gen(t, o)
		w.OnCommit = func(w *World) {
			if err := w.Check(); err != nil {
				t.Fatal(err)
			}
			checks++
		}
		history(t, w, n)
		if err := w.Check(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPropApplicationDelivered: every member decrypts every other member's
// application messages, delivered in a drawn interleaving; after a commit
// in between, exactly the members that retain past epochs still do, and the
// others reject them with ValSem003.
func TestPropApplicationDelivered(t *testing.T) {
	t.Parallel()
	n := report(t)
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, historyOptions())
		history(t, w, n)
		type sent struct {
			from *Member
			leaf treemath.LeafIndex
			data []byte
			msg  []byte
		}
		var msgs []sent
		for _, m := range w.Active() {
			for k := range rapid.IntRange(1, 3).Draw(t, "count") {
				data := fmt.Appendf(nil, "%s/%d/%d", m.Name, m.State.Epoch(), k)
				msgs = append(msgs, sent{m, m.State.OwnLeaf(), data, w.Protect(m, data)})
			}
		}
		late := rapid.Bool().Draw(t, "commitInBetween")
		if late {
			w.Commit(t, w.Pick(t, "committer"), transitions.Commit{ForcePath: true})
		}
		for _, r := range w.Active() {
			order := rapid.Permutation(msgs).Draw(t, "order")
			for _, s := range order {
				if s.from == r {
					continue
				}
				effs, err := w.Apply(r, transitions.Receive{At: At, Message: s.msg})
				if late && r.Config.MaxPastEpochs == 0 {
					if !errors.Is(err, valsem.ValSem003) {
						t.Fatalf("%s without past epochs: message of the previous epoch: %v", r.Name, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s cannot read %s's message: %v", r.Name, s.from.Name, err)
				}
				d, ok := effects.Find[effects.DeliverApplication](effs)
				if !ok || !bytes.Equal(d.Data, s.data) || d.Sender != s.leaf || !bytes.Equal(d.AAD, []byte("aad")) {
					t.Fatalf("%s: delivery of %s's message: %+v", r.Name, s.from.Name, d)
				}
			}
		}
	})
}

// TestPropRemovedReadsNothing: a removed member processes no message of a
// later epoch, and none of the keys it still holds (its last epoch and the
// past epochs it kept) opens a later PrivateMessage.
func TestPropRemovedReadsNothing(t *testing.T) {
	t.Parallel()
	n := report(t)
	rapid.Check(t, func(t *rapid.T) {
		o := historyOptions()
		o.MinMembers = 3
		w := Gen(t, o)
		c := w.Pick(t, "committer")
		v := w.PickOther(t, "removed", c)
		w.Commit(t, c, transitions.Commit{Inline: []codec.Proposal{RemoveOf(v.State.OwnLeaf())}})
		if v.Active() || !v.Removed {
			t.Fatalf("%s still active after its removal", v.Name)
		}
		gone := v.State.Epoch()
		start := len(w.Sent)
		history(t, w, n)
		for _, m := range w.Active() {
			w.Protect(m, []byte("after "+v.Name))
		}
		vs := v.State
		priv := vs.Private()
		type keys struct {
			sds     []byte
			secrets keysched.SecretTree
			ctx     codec.GroupContext
		}
		held := []keys{{priv.Epoch.SenderDataSecret(), priv.Secrets, vs.GroupContext()}}
		for _, pe := range priv.Past {
			held = append(held, keys{pe.SenderDataSecret, pe.Secrets, pe.Context})
		}
		for _, msg := range w.Sent[start:] {
			m, err := codec.DecodeMLSMessage(msg)
			if err != nil {
				t.Fatal(err)
			}
			var epoch uint64
			switch {
			case m.PublicMessage != nil:
				epoch = m.PublicMessage.Content.Epoch
			case m.PrivateMessage != nil:
				epoch = m.PrivateMessage.Epoch
			default:
				continue
			}
			if epoch <= gone {
				continue
			}
			if _, _, err := CheckedApply(t, vs, transitions.Receive{At: At, Message: msg}, w.Env(v)); err == nil {
				t.Fatalf("removed %s processed a message of epoch %d", v.Name, epoch)
			}
			if m.PrivateMessage == nil {
				continue
			}
			for _, k := range held {
				if _, _, _, err := keysched.UnprotectPrivate(vs.Suite(), k.secrets, k.sds, *m.PrivateMessage, &k.ctx,
					func(treemath.LeafIndex) ([]byte, error) { return nil, errors.New("no key") }, transitions.DefaultLimits().Bounds()); err == nil || !errors.Is(err, valsem.ValSem006) {
					t.Fatalf("removed %s: keys of epoch %d on a message of epoch %d: %v", v.Name, k.ctx.Epoch, epoch, err)
				}
			}
		}
	})
}

// TestPropCodecCanonical: every message and ratchet tree of a random
// history, and every generated struct, decodes and re-encodes to the same
// bytes, and the decoded value equals the original.
func TestPropCodecCanonical(t *testing.T) {
	t.Parallel()
	n := report(t)
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{MaxOps: 6, TreeOmit: rapid.Bool().Draw(t, "treeOmit")})
		history(t, w, n)
		w.PublishGroupInfo(w.Pick(t, "publisher"), rapid.Bool().Draw(t, "withTree"))
		for _, m := range w.Active() {
			rt, err := m.State.Tree().Encode()
			if err != nil {
				t.Fatal(err)
			}
			w.Trees = append(w.Trees, rt)
		}
		for _, b := range w.Sent {
			canonical(t, b, codec.DecodeMLSMessage, codec.MLSMessage.Encode)
		}
		for _, b := range w.Trees {
			canonical(t, b, codec.DecodeRatchetTree, codec.RatchetTree.Encode)
		}
		roundTrip(t, GenProposal().Draw(t, "proposal"), codec.DecodeProposal, codec.Proposal.Encode)
		roundTrip(t, GenCapabilities().Draw(t, "capabilities"), codec.DecodeCapabilities, codec.Capabilities.Encode)
		roundTrip(t, GenPreSharedKeyID().Draw(t, "psk"), codec.DecodePreSharedKeyID, codec.PreSharedKeyID.Encode)
		roundTrip(t, GenExtensions().Draw(t, "extensions"), codec.DecodeExtensions, codec.Extensions.Encode)
		roundTrip(t, GenSender().Draw(t, "sender"), codec.DecodeSender, codec.Sender.Encode)
		roundTrip(t, GenGroupContext().Draw(t, "context"), codec.DecodeGroupContext, codec.GroupContext.Encode)
	})
}

// canonical checks that b decodes and re-encodes to b.
func canonical[T any](t *rapid.T, b []byte, dec func([]byte) (T, error), enc func(T) ([]byte, error)) {
	v, err := dec(b)
	if err != nil {
		t.Fatalf("decode %T: %v", v, err)
	}
	out, err := enc(v)
	if err != nil || !bytes.Equal(out, b) {
		t.Fatalf("%T does not re-encode to its bytes (%v)", v, err)
	}
}

// roundTrip checks that v encodes, decodes to a value equal to v, and
// re-encodes to the same bytes.
func roundTrip[T any](t *rapid.T, v T, dec func([]byte) (T, error), enc func(T) ([]byte, error)) {
	b, err := enc(v)
	if err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	got, err := dec(b)
	if err != nil {
		t.Fatalf("decode %T: %v", v, err)
	}
	if d := cmp.Diff(v, got, cmpopts.EquateEmpty()); d != "" {
		t.Fatalf("%T round trip (-want +got):\n%s", v, d)
	}
	canonical(t, b, dec, enc)
}

// TestPropNoPanicOnMutation: any single-byte change of any valid message
// (commit, proposal, application message, Welcome, GroupInfo) never makes
// the receiving transition panic, modify its input state or return effects
// with an error; a changed group message is always rejected.
func TestPropNoPanicOnMutation(t *testing.T) {
	t.Parallel()
	n := report(t)
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{MaxOps: 3})
		history(t, w, n)
		from, recv := w.Pair(t)
		var ev func(b []byte) transitions.Event
		var msg []byte
		target := recv
		group := true
		switch rapid.SampledFrom([]string{"message", "welcome", "groupInfo"}).Draw(t, "what") {
		case "message":
			msg, _ = w.ValidMessage(t, from, recv)
			ev = func(b []byte) transitions.Event { return transitions.Receive{At: At, Message: b} }
		case "welcome":
			j, kp := w.NewKeyPackage(t)
			_, effs := w.StartCommit(from, transitions.Commit{Inline: []codec.Proposal{AddOf(kp)}})
			wel, _ := effects.Find[effects.SendWelcome](effs)
			msg, target, group = wel.Welcome, j, false
			ev = func(b []byte) transitions.Event {
				return transitions.JoinWelcome{At: At, Welcome: b, Config: j.Config}
			}
		case "groupInfo":
			j := w.NewClient(t)
			msg, target, group = w.PublishGroupInfo(from, true), j, false
			ev = func(b []byte) transitions.Event { return w.ExternalJoinEvent(j, b, nil, 0) }
		}
		AcceptsEvent(t, target.State, w.Env(target), ev(msg))
		bad := bytes.Clone(msg)
		i := rapid.IntRange(0, len(bad)-1).Draw(t, "at")
		bad[i] ^= rapid.ByteRange(1, 255).Draw(t, "xor")
		_, _, err := CheckedApply(t, target.State, ev(bad), w.Env(target))
		if group && err == nil {
			t.Fatalf("group message with byte %d of %d changed was accepted", i, len(bad))
		}
	})
}

// TestPropOldStateUntouched: every state a random history passed through
// keeps its digest until the end (no later transition writes through
// shared structure), and applying the same event with the same entropy
// seed to an old state again gives the same state and effects.
func TestPropOldStateUntouched(t *testing.T) {
	t.Parallel()
	n := report(t)
	rapid.Check(t, func(t *rapid.T) {
		type seen struct {
			s      state.GroupState
			digest [32]byte
		}
		type step struct {
			m      *Member
			before state.GroupState
			ev     transitions.Event
			seed   [32]byte
			next   [32]byte
			effs   [32]byte
		}
		var states []seen
		var steps []step
		o := historyOptions()
		o.OnApply = func(m *Member, before state.GroupState, ev transitions.Event, seed [32]byte, next state.GroupState, effs []effects.Effect, err error) {
			states = append(states, seen{before, before.Digest()}, seen{next, next.Digest()})
			if err == nil {
				steps = append(steps, step{m, before, ev, seed, next.Digest(), effects.Digest(effs)})
			}
		}
		w := Gen(t, o)
		history(t, w, n)
		for i, s := range states {
			if s.s.Digest() != s.digest {
				t.Fatalf("state %d of the history changed later", i)
			}
		}
		for _, k := range rapid.SliceOfNDistinct(rapid.IntRange(0, len(steps)-1), 1, 8, func(i int) int { return i }).Draw(t, "replay") {
			st := steps[k]
			next, effs, err := CheckedApply(t, st.before, st.ev, transitions.Env{Entropy: entropy.FromSeed(st.seed), Keys: st.m.Keys})
			if err != nil {
				// The key store may have dropped a consumed secret since;
				// only a successful re-run is comparable.
				continue
			}
			if next.Digest() != st.next || effects.Digest(effs) != st.effs {
				t.Fatalf("%s: %s re-applied to its old state gives another result", st.m.Name, transitions.Name(st.ev))
			}
		}
	})
}

// TestPropEffectsOrdered: every transition of a random history returns its
// effects in phase order (persist, send, deliver, delete), and each event
// reports what it did: a received commit CommitStaged, a merge or
// confirmation EpochAdvanced (or RemovedFromGroup), a protected message
// SendToGroup and a received one DeliverApplication.
func TestPropEffectsOrdered(t *testing.T) {
	t.Parallel()
	n := report(t)
	rapid.Check(t, func(t *rapid.T) {
		o := historyOptions()
		var bad error
		o.OnApply = func(m *Member, _ state.GroupState, ev transitions.Event, _ [32]byte, _ state.GroupState, effs []effects.Effect, err error) {
			if err != nil || bad != nil {
				return
			}
			for i := 1; i < len(effs); i++ {
				if effs[i-1].Phase() > effs[i].Phase() {
					bad = fmt.Errorf("%s: %s: effect %d (%T) of phase %d after phase %d", m.Name, transitions.Name(ev), i, effs[i], effs[i].Phase(), effs[i-1].Phase())
				}
			}
			has := func(want ...string) bool {
				for _, e := range effs {
					for _, x := range want {
						if fmt.Sprintf("%T", e) == "effects."+x {
							return true
						}
					}
				}
				return false
			}
			var want []string
			switch e := ev.(type) {
			case transitions.MergeStaged, transitions.ConfirmCommit:
				want = []string{"EpochAdvanced", "RemovedFromGroup"}
			case transitions.Protect, transitions.Commit:
				want = []string{"SendToGroup"}
			case transitions.Receive:
				if mm, err := codec.DecodeMLSMessage(e.Message); err == nil && mm.PrivateMessage != nil && mm.PrivateMessage.ContentType == codec.ContentTypeApplication {
					want = []string{"DeliverApplication"}
				} else if err == nil && mm.PublicMessage != nil && mm.PublicMessage.Content.ContentType == codec.ContentTypeCommit {
					want = []string{"CommitStaged"}
				}
			}
			if want != nil && !has(want...) {
				bad = fmt.Errorf("%s: %s returned none of %v", m.Name, transitions.Name(ev), want)
			}
		}
		w := Gen(t, o)
		history(t, w, n)
		for _, m := range w.Active() {
			w.Protect(m, []byte("x"))
		}
		if bad != nil {
			t.Fatal(bad)
		}
	})
}
