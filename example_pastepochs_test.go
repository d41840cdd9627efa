package mls_test

import (
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/valsem"
)

// A message Alice sends just before Bob's commit reaches Bob after he
// merged it: the default configuration keeps the previous epoch for
// mls.DefaultPastEpochAge, so Bob reads it; past that age the epoch's
// secrets are gone and the message fails with ValSem003.
func ExampleDefaultConfig() {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	opts := func(name string) *mls.Options {
		o := deterministic(name)
		o.Clock = func() time.Time { return now }
		return o
	}
	alice, others := exampleGroup(opts, "bob")
	bob := others[0]

	first, _ := alice.Send([]byte("sent before the commit"))
	second, _ := alice.Send([]byte("also sent before the commit"))
	out, err := bob.SelfUpdate()
	if err != nil {
		log.Fatal(err)
	}
	if err := bob.MergePendingCommit(); err != nil {
		log.Fatal(err)
	}
	if _, err := alice.ProcessMessage(out.Commit); err != nil {
		log.Fatal(err)
	}
	if err := alice.MergeStagedCommit(); err != nil {
		log.Fatal(err)
	}

	pm, err := bob.ProcessMessage(first)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("bob reads %q in epoch %d\n", pm.Data, bob.Epoch())

	now = now.Add(mls.DefaultPastEpochAge + time.Second)
	_, err = bob.ProcessMessage(second)
	fmt.Println(errors.Is(err, valsem.ValSem003))
	fmt.Println(err)
	// Output:
	// bob reads "sent before the commit" in epoch 2
	// true
	// mls: ValSem003: message for epoch 1, which ended 301 s ago; past epochs are kept for application messages for 300 s (state.Config.MaxPastEpochAge)
}
