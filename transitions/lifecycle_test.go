package transitions

import (
	"bytes"
	"slices"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/treemath"
)

// publicWorld returns a world whose handshakes are PublicMessages, so that
// tests can read the proposal lists of commits, with alice and the named
// members.
func publicWorld(t *testing.T, caps codec.Capabilities, names ...string) (*world, *member, []*member) {
	cfg := state.DefaultConfig()
	cfg.WireFormat = state.MixedPlaintext
	w := newWorld(t, 1, cfg)
	w.caps = caps
	a := w.create("alice")
	return w, a, w.add(a, names...)
}

// commitProposals decodes a PublicMessage commit and returns its proposal
// list: by-reference entries as their references, by-value ones as their
// types.
func commitProposals(t *testing.T, msg []byte) (refs [][]byte, inline []codec.ProposalType) {
	t.Helper()
	m, err := codec.DecodeMLSMessage(msg)
	if err != nil || m.PublicMessage == nil || m.PublicMessage.Content.Commit == nil {
		t.Fatalf("not a public commit: %v", err)
	}
	for _, p := range m.PublicMessage.Content.Commit.Proposals {
		if p.Type == codec.ProposalOrRefReference {
			refs = append(refs, p.Reference)
		} else {
			inline = append(inline, p.Proposal.ProposalType)
		}
	}
	return refs, inline
}

// propose has m send p by reference and every other active member store
// it; it returns the proposal's reference.
func (w *world) propose(m *member, p codec.Proposal) []byte {
	w.t.Helper()
	msg := sent(w.t.(*testing.T), w.must(m, Propose{At: testAt, Proposal: p}))
	w.deliver(m, msg)
	pp := m.s.PendingProposals()
	return pp[len(pp)-1].Ref
}

// TestSelectProposals: Policy.SelectProposals chooses which stored
// proposals a commit covers; receivers accept the commit, the others are
// forgotten with the epoch; a selection naming a proposal that is not
// stored (or one twice) is the application's error.
func TestSelectProposals(t *testing.T) {
	tests := []struct {
		name    string
		pick    func(stored []state.StoredProposal) []state.StoredProposal
		covered []int // indices of the proposals (bob's, carol's) covered
		err     error
	}{
		{name: "nil policy covers all", covered: []int{0, 1}},
		{name: "only bob's", pick: func(st []state.StoredProposal) []state.StoredProposal {
			return slices.DeleteFunc(slices.Clone(st), func(sp state.StoredProposal) bool { return sp.Sender.LeafIndex != 1 })
		}, covered: []int{0}},
		{name: "reversed order", pick: func(st []state.StoredProposal) []state.StoredProposal {
			out := slices.Clone(st)
			slices.Reverse(out)
			return out
		}, covered: []int{1, 0}},
		{name: "none", pick: func([]state.StoredProposal) []state.StoredProposal { return nil }},
		{name: "not stored", err: ErrInvalidProposals, pick: func(st []state.StoredProposal) []state.StoredProposal {
			fake := st[0]
			fake.Ref = bytes.Repeat([]byte{7}, len(fake.Ref))
			return []state.StoredProposal{fake}
		}},
		{name: "twice", err: ErrInvalidProposals, pick: func(st []state.StoredProposal) []state.StoredProposal {
			return []state.StoredProposal{st[0], st[0]}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, a, bc := publicWorld(t, codec.Capabilities{}, "bob", "carol", "dan", "eve")
			b, c := bc[0], bc[1]
			refs := [][]byte{w.propose(b, removeOf(3)), w.propose(c, removeOf(4))}
			before := a.s.Digest()
			effs, err := w.applyWith(a, Commit{At: testAt}, Policy{SelectProposals: tt.pick})
			if tt.err != nil {
				if !errorsIs(err, tt.err) || a.s.Digest() != before {
					t.Fatalf("got %v, want %v and an unchanged state", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			msg := sent(t, effs)
			got, inline := commitProposals(t, msg)
			var want [][]byte
			for _, i := range tt.covered {
				want = append(want, refs[i])
			}
			if len(inline) != 0 || !slices.EqualFunc(got, want, bytes.Equal) {
				t.Fatalf("commit covers %x (inline %v), want %x", got, inline, want)
			}
			w.deliver(a, msg)
			w.must(a, ConfirmCommit{At: testAt})
			if n := len(a.s.PendingProposals()); n != 0 {
				t.Fatalf("%d proposals still stored in the new epoch", n)
			}
			for i, gone := range []treemath.LeafIndex{3, 4} {
				_, present := a.s.Tree().Leaf(gone)
				if present == slices.Contains(tt.covered, i) {
					t.Errorf("leaf %d present = %v after the commit", gone, present)
				}
			}
			w.members = slices.DeleteFunc(w.members, func(m *member) bool { return !m.s.Active() })
			w.check()
		})
	}
}

// TestCommitterDropsInvalidByReference: in committer mode an invalid
// by-reference proposal is left out of the commit (RFC 9420, Section 12.2:
// the committer "SHOULD prefer any Remove received"), and every receiver
// accepts the resulting commit.
func TestCommitterDropsInvalidByReference(t *testing.T) {
	ext := codec.Capabilities{Extensions: []codec.ExtensionType{extCustom}}
	tests := []struct {
		name    string
		setup   func(w *world, a *member, ms []*member) (refs [][]byte, inline []codec.Proposal)
		covered []int // indices into refs that the commit keeps
		inline  int   // inline proposals kept
	}{
		{name: "update of a member removed by another proposal", setup: func(w *world, a *member, ms []*member) ([][]byte, []codec.Proposal) {
			up := codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{}}
			return [][]byte{w.propose(ms[0], up), w.propose(ms[1], removeOf(1))}, nil
		}, covered: []int{1}},
		{name: "member removed twice", setup: func(w *world, a *member, ms []*member) ([][]byte, []codec.Proposal) {
			return [][]byte{w.propose(ms[0], removeOf(3)), w.propose(ms[1], removeOf(3))}, nil
		}, covered: []int{0}},
		{name: "group extension an inline Add does not support", setup: func(w *world, a *member, ms []*member) ([][]byte, []codec.Proposal) {
			gce := codec.Proposal{ProposalType: codec.ProposalGroupContextExtensions, GroupContextExtensions: &codec.GroupContextExtensions{
				Extensions: codec.Extensions{{ExtensionType: extCustom, ExtensionData: []byte("x")}}}}
			ref := w.propose(ms[0], gce)
			w.caps = codec.Capabilities{}
			return [][]byte{ref}, []codec.Proposal{addOf(w.keyPackage(w.newMember("frank")))}
		}, inline: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, a, ms := publicWorld(t, ext, "bob", "carol", "dan")
			refs, inline := tt.setup(w, a, ms)
			effs := w.must(a, Commit{At: testAt, Inline: inline})
			msg := sent(t, effs)
			got, gotInline := commitProposals(t, msg)
			var want [][]byte
			for _, i := range tt.covered {
				want = append(want, refs[i])
			}
			if !slices.EqualFunc(got, want, bytes.Equal) || len(gotInline) != tt.inline {
				t.Fatalf("commit covers %x and %d inline, want %x and %d", got, len(gotInline), want, tt.inline)
			}
			// Every receiver accepts and merges it (deliver fails the test
			// otherwise), and the members agree afterwards.
			w.deliver(a, msg)
			w.must(a, ConfirmCommit{At: testAt})
			w.members = slices.DeleteFunc(w.members, func(m *member) bool { return !m.s.Active() })
			w.check()
		})
	}
}

// TestLastResortKeyPackage: joining with a last_resort key package
// (RFC 9420, Section 10.1) keeps its private keys (no DeleteSecret), so the
// same key package serves a second Welcome; an ordinary key package is
// deleted on join and cannot be used again.
func TestLastResortKeyPackage(t *testing.T) {
	for _, lastResort := range []bool{true, false} {
		t.Run(map[bool]string{true: "last_resort", false: "ordinary"}[lastResort], func(t *testing.T) {
			w1 := newWorld(t, 1, state.DefaultConfig())
			a := w1.create("alice")
			j := w1.newMember("joe")
			effs := w1.must(j, NewKeyPackage{At: testAt, Suite: w1.cs, SignatureKey: j.sig, Credential: w1.credential(j),
				Lifetime: testLifetime, LastResort: lastResort})
			kc, _ := effects.Find[effects.KeyPackageCreated](effs)
			if kc.LastResort != lastResort {
				t.Fatalf("KeyPackageCreated.LastResort = %v", kc.LastResort)
			}
			m, err := codec.DecodeMLSMessage(kc.KeyPackage)
			if err != nil {
				t.Fatal(err)
			}
			kp := *m.KeyPackage
			if _, ok := kp.Extensions.Find(extensionLastResort); ok != lastResort {
				t.Fatalf("last_resort extension present = %v", ok)
			}

			// First group.
			add := w1.must(a, Commit{At: testAt, Inline: []codec.Proposal{addOf(kp)}, RatchetTree: TreeInclude})
			wel, _ := effects.Find[effects.SendWelcome](add)
			w1.must(j, JoinWelcome{At: testAt, Welcome: wel.Welcome, Config: w1.cfg})
			joined := w1.must(j, AcceptJoin{At: testAt})
			deleted := slices.ContainsFunc(joined, func(e effects.Effect) bool {
				d, ok := e.(effects.DeleteSecret)
				return ok && d.Ref.Kind == effects.SecretKeyPackage && bytes.Equal(d.Ref.ID, kc.Ref)
			})
			if deleted == lastResort {
				t.Fatalf("DeleteSecret of the key package emitted = %v", deleted)
			}
			if _, ok := j.keys.KeyPackage(kc.Ref); ok != lastResort {
				t.Fatalf("key package private keys kept = %v", ok)
			}

			// Second group, same key package.
			w2 := newWorld(t, 1, state.DefaultConfig())
			w2.name += "/second"
			z := w2.create("zoe")
			j2 := &member{name: j.name, sig: j.sig, keys: j.keys}
			add = w2.must(z, Commit{At: testAt, Inline: []codec.Proposal{addOf(kp)}, RatchetTree: TreeInclude})
			wel, _ = effects.Find[effects.SendWelcome](add)
			_, err = w2.apply(j2, JoinWelcome{At: testAt, Welcome: wel.Welcome, Config: w2.cfg})
			if lastResort {
				if err != nil {
					t.Fatalf("second join with a last-resort key package: %v", err)
				}
				w2.must(j2, AcceptJoin{At: testAt})
				if !bytes.Equal(j2.s.GroupID(), z.s.GroupID()) || j2.s.Epoch() != 1 {
					t.Fatalf("joined group %x epoch %d", j2.s.GroupID(), j2.s.Epoch())
				}
			} else if !errorsIs(err, ErrMissingKey) {
				t.Fatalf("second join with a deleted key package: got %v, want ErrMissingKey", err)
			}
		})
	}
}

// TestAbortDiscardDrop: the transitions that undo a local step. Each
// returns no effects; on success the state is the one before the step
// (same digest, for PublicMessage handshakes, which consume no secrets),
// and the group goes on; without anything to undo it fails with
// ErrWrongState and leaves the state unchanged.
func TestAbortDiscardDrop(t *testing.T) {
	tests := []struct {
		name string
		// run takes the step and undoes it; it returns the state before
		// the step (nil: nothing to undo), the member and the undo event.
		run func(t *testing.T, w *world, a, b, c *member) (undo Event, m *member, before *[32]byte)
		err error
	}{
		{name: "AbortCommit of a pending commit", run: func(t *testing.T, w *world, a, b, c *member) (Event, *member, *[32]byte) {
			d := a.s.Digest()
			w.must(a, Commit{At: testAt, ForcePath: true})
			if _, ok := a.s.PendingCommit(); !ok {
				t.Fatal("no pending commit")
			}
			return AbortCommit{At: testAt}, a, &d
		}},
		{name: "AbortCommit without one", err: ErrWrongState, run: func(t *testing.T, w *world, a, b, c *member) (Event, *member, *[32]byte) {
			return AbortCommit{At: testAt}, a, nil
		}},
		{name: "DiscardStaged of a staged commit", run: func(t *testing.T, w *world, a, b, c *member) (Event, *member, *[32]byte) {
			msg := sent(t, w.must(a, Commit{At: testAt, ForcePath: true}))
			w.must(a, AbortCommit{At: testAt})
			d := b.s.Digest()
			w.must(b, Receive{At: testAt, Message: msg})
			if _, ok := b.s.StagedCommit(); !ok {
				t.Fatal("no staged commit")
			}
			return DiscardStaged{At: testAt}, b, &d
		}},
		{name: "DiscardStaged without one", err: ErrWrongState, run: func(t *testing.T, w *world, a, b, c *member) (Event, *member, *[32]byte) {
			return DiscardStaged{At: testAt}, b, nil
		}},
		{name: "DropProposal of a received proposal", run: func(t *testing.T, w *world, a, b, c *member) (Event, *member, *[32]byte) {
			msg := sent(t, w.must(b, Propose{At: testAt, Proposal: removeOf(2)}))
			d := a.s.Digest()
			w.must(a, Receive{At: testAt, Message: msg})
			return DropProposal{At: testAt, Ref: a.s.PendingProposals()[0].Ref}, a, &d
		}},
		{name: "DropProposal of an own update", run: func(t *testing.T, w *world, a, b, c *member) (Event, *member, *[32]byte) {
			d := b.s.Digest()
			w.must(b, Propose{At: testAt, Proposal: codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{}}})
			if len(b.s.Private().OwnUpdates) != 1 {
				t.Fatal("no own update kept")
			}
			return DropProposal{At: testAt, Ref: b.s.PendingProposals()[0].Ref}, b, &d
		}},
		{name: "DropProposal of an unknown reference", err: ErrWrongState, run: func(t *testing.T, w *world, a, b, c *member) (Event, *member, *[32]byte) {
			return DropProposal{At: testAt, Ref: []byte("no such proposal")}, a, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, a, bc := publicWorld(t, codec.Capabilities{}, "bob", "carol")
			undo, m, before := tt.run(t, w, a, bc[0], bc[1])
			d0 := m.s.Digest()
			effs, err := w.apply(m, undo)
			if tt.err != nil {
				if !errorsIs(err, tt.err) || m.s.Digest() != d0 {
					t.Fatalf("got %v, want %v and an unchanged state", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(effs) != 0 {
				t.Fatalf("effects %v, want none", effs)
			}
			if m.s.Digest() != *before {
				t.Fatalf("state after %s differs from the state before the step", Name(undo))
			}
			if _, ok := m.s.PendingCommit(); ok {
				t.Fatal("pending commit left")
			}
			if _, ok := m.s.StagedCommit(); ok {
				t.Fatal("staged commit left")
			}
			if n := len(m.s.PendingProposals()) + len(m.s.Private().OwnUpdates); n != 0 {
				t.Fatalf("%d stored proposals or own updates left", n)
			}
			// The group goes on: a commit by a member and its processing.
			w.commit(a, Commit{ForcePath: true})
		})
	}
}
