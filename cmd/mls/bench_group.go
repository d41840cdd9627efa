package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/internal/synth"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/treemath"
)

// The scenario groups of mls bench -scenario. Like package sim, they drive
// the core state machine (transitions.Apply) member by member, with every
// commit confirmed by its committer and received and merged by the others,
// and check after each commit that the members agree (epoch
// authenticator). Unlike sim, which keeps the full state of every member
// (O(N²) memory, out of reach at N = 4096), a scenario group keeps the
// states of the few members it measures — the committer and sender A, the
// receiver B, a third member C (the offline device) — and of nobody else:
// the other members' key packages are made, added and removed, but they
// never commit, which the book's scenarios allow (it does not say who
// updates, adds or removes).

// member is a tracked member: its state and the secrets it keeps outside
// it.
type member struct {
	name string
	s    state.GroupState
	ks   transitions.KeyStore
}

// client is a key package with the key store that can join with it.
type client struct {
	kp codec.KeyPackage
	ks transitions.KeyStore
}

// benchGroup is a scenario group.
type benchGroup struct {
	cs     *suite.Suite
	limits transitions.Limits
	seq    *uint64   // entropy counter, shared by the copies of a group
	a, b   *member   // committer and sender; receiver
	c      *member   // a third member (the offline device)
	active []*member // tracked members that receive every commit
	rng    *rand.Rand
	// clients counts the clients created, for their identities.
	clients *int
}

// seed returns the next entropy seed.
func (g *benchGroup) seed() [32]byte {
	*g.seq++
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], *g.seq)
	copy(s[8:], "mls bench scenario")
	return s
}

func (g *benchGroup) env(ks transitions.KeyStore) transitions.Env {
	return transitions.Env{Entropy: entropyOf(g.seed()), Keys: ks, Limits: g.limits}
}

func entropyOf(seed [32]byte) entropy.Source { return entropy.FromSeed(seed) }

// apply applies ev to m and keeps the new state and key store.
func (g *benchGroup) apply(m *member, ev transitions.Event) ([]effects.Effect, error) {
	next, effs, err := transitions.Apply(m.s, ev, g.env(m.ks))
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", m.name, transitions.Name(ev), err)
	}
	ks, err := m.ks.With(effs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.name, err)
	}
	m.s, m.ks = next, ks
	return effs, nil
}

// benchLifetime is the lifetime of every leaf the scenarios create.
var benchLifetime = codec.Lifetime{NotBefore: synth.At - 3600, NotAfter: synth.At + 365*86400}

// newSigner gives m a fresh signature key and returns its public key.
func (g *benchGroup) newSigner(m *member) ([]byte, error) {
	effs, err := g.apply(m, transitions.NewSignatureKey{At: synth.At, Suite: g.cs.ID()})
	if err != nil {
		return nil, err
	}
	sk, ok := effects.Find[effects.SignatureKeyCreated](effs)
	if !ok {
		return nil, errors.New("NewSignatureKey reported no key")
	}
	return sk.PublicKey, nil
}

func benchCredential(i int) codec.Credential {
	return codec.Credential{CredentialType: codec.CredentialBasic, Identity: fmt.Appendf(nil, "client-%06d", i)}
}

// newClient makes a new client's key package, through the same events a
// member's device applies (NewSignatureKey, NewKeyPackage).
func (g *benchGroup) newClient() (client, error) {
	*g.clients++
	m := &member{name: fmt.Sprintf("client-%06d", *g.clients)}
	pub, err := g.newSigner(m)
	if err != nil {
		return client{}, err
	}
	effs, err := g.apply(m, transitions.NewKeyPackage{At: synth.At, Suite: g.cs.ID(), SignatureKey: pub,
		Credential: benchCredential(*g.clients), Lifetime: benchLifetime})
	if err != nil {
		return client{}, err
	}
	kc, ok := effects.Find[effects.KeyPackageCreated](effs)
	if !ok {
		return client{}, errors.New("NewKeyPackage reported no key package")
	}
	msg, err := codec.DecodeMLSMessage(kc.KeyPackage)
	if err != nil || msg.KeyPackage == nil {
		return client{}, fmt.Errorf("key package does not decode: %v", err)
	}
	return client{kp: *msg.KeyPackage, ks: m.ks}, nil
}

func (g *benchGroup) newClients(k int) ([]client, error) {
	out := make([]client, k)
	for i := range out {
		var err error
		if out[i], err = g.newClient(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func addsOf(cs []client) []codec.Proposal {
	ps := make([]codec.Proposal, len(cs))
	for i, c := range cs {
		ps[i] = codec.Proposal{ProposalType: codec.ProposalAdd, Add: &codec.Add{KeyPackage: c.kp}}
	}
	return ps
}

func removesOf(leaves []treemath.LeafIndex) []codec.Proposal {
	ps := make([]codec.Proposal, len(leaves))
	for i, l := range leaves {
		ps[i] = codec.Proposal{ProposalType: codec.ProposalRemove, Remove: &codec.Remove{Removed: l}}
	}
	return ps
}

// sent is a message a member sent to the group, and whether it is a
// commit.
type sent struct {
	msg    []byte
	commit bool
}

// commit has by commit cm: by confirms it and every other active tracked
// member receives and merges it; the members must then agree. It returns
// the commit and its Welcome, if any.
func (g *benchGroup) commit(by *member, cm transitions.Commit) ([]byte, []byte, error) {
	cm.At = synth.At
	effs, err := g.apply(by, cm)
	if err != nil {
		return nil, nil, err
	}
	msg, welcome := commitOutputs(effs)
	if msg == nil {
		return nil, nil, fmt.Errorf("%s: commit not sent", by.name)
	}
	if _, err := g.apply(by, transitions.ConfirmCommit{At: synth.At}); err != nil {
		return nil, nil, err
	}
	for _, m := range g.active {
		if m == by {
			continue
		}
		if err := g.receiveCommit(m, msg); err != nil {
			return nil, nil, err
		}
		if !bytes.Equal(m.s.EpochAuthenticator(), by.s.EpochAuthenticator()) {
			return nil, nil, fmt.Errorf("%s and %s disagree on epoch %d", m.name, by.name, by.s.Epoch())
		}
	}
	return msg, welcome, nil
}

// commitOutputs returns the commit and the Welcome (nil if none) that a
// Commit's effects send.
func commitOutputs(effs []effects.Effect) (msg, welcome []byte) {
	for _, e := range effs {
		switch e := e.(type) {
		case effects.SendToGroup:
			msg = e.Message
		case effects.SendWelcome:
			welcome = e.Welcome
		}
	}
	return msg, welcome
}

func (g *benchGroup) receiveCommit(m *member, msg []byte) error {
	if _, err := g.apply(m, transitions.Receive{At: synth.At, Message: msg}); err != nil {
		return err
	}
	_, err := g.apply(m, transitions.MergeStaged{At: synth.At})
	return err
}

// benchData is the application message of the scenarios: 100 bytes.
var benchData = bytes.Repeat([]byte("m"), 100)

// send has from protect an application message, which every other active
// tracked member decrypts.
func (g *benchGroup) send(from *member) ([]byte, error) {
	effs, err := g.apply(from, transitions.Protect{At: synth.At, Data: benchData})
	if err != nil {
		return nil, err
	}
	s, ok := effects.Find[effects.SendToGroup](effs)
	if !ok {
		return nil, fmt.Errorf("%s: message not sent", from.name)
	}
	for _, m := range g.active {
		if m == from {
			continue
		}
		effs, err := g.apply(m, transitions.Receive{At: synth.At, Message: s.Message})
		if err != nil {
			return nil, err
		}
		if d, ok := effects.Find[effects.DeliverApplication](effs); !ok || !bytes.Equal(d.Data, benchData) {
			return nil, fmt.Errorf("%s: message not delivered intact", m.name)
		}
	}
	return s.Message, nil
}

// join has the client of c join from welcome as m.
func (g *benchGroup) join(name string, c client, welcome []byte) (*member, error) {
	m := &member{name: name, ks: c.ks}
	if _, err := g.apply(m, transitions.JoinWelcome{At: synth.At, Welcome: welcome, Config: state.DefaultConfig()}); err != nil {
		return nil, err
	}
	if _, err := g.apply(m, transitions.AcceptJoin{At: synth.At}); err != nil {
		return nil, err
	}
	return m, nil
}

// tracked reports whether leaf is a tracked member's.
func (g *benchGroup) tracked(leaf treemath.LeafIndex) bool {
	for _, m := range []*member{g.a, g.b, g.c} {
		if m != nil && m.s.OwnLeaf() == leaf {
			return true
		}
	}
	return false
}

// untracked returns the leaves of the members nobody tracks, in order.
func (g *benchGroup) untracked() []treemath.LeafIndex {
	var out []treemath.LeafIndex
	for l := range g.a.s.Members() {
		if !g.tracked(l) {
			out = append(out, l)
		}
	}
	return out
}

// pickUntracked returns k distinct random untracked members' leaves.
func (g *benchGroup) pickUntracked(k int) []treemath.LeafIndex {
	u := g.untracked()
	g.rng.Shuffle(len(u), func(i, j int) { u[i], u[j] = u[j], u[i] })
	u = u[:min(k, len(u))]
	slices.Sort(u)
	return u
}

// clone returns a copy of g whose tracked members can move on without
// changing g's (states are immutable values; the members are not).
func (g *benchGroup) clone() *benchGroup {
	h := *g
	seq, clients := *g.seq, *g.clients
	h.seq, h.clients = &seq, &clients
	cp := func(m *member) *member {
		if m == nil {
			return nil
		}
		c := *m
		return &c
	}
	h.a, h.b, h.c = cp(g.a), cp(g.b), cp(g.c)
	h.active = nil
	for _, m := range []*member{h.a, h.b, h.c} {
		if m != nil {
			h.active = append(h.active, m)
		}
	}
	h.rng = rand.New(rand.NewPCG(uint64(seq), 7))
	return &h
}

// benchLimits admit trees of up to 2n leaves, commits of up to 2n
// proposals and messages of up to 1 GiB (synth.Limits).
func benchLimits(n int) transitions.Limits { return synth.Limits(n) }

func newBenchGroup(cs *suite.Suite, leaves int) *benchGroup {
	var seq uint64
	var clients int
	return &benchGroup{cs: cs, limits: benchLimits(2 * leaves), seq: &seq, clients: &clients, rng: rand.New(rand.NewPCG(1, 7))}
}

// setupGroup is the book's group creation: A creates the group and adds n−1
// clients in one commit (no path: every parent node stays blank), each
// joining from the Welcome (which carries the ratchet tree); B is the last
// leaf, C the middle one. measure is handed the creator's part
// (CreateGroup, the commit, ConfirmCommit, without making the key
// packages) and runs it at least once; each run starts from the same
// state and gives the same group.
func setupGroup(cs *suite.Suite, n int, measure func(create func() error) error) (*benchGroup, error) {
	g := newBenchGroup(cs, n)
	a := &member{name: "A"}
	pub, err := g.newSigner(a)
	if err != nil {
		return nil, err
	}
	clients, err := g.newClients(n - 1)
	if err != nil {
		return nil, err
	}
	start, seq := *a, *g.seq
	var welcome []byte
	var created member
	var createdSeq uint64
	// create runs the creator's part from the same start each time, in a
	// copy of g; every run gives the same group, and the last run's A
	// becomes g's.
	create := func() error {
		h, s, m := *g, seq, start
		h.seq, h.a, h.active = &s, &m, []*member{&m}
		if _, err := h.apply(&m, transitions.CreateGroup{At: synth.At, Suite: cs.ID(), GroupID: []byte("mls bench group"),
			SignatureKey: pub, Credential: benchCredential(0), Lifetime: benchLifetime, Config: state.DefaultConfig()}); err != nil {
			return err
		}
		var err error
		_, welcome, err = h.commit(&m, transitions.Commit{Inline: addsOf(clients), RatchetTree: transitions.TreeInclude})
		created, createdSeq = m, s
		return err
	}
	if err := measure(create); err != nil {
		return nil, err
	}
	if created.s.Epoch() != 1 {
		return nil, errors.New("the group was not created")
	}
	g.a = &created
	g.active = []*member{g.a}
	*g.seq = createdSeq
	if g.b, err = g.join("B", clients[n-2], welcome); err != nil {
		return nil, err
	}
	if n > 2 {
		if g.c, err = g.join("C", clients[n/2-1], welcome); err != nil {
			return nil, err
		}
	}
	g.active = []*member{g.a, g.b}
	if g.c != nil {
		g.active = append(g.active, g.c)
	}
	return g, nil
}

// synthGroup is a group of n members in which every member has sent an
// update — every parent node is set — built by internal/synth from seeds
// (no commits). A is leaf 0, B leaf bLeaf, C leaf n/2.
func synthGroup(cs *suite.Suite, n, bLeaf int) (*benchGroup, error) {
	sy, err := synth.New(cs.ID(), n)
	if err != nil {
		return nil, err
	}
	g := newBenchGroup(cs, n)
	for _, t := range []struct {
		m    **member
		name string
		leaf int
	}{{&g.a, "A", 0}, {&g.b, "B", bLeaf}, {&g.c, "C", n / 2}} {
		s, ks, err := sy.Member(treemath.LeafIndex(t.leaf))
		if err != nil {
			return nil, err
		}
		*t.m = &member{name: t.name, s: s, ks: ks}
	}
	g.active = []*member{g.a, g.b, g.c}
	return g, nil
}

// blankGroup is a group of n members in a tree of 2n leaves where every
// second leaf is blank: the synthetic full group of 2n members after A
// (leaf 0) removed every odd leaf in one commit, B is leaf 2n−2 and C leaf
// n (which blanks every parent node
// but A's direct path, which A's commit sets).
func blankGroup(cs *suite.Suite, n int) (*benchGroup, error) {
	g, err := synthGroup(cs, 2*n, 2*n-2)
	if err != nil {
		return nil, err
	}
	g.limits = benchLimits(4 * n)
	var odd []treemath.LeafIndex
	for l := 1; l < 2*n; l += 2 {
		odd = append(odd, treemath.LeafIndex(l))
	}
	if _, _, err := g.commit(g.a, transitions.Commit{Inline: removesOf(odd)}); err != nil {
		return nil, err
	}
	return g, nil
}
