package mls_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/codec"
)

// A member replaces its credential and signature key in one group: a
// commit with a path (SelfUpdateWith; ProposeSelfUpdateWith makes an
// Update proposal instead). The commit is signed with the old key, the
// new leaf with the new one; the member signs with the new key once the
// commit is merged.
func ExampleGroup_SelfUpdateWith() {
	group, others := exampleGroup(deterministic, "bob")
	bob := others[0]
	oldKey := bob.Members()[1].SignatureKey

	cred := codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte("bob@laptop")}
	out, err := bob.SelfUpdateWith(mls.LeafUpdate{Credential: &cred, NewSignatureKey: true})
	if err != nil {
		log.Fatal(err)
	}
	pm, err := group.ProcessMessage(out.Commit)
	if err != nil {
		log.Fatal(err)
	}
	if err := group.MergeStagedCommit(); err != nil {
		log.Fatal(err)
	}
	if err := bob.MergePendingCommit(); err != nil {
		log.Fatal(err)
	}
	leaf := group.Members()[pm.Sender.LeafIndex]
	fmt.Printf("leaf %d is now %s, new signature key: %v\n", leaf.Index, leaf.Identity, !bytes.Equal(leaf.SignatureKey, oldKey))

	msg, err := bob.Send([]byte("signed with the new key"))
	if err != nil {
		log.Fatal(err)
	}
	if pm, err = group.ProcessMessage(msg); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("alice reads %q\n", pm.Data)
	// Output:
	// leaf 1 is now bob@laptop, new signature key: true
	// alice reads "signed with the new key"
}
