package mls_test

import (
	"fmt"
	"log"
	"time"

	"github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/codec"
)

// A client publishes a key package with its own lifetime, a key package
// extension and an application-defined leaf extension, which it lists in
// the leaf's capabilities; once added, every member sees the leaf
// extension in the tree.
func ExampleClient_KeyPackageWith() {
	const profile codec.ExtensionType = 0xff00 // private use
	bob, err := mls.NewClient(mls.NewMemoryStorage(), []byte("bob"), deterministic("bob"))
	if err != nil {
		log.Fatal(err)
	}
	kp, err := bob.KeyPackageWith(&mls.KeyPackageOptions{
		Capabilities:   &codec.Capabilities{Extensions: []codec.ExtensionType{profile}},
		LeafExtensions: codec.Extensions{{ExtensionType: profile, ExtensionData: []byte("bob's profile")}},
		Extensions:     codec.Extensions{{ExtensionType: 0xff01, ExtensionData: []byte("for the adder")}},
		Lifetime:       7 * 24 * time.Hour,
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := codec.DecodeMLSMessage(kp)
	if err != nil {
		log.Fatal(err)
	}
	lt := m.KeyPackage.LeafNode.Lifetime
	fmt.Printf("valid for %v\n", time.Duration(lt.NotAfter-lt.NotBefore)*time.Second)

	alice, err := mls.NewClient(mls.NewMemoryStorage(), []byte("alice"), deterministic("alice"))
	if err != nil {
		log.Fatal(err)
	}
	group, err := alice.CreateGroup(nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := group.AddMembers(kp); err != nil {
		log.Fatal(err)
	}
	if err := group.MergePendingCommit(); err != nil {
		log.Fatal(err)
	}
	for i, leaf := range group.State().Members() {
		if e, ok := leaf.Extensions.Find(profile); ok {
			fmt.Printf("leaf %d: %s\n", i, e.ExtensionData)
		}
	}
	// Output:
	// valid for 169h0m0s
	// leaf 1: bob's profile
}
