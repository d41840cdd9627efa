package mls

import (
	"errors"
	"testing"

	"github.com/mlscore/mlscore/codec"
)

// TestCommitPendingRule checks the one rule for sending while this
// member's own commit is pending (package documentation, "Sending while a
// commit is pending"): every Group operation that sends a message fails
// with ErrCommitPending and changes nothing; once ClearPendingCommit
// resolves the commit, the same operation is no longer refused for it.
// The rule holds for a pending external commit too (JoinExternal, Resync;
// Group.HasPendingCommit reports both).
func TestCommitPendingRule(t *testing.T) {
	kp := func(t *testing.T) []byte {
		return must[[]byte](t)(newParty(t, backends[0], "dave").c.KeyPackage())
	}
	ops := []struct {
		name string
		run  func(t *testing.T, a, b *party) error
	}{
		{"Send", func(t *testing.T, a, b *party) error { _, err := a.g.Send([]byte("x")); return err }},
		{"SendWithAAD", func(t *testing.T, a, b *party) error {
			_, err := a.g.SendWithAAD([]byte("x"), []byte("aad"))
			return err
		}},
		{"Propose", func(t *testing.T, a, b *party) error {
			_, _, err := a.g.Propose(codec.Proposal{ProposalType: codec.ProposalRemove, Remove: &codec.Remove{Removed: b.g.OwnLeaf()}})
			return err
		}},
		{"ProposeAdd", func(t *testing.T, a, b *party) error { _, _, err := a.g.ProposeAdd(kp(t)); return err }},
		{"ProposeRemove", func(t *testing.T, a, b *party) error { _, _, err := a.g.ProposeRemove(b.g.OwnLeaf()); return err }},
		{"ProposeSelfUpdate", func(t *testing.T, a, b *party) error { _, _, err := a.g.ProposeSelfUpdate(); return err }},
		{"ProposeSelfUpdateWith", func(t *testing.T, a, b *party) error {
			_, _, err := a.g.ProposeSelfUpdateWith(LeafUpdate{NewSignatureKey: true})
			return err
		}},
		{"ProposeExternalPSK", func(t *testing.T, a, b *party) error {
			check(t, a.c.AddExternalPSK([]byte("psk"), make([]byte, 32)))
			_, _, err := a.g.ProposeExternalPSK([]byte("psk"))
			return err
		}},
		{"ProposeGroupContextExtensions", func(t *testing.T, a, b *party) error {
			_, _, err := a.g.ProposeGroupContextExtensions(codec.Extensions{})
			return err
		}},
		{"ProposeReInit", func(t *testing.T, a, b *party) error { _, _, err := a.g.ProposeReInit(nil); return err }},
		{"ProposeResumptionPSK", func(t *testing.T, a, b *party) error {
			_, _, err := a.g.ProposeResumptionPSK(a.g.Epoch())
			return err
		}},
		{"Leave", func(t *testing.T, a, b *party) error { _, err := a.g.Leave(); return err }},
		{"AddMembers", func(t *testing.T, a, b *party) error { _, err := a.g.AddMembers(kp(t)); return err }},
		{"RemoveMembers", func(t *testing.T, a, b *party) error { _, err := a.g.RemoveMembers(b.g.OwnLeaf()); return err }},
		{"SelfUpdate", func(t *testing.T, a, b *party) error { _, err := a.g.SelfUpdate(); return err }},
		{"SelfUpdateWith", func(t *testing.T, a, b *party) error {
			_, err := a.g.SelfUpdateWith(LeafUpdate{NewSignatureKey: true})
			return err
		}},
		{"CommitPendingProposals", func(t *testing.T, a, b *party) error { _, err := a.g.CommitPendingProposals(); return err }},
		{"Commit", func(t *testing.T, a, b *party) error { _, err := a.g.Commit(nil, true); return err }},
		{"ReInit", func(t *testing.T, a, b *party) error { _, err := a.g.ReInit(nil); return err }},
		{"Branch", func(t *testing.T, a, b *party) error {
			_, _, err := a.g.Branch(nil, must[[]byte](t)(b.c.KeyPackage()))
			return err
		}},
	}
	// Each way a commit of this member becomes pending: a commit of the
	// group's epoch, an external join (JoinExternal) and a Resync. pending
	// returns the member whose commit is pending, another member, and
	// how to resolve the commit so that the operation is not refused for
	// it (a cleared JoinExternal deletes its group: it is merged instead).
	pendings := []struct {
		name    string
		pending func(t *testing.T) (a, b *party, resolve func() error)
	}{
		{"Commit", func(t *testing.T) (a, b *party, resolve func() error) {
			alice, bob := pair(t)
			must[Outgoing](t)(alice.g.SelfUpdate())
			return alice, bob, alice.g.ClearPendingCommit
		}},
		{"JoinExternal", func(t *testing.T) (a, b *party, resolve func() error) {
			alice, bob := pair(t)
			carol := newParty(t, backends[0], "carol")
			g, _, err := carol.c.JoinExternal(must[[]byte](t)(alice.g.GroupInfo(true)), nil)
			check(t, err)
			carol.g = g
			return carol, bob, carol.g.MergePendingCommit
		}},
		{"Resync", func(t *testing.T) (a, b *party, resolve func() error) {
			alice, bob := pair(t)
			must[Outgoing](t)(alice.g.Resync(must[[]byte](t)(bob.g.GroupInfo(true)), nil))
			return alice, bob, alice.g.ClearPendingCommit
		}},
	}
	for _, pd := range pendings {
		for _, op := range ops {
			t.Run(pd.name+"/"+op.name, func(t *testing.T) {
				a, b, resolve := pd.pending(t)
				before := a.g.State().Digest()
				if err := op.run(t, a, b); !errors.Is(err, ErrCommitPending) {
					t.Fatalf("while the own commit is pending: %v, want ErrCommitPending", err)
				}
				if a.g.State().Digest() != before || !a.g.HasPendingCommit() {
					t.Fatal("a refused operation changed the group")
				}
				check(t, resolve())
				if err := op.run(t, a, b); err != nil {
					t.Fatalf("after resolving the pending commit: %v", err)
				}
			})
		}
	}
}

// TestCommitPendingReceives: while the own commit is pending, receiving
// goes on — application messages and proposals of the epoch are
// processed, and merging another member's commit for the same epoch
// drops the own pending commit (the other commit won the epoch).
func TestCommitPendingReceives(t *testing.T) {
	alice, bob := pair(t)
	must[Outgoing](t)(alice.g.SelfUpdate())
	pm := must[*ProcessedMessage](t)(alice.g.ProcessMessage(must[[]byte](t)(bob.g.Send([]byte("x")))))
	if pm.Kind != ApplicationMessage || string(pm.Data) != "x" {
		t.Fatalf("application message while pending: %+v", pm)
	}
	msg, _, err := bob.g.ProposeSelfUpdate()
	check(t, err)
	if pm := must[*ProcessedMessage](t)(alice.g.ProcessMessage(msg)); pm.Kind != ProposalMessage {
		t.Fatalf("proposal while pending: %+v", pm)
	}
	out := must[Outgoing](t)(bob.g.CommitPendingProposals())
	check(t, bob.g.MergePendingCommit())
	must[*ProcessedMessage](t)(alice.g.ProcessMessage(out.Commit))
	if !alice.g.HasPendingCommit() {
		t.Fatal("staging another member's commit dropped the own pending commit")
	}
	check(t, alice.g.MergeStagedCommit())
	if alice.g.HasPendingCommit() {
		t.Fatal("the own commit is still pending after another commit of its epoch was merged")
	}
	agree(t, alice, bob)
}
