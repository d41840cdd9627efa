package server

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/entropy/system"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
)

// actor is one identity of the interop client and, once it is in a group,
// its state there. It drives the pure core (transitions.Apply) itself,
// as a minimal shell: a fresh seed from the system per event, the secrets
// of PersistSecret/DeleteSecret effects kept in an immutable KeyStore, no
// storage. Every RPC of the test-runner names such an actor by a state,
// transaction, signer or reinit id.
type actor struct {
	suite suite.ID
	cred  codec.Credential
	pub   []byte // signature public key; names the private key in keys
	keys  transitions.KeyStore
	cfg   state.Config
	st    state.GroupState

	// kpRef is the KeyPackageRef of the last key package made for this
	// actor (the transaction of CreateKeyPackage / NewMemberAddProposal).
	kpRef []byte
	// sent maps the proposals this member sent in its current epoch
	// (MLSMessage bytes) to their ProposalRefs: the test-runner hands a
	// member its own proposals back in Commit and HandleCommit, and a
	// member cannot process its own message.
	sent map[string][]byte
}

func now() uint64 { return uint64(time.Now().Unix()) }

// lifetime is the validity of key packages and leaves: from an hour ago
// for 90 days, as the shell's default.
func lifetime() codec.Lifetime {
	t := now()
	return codec.Lifetime{NotBefore: t - 3600, NotAfter: t + 90*24*3600}
}

// groupConfig is the configuration of every group an actor creates or
// joins: handshake messages framed as the test-runner asks, both framings
// accepted (external proposals and external commits are PublicMessages
// whatever the group's policy), the ratchet tree in Welcomes unless a
// commit says otherwise, two past epochs for late application messages
// and the resumption PSKs of sixteen past epochs.
func groupConfig(encrypt bool) state.Config {
	c := state.DefaultConfig()
	if encrypt {
		c.WireFormat = state.MixedCiphertext
	} else {
		c.WireFormat = state.MixedPlaintext
	}
	c.MaxPastEpochs = 2
	c.ResumptionPSKs = 16
	c.RatchetTreeExtension = true
	return c
}

// newActor creates an identity with a fresh signature key of cs and a
// basic credential for identity.
func newActor(cs suite.ID, identity []byte) (*actor, error) {
	a, _, err := newActorWithSecrets(cs, identity)
	return a, err
}

// clone returns a copy of the actor that shares nothing mutable with it
// (the key store and the state are immutable values).
func (a *actor) clone() *actor {
	b := *a
	b.sent = nil
	return &b
}

// apply runs ev through the core on the actor's state and carries out
// the effects that concern the actor's secrets. On error nothing changes.
func (a *actor) apply(ev transitions.Event, pol transitions.Policy) ([]effects.Effect, error) {
	env := transitions.Env{Entropy: entropy.FromSeed(system.Seed()), Keys: a.keys, Policy: pol}
	before := a.st.Epoch()
	next, effs, err := transitions.Apply(a.st, ev, env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", transitions.Name(ev), err)
	}
	ks, err := a.keys.With(effs)
	if err != nil {
		return nil, err
	}
	a.st, a.keys = next, ks
	if a.st.Epoch() != before {
		a.sent = nil
	}
	return effs, nil
}

// signaturePriv returns the actor's signature private key, as the
// CreateKeyPackage and NewMemberAddProposal responses report it.
func signaturePriv(effs []effects.Effect, pub []byte) []byte {
	for _, e := range effs {
		if p, ok := e.(effects.PersistSecret); ok && p.Ref.Kind == effects.SecretSignatureKey && bytes.Equal(p.Ref.ID, pub) && len(p.Secret) >= 2 {
			return bytes.Clone(p.Secret[2:]) // uint16 suite, then the key
		}
	}
	return nil
}

// keyPackage makes a key package for the actor. It returns the
// MLSMessage(KeyPackage) and the bundle's private keys.
func (a *actor) keyPackage() (kp []byte, bundle transitions.KeyPackageBundle, err error) {
	effs, err := a.apply(transitions.NewKeyPackage{
		At: now(), Suite: a.suite, SignatureKey: a.pub, Credential: a.cred, Lifetime: lifetime(),
	}, transitions.Policy{})
	if err != nil {
		return nil, bundle, err
	}
	for _, e := range effs {
		switch e := e.(type) {
		case effects.KeyPackageCreated:
			kp, a.kpRef = e.KeyPackage, e.Ref
		case effects.PersistSecret:
			if e.Ref.Kind == effects.SecretKeyPackage {
				if bundle, err = transitions.DecodeKeyPackageBundle(e.Secret); err != nil {
					return nil, bundle, err
				}
			}
		}
	}
	if kp == nil {
		return nil, bundle, errors.New("no key package created")
	}
	return kp, bundle, nil
}

// sentMessage returns the message of the SendToGroup effect.
func sentMessage(effs []effects.Effect) []byte {
	for _, e := range effs {
		if s, ok := e.(effects.SendToGroup); ok {
			return s.Message
		}
	}
	return nil
}

// welcomeOf returns the Welcome of the SendWelcome effect.
func welcomeOf(effs []effects.Effect) []byte {
	for _, e := range effs {
		if s, ok := e.(effects.SendWelcome); ok {
			return s.Welcome
		}
	}
	return nil
}

// propose sends a proposal by reference and remembers it as the actor's own.
func (a *actor) propose(p codec.Proposal) ([]byte, error) {
	known := map[string]bool{}
	for _, sp := range a.st.PendingProposals() {
		known[string(sp.Ref)] = true
	}
	effs, err := a.apply(transitions.Propose{At: now(), Proposal: p}, transitions.Policy{})
	if err != nil {
		return nil, err
	}
	msg := sentMessage(effs)
	if msg == nil {
		return nil, errors.New("proposal sent nothing")
	}
	var ref []byte
	for _, sp := range a.st.PendingProposals() {
		if !known[string(sp.Ref)] {
			ref = sp.Ref
		}
	}
	if a.sent == nil {
		a.sent = map[string][]byte{}
	}
	a.sent[string(msg)] = ref
	return msg, nil
}

// receiveProposal processes a proposal sent by someone else (a member, an
// external sender or a new member) and returns its ProposalRef. The
// actor's own proposals are recognised and not processed again.
func (a *actor) receiveProposal(msg []byte) ([]byte, error) {
	if ref, ok := a.sent[string(msg)]; ok {
		return ref, nil
	}
	effs, err := a.apply(transitions.Receive{At: now(), Message: msg}, transitions.Policy{})
	if err != nil {
		return nil, err
	}
	for _, e := range effs {
		if p, ok := e.(effects.ProposalReceived); ok {
			return p.Ref, nil
		}
	}
	return nil, errors.New("message is not a proposal")
}

// leafOf returns the leaf of the member whose basic credential has the
// given identity.
func (a *actor) leafOf(identity []byte) (codec.Remove, error) {
	for i, ln := range a.st.Members() {
		if bytes.Equal(ln.Credential.Identity, identity) {
			return codec.Remove{Removed: i}, nil
		}
	}
	return codec.Remove{}, fmt.Errorf("no member with identity %q", identity)
}
