package replay_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/sim"
	"github.com/mlscore/mlscore/transitions"
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

// oneSplit checks that the report has two views split for cause, whose
// summary names want.
func oneSplit(t *testing.T, rep *replay.DiffReport, cause replay.Cause, want ...string) replay.DiffSplit {
	t.Helper()
	if !rep.SameGroup || rep.Agree || len(rep.Views) != 2 || len(rep.Splits) != 1 {
		t.Fatalf("same group %v, agree %v, %d views, %d splits; want one split", rep.SameGroup, rep.Agree, len(rep.Views), len(rep.Splits))
	}
	sp := rep.Splits[0]
	if sp.Cause != cause {
		t.Fatalf("cause %s (%s), want %s", sp.Cause, sp.Summary, cause)
	}
	for _, w := range want {
		if !strings.Contains(sp.Summary, w) {
			t.Errorf("summary %q does not name %q", sp.Summary, w)
		}
	}
	return sp
}

// recover performs the recovery of a split through the simulator, which
// does what the named mls API operations do; alternatives too if alt.
func recover(t *testing.T, s *sim.Sim, sp replay.DiffSplit, alt bool) {
	t.Helper()
	if len(sp.Recovery) == 0 {
		t.Fatal("no recovery")
	}
	hasAlt := false
	for _, r := range sp.Recovery {
		hasAlt = hasAlt || r.Alternative
	}
	for _, r := range sp.Recovery {
		if hasAlt && r.Alternative != alt {
			continue
		}
		m := member(t, s, r.Member)
		switch r.Action {
		case "merge-staged":
			if _, err := s.Apply(m, transitions.MergeStaged{At: s.Now()}); err != nil {
				t.Fatal(err)
			}
			for _, c := range r.Commits {
				msg, err := hex.DecodeString(c.Message)
				if err != nil || len(msg) == 0 {
					t.Fatalf("commit %s has no bytes", c.Hash)
				}
				if err := s.ProcessCommit(m, msg); err != nil {
					t.Fatal(err)
				}
			}
		case "process-commits":
			for _, c := range r.Commits {
				msg, err := hex.DecodeString(c.Message)
				if err != nil || len(msg) == 0 {
					t.Fatalf("commit %s has no bytes", c.Hash)
				}
				if err := s.ProcessCommit(m, msg); err != nil {
					t.Fatal(err)
				}
			}
		case "resync":
			if err := s.Resync(m, member(t, s, r.From)); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("recovery action %q", r.Action)
		}
	}
	if err := s.Check(); err != nil {
		t.Fatalf("after the recovery: %v", err)
	}
}

// sendFails has from send a message and checks that exactly the members
// in want cannot read it.
func sendFails(t *testing.T, s *sim.Sim, from string, want ...string) {
	t.Helper()
	failed, err := s.SendNow(member(t, s, from))
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != len(want) {
		t.Fatalf("%d members could not read %s's message (%v), want %v", len(failed), from, failed, want)
	}
	for _, w := range want {
		if failed[w] == nil {
			t.Fatalf("%s read %s's message", w, from)
		}
	}
}

func agreeAll(t *testing.T, s *sim.Sim, names ...string) {
	t.Helper()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	sendFails(t, s, names[0])
	rep := diff(t, s, names...)
	if !rep.Agree || len(rep.Splits) != 0 {
		t.Fatalf("after the recovery: agree %v, %d splits", rep.Agree, len(rep.Splits))
	}
}

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

// A commit lost for one member: it stays in the old epoch and cannot read
// the next epoch's messages; processing the commit heals it, and so does a
// resync.
func TestDiffDroppedCommit(t *testing.T) {
	for _, alt := range []bool{false, true} {
		s := grown(t, 3, 3)
		msg, err := s.DropCommit(member(t, s, "member-000"), member(t, s, "member-001"))
		if err != nil {
			t.Fatal(err)
		}
		sendFails(t, s, "member-000", "member-001")
		rep := diff(t, s, "member-000", "member-001", "member-002")
		sp := oneSplit(t, rep, replay.CauseMissingCommit, "member-001 never received")
		if len(sp.Afterwards) != 1 || sp.Afterwards[0].Member != "member-001" || sp.Afterwards[0].Outcome != "ValSem003" {
			t.Fatalf("afterwards %+v", sp.Afterwards)
		}
		if r := sp.Recovery[0]; r.Action != "process-commits" || len(r.Commits) != 1 || r.Commits[0].Message != hex.EncodeToString(msg) {
			t.Fatalf("recovery %+v", sp.Recovery)
		}
		if sp.LastAgreed == nil || sp.LastAgreed.Epoch != member(t, s, "member-001").State().Epoch() {
			t.Fatalf("last agreed %+v", sp.LastAgreed)
		}
		recover(t, s, sp, alt)
		agreeAll(t, s, "member-000", "member-001", "member-002")
	}
}

// A delivery service that accepts two commits for one epoch splits the
// group in two; the smaller side (or, on a tie, the second view) resyncs.
func TestDiffDoubleAccept(t *testing.T) {
	s := grown(t, 4, 4)
	if err := s.AcceptBoth(member(t, s, "member-000"), member(t, s, "member-001"), member(t, s, "member-002")); err != nil {
		t.Fatal(err)
	}
	sendFails(t, s, "member-000", "member-001", "member-003")
	rep := diff(t, s, "member-000", "member-001", "member-002", "member-003")
	sp := oneSplit(t, rep, replay.CauseDoubleAccept, "accepted two commits")
	if got := strings.Join(rep.Views[0].Members, " "); got != "member-000 member-002" {
		t.Fatalf("view 1 %s", got)
	}
	if len(sp.Afterwards) != 2 {
		t.Fatalf("afterwards %+v", sp.Afterwards)
	}
	if len(sp.Recovery) != 2 || sp.Recovery[0].Action != "resync" || sp.Recovery[1].Action != "resync" {
		t.Fatalf("recovery %+v", sp.Recovery)
	}
	recover(t, s, sp, false)
	agreeAll(t, s, "member-000", "member-001", "member-002", "member-003")
}

// A committer that merges its pending commit after losing the race is
// alone in its epoch; it resyncs.
func TestDiffMergedAfterLosing(t *testing.T) {
	s := grown(t, 5, 3)
	if err := s.MergeAfterLosing(member(t, s, "member-002"), member(t, s, "member-001")); err != nil {
		t.Fatal(err)
	}
	sendFails(t, s, "member-000", "member-001")
	rep := diff(t, s, "member-000", "member-001", "member-002")
	sp := oneSplit(t, rep, replay.CauseMergedAfterLosing, "member-001 merged its own pending commit")
	if sp.Winner != 0 || len(sp.Recovery) != 1 || sp.Recovery[0].Member != "member-001" || sp.Recovery[0].Action != "resync" {
		t.Fatalf("winner %d, recovery %+v", sp.Winner, sp.Recovery)
	}
	found := false
	for _, d := range sp.Details {
		found = found || strings.Contains(d, "member-001 did receive the winning commit") && strings.Contains(d, "ValSem003")
	}
	if !found {
		t.Fatalf("details %q do not say the loser rejected the winner", sp.Details)
	}
	recover(t, s, sp, false)
	agreeAll(t, s, "member-000", "member-001", "member-002")
}

// A member restored from a snapshot older than its own last commit is
// back in an epoch the group left; it resyncs.
func TestDiffRolledBack(t *testing.T) {
	s := grown(t, 6, 3)
	m1 := member(t, s, "member-001")
	snap, err := s.Backup(m1)
	if err != nil {
		t.Fatal(err)
	}
	before := bytes.Clone(m1.Log())
	if err := s.CommitUpdate(m1); err != nil {
		t.Fatal(err)
	}
	lost := bytes.Clone(m1.Log()) // what m1's log held before the restore
	if err := s.Restore(m1, snap); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before, m1.Log()) {
		t.Fatal("restore left the log as it was")
	}
	sendFails(t, s, "member-002", "member-001")
	rep := diff(t, s, "member-000", "member-001", "member-002")
	sp := oneSplit(t, rep, replay.CauseRolledBack, "member-001's state was rolled back")
	if len(sp.Recovery) != 1 || sp.Recovery[0].Action != "resync" || sp.Recovery[0].Member != "member-001" {
		t.Fatalf("recovery %+v", sp.Recovery)
	}

	// With the log member-001 had before the restore, the two logs of one
	// member show where its history parted.
	var in []replay.DiffInput
	for _, x := range []struct {
		name string
		data []byte
	}{{"member-001-before", lost}, {"member-001", m1.Log()}, {"member-000", member(t, s, "member-000").Log()}} {
		l, err := replay.ReadLog(x.data)
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, replay.DiffInput{Name: x.name, Log: l})
	}
	rep2, err := replay.Diff(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	if err := rep2.Text(&text); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + text.String())
	if len(rep2.Lineages) != 1 || rep2.Lineages[0].Fork != snap.Seq || rep2.Lineages[0].Shared != snap.Seq {
		t.Fatalf("lineages %+v, the restore was at record %d", rep2.Lineages, snap.Seq)
	}
	sp2 := oneSplit(t, rep2, replay.CauseRolledBack, "member-001's state was rolled back")
	if sp2.Recovery[0].From != "member-000" {
		t.Fatalf("the GroupInfo comes from %s, another log of the member that re-joins", sp2.Recovery[0].From)
	}
	recover(t, s, sp, false)
	agreeAll(t, s, "member-000", "member-001", "member-002")
}

// Logs that keep only a snapshot of the current state (the shell's
// default) cannot tell why members split: Diff says so, and the member in
// the older epoch resyncs.
func TestDiffSnapshotOnly(t *testing.T) {
	s := grown(t, 7, 3)
	if _, err := s.DropCommit(member(t, s, "member-002"), member(t, s, "member-001")); err != nil {
		t.Fatal(err)
	}
	var in []replay.DiffInput
	for _, n := range []string{"member-000", "member-001"} {
		l, err := replay.ReadLog(member(t, s, n).Log())
		if err != nil {
			t.Fatal(err)
		}
		data, err := replay.Compact(l, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if l, err = replay.ReadLog(data); err != nil || l.Snapshot == nil || len(l.Records) != 0 {
			t.Fatalf("compacted log: %v", err)
		}
		in = append(in, replay.DiffInput{Name: n, Log: l})
	}
	rep, err := replay.Diff(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	sp := oneSplit(t, rep, replay.CauseNotKnowable, "snapshot")
	if sp.LastAgreed != nil || len(sp.Recovery) != 1 || sp.Recovery[0].Member != "member-001" || sp.Recovery[0].From != "member-000" {
		t.Fatalf("last agreed %+v, recovery %+v", sp.LastAgreed, sp.Recovery)
	}
	recover(t, s, sp, false)
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// Public logs hold no secret: Diff compares epochs by transcript and tree
// hash, still finds the commit a member missed in the others' logs, and
// gives the rules (without detail) of what it rejected.
func TestDiffPublicLogs(t *testing.T) {
	s, err := sim.New(sim.Config{Seed: 8, Members: 3, Mode: replay.Public, PublicHandshake: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Grow(3); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DropCommit(member(t, s, "member-000"), member(t, s, "member-002")); err != nil {
		t.Fatal(err)
	}
	sendFails(t, s, "member-001", "member-002")
	rep := diff(t, s, "member-000", "member-001", "member-002")
	sp := oneSplit(t, rep, replay.CauseMissingCommit, "member-002 never received")
	if rep.Views[0].Authenticator != "" || rep.Views[0].TranscriptHash == "" {
		t.Fatalf("a public view with an authenticator: %+v", rep.Views[0])
	}
	if len(sp.Afterwards) != 1 || sp.Afterwards[0].Outcome != "ValSem003" || sp.Afterwards[0].Detail != "" {
		t.Fatalf("afterwards %+v", sp.Afterwards)
	}
	recover(t, s, sp, false)
	rep = diff(t, s, "member-000", "member-001", "member-002")
	if !rep.Agree {
		t.Fatal("the public logs disagree after the recovery")
	}
}

// A member that staged the commit and never merged it, one that
// discarded it, and one that received a damaged copy: each is named, and
// the recovery the report gives (merge; process again or re-join; process
// the intact commit) heals it.
func TestDiffCommitMishandled(t *testing.T) {
	tests := []struct {
		name   string
		handle func(s *sim.Sim, m *sim.Member, msg []byte) error
		cause  replay.Cause
		want   string
	}{
		{"staged", func(s *sim.Sim, m *sim.Member, msg []byte) error {
			_, err := s.Apply(m, transitions.Receive{At: s.Now(), Message: msg})
			return err
		}, replay.CauseUnmergedCommit, "has not merged it"},
		{"discarded", func(s *sim.Sim, m *sim.Member, msg []byte) error {
			if _, err := s.Apply(m, transitions.Receive{At: s.Now(), Message: msg}); err != nil {
				return err
			}
			_, err := s.Apply(m, transitions.DiscardStaged{At: s.Now()})
			return err
		}, replay.CauseDiscardedCommit, "discarded it"},
		{"damaged", func(s *sim.Sim, m *sim.Member, msg []byte) error {
			bad := bytes.Clone(msg)
			bad[len(bad)-1] ^= 1
			if _, err := s.Apply(m, transitions.Receive{At: s.Now(), Message: bad}); err == nil {
				return errors.New("a damaged commit was accepted")
			}
			return nil
		}, replay.CauseRejectedCommit, "a damaged or forged copy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(2) {
				s := grown(t, 10+seed, 3)
				victim := member(t, s, "member-002")
				msg, err := s.DropCommit(member(t, s, "member-001"), victim)
				if err != nil {
					t.Fatal(err)
				}
				if err := tt.handle(s, victim, msg); err != nil {
					t.Fatal(err)
				}
				sp := oneSplit(t, diff(t, s, "member-000", "member-001", "member-002"), tt.cause, tt.want)
				recover(t, s, sp, false)
				agreeAll(t, s, "member-000", "member-001", "member-002")
			}
		})
	}
}

// Two members alone in a group each merge their own commit for the same
// epoch: no log shows which one the delivery service took; one re-joins.
func TestDiffRaced(t *testing.T) {
	s := grown(t, 12, 2)
	if err := s.AcceptBoth(member(t, s, "member-000"), member(t, s, "member-001")); err != nil {
		t.Fatal(err)
	}
	sp := oneSplit(t, diff(t, s, "member-000", "member-001"), replay.CauseRaced, "merged their own commit")
	if len(sp.Recovery) != 1 || sp.Recovery[0].Member != "member-001" {
		t.Fatalf("recovery %+v", sp.Recovery)
	}
	recover(t, s, sp, false)
	agreeAll(t, s, "member-000", "member-001")
}

// A member whose state store alone was restored from an older backup,
// while its log went on: the log shows the state going back, and the
// member re-joins.
func TestDiffStateRolledBackInLog(t *testing.T) {
	s := grown(t, 13, 3)
	m1 := member(t, s, "member-001")
	snap, err := s.Backup(m1)
	if err != nil {
		t.Fatal(err)
	}
	epoch := m1.State().Epoch()
	if err := s.CommitUpdate(member(t, s, "member-000")); err != nil {
		t.Fatal(err)
	}
	if err := s.RestoreState(m1, snap); err != nil {
		t.Fatal(err)
	}
	sendFails(t, s, "member-002", "member-001")
	l, err := replay.ReadLog(m1.Log())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replay.ReplayLog(l, nil); err == nil {
		t.Fatal("the log of a member whose state went back replays straight through")
	}
	rep := diff(t, s, "member-000", "member-001", "member-002")
	sp := oneSplit(t, rep, replay.CauseRolledBack, fmt.Sprintf("rolled back from epoch %d to epoch %d", epoch+1, epoch))
	if len(sp.Afterwards) != 1 || sp.Afterwards[0].Member != "member-001" {
		t.Fatalf("afterwards %+v", sp.Afterwards)
	}
	recover(t, s, sp, false)
	agreeAll(t, s, "member-000", "member-001", "member-002")
}
