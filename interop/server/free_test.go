package server

import (
	"context"
	"testing"

	pb "github.com/mlscore/mlscore/interop/proto"
)

// TestFreeDropsRecords: transactions, external signers and reinit records
// live as long as the states that use them, and Free drops them with the
// last such state; a record no state used is dropped by Free of its id.
func TestFreeDropsRecords(t *testing.T) {
	ctx := context.Background()
	s := New()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	live := func(want [4]int) {
		t.Helper()
		st, tx, sg, ri := s.Live()
		if got := [4]int{st, tx, sg, ri}; got != want {
			t.Fatalf("live states, transactions, signers, reinits = %v, want %v", got, want)
		}
	}
	alice, err := s.CreateGroup(ctx, &pb.CreateGroupRequest{GroupId: []byte("g"), CipherSuite: 1, Identity: []byte("alice")})
	must(err)
	kp, err := s.CreateKeyPackage(ctx, &pb.CreateKeyPackageRequest{CipherSuite: 1, Identity: []byte("bob")})
	must(err)
	unused, err := s.CreateKeyPackage(ctx, &pb.CreateKeyPackageRequest{CipherSuite: 1, Identity: []byte("carol")})
	must(err)
	add, err := s.AddProposal(ctx, &pb.AddProposalRequest{StateId: alice.StateId, KeyPackage: kp.KeyPackage})
	must(err)
	c, err := s.Commit(ctx, &pb.CommitRequest{StateId: alice.StateId, ByReference: [][]byte{add.Proposal}})
	must(err)
	_, err = s.HandlePendingCommit(ctx, &pb.HandlePendingCommitRequest{StateId: alice.StateId})
	must(err)
	bob, err := s.JoinGroup(ctx, &pb.JoinGroupRequest{TransactionId: kp.TransactionId, Welcome: c.Welcome})
	must(err)
	signer, err := s.CreateExternalSigner(ctx, &pb.CreateExternalSignerRequest{CipherSuite: 1, Identity: []byte("ds")})
	must(err)
	_, err = s.AddExternalSigner(ctx, &pb.AddExternalSignerRequest{StateId: alice.StateId, ExternalSender: signer.ExternalSender})
	must(err)
	live([4]int{2, 2, 1, 0})

	// Bob's state is the only user of its transaction.
	_, err = s.Free(ctx, &pb.FreeRequest{StateId: bob.StateId})
	must(err)
	live([4]int{1, 1, 1, 0})
	if _, err := s.JoinGroup(ctx, &pb.JoinGroupRequest{TransactionId: kp.TransactionId, Welcome: c.Welcome}); err == nil {
		t.Fatal("the freed state's transaction is still usable")
	}

	// A ReInit: alice's state keeps the reinit record it started.
	ri, err := s.ReInitProposal(ctx, &pb.ReInitProposalRequest{StateId: alice.StateId, CipherSuite: 1, GroupId: []byte("g2")})
	must(err)
	_, err = s.Commit(ctx, &pb.CommitRequest{StateId: alice.StateId, ByReference: [][]byte{ri.Proposal}})
	must(err)
	_, err = s.HandlePendingReInitCommit(ctx, &pb.HandlePendingCommitRequest{StateId: alice.StateId})
	must(err)
	live([4]int{1, 1, 1, 1})

	// Freeing alice drops the signer she added and her reinit record.
	_, err = s.Free(ctx, &pb.FreeRequest{StateId: alice.StateId})
	must(err)
	live([4]int{0, 1, 0, 0})

	// The unused transaction goes with its own id.
	_, err = s.Free(ctx, &pb.FreeRequest{StateId: unused.TransactionId})
	must(err)
	live([4]int{0, 0, 0, 0})
}
