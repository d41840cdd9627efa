package props

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/treemath"
)

// At is the time of every event of a generated history (2025-01-01, in
// seconds since the Unix epoch); key package lifetimes cover it.
const At = 1735689600

// ExtCustom is a non-default extension type that generated groups may
// require (Options.RequiredCapabilities) and that every generated leaf then
// supports.
const ExtCustom codec.ExtensionType = 0xff00

// PropCustom is a custom proposal type that every generated leaf supports
// when Options.CustomProposal is set.
const PropCustom codec.ProposalType = 0xff01

var lifetime = codec.Lifetime{NotBefore: At - 3600, NotAfter: At + 90*24*3600}

// Options shape a generated group history. The zero value gives suites 1
// to 3, 2 to 8 members and up to 4 random operations after the group has
// grown.
type Options struct {
	Suites     []suite.ID // cipher suites to draw from; default 1, 2, 3
	MinMembers int        // active members at least (default 2)
	MaxMembers int        // active members at most (default 8)
	MaxOps     int        // random operations after growing (default 4)
	// RequiredCapabilities makes the group context require ExtCustom
	// (every generated leaf supports it).
	RequiredCapabilities bool
	// CustomProposal makes every generated leaf support PropCustom.
	CustomProposal bool
	// Plaintext makes every member send handshake messages as
	// PublicMessage; otherwise each member's outgoing wire format is drawn.
	Plaintext bool
	// TreeOmit leaves the ratchet tree out of Welcome messages; joiners get
	// it out of band.
	TreeOmit bool
	// ExternalPSK gives every client an external PSK with id PSKID.
	ExternalPSK bool
	// OnApply is installed as the World's OnApply before the first event.
	OnApply func(m *Member, before state.GroupState, ev transitions.Event, seed [32]byte, next state.GroupState, effs []effects.Effect, err error)
}

// PSKID is the psk_id of the external PSK that Options.ExternalPSK hands
// every client.
var PSKID = []byte("props-external-psk")

// World is a generated group: every client ever created with its state and
// key store, driven through transitions.Apply. Every Apply of the world
// checks the core contract (the input state's digest unchanged, effects
// sorted by phase, a failure returns the input state and no effects) and
// fails the test on a violation, so every generated history is also a test
// of those invariants.
type World struct {
	t       TB
	Suite   suite.ID
	CS      *suite.Suite
	Clients []*Member // every client, in creation order
	opts    Options
	caps    codec.Capabilities
	gce     codec.Extensions
	seed    uint64
	seq     uint64
	pskKey  []byte
	// Sent collects every message the history produced (MLSMessage bytes
	// of commits, proposals, application messages, Welcomes and key
	// packages), for the codec and mutation properties.
	Sent [][]byte
	// Trees collects the out-of-band ratchet trees handed to joiners.
	Trees [][]byte
	// Applied counts the events applied.
	Applied int
	// Commits counts the commits confirmed, and Merges the commits merged
	// by receiving members.
	Commits, Merges int
	// OnCommit, if set, runs after every commit has been delivered,
	// confirmed and joined.
	OnCommit func(w *World)
	// OnApply, if set, observes every Apply of the world: the member, its
	// state before, the event, the entropy seed of the environment, and
	// the outcome.
	OnApply func(m *Member, before state.GroupState, ev transitions.Event, seed [32]byte, next state.GroupState, effs []effects.Effect, err error)
}

// TB is what the World needs of a test; *rapid.T and *testing.T provide it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
}

// Member is one client of a World.
type Member struct {
	Name    string
	State   state.GroupState
	Keys    transitions.KeyStore
	Sig     []byte // signature public key, naming the signer in Keys
	Config  state.Config
	Removed bool
}

// Active reports whether m is in the group.
func (m *Member) Active() bool { return m.State.InGroup() && m.State.Active() }

// Signer returns m's signer.
func (m *Member) Signer() *suite.Signer {
	sg, ok := m.Keys.Signer(m.Sig)
	if !ok {
		panic("props: member without signer")
	}
	return sg
}

// Gen draws a World: a cipher suite, per-member configurations, a group
// grown to a drawn size by commits of random members, then random
// operations (adds, removes, self-updates, updates by reference). Every
// commit is delivered to every member and checked (Check).
func Gen(t *rapid.T, o Options) *World {
	if len(o.Suites) == 0 {
		o.Suites = []suite.ID{1, 2, 3}
	}
	if o.MinMembers < 2 {
		o.MinMembers = 2
	}
	if o.MaxMembers < o.MinMembers {
		o.MaxMembers = max(8, o.MinMembers)
	}
	if o.MaxOps == 0 {
		o.MaxOps = 4
	}
	id := rapid.SampledFrom(o.Suites).Draw(t, "suite")
	cs, err := suite.Lookup(id)
	if err != nil {
		t.Fatalf("suite %d: %v", id, err)
	}
	w := &World{t: t, Suite: id, CS: cs, opts: o, seed: rapid.Uint64().Draw(t, "seed"), OnApply: o.OnApply}
	w.caps = codec.Capabilities{}
	if o.RequiredCapabilities {
		w.caps.Extensions = []codec.ExtensionType{ExtCustom}
		rc, _ := codec.RequiredCapabilities{ExtensionTypes: []codec.ExtensionType{ExtCustom}}.Encode()
		w.gce = codec.Extensions{{ExtensionType: codec.ExtensionRequiredCapabilities, ExtensionData: rc}}
	}
	if o.CustomProposal {
		w.caps.Proposals = []codec.ProposalType{PropCustom}
	}
	if o.ExternalPSK {
		w.pskKey = bytes.Repeat([]byte{0x5a}, cs.HashLen())
	}
	n := rapid.IntRange(o.MinMembers, o.MaxMembers).Draw(t, "members")
	creator := w.NewClient(t)
	w.must(creator, transitions.CreateGroup{At: At, Suite: id, GroupID: w.draw("group.id", 16), SignatureKey: creator.Sig,
		Credential: credential(creator), Capabilities: w.caps, Lifetime: lifetime, GroupContextExtensions: w.gce, Config: creator.Config})
	for len(w.Active()) < n {
		k := rapid.IntRange(1, min(3, n-len(w.Active()))).Draw(t, "batch")
		w.AddMembers(t, w.Pick(t, "committer"), k)
	}
	ops := rapid.IntRange(0, o.MaxOps).Draw(t, "ops")
	for range ops {
		w.RandomOp(t)
	}
	return w
}

// RandomOp performs one drawn operation: an add, a remove, a self-update or
// an update by reference committed by another member, within the member
// bounds of the options.
func (w *World) RandomOp(t *rapid.T) {
	n := len(w.Active())
	choices := []string{"update", "propose"}
	if n < w.opts.MaxMembers {
		choices = append(choices, "add")
	}
	if n > w.opts.MinMembers {
		choices = append(choices, "remove")
	}
	switch rapid.SampledFrom(choices).Draw(t, "op") {
	case "add":
		w.AddMembers(t, w.Pick(t, "committer"), 1)
	case "remove":
		c := w.Pick(t, "committer")
		r := w.PickOther(t, "removed", c)
		w.Commit(t, c, transitions.Commit{Inline: []codec.Proposal{RemoveOf(r.State.OwnLeaf())}})
	case "update":
		w.Commit(t, w.Pick(t, "committer"), transitions.Commit{ForcePath: true})
	case "propose":
		p := w.Pick(t, "proposer")
		c := w.PickOther(t, "committer", p)
		w.ProposeUpdate(p)
		w.Commit(t, c, transitions.Commit{})
	}
}

func credential(m *Member) codec.Credential {
	return codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte(m.Name)}
}

// draw returns n bytes that depend on the world's seed and the label only.
func (w *World) draw(label string, n int) []byte {
	w.seq++
	h := sha256.Sum256(fmt.Appendf(nil, "%d/%s/%d", w.seed, label, w.seq))
	out := h[:]
	for len(out) < n {
		h = sha256.Sum256(h[:])
		out = append(out, h[:]...)
	}
	return out[:n]
}

// Env returns a fresh environment for m: a new entropy seed derived from
// the world's seed and m's key store.
func (w *World) Env(m *Member) transitions.Env {
	env, _ := w.envSeed(m)
	return env
}

func (w *World) envSeed(m *Member) (transitions.Env, [32]byte) {
	w.seq++
	h := sha256.New()
	binary.Write(h, binary.BigEndian, w.seed)
	h.Write([]byte(m.Name))
	binary.Write(h, binary.BigEndian, w.seq)
	var seed [32]byte
	copy(seed[:], h.Sum(nil))
	return transitions.Env{Entropy: entropy.FromSeed(seed), Keys: m.Keys}, seed
}

// Apply runs ev on m's state, checks the core contract, and on success
// adopts the new state and the key store changes. It returns the effects
// and the error.
func (w *World) Apply(m *Member, ev transitions.Event) ([]effects.Effect, error) {
	w.t.Helper()
	env, seed := w.envSeed(m)
	before := m.State
	next, effs, err := CheckedApply(w.t, m.State, ev, env)
	w.Applied++
	if w.OnApply != nil {
		w.OnApply(m, before, ev, seed, next, effs, err)
	}
	if err != nil {
		return nil, err
	}
	ks, err := m.Keys.With(effs)
	if err != nil {
		w.t.Fatalf("%s: key store: %v", m.Name, err)
	}
	m.State, m.Keys = next, ks
	for _, e := range effs {
		switch x := e.(type) {
		case effects.SendToGroup:
			w.Sent = append(w.Sent, x.Message)
		case effects.SendWelcome:
			w.Sent = append(w.Sent, x.Welcome)
		case effects.KeyPackageCreated:
			w.Sent = append(w.Sent, x.KeyPackage)
		}
	}
	return effs, nil
}

// CheckedApply calls transitions.Apply and fails t if the call breaks the
// contract of the core: the input state's digest changed, the effects are
// not sorted by phase, or a failure returned a state other than the input
// or any effects.
func CheckedApply(t TB, s state.GroupState, ev transitions.Event, env transitions.Env) (state.GroupState, []effects.Effect, error) {
	t.Helper()
	before := s.Digest()
	next, effs, err := transitions.Apply(s, ev, env)
	if after := s.Digest(); after != before {
		t.Fatalf("%s changed its input state", transitions.Name(ev))
	}
	if !effects.Sorted(effs) {
		t.Fatalf("%s: effects not sorted by phase", transitions.Name(ev))
	}
	if err != nil {
		if effs != nil {
			t.Fatalf("%s failed (%v) but returned %d effects", transitions.Name(ev), err, len(effs))
		}
		if next.Digest() != before {
			t.Fatalf("%s failed (%v) but returned a changed state", transitions.Name(ev), err)
		}
	}
	return next, effs, err
}

func (w *World) must(m *Member, ev transitions.Event) []effects.Effect {
	w.t.Helper()
	effs, err := w.Apply(m, ev)
	if err != nil {
		w.t.Fatalf("%s: %s: %v", m.Name, transitions.Name(ev), err)
	}
	return effs
}

func (w *World) drawConfig(t *rapid.T) state.Config {
	cfg := state.DefaultConfig()
	cfg.WireFormat = state.MixedPlaintext
	if !w.opts.Plaintext && rapid.Bool().Draw(t, "ciphertext") {
		cfg.WireFormat = state.MixedCiphertext
	}
	cfg.PaddingSize = rapid.SampledFrom([]uint32{0, 0, 8, 32}).Draw(t, "padding")
	cfg.MaxPastEpochs = uint32(rapid.IntRange(0, 2).Draw(t, "pastEpochs"))
	cfg.MaxPastEpochAge = rapid.SampledFrom([]uint64{0, 0, 60, 300}).Draw(t, "pastEpochAge")
	cfg.ResumptionPSKs = uint32(rapid.IntRange(0, 3).Draw(t, "resumptionPSKs"))
	return cfg
}

// NewClient creates a client with a signature key and a drawn
// configuration; it is not in the group.
func (w *World) NewClient(t *rapid.T) *Member {
	w.t.Helper()
	m := &Member{Name: fmt.Sprintf("client-%02d", len(w.Clients)), Config: w.drawConfig(t)}
	if w.pskKey != nil {
		m.Keys = m.Keys.WithExternalPSK(PSKID, w.pskKey)
	}
	effs := w.must(m, transitions.NewSignatureKey{At: At, Suite: w.Suite})
	sk, _ := effects.Find[effects.SignatureKeyCreated](effs)
	m.Sig = sk.PublicKey
	w.Clients = append(w.Clients, m)
	return m
}

// KeyPackage makes m publish a key package with the world's capabilities.
func (w *World) KeyPackage(m *Member) codec.KeyPackage {
	w.t.Helper()
	effs := w.must(m, transitions.NewKeyPackage{At: At, Suite: w.Suite, SignatureKey: m.Sig, Credential: credential(m),
		Lifetime: lifetime, Capabilities: w.caps})
	kc, _ := effects.Find[effects.KeyPackageCreated](effs)
	msg, err := codec.DecodeMLSMessage(kc.KeyPackage)
	if err != nil || msg.KeyPackage == nil {
		w.t.Fatalf("key package: %v", err)
	}
	return *msg.KeyPackage
}

// Active returns the members in the group, in creation order.
func (w *World) Active() []*Member {
	var out []*Member
	for _, m := range w.Clients {
		if m.Active() {
			out = append(out, m)
		}
	}
	return out
}

// Pick draws an active member.
func (w *World) Pick(t *rapid.T, label string) *Member {
	a := w.Active()
	return a[rapid.IntRange(0, len(a)-1).Draw(t, label)]
}

// activeExcept returns the active members other than the given ones, in
// creation order.
func (w *World) activeExcept(not ...*Member) []*Member {
	var out []*Member
	for _, m := range w.Active() {
		if !slices.Contains(not, m) {
			out = append(out, m)
		}
	}
	return out
}

// PickOther draws an active member other than the given ones.
func (w *World) PickOther(t *rapid.T, label string, not ...*Member) *Member {
	a := w.activeExcept(not...)
	if len(a) == 0 {
		t.Fatalf("no active member left to pick for %s", label)
	}
	return a[rapid.IntRange(0, len(a)-1).Draw(t, label)]
}

// AddOf returns an Add proposal of kp.
func AddOf(kp codec.KeyPackage) codec.Proposal {
	return codec.Proposal{ProposalType: codec.ProposalAdd, Add: &codec.Add{KeyPackage: kp}}
}

// RemoveOf returns a Remove proposal of leaf l.
func RemoveOf(l treemath.LeafIndex) codec.Proposal {
	return codec.Proposal{ProposalType: codec.ProposalRemove, Remove: &codec.Remove{Removed: l}}
}

// AddMembers has c commit the addition of k new clients, and delivers it.
func (w *World) AddMembers(t *rapid.T, c *Member, k int) []*Member {
	w.t.Helper()
	var joiners []*Member
	var props []codec.Proposal
	for range k {
		j := w.NewClient(t)
		props = append(props, AddOf(w.KeyPackage(j)))
		joiners = append(joiners, j)
	}
	w.Commit(t, c, transitions.Commit{Inline: props}, joiners...)
	return joiners
}

// ProposeUpdate has p send an Update proposal by reference, which every
// other active member receives and stores.
func (w *World) ProposeUpdate(p *Member) []byte {
	w.t.Helper()
	msg := Sent(w.t, w.must(p, transitions.Propose{At: At, Proposal: codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{}}}))
	for _, m := range w.Active() {
		if m != p {
			w.must(m, transitions.Receive{At: At, Message: msg})
		}
	}
	return msg
}

// Sent returns the SendToGroup message of effs.
func Sent(t TB, effs []effects.Effect) []byte {
	t.Helper()
	s, ok := effects.Find[effects.SendToGroup](effs)
	if !ok {
		t.Fatalf("nothing sent")
	}
	return s.Message
}

// StartCommit has c create a commit and returns the message without
// delivering it; c's commit stays pending. Joiners, if the commit adds
// members, are not joined.
func (w *World) StartCommit(c *Member, ev transitions.Commit) ([]byte, []effects.Effect) {
	w.t.Helper()
	ev.At = At
	ev.RatchetTree = transitions.TreeInclude
	if w.opts.TreeOmit {
		ev.RatchetTree = transitions.TreeOmit
	}
	effs := w.must(c, ev)
	return Sent(w.t, effs), effs
}

// Commit has c commit ev, delivers the commit to every other active member
// in a drawn order (each stages and merges it), confirms it, lets the
// joiners (whose key packages the inline Adds carry, in order) join, and
// checks that every member agrees (Check).
func (w *World) Commit(t *rapid.T, c *Member, ev transitions.Commit, joiners ...*Member) {
	w.t.Helper()
	msg, effs := w.StartCommit(c, ev)
	var others []*Member
	for _, m := range w.Active() {
		if m != c {
			others = append(others, m)
		}
	}
	others = rapid.Permutation(others).Draw(t, "delivery")
	for _, m := range others {
		e := w.must(m, transitions.Receive{At: At, Message: msg})
		st, ok := effects.Find[effects.CommitStaged](e)
		if !ok {
			w.t.Fatalf("%s: commit not staged", m.Name)
		}
		w.must(m, transitions.MergeStaged{At: At})
		if st.SelfRemoved {
			m.Removed = true
		}
		w.Merges++
	}
	w.must(c, transitions.ConfirmCommit{At: At})
	w.Commits++
	if len(joiners) > 0 {
		wel, ok := effects.Find[effects.SendWelcome](effs)
		if !ok {
			w.t.Fatalf("commit adding members sent no welcome")
		}
		var rt []byte
		if w.opts.TreeOmit {
			var err error
			if rt, err = c.State.Tree().Encode(); err != nil {
				w.t.Fatalf("tree: %v", err)
			}
			w.Trees = append(w.Trees, rt)
		}
		for _, j := range joiners {
			w.must(j, transitions.JoinWelcome{At: At, Welcome: wel.Welcome, RatchetTree: rt, Config: j.Config})
			w.must(j, transitions.AcceptJoin{At: At})
		}
	}
	if err := w.Check(); err != nil {
		w.t.Fatalf("after a commit by %s: %v", c.Name, err)
	}
	if w.OnCommit != nil {
		w.OnCommit(w)
	}
}

// Check reports whether all active members agree on the epoch, the group
// context (and with it the tree hash and confirmed transcript hash), the
// tree hash and the epoch authenticator, and whether removed members are
// inactive.
func (w *World) Check() error {
	var ref *Member
	for _, m := range w.Clients {
		if m.Removed && m.State.Active() {
			return fmt.Errorf("%s was removed but is active", m.Name)
		}
		if !m.Active() {
			continue
		}
		if ref == nil {
			ref = m
			continue
		}
		switch {
		case m.State.Epoch() != ref.State.Epoch():
			return fmt.Errorf("%s at epoch %d, %s at %d", m.Name, m.State.Epoch(), ref.Name, ref.State.Epoch())
		case !bytes.Equal(m.State.Tree().Hash(), ref.State.Tree().Hash()):
			return fmt.Errorf("%s and %s disagree on the tree hash in epoch %d", m.Name, ref.Name, m.State.Epoch())
		case !bytes.Equal(m.State.GroupContextBytes(), ref.State.GroupContextBytes()):
			return fmt.Errorf("%s and %s disagree on the group context in epoch %d", m.Name, ref.Name, m.State.Epoch())
		case !bytes.Equal(m.State.EpochAuthenticator(), ref.State.EpochAuthenticator()):
			return fmt.Errorf("%s and %s disagree on the epoch authenticator in epoch %d", m.Name, ref.Name, m.State.Epoch())
		}
	}
	return nil
}

// Protect has m encrypt data as an application message and returns it.
func (w *World) Protect(m *Member, data []byte) []byte {
	w.t.Helper()
	return Sent(w.t, w.must(m, transitions.Protect{At: At, Data: data, AAD: []byte("aad")}))
}
