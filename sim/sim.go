// Package sim owns mlscore's deterministic multi-member simulator: clients
// that create key packages and join, members that add, remove, update and
// send, an in-memory delivery service, and cross-member checks after every
// step. It is an ordinary package so that the mls command (demo), the
// property tests and the benchmarks share it.
//
// Everything is a function of Config.Seed: the order of operations, who
// commits, which of racing commits the delivery service accepts, the
// application messages and their faults, and every event's entropy seed.
// The same seed gives byte-identical member logs on every platform.
//
// The delivery service orders handshake messages totally per group, as
// RFC 9420, Section 14 expects of it: when several members commit in the
// same epoch, the first commit to arrive (a seeded choice) wins; the
// committer gets ConfirmCommit, the other committers AbortCommit, and every
// other member receives and merges the winner. Application messages suffer
// seeded faults: drops, duplicates, reordering and delays (a late message
// is still delivered before its epoch becomes unreadable).
//
// Each member drives its state machine through a replay.Recorder, so each
// has an event log that replays to its states (replay.Replay); the logs are
// self-contained: signature keys and key packages are created by events of
// the same log.
package sim

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
)

// Faults are the probabilities, in parts per thousand, of what can happen
// to each copy of an application message.
type Faults struct {
	Drop      uint32 // never delivered
	Duplicate uint32 // delivered twice (the second copy must be rejected)
	Reorder   uint32 // delivered after a later message
	Delay     uint32 // held back for a while, possibly into the next epoch
}

// DefaultFaults are the faults of the demo: 2% drops, 3% duplicates, 30%
// reordering, 20% delays.
var DefaultFaults = Faults{Drop: 20, Duplicate: 30, Reorder: 300, Delay: 200}

// Config configures a simulation.
type Config struct {
	// Seed determines the whole run.
	Seed uint64
	// Suite is the cipher suite; zero means suite 1.
	Suite suite.ID
	// Mode is the mode of the member logs; zero means replay.Full.
	Mode replay.Mode
	// Faults of application message delivery.
	Faults Faults
	// MaxBatch bounds the key packages added by one commit; zero means 8.
	MaxBatch int
	// Members is the group size Step steers towards: above it removals
	// outnumber adds, below it adds outnumber removals. Zero means 8.
	Members int
	// Start is the At of the first event, in seconds since the Unix epoch;
	// zero means 1700000000. Every operation advances the clock by one
	// second.
	Start uint64
	// PublicHandshake makes every member send its proposals and commits
	// as PublicMessages (by default each member draws its framing), so
	// that an observer can follow every commit (see replay.Observer).
	PublicHandshake bool
}

// Policy and limits of every member: the defaults, named in log headers.
const policyID = "default"

// logModule is the Module of the log headers. It is constant (not the
// build's version) so that the same seed gives the same bytes from any
// build.
const logModule = "github.com/mlscore/mlscore/sim"

// Op is a kind of simulated operation.
type Op uint8

// The operations.
const (
	OpCreate  Op = iota // create the group
	OpAdd               // commit adding 1 to MaxBatch new clients
	OpRemove            // commit removing a member
	OpUpdate            // a self-update commit (with a path)
	OpPropose           // a member proposes an update by reference; another commits it
	OpRace              // several members commit in the same epoch
	OpSend              // application messages
	OpDeliver           // deliver queued application messages
	numOps
)

var opNames = [numOps]string{"create", "add", "remove", "update", "propose", "race", "send", "deliver"}

// String returns the operation's name.
func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Ops returns every operation kind, in order.
func Ops() []Op {
	out := make([]Op, numOps)
	for i := range out {
		out[i] = Op(i)
	}
	return out
}

// Stats counts what a simulation did.
type Stats struct {
	Ops          [numOps]int // operations performed, by kind
	Events       int         // events applied (records written), all members
	Rejected     int         // events the core rejected (expected ones: duplicates)
	Commits      int         // commits accepted by the delivery service
	Aborted      int         // commits that lost a race
	Proposals    int         // proposals by reference
	Joined       int         // clients that joined from a Welcome
	Removed      int         // members removed
	AppSent      int         // application messages sent
	AppDelivered int         // application message copies delivered and decrypted
	AppDropped   int         // copies dropped
	AppDuplicate int         // duplicate copies delivered (and rejected)
	AppLate      int         // copies delivered in a later epoch than they were sent in
}

// Member is one simulated client: before joining, after, and after removal.
type Member struct {
	Index int    // creation order, from 0
	Name  string // "member-007"; also the identity of its basic credential

	rec    *replay.Recorder
	log    bytes.Buffer
	sigKey []byte
	kp     codec.KeyPackage // the key package it offers while not in the group
	kpRef  []byte
	config state.Config

	joined, removed bool
	inbox           []appCopy
	delivered       map[int]bool // ids of the application messages decrypted
}

// appCopy is one copy of an application message in a member's inbox.
type appCopy struct {
	id    int // message number, from 0
	msg   []byte
	data  []byte
	from  *Member
	epoch uint64
	hold  int // operations to wait before delivery (delay)
}

// Log returns the member's event log (its encoding, as written).
func (m *Member) Log() []byte { return m.log.Bytes() }

// Records returns the number of records in the member's log.
func (m *Member) Records() uint64 { return m.rec.Next() }

// State returns the member's current state.
func (m *Member) State() state.GroupState { return m.rec.State() }

// Active reports whether the member is in the group now.
func (m *Member) Active() bool { return m.joined && !m.removed }

// Removed reports whether the member was removed from the group.
func (m *Member) Removed() bool { return m.removed }

// Sim is a running simulation. It is not safe for concurrent use.
type Sim struct {
	cfg     Config
	rng     *rand.Rand
	now     uint64
	members []*Member // every client ever created, by Index
	stats   Stats
	nextMsg int
}

// New returns a simulation with no clients yet; the first Step creates
// the group.
func New(cfg Config) (*Sim, error) {
	if cfg.Suite == 0 {
		cfg.Suite = suite.X25519AES128GCMSHA256Ed25519
	}
	if _, err := suite.Lookup(cfg.Suite); err != nil {
		return nil, err
	}
	if cfg.Mode == 0 {
		cfg.Mode = replay.Full
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 8
	}
	if cfg.Members <= 0 {
		cfg.Members = 8
	}
	if cfg.Start == 0 {
		cfg.Start = 1_700_000_000
	}
	var seed [32]byte
	for i := range 8 {
		seed[i] = byte(cfg.Seed >> (8 * i))
	}
	copy(seed[8:], "mlscore sim")
	return &Sim{cfg: cfg, rng: rand.New(rand.NewChaCha8(seed)), now: cfg.Start}, nil
}

// Members returns every client created so far, in creation order.
func (s *Sim) Members() []*Member { return slices.Clip(s.members) }

// Active returns the members in the group, in creation order.
func (s *Sim) Active() []*Member {
	var out []*Member
	for _, m := range s.members {
		if m.Active() {
			out = append(out, m)
		}
	}
	return out
}

// Stats returns the counters so far.
func (s *Sim) Stats() Stats { return s.stats }

// Epoch returns the group's current epoch.
func (s *Sim) Epoch() uint64 {
	if a := s.Active(); len(a) > 0 {
		return a[0].State().Epoch()
	}
	return 0
}

// Error is a simulation failure: a transition failed that should not have,
// or members disagree. It names the step.
type Error struct {
	Op     Op
	Member string // the member concerned, if one
	Err    error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Member != "" {
		return fmt.Sprintf("sim: %s: %s: %v", e.Op, e.Member, e.Err)
	}
	return fmt.Sprintf("sim: %s: %v", e.Op, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func (s *Sim) seed() [32]byte {
	var b [32]byte
	for i := 0; i < 32; i += 8 {
		v := s.rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func (s *Sim) chance(permille uint32) bool { return s.rng.Uint32N(1000) < permille }

// apply applies ev to m, logging it.
func (s *Sim) apply(op Op, m *Member, ev transitions.Event) ([]effects.Effect, error) {
	effs, err := m.rec.Apply(ev, s.seed())
	var re *replay.RecordError
	if errors.As(err, &re) {
		return nil, &Error{Op: op, Member: m.Name, Err: err}
	}
	s.stats.Events++
	if err != nil {
		s.stats.Rejected++
		return nil, &Error{Op: op, Member: m.Name, Err: fmt.Errorf("%s: %w", transitions.Name(ev), err)}
	}
	return effs, nil
}

// newClient creates a client with a signature key and a key package.
func (s *Sim) newClient(op Op) (*Member, error) {
	m := &Member{Index: len(s.members), Name: fmt.Sprintf("member-%03d", len(s.members))}
	w, err := replay.NewWriter(&m.log, replay.Header{Mode: s.cfg.Mode, Module: logModule, PolicyID: policyID})
	if err != nil {
		return nil, err
	}
	m.rec = replay.NewRecorder(w, transitions.Env{})
	m.config = s.memberConfig()
	s.members = append(s.members, m)
	effs, err := s.apply(op, m, transitions.NewSignatureKey{At: s.now, Suite: s.cfg.Suite})
	if err != nil {
		return nil, err
	}
	sk, ok := effects.Find[effects.SignatureKeyCreated](effs)
	if !ok {
		return nil, &Error{Op: op, Member: m.Name, Err: errors.New("NewSignatureKey reported no key")}
	}
	m.sigKey = sk.PublicKey
	return m, s.newKeyPackage(op, m)
}

func (s *Sim) credential(m *Member) codec.Credential {
	return codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte(m.Name)}
}

func (s *Sim) lifetime() codec.Lifetime {
	return codec.Lifetime{NotBefore: s.cfg.Start - 3600, NotAfter: s.cfg.Start + 10*365*86400}
}

func (s *Sim) newKeyPackage(op Op, m *Member) error {
	effs, err := s.apply(op, m, transitions.NewKeyPackage{At: s.now, Suite: s.cfg.Suite, SignatureKey: m.sigKey,
		Credential: s.credential(m), Lifetime: s.lifetime()})
	if err != nil {
		return err
	}
	kc, ok := effects.Find[effects.KeyPackageCreated](effs)
	if !ok {
		return &Error{Op: op, Member: m.Name, Err: errors.New("NewKeyPackage reported no key package")}
	}
	msg, err := codec.DecodeMLSMessage(kc.KeyPackage)
	if err != nil || msg.KeyPackage == nil {
		return &Error{Op: op, Member: m.Name, Err: fmt.Errorf("key package does not decode: %v", err)}
	}
	m.kp, m.kpRef = *msg.KeyPackage, kc.Ref
	return nil
}

// memberConfig draws a member's group configuration: handshake messages go
// out as PublicMessage or PrivateMessage (both framings are accepted), with
// or without padding.
func (s *Sim) memberConfig() state.Config {
	c := state.DefaultConfig()
	c.WireFormat = state.MixedCiphertext
	if s.rng.IntN(2) == 0 || s.cfg.PublicHandshake {
		c.WireFormat = state.MixedPlaintext
	}
	if s.rng.IntN(2) == 0 {
		c.PaddingSize = 32
	}
	c.MaxPastEpochs = 1
	c.RatchetTreeExtension = true
	c.SenderRatchet = keysched.RatchetConfig{OutOfOrderTolerance: maxInbox, MaximumForwardDistance: 1000}
	return c
}

// maxInbox bounds a member's queued application messages; beyond it the
// oldest are delivered first, so that reordering stays within the sender
// ratchet's out-of-order tolerance.
const maxInbox = 32

// Step performs one seeded operation and checks the members afterwards.
// The first Step creates the group.
func (s *Sim) Step() (Op, error) {
	op := s.pick()
	s.now++
	s.stats.Ops[op]++
	var err error
	switch op {
	case OpCreate:
		err = s.Create()
	case OpAdd:
		err = s.Add(1 + s.rng.IntN(min(3, s.cfg.MaxBatch)))
	case OpRemove:
		err = s.Remove()
	case OpUpdate:
		err = s.Update()
	case OpPropose:
		err = s.ProposeUpdate()
	case OpRace:
		err = s.Race(2 + s.rng.IntN(2))
	case OpSend:
		err = s.Send(1 + s.rng.IntN(4))
	case OpDeliver:
		err = s.Deliver()
	}
	if err == nil {
		err = s.Check()
	}
	return op, err
}

func (s *Sim) pick() Op {
	if len(s.members) == 0 {
		return OpCreate
	}
	n := len(s.Active())
	type w struct {
		op     Op
		weight int
	}
	ws := []w{{OpAdd, 10}, {OpRemove, 4}, {OpUpdate, 8}, {OpPropose, 4}, {OpRace, 4}, {OpSend, 40}, {OpDeliver, 28}}
	if n > s.cfg.Members {
		ws[0].weight, ws[1].weight = 4, 10
	}
	if n < 3 {
		ws = []w{{OpAdd, 10}, {OpSend, 3}, {OpDeliver, 2}}
	}
	total := 0
	for _, x := range ws {
		total += x.weight
	}
	r := s.rng.IntN(total)
	for _, x := range ws {
		if r < x.weight {
			return x.op
		}
		r -= x.weight
	}
	panic("unreachable")
}

// Grow adds members, in commits of up to MaxBatch key packages, until the
// group has n members. It creates the group first if needed.
func (s *Sim) Grow(n int) error {
	if len(s.members) == 0 {
		s.now++
		s.stats.Ops[OpCreate]++
		if err := s.Create(); err != nil {
			return err
		}
	}
	for len(s.Active()) < n {
		s.now++
		s.stats.Ops[OpAdd]++
		if err := s.Add(min(s.cfg.MaxBatch, n-len(s.Active()))); err != nil {
			return err
		}
		if err := s.Check(); err != nil {
			return err
		}
	}
	return nil
}

// Create creates the group with a first member.
func (s *Sim) Create() error {
	if len(s.members) > 0 {
		return &Error{Op: OpCreate, Err: errors.New("group exists")}
	}
	m, err := s.newClient(OpCreate)
	if err != nil {
		return err
	}
	if _, err := s.apply(OpCreate, m, transitions.CreateGroup{At: s.now, Suite: s.cfg.Suite, SignatureKey: m.sigKey,
		Credential: s.credential(m), Lifetime: s.lifetime(), Config: m.config}); err != nil {
		return err
	}
	m.joined = true
	return nil
}

// waiting returns clients with a key package that are not in the group.
func (s *Sim) waiting() []*Member {
	var out []*Member
	for _, m := range s.members {
		if !m.joined && m.kpRef != nil {
			out = append(out, m)
		}
	}
	return out
}

// joiners returns k clients to add: waiting ones first (their key
// package lost a race), then new ones.
func (s *Sim) joiners(op Op, k int) ([]*Member, error) {
	out := s.waiting()
	if len(out) > k {
		out = out[:k]
	}
	for len(out) < k {
		m, err := s.newClient(op)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (s *Sim) randomActive(except ...*Member) *Member {
	var c []*Member
	for _, m := range s.Active() {
		if !slices.Contains(except, m) {
			c = append(c, m)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[s.rng.IntN(len(c))]
}

func addProposals(js []*Member) []codec.Proposal {
	var ps []codec.Proposal
	for _, j := range js {
		kp := j.kp
		ps = append(ps, codec.Proposal{ProposalType: codec.ProposalAdd, Add: &codec.Add{KeyPackage: kp}})
	}
	return ps
}

// Add commits the addition of k clients by a random member.
func (s *Sim) Add(k int) error {
	js, err := s.joiners(OpAdd, k)
	if err != nil {
		return err
	}
	c := s.randomActive()
	return s.round(OpAdd, []*Member{c}, []transitions.Commit{{At: s.now, Inline: addProposals(js), RatchetTree: s.treeOption()}})
}

func (s *Sim) treeOption() transitions.TreeOption {
	if s.rng.IntN(4) == 0 {
		return transitions.TreeOmit
	}
	return transitions.TreeInclude
}

// Remove commits the removal of a random member by another.
func (s *Sim) Remove() error {
	c := s.randomActive()
	t := s.randomActive(c)
	if t == nil {
		return nil
	}
	leaf := t.State().OwnLeaf()
	return s.round(OpRemove, []*Member{c}, []transitions.Commit{{At: s.now,
		Inline: []codec.Proposal{{ProposalType: codec.ProposalRemove, Remove: &codec.Remove{Removed: leaf}}}}})
}

// Update has a random member commit a self-update (an empty commit with a
// path).
func (s *Sim) Update() error {
	return s.round(OpUpdate, []*Member{s.randomActive()}, []transitions.Commit{{At: s.now, ForcePath: true}})
}

// ProposeUpdate has a random member propose an update of its leaf by
// reference, which every member stores; another member then commits it.
func (s *Sim) ProposeUpdate() error {
	p := s.randomActive()
	c := s.randomActive(p)
	if c == nil {
		return nil
	}
	effs, err := s.apply(OpPropose, p, transitions.Propose{At: s.now,
		Proposal: codec.Proposal{ProposalType: codec.ProposalUpdate,
			Update: &codec.Update{LeafNode: codec.LeafNode{LeafNodeSource: codec.LeafNodeSourceUpdate}}}})
	if err != nil {
		return err
	}
	msg, ok := effects.Find[effects.SendToGroup](effs)
	if !ok {
		return &Error{Op: OpPropose, Member: p.Name, Err: errors.New("proposal not sent")}
	}
	s.stats.Proposals++
	for _, m := range s.Active() {
		if m == p {
			continue
		}
		effs, err := s.apply(OpPropose, m, transitions.Receive{At: s.now, Message: msg.Message})
		if err != nil {
			return err
		}
		if _, ok := effects.Find[effects.ProposalReceived](effs); !ok {
			return &Error{Op: OpPropose, Member: m.Name, Err: errors.New("proposal not stored")}
		}
	}
	return s.round(OpPropose, []*Member{c}, []transitions.Commit{{At: s.now}})
}

// Race has n members commit in the same epoch — an add, a removal or a
// self-update each — and lets the delivery service pick the winner.
func (s *Sim) Race(n int) error {
	var cs []*Member
	var commits []transitions.Commit
	removed := map[*Member]bool{}
	used := 0
	for range n {
		c := s.randomActive(cs...)
		if c == nil {
			break
		}
		cm := transitions.Commit{At: s.now, ForcePath: true}
		switch s.rng.IntN(3) {
		case 0:
			// Distinct clients, so that a loser's key package stays
			// unused until a later add.
			js, err := s.joiners(OpRace, used+1)
			if err != nil {
				return err
			}
			used++
			cm.Inline = addProposals(js[used-1:])
			cm.RatchetTree = s.treeOption()
		case 1:
			if t := s.randomActive(c); t != nil && !removed[t] && len(s.Active()) > 3 {
				removed[t] = true
				cm.Inline = []codec.Proposal{{ProposalType: codec.ProposalRemove, Remove: &codec.Remove{Removed: t.State().OwnLeaf()}}}
			}
		}
		cs = append(cs, c)
		commits = append(commits, cm)
	}
	return s.round(OpRace, cs, commits)
}

// round runs one handshake round: each committer creates its commit, the
// delivery service accepts the first to arrive, the winner confirms, the
// other committers abort, everyone else receives and merges the winner, and
// the winner's new members join from its Welcome.
func (s *Sim) round(op Op, committers []*Member, commits []transitions.Commit) error {
	if err := s.flush(op, 1); err != nil {
		return err
	}
	type out struct {
		commit  []byte
		welcome *effects.SendWelcome
	}
	outs := make([]out, len(committers))
	for i, c := range committers {
		effs, err := s.apply(op, c, commits[i])
		if err != nil {
			return err
		}
		for _, e := range effs {
			switch e := e.(type) {
			case effects.SendToGroup:
				if e.Kind == effects.KindCommit {
					outs[i].commit = e.Message
				}
			case effects.SendWelcome:
				outs[i].welcome = &e
			}
		}
		if outs[i].commit == nil {
			return &Error{Op: op, Member: c.Name, Err: errors.New("commit not sent")}
		}
	}
	win := s.rng.IntN(len(committers))
	winner := committers[win]
	effs, err := s.apply(op, winner, transitions.ConfirmCommit{At: s.now})
	if err != nil {
		return err
	}
	adv, ok := effects.Find[effects.EpochAdvanced](effs)
	if !ok {
		return &Error{Op: op, Member: winner.Name, Err: errors.New("confirmed commit did not advance the epoch")}
	}
	s.stats.Commits++
	for i, c := range committers {
		if i == win {
			continue
		}
		if _, err := s.apply(op, c, transitions.AbortCommit{At: s.now}); err != nil {
			return err
		}
		s.stats.Aborted++
	}
	for _, m := range s.Active() {
		if m == winner {
			continue
		}
		effs, err := s.apply(op, m, transitions.Receive{At: s.now, Message: outs[win].commit})
		if err != nil {
			return err
		}
		if _, ok := effects.Find[effects.CommitStaged](effs); !ok {
			return &Error{Op: op, Member: m.Name, Err: errors.New("commit not staged")}
		}
		effs, err = s.apply(op, m, transitions.MergeStaged{At: s.now})
		if err != nil {
			return err
		}
		if _, ok := effects.Find[effects.RemovedFromGroup](effs); ok {
			m.removed = true
			s.stats.Removed++
			s.stats.AppDropped += len(m.inbox)
			m.inbox = nil
			continue
		}
		a, ok := effects.Find[effects.EpochAdvanced](effs)
		if !ok {
			return &Error{Op: op, Member: m.Name, Err: errors.New("merge did not advance the epoch")}
		}
		if !bytes.Equal(a.Authenticator, adv.Authenticator) {
			return &Error{Op: op, Member: m.Name, Err: fmt.Errorf("epoch authenticator %x, committer has %x", short(a.Authenticator), short(adv.Authenticator))}
		}
	}
	if w := outs[win].welcome; w != nil {
		var tree []byte
		if commits[win].RatchetTree == transitions.TreeOmit {
			tree, err = winner.State().Tree().Encode()
			if err != nil {
				return &Error{Op: op, Member: winner.Name, Err: err}
			}
		}
		for _, ref := range w.To {
			j := s.byKeyPackage(ref)
			if j == nil {
				return &Error{Op: op, Err: fmt.Errorf("welcome for unknown key package %x", short(ref))}
			}
			if err := s.join(op, j, w.Welcome, tree, adv.Authenticator); err != nil {
				return err
			}
		}
	}
	return nil
}

func short(b []byte) []byte { return b[:min(len(b), 8)] }

func (s *Sim) byKeyPackage(ref []byte) *Member {
	for _, m := range s.members {
		if !m.joined && bytes.Equal(m.kpRef, ref) {
			return m
		}
	}
	return nil
}

func (s *Sim) join(op Op, j *Member, welcome, tree, auth []byte) error {
	effs, err := s.apply(op, j, transitions.JoinWelcome{At: s.now, Welcome: welcome, RatchetTree: tree, Config: j.config})
	if err != nil {
		return err
	}
	if _, ok := effects.Find[effects.WelcomeStaged](effs); !ok {
		return &Error{Op: op, Member: j.Name, Err: errors.New("welcome not staged")}
	}
	effs, err = s.apply(op, j, transitions.AcceptJoin{At: s.now})
	if err != nil {
		return err
	}
	jd, ok := effects.Find[effects.Joined](effs)
	if !ok {
		return &Error{Op: op, Member: j.Name, Err: errors.New("join not reported")}
	}
	if !bytes.Equal(jd.Authenticator, auth) {
		return &Error{Op: op, Member: j.Name, Err: errors.New("joined an epoch with another authenticator")}
	}
	j.joined = true
	j.kpRef = nil
	s.stats.Joined++
	return nil
}

// Send has random members send n application messages; each copy is
// queued for every other member, subject to the faults.
func (s *Sim) Send(n int) error {
	for range n {
		from := s.randomActive()
		data := fmt.Appendf(nil, "message %d from %s", s.nextMsg, from.Name)
		effs, err := s.apply(OpSend, from, transitions.Protect{At: s.now, Data: data})
		if err != nil {
			return err
		}
		msg, ok := effects.Find[effects.SendToGroup](effs)
		if !ok {
			return &Error{Op: OpSend, Member: from.Name, Err: errors.New("application message not sent")}
		}
		id := s.nextMsg
		s.nextMsg++
		s.stats.AppSent++
		epoch := from.State().Epoch()
		for _, m := range s.Active() {
			if m == from {
				continue
			}
			if s.chance(s.cfg.Faults.Drop) {
				s.stats.AppDropped++
				continue
			}
			c := appCopy{id: id, msg: msg.Message, data: data, from: from, epoch: epoch}
			if s.chance(s.cfg.Faults.Delay) {
				c.hold = 1 + s.rng.IntN(4)
			}
			s.enqueue(m, c)
			if s.chance(s.cfg.Faults.Duplicate) {
				s.enqueue(m, c)
			}
		}
		for _, m := range s.Active() {
			if len(m.inbox) > maxInbox {
				if err := s.deliverOne(OpSend, m, 0); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// enqueue queues a copy; with the reorder fault it goes before a random
// earlier copy instead of at the end.
func (s *Sim) enqueue(m *Member, c appCopy) {
	at := len(m.inbox)
	if at > 0 && s.chance(s.cfg.Faults.Reorder) {
		at = s.rng.IntN(at)
	}
	m.inbox = slices.Insert(m.inbox, at, c)
}

// Deliver delivers queued application messages to random members: each
// queued copy whose delay has passed is delivered, in queue order.
func (s *Sim) Deliver() error {
	for _, m := range s.Active() {
		if s.rng.IntN(2) == 0 {
			continue
		}
		for i := 0; i < len(m.inbox); {
			if m.inbox[i].hold > 0 {
				m.inbox[i].hold--
				i++
				continue
			}
			if err := s.deliverOne(OpDeliver, m, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush delivers every queued copy sent more than keep epochs before the
// current one, so nothing becomes undecryptable when the epoch advances
// (members keep Config.MaxPastEpochs = 1 past epoch).
func (s *Sim) flush(op Op, keep uint64) error {
	for _, m := range s.Active() {
		cur := m.State().Epoch()
		for i := 0; i < len(m.inbox); {
			if m.inbox[i].epoch+keep <= cur {
				if err := s.deliverOne(op, m, i); err != nil {
					return err
				}
				continue
			}
			i++
		}
	}
	return nil
}

// deliverOne delivers m.inbox[i] and checks the result: the first copy
// of a message must decrypt to what was sent, from its sender; a later
// copy must be rejected without changing the state (its key is gone).
func (s *Sim) deliverOne(op Op, m *Member, i int) error {
	c := m.inbox[i]
	m.inbox = slices.Delete(m.inbox, i, i+1)
	before := m.State().Digest()
	effs, err := m.rec.Apply(transitions.Receive{At: s.now, Message: c.msg}, s.seed())
	s.stats.Events++
	var re *replay.RecordError
	if errors.As(err, &re) {
		return &Error{Op: op, Member: m.Name, Err: err}
	}
	if m.delivered[c.id] {
		s.stats.AppDuplicate++
		if err == nil {
			return &Error{Op: op, Member: m.Name, Err: fmt.Errorf("duplicate of message %d accepted", c.id)}
		}
		s.stats.Rejected++
		if m.State().Digest() != before {
			return &Error{Op: op, Member: m.Name, Err: errors.New("rejected duplicate changed the state")}
		}
		return nil
	}
	if err != nil {
		s.stats.Rejected++
		return &Error{Op: op, Member: m.Name, Err: fmt.Errorf("message %d (epoch %d) from %s: %w", c.id, c.epoch, c.from.Name, err)}
	}
	d, ok := effects.Find[effects.DeliverApplication](effs)
	if !ok || !bytes.Equal(d.Data, c.data) {
		return &Error{Op: op, Member: m.Name, Err: fmt.Errorf("message %d not delivered intact", c.id)}
	}
	if d.Sender != c.from.State().OwnLeaf() {
		return &Error{Op: op, Member: m.Name, Err: fmt.Errorf("message %d from leaf %d, sent by leaf %d", c.id, d.Sender, c.from.State().OwnLeaf())}
	}
	if m.delivered == nil {
		m.delivered = map[int]bool{}
	}
	m.delivered[c.id] = true
	s.stats.AppDelivered++
	if c.epoch != m.State().Epoch() {
		s.stats.AppLate++
	}
	return nil
}

// Drain delivers every queued application message.
func (s *Sim) Drain() error {
	for _, m := range s.Active() {
		for len(m.inbox) > 0 {
			if err := s.deliverOne(OpDeliver, m, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// Check compares the members: every active member is in the same epoch and
// agrees on the group id, tree hash, transcript hashes, epoch
// authenticator and roster; removed members are inactive.
func (s *Sim) Check() error {
	act := s.Active()
	if len(act) == 0 {
		return nil
	}
	ref := act[0].State().View()
	for _, m := range act {
		st := m.State()
		if !st.Active() {
			return &Error{Op: OpDeliver, Member: m.Name, Err: errors.New("check: member's state is not active")}
		}
		v := st.View()
		for _, f := range []struct {
			name string
			a, b any
		}{
			{"epoch", ref.Epoch, v.Epoch},
			{"group id", ref.GroupID, v.GroupID},
			{"tree hash", ref.TreeHash, v.TreeHash},
			{"confirmed transcript hash", ref.ConfirmedTranscriptHash, v.ConfirmedTranscriptHash},
			{"interim transcript hash", ref.InterimTranscriptHash, v.InterimTranscriptHash},
			{"epoch authenticator", ref.EpochAuthenticator, v.EpochAuthenticator},
		} {
			if f.a != f.b {
				return &Error{Op: OpDeliver, Member: m.Name, Err: fmt.Errorf("check: %s %v, %s has %v", f.name, f.b, act[0].Name, f.a)}
			}
		}
		if !slices.Equal(ref.Members, v.Members) {
			return &Error{Op: OpDeliver, Member: m.Name, Err: fmt.Errorf("check: roster differs from %s's", act[0].Name)}
		}
		if len(v.Members) != len(act) {
			return &Error{Op: OpDeliver, Member: m.Name, Err: fmt.Errorf("check: roster has %d members, the simulation %d", len(v.Members), len(act))}
		}
	}
	for _, m := range s.members {
		if m.removed && m.State().Active() {
			return &Error{Op: OpRemove, Member: m.Name, Err: errors.New("check: removed member still active")}
		}
	}
	return nil
}
