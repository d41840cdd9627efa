package mls_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"log"
	"time"

	"github.com/mlscore/mlscore"
)

// deterministic makes the example's output reproducible: a fixed clock and
// a seed sequence in place of the system's randomness. Production code
// passes nil options.
func deterministic(name string) *mls.Options {
	n := 0
	return &mls.Options{
		Clock: func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) },
		Seed: func() [32]byte {
			n++
			return sha256.Sum256(fmt.Appendf(nil, "%s %d", name, n))
		},
	}
}

// Alice creates a group, adds Bob, and they exchange messages; Bob
// updates his keys; both derive the same exported secret.
func Example() {
	// Each client keeps its keys and groups in a Storage: here in memory,
	// mls.OpenDirStorage(dir) for files.
	alice, err := mls.NewClient(mls.NewMemoryStorage(), []byte("alice"), deterministic("alice"))
	if err != nil {
		log.Fatal(err)
	}
	bob, err := mls.NewClient(mls.NewMemoryStorage(), []byte("bob"), deterministic("bob"))
	if err != nil {
		log.Fatal(err)
	}

	// Bob publishes a key package; Alice creates a group and adds him.
	kp, err := bob.KeyPackage()
	if err != nil {
		log.Fatal(err)
	}
	group, err := alice.CreateGroup(&mls.GroupOptions{GroupID: []byte("example")})
	if err != nil {
		log.Fatal(err)
	}
	out, err := group.AddMembers(kp)
	if err != nil {
		log.Fatal(err)
	}
	// out.Commit goes to the group's members (none yet besides Alice);
	// once the delivery service accepted it, Alice merges it and sends
	// out.Welcome to Bob, with the ratchet tree.
	if err := group.MergePendingCommit(); err != nil {
		log.Fatal(err)
	}
	tree, err := group.RatchetTree()
	if err != nil {
		log.Fatal(err)
	}
	welcome, err := bob.StageWelcome(out.Welcome, tree, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("bob is invited to %q by %s\n", welcome.GroupID(), welcome.Sender().Identity)
	bobsGroup, err := welcome.Accept()
	if err != nil {
		log.Fatal(err)
	}

	// Messages both ways.
	msg, err := group.Send([]byte("hi bob"))
	if err != nil {
		log.Fatal(err)
	}
	pm, err := bobsGroup.ProcessMessage(msg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("bob reads %q from leaf %d\n", pm.Data, pm.Sender.LeafIndex)
	msg, err = bobsGroup.Send([]byte("hi alice"))
	if err != nil {
		log.Fatal(err)
	}
	if pm, err = group.ProcessMessage(msg); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("alice reads %q from leaf %d\n", pm.Data, pm.Sender.LeafIndex)

	// Bob updates his keys; Alice inspects the staged commit and merges it.
	out, err = bobsGroup.SelfUpdate()
	if err != nil {
		log.Fatal(err)
	}
	if pm, err = group.ProcessMessage(out.Commit); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("alice staged a %s from leaf %d\n", pm.Kind, pm.Sender.LeafIndex)
	if err := group.MergeStagedCommit(); err != nil {
		log.Fatal(err)
	}
	if err := bobsGroup.MergePendingCommit(); err != nil {
		log.Fatal(err)
	}

	a, _ := group.Export("example", nil, 16)
	b, _ := bobsGroup.Export("example", nil, 16)
	fmt.Printf("epoch %d, %d members, same exported secret: %v\n", group.Epoch(), len(group.Members()), bytes.Equal(a, b))
	fmt.Printf("same epoch authenticator: %v\n", bytes.Equal(group.EpochAuthenticator(), bobsGroup.EpochAuthenticator()))
	// Output:
	// bob is invited to "example" by alice
	// bob reads "hi bob" from leaf 0
	// alice reads "hi alice" from leaf 1
	// alice staged a commit from leaf 1
	// epoch 2, 2 members, same exported secret: true
	// same epoch authenticator: true
}
