package mls_test

import (
	"testing"

	"github.com/mlscore/mlscore"
)

func identities(ms []mls.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, string(m.Identity))
	}
	return out
}

// TestStagedCommitEntering: a staged commit lists the members whose
// credential or signature key is new (added members, an external
// joiner), not those whose leaf only changed its encryption key; the
// application can then refuse the commit, and the group stays in its
// epoch.
func TestStagedCommitEntering(t *testing.T) {
	newClient := func(name string) *mls.Client {
		c, err := mls.NewClient(mls.NewMemoryStorage(), []byte(name), deterministic(name))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	alice, bob, carol, dave := newClient("alice"), newClient("bob"), newClient("carol"), newClient("dave")
	ga, err := alice.CreateGroup(&mls.GroupOptions{GroupID: []byte("entering")})
	if err != nil {
		t.Fatal(err)
	}
	gb := addMember(t, ga, bob)

	// Alice adds carol: bob sees carol entering, and refuses.
	out, err := ga.AddMembers(keyPackage(t, carol))
	if err != nil {
		t.Fatal(err)
	}
	pm, err := gb.ProcessMessage(out.Commit)
	if err != nil {
		t.Fatal(err)
	}
	if got := identities(pm.Commit.Entering); len(got) != 1 || got[0] != "carol" || pm.Commit.Entering[0].Index != 2 {
		t.Fatalf("entering %v, want carol at leaf 2", got)
	}
	epoch := gb.Epoch()
	if err := gb.DiscardStagedCommit(); err != nil {
		t.Fatal(err)
	}
	if gb.Epoch() != epoch || len(gb.Members()) != 2 {
		t.Fatal("the discarded commit changed bob's group")
	}
	if err := ga.ClearPendingCommit(); err != nil {
		t.Fatal(err)
	}

	// A self-update changes no credential: nothing enters.
	out, err = ga.SelfUpdate()
	if err != nil {
		t.Fatal(err)
	}
	if err := ga.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	if pm, err = gb.ProcessMessage(out.Commit); err != nil {
		t.Fatal(err)
	}
	if len(pm.Commit.Entering) != 0 {
		t.Fatalf("a self-update brings in %v", identities(pm.Commit.Entering))
	}
	if err := gb.MergeStagedCommit(); err != nil {
		t.Fatal(err)
	}

	// An external joiner enters.
	gi, err := ga.GroupInfo(true)
	if err != nil {
		t.Fatal(err)
	}
	_, ext, err := dave.JoinExternal(gi, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pm, err = gb.ProcessMessage(ext.Commit); err != nil {
		t.Fatal(err)
	}
	if got := identities(pm.Commit.Entering); len(got) != 1 || got[0] != "dave" {
		t.Fatalf("entering %v, want dave", got)
	}
}
