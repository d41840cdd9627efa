package mls

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/valsem"
)

// publicParty is a party whose groups send PublicMessage handshakes.
func publicParty(t *testing.T, name string, cfg *state.Config) *party {
	t.Helper()
	opts := testOptions(name)
	opts.Config = cfg
	c, err := NewClient(NewMemoryStorage(), []byte(name), opts)
	if err != nil {
		t.Fatal(err)
	}
	return &party{name: name, c: c}
}

// TestPublicGroupShell follows a group through the shell's PublicGroup:
// a stored proposal, the commit covering it, a rejected replay; the
// public digest stays the members', and writing through every value the
// PublicGroup hands out changes nothing.
func TestPublicGroupShell(t *testing.T) {
	cfg := state.DefaultConfig()
	cfg.WireFormat = state.MixedPlaintext
	alice, bob := publicParty(t, "alice", &cfg), publicParty(t, "bob", &cfg)
	alice.g = must[*Group](t)(alice.c.CreateGroup(&GroupOptions{GroupID: []byte("ds")}))
	out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
	check(t, alice.g.MergePendingCommit())
	bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))

	gi := must[[]byte](t)(alice.g.GroupInfo(false))
	if _, err := NewPublicGroup(gi, nil, &PublicGroupOptions{Config: &cfg, Clock: fixedClock}); err == nil {
		t.Fatal("a public group without a ratchet tree")
	}
	ds := must[*PublicGroup](t)(NewPublicGroup(gi, must[[]byte](t)(alice.g.RatchetTree()), &PublicGroupOptions{Config: &cfg, Clock: fixedClock}))
	if ds.PublicDigest() != alice.g.State().PublicDigest() || ds.Epoch() != alice.g.Epoch() || !bytes.Equal(ds.GroupID(), alice.g.ID()) {
		t.Fatal("the public group does not start at alice's public state")
	}

	prop, ref, err := bob.g.ProposeSelfUpdate()
	check(t, err)
	pp := must[*PublicProcessed](t)(ds.ProcessMessage(prop))
	if pp.Kind != ProposalMessage || !bytes.Equal(pp.Proposal.Ref, ref) || pp.Sender != codec.MemberSender(1) {
		t.Fatalf("proposal processed as %+v", pp)
	}
	deliver(t, bob, prop, alice)
	if ds.PublicDigest() != alice.g.State().PublicDigest() {
		t.Fatal("the stored proposal differs")
	}

	// Write through everything handed out.
	before := ds.PublicDigest()
	n := scribble(8, ds.Members(), ds.PendingProposals(), pp, ds.State(), ds.State().Public())
	if b, ok := ds.GroupInfo(); ok {
		n += scribble(8, b)
	}
	if tr, err := ds.RatchetTree(); err == nil {
		n += scribble(8, tr)
	}
	if n < 100 {
		t.Fatalf("only %d writes", n)
	}
	if ds.PublicDigest() != before {
		t.Fatal("writing through the public group's values changed it")
	}
	if b, _ := ds.GroupInfo(); !bytes.Equal(b, gi) {
		t.Fatal("writing through GroupInfo's result changed the public group")
	}

	commit := must[Outgoing](t)(alice.g.CommitPendingProposals())
	prior := ds.State() // the epoch before the commit: an immutable value
	priorDigest := prior.Digest()
	pc := must[*PublicProcessed](t)(ds.ProcessMessage(commit.Commit))
	if pc.Kind != CommitMessage || pc.Commit.Epoch != 2 || len(pc.Commit.Updated) != 1 || pc.Commit.Updated[0] != 1 {
		t.Fatalf("commit processed as %+v", pc.Commit)
	}
	// The processed commit lists the proposals it covered: writing into
	// it changes neither the public group nor the state it came from.
	after := ds.PublicDigest()
	if len(pc.Commit.Proposals) == 0 || scribble(8, pc) < 10 {
		t.Fatal("the processed commit hands out nothing to write through")
	}
	if prior.Digest() != priorDigest || ds.PublicDigest() != after {
		t.Fatal("writing through a processed commit changed a public group's state")
	}
	if _, ok := ds.GroupInfo(); ok {
		t.Fatal("the previous epoch's GroupInfo is still handed out")
	}
	check(t, alice.g.MergePendingCommit())
	deliver(t, alice, commit.Commit, bob)
	for _, p := range []*party{alice, bob} {
		if ds.PublicDigest() != p.g.State().PublicDigest() {
			t.Fatalf("%s's public digest differs from the public group's", p.name)
		}
	}
	if _, err := ds.ProcessMessage(commit.Commit); !errors.Is(err, valsem.ValSem003) {
		t.Fatalf("replayed commit: %v, want ValSem003", err)
	}
	if err := ds.SetGroupInfo(gi); err == nil {
		t.Fatal("the previous epoch's GroupInfo accepted")
	}
	check(t, ds.SetGroupInfo(must[[]byte](t)(bob.g.GroupInfo(true))))
	msg := must[[]byte](t)(alice.g.Send([]byte("secret")))
	if _, err := ds.ProcessMessage(msg); !errors.Is(err, ErrNeedsSecrets) {
		t.Fatalf("application message: %v, want ErrNeedsSecrets", err)
	}
	if got := ds.Members(); len(got) != 2 || string(got[1].Identity) != "bob" {
		t.Fatalf("members %+v", got)
	}
	// Stored and loaded, the delivery service carries on.
	saved := must[[]byte](t)(ds.Marshal())
	loaded := must[*PublicGroup](t)(LoadPublicGroup(saved, &PublicGroupOptions{Config: &cfg, Clock: fixedClock}))
	if g1, _ := loaded.GroupInfo(); loaded.PublicDigest() != ds.PublicDigest() || g1 == nil {
		t.Fatal("the loaded public group differs")
	}
	up := must[Outgoing](t)(bob.g.SelfUpdate())
	must[*PublicProcessed](t)(loaded.ProcessMessage(up.Commit))
	check(t, bob.g.MergePendingCommit())
	deliver(t, bob, up.Commit, alice)
	if loaded.PublicDigest() != alice.g.State().PublicDigest() {
		t.Fatal("the loaded public group lost track of the group")
	}
}
