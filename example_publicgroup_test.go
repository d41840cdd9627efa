package mls_test

import (
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/valsem"
)

// A delivery service follows Alice's group from its GroupInfo without any
// of the group's secrets: it validates each commit before relaying it,
// tracks the members, rejects a forged commit with the members' typed
// error, and hands the current GroupInfo to a client joining from outside.
func ExamplePublicGroup() {
	// The group sends its handshake messages as PublicMessages, which the
	// delivery service can read, and every commit comes with a GroupInfo
	// carrying the ratchet tree.
	cfg := state.DefaultConfig()
	cfg.WireFormat, cfg.RatchetTreeExtension = state.MixedPlaintext, true
	newClient := func(name string) *mls.Client {
		opts := deterministic(name)
		opts.Config, opts.PublishGroupInfo = &cfg, true
		c, err := mls.NewClient(mls.NewMemoryStorage(), []byte(name), opts)
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	alice, bob, carol := newClient("alice"), newClient("bob"), newClient("carol")
	group, err := alice.CreateGroup(&mls.GroupOptions{GroupID: []byte("followed")})
	if err != nil {
		log.Fatal(err)
	}
	gi, err := group.GroupInfo(true)
	if err != nil {
		log.Fatal(err)
	}
	clock := func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }
	ds, err := mls.NewPublicGroup(gi, nil, &mls.PublicGroupOptions{Config: &cfg, Clock: clock})
	if err != nil {
		log.Fatal(err)
	}

	// Alice adds Bob and Carol: the delivery service validates the commit,
	// keeps the GroupInfo that came with it, and Alice merges.
	kb, err := bob.KeyPackage()
	if err != nil {
		log.Fatal(err)
	}
	kc, err := carol.KeyPackage()
	if err != nil {
		log.Fatal(err)
	}
	out, err := group.AddMembers(kb, kc)
	if err != nil {
		log.Fatal(err)
	}
	res, err := ds.ProcessMessage(out.Commit)
	if err != nil {
		log.Fatal(err)
	}
	if err := ds.SetGroupInfo(out.GroupInfo); err != nil {
		log.Fatal(err)
	}
	if err := group.MergePendingCommit(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s to epoch %d adds leaves %v\n", res.Kind, res.Commit.Epoch, res.Commit.Added)
	for _, m := range ds.Members() {
		fmt.Printf("leaf %d: %s\n", m.Index, m.Identity)
	}
	fmt.Println("same public state as alice:", ds.PublicDigest() == group.State().PublicDigest())

	// A commit replayed from an earlier epoch is rejected with the error
	// every member would give, and changes nothing.
	_, err = ds.ProcessMessage(out.Commit)
	fmt.Println("replayed commit rejected:", errors.Is(err, valsem.ValSem003), "epoch still", ds.Epoch())

	// Dave joins from outside with the GroupInfo the delivery service
	// kept; his external commit is validated like any other.
	dave := newClient("dave")
	joinInfo, _ := ds.GroupInfo()
	_, ext, err := dave.JoinExternal(joinInfo, nil)
	if err != nil {
		log.Fatal(err)
	}
	res, err = ds.ProcessMessage(ext.Commit)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("external commit by %s: leaf %d joins, %d members\n", res.Sender.SenderType, res.Commit.Committer, len(ds.Members()))
	// Output:
	// commit to epoch 1 adds leaves [1 2]
	// leaf 0: alice
	// leaf 1: bob
	// leaf 2: carol
	// same public state as alice: true
	// replayed commit rejected: true epoch still 1
	// external commit by new_member_commit: leaf 3 joins, 4 members
}
