package mls

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/valsem"
)

// TestKeyPackageWith checks per-key-package extensions, leaf extensions,
// capabilities and lifetime, and that the adder checks them as RFC 9420,
// Sections 7.3 and 10.1 ask.
func TestKeyPackageWith(t *testing.T) {
	const appExt codec.ExtensionType = 0xff00
	const kpExt codec.ExtensionType = 0xff01
	withExt := codec.Capabilities{Extensions: []codec.ExtensionType{appExt}}
	rc, err := codec.RequiredCapabilities{ExtensionTypes: []codec.ExtensionType{appExt}}.Encode()
	check(t, err)

	alice, bob := newParty(t, backends[0], "alice"), newParty(t, backends[0], "bob")
	alice.c.opts.Capabilities = withExt
	alice.g = must[*Group](t)(alice.c.CreateGroup(&GroupOptions{
		Extensions: codec.Extensions{{ExtensionType: codec.ExtensionRequiredCapabilities, ExtensionData: rc}},
	}))

	// Bob's default key package lacks the required extension: ValSem106.
	plain := must[[]byte](t)(bob.c.KeyPackage())
	if _, err := alice.g.AddMembers(plain); !errors.Is(err, valsem.ValSem106) {
		t.Fatalf("adding a key package without the required capability: %v, want ValSem106", err)
	}

	// A leaf extension not listed in the leaf's capabilities: refused at
	// creation, as every receiver would refuse it.
	_, err = bob.c.KeyPackageWith(&KeyPackageOptions{LeafExtensions: codec.Extensions{{ExtensionType: appExt, ExtensionData: []byte("x")}}})
	if !errors.Is(err, transitions.ErrInvalidLeafNode) {
		t.Fatalf("leaf extension outside the capabilities: %v, want ErrInvalidLeafNode", err)
	}

	// With the capability, the leaf extension and a key package extension.
	kp := must[[]byte](t)(bob.c.KeyPackageWith(&KeyPackageOptions{
		Capabilities:   &withExt,
		LeafExtensions: codec.Extensions{{ExtensionType: appExt, ExtensionData: []byte("leaf data")}},
		Extensions:     codec.Extensions{{ExtensionType: kpExt, ExtensionData: []byte("kp data")}},
		Lifetime:       2 * time.Hour,
	}))
	m, err := codec.DecodeMLSMessage(kp)
	check(t, err)
	k := m.KeyPackage
	if e, ok := k.Extensions.Find(kpExt); !ok || string(e.ExtensionData) != "kp data" {
		t.Errorf("key package extensions %+v lack %#x", k.Extensions, kpExt)
	}
	if got, want := k.LeafNode.Lifetime.NotAfter, uint64(testTime.Add(2*time.Hour).Unix()); got != want {
		t.Errorf("not_after %d, want %d", got, want)
	}
	if k.LeafNode.Lifetime.NotBefore != uint64(testTime.Add(-time.Hour).Unix()) {
		t.Errorf("not_before %d, want an hour before creation", k.LeafNode.Lifetime.NotBefore)
	}

	// The lifetime is checked at the adder's time: three hours later the
	// key package has expired.
	alice.c.opts.Clock = func() time.Time { return testTime.Add(3 * time.Hour) }
	if _, err := alice.g.AddMembers(kp); !errors.Is(err, transitions.ErrInvalidLeafNode) {
		t.Fatalf("adding an expired key package: %v, want ErrInvalidLeafNode", err)
	}
	alice.c.opts.Clock = fixedClock
	out := must[Outgoing](t)(alice.g.AddMembers(kp))
	check(t, alice.g.MergePendingCommit())
	bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))
	for _, g := range []*Group{alice.g, bob.g} {
		for i, ln := range g.State().Members() {
			if i != 1 {
				continue
			}
			if e, ok := ln.Extensions.Find(appExt); !ok || !bytes.Equal(e.ExtensionData, []byte("leaf data")) {
				t.Errorf("bob's leaf extensions %+v lack %#x", ln.Extensions, appExt)
			}
		}
	}
	if len(alice.g.Members()) != 2 {
		t.Fatalf("%d members, want 2", len(alice.g.Members()))
	}

	if _, err := bob.c.KeyPackageWith(&KeyPackageOptions{Lifetime: -time.Hour}); err == nil {
		t.Error("a negative lifetime was accepted")
	}
}
