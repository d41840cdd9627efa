package replay_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/sim"
)

// grown returns a simulation whose group has n members (member-000 to
// member-n-1, in join order), with no traffic pending.
func grown(t *testing.T, seed uint64, n int) *sim.Sim {
	t.Helper()
	s, err := sim.New(sim.Config{Seed: seed, Members: n})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Grow(n); err != nil {
		t.Fatal(err)
	}
	return s
}

func member(t *testing.T, s *sim.Sim, name string) *sim.Member {
	t.Helper()
	m := s.Member(name)
	if m == nil {
		t.Fatalf("no %s", name)
	}
	return m
}

// diff runs replay.Diff over the named members' logs.
func diff(t *testing.T, s *sim.Sim, names ...string) *replay.DiffReport {
	t.Helper()
	var in []replay.DiffInput
	for _, n := range names {
		l, err := replay.ReadLog(member(t, s, n).Log())
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		in = append(in, replay.DiffInput{Name: n, Log: l})
	}
	rep, err := replay.Diff(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.Text(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	return rep
}

// The splits, their causes and their recoveries are scenario scripts run by
// package sim (sim/testdata/scenarios/*.txt): their expected output is the
// whole report.

func TestDiffAgree(t *testing.T) {
	s := grown(t, 1, 3)
	for _, names := range [][]string{{"member-000", "member-001", "member-002"}, {"member-001", "member-001"}} {
		rep := diff(t, s, names...)
		if !rep.SameGroup || !rep.Agree || len(rep.Views) != 1 || len(rep.Splits) != 0 {
			t.Fatalf("%v: same group %v, agree %v, %d views", names, rep.SameGroup, rep.Agree, len(rep.Views))
		}
		if rep.Views[0].Authenticator != hex.EncodeToString(member(t, s, "member-000").State().EpochAuthenticator()) {
			t.Fatalf("view authenticator %s", rep.Views[0].Authenticator)
		}
	}
}

func TestDiffDifferentGroups(t *testing.T) {
	a, b := grown(t, 1, 2), grown(t, 2, 2)
	var in []replay.DiffInput
	for _, m := range []*sim.Member{member(t, a, "member-000"), member(t, b, "member-000")} {
		l, err := replay.ReadLog(m.Log())
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, replay.DiffInput{Name: m.Name, Log: l})
	}
	rep, err := replay.Diff(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.SameGroup || rep.Agree || len(rep.Groups) != 2 {
		t.Fatalf("same group %v, agree %v, groups %v", rep.SameGroup, rep.Agree, rep.Groups)
	}
	var b2 strings.Builder
	if err := rep.Text(&b2); err != nil || !strings.Contains(b2.String(), "not of the same group") {
		t.Fatalf("text %q, %v", b2.String(), err)
	}
	if _, err := replay.Diff(in[:1], nil); err == nil {
		t.Fatal("diff of one log")
	}
}
