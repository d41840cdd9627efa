package transitions_test

import (
	"crypto/sha256"
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
)

// party is one member's slice of the world: its current state and the
// secrets it holds outside the state.
type party struct {
	name  string
	s     state.GroupState
	keys  transitions.KeyStore
	steps int
}

// apply runs one event through the pure core. The seed is derived from the
// member's name and step count here, so the example prints the same output
// every time; a real embedder draws it with system.Seed (package entropy/system) and logs it.
func (p *party) apply(ev transitions.Event) []effects.Effect {
	p.steps++
	seed := sha256.Sum256(fmt.Appendf(nil, "%s/%d", p.name, p.steps))
	env := transitions.Env{Entropy: entropy.FromSeed(seed), Keys: p.keys}
	next, effs, err := transitions.Apply(p.s, ev, env)
	if err != nil {
		panic(err) // the example's events are valid; p.s would be unchanged
	}
	// Persist and delete secrets as the effects say, then adopt the state.
	if p.keys, err = p.keys.With(effs); err != nil {
		panic(err)
	}
	p.s = next
	return effs
}

func first[T effects.Effect](effs []effects.Effect) T {
	for _, e := range effs {
		if x, ok := e.(T); ok {
			return x
		}
	}
	panic(fmt.Sprintf("no %T effect", *new(T)))
}

// Example shows the pure core end to end: Alice creates a group and adds
// Bob, Bob joins from the Welcome, and they exchange a message. Every step
// is Apply(state, event, env) -> (state, effects, error); the core does no
// I/O, reads no clock (At is the event's time) and draws no randomness of
// its own.
func Example() {
	const at = 1767225600 // 2026-01-01, seconds since the Unix epoch
	cs := suite.X25519AES128GCMSHA256Ed25519
	life := codec.Lifetime{NotBefore: at - 3600, NotAfter: at + 90*24*3600}
	cred := func(name string) codec.Credential {
		return codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte(name)}
	}
	alice, bob := &party{name: "alice"}, &party{name: "bob"}

	// Each member draws a signature key; Bob publishes a key package.
	aliceSig := first[effects.SignatureKeyCreated](alice.apply(transitions.NewSignatureKey{At: at, Suite: cs})).PublicKey
	bobSig := first[effects.SignatureKeyCreated](bob.apply(transitions.NewSignatureKey{At: at, Suite: cs})).PublicKey
	kp := first[effects.KeyPackageCreated](bob.apply(transitions.NewKeyPackage{
		At: at, Suite: cs, SignatureKey: bobSig, Credential: cred("bob"), Lifetime: life}))

	// Alice creates the group and commits an Add of Bob's key package.
	alice.apply(transitions.CreateGroup{At: at, Suite: cs, GroupID: []byte("example"),
		SignatureKey: aliceSig, Credential: cred("alice"), Lifetime: life, Config: state.DefaultConfig()})
	msg, err := codec.DecodeMLSMessage(kp.KeyPackage)
	if err != nil {
		panic(err)
	}
	add := codec.Proposal{ProposalType: codec.ProposalAdd, Add: &codec.Add{KeyPackage: *msg.KeyPackage}}
	effs := alice.apply(transitions.Commit{At: at, Inline: []codec.Proposal{add}, RatchetTree: transitions.TreeInclude})
	welcome := first[effects.SendWelcome](effs)
	// The delivery service accepted the commit: Alice merges it.
	alice.apply(transitions.ConfirmCommit{At: at})

	// Bob stages the join (he could inspect the group here), then accepts.
	bob.apply(transitions.JoinWelcome{At: at, Welcome: welcome.Welcome, Config: state.DefaultConfig()})
	bob.apply(transitions.AcceptJoin{At: at})
	fmt.Println("same epoch authenticator:", string(alice.s.EpochAuthenticator()) == string(bob.s.EpochAuthenticator()))

	// Alice protects a message; Bob receives it.
	sent := first[effects.SendToGroup](alice.apply(transitions.Protect{At: at, Data: []byte("hello, bob")}))
	got := first[effects.DeliverApplication](bob.apply(transitions.Receive{At: at, Message: sent.Message}))
	fmt.Printf("bob reads %q from leaf %d in epoch %d\n", got.Data, got.Sender, got.Epoch)
	// Output:
	// same epoch authenticator: true
	// bob reads "hello, bob" from leaf 0 in epoch 1
}
