package mls_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mls "github.com/mlscore/mlscore"
)

// The store fixtures: in testdata/store/vX.Y, two clients' DirStorage
// directories written by version X.Y, and facts.json, what must be true
// after opening them. TestStoreFixture opens every one with the current
// code; a change of the store's layout or of the snapshot encoding that
// the current code no longer reads makes it fail. A fixture is written
// once per release line (the directory of the current mls.Version's
// X.Y), committed, and never rewritten after that version is released:
//
//	go test -run TestStoreFixture -update-store-fixture .
var updateStoreFixture = flag.Bool("update-store-fixture", false, "rewrite testdata/store/vX.Y for the current mls.Version (then commit it)")

// currentStoreFixtureDir is the fixture directory of mls.Version's
// release line.
func currentStoreFixtureDir() string {
	v := mls.Version
	if i := strings.IndexByte(v, '-'); i >= 0 {
		v = v[:i]
	}
	if i := strings.LastIndexByte(v, '.'); i >= 0 {
		v = v[:i]
	}
	return filepath.Join("testdata", "store", "v"+v)
}

// storeFacts is facts.json.
type storeFacts struct {
	Version string         `json:"version"` // mls.Version that wrote the fixture
	Suite   uint16         `json:"suite"`
	Clients []storeClient  `json:"clients"`
	Unacked []storeUnacked `json:"unacked"` // bob's kept, unacknowledged messages (AtLeastOnce)
}

type storeClient struct {
	Dir      string       `json:"dir"`
	Identity string       `json:"identity"`
	Groups   []storeGroup `json:"groups"`
}

type storeGroup struct {
	ID                 string   `json:"id"` // hex
	Epoch              uint64   `json:"epoch"`
	OwnLeaf            uint32   `json:"own_leaf"`
	Members            []string `json:"members"` // identities in leaf order
	EpochAuthenticator string   `json:"epoch_authenticator"`
}

type storeUnacked struct {
	Group string `json:"group"` // hex
	Data  string `json:"data"`
}

// fixtureClock is the fixture's clock, in generation and in the test: the
// stored key packages' and leaves' lifetimes are checked against it.
func fixtureClock() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// fixtureSeeds is a deterministic seed sequence for one client.
func fixtureSeeds(name string) func() [32]byte {
	var n uint64
	return func() [32]byte {
		var s [32]byte
		copy(s[:], name)
		n++
		binary.BigEndian.PutUint64(s[24:], n)
		return s
	}
}

// fixtureOptions are each client's options; the test reopens with the same.
func fixtureOptions(name string) *mls.Options {
	o := &mls.Options{Clock: fixtureClock, Seed: fixtureSeeds(name)}
	if name == "bob" {
		o.KeepRecords = 4 // bob's store also holds event records
		o.AtLeastOnce = true
	}
	return o
}

func fixtureMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeStoreFixture writes the fixture: alice and bob (in DirStorage) and
// carol (in memory, not kept) in group "fixture-group-1", alice and bob in
// "fixture-group-2", a few epochs and messages in each.
func writeStoreFixture(t *testing.T) {
	storeFixtureDir := currentStoreFixtureDir()
	fixtureMust(t, os.RemoveAll(storeFixtureDir))
	fixtureMust(t, os.MkdirAll(storeFixtureDir, 0o755))
	open := func(name string) (*mls.DirStorage, *mls.Client) {
		st, err := mls.OpenDirStorage(filepath.Join(storeFixtureDir, name))
		fixtureMust(t, err)
		c, err := mls.NewClient(st, []byte(name), fixtureOptions(name))
		fixtureMust(t, err)
		return st, c
	}
	aliceStore, alice := open("alice")
	bobStore, bob := open("bob")
	carol, err := mls.NewClient(mls.NewMemoryStorage(), []byte("carol"), fixtureOptions("carol"))
	fixtureMust(t, err)

	// deliver processes a message at every receiver and merges a commit.
	deliver := func(msg []byte, to ...*mls.Group) []*mls.ProcessedMessage {
		var pms []*mls.ProcessedMessage
		for _, g := range to {
			pm, err := g.ProcessMessage(msg)
			fixtureMust(t, err)
			if pm.Kind == mls.CommitMessage {
				fixtureMust(t, g.MergeStagedCommit())
			}
			pms = append(pms, pm)
		}
		return pms
	}
	join := func(c *mls.Client, out mls.Outgoing, tree []byte) *mls.Group {
		g, err := c.JoinGroup(out.Welcome, tree)
		fixtureMust(t, err)
		return g
	}

	// Group 1: alice creates it, adds bob and carol.
	a1, err := alice.CreateGroup(&mls.GroupOptions{GroupID: []byte("fixture-group-1")})
	fixtureMust(t, err)
	kpBob, err := bob.KeyPackage()
	fixtureMust(t, err)
	kpCarol, err := carol.KeyPackage()
	fixtureMust(t, err)
	out, err := a1.AddMembers(kpBob, kpCarol)
	fixtureMust(t, err)
	fixtureMust(t, a1.MergePendingCommit())
	tree, err := a1.RatchetTree()
	fixtureMust(t, err)
	b1, c1 := join(bob, out, tree), join(carol, out, tree)
	for _, g := range []*mls.Group{b1, c1, a1} { // a commit by each
		out, err := g.SelfUpdate()
		fixtureMust(t, err)
		fixtureMust(t, g.MergePendingCommit())
		var others []*mls.Group
		for _, o := range []*mls.Group{a1, b1, c1} {
			if o != g {
				others = append(others, o)
			}
		}
		deliver(out.Commit, others...)
		msg, err := g.Send(fmt.Appendf(nil, "group 1, epoch %d", g.Epoch()))
		fixtureMust(t, err)
		for _, pm := range deliver(msg, others...) {
			if pm.DeliveryID != nil {
				fixtureMust(t, b1.Ack(pm.DeliveryID))
			}
		}
	}
	// One message bob receives and does not acknowledge: kept in his store.
	const unacked = "kept until acknowledged"
	msg, err := c1.Send([]byte(unacked))
	fixtureMust(t, err)
	deliver(msg, a1, b1)

	// Group 2: bob creates it and adds alice; alice commits once.
	b2, err := bob.CreateGroup(&mls.GroupOptions{GroupID: []byte("fixture-group-2")})
	fixtureMust(t, err)
	kpAlice, err := alice.KeyPackage()
	fixtureMust(t, err)
	out, err = b2.AddMembers(kpAlice)
	fixtureMust(t, err)
	fixtureMust(t, b2.MergePendingCommit())
	tree, err = b2.RatchetTree()
	fixtureMust(t, err)
	a2 := join(alice, out, tree)
	out, err = a2.SelfUpdate()
	fixtureMust(t, err)
	fixtureMust(t, a2.MergePendingCommit())
	deliver(out.Commit, b2)
	msg, err = b2.Send([]byte("group 2"))
	fixtureMust(t, err)
	for _, pm := range deliver(msg, a2) {
		if pm.DeliveryID != nil {
			t.Fatal("alice does not keep messages")
		}
	}
	// A spare key package of alice's stays in her store.
	_, err = alice.KeyPackage()
	fixtureMust(t, err)

	groupFacts := func(g *mls.Group) storeGroup {
		var members []string
		for _, m := range g.Members() {
			members = append(members, string(m.Identity))
		}
		return storeGroup{ID: hex.EncodeToString(g.ID()), Epoch: g.Epoch(), OwnLeaf: uint32(g.OwnLeaf()),
			Members: members, EpochAuthenticator: hex.EncodeToString(g.EpochAuthenticator())}
	}
	facts := storeFacts{
		Version: mls.Version,
		Suite:   uint16(alice.Suite()),
		Clients: []storeClient{
			{Dir: "alice", Identity: "alice", Groups: []storeGroup{groupFacts(a1), groupFacts(a2)}},
			{Dir: "bob", Identity: "bob", Groups: []storeGroup{groupFacts(b1), groupFacts(b2)}},
		},
		Unacked: []storeUnacked{{Group: hex.EncodeToString(b1.ID()), Data: unacked}},
	}
	fixtureMust(t, alice.Close())
	fixtureMust(t, bob.Close())
	fixtureMust(t, aliceStore.Close())
	fixtureMust(t, bobStore.Close())
	for _, name := range []string{"alice", "bob"} {
		fixtureMust(t, os.Remove(filepath.Join(storeFixtureDir, name, "LOCK")))
	}
	data, err := json.MarshalIndent(facts, "", "  ")
	fixtureMust(t, err)
	fixtureMust(t, os.WriteFile(filepath.Join(storeFixtureDir, "facts.json"), append(data, '\n'), 0o644))
}

// TestStoreFixture opens the stores written by earlier versions
// (testdata/store/v*) with the current code, checks what facts.json
// records — the clients' identities, their groups, epochs, members and
// epoch authenticators, bob's unacknowledged message — and then continues
// both groups: the reopened members exchange messages and commit.
func TestStoreFixture(t *testing.T) {
	if *updateStoreFixture {
		writeStoreFixture(t)
	}
	dirs, err := filepath.Glob(filepath.Join("testdata", "store", "v*"))
	fixtureMust(t, err)
	if len(dirs) == 0 {
		t.Fatal("no store fixture in testdata/store")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) { checkStoreFixture(t, dir) })
	}
}

// checkStoreFixture opens the fixture in storeFixtureDir and continues its
// groups.
func checkStoreFixture(t *testing.T, storeFixtureDir string) {
	raw, err := os.ReadFile(filepath.Join(storeFixtureDir, "facts.json"))
	fixtureMust(t, err)
	var facts storeFacts
	fixtureMust(t, json.Unmarshal(raw, &facts))
	if len(facts.Clients) != 2 || len(facts.Clients[0].Groups) != 2 || len(facts.Clients[1].Groups) != 2 {
		t.Fatalf("facts.json: want two clients with two groups each, got %+v", facts.Clients)
	}

	tmp := t.TempDir()
	clients := map[string]*mls.Client{}
	groups := map[string]map[string]*mls.Group{} // client → hex group id → group
	for _, cf := range facts.Clients {
		// A copy: the test must not change the committed fixture.
		dir := filepath.Join(tmp, cf.Dir)
		fixtureMust(t, os.MkdirAll(dir, 0o700))
		src, err := os.ReadDir(filepath.Join(storeFixtureDir, cf.Dir))
		fixtureMust(t, err)
		for _, e := range src {
			data, err := os.ReadFile(filepath.Join(storeFixtureDir, cf.Dir, e.Name()))
			fixtureMust(t, err)
			fixtureMust(t, os.WriteFile(filepath.Join(dir, e.Name()), data, 0o600))
		}
		st, err := mls.OpenDirStorage(dir)
		fixtureMust(t, err)
		t.Cleanup(func() { st.Close() })
		c, err := mls.OpenClient(st, fixtureOptions(cf.Identity))
		fixtureMust(t, err)
		t.Cleanup(func() { c.Close() })
		if string(c.Identity()) != cf.Identity {
			t.Fatalf("%s: identity %q, want %q", cf.Dir, c.Identity(), cf.Identity)
		}
		if uint16(c.Suite()) != facts.Suite {
			t.Fatalf("%s: suite %d, want %d", cf.Dir, c.Suite(), facts.Suite)
		}
		if errs := c.Damaged(); len(errs) != 0 {
			t.Fatalf("%s: damaged: %v", cf.Dir, errs)
		}
		ids, err := c.Groups()
		fixtureMust(t, err)
		if len(ids) != len(cf.Groups) {
			t.Fatalf("%s: %d groups stored, want %d", cf.Dir, len(ids), len(cf.Groups))
		}
		clients[cf.Identity] = c
		groups[cf.Identity] = map[string]*mls.Group{}
		for _, gf := range cf.Groups {
			id, err := hex.DecodeString(gf.ID)
			fixtureMust(t, err)
			g, err := c.OpenGroup(id)
			if err != nil {
				t.Fatalf("%s: opening group %s: %v", cf.Dir, id, err)
			}
			if g.Epoch() != gf.Epoch {
				t.Errorf("%s/%s: epoch %d, want %d", cf.Dir, id, g.Epoch(), gf.Epoch)
			}
			if uint32(g.OwnLeaf()) != gf.OwnLeaf {
				t.Errorf("%s/%s: own leaf %d, want %d", cf.Dir, id, g.OwnLeaf(), gf.OwnLeaf)
			}
			var members []string
			for _, m := range g.Members() {
				members = append(members, string(m.Identity))
			}
			if fmt.Sprint(members) != fmt.Sprint(gf.Members) {
				t.Errorf("%s/%s: members %q, want %q", cf.Dir, id, members, gf.Members)
			}
			if got := hex.EncodeToString(g.EpochAuthenticator()); got != gf.EpochAuthenticator {
				t.Errorf("%s/%s: epoch authenticator %s, want %s", cf.Dir, id, got, gf.EpochAuthenticator)
			}
			groups[cf.Identity][gf.ID] = g
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Bob's unacknowledged message is still kept.
	for _, u := range facts.Unacked {
		pms, err := groups["bob"][u.Group].Unacked()
		fixtureMust(t, err)
		if len(pms) != 1 || string(pms[0].Data) != u.Data {
			t.Fatalf("bob's unacked messages in %s: %d, want 1 reading %q", u.Group, len(pms), u.Data)
		}
		fixtureMust(t, groups["bob"][u.Group].Ack(pms[0].DeliveryID))
	}

	// Continue every group: alice sends, bob reads; bob commits, alice
	// follows; both reach the same new epoch and can still talk.
	for _, gf := range facts.Clients[0].Groups {
		a, b := groups["alice"][gf.ID], groups["bob"][gf.ID]
		if b == nil {
			t.Fatalf("group %s: bob's copy is not in the fixture", gf.ID)
		}
		say := func(from, to *mls.Group, text string) {
			t.Helper()
			msg, err := from.Send([]byte(text))
			fixtureMust(t, err)
			pm, err := to.ProcessMessage(msg)
			fixtureMust(t, err)
			if pm.Kind != mls.ApplicationMessage || string(pm.Data) != text {
				t.Fatalf("group %s: read %v %q, want %q", gf.ID, pm.Kind, pm.Data, text)
			}
			if pm.DeliveryID != nil {
				fixtureMust(t, to.Ack(pm.DeliveryID))
			}
		}
		say(a, b, "after the upgrade")
		out, err := b.SelfUpdate()
		fixtureMust(t, err)
		fixtureMust(t, b.MergePendingCommit())
		pm, err := a.ProcessMessage(out.Commit)
		fixtureMust(t, err)
		if pm.Kind != mls.CommitMessage {
			t.Fatalf("group %s: alice got a %v, want bob's commit", gf.ID, pm.Kind)
		}
		fixtureMust(t, a.MergeStagedCommit())
		if a.Epoch() != gf.Epoch+1 || b.Epoch() != gf.Epoch+1 {
			t.Fatalf("group %s: epochs %d and %d after the commit, want %d", gf.ID, a.Epoch(), b.Epoch(), gf.Epoch+1)
		}
		if !bytes.Equal(a.EpochAuthenticator(), b.EpochAuthenticator()) {
			t.Fatalf("group %s: alice and bob disagree on the new epoch", gf.ID)
		}
		say(b, a, "and after a commit")
	}
}
