package mls_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/mlscore/mlscore"
)

// AddMembers with nothing to add is refused, and while Alice's own commit
// awaits the delivery service she sends nothing: she resolves it first,
// here with ClearPendingCommit as if another commit had won the epoch.
func ExampleErrCommitPending() {
	alice, _ := exampleGroup(deterministic, "bob")
	_, err := alice.AddMembers()
	fmt.Println("AddMembers():", errors.Is(err, mls.ErrNothingToCommit))

	if _, err := alice.SelfUpdate(); err != nil {
		log.Fatal(err)
	}
	_, err = alice.Send([]byte("too early"))
	fmt.Println("Send while pending:", errors.Is(err, mls.ErrCommitPending))
	_, _, err = alice.ProposeSelfUpdate()
	fmt.Println("ProposeSelfUpdate while pending:", errors.Is(err, mls.ErrCommitPending))

	if err := alice.ClearPendingCommit(); err != nil {
		log.Fatal(err)
	}
	_, err = alice.Send([]byte("now"))
	fmt.Println("Send after ClearPendingCommit:", err)
	// Output:
	// AddMembers(): true
	// Send while pending: true
	// ProposeSelfUpdate while pending: true
	// Send after ClearPendingCommit: <nil>
}

// Carol joins from Bob's GroupInfo with an external commit (RFC 9420,
// Section 12.4.3.2), without a Welcome; Alice processes the commit.
func ExampleClient_JoinExternal() {
	alice, others := exampleGroup(deterministic, "bob")
	gi, err := others[0].GroupInfo(true) // true: the GroupInfo carries the ratchet tree
	if err != nil {
		log.Fatal(err)
	}
	carol, err := mls.NewClient(mls.NewMemoryStorage(), []byte("carol"), deterministic("carol"))
	if err != nil {
		log.Fatal(err)
	}
	g, out, err := carol.JoinExternal(gi, nil)
	if err != nil {
		log.Fatal(err)
	}
	pm, err := alice.ProcessMessage(out.Commit)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("alice sees a new member:", len(pm.Commit.Entering) == 1 && string(pm.Commit.Entering[0].Identity) == "carol")
	if err := alice.MergeStagedCommit(); err != nil {
		log.Fatal(err)
	}
	// Once the delivery service accepted the commit:
	if err := g.MergePendingCommit(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("members:", len(alice.Members()), "epochs agree:", g.Epoch() == alice.Epoch())
	// Output:
	// alice sees a new member: true
	// members: 3 epochs agree: true
}
