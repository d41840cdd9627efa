package replay

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/treemath"
)

// DiffInput is one member's log of a group, for Diff.
type DiffInput struct {
	Name string // how the report names the member, e.g. its log's file name
	Log  *Log
}

// Cause names why two views of a group split (DiffSplit.Cause).
type Cause string

// The causes Diff tells apart.
const (
	// CauseMissingCommit: a member never received a commit the others
	// merged, and stayed in the old epoch.
	CauseMissingCommit Cause = "missing-commit"
	// CauseRejectedCommit: a member received the commit the others merged
	// and rejected it (the report gives the rule and its detail).
	CauseRejectedCommit Cause = "rejected-commit"
	// CauseDiscardedCommit: a member staged the commit the others merged,
	// then discarded it.
	CauseDiscardedCommit Cause = "discarded-commit"
	// CauseUnmergedCommit: a member staged the commit the others merged and
	// has not merged it yet.
	CauseUnmergedCommit Cause = "staged-not-merged"
	// CauseDoubleAccept: the delivery service accepted two commits for one
	// epoch: each was received and merged by members other than its
	// committer.
	CauseDoubleAccept Cause = "double-accept"
	// CauseMergedAfterLosing: a member merged its own pending commit
	// although the delivery service had chosen another (the one the other
	// members merged).
	CauseMergedAfterLosing Cause = "merged-after-losing"
	// CauseRaced: two committers each merged their own commit for the same
	// epoch and no log shows which one the delivery service accepted.
	CauseRaced Cause = "raced"
	// CauseRolledBack: a member's state went back: the others merged a
	// commit that member sent, which its own log does not hold (its state
	// and log were restored from an older snapshot or backup).
	CauseRolledBack Cause = "rolled-back"
	// CauseBehind: a member is in an older epoch with no sign of a fault:
	// its log ends before the commits the others merged arrived.
	CauseBehind Cause = "behind"
	// CauseNotKnowable: the logs hold no epoch both views held, because a
	// log starts from a snapshot taken after the split: the records that
	// would show it are gone (a snapshot-and-tail log keeps only its last
	// records).
	CauseNotKnowable Cause = "not-knowable"
	// CauseUnknown: the logs do not tell why the views differ; the report
	// lists what they show.
	CauseUnknown Cause = "unknown"
)

// DiffReport is what Diff finds in members' logs of a group.
type DiffReport struct {
	// SameGroup reports that every log follows the same group; when it is
	// false, Groups lists them and nothing else is compared.
	SameGroup bool     `json:"same_group"`
	Group     string   `json:"group,omitempty"` // hex group id, when SameGroup
	Groups    []string `json:"groups,omitempty"`
	// Agree reports that every member holds the same view: the same epoch
	// with the same epoch authenticator (or, for public logs, the same
	// confirmed transcript and tree hashes).
	Agree   bool         `json:"agree"`
	Members []DiffMember `json:"members"`
	// Outside lists the logs of clients that were never in a group, and
	// Removed the members removed from it: neither is compared.
	Outside []string      `json:"outside,omitempty"`
	Removed []DiffRemoved `json:"removed,omitempty"`
	// Lineages lists pairs of logs of one member whose histories part:
	// a restore from an older copy.
	Lineages []DiffLineage `json:"lineages,omitempty"`
	Views    []DiffView    `json:"views"`
	Splits   []DiffSplit   `json:"splits,omitempty"`
}

// DiffMember summarizes one log.
type DiffMember struct {
	Name     string `json:"name"`
	Mode     string `json:"mode"`
	Records  int    `json:"records"`
	Identity string `json:"identity,omitempty"` // credential identity of its leaf
	Leaf     uint32 `json:"leaf"`
	Group    string `json:"group,omitempty"`
	Epoch    uint64 `json:"epoch"`
	// Authenticator is the epoch authenticator of its last epoch (empty
	// for a public log, which holds no secret).
	Authenticator  string `json:"authenticator,omitempty"`
	TranscriptHash string `json:"confirmed_transcript_hash,omitempty"`
	// Active reports that the member is in the group at the end of its
	// log (not removed, not outside it).
	Active bool `json:"active"`
	// Notes say what the log cannot tell (a snapshot start, a public log,
	// a replay that stopped).
	Notes []string `json:"notes,omitempty"`
}

// DiffRemoved is a member whose log ends with its removal from the group.
type DiffRemoved struct {
	Member string      `json:"member"`
	Epoch  uint64      `json:"epoch"` // the epoch it was removed from
	Seq    uint64      `json:"seq"`   // the record of the removal
	By     *DiffCommit `json:"by,omitempty"`
}

// DiffLineage reports two logs of one member (the same signature key)
// whose hash chains part: one was restored from an older copy of the
// other and went on differently.
type DiffLineage struct {
	Members [2]string `json:"members"`
	// Shared is the number of leading records both logs hold identically
	// (0 when none is known to both), and Fork the first record number
	// whose records differ.
	Shared uint64 `json:"shared"`
	Fork   uint64 `json:"fork"`
	// Epochs are the final epochs of the two logs.
	Epochs [2]uint64 `json:"epochs"`
}

// DiffView is a set of members holding the same view of the group.
type DiffView struct {
	Members        []string `json:"members"`
	Epoch          uint64   `json:"epoch"`
	Authenticator  string   `json:"authenticator,omitempty"`
	TranscriptHash string   `json:"confirmed_transcript_hash,omitempty"`
}

// DiffCommit describes a commit as the members' logs show it.
type DiffCommit struct {
	Hash      string `json:"hash"`  // SHA-256 of the MLSMessage bytes
	Epoch     uint64 `json:"epoch"` // the epoch it moves from
	Sender    string `json:"sender"`
	Wire      string `json:"wire_format"`
	Proposals string `json:"proposals"`
	// Message is the MLSMessage in hex, when a log holds its bytes (a
	// received commit's event, or a replayed own commit's effect), with
	// the log and record it was found in.
	Message string `json:"message,omitempty"`
	FoundIn string `json:"found_in,omitempty"`
	Seq     uint64 `json:"seq"`

	hash      [32]byte
	senderKey []byte
	msg       []byte
}

// DiffEvent is one member's record at the split: how it left the last
// agreed epoch.
type DiffEvent struct {
	Member string      `json:"member"`
	Seq    uint64      `json:"seq"`
	Epoch  uint64      `json:"epoch"` // the epoch it entered
	What   string      `json:"what"`
	Commit *DiffCommit `json:"commit,omitempty"`
}

// DiffRejection is a message a member rejected after the split.
type DiffRejection struct {
	Member  string `json:"member"`
	Seq     uint64 `json:"seq"`
	Epoch   uint64 `json:"epoch"` // the epoch the message names`
	Event   string `json:"event"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail,omitempty"`

	commit bool
}

// DiffRecovery is one step of the recovery, as operations of the mls API.
type DiffRecovery struct {
	Member string `json:"member"`
	// Action is "process-commits" (Commits, in order), "merge-staged"
	// (merge the commit the member holds staged, then process Commits in
	// order) or "resync" (an external commit from a GroupInfo of From).
	Action  string       `json:"action"`
	Commits []DiffCommit `json:"commits,omitempty"`
	From    string       `json:"from,omitempty"`
	// Alternative marks a step that replaces the steps before it for the
	// same member, when they cannot be done.
	Alternative bool     `json:"alternative,omitempty"`
	API         []string `json:"api"`
}

// DiffSplit explains why two views differ.
type DiffSplit struct {
	Views [2]int `json:"views"` // indices into DiffReport.Views
	// LastAgreed is the last epoch both views held with the same
	// authenticator (nil if none is known), and the record of each member
	// that entered it.
	LastAgreed *DiffAgreed     `json:"last_agreed,omitempty"`
	First      []DiffEvent     `json:"first_difference"`
	Cause      Cause           `json:"cause"`
	Summary    string          `json:"summary"`
	Details    []string        `json:"details,omitempty"`
	Afterwards []DiffRejection `json:"afterwards,omitempty"`
	// Winner is the view the recovery keeps (index into Views).
	Winner   int            `json:"winner"`
	Recovery []DiffRecovery `json:"recovery"`
}

// DiffAgreed is the last epoch two views agreed on.
type DiffAgreed struct {
	Epoch          uint64            `json:"epoch"`
	Authenticator  string            `json:"authenticator,omitempty"`
	TranscriptHash string            `json:"confirmed_transcript_hash"`
	Records        map[string]uint64 `json:"records"` // member → record that entered it
	// FromSnapshot lists the members whose log starts in that epoch, from
	// a snapshot of the state before their record in Records.
	FromSnapshot []string `json:"from_snapshot,omitempty"`
}

// fingerprint identifies an epoch of a view: its number, confirmed
// transcript hash (which chains every commit) and tree hash, and the epoch
// authenticator when the log holds secrets.
type fingerprint struct {
	epoch            uint64
	transcript, tree []byte
	auth             []byte
}

func (a fingerprint) matches(b fingerprint) bool {
	return a.epoch == b.epoch && bytes.Equal(a.transcript, b.transcript) && bytes.Equal(a.tree, b.tree) &&
		(len(a.auth) == 0 || len(b.auth) == 0 || bytes.Equal(a.auth, b.auth))
}

// entryKind says how a member entered an epoch.
type entryKind uint8

const (
	entrySnapshot entryKind = iota // the log starts there
	entryCreated
	entryWelcome
	entryMerged    // a received commit
	entryConfirmed // its own commit
	entryExternal  // its own external commit
	entryRollback  // its state went back (followRollbacks)
	entryOther
)

type epochEntry struct {
	fp     fingerprint
	seq    uint64
	kind   entryKind
	commit *DiffCommit
}

type sentCommit struct {
	commit             *DiffCommit
	confirmed, aborted bool
}

type recvCommit struct {
	seq                       uint64
	outcome                   Outcome
	detail                    string
	staged, merged, discarded bool
}

// timeline is what one member's log tells.
type timeline struct {
	name    string
	log     *Log
	res     *Result
	member  DiffMember
	group   []byte
	inGroup bool
	ownKey  []byte // own signature key
	entries []epochEntry
	sent    map[[32]byte]*sentCommit
	recv    map[[32]byte][]*recvCommit
	rejects []DiffRejection
	final   fingerprint

	removedAt uint64
	removedBy *DiffCommit
	rollbacks []rollback
}

// rollback is a record of a log that applies to an older state than the
// one the records before it left: the member's state went back while its
// log went on.
type rollback struct {
	seq       uint64 // the first record after the rollback
	from, to  uint64 // epochs before and after it
	toSeq     uint64 // the state it went back to is the one after this record
	fromStart bool   // … or the log's starting state
}

// Diff compares members' logs of one group and explains where and why
// their views split: it replays each log (with env, as ReplayLog does) to
// recover the epochs each member went through with their authenticators,
// the commits it sent, confirmed, received, merged, rejected or discarded,
// and the messages it rejected; groups the members into views; and for
// each pair of views finds the last epoch they agreed on, what each did
// next, the cause, what the members saw afterwards, and the recovery, as
// operations of the mls API.
//
// A log that does not replay to its end is used up to where it stops,
// with a note. A SnapshotAndTail log knows nothing before its snapshot,
// and a Public log knows no secret (no authenticator, no content of
// PrivateMessages, no own commit): the report says so where it matters.
// Logs of different groups are reported as such (SameGroup false).
func Diff(logs []DiffInput, env EnvFunc) (*DiffReport, error) {
	if len(logs) < 2 {
		return nil, errors.New("mls: diff needs at least two logs")
	}
	var tls []*timeline
	for _, in := range logs {
		if in.Log == nil {
			return nil, fmt.Errorf("mls: diff: no log for %s", in.Name)
		}
		tls = append(tls, buildTimeline(in, env))
	}
	rep := &DiffReport{SameGroup: true}
	var members []*timeline
	for _, t := range tls {
		rep.Members = append(rep.Members, t.member)
		if len(t.group) == 0 {
			rep.Outside = append(rep.Outside, t.name)
			continue
		}
		members = append(members, t)
		if g := hex.EncodeToString(t.group); !slices.Contains(rep.Groups, g) {
			rep.Groups = append(rep.Groups, g)
		}
	}
	if len(rep.Groups) != 1 {
		rep.SameGroup = false
		return rep, nil
	}
	rep.Group, rep.Groups = rep.Groups[0], nil

	// Removed members hold the epoch they were removed in, inactive: they
	// are listed, not compared.
	var active []*timeline
	for _, t := range members {
		if t.inGroup {
			active = append(active, t)
			continue
		}
		r := DiffRemoved{Member: t.name, Epoch: t.final.epoch, Seq: t.removedAt, By: t.removedBy}
		rep.Removed = append(rep.Removed, r)
	}

	for i, a := range members {
		for _, b := range members[i+1:] {
			if sameMember(a, b) {
				if l, ok := lineage(a, b); ok {
					rep.Lineages = append(rep.Lineages, l)
				}
			}
		}
	}

	// Views: members whose final epochs match.
	var views [][]*timeline
	for _, t := range active {
		placed := false
		for i, v := range views {
			if v[0].final.matches(t.final) {
				views[i] = append(v, t)
				placed = true
				break
			}
		}
		if !placed {
			views = append(views, []*timeline{t})
		}
	}
	for _, v := range views {
		dv := DiffView{Epoch: v[0].final.epoch, TranscriptHash: hex.EncodeToString(v[0].final.transcript)}
		for _, t := range v {
			dv.Members = append(dv.Members, t.name)
			if dv.Authenticator == "" && len(t.final.auth) > 0 {
				dv.Authenticator = hex.EncodeToString(t.final.auth)
			}
		}
		rep.Views = append(rep.Views, dv)
	}
	rep.Agree = len(views) == 1
	// Each other view is explained against the largest (the first on a
	// tie), so that the recoveries add up to one plan.
	ref := 0
	for i := range views {
		if len(views[i]) > len(views[ref]) {
			ref = i
		}
	}
	for i := range views {
		if i != ref {
			rep.Splits = append(rep.Splits, explain(members, views, min(ref, i), max(ref, i)))
		}
	}
	return rep, nil
}

func buildTimeline(in DiffInput, env EnvFunc) *timeline {
	t := &timeline{name: in.Name, log: in.Log, sent: map[[32]byte]*sentCommit{}, recv: map[[32]byte][]*recvCommit{}}
	t.member = DiffMember{Name: in.Name, Mode: in.Log.Header.Mode.String(), Records: len(in.Log.Records)}
	res, err := ReplayLog(in.Log, env)
	if res == nil {
		t.member.Notes = append(t.member.Notes, fmt.Sprintf("does not replay: %v", err))
		return t
	}
	t.res = res
	res, err = t.followRollbacks(env, err)
	t.res = res
	if err != nil {
		var d *Divergence
		if errors.As(err, &d) {
			t.member.Notes = append(t.member.Notes, fmt.Sprintf("replays only up to record %d: %v; later records are not used", d.Seq, err))
		} else {
			t.member.Notes = append(t.member.Notes, fmt.Sprintf("replay stopped: %v; later records are not used", err))
		}
	}
	if in.Log.Snapshot != nil {
		t.member.Notes = append(t.member.Notes, fmt.Sprintf("starts from a snapshot of the state before record %d: what the member did before it is not knowable from this log", in.Log.Snapshot.Seq))
	}
	if res.Public {
		if res.Observed {
			t.member.Notes = append(t.member.Notes, "public log: epochs are compared by confirmed transcript and tree hash (no authenticator); own commits and PrivateMessage contents are not knowable")
		} else {
			t.member.Notes = append(t.member.Notes, "public log without public digests (format before 3): no epoch is knowable")
		}
	}
	t.walk()
	if n := len(t.entries); n > 0 {
		t.final = t.entries[n-1].fp
		t.member.Epoch = t.final.epoch
		t.member.Authenticator = hex.EncodeToString(t.final.auth)
		t.member.TranscriptHash = hex.EncodeToString(t.final.transcript)
	}
	t.member.Active = t.inGroup
	t.member.Group = hex.EncodeToString(t.group)
	return t
}

// maxRollbackProbes bounds the earlier states tried when a record does
// not follow from the one before it.
const maxRollbackProbes = 4096

// followRollbacks continues a replay that diverged: when the diverging
// record replays to its recorded outcome and digests from an earlier
// state of the same log, the member's state went back to that state while
// its log went on (a restore of the state alone); the replay continues
// from there, and the rollback is noted. Other divergences are returned.
func (t *timeline) followRollbacks(env EnvFunc, err error) (*Result, error) {
	res := t.res
	for range 64 {
		var d *Divergence
		if !errors.As(err, &d) || res.Public || (d.Field != "state" && d.Field != "outcome" && d.Field != "effects") {
			return res, err
		}
		idx := int(d.Seq - res.First)
		if idx <= 0 || idx >= len(t.log.Records) || idx != len(res.Steps) {
			return res, err
		}
		prev := Hash(t.log.Records[idx-1])
		found := false
		for k := len(res.Steps) - 2; k >= -1 && len(res.Steps)-2-k < maxRollbackProbes; k-- {
			st, secrets, at := res.Start, res.startSecrets, uint64(0)
			if k >= 0 {
				st, secrets, at = res.Steps[k].State, res.Steps[k].secrets, res.Steps[k].Record.Seq
			}
			if st.Digest() == res.Steps[len(res.Steps)-1].State.Digest() {
				continue
			}
			probe, perr := replayFrom(res.Header, st, d.Seq, prev, secrets, Records(t.log.Records[idx:idx+1]), env)
			if perr != nil || len(probe.Steps) != 1 {
				continue
			}
			rest, rerr := replayFrom(res.Header, st, d.Seq, prev, secrets, Records(t.log.Records[idx:]), env)
			t.rollbacks = append(t.rollbacks, rollback{seq: d.Seq, from: res.Steps[len(res.Steps)-1].State.Epoch(), to: st.Epoch(), toSeq: at, fromStart: k < 0})
			merged := *res
			merged.Steps = append(slices.Clip(res.Steps), rest.Steps...)
			merged.Keys = rest.Keys
			res, err, found = &merged, rerr, true
			break
		}
		if !found {
			return res, err
		}
	}
	return res, err
}

// stepView is what a timeline needs of a state: a full member state, or
// an observer's public state.
type stepView struct {
	in       bool
	fp       fingerprint
	group    []byte
	tree     func(treemath.LeafIndex) (*codec.LeafNode, bool)
	self     treemath.LeafIndex
	hasSelf  bool
	activeIn bool
}

func viewOfState(s state.GroupState) stepView {
	if !s.InGroup() {
		return stepView{}
	}
	ctx := s.GroupContext()
	tr := s.Tree()
	return stepView{in: true, group: ctx.GroupID, tree: tr.Leaf, self: s.OwnLeaf(), hasSelf: true, activeIn: s.Active(),
		fp: fingerprint{epoch: ctx.Epoch, transcript: ctx.ConfirmedTranscriptHash, tree: ctx.TreeHash, auth: s.EpochAuthenticator()}}
}

func viewOfPublic(p state.Public, self treemath.LeafIndex) stepView {
	if p.Suite == nil {
		return stepView{}
	}
	tr := p.Tree
	return stepView{in: true, group: p.Context.GroupID, tree: tr.Leaf, activeIn: p.Active, self: self, hasSelf: true,
		fp: fingerprint{epoch: p.Context.Epoch, transcript: p.Context.ConfirmedTranscriptHash, tree: p.Context.TreeHash}}
}

func (t *timeline) viewAt(i int) stepView {
	if i < 0 {
		if t.res.Public {
			return stepView{}
		}
		return viewOfState(t.res.Start)
	}
	st := t.res.Steps[i]
	if t.res.Public {
		return viewOfPublic(st.Observed, st.observedSelf)
	}
	return viewOfState(st.State)
}

func leafName(v stepView, l treemath.LeafIndex) (string, []byte) {
	if v.tree != nil {
		if ln, ok := v.tree(l); ok {
			if ln.Credential.CredentialType == codec.CredentialBasic {
				return fmt.Sprintf("leaf %d (%s)", l, ln.Credential.Identity), ln.SignatureKey
			}
			return fmt.Sprintf("leaf %d", l), ln.SignatureKey
		}
	}
	return fmt.Sprintf("leaf %d", l), nil
}

// member_ notes the group and the member's own leaf of a state.
func (t *timeline) noteSelf(v stepView) {
	t.group, t.inGroup = v.group, v.activeIn
	if v.hasSelf {
		t.member.Leaf = uint32(v.self)
		if ln, ok := v.tree(v.self); ok {
			t.ownKey = ln.SignatureKey
			if ln.Credential.CredentialType == codec.CredentialBasic {
				t.member.Identity = string(ln.Credential.Identity)
			}
		}
	}
}

// walk reads the replayed steps into the timeline.
func (t *timeline) walk() {
	prev := t.viewAt(-1)
	if prev.in {
		t.entries = append(t.entries, epochEntry{fp: prev.fp, seq: t.res.First, kind: entrySnapshot})
		t.noteSelf(prev)
	}
	var ws walkState
	for i, st := range t.res.Steps {
		r := st.Record
		cur := t.viewAt(i)
		kind, entered, merged := t.step(&ws, st, prev, cur)
		for _, rb := range t.rollbacks {
			if rb.seq == r.Seq {
				kind = entryRollback
			}
		}
		if cur.in {
			t.noteSelf(cur)
			if n := len(t.entries); n == 0 || !t.entries[n-1].fp.matches(cur.fp) || !bytes.Equal(t.entries[n-1].fp.auth, cur.fp.auth) {
				t.entries = append(t.entries, epochEntry{fp: cur.fp, seq: r.Seq, kind: kind, commit: entered})
			}
			if prev.in && prev.activeIn && !cur.activeIn {
				// Removed: the state stays, inactive, in the epoch it was
				// removed from.
				t.removedAt, t.removedBy = r.Seq, merged
			}
		}
		prev = cur
	}
}

// walkState is what walk carries from one step to the next: this
// member's commit awaiting confirmation, the received commit staged, and
// the external join awaiting acceptance.
type walkState struct{ pending, staged, external *DiffCommit }

// step reads one replayed step: the kind of epoch entry it makes, the
// commit that entered the epoch and the commit merged, if any.
func (t *timeline) step(w *walkState, st Step, prev, cur stepView) (kind entryKind, entered, merged *DiffCommit) {
	r := st.Record
	ok := r.Outcome.Class == OK // the replay reproduced it (a Public replay re-runs nothing)
	kind = entryOther
	switch ev := st.Event.(type) {
	case transitions.CreateGroup:
		kind = entryCreated
	case transitions.Commit, transitions.ExternalJoin:
		if !ok {
			break
		}
		c := t.ownCommit(st, prev, cur)
		if c == nil {
			break
		}
		t.sent[c.hash] = &sentCommit{commit: c}
		if _, ok := ev.(transitions.ExternalJoin); ok {
			w.external = c
		} else {
			w.pending = c
		}
	case transitions.ConfirmCommit:
		if ok {
			kind = entryConfirmed
			entered = w.pending
			if w.pending != nil {
				t.sent[w.pending.hash].confirmed = true
			}
			w.pending = nil
		}
	case transitions.AbortCommit:
		if ok && w.pending != nil {
			t.sent[w.pending.hash].aborted = true
			w.pending = nil
		}
	case transitions.Receive:
		msg, ct, wire := messageKind(ev.Message)
		if !ok {
			t.rejects = append(t.rejects, DiffRejection{Member: t.name, Seq: r.Seq, Epoch: messageEpoch(msg), Event: Describe(ev),
				Outcome: r.Outcome.String(), Detail: errText(st.Err), commit: ct == codec.ContentTypeCommit})
		}
		if ct != codec.ContentTypeCommit {
			break
		}
		h := sha256.Sum256(ev.Message)
		rc := &recvCommit{seq: r.Seq, outcome: r.Outcome, detail: errText(st.Err)}
		t.recv[h] = append(t.recv[h], rc)
		if ok {
			rc.staged = true
			w.staged = t.receivedCommit(st, prev, h, ev.Message, msg, wire)
		}
	case transitions.MergeStaged:
		if ok && w.staged != nil {
			kind = entryMerged
			entered, merged = w.staged, w.staged
			if rs := t.recv[w.staged.hash]; len(rs) > 0 {
				rs[len(rs)-1].merged = true
			}
			w.staged = nil
		}
	case transitions.DiscardStaged:
		if ok && w.staged != nil {
			if rs := t.recv[w.staged.hash]; len(rs) > 0 {
				rs[len(rs)-1].discarded = true
			}
			w.staged = nil
		}
	case transitions.AcceptJoin:
		if ok {
			if w.external != nil {
				kind, entered = entryExternal, w.external
				t.sent[w.external.hash].confirmed = true
			} else {
				kind = entryWelcome
			}
			w.external = nil
		}
	case transitions.RejectJoin:
		if ok && w.external != nil {
			t.sent[w.external.hash].aborted = true
			w.external = nil
		}
	}
	return kind, entered, merged
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// messageKind decodes a received message's framing: its content type and
// wire format (a PrivateMessage's content type is in the clear too).
func messageKind(b []byte) (*codec.MLSMessage, codec.ContentType, string) {
	m, err := codec.DecodeMLSMessage(b)
	if err != nil {
		return nil, 0, "undecodable"
	}
	switch {
	case m.PublicMessage != nil:
		return &m, m.PublicMessage.Content.ContentType, m.WireFormat.String()
	case m.PrivateMessage != nil:
		return &m, m.PrivateMessage.ContentType, m.WireFormat.String()
	}
	return &m, 0, m.WireFormat.String()
}

// messageEpoch returns the epoch a message names (0 if none).
func messageEpoch(m *codec.MLSMessage) uint64 {
	switch {
	case m == nil:
	case m.PublicMessage != nil:
		return m.PublicMessage.Content.Epoch
	case m.PrivateMessage != nil:
		return m.PrivateMessage.Epoch
	}
	return 0
}

// ownCommit describes the commit a Commit or ExternalJoin step sent.
func (t *timeline) ownCommit(st Step, prev, cur stepView) *DiffCommit {
	var msg []byte
	for _, e := range st.Effects {
		if s, ok := e.(effects.SendToGroup); ok && s.Kind == effects.KindCommit {
			msg = s.Message
		}
	}
	if msg == nil {
		return nil
	}
	_, _, wire := messageKind(msg)
	c := &DiffCommit{hash: sha256.Sum256(msg), msg: msg, Wire: wire, FoundIn: t.name, Seq: st.Record.Seq, Message: hex.EncodeToString(msg)}
	c.Hash = hex.EncodeToString(c.hash[:])
	switch st.Event.(type) {
	case transitions.Commit:
		c.Epoch = prev.fp.epoch
		c.Sender, c.senderKey = leafName(prev, prev.self)
		if pc, ok := st.State.PendingCommit(); ok {
			c.Proposals = strings.Join(changeList(pc.Added, pc.Removed, nil), " ")
		}
	case transitions.ExternalJoin:
		if j, ok := st.State.StagedJoin(); ok {
			c.Epoch = j.Next.Epoch() - 1
			nv := viewOfState(j.Next)
			c.Sender, c.senderKey = leafName(nv, j.Next.OwnLeaf())
			c.Sender = "external commit by " + c.Sender
		}
		c.Proposals = "external_init, remove of its prior leaf"
		if ev, _ := st.Event.(transitions.ExternalJoin); !ev.RemovePrior {
			c.Proposals = "external_init"
		}
	}
	if c.Proposals == "" {
		c.Proposals = "none"
	}
	return c
}

// receivedCommit describes a received commit that was staged.
func (t *timeline) receivedCommit(st Step, prev stepView, h [32]byte, raw []byte, msg *codec.MLSMessage, wire string) *DiffCommit {
	c := &DiffCommit{hash: h, msg: raw, Hash: hex.EncodeToString(h[:]), Wire: wire, Epoch: prev.fp.epoch,
		FoundIn: t.name, Seq: st.Record.Seq, Message: hex.EncodeToString(raw), Proposals: "none"}
	var cs *effects.CommitStaged
	for _, e := range st.Effects {
		if x, ok := e.(effects.CommitStaged); ok {
			cs = &x
		}
	}
	var snd codec.Sender
	var haveSender bool
	if cs != nil {
		snd, haveSender = cs.Sender, true
		if parts := changeList(cs.Added, cs.Removed, cs.Updated); len(parts) > 0 {
			c.Proposals = strings.Join(parts, " ")
		}
	} else if msg != nil && msg.PublicMessage != nil {
		snd, haveSender = msg.PublicMessage.Content.Sender, true
	}
	switch {
	case !haveSender:
		c.Sender = "unknown sender"
	case snd.SenderType == codec.SenderTypeMember:
		c.Sender, c.senderKey = leafName(prev, snd.LeafIndex)
	case snd.SenderType == codec.SenderTypeNewMemberCommit:
		c.Sender = "external commit"
		if sc, ok := st.State.StagedCommit(); ok {
			// The joiner's leaf is the one its path fills: the added leaf
			// of the next epoch's tree whose key is not in this one.
			nv := viewOfState(sc.Next)
			for _, l := range sc.Added {
				name, key := leafName(nv, l)
				c.Sender, c.senderKey = "external commit by "+name, key
			}
		}
	default:
		c.Sender = fmt.Sprintf("sender type %d", snd.SenderType)
	}
	return c
}

func changeList(added, removed, updated []treemath.LeafIndex) []string {
	var out []string
	for _, l := range added {
		out = append(out, fmt.Sprintf("+leaf %d", l))
	}
	for _, l := range removed {
		out = append(out, fmt.Sprintf("-leaf %d", l))
	}
	for _, l := range updated {
		out = append(out, fmt.Sprintf("~leaf %d", l))
	}
	return out
}

// entryAt returns the member's entry of the epoch fp names.
func (t *timeline) entryAt(fp fingerprint) (epochEntry, bool) {
	for _, e := range t.entries {
		if e.fp.matches(fp) {
			return e, true
		}
	}
	return epochEntry{}, false
}

// nextEntry returns the entry after the one matching fp.
func (t *timeline) nextEntry(fp fingerprint) (epochEntry, bool) {
	for i, e := range t.entries {
		if e.fp.matches(fp) && i+1 < len(t.entries) {
			return t.entries[i+1], true
		}
	}
	return epochEntry{}, false
}

func (k entryKind) String() string {
	switch k {
	case entrySnapshot:
		return "its log starts from a snapshot of it"
	case entryCreated:
		return "created the group"
	case entryWelcome:
		return "joined by a Welcome"
	case entryMerged:
		return "merged a commit"
	case entryConfirmed:
		return "confirmed its own commit"
	case entryExternal:
		return "joined by its own external commit"
	case entryRollback:
		return "went back to an older state (its state was rolled back while its log went on)"
	}
	return "entered it"
}

func short8(s string) string { return s[:min(len(s), 16)] }

// short names the commit in a sentence: its hash, epochs and sender.
func (c *DiffCommit) short() string {
	return fmt.Sprintf("commit %s… (epoch %d→%d, from %s)", short8(c.Hash), c.Epoch, c.Epoch+1, c.Sender)
}

// String describes the commit fully: hash, epochs, sender, wire format
// and the changes of its proposals.
func (c *DiffCommit) String() string {
	return fmt.Sprintf("commit %s… (epoch %d→%d, %s, %s, proposals: %s)", short8(c.Hash), c.Epoch, c.Epoch+1, c.Sender, c.Wire, c.Proposals)
}

// explain compares views i and j.
func explain(tls []*timeline, views [][]*timeline, i, j int) DiffSplit {
	sp := DiffSplit{Views: [2]int{i, j}, Winner: i}
	vi, vj := views[i], views[j]

	agreed := lastAgreed(vi, vj)
	if agreed == nil {
		noAgreedEpoch(&sp, views, i, j)
		return sp
	}
	sp.LastAgreed = &DiffAgreed{Epoch: agreed.epoch, Authenticator: hex.EncodeToString(agreed.auth),
		TranscriptHash: hex.EncodeToString(agreed.transcript), Records: map[string]uint64{}}
	for _, t := range append(slices.Clone(vi), vj...) {
		if e, ok := t.entryAt(*agreed); ok {
			sp.LastAgreed.Records[t.name] = e.seq
			if e.kind == entrySnapshot {
				sp.LastAgreed.FromSnapshot = append(sp.LastAgreed.FromSnapshot, t.name)
			}
		}
	}

	ni, nj := nextEvents(vi, *agreed), nextEvents(vj, *agreed)
	sp.First = append(ni, nj...)
	afterwards(&sp, append(slices.Clone(vi), vj...), *agreed)

	for _, v := range [][]*timeline{vj, vi} {
		for _, t := range v {
			if len(t.rollbacks) > 0 {
				rolledBackInLog(&sp, views, i, j, t)
				return sp
			}
		}
	}
	switch {
	case len(ni) > 0 && len(nj) > 0:
		fork(&sp, tls, views, i, j, ni, nj, *agreed)
	case len(ni) > 0 || len(nj) > 0:
		ahead, behind := i, j
		na := ni
		if len(ni) == 0 {
			ahead, behind, na = j, i, nj
		}
		lag(&sp, tls, views, ahead, behind, na, *agreed)
	default:
		sp.Cause = CauseUnknown
		sp.Summary = fmt.Sprintf("%s and %s both hold epoch %d, but their final states differ in a way the epochs do not show", memberNames(vi), memberNames(vj), agreed.epoch)
		sp.Recovery = resyncAll(views, i, j)
	}
	return sp
}

// lastAgreed returns the last epoch views vi and vj agreed on: the
// highest epoch entered by a member of each view with matching
// fingerprints, nil if there is none.
func lastAgreed(vi, vj []*timeline) *fingerprint {
	var agreed *fingerprint
	for _, a := range vi {
		for _, ea := range a.entries {
			for _, b := range vj {
				if eb, ok := b.entryAt(ea.fp); ok && (agreed == nil || ea.fp.epoch > agreed.epoch) {
					fp := ea.fp
					if len(fp.auth) == 0 {
						fp.auth = eb.fp.auth
					}
					agreed = &fp
				}
			}
		}
	}
	return agreed
}

// noAgreedEpoch explains views i and j that share no epoch: what each
// log knows, and the recovery (the view in the later epoch survives; the
// other re-joins it).
func noAgreedEpoch(sp *DiffSplit, views [][]*timeline, i, j int) {
	vi, vj := views[i], views[j]
	sp.Cause = CauseUnknown
	sp.Summary = fmt.Sprintf("the logs show no epoch that %s and %s both held", memberNames(vi), memberNames(vj))
	for _, v := range [][]*timeline{vi, vj} {
		for _, t := range v {
			if len(t.entries) == 0 {
				sp.Details = append(sp.Details, fmt.Sprintf("%s's log knows no epoch of the group", t.name))
				continue
			}
			e := t.entries[0]
			sp.Details = append(sp.Details, fmt.Sprintf("%s's log knows epochs %d to %d (the first: %s)", t.name, e.fp.epoch, t.final.epoch, e.kind))
			if e.kind == entrySnapshot {
				sp.Cause = CauseNotKnowable
			}
		}
	}
	if sp.Cause == CauseNotKnowable {
		sp.Summary += ": a log starts from a snapshot taken after the views split, so the records that would show why are not in the logs (keep more records: Options.KeepRecords, replay.Retain)"
	}
	// The view in the later epoch survives; the other re-joins it.
	sp.Winner = larger(views, i, j)
	if vi[0].final.epoch != vj[0].final.epoch {
		sp.Winner = i
		if vj[0].final.epoch > vi[0].final.epoch {
			sp.Winner = j
		}
	}
	sp.Recovery = resyncAll(views, sp.Winner, other(sp.Winner, i, j))
}

// nextEvents lists what each member of view v did after the epoch agreed.
func nextEvents(v []*timeline, agreed fingerprint) []DiffEvent {
	var out []DiffEvent
	for _, t := range v {
		if e, ok := t.nextEntry(agreed); ok {
			what := e.kind.String()
			switch {
			case e.commit != nil && (e.kind == entryMerged || e.kind == entryConfirmed || e.kind == entryExternal):
				what = strings.TrimSuffix(strings.TrimSuffix(what, " a commit"), " commit") + " " + e.commit.String()
			case e.kind == entryConfirmed || e.kind == entryExternal:
				what += " (its log does not hold the commit's bytes: a public log)"
			}
			out = append(out, DiffEvent{Member: t.name, Seq: e.seq, Epoch: e.fp.epoch, What: what, Commit: e.commit})
		}
	}
	return out
}

// rolledBackInLog explains a split by a member whose log shows its state
// going back: the other view survives and the member re-joins it.
func rolledBackInLog(sp *DiffSplit, views [][]*timeline, i, j int, t *timeline) {
	lose := j
	for _, m := range views[i] {
		if m == t {
			lose = i
		}
	}
	sp.Winner = other(lose, i, j)
	sp.Cause = CauseRolledBack
	rb := t.rollbacks[0]
	to := fmt.Sprintf("the state after record %d", rb.toSeq)
	if rb.fromStart {
		to = "the state its log starts from"
	}
	sp.Summary = fmt.Sprintf("%s's state was rolled back from epoch %d to epoch %d: record %d of its log applies to %s, not to the state the records before it left; its log went on, its state did not",
		t.name, rb.from, rb.to, rb.seq, to)
	for _, r := range t.rollbacks[1:] {
		sp.Details = append(sp.Details, fmt.Sprintf("again at record %d: from epoch %d to epoch %d", r.seq, r.from, r.to))
	}
	sp.Details = append(sp.Details, "its keys of the later epochs are gone, and the others may have moved on from what it sent since: it must re-join")
	// Whatever it rejected since the rollback is the rollback's doing.
	for _, r := range t.rejects {
		if r.Seq >= rb.seq && !slices.ContainsFunc(sp.Afterwards, func(x DiffRejection) bool { return x.Member == r.Member && x.Seq == r.Seq }) {
			sp.Afterwards = append(sp.Afterwards, r)
		}
	}
	sp.Recovery = resyncAll(views, sp.Winner, lose)
}

func other(w, i, j int) int {
	if w == i {
		return j
	}
	return i
}

// larger returns the view with more members (i on a tie).
func larger(views [][]*timeline, i, j int) int {
	if len(views[j]) > len(views[i]) {
		return j
	}
	return i
}

// afterwards lists the messages the members rejected because of the
// split: after the record that entered the last agreed epoch E (from the
// first record when the log starts there or later), a message of an epoch
// after E, or a commit of epoch E. Rejections of older messages (late
// copies, duplicates) are not the split's doing and are left out.
func afterwards(sp *DiffSplit, ms []*timeline, agreed fingerprint) {
	for _, t := range ms {
		first := true
		var cut uint64
		if e, ok := t.entryAt(agreed); ok && e.kind != entrySnapshot {
			first, cut = false, e.seq
		}
		for _, r := range t.rejects {
			if (first || r.Seq > cut) && (r.Epoch > agreed.epoch || r.commit && r.Epoch == agreed.epoch) {
				sp.Afterwards = append(sp.Afterwards, r)
			}
		}
	}
}

// commitFacts says which logs sent, received and merged a commit.
type commitFacts struct {
	sentBy   *timeline
	sent     *sentCommit
	mergedBy []*timeline // received and merged
	received map[*timeline][]*recvCommit
}

func factsOf(tls []*timeline, h [32]byte) commitFacts {
	f := commitFacts{received: map[*timeline][]*recvCommit{}}
	for _, t := range tls {
		if s, ok := t.sent[h]; ok {
			f.sentBy, f.sent = t, s
		}
		rs := t.recv[h]
		if len(rs) > 0 {
			f.received[t] = rs
			for _, r := range rs {
				if r.merged {
					f.mergedBy = append(f.mergedBy, t)
					break
				}
			}
		}
	}
	return f
}

func memberNames(ts []*timeline) string {
	var n []string
	for _, t := range ts {
		n = append(n, t.name)
	}
	return strings.Join(n, ", ")
}

// fork explains two views that each entered a different next epoch.
func fork(sp *DiffSplit, tls []*timeline, views [][]*timeline, i, j int, ni, nj []DiffEvent, agreed fingerprint) {
	ci, cj := commitOf(ni), commitOf(nj)
	if ci == nil || cj == nil {
		sp.Cause = CauseUnknown
		sp.Summary = fmt.Sprintf("after epoch %d the views entered different epochs, not both by a commit the logs show", agreed.epoch)
		sp.Winner = larger(views, i, j)
		sp.Recovery = resyncAll(views, sp.Winner, other(sp.Winner, i, j))
		return
	}
	fi, fj := factsOf(tls, ci.hash), factsOf(tls, cj.hash)
	describe := func(c *DiffCommit, f commitFacts) {
		s := c.String()
		if f.sentBy != nil {
			state := "never confirmed"
			switch {
			case f.sent.confirmed:
				state = "merged it with ConfirmCommit (Group.MergePendingCommit)"
			case f.sent.aborted:
				state = "aborted it"
			}
			s += fmt.Sprintf(": sent by %s, who %s", f.sentBy.name, state)
		}
		if len(f.mergedBy) > 0 {
			s += fmt.Sprintf("; received and merged by %s", memberNames(f.mergedBy))
		}
		sp.Details = append(sp.Details, s)
		for t, rs := range sortedReceipts(f, tls) {
			for _, r := range rs {
				if !r.merged {
					sp.Details = append(sp.Details, fmt.Sprintf("%s received it at record %d: %s", t.name, r.seq, receiptText(r)))
				}
			}
		}
	}
	describe(ci, fi)
	describe(cj, fj)
	distributedI, distributedJ := len(fi.mergedBy) > 0, len(fj.mergedBy) > 0
	switch {
	case distributedI && distributedJ:
		sp.Cause = CauseDoubleAccept
		sp.Summary = fmt.Sprintf("the delivery service accepted two commits for epoch %d: %s… (merged by %s) and %s… (merged by %s)",
			agreed.epoch, short8(ci.Hash), memberNames(append(committers(fi), fi.mergedBy...)), short8(cj.Hash), memberNames(append(committers(fj), fj.mergedBy...)))
		sp.Winner = larger(views, i, j)
		sp.Details = append(sp.Details, fmt.Sprintf("only one can stand; the recovery keeps view %d, the one with more members (view %d on a tie)", sp.Winner+1, i+1))
	case distributedI != distributedJ:
		win, lose, cw, cl, fw, fl := i, j, ci, cj, fi, fj
		if distributedJ {
			win, lose, cw, cl, fw, fl = j, i, cj, ci, fj, fi
		}
		sp.Winner = win
		if fl.sentBy != nil && fl.sent.confirmed {
			sp.Cause = CauseMergedAfterLosing
			sp.Summary = fmt.Sprintf("%s merged its own pending commit %s… for epoch %d, but the delivery service chose %s… (%s), which the other members merged",
				fl.sentBy.name, short8(cl.Hash), agreed.epoch, short8(cw.Hash), cw.Sender)
			loser := fl.sentBy.name
			sp.Details = slices.DeleteFunc(sp.Details, func(d string) bool { return strings.HasPrefix(d, loser+" received it at record") })
			if rs := fw.received[fl.sentBy]; len(rs) > 0 {
				sp.Details = append(sp.Details, fmt.Sprintf("%s did receive the winning commit (record %d: %s): it should have called Group.ClearPendingCommit and merged that one",
					fl.sentBy.name, rs[0].seq, receiptText(rs[0])))
			} else {
				sp.Details = append(sp.Details, fmt.Sprintf("%s's log never received the winning commit; nobody else in these logs received %s's: it should have called Group.ClearPendingCommit when the delivery service refused it", fl.sentBy.name, fl.sentBy.name))
			}
		} else {
			sp.Cause = CauseUnknown
			sp.Summary = fmt.Sprintf("view %d entered epoch %d with %s…, which no other member received", lose+1, agreed.epoch+1, short8(cl.Hash))
		}
	default:
		sp.Cause = CauseRaced
		sp.Summary = fmt.Sprintf("two members each merged their own commit for epoch %d (%s… and %s…) and no other log received either: the delivery service accepted at most one", agreed.epoch, short8(ci.Hash), short8(cj.Hash))
		sp.Winner = larger(views, i, j)
	}
	sp.Recovery = resyncAll(views, sp.Winner, other(sp.Winner, i, j))
}

func committers(f commitFacts) []*timeline {
	if f.sentBy != nil && f.sent.confirmed {
		return []*timeline{f.sentBy}
	}
	return nil
}

// sortedReceipts iterates over f.received in log order.
func sortedReceipts(f commitFacts, tls []*timeline) func(func(*timeline, []*recvCommit) bool) {
	return func(yield func(*timeline, []*recvCommit) bool) {
		for _, t := range tls {
			if rs, ok := f.received[t]; ok && !yield(t, rs) {
				return
			}
		}
	}
}

func receiptText(r *recvCommit) string {
	switch {
	case r.outcome.Class != OK:
		if r.detail != "" {
			return "rejected: " + r.detail
		}
		return "rejected: " + r.outcome.String()
	case r.merged:
		return "merged"
	case r.discarded:
		return "staged, then discarded (Group.DiscardStagedCommit)"
	case r.staged:
		return "staged, never merged"
	}
	return "accepted"
}

func commitOf(evs []DiffEvent) *DiffCommit {
	// Prefer a received commit: its bytes are what the group saw.
	for _, e := range evs {
		if e.Commit != nil && strings.HasPrefix(e.What, "merged") {
			return e.Commit
		}
	}
	for _, e := range evs {
		if e.Commit != nil {
			return e.Commit
		}
	}
	return nil
}

// lag explains a view that stayed in the last agreed epoch while the other
// went on.
func lag(sp *DiffSplit, tls []*timeline, views [][]*timeline, ahead, behind int, na []DiffEvent, agreed fingerprint) {
	sp.Winner = ahead
	va, vb := views[ahead], views[behind]
	c := commitOf(na)
	if c == nil {
		sp.Cause = CauseUnknown
		sp.Summary = fmt.Sprintf("%s went on from epoch %d (%s); the logs do not show by which commit", memberNames(va), agreed.epoch, na[0].What)
		sp.Recovery = resyncAll(views, ahead, behind)
		return
	}
	f := factsOf(tls, c.hash)
	// The path of the ahead view from the agreed epoch: the commits the
	// others need, in order.
	path := commitPath(va, agreed)

	if senderRolledBack(sp, views, ahead, behind, path) {
		return
	}

	var missing, rejected, discarded, unmerged []*timeline
	var damaged []DiffRejection // commits of the agreed epoch rejected instead
	for _, t := range vb {
		rs := f.received[t]
		switch {
		case len(rs) == 0:
			missing = append(missing, t)
			for _, r := range sp.Afterwards {
				if r.Member == t.name && r.commit && r.Epoch == agreed.epoch {
					damaged = append(damaged, r)
				}
			}
		case rs[len(rs)-1].outcome.Class != OK:
			rejected = append(rejected, t)
		case rs[len(rs)-1].discarded:
			discarded = append(discarded, t)
		default:
			unmerged = append(unmerged, t)
		}
	}
	for _, t := range vb {
		for _, r := range f.received[t] {
			sp.Details = append(sp.Details, fmt.Sprintf("%s received it at record %d: %s", t.name, r.seq, receiptText(r)))
		}
	}
	switch {
	case len(rejected) > 0:
		sp.Cause = CauseRejectedCommit
		rs := f.received[rejected[0]]
		sp.Summary = fmt.Sprintf("%s rejected %s: %s", memberNames(rejected), c.short(), receiptText(rs[len(rs)-1]))
	case len(damaged) > 0:
		sp.Cause = CauseRejectedCommit
		d := damaged[0]
		why := d.Detail
		if why == "" {
			why = d.Outcome
		}
		sp.Summary = fmt.Sprintf("%s never received %s intact: at record %d it rejected a commit for epoch %d whose bytes differ (%s) — a damaged or forged copy",
			d.Member, c.short(), d.Seq, agreed.epoch, why)
	case len(discarded) > 0:
		sp.Cause = CauseDiscardedCommit
		sp.Summary = fmt.Sprintf("%s staged %s and discarded it", memberNames(discarded), c.short())
	case len(unmerged) > 0:
		sp.Cause = CauseUnmergedCommit
		sp.Summary = fmt.Sprintf("%s staged %s and has not merged it (Group.MergeStagedCommit)", memberNames(unmerged), c.short())
		unmergedRecovery(sp, views, ahead, behind, unmerged, path, c)
		return
	case len(sp.Afterwards) > 0:
		sp.Cause = CauseMissingCommit
		sp.Summary = fmt.Sprintf("%s never received %s", memberNames(missing), c.short())
	default:
		sp.Cause = CauseBehind
		sp.Summary = fmt.Sprintf("%s has not received %s yet, and its log shows no message it could not read", memberNames(missing), c.short())
	}
	switch {
	case len(f.mergedBy) > 0:
		sp.Details = append(sp.Details, fmt.Sprintf("the delivery service distributed it: %s received and merged it", memberNames(f.mergedBy)))
	case f.sent != nil && f.sent.confirmed:
		sp.Details = append(sp.Details, fmt.Sprintf("%s merged it when the delivery service accepted it (Group.MergePendingCommit); no other log shows it received", f.sentBy.name))
	}

	processRecovery(sp, views, ahead, behind, path, c, len(rejected) == 0)
}

// senderRolledBack explains the split if a member of the behind view
// sent a commit of the ahead view's path that its own log does not hold:
// its state went back, and it must re-join.
func senderRolledBack(sp *DiffSplit, views [][]*timeline, ahead, behind int, path []*DiffCommit) bool {
	vb := views[behind]
	for _, pc := range path {
		for _, t := range vb {
			if len(pc.senderKey) > 0 && bytes.Equal(pc.senderKey, t.ownKey) && t.sent[pc.hash] == nil {
				sp.Cause = CauseRolledBack
				sp.Summary = fmt.Sprintf("%s's state was rolled back: the others merged %s, which %s sent, but %s's log does not hold it and is back in epoch %d",
					t.name, pc.short(), t.name, t.name, t.final.epoch)
				if t.log.Snapshot != nil {
					sp.Details = append(sp.Details, fmt.Sprintf("%s's log starts from a snapshot of epoch %d (before record %d): it was restored from a snapshot older than its own commit", t.name, firstEpoch(t), t.log.Snapshot.Seq))
				} else {
					sp.Details = append(sp.Details, fmt.Sprintf("%s's log and state were restored from a copy older than its own commit", t.name))
				}
				sp.Details = append(sp.Details, fmt.Sprintf("its keys of the epochs after %d are gone: processing the missing commits cannot work, it must re-join", t.final.epoch))
				sp.Recovery = resyncAll(views, ahead, behind)
				return true
			}
		}
	}
	return false
}

// unmergedRecovery is the recovery of members that staged commit c and
// did not merge it: merge it (its keys are spent), then process the rest
// of the path; or re-join.
func unmergedRecovery(sp *DiffSplit, views [][]*timeline, ahead, behind int, unmerged []*timeline, path []*DiffCommit, c *DiffCommit) {
	for _, t := range unmerged {
		var rest []DiffCommit
		for _, pc := range path[1:] {
			rest = append(rest, *pc)
		}
		api := []string{fmt.Sprintf("%s: group.MergeStagedCommit()  // the staged %s", t.name, c.short())}
		if len(rest) > 0 {
			api = append(api, fmt.Sprintf("%s: then for each of the %d commits below, in order: group.ProcessMessage(commit), then group.MergeStagedCommit()", t.name, len(rest)))
		}
		sp.Recovery = append(sp.Recovery, DiffRecovery{Member: t.name, Action: "merge-staged", Commits: rest, API: api})
	}
	for _, r := range resyncAll(views, ahead, behind) {
		r.Alternative = true
		sp.Recovery = append(sp.Recovery, r)
	}
}

// processRecovery is the recovery of the behind view: process the ahead
// view's commits in order when the logs hold them and they can be
// processed again (canProcess: none was rejected), with re-joining as
// the alternative; re-joining otherwise.
func processRecovery(sp *DiffSplit, views [][]*timeline, ahead, behind int, path []*DiffCommit, c *DiffCommit, canProcess bool) {
	vb := views[behind]
	known := true
	for _, pc := range path {
		known = known && pc.msg != nil
	}
	// A discarded PrivateMessage commit cannot be decrypted again: its
	// key was used and deleted.
	reprocessable := canProcess && !(sp.Cause == CauseDiscardedCommit && c.Wire == codec.WireFormatPrivateMessage.String())
	if sp.Cause == CauseDiscardedCommit && !reprocessable {
		sp.Details = append(sp.Details, "a discarded PrivateMessage commit cannot be processed again (its key is deleted): re-join")
	}
	if reprocessable && known && len(path) > 0 {
		for _, t := range vb {
			var cs []DiffCommit
			for _, pc := range path {
				cs = append(cs, *pc)
			}
			sp.Recovery = append(sp.Recovery, DiffRecovery{Member: t.name, Action: "process-commits", Commits: cs,
				API: []string{fmt.Sprintf("%s: for each of the %d commits below, in order (from the delivery service, or from the log named with it): group.ProcessMessage(commit), then group.MergeStagedCommit()", t.name, len(cs))}})
		}
		for _, r := range resyncAll(views, ahead, behind) {
			r.Alternative = true
			sp.Recovery = append(sp.Recovery, r)
		}
		return
	}
	sp.Recovery = resyncAll(views, ahead, behind)
}

func firstEpoch(t *timeline) uint64 {
	if len(t.entries) == 0 {
		return 0
	}
	return t.entries[0].fp.epoch
}

// commitPath returns the commits a view went through after the agreed
// epoch, in order, as its members' logs show them (nil entries are
// epochs entered without a known commit).
func commitPath(v []*timeline, agreed fingerprint) []*DiffCommit {
	var out []*DiffCommit
	fp := agreed
	for {
		var nc *DiffCommit
		var nfp *fingerprint
		for _, t := range v {
			if e, ok := t.nextEntry(fp); ok {
				if nfp == nil {
					f := e.fp
					nfp = &f
				}
				// Prefer a commit whose bytes the log holds.
				if e.commit != nil && (nc == nil || nc.msg == nil) {
					nc = e.commit
				}
			}
		}
		if nfp == nil {
			return out
		}
		if nc == nil {
			nc = &DiffCommit{Epoch: fp.epoch, Sender: "unknown", Proposals: "unknown"}
		}
		out = append(out, nc)
		fp = *nfp
	}
}

// resyncAll has every member of view lose re-join the view win by an
// external commit, one after the other.
func resyncAll(views [][]*timeline, win, lose int) []DiffRecovery {
	var out []DiffRecovery
	for k, t := range views[lose] {
		// The GroupInfo comes from a live member of the surviving view:
		// not another log of the member that re-joins.
		fromT := views[win][0]
		for _, o := range views[win] {
			if !sameMember(o, t) {
				fromT = o
				break
			}
		}
		from := fromT.name
		others := []string{}
		for _, o := range views[win] {
			if o != fromT && !sameMember(o, t) {
				others = append(others, o.name)
			}
		}
		for _, o := range views[lose][:k] {
			if !sameMember(o, t) {
				others = append(others, o.name)
			}
		}
		api := []string{
			fmt.Sprintf("%s: gi, err := group.GroupInfo(true)  // a GroupInfo of the current epoch, with the ratchet tree", from),
			fmt.Sprintf("%s: out, err := group.Resync(gi, nil)  // an external commit that replaces its leaf; send out.Commit to the group", t.name),
			fmt.Sprintf("%s: group.MergePendingCommit() once the delivery service accepts it (group.ClearPendingCommit() if it refuses, then try again with a new GroupInfo)", t.name),
		}
		if len(others) > 0 {
			api = append(api, fmt.Sprintf("%s, %s: group.ProcessMessage(out.Commit), then group.MergeStagedCommit()", from, strings.Join(others, ", ")))
		} else {
			api = append(api, fmt.Sprintf("%s: group.ProcessMessage(out.Commit), then group.MergeStagedCommit()", from))
		}
		out = append(out, DiffRecovery{Member: t.name, Action: "resync", From: from, API: api})
	}
	return out
}

// sameMember reports whether two logs are of the same member: the same
// own signature key.
func sameMember(a, b *timeline) bool {
	return a != b && len(a.ownKey) > 0 && bytes.Equal(a.ownKey, b.ownKey)
}

// recordHashes maps the sequence numbers a log knows to the hashes of
// their records: its records, and the record its snapshot follows.
func recordHashes(l *Log) map[uint64][32]byte {
	m := map[uint64][32]byte{}
	if l.Snapshot != nil && l.Snapshot.Seq > 0 {
		m[l.Snapshot.Seq-1] = l.Snapshot.Prev
	}
	for _, r := range l.Records {
		m[r.Seq] = Hash(r)
	}
	return m
}

// lineage compares two logs of the same member: where their hash chains
// part. A log restored from an older copy continues from a record the
// other log also holds, with different records after it.
func lineage(a, b *timeline) (DiffLineage, bool) {
	ha, hb := recordHashes(a.log), recordHashes(b.log)
	l := DiffLineage{Members: [2]string{a.name, b.name}}
	common := false
	var last uint64
	fork := false
	var at uint64
	var seqs []uint64
	for q := range ha {
		if _, ok := hb[q]; ok {
			seqs = append(seqs, q)
		}
	}
	slices.Sort(seqs)
	for _, q := range seqs {
		if ha[q] == hb[q] {
			if !fork {
				common, last = true, q
			}
			continue
		}
		if !fork {
			fork, at = true, q
		}
	}
	if !fork {
		return l, false
	}
	l.Fork = at
	if common {
		l.Shared = last + 1
	}
	l.Epochs = [2]uint64{a.final.epoch, b.final.epoch}
	return l, true
}
