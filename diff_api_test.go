package mls_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	mls "github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/valsem"
)

// member is a client of the mls API with its group.
type member struct {
	name string
	c    *mls.Client
	g    *mls.Group
}

func newMember(t *testing.T, name string) *member {
	t.Helper()
	var n uint64
	opts := &mls.Options{
		Clock: func() time.Time { return time.Unix(1_700_000_000, 0) },
		Seed: func() [32]byte {
			n++
			return sha256.Sum256(fmt.Appendf(nil, "%s %d", name, n))
		},
		// A debugging log: every record, so that mls diff can tell why.
		KeepRecords: mls.KeepAllRecords,
	}
	c, err := mls.NewClient(mls.NewMemoryStorage(), []byte(name), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &member{name: name, c: c}
}

// ok returns a call's result, failing the test on its error:
// ok[T](t)(f()).
func ok[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// receiveCommit is what an application does with a commit from the
// delivery service.
func receiveCommit(t *testing.T, m *member, commit []byte) {
	t.Helper()
	ok[*mls.ProcessedMessage](t)(m.g.ProcessMessage(commit))
	if err := m.g.MergeStagedCommit(); err != nil {
		t.Fatal(err)
	}
}

// diffMembers exports the members' logs (Client.ExportLog) and diffs them.
func diffMembers(t *testing.T, ms ...*member) *replay.DiffReport {
	t.Helper()
	var in []replay.DiffInput
	for _, m := range ms {
		l := ok[*replay.Log](t)(replay.ReadLog(ok[[]byte](t)(m.c.ExportLog(m.g.ID()))))
		in = append(in, replay.DiffInput{Name: m.name, Log: l})
	}
	return ok[*replay.DiffReport](t)(replay.Diff(in, nil))
}

// TestDiffRecoveryThroughTheAPI: Bob misses Alice's commits twice; each
// time the diff of the three members' exported logs names the missing
// commit, and the recovery it states as mls API calls — processing the
// commit, then re-joining with Group.Resync — done with those calls,
// brings Bob back.
func TestDiffRecoveryThroughTheAPI(t *testing.T) {
	alice, bob, carol := newMember(t, "alice"), newMember(t, "bob"), newMember(t, "carol")
	alice.g = ok[*mls.Group](t)(alice.c.CreateGroup(nil))
	out := ok[mls.Outgoing](t)(alice.g.AddMembers(ok[[]byte](t)(bob.c.KeyPackage()), ok[[]byte](t)(carol.c.KeyPackage())))
	if err := alice.g.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	tree := ok[[]byte](t)(alice.g.RatchetTree())
	bob.g = ok[*mls.Group](t)(bob.c.JoinGroup(out.Welcome, tree))
	carol.g = ok[*mls.Group](t)(carol.c.JoinGroup(out.Welcome, tree))

	split := func() replay.DiffSplit {
		t.Helper()
		// Alice's self-update reaches Carol, never Bob.
		out := ok[mls.Outgoing](t)(alice.g.SelfUpdate())
		if err := alice.g.MergePendingCommit(); err != nil {
			t.Fatal(err)
		}
		receiveCommit(t, carol, out.Commit)
		msg := ok[[]byte](t)(alice.g.Send([]byte("can you read this, Bob?")))
		if _, err := bob.g.ProcessMessage(msg); !errors.Is(err, valsem.ValSem003) {
			t.Fatalf("bob reading alice's message after the lost commit: %v", err)
		}
		rep := diffMembers(t, alice, bob, carol)
		if rep.Agree || len(rep.Splits) != 1 || rep.Splits[0].Cause != replay.CauseMissingCommit {
			t.Fatalf("agree %v, splits %+v", rep.Agree, rep.Splits)
		}
		sp := rep.Splits[0]
		if len(sp.Recovery) != 2 || sp.Recovery[0].Member != "bob" || sp.Recovery[1].Action != "resync" || sp.Recovery[1].From != "alice" {
			t.Fatalf("recovery %+v", sp.Recovery)
		}
		return sp
	}
	healed := func() {
		t.Helper()
		if a, b := hex.EncodeToString(alice.g.EpochAuthenticator()), hex.EncodeToString(bob.g.EpochAuthenticator()); a != b {
			t.Fatalf("bob's authenticator %s, alice's %s", b, a)
		}
		msg := ok[[]byte](t)(alice.g.Send([]byte("and now?")))
		if pm := ok[*mls.ProcessedMessage](t)(bob.g.ProcessMessage(msg)); string(pm.Data) != "and now?" {
			t.Fatalf("bob read %q", pm.Data)
		}
		ok[*mls.ProcessedMessage](t)(carol.g.ProcessMessage(msg))
		if rep := diffMembers(t, alice, bob, carol); !rep.Agree {
			t.Fatalf("the logs disagree after the recovery: %+v", rep.Splits)
		}
	}

	// First: process the missing commit, whose bytes the report carries.
	sp := split()
	for _, c := range sp.Recovery[0].Commits {
		receiveCommit(t, bob, ok[[]byte](t)(hex.DecodeString(c.Message)))
	}
	healed()

	// Then, as if the delivery service no longer held it: re-join.
	sp = split()
	gi := ok[[]byte](t)(alice.g.GroupInfo(true))
	rj := ok[mls.Outgoing](t)(bob.g.Resync(gi, nil))
	if err := bob.g.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	receiveCommit(t, alice, rj.Commit)
	receiveCommit(t, carol, rj.Commit)
	healed()
}
