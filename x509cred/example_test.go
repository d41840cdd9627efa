package x509cred_test

import (
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/x509cred"
	"github.com/mlscore/mlscore/x509cred/x509credtest"
)

// A Validator trusting one root checks a member's certificate chain at
// the time of the event that brings its leaf node in. As a Policy, it
// applies to every leaf node a group sees: key packages, Adds, Updates,
// commit paths, Welcome trees and external joins.
func Example() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pki, err := x509credtest.New(now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0))
	if err != nil {
		panic(err)
	}
	key := x509credtest.Ed25519Key("alice") // the member's MLS signature key
	leaf, err := pki.Issue(x509credtest.Leaf{
		Name: "alice", Key: key.Public(), NotBefore: now, NotAfter: now.AddDate(0, 1, 0),
		KeyUsage: x509.KeyUsageDigitalSignature,
	})
	if err != nil {
		panic(err)
	}
	cred := x509cred.Credential(pki.Chain(leaf)...)
	pub := key.Public().(ed25519.PublicKey)

	v := &x509cred.Validator{Roots: pki.Roots()}
	fmt.Println("today:", v.Validate(now, cred, pub))
	err = v.Validate(now.AddDate(0, 2, 0), cred, pub)
	fmt.Println("in two months, expired:", errors.Is(err, x509cred.ErrExpired))
	err = v.Validate(now, cred, make([]byte, ed25519.PublicKeySize))
	fmt.Println("another key:", errors.Is(err, x509cred.ErrKeyMismatch))

	// The policy of a client (mls.Options.Policy) or of transitions.Env.
	_ = transitions.Policy{AcceptCredentialAt: v.Policy()}
	// Output:
	// today: <nil>
	// in two months, expired: true
	// another key: true
}
