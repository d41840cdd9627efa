package state_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
)

func TestZeroState(t *testing.T) {
	var s state.GroupState
	if s.InGroup() || s.Active() || s.Epoch() != 0 || s.GroupID() != nil || s.EpochAuthenticator() != nil {
		t.Fatal("zero state claims a group")
	}
	if _, ok := s.StagedJoin(); ok {
		t.Fatal("zero state has a staged join")
	}
	if s.Digest() != (state.GroupState{}).Digest() {
		t.Fatal("zero digests differ")
	}
	if v := s.View(); v.InGroup || v.Members != nil {
		t.Fatalf("zero view: %+v", v)
	}
}

// TestDigestAndView creates a group and checks that the digest and the
// view follow the state, and that equal histories give equal digests.
func TestDigestAndView(t *testing.T) {
	a0, a1 := createAndProtect(t)
	b0, b1 := createAndProtect(t)
	if a0.Digest() != b0.Digest() || a1.Digest() != b1.Digest() {
		t.Fatal("equal histories, different digests")
	}
	if a0.Digest() == a1.Digest() {
		t.Fatal("consuming a ratchet key did not change the digest")
	}
	if d := cmp.Diff(a1.View(), b1.View()); d != "" {
		t.Fatal(d)
	}
	v := a1.View()
	if !v.Active || v.Epoch != 0 || len(v.Members) != 1 || v.Members[0].Credential != "a" || len(v.Ratchets) != 1 {
		t.Fatalf("view: %+v", v)
	}
}

// createAndProtect creates a one-member group (s0) and protects one
// application message in it (s1), from fixed seeds.
func createAndProtect(t *testing.T) (state.GroupState, state.GroupState) {
	env := func(b byte, k transitions.KeyStore) transitions.Env {
		return transitions.Env{Entropy: entropy.FromSeed([32]byte{b}), Keys: k}
	}
	_, effs, err := transitions.Apply(state.GroupState{}, transitions.NewSignatureKey{At: 1, Suite: 1}, env(1, transitions.KeyStore{}))
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := transitions.KeyStore{}.With(effs)
	var pub []byte
	for _, e := range effs {
		if c, ok := e.(effects.SignatureKeyCreated); ok {
			pub = c.PublicKey
		}
	}
	s0, _, err := transitions.Apply(state.GroupState{}, transitions.CreateGroup{At: 10, Suite: 1, SignatureKey: pub,
		Credential: codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte("a")},
		Lifetime:   codec.Lifetime{NotBefore: 0, NotAfter: 100}, Config: state.DefaultConfig()}, env(2, ks))
	if err != nil {
		t.Fatal(err)
	}
	s1, _, err := transitions.Apply(s0, transitions.Protect{At: 10, Data: []byte("x")}, env(3, ks))
	if err != nil {
		t.Fatal(err)
	}
	return s0, s1
}

// TestWithSecrets: replacing the secret tree gives the state the protect
// path would build from the same tree, shares nothing writable, leaves the
// receiver unchanged, and needs a group.
func TestWithSecrets(t *testing.T) {
	s0, s1 := createAndProtect(t)
	d0 := s0.Digest()
	got, err := s0.WithSecrets(core.K(), s1.Private().Secrets)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest() != s1.Digest() {
		t.Fatal("WithSecrets(s1's tree) differs from s1")
	}
	if s0.Digest() != d0 {
		t.Fatal("WithSecrets changed its receiver")
	}
	if d := cmp.Diff(s1.View(), got.View()); d != "" {
		t.Fatal(d)
	}
	if _, err := (state.GroupState{}).WithSecrets(core.K(), s1.Private().Secrets); !errors.Is(err, state.ErrInvariant) {
		t.Fatalf("WithSecrets on the zero state: %v", err)
	}
}

// TestSharedGroupContextBytes: the shared encoding is the copied one,
// clipped so that appending to it cannot write into the state.
func TestSharedGroupContextBytes(t *testing.T) {
	s0, _ := createAndProtect(t)
	b := s0.SharedGroupContextBytes(core.K())
	if !bytes.Equal(b, s0.GroupContextBytes()) || len(b) == 0 {
		t.Fatalf("shared %x, copied %x", b, s0.GroupContextBytes())
	}
	if cap(b) != len(b) {
		t.Fatalf("shared encoding has capacity %d past its %d bytes", cap(b), len(b))
	}
	if (state.GroupState{}).SharedGroupContextBytes(core.K()) != nil {
		t.Fatal("zero state has a GroupContext")
	}
}
