package sim

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/transitions"
)

// The faults below split a group the way deployments split: each leaves
// the members' logs as a real client's would be after the fault, for
// replay.Diff to explain, and the recovery operations (ProcessCommit,
// Resync) heal the split the way an application would with the mls API.
// After a fault, Check fails until the recovery is done, and Step must not
// be called: the delivery service of Step assumes one view of the group.

// Member returns the client named name ("member-003"), or nil.
func (s *Sim) Member(name string) *Member {
	for _, m := range s.members {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// commitUpdate has c create a self-update commit (pending until confirmed)
// and returns the commit message.
func (s *Sim) commitUpdate(op Op, c *Member) ([]byte, error) {
	effs, err := s.apply(op, c, transitions.Commit{At: s.now, ForcePath: true})
	if err != nil {
		return nil, err
	}
	for _, e := range effs {
		if e, ok := e.(effects.SendToGroup); ok && e.Kind == effects.KindCommit {
			return e.Message, nil
		}
	}
	return nil, &Error{Op: op, Member: c.Name, Err: errors.New("commit not sent")}
}

// CommitUpdate has c commit a self-update that the delivery service
// accepts and delivers to every other active member, who merge it: a
// normal round with a chosen committer.
func (s *Sim) CommitUpdate(c *Member) error {
	s.now++
	return s.round(OpUpdate, []*Member{c}, []transitions.Commit{{At: s.now, ForcePath: true}})
}

// DropCommit has committer commit a self-update that the delivery service
// accepts and delivers to every active member except victims: the commit
// is lost for them, who stay in the old epoch. It returns the commit.
func (s *Sim) DropCommit(committer *Member, victims ...*Member) ([]byte, error) {
	if err := s.Drain(); err != nil {
		return nil, err
	}
	s.now++
	msg, err := s.commitUpdate(OpUpdate, committer)
	if err != nil {
		return nil, err
	}
	if _, err := s.apply(OpUpdate, committer, transitions.ConfirmCommit{At: s.now}); err != nil {
		return nil, err
	}
	s.stats.Commits++
	for _, m := range s.Active() {
		if m == committer || slices.Contains(victims, m) {
			continue
		}
		if err := s.ProcessCommit(m, msg); err != nil {
			return nil, err
		}
	}
	return msg, nil
}

// AcceptBoth has a and b commit self-updates in the same epoch and a
// faulty delivery service accept both: a and b each merge their own, the
// members in toA receive and merge a's commit, every other active member
// b's. The group splits into two views of the next epoch.
func (s *Sim) AcceptBoth(a, b *Member, toA ...*Member) error {
	if err := s.Drain(); err != nil {
		return err
	}
	s.now++
	ma, err := s.commitUpdate(OpRace, a)
	if err != nil {
		return err
	}
	mb, err := s.commitUpdate(OpRace, b)
	if err != nil {
		return err
	}
	for _, c := range []*Member{a, b} {
		if _, err := s.apply(OpRace, c, transitions.ConfirmCommit{At: s.now}); err != nil {
			return err
		}
		s.stats.Commits++
	}
	for _, m := range s.Active() {
		if m == a || m == b {
			continue
		}
		msg := mb
		if slices.Contains(toA, m) {
			msg = ma
		}
		if err := s.ProcessCommit(m, msg); err != nil {
			return err
		}
	}
	return nil
}

// MergeAfterLosing has winner and loser commit self-updates in the same
// epoch; the delivery service accepts the winner's, and every other
// member merges it, but the loser merges its own pending commit
// (ConfirmCommit where AbortCommit was due) and then receives the
// winner's commit, which it rejects: it has moved to another epoch.
func (s *Sim) MergeAfterLosing(winner, loser *Member) error {
	if err := s.Drain(); err != nil {
		return err
	}
	s.now++
	mw, err := s.commitUpdate(OpRace, winner)
	if err != nil {
		return err
	}
	if _, err := s.commitUpdate(OpRace, loser); err != nil {
		return err
	}
	for _, c := range []*Member{winner, loser} {
		if _, err := s.apply(OpRace, c, transitions.ConfirmCommit{At: s.now}); err != nil {
			return err
		}
	}
	s.stats.Commits++
	s.stats.Aborted++
	for _, m := range s.Active() {
		if m == winner || m == loser {
			continue
		}
		if err := s.ProcessCommit(m, mw); err != nil {
			return err
		}
	}
	// The loser's Receive is logged with its rejection; that is the point.
	if _, err := s.apply(OpRace, loser, transitions.Receive{At: s.now, Message: mw}); err == nil {
		return &Error{Op: OpRace, Member: loser.Name, Err: errors.New("the losing committer accepted the winner's commit after merging its own")}
	}
	return nil
}

// Backup returns a snapshot of m's current state and key store, as a
// storage backup would hold it (it holds m's secrets).
func (s *Sim) Backup(m *Member) (replay.Snapshot, error) {
	return m.rec.Snapshot()
}

// Restore puts m back to a snapshot Backup took earlier, as restoring its
// storage from that backup would: m's state and log are replaced by a
// snapshot-and-tail log that starts from the snapshot. Whatever m did
// since the backup is forgotten by m, not by the rest of the group.
func (s *Sim) Restore(m *Member, snap replay.Snapshot) error {
	h := replay.Header{Mode: replay.SnapshotAndTail, Module: logModule, PolicyID: policyID}
	// Check the snapshot before m's log is replaced.
	if _, err := replay.ResumeRecorder(replay.ResumeAfterSnapshot(new(bytes.Buffer), h, snap), transitions.Env{}, snap); err != nil {
		return &Error{Op: OpDeliver, Member: m.Name, Err: err}
	}
	m.log.Reset()
	w, err := replay.NewSnapshotWriter(&m.log, h, snap)
	if err != nil {
		return &Error{Op: OpDeliver, Member: m.Name, Err: err}
	}
	rec, err := replay.ResumeRecorder(w, transitions.Env{}, snap)
	if err != nil {
		return &Error{Op: OpDeliver, Member: m.Name, Err: err}
	}
	m.rec = rec
	m.inbox = nil
	return nil
}

// SendNow has from send one application message that every other active
// member receives at once, without faults. It returns the errors of the
// members that could not decrypt it, by name: after a split, that is how
// the split shows.
func (s *Sim) SendNow(from *Member) (map[string]error, error) {
	s.now++
	data := fmt.Appendf(nil, "message %d from %s", s.nextMsg, from.Name)
	s.nextMsg++
	effs, err := s.apply(OpSend, from, transitions.Protect{At: s.now, Data: data})
	if err != nil {
		return nil, err
	}
	msg, ok := effects.Find[effects.SendToGroup](effs)
	if !ok {
		return nil, &Error{Op: OpSend, Member: from.Name, Err: errors.New("application message not sent")}
	}
	s.stats.AppSent++
	failed := map[string]error{}
	for _, m := range s.Active() {
		if m == from {
			continue
		}
		effs, err := s.apply(OpSend, m, transitions.Receive{At: s.now, Message: msg.Message})
		if errors.As(err, new(*replay.RecordError)) {
			return nil, err
		}
		if err != nil {
			failed[m.Name] = err
			continue
		}
		if d, ok := effects.Find[effects.DeliverApplication](effs); !ok || !bytes.Equal(d.Data, data) {
			return nil, &Error{Op: OpSend, Member: m.Name, Err: errors.New("application message not delivered intact")}
		}
		s.stats.AppDelivered++
	}
	return failed, nil
}

// ProcessCommit has m receive a commit message and merge it: what
// Group.ProcessMessage and Group.MergeStagedCommit do in the mls API. It is
// the recovery for a member that missed a commit the delivery service
// still holds.
func (s *Sim) ProcessCommit(m *Member, msg []byte) error {
	effs, err := s.apply(OpDeliver, m, transitions.Receive{At: s.now, Message: msg})
	if err != nil {
		return err
	}
	if _, ok := effects.Find[effects.CommitStaged](effs); !ok {
		return &Error{Op: OpDeliver, Member: m.Name, Err: errors.New("not a commit: nothing staged")}
	}
	effs, err = s.apply(OpDeliver, m, transitions.MergeStaged{At: s.now})
	if err != nil {
		return err
	}
	if _, ok := effects.Find[effects.RemovedFromGroup](effs); ok {
		m.removed = true
		s.stats.Removed++
	}
	return nil
}

// Resync re-joins m by an external commit that removes its prior leaf,
// from a GroupInfo that from publishes: what Group.GroupInfo (from's side)
// and Group.Resync, then Group.MergePendingCommit (m's side) do in the mls
// API. The delivery service accepts the commit, and every other active
// member in from's view (same epoch authenticator) processes it; members
// in another view are left alone (they resync in turn).
func (s *Sim) Resync(m, from *Member) error {
	s.now++
	effs, err := s.apply(OpAdd, from, transitions.PublishGroupInfo{At: s.now, RatchetTree: true})
	if err != nil {
		return err
	}
	gi, ok := effects.Find[effects.PublishGroupInfo](effs)
	if !ok {
		return &Error{Op: OpAdd, Member: from.Name, Err: errors.New("no group info published")}
	}
	view := from.State().EpochAuthenticator()
	var others []*Member
	for _, o := range s.Active() {
		if o != m && bytes.Equal(o.State().EpochAuthenticator(), view) {
			others = append(others, o)
		}
	}
	effs, err = s.apply(OpAdd, m, transitions.ExternalJoin{At: s.now, GroupInfo: gi.GroupInfo, SignatureKey: m.sigKey,
		Credential: s.credential(m), Config: m.config, RemovePrior: true})
	if err != nil {
		return err
	}
	msg, ok := effects.Find[effects.SendToGroup](effs)
	if !ok {
		return &Error{Op: OpAdd, Member: m.Name, Err: errors.New("external commit not sent")}
	}
	if _, err := s.apply(OpAdd, m, transitions.AcceptJoin{At: s.now}); err != nil {
		return err
	}
	s.stats.Commits++
	for _, o := range others {
		if err := s.ProcessCommit(o, msg.Message); err != nil {
			return err
		}
	}
	m.joined, m.removed = true, false
	return nil
}

// Apply applies one event to m's state machine and logs it, as m's
// application would: for tests that script a member by hand (stage a
// commit and not merge it, discard it, receive a damaged copy). It does
// not advance the clock; a rejected event is logged and its error
// returned.
func (s *Sim) Apply(m *Member, ev transitions.Event) ([]effects.Effect, error) {
	return s.apply(OpDeliver, m, ev)
}

// Now returns the simulation's clock, in seconds since the Unix epoch:
// the At of the events it applies.
func (s *Sim) Now() uint64 { return s.now }

// RestoreState puts m's state back to a snapshot Backup took earlier
// while its log goes on: what restoring the state store alone does, when
// the log is kept apart (an append-only debugging log). The records after
// it apply to the older state, so the log no longer replays straight
// through: replay.Diff finds the record where the state went back.
func (s *Sim) RestoreState(m *Member, snap replay.Snapshot) error {
	l, err := replay.ReadLog(m.Log())
	if err != nil {
		return &Error{Op: OpDeliver, Member: m.Name, Err: err}
	}
	var w *replay.Writer
	switch {
	case len(l.Records) > 0:
		last := l.Records[len(l.Records)-1]
		w = replay.ResumeWriter(&m.log, l.Header, &last)
		snap.Seq, snap.Prev = last.Seq+1, replay.Hash(last)
	case l.Snapshot != nil:
		w = replay.ResumeAfterSnapshot(&m.log, l.Header, *l.Snapshot)
		snap.Seq, snap.Prev = l.Snapshot.Seq, l.Snapshot.Prev
	default:
		return &Error{Op: OpDeliver, Member: m.Name, Err: errors.New("nothing to restore over")}
	}
	rec, err := replay.ResumeRecorder(w, transitions.Env{}, snap)
	if err != nil {
		return &Error{Op: OpDeliver, Member: m.Name, Err: err}
	}
	m.rec = rec
	m.inbox = nil
	return nil
}
