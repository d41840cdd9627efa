package mls

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/valsem"
)

// testTime is the fixed clock of the tests (2025-01-01).
var testTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return testTime }

// seeds returns a deterministic seed sequence named name.
func seeds(name string) func() [32]byte {
	var n uint64
	return func() [32]byte {
		n++
		h := sha256.New()
		h.Write([]byte(name))
		binary.Write(h, binary.BigEndian, n)
		var s [32]byte
		copy(s[:], h.Sum(nil))
		return s
	}
}

func testOptions(name string) *Options {
	return &Options{Clock: fixedClock, Seed: seeds(name)}
}

// backend makes one member's storage.
type backend struct {
	name string
	new  func(t *testing.T, member string) Storage
}

var backends = []backend{
	{"memory", func(t *testing.T, member string) Storage { return NewMemoryStorage() }},
	{"dir", func(t *testing.T, member string) Storage {
		d, err := OpenDirStorage(filepath.Join(t.TempDir(), member))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}},
}

// party is one test member: a client and its group.
type party struct {
	name  string
	store Storage
	c     *Client
	g     *Group
}

func newParty(t *testing.T, b backend, name string) *party {
	t.Helper()
	st := b.new(t, name)
	c, err := NewClient(st, []byte(name), testOptions(name))
	if err != nil {
		t.Fatal(err)
	}
	return &party{name: name, store: st, c: c}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// deliver hands msg to every party but from and the excluded ones, merges
// commits, and returns what each processed.
func deliver(t *testing.T, from *party, msg []byte, to ...*party) map[string]*ProcessedMessage {
	t.Helper()
	got := map[string]*ProcessedMessage{}
	for _, p := range to {
		if p == from || p.g == nil || !p.g.Active() {
			continue
		}
		pm, err := p.g.ProcessMessage(msg)
		if err != nil {
			t.Fatalf("%s processing %s's message: %v", p.name, from.name, err)
		}
		if pm.Kind == CommitMessage {
			check(t, p.g.MergeStagedCommit())
		}
		got[p.name] = pm
	}
	return got
}

// agree checks that the active parties agree on the epoch, the epoch
// authenticator, an exported secret and the roster, and read each other.
func agree(t *testing.T, ps ...*party) {
	t.Helper()
	var ref *party
	for _, p := range ps {
		if p.g == nil || !p.g.Active() {
			continue
		}
		if ref == nil {
			ref = p
			continue
		}
		if p.g.Epoch() != ref.g.Epoch() || !bytes.Equal(p.g.EpochAuthenticator(), ref.g.EpochAuthenticator()) {
			t.Fatalf("%s and %s disagree: epoch %d/%d", p.name, ref.name, p.g.Epoch(), ref.g.Epoch())
		}
		a := must[[]byte](t)(p.g.Export("test", []byte("ctx"), 32))
		b := must[[]byte](t)(ref.g.Export("test", []byte("ctx"), 32))
		if !bytes.Equal(a, b) {
			t.Fatalf("%s and %s export different secrets", p.name, ref.name)
		}
		if len(p.g.Members()) != len(ref.g.Members()) {
			t.Fatalf("%s and %s disagree on the roster", p.name, ref.name)
		}
	}
	for _, p := range ps {
		if p.g == nil || !p.g.Active() {
			continue
		}
		text := fmt.Appendf(nil, "hello from %s in epoch %d", p.name, p.g.Epoch())
		msg := must[[]byte](t)(p.g.Send(text))
		for name, pm := range deliver(t, p, msg, activeOf(ps)...) {
			if pm.Kind != ApplicationMessage || !bytes.Equal(pm.Data, text) || pm.Sender.LeafIndex != p.g.OwnLeaf() {
				t.Fatalf("%s got %+v from %s", name, pm, p.name)
			}
		}
	}
}

func activeOf(ps []*party) []*party {
	var out []*party
	for _, p := range ps {
		if p.g != nil && p.g.Active() {
			out = append(out, p)
		}
	}
	return out
}

// TestScenario drives the whole Group API with four members, on both
// storage backends: create, add by Welcome (staged and one-step),
// messages, self-update, leave, external join, PSK, proposals by
// reference, rejections with typed errors, and a restart of every member.
func TestScenario(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			alice, bob, carol, dave := newParty(t, b, "alice"), newParty(t, b, "bob"), newParty(t, b, "carol"), newParty(t, b, "dave")
			all := []*party{alice, bob, carol, dave}

			alice.g = must[*Group](t)(alice.c.CreateGroup(&GroupOptions{GroupID: []byte("group-1")}))
			if alice.g.Epoch() != 0 || len(alice.g.Members()) != 1 {
				t.Fatal("new group is not at epoch 0 with one member")
			}

			// Add bob; he inspects the Welcome before joining.
			kp := must[[]byte](t)(bob.c.KeyPackage())
			out := must[Outgoing](t)(alice.g.AddMembers(kp))
			if out.Commit == nil || out.Welcome == nil || len(out.WelcomeTo) != 1 {
				t.Fatalf("add: %+v", out)
			}
			check(t, alice.g.MergePendingCommit())
			tree := must[[]byte](t)(alice.g.RatchetTree())
			sw := must[*StagedWelcome](t)(bob.c.StageWelcome(out.Welcome, tree, nil))
			if !bytes.Equal(sw.GroupID(), []byte("group-1")) || sw.Epoch() != 1 || len(sw.Members()) != 2 ||
				!bytes.Equal(sw.Sender().Identity, []byte("alice")) {
				t.Fatalf("staged welcome: group %q epoch %d, %d members, sender %q", sw.GroupID(), sw.Epoch(), len(sw.Members()), sw.Sender().Identity)
			}
			bob.g = must[*Group](t)(sw.Accept())
			if _, err := sw.Accept(); !errors.Is(err, ErrJoinDone) {
				t.Fatalf("second Accept: %v", err)
			}
			agree(t, all...)

			// The key package was used: a second Welcome for it fails.
			if _, err := bob.c.StageWelcome(out.Welcome, tree, nil); err == nil {
				t.Fatal("a used key package joined again")
			}

			// Bob adds carol; she joins in one step.
			kp = must[[]byte](t)(carol.c.KeyPackage())
			out = must[Outgoing](t)(bob.g.AddMembers(kp))
			deliver(t, bob, out.Commit, alice)
			check(t, bob.g.MergePendingCommit())
			carol.g = must[*Group](t)(carol.c.JoinGroup(out.Welcome, must[[]byte](t)(bob.g.RatchetTree())))
			agree(t, all...)

			// Carol updates her keys.
			out = must[Outgoing](t)(carol.g.SelfUpdate())
			deliver(t, carol, out.Commit, alice, bob)
			check(t, carol.g.MergePendingCommit())
			agree(t, all...)

			// Bob proposes an update by reference; alice commits it.
			msg, ref, err := bob.g.ProposeSelfUpdate()
			check(t, err)
			got := deliver(t, bob, msg, alice, carol)
			if pm := got["alice"]; pm.Kind != ProposalMessage || !bytes.Equal(pm.Proposal.Ref, ref) {
				t.Fatalf("alice got %+v, want the proposal %x", pm, ref)
			}
			out = must[Outgoing](t)(alice.g.CommitPendingProposals())
			got = deliver(t, alice, out.Commit, bob, carol)
			if sc := got["carol"].Commit; len(sc.Updated) != 1 || sc.Updated[0] != bob.g.OwnLeaf() {
				t.Fatalf("carol staged %+v", sc)
			}
			check(t, alice.g.MergePendingCommit())
			agree(t, all...)

			// A commit that loses the race is cleared.
			out = must[Outgoing](t)(carol.g.SelfUpdate())
			check(t, carol.g.ClearPendingCommit())
			agree(t, all...)

			// A tampered message is rejected with a typed error and
			// changes nothing.
			msg = must[[]byte](t)(alice.g.Send([]byte("original")))
			bad := bytes.Clone(msg)
			bad[len(bad)-1] ^= 1
			before := bob.g.State().Digest()
			if _, err := bob.g.ProcessMessage(bad); !errors.Is(err, valsem.ValSem006) {
				t.Fatalf("tampered message: %v, want ValSem006", err)
			}
			if bob.g.State().Digest() != before {
				t.Fatal("a rejected message changed the state")
			}
			deliver(t, alice, msg, bob, carol)
			// A replayed message is rejected too: its key is gone.
			if _, err := bob.g.ProcessMessage(msg); err == nil {
				t.Fatal("a replayed message was accepted")
			}

			// Dave joins externally from a GroupInfo.
			gi := must[[]byte](t)(alice.g.GroupInfo(true))
			dg, dout, err := dave.c.JoinExternal(gi, nil)
			check(t, err)
			dave.g = dg
			if dave.g.Active() || !dave.g.HasPendingCommit() {
				t.Fatal("external join not pending")
			}
			deliver(t, dave, dout.Commit, alice, bob, carol)
			check(t, dave.g.MergePendingCommit())
			agree(t, all...)

			// An external PSK every member holds.
			for _, p := range all {
				check(t, p.c.AddExternalPSK([]byte("psk-1"), []byte("shared secret")))
			}
			msg, _, err = dave.g.ProposeExternalPSK([]byte("psk-1"))
			check(t, err)
			deliver(t, dave, msg, all...)
			out = must[Outgoing](t)(bob.g.CommitPendingProposals())
			deliver(t, bob, out.Commit, all...)
			check(t, bob.g.MergePendingCommit())
			agree(t, all...)

			// Every member restarts from its storage.
			for _, p := range all {
				id := p.g.ID()
				epoch, auth := p.g.Epoch(), p.g.EpochAuthenticator()
				check(t, p.c.Close())
				p.c = must[*Client](t)(OpenClient(p.store, testOptions(p.name+"-reopened")))
				p.g = must[*Group](t)(p.c.OpenGroup(id))
				if p.g.Epoch() != epoch || !bytes.Equal(p.g.EpochAuthenticator(), auth) {
					t.Fatalf("%s reopened at epoch %d, want %d", p.name, p.g.Epoch(), epoch)
				}
			}
			agree(t, all...)

			// Carol leaves: alice commits her Remove proposal.
			msg = must[[]byte](t)(carol.g.Leave())
			deliver(t, carol, msg, alice, bob, dave)
			out = must[Outgoing](t)(alice.g.CommitPendingProposals())
			got = deliver(t, alice, out.Commit, all...)
			if !got["carol"].Commit.SelfRemoved || carol.g.Active() {
				t.Fatal("carol not removed")
			}
			check(t, alice.g.MergePendingCommit())
			if n := len(alice.g.Members()); n != 3 {
				t.Fatalf("%d members after carol left", n)
			}
			agree(t, all...)

			// Alice removes dave directly.
			out = must[Outgoing](t)(alice.g.RemoveMembers(dave.g.OwnLeaf()))
			deliver(t, alice, out.Commit, all...)
			check(t, alice.g.MergePendingCommit())
			if dave.g.Active() {
				t.Fatal("dave still active")
			}
			agree(t, all...)
			if _, err := dave.g.Send([]byte("x")); !errors.Is(err, transitions.ErrWrongState) {
				t.Fatalf("a removed member sent: %v", err)
			}
			check(t, carol.g.Delete())
			if ids := must[[][]byte](t)(carol.c.Groups()); len(ids) != 0 {
				t.Fatalf("carol's storage still holds %d groups", len(ids))
			}
			for _, p := range all {
				check(t, p.c.Close())
			}
		})
	}
}

// TestStagedCommitDiscard checks that an application can refuse a commit.
func TestStagedCommitDiscard(t *testing.T) {
	b := backends[0]
	alice, bob := newParty(t, b, "alice"), newParty(t, b, "bob")
	cfg := state.DefaultConfig()
	cfg.RatchetTreeExtension = true
	alice.g = must[*Group](t)(alice.c.CreateGroup(&GroupOptions{Config: &cfg}))
	out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
	check(t, alice.g.MergePendingCommit())
	bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, nil)) // the tree is in the Welcome
	out = must[Outgoing](t)(alice.g.SelfUpdate())
	pm := must[*ProcessedMessage](t)(bob.g.ProcessMessage(out.Commit))
	if pm.Kind != CommitMessage || pm.Commit == nil {
		t.Fatalf("got %+v", pm)
	}
	check(t, bob.g.DiscardStagedCommit())
	if bob.g.Epoch() != 1 {
		t.Fatalf("bob at epoch %d after discarding", bob.g.Epoch())
	}
	// The delivery service did not take alice's commit either.
	check(t, alice.g.ClearPendingCommit())
	agree(t, alice, bob)
	out = must[Outgoing](t)(alice.g.SelfUpdate())
	deliver(t, alice, out.Commit, bob)
	check(t, alice.g.MergePendingCommit())
	agree(t, alice, bob)
}

// TestRestart creates a group on the file backend, adds a member,
// exchanges messages, closes everything, reopens from the directories
// and continues, with both the default log and one that keeps records.
func TestRestart(t *testing.T) {
	for _, keep := range []int{0, 3, KeepAllRecords} {
		t.Run(fmt.Sprintf("keep=%d", keep), func(t *testing.T) {
			dir := t.TempDir()
			opts := func(name string) *Options {
				o := testOptions(name)
				o.KeepRecords = keep
				return o
			}
			open := func(name string) Storage {
				s, err := OpenDirStorage(filepath.Join(dir, name))
				check(t, err)
				return s
			}
			alice := &party{name: "alice", store: open("alice")}
			bob := &party{name: "bob", store: open("bob")}
			alice.c = must[*Client](t)(NewClient(alice.store, []byte("alice"), opts("alice")))
			bob.c = must[*Client](t)(NewClient(bob.store, []byte("bob"), opts("bob")))
			if _, err := NewClient(alice.store, []byte("alice"), opts("x")); !errors.Is(err, ErrClientExists) {
				t.Fatalf("second NewClient: %v", err)
			}
			alice.g = must[*Group](t)(alice.c.CreateGroup(nil))
			out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
			check(t, alice.g.MergePendingCommit())
			bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))
			for i := range 5 {
				agree(t, alice, bob)
				if i%2 == 0 {
					out = must[Outgoing](t)(bob.g.SelfUpdate())
					deliver(t, bob, out.Commit, alice)
					check(t, bob.g.MergePendingCommit())
				}
			}
			// A message sent before the restart, delivered after it.
			late := must[[]byte](t)(alice.g.Send([]byte("sent before the restart")))
			id := alice.g.ID()
			epoch := alice.g.Epoch()
			check(t, alice.c.Close())
			check(t, bob.c.Close())
			if _, err := alice.g.Send([]byte("x")); !errors.Is(err, ErrClosed) {
				t.Fatalf("send on a closed group: %v", err)
			}

			if _, err := OpenDirStorage(filepath.Join(dir, "alice")); !errors.Is(err, ErrLocked) {
				t.Fatalf("second OpenDirStorage of an open directory: %v", err)
			}
			check(t, alice.store.(*DirStorage).Close())
			check(t, bob.store.(*DirStorage).Close())
			alice.store, bob.store = open("alice"), open("bob")
			alice.c = must[*Client](t)(OpenClient(alice.store, opts("alice-2")))
			bob.c = must[*Client](t)(OpenClient(bob.store, opts("bob-2")))
			if !bytes.Equal(alice.c.Identity(), []byte("alice")) {
				t.Fatalf("reopened identity %q", alice.c.Identity())
			}
			ids := must[[][]byte](t)(bob.c.Groups())
			if len(ids) != 1 || !bytes.Equal(ids[0], id) {
				t.Fatalf("bob's groups: %x", ids)
			}
			alice.g = must[*Group](t)(alice.c.OpenGroup(id))
			bob.g = must[*Group](t)(bob.c.OpenGroup(id))
			if alice.g.Epoch() != epoch || bob.g.Epoch() != epoch {
				t.Fatalf("reopened at epochs %d/%d, want %d", alice.g.Epoch(), bob.g.Epoch(), epoch)
			}
			pm := must[*ProcessedMessage](t)(bob.g.ProcessMessage(late))
			if string(pm.Data) != "sent before the restart" {
				t.Fatalf("late message: %q", pm.Data)
			}
			agree(t, alice, bob)
			carol := newParty(t, backends[1], "carol")
			out = must[Outgoing](t)(bob.g.AddMembers(must[[]byte](t)(carol.c.KeyPackage())))
			deliver(t, bob, out.Commit, alice)
			check(t, bob.g.MergePendingCommit())
			carol.g = must[*Group](t)(carol.c.JoinGroup(out.Welcome, must[[]byte](t)(bob.g.RatchetTree())))
			agree(t, alice, bob, carol)

			// The log keeps at most keep records after its snapshot.
			data := must[[]byte](t)(alice.c.ExportLog(id))
			l := must[*replay.Log](t)(replay.ReadLog(data))
			if keep >= 0 && len(l.Records) > keep {
				t.Fatalf("log keeps %d records, want at most %d", len(l.Records), keep)
			}
			if keep == KeepAllRecords {
				if len(l.Records) < 10 {
					t.Fatalf("full log keeps only %d records", len(l.Records))
				}
				// A debugging log replays on its own (mls replay).
				res, err := replay.ReplayLog(l, nil)
				check(t, err)
				if res.Final().Digest() != alice.g.State().Digest() {
					t.Fatal("the full log does not replay to the current state")
				}
			}
			for _, p := range []*party{alice, bob, carol} {
				check(t, p.c.Close())
			}
		})
	}
}

// TestTornLogTail checks that a record torn by a crash during its append
// is dropped on reopening (its bytes erased), and the group continues
// from the state before.
func TestTornLogTail(t *testing.T) {
	for _, keep := range []int{0, 10} {
		t.Run(fmt.Sprintf("keep=%d", keep), func(t *testing.T) {
			dir := t.TempDir()
			store := must[*DirStorage](t)(OpenDirStorage(dir))
			o := testOptions("alice")
			o.KeepRecords = keep
			c := must[*Client](t)(NewClient(store, []byte("alice"), o))
			g := must[*Group](t)(c.CreateGroup(nil))
			digest := g.State().Digest()
			// The file as it was before "one", and with "one"'s record
			// torn: what a crash during its append leaves. (The first
			// message of an epoch appends a record; the next ones
			// overwrite their sender's entry in place.)
			path := filepath.Join(dir, dirDataFile)
			before, err := os.ReadFile(path)
			check(t, err)
			must[[]byte](t)(g.Send([]byte("one")))
			check(t, c.Close())
			check(t, store.Close())
			data, err := os.ReadFile(path)
			check(t, err)
			torn := data[len(before) : len(data)-5]
			check(t, os.WriteFile(path, append(before, torn...), 0o600))
			store = must[*DirStorage](t)(OpenDirStorage(dir))
			after, err := os.ReadFile(path)
			check(t, err)
			if len(after) != len(before) || bytes.Contains(after, torn[len(torn)/2:]) {
				t.Fatalf("the torn record is still in the file (%d bytes, want %d)", len(after), len(before))
			}
			c = must[*Client](t)(OpenClient(store, o))
			g = must[*Group](t)(c.OpenGroup(g.ID()))
			if g.State().Digest() != digest {
				t.Fatal("reopened state is not the one before the torn record")
			}
			must[[]byte](t)(g.Send([]byte("three")))
			check(t, c.Close())
			c = must[*Client](t)(OpenClient(store, o))
			must[*Group](t)(c.OpenGroup(g.ID()))
			check(t, store.Close())
		})
	}
}

// TestDeleteSecretErasesFiles checks that the key package's secret is
// erased from the files once the join is durable, and only then: it is
// still there while the Welcome is merely staged.
func TestDeleteSecretErasesFiles(t *testing.T) {
	dir := t.TempDir()
	store, err := OpenDirStorage(dir)
	check(t, err)
	bob := must[*Client](t)(NewClient(store, []byte("bob"), testOptions("bob")))
	alice := must[*Client](t)(NewClient(NewMemoryStorage(), []byte("alice"), testOptions("alice")))
	kp := must[[]byte](t)(bob.KeyPackage())
	kpPrefix := []byte{'s', '/', byte(effects.SecretKeyPackage)}
	kpKeys := func() [][]byte { return must[[][]byte](t)(store.Keys(ctx, kpPrefix)) }
	keys := kpKeys()
	if len(keys) != 1 {
		t.Fatalf("%d key package secrets after KeyPackage, want 1", len(keys))
	}
	secret := must[[]byte](t)(store.Get(ctx, keys[0]))
	inFile := func() bool {
		data, err := os.ReadFile(filepath.Join(dir, dirDataFile))
		check(t, err)
		return bytes.Contains(data, secret)
	}
	if !inFile() {
		t.Fatal("the key package's secret is not in the data file")
	}
	ag := must[*Group](t)(alice.CreateGroup(nil))
	out := must[Outgoing](t)(ag.AddMembers(kp))
	check(t, ag.MergePendingCommit())
	sw := must[*StagedWelcome](t)(bob.StageWelcome(out.Welcome, must[[]byte](t)(ag.RatchetTree()), nil))
	if n := len(kpKeys()); n != 1 {
		t.Fatalf("the key package was erased before the join was accepted (%d left)", n)
	}
	// Make the commit fail: the join does not happen and nothing is
	// erased.
	failing := &failStorage{Storage: store, failLog: true}
	bob.store = failing
	if _, err := sw.Accept(); err == nil {
		t.Fatal("accept succeeded without a durable log")
	}
	if n := len(kpKeys()); n != 1 || !inFile() {
		t.Fatalf("the key package was erased although the state is not durable (%d left)", n)
	}
	bob.store = store
	bg := must[*Group](t)(sw.Accept())
	if n := len(kpKeys()); n != 0 {
		t.Fatalf("%d key package secrets after the join, want 0", n)
	}
	// The erased secret's bytes are gone from the file, the group is there.
	if inFile() {
		t.Fatal("the key package's secret is still in the data file")
	}
	if ids := must[[][]byte](t)(bob.Groups()); len(ids) != 1 || !bytes.Equal(ids[0], bg.ID()) {
		t.Fatalf("bob's groups: %x", ids)
	}
	// A reopened client cannot use the key package again.
	check(t, bob.Close())
	check(t, store.Close())
	store = must[*DirStorage](t)(OpenDirStorage(dir))
	if inFile() {
		t.Fatal("the key package's secret is in the data file after reopening")
	}
	bob = must[*Client](t)(OpenClient(store, testOptions("bob-2")))
	if _, err := bob.StageWelcome(out.Welcome, must[[]byte](t)(ag.RatchetTree()), nil); err == nil {
		t.Fatal("joined again with an erased key package")
	}
	check(t, store.Close())
}

// failStorage fails commits on demand.
type failStorage struct {
	Storage
	failLog bool
}

var errInjected = errors.New("injected storage failure")

func (f *failStorage) Commit(ctx context.Context, b *Batch) error {
	if f.failLog {
		return errInjected
	}
	return f.Storage.Commit(ctx, b)
}

// TestLogFailureLeavesGroupUnchanged checks step 1 of the effects order:
// when the log cannot be written, the operation fails, the state does not
// advance, and no message is returned.
func TestLogFailureLeavesGroupUnchanged(t *testing.T) {
	fs := &failStorage{Storage: NewMemoryStorage()}
	c := must[*Client](t)(NewClient(fs, []byte("alice"), testOptions("alice")))
	g := must[*Group](t)(c.CreateGroup(nil))
	before := g.State().Digest()
	fs.failLog = true
	msg, err := g.Send([]byte("lost"))
	if !errors.Is(err, errInjected) || msg != nil {
		t.Fatalf("send with a failing log: %x, %v", msg, err)
	}
	if g.State().Digest() != before {
		t.Fatal("the state advanced without a durable log")
	}
	fs.failLog = false
	must[[]byte](t)(g.Send([]byte("kept")))
}

// TestDeterminism checks that time and entropy are injected: the same
// seeds and clock give the same messages, bit for bit, and a different
// seed sequence gives different ones.
func TestDeterminism(t *testing.T) {
	run := func(seedName string) [][]byte {
		var outs [][]byte
		alice := must[*Client](t)(NewClient(NewMemoryStorage(), []byte("alice"), &Options{Clock: fixedClock, Seed: seeds(seedName + "a")}))
		bob := must[*Client](t)(NewClient(NewMemoryStorage(), []byte("bob"), &Options{Clock: fixedClock, Seed: seeds(seedName + "b")}))
		kp := must[[]byte](t)(bob.KeyPackage())
		g := must[*Group](t)(alice.CreateGroup(nil))
		out := must[Outgoing](t)(g.AddMembers(kp))
		check(t, g.MergePendingCommit())
		outs = append(outs, kp, g.ID(), out.Commit, out.Welcome)
		bg := must[*Group](t)(bob.JoinGroup(out.Welcome, must[[]byte](t)(g.RatchetTree())))
		msg := must[[]byte](t)(bg.Send([]byte("hi")))
		out = must[Outgoing](t)(bg.SelfUpdate())
		outs = append(outs, msg, out.Commit, bg.EpochAuthenticator())
		return outs
	}
	a, b, other := run("x"), run("x"), run("y")
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("output %d differs between two runs with the same seeds", i)
		}
		if bytes.Equal(a[i], other[i]) {
			t.Fatalf("output %d is the same with other seeds", i)
		}
	}
	// The clock reaches the events: a key package made in 2025 is
	// rejected by a group whose clock says 2030.
	late := &Options{Clock: func() time.Time { return testTime.AddDate(5, 0, 0) }, Seed: seeds("late")}
	alice := must[*Client](t)(NewClient(NewMemoryStorage(), []byte("alice"), late))
	bob := must[*Client](t)(NewClient(NewMemoryStorage(), []byte("bob"), testOptions("bob")))
	g := must[*Group](t)(alice.CreateGroup(nil))
	if _, err := g.AddMembers(must[[]byte](t)(bob.KeyPackage())); err == nil {
		t.Fatal("an expired key package was added")
	}
}

// TestConcurrentUse sends from several goroutines on one Group.
func TestConcurrentUse(t *testing.T) {
	alice := newParty(t, backends[0], "alice")
	bob := newParty(t, backends[0], "bob")
	alice.g = must[*Group](t)(alice.c.CreateGroup(nil))
	out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
	check(t, alice.g.MergePendingCommit())
	bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))
	const n = 8
	msgs := make(chan []byte, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			m, err := alice.g.Send(fmt.Appendf(nil, "message %d", i))
			msgs <- m
			errs <- err
		}()
	}
	for range n {
		check(t, <-errs)
		must[*ProcessedMessage](t)(bob.g.ProcessMessage(<-msgs))
	}
}

// TestMoreOperations covers the remaining operations: custom and group
// context extension proposals, dropping a proposal, a last-resort key
// package, a rejected external join, a resync, and bad key packages.
func TestMoreOperations(t *testing.T) {
	b := backends[1]
	const custom = codec.ProposalType(0xF0F0)
	caps := codec.Capabilities{Proposals: []codec.ProposalType{custom}, Extensions: []codec.ExtensionType{0xF001}}
	mk := func(name string) *party {
		st := b.new(t, name)
		o := testOptions(name)
		o.Capabilities = caps
		c, err := NewClient(st, []byte(name), o)
		check(t, err)
		return &party{name: name, store: st, c: c}
	}
	alice, bob, carol := mk("alice"), mk("bob"), mk("carol")
	all := []*party{alice, bob, carol}
	alice.g = must[*Group](t)(alice.c.CreateGroup(nil))

	if _, err := alice.g.AddMembers([]byte("not a key package")); err == nil {
		t.Fatal("garbage added")
	}
	if _, err := alice.g.AddMembers(must[[]byte](t)(alice.g.GroupInfo(false))); !errors.Is(err, ErrNotKeyPackage) {
		t.Fatalf("a GroupInfo as a key package: %v", err)
	}

	// A last-resort key package serves two Welcomes.
	kp := must[[]byte](t)(bob.c.LastResortKeyPackage())
	out := must[Outgoing](t)(alice.g.AddMembers(kp))
	check(t, alice.g.MergePendingCommit())
	bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))
	other := must[*Group](t)(alice.c.CreateGroup(nil))
	out2 := must[Outgoing](t)(other.AddMembers(kp))
	check(t, other.MergePendingCommit())
	must[*Group](t)(bob.c.JoinGroup(out2.Welcome, must[[]byte](t)(other.RatchetTree())))
	agree(t, all...)

	// A custom proposal, committed.
	msg, _, err := bob.g.ProposeCustom(custom, []byte("custom data"))
	check(t, err)
	got := deliver(t, bob, msg, alice)
	if p := got["alice"].Proposal.Proposal; p.ProposalType != custom || string(p.Data) != "custom data" {
		t.Fatalf("alice got %+v", p)
	}
	out = must[Outgoing](t)(alice.g.CommitPendingProposals())
	got = deliver(t, alice, out.Commit, bob)
	if ps := got["bob"].Commit.Proposals; len(ps) != 1 || ps[0].Proposal.ProposalType != custom {
		t.Fatalf("bob staged %+v", got["bob"].Commit)
	}
	check(t, alice.g.MergePendingCommit())
	agree(t, all...)

	// A group context extensions proposal, then dropped.
	exts := codec.Extensions{{ExtensionType: 0xF001, ExtensionData: []byte("app")}}
	_, ref, err := alice.g.ProposeGroupContextExtensions(exts)
	check(t, err)
	if n := len(alice.g.PendingProposals()); n != 1 {
		t.Fatalf("%d pending proposals", n)
	}
	check(t, alice.g.DropProposal(ref))
	if n := len(alice.g.PendingProposals()); n != 0 {
		t.Fatalf("%d pending proposals after the drop", n)
	}
	msg, _, err = alice.g.ProposeGroupContextExtensions(exts)
	check(t, err)
	deliver(t, alice, msg, bob)
	out = must[Outgoing](t)(bob.g.CommitPendingProposals())
	deliver(t, bob, out.Commit, alice)
	check(t, bob.g.MergePendingCommit())
	if e := alice.g.State().GroupContext().Extensions; len(e) != 1 || e[0].ExtensionType != 0xF001 {
		t.Fatalf("group context extensions %+v", e)
	}
	agree(t, all...)

	// Carol's external join is rejected by the delivery service: the
	// group is gone from her storage.
	gi := must[[]byte](t)(alice.g.GroupInfo(true))
	cg, _, err := carol.c.JoinExternal(gi, nil)
	check(t, err)
	if ids := must[[][]byte](t)(carol.c.Groups()); len(ids) != 1 {
		t.Fatalf("carol stores %d groups while joining", len(ids))
	}
	check(t, cg.ClearPendingCommit())
	if ids := must[[][]byte](t)(carol.c.Groups()); len(ids) != 0 {
		t.Fatalf("carol stores %d groups after the rejected join", len(ids))
	}
	if _, err := cg.Send([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after a rejected join: %v", err)
	}
	// A second try succeeds.
	cg, cout, err := carol.c.JoinExternal(gi, nil)
	check(t, err)
	carol.g = cg
	deliver(t, carol, cout.Commit, alice, bob)
	check(t, carol.g.MergePendingCommit())
	agree(t, all...)

	// Bob resyncs: an external commit replacing his leaf.
	out = must[Outgoing](t)(bob.g.Resync(must[[]byte](t)(alice.g.GroupInfo(true)), nil))
	deliver(t, bob, out.Commit, alice, carol)
	check(t, bob.g.MergePendingCommit())
	if n := len(alice.g.Members()); n != 3 {
		t.Fatalf("%d members after the resync, want 3", n)
	}
	agree(t, all...)
	for _, p := range all {
		check(t, p.c.Close())
	}
}
