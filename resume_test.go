package mls

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/valsem"
)

// formGroup makes a client per name on backend b (the first creates the
// group with gopts and adds the others) and returns the parties, all in
// the group.
func formGroup(t *testing.T, b backend, gopts *GroupOptions, names ...string) []*party {
	t.Helper()
	return formGroupWith(t, b, nil, gopts, names...)
}

// formGroupWith is formGroup with cfg as every client's Options.Config
// (nil: the default).
func formGroupWith(t *testing.T, b backend, cfg *state.Config, gopts *GroupOptions, names ...string) []*party {
	t.Helper()
	var ps []*party
	for _, n := range names {
		o := testOptions(n)
		o.Config = cfg
		st := b.new(t, n)
		ps = append(ps, &party{name: n, store: st, c: must[*Client](t)(NewClient(st, []byte(n), o))})
	}
	ps[0].g = must[*Group](t)(ps[0].c.CreateGroup(gopts))
	if len(ps) == 1 {
		return ps
	}
	var kps [][]byte
	for _, p := range ps[1:] {
		kps = append(kps, must[[]byte](t)(p.c.KeyPackage()))
	}
	out := must[Outgoing](t)(ps[0].g.AddMembers(kps...))
	check(t, ps[0].g.MergePendingCommit())
	tree := must[[]byte](t)(ps[0].g.RatchetTree())
	for _, p := range ps[1:] {
		p.g = must[*Group](t)(p.c.JoinGroup(out.Welcome, tree))
	}
	return ps
}

// successor is a member's next client and group after a reinit.
func successors(t *testing.T, ps []*party, cs suite.ID) []*party {
	t.Helper()
	var out []*party
	for _, p := range ps {
		if cs == p.c.Suite() {
			out = append(out, &party{name: p.name, store: p.store, c: p.c})
			continue
		}
		st := NewMemoryStorage()
		o := testOptions(p.name + " next")
		o.Suite = cs
		out = append(out, &party{name: p.name, store: st, c: must[*Client](t)(NewClient(st, []byte(p.name), o))})
	}
	return out
}

// TestReInitShell reinitializes a three-member group through the shell,
// keeping the suite and changing it: the ReInit is committed, the old
// group closes, one member founds the successor and the others join it
// from the Welcome, checked against the old group's resumption PSK; the
// new group works and reopens from storage.
func TestReInitShell(t *testing.T) {
	ds := newParty(t, backends[0], "ds")
	ext := must[codec.Extension](t)(ExternalSendersExtension(ds.c.ExternalSender()))
	for _, tc := range []struct {
		name  string
		suite suite.ID // 0: the group's
		b     backend
	}{
		{"same suite, memory", 0, backends[0]},
		{"same suite, dir", 0, backends[1]},
		{"suite 3", suite.X25519ChaCha20Poly1305SHA256Ed25519, backends[0]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := formGroup(t, tc.b, nil, "alice", "bob", "carol")
			alice, bob, carol := ps[0], ps[1], ps[2]
			if _, _, err := alice.g.Reinitialize(nil); !errors.Is(err, ErrNoReInit) {
				t.Fatalf("Reinitialize before a reinit: %v, want ErrNoReInit", err)
			}
			opts := &ReInitOptions{GroupID: []byte("successor"), Suite: tc.suite, Extensions: codec.Extensions{ext}}
			// Bob proposes, Carol commits.
			prop, _ := must2(t)(bob.g.ProposeReInit(opts))
			deliver(t, bob, prop, alice, carol)
			out := must[Outgoing](t)(carol.g.CommitPendingProposals())
			got := deliver(t, carol, out.Commit, alice, bob)
			check(t, carol.g.MergePendingCommit())
			if pt := got["alice"].Commit.Proposals[0].Proposal.ProposalType; pt != codec.ProposalReInit {
				t.Fatalf("the commit covers a %v", pt)
			}
			for _, p := range ps {
				ri, ok := p.g.PendingReInit()
				if !ok || !bytes.Equal(ri.GroupID, []byte("successor")) || p.g.Active() {
					t.Fatalf("%s: PendingReInit %v %v, active %v", p.name, ri, ok, p.g.Active())
				}
				if _, err := p.g.Send([]byte("late")); !errors.Is(err, transitions.ErrWrongState) {
					t.Fatalf("%s sends in a closed group: %v", p.name, err)
				}
			}
			// The closed state survives a restart.
			oldID := bob.g.ID()
			check(t, bob.g.Close())
			bob.g = must[*Group](t)(bob.c.OpenGroup(oldID))
			if _, ok := bob.g.PendingReInit(); !ok || bob.g.Active() {
				t.Fatal("the reopened group lost its reinit")
			}
			cs := alice.c.Suite()
			if tc.suite != 0 {
				cs = tc.suite
				if _, _, err := alice.g.Reinitialize(nil); !errors.Is(err, ErrSuiteMismatch) {
					t.Fatalf("Reinitialize by a client of the old suite: %v", err)
				}
			}
			next := successors(t, ps, cs)
			kpB := must[[]byte](t)(next[1].c.KeyPackage())
			kpC := must[[]byte](t)(next[2].c.KeyPackage())
			// The new group has the old members, no fewer (RFC 9420,
			// Section 12.4.2).
			if _, _, err := alice.g.Reinitialize(next[0].c, kpB); !errors.Is(err, transitions.ErrInvalidResumption) {
				t.Fatalf("Reinitialize without charlie: %v", err)
			}
			ng, out, err := alice.g.Reinitialize(next[0].c, kpB, kpC)
			check(t, err)
			next[0].g = ng
			if !bytes.Equal(ng.ID(), []byte("successor")) || ng.Epoch() != 1 || out.Commit != nil || out.Welcome == nil {
				t.Fatalf("new group %q epoch %d, commit %v welcome %v", ng.ID(), ng.Epoch(), out.Commit != nil, out.Welcome != nil)
			}
			if x, ok := ng.State().GroupContext().Extensions.Find(codec.ExtensionExternalSenders); !ok || !bytes.Equal(x.ExtensionData, ext.ExtensionData) {
				t.Fatal("the new group lacks the reinit's extension")
			}
			tree := must[[]byte](t)(ng.RatchetTree())
			// A Welcome is checked against the old group's epoch: Bob's
			// group before the reinit, in another group, refuses it.
			other := formGroup(t, backends[0], nil, "bob")
			if _, err := other[0].g.StageResumedWelcome(next[1].c, out.Welcome, tree); !errors.Is(err, transitions.ErrMissingKey) {
				t.Fatalf("a welcome resumed from another group was staged: %v", err)
			}
			next[1].g = must[*Group](t)(bob.g.JoinResumed(next[1].c, out.Welcome, tree))
			next[2].g = must[*Group](t)(carol.g.JoinResumed(next[2].c, out.Welcome, tree))
			agree(t, next...)
			// The new group reopens from storage.
			check(t, next[1].g.Close())
			next[1].g = must[*Group](t)(next[1].c.OpenGroup([]byte("successor")))
			agree(t, next...)
		})
	}
}

// TestBranchShell creates a subgroup of two of three members and checks
// the RFC's rules on who may be in it.
func TestBranchShell(t *testing.T) {
	ps := formGroup(t, backends[0], nil, "alice", "bob", "carol")
	alice, bob, carol := ps[0], ps[1], ps[2]
	epoch := alice.g.Epoch()
	sub, out, err := alice.g.Branch(&BranchOptions{GroupID: []byte("sub")}, must[[]byte](t)(bob.c.KeyPackage()))
	check(t, err)
	if sub.Epoch() != 1 || len(sub.Members()) != 2 || alice.g.Epoch() != epoch || !alice.g.Active() {
		t.Fatalf("subgroup epoch %d, %d members; group epoch %d", sub.Epoch(), len(sub.Members()), alice.g.Epoch())
	}
	tree := must[[]byte](t)(sub.RatchetTree())
	// Carol was not added: the Welcome has nothing for her key packages.
	bsub := must[*Group](t)(bob.g.JoinResumed(nil, out.Welcome, tree))
	subs := []*party{{name: "alice", c: alice.c, g: sub}, {name: "bob", c: bob.c, g: bsub}}
	agree(t, subs...)
	agree(t, ps...) // the parent group goes on

	// A stranger's key package is refused: the subgroup's members must be
	// the parent's.
	dave := newParty(t, backends[0], "dave")
	if _, _, err := alice.g.Branch(nil, must[[]byte](t)(dave.c.KeyPackage())); !errors.Is(err, transitions.ErrInvalidResumption) {
		t.Fatalf("branch with a non-member: %v, want ErrInvalidResumption", err)
	}
	// A member joining from a group at another epoch refuses the Welcome.
	_, out, err = alice.g.Branch(nil, must[[]byte](t)(carol.c.KeyPackage()))
	check(t, err)
	upd := must[Outgoing](t)(bob.g.SelfUpdate())
	check(t, bob.g.MergePendingCommit())
	deliver(t, bob, upd.Commit, carol)
	if _, err := carol.g.JoinResumed(nil, out.Welcome, nil); !errors.Is(err, transitions.ErrMissingKey) {
		t.Fatalf("a subgroup of an older epoch was joined: %v", err)
	}
	// A branch while the own commit is pending is refused.
	_ = must[Outgoing](t)(carol.g.SelfUpdate())
	if _, _, err := carol.g.Branch(nil); !errors.Is(err, ErrCommitPending) {
		t.Fatalf("branch with a pending commit: %v", err)
	}
}

// TestResumptionPSKShell commits resumption PSK proposals of the current
// and past epochs, within and beyond the retained window.
func TestResumptionPSKShell(t *testing.T) {
	cfg := state.DefaultConfig()
	cfg.ResumptionPSKs = 1
	b := backend{"memory", func(t *testing.T, member string) Storage { return NewMemoryStorage() }}
	var ps []*party
	for _, n := range []string{"alice", "bob"} {
		p := newParty(t, b, n)
		ps = append(ps, p)
	}
	alice, bob := ps[0], ps[1]
	alice.g = must[*Group](t)(alice.c.CreateGroup(&GroupOptions{Config: &cfg}))
	out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
	check(t, alice.g.MergePendingCommit())
	bob.g = must[*StagedWelcome](t)(bob.c.StageWelcome(out.Welcome, must[[]byte](t)(alice.g.RatchetTree()), &cfg)).mustAccept(t)
	for _, tc := range []struct {
		name string
		back uint64 // epochs before the current one
		want error
	}{
		{"current epoch", 0, nil},
		{"previous epoch, kept", 1, nil},
		{"two epochs back, not kept", 2, valsem.ValSem400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, _ := must2(t)(bob.g.ProposeResumptionPSK(bob.g.Epoch() - tc.back))
			pm := must[*ProcessedMessage](t)(alice.g.ProcessMessage(msg))
			// The PSK is resolved when a commit covers the proposal.
			out, err := alice.g.CommitPendingProposals()
			if !errors.Is(err, tc.want) {
				t.Fatalf("committing: %v, want %v", err, tc.want)
			}
			if err != nil {
				check(t, alice.g.DropProposal(pm.Proposal.Ref))
				check(t, bob.g.DropProposal(pm.Proposal.Ref))
				return
			}
			deliver(t, alice, out.Commit, bob)
			check(t, alice.g.MergePendingCommit())
			agree(t, ps...)
		})
	}
}

func (w *StagedWelcome) mustAccept(t *testing.T) *Group {
	t.Helper()
	return must[*Group](t)(w.Accept())
}

func must2(t *testing.T) func(a, b []byte, err error) ([]byte, []byte) {
	return func(a, b []byte, err error) ([]byte, []byte) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

// TestReInitProposals checks who may propose a ReInit and that it is
// committed alone: an external sender's ReInit closes the group like a
// member's, and a ReInit commit over other stored proposals is refused.
func TestReInitProposals(t *testing.T) {
	ds := newParty(t, backends[0], "ds")
	ext := must[codec.Extension](t)(ExternalSendersExtension(ds.c.ExternalSender()))
	ps := formGroup(t, backends[0], &GroupOptions{Extensions: codec.Extensions{ext}}, "alice", "bob")
	alice, bob := ps[0], ps[1]

	// The zero options keep the version and suite and draw a 16-byte id.
	_, ref := must2(t)(alice.g.ProposeReInit(nil))
	sp := alice.g.PendingProposals()
	if len(sp) != 1 || sp[0].Proposal.ReInit == nil {
		t.Fatalf("stored %+v", sp)
	}
	if ri := sp[0].Proposal.ReInit; len(ri.GroupID) != 16 || ri.Version != codec.MLS10 || suite.ID(ri.CipherSuite) != alice.c.Suite() || len(ri.Extensions) != 0 {
		t.Fatalf("default reinit %+v", ri)
	}
	check(t, alice.g.DropProposal(ref))

	// Bob's stored Update and Alice's ReInit cannot share a commit.
	upd, _ := must2(t)(bob.g.ProposeSelfUpdate())
	deliver(t, bob, upd, alice)
	if _, err := alice.g.ReInit(nil); !errors.Is(err, transitions.ErrInvalidProposals) {
		t.Fatalf("ReInit over a stored proposal: %v, want ErrInvalidProposals", err)
	}
	out := must[Outgoing](t)(alice.g.CommitPendingProposals())
	deliver(t, alice, out.Commit, bob)
	check(t, alice.g.MergePendingCommit())

	// The delivery service proposes the ReInit; Bob commits it.
	gi := must[[]byte](t)(alice.g.GroupInfo(false))
	ri := codec.ReInit{GroupID: []byte("v2"), Version: codec.MLS10, CipherSuite: codec.CipherSuite(alice.c.Suite())}
	msg := must[[]byte](t)(ds.c.ProposeExternal(gi, codec.Proposal{ProposalType: codec.ProposalReInit, ReInit: &ri}))
	deliver(t, ds, msg, alice, bob)
	out = must[Outgoing](t)(bob.g.CommitPendingProposals())
	deliver(t, bob, out.Commit, alice)
	check(t, bob.g.MergePendingCommit())
	for _, p := range ps {
		if got, ok := p.g.PendingReInit(); !ok || string(got.GroupID) != "v2" || p.g.Active() {
			t.Fatalf("%s: reinit %v %v, active %v", p.name, got, ok, p.g.Active())
		}
	}
	// The closed group takes no more proposals.
	if _, _, err := alice.g.ProposeSelfUpdate(); !errors.Is(err, transitions.ErrWrongState) {
		t.Fatalf("a proposal in a closed group: %v", err)
	}
	// Bob founds the successor in the same client and storage.
	next, out, err := bob.g.Reinitialize(nil, must[[]byte](t)(alice.c.KeyPackage()))
	check(t, err)
	anext := must[*Group](t)(alice.g.JoinResumed(nil, out.Welcome, must[[]byte](t)(next.RatchetTree())))
	agree(t, &party{name: "alice", c: alice.c, g: anext}, &party{name: "bob", c: bob.c, g: next})
}
