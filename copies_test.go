package mls

import (
	"bytes"
	"testing"
)

// TestReturnedValuesAreCopies checks that the byte strings Members and
// PendingProposals return are copies: writing into them leaves the group's
// state, its digest included, unchanged.
func TestReturnedValuesAreCopies(t *testing.T) {
	alice, bob := pair(t)
	msg, _, err := bob.g.ProposeSelfUpdate()
	check(t, err)
	deliver(t, bob, msg, alice)

	before := alice.g.State().Digest()
	ps := alice.g.PendingProposals()
	stored := alice.g.State().PendingProposals()
	if len(ps) != 1 || len(stored) != 1 {
		t.Fatalf("%d pending proposals returned, %d stored", len(ps), len(stored))
	}
	got := must[[]byte](t)(ps[0].Proposal.Encode())
	want := must[[]byte](t)(stored[0].Proposal.Encode())
	if !bytes.Equal(ps[0].Ref, stored[0].Ref) || !bytes.Equal(got, want) {
		t.Fatal("PendingProposals differs from the stored proposal")
	}
	flip := func(b []byte) {
		for i := range b {
			b[i] ^= 0xFF
		}
	}
	flip(ps[0].Ref)
	ln := &ps[0].Proposal.Update.LeafNode
	flip(ln.EncryptionKey)
	flip(ln.SignatureKey)
	flip(ln.Credential.Identity)
	for _, m := range alice.g.Members() {
		flip(m.Credential.Identity)
		flip(m.Identity)
		flip(m.SignatureKey)
		flip(m.EncryptionKey)
	}
	if after := alice.g.State().Digest(); after != before {
		t.Fatal("writing into returned values changed the group's state")
	}
	if !bytes.Equal(must[[]byte](t)(alice.g.State().PendingProposals()[0].Proposal.Encode()), want) {
		t.Fatal("writing into returned values changed a stored proposal")
	}
}
