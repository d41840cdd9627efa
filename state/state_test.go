package state_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
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
	run := func() (state.GroupState, state.GroupState) {
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
	a0, a1 := run()
	b0, b1 := run()
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
