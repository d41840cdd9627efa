package transitions

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
)

// testAt is the fixed event time of the tests (2025-01-01).
const testAt = 1735689600

var testLifetime = codec.Lifetime{NotBefore: testAt - 3600, NotAfter: testAt + 90*24*3600}

// world is a small deterministic group harness: members, their states and
// key stores, and helpers that run whole flows through Apply, checking the
// contract (input digest unchanged, effects sorted) on every call.
// tb is what the harness needs of a test: *testing.T and a wrapped
// *rapid.T both provide it.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

type world struct {
	t       tb
	name    string
	cs      suite.ID
	cfg     state.Config
	seq     uint64
	members []*member
	tree    TreeOption
	caps    codec.Capabilities // capabilities of every leaf (defaults if empty)
	gce     codec.Extensions   // group context extensions at creation
	// observe, if set, sees every group message deliver hands out (a
	// PublicGroup following the group).
	observe func(from *member, msg []byte)
	// light skips check's application message round (O(n²) messages), for
	// large groups: the members' agreement is still checked.
	light bool
}

type member struct {
	name string
	s    state.GroupState
	keys KeyStore
	sig  []byte
}

func newWorld(t testing.TB, cs suite.ID, cfg state.Config) *world {
	return &world{t: t, name: t.Name(), cs: cs, cfg: cfg, tree: TreeInclude}
}

func (w *world) env(m *member) Env {
	w.seq++
	h := sha256.New()
	h.Write([]byte(w.name))
	h.Write([]byte(m.name))
	binary.Write(h, binary.BigEndian, w.seq)
	var seed [32]byte
	copy(seed[:], h.Sum(nil))
	return Env{Entropy: entropy.FromSeed(seed), Keys: m.keys}
}

// apply runs ev on m, checks the contract, and on success adopts the new
// state and the key store changes.
func (w *world) apply(m *member, ev Event) ([]effects.Effect, error) {
	w.t.Helper()
	before := m.s.Digest()
	next, effs, err := Apply(m.s, ev, w.env(m))
	if after := m.s.Digest(); after != before {
		w.t.Fatalf("%s: %s changed its input state", m.name, Name(ev))
	}
	if !effects.Sorted(effs) {
		w.t.Fatalf("%s: %s: effects not sorted", m.name, Name(ev))
	}
	if err != nil {
		if effs != nil || next.Digest() != before {
			w.t.Fatalf("%s: %s failed but returned effects or a new state", m.name, Name(ev))
		}
		return nil, err
	}
	ks, err2 := m.keys.With(effs)
	if err2 != nil {
		w.t.Fatalf("%s: key store: %v", m.name, err2)
	}
	m.s, m.keys = next, ks
	return effs, nil
}

func (w *world) must(m *member, ev Event) []effects.Effect {
	w.t.Helper()
	effs, err := w.apply(m, ev)
	if err != nil {
		w.t.Fatalf("%s: %s: %v", m.name, Name(ev), err)
	}
	return effs
}

func (w *world) newMember(name string) *member {
	w.t.Helper()
	m := &member{name: name}
	effs := w.must(m, NewSignatureKey{At: testAt, Suite: w.cs})
	sk, _ := effects.Find[effects.SignatureKeyCreated](effs)
	m.sig = sk.PublicKey
	return m
}

func (w *world) credential(m *member) codec.Credential {
	return codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte(m.name)}
}

// keyPackage makes m publish a key package and returns it.
func (w *world) keyPackage(m *member) codec.KeyPackage {
	w.t.Helper()
	effs := w.must(m, NewKeyPackage{At: testAt, Suite: w.cs, SignatureKey: m.sig, Credential: w.credential(m), Lifetime: testLifetime, Capabilities: w.caps})
	kc, _ := effects.Find[effects.KeyPackageCreated](effs)
	msg, err := codec.DecodeMLSMessage(kc.KeyPackage)
	if err != nil {
		w.t.Fatal(err)
	}
	return *msg.KeyPackage
}

func (w *world) create(name string) *member {
	w.t.Helper()
	m := w.newMember(name)
	w.must(m, CreateGroup{At: testAt, Suite: w.cs, GroupID: []byte("group-" + name), SignatureKey: m.sig,
		Credential: w.credential(m), Lifetime: testLifetime, Config: w.cfg, Capabilities: w.caps, GroupContextExtensions: w.gce})
	w.members = append(w.members, m)
	return m
}

func (w *world) byName(name string) *member {
	for _, m := range w.members {
		if m.name == name {
			return m
		}
	}
	w.t.Fatalf("no member %s", name)
	return nil
}

// deliver hands a group message to every active member but the sender and
// the excluded ones; commits are staged and merged.
func (w *world) deliver(from *member, msg []byte, exclude ...*member) []effects.Effect {
	w.t.Helper()
	if w.observe != nil {
		w.observe(from, msg)
	}
	var all []effects.Effect
	for _, m := range w.members {
		if m == from || !m.s.Active() || containsT(exclude, m) {
			continue
		}
		effs := w.must(m, Receive{At: testAt, Message: msg})
		all = append(all, effs...)
		if _, ok := effects.Find[effects.CommitStaged](effs); ok {
			all = append(all, w.must(m, MergeStaged{At: testAt})...)
		}
	}
	return all
}

// commit makes c commit (inline proposals plus stored ones), delivers the
// commit, confirms it, and lets the new members join. joiners are the
// members whose key packages the inline Adds carry, in order.
func (w *world) commit(c *member, ev Commit, joiners ...*member) {
	w.t.Helper()
	ev.At = testAt
	if ev.RatchetTree == TreeByConfig {
		ev.RatchetTree = w.tree
	}
	effs := w.must(c, ev)
	send, _ := effects.Find[effects.SendToGroup](effs)
	w.deliver(c, send.Message, joiners...)
	w.must(c, ConfirmCommit{At: testAt})
	if len(joiners) > 0 {
		wel, ok := effects.Find[effects.SendWelcome](effs)
		if !ok {
			w.t.Fatal("no welcome")
		}
		var rt []byte
		if ev.RatchetTree == TreeOmit {
			var err error
			if rt, err = c.s.Tree().Encode(); err != nil {
				w.t.Fatal(err)
			}
		}
		for _, j := range joiners {
			w.must(j, JoinWelcome{At: testAt, Welcome: wel.Welcome, RatchetTree: rt, Config: w.cfg})
			w.must(j, AcceptJoin{At: testAt})
			w.members = append(w.members, j)
		}
	}
	w.check()
}

// add makes c add new members by name in one commit.
func (w *world) add(c *member, names ...string) []*member {
	w.t.Helper()
	var joiners []*member
	var props []codec.Proposal
	for _, n := range names {
		j := w.newMember(n)
		kp := w.keyPackage(j)
		props = append(props, codec.Proposal{ProposalType: codec.ProposalAdd, Add: &codec.Add{KeyPackage: kp}})
		joiners = append(joiners, j)
	}
	w.commit(c, Commit{Inline: props}, joiners...)
	return joiners
}

// check asserts that all active members agree on the epoch, the epoch
// authenticator, the tree hash and the group context, and that each can
// read every other's application message.
func (w *world) check() {
	w.t.Helper()
	var ref *member
	for _, m := range w.members {
		if !m.s.Active() {
			continue
		}
		if ref == nil {
			ref = m
			continue
		}
		if m.s.Epoch() != ref.s.Epoch() || !bytes.Equal(m.s.EpochAuthenticator(), ref.s.EpochAuthenticator()) ||
			!bytes.Equal(m.s.GroupContextBytes(), ref.s.GroupContextBytes()) || !bytes.Equal(m.s.Tree().Hash(), ref.s.Tree().Hash()) {
			w.t.Fatalf("%s and %s disagree: epochs %d/%d", m.name, ref.name, m.s.Epoch(), ref.s.Epoch())
		}
	}
	if w.light {
		return
	}
	for _, m := range w.members {
		if !m.s.Active() {
			continue
		}
		text := []byte(fmt.Sprintf("hello from %s in epoch %d", m.name, m.s.Epoch()))
		effs := w.must(m, Protect{At: testAt, Data: text, AAD: []byte("aad")})
		send, _ := effects.Find[effects.SendToGroup](effs)
		got := w.deliver(m, send.Message)
		n := 0
		for _, e := range got {
			if d, ok := e.(effects.DeliverApplication); ok {
				if !bytes.Equal(d.Data, text) || d.Sender != m.s.OwnLeaf() || !bytes.Equal(d.AAD, []byte("aad")) {
					w.t.Fatalf("delivery of %s's message: %+v", m.name, d)
				}
				n++
			}
		}
		if want := w.active() - 1; n != want {
			w.t.Fatalf("%s's message delivered %d times, want %d", m.name, n, want)
		}
	}
}

func (w *world) active() int {
	n := 0
	for _, m := range w.members {
		if m.s.Active() {
			n++
		}
	}
	return n
}

func mustIs(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func entropySeed(i byte) entropy.Source { return entropy.FromSeed([32]byte{i}) }
