package transitions

import (
	"errors"
	"strings"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
)

// allTags lists every event tag of the table eventSpec.
func allTags() []eventTag {
	var out []eventTag
	for t := range eventTag(255) {
		if _, _, ok := eventSpec(t); ok {
			out = append(out, t)
		}
	}
	return out
}

// tagName names an event tag.
func tagName(t eventTag) string { return t.String() }

// TestLifecycleTable states the lifecycle as data, independently of
// admits: for each event, the stages that admit it. Every event has an
// entry, and admits agrees with this one for every combination of a base
// stage and the pending and staged flags.
func TestLifecycleTable(t *testing.T) {
	const (
		anyStage = "none joining active closed inactive"
		inGroup  = "active closed inactive"
		noneOnly = "none"
	)
	want := map[string]struct{ in, need, forbid string }{
		"NewSignatureKey":    {in: anyStage},
		"NewKeyPackage":      {in: anyStage},
		"ProposeAsNewMember": {in: anyStage},
		"ExternalPropose":    {in: anyStage},
		"CreateGroup":        {in: noneOnly},
		"JoinWelcome":        {in: noneOnly},
		"ReInitGroup":        {in: noneOnly},
		"BranchGroup":        {in: noneOnly},
		"AcceptJoin":         {in: "joining"},
		"RejectJoin":         {in: "joining"},
		"ExternalJoin":       {in: "none " + inGroup},
		"Propose":            {in: "active"},
		"Leave":              {in: "active"},
		"Protect":            {in: "active"},
		"PublishGroupInfo":   {in: "active"},
		"Commit":             {in: "active", forbid: "pending"},
		"ConfirmCommit":      {in: inGroup, need: "pending"},
		"AbortCommit":        {in: inGroup, need: "pending"},
		"MergeStaged":        {in: inGroup, need: "staged"},
		"DiscardStaged":      {in: inGroup, need: "staged"},
		"Receive":            {in: inGroup},
		"DropProposal":       {in: inGroup},
		"Export":             {in: inGroup},
		"ExpirePastEpochs":   {in: inGroup},
	}
	bases := map[string]stage{"none": stageNone, "joining": stageJoining, "active": stageActive, "closed": stageClosed, "inactive": stageInactive}
	flags := map[string]stage{"pending": stagePending, "staged": stageStaged}
	has := func(list, name string) bool { return strings.Contains(" "+list+" ", " "+name+" ") }
	tags := allTags()
	if len(tags) != len(want) {
		t.Fatalf("%d event tags, %d entries in the expected table", len(tags), len(want))
	}
	for _, tag := range tags {
		name := tagName(tag)
		w, ok := want[name]
		if !ok {
			t.Errorf("event %s has no expected entry", name)
			continue
		}
		a := admits(tag)
		if a.in == 0 {
			t.Errorf("event %s is admitted nowhere", name)
		}
		for bn, b := range bases {
			for _, fl := range []string{"", "pending", "staged", "pending staged"} {
				st := b
				for fn, f := range flags {
					if has(fl, fn) {
						st |= f
					}
				}
				if fl != "" && b&(stagesInGroup) == 0 {
					continue // only members hold pending or staged commits
				}
				wantOK := has(w.in, bn)
				for fn := range flags {
					if has(w.need, fn) && !has(fl, fn) || has(w.forbid, fn) && has(fl, fn) {
						wantOK = false
					}
				}
				gotOK := st&a.in != 0 && st&a.need == a.need && st&a.forbid == 0
				if gotOK != wantOK {
					t.Errorf("%s in stage %s: admitted %v, want %v", name, st, gotOK, wantOK)
				}
			}
		}
	}
}

// TestLifecycleStages builds a state in each stage through events and
// checks stageOf, then that Apply enforces the table on it: an event the
// stage does not admit fails with ErrWrongState naming the stage, before
// any handler runs, and one it admits gets past the table.
func TestLifecycleStages(t *testing.T) {
	w := newWorld(t, 1, state.DefaultConfig())
	alice := w.create("alice")
	bob, carol := w.add(alice, "bob", "carol")[0], w.byName("carol")

	// A client holding a staged Welcome.
	dave := w.newMember("dave")
	kp := w.keyPackage(dave)
	effs := w.must(alice, Commit{At: testAt, Inline: []codec.Proposal{{ProposalType: codec.ProposalAdd, Add: &codec.Add{KeyPackage: kp}}}, RatchetTree: TreeInclude})
	send, _ := effects.Find[effects.SendToGroup](effs)
	wel, _ := effects.Find[effects.SendWelcome](effs)
	w.must(dave, JoinWelcome{At: testAt, Welcome: wel.Welcome, Config: w.cfg})
	pendingAlice := alice.s // alice's commit is pending
	w.must(bob, Receive{At: testAt, Message: send.Message})
	stagedBob := bob.s
	w.must(carol, Receive{At: testAt, Message: send.Message})
	// Carol commits too while holding alice's staged commit, and so holds both.
	w.must(carol, Commit{At: testAt, ForcePath: true})
	both := carol.s

	// Bob removed: inactive after merging the commit that removes him.
	w2 := newWorld(t, 1, state.DefaultConfig())
	a2 := w2.create("alice")
	b2 := w2.add(a2, "bob")[0]
	active := a2.s
	rm := w2.must(a2, Commit{At: testAt, Inline: []codec.Proposal{removeProposal(1)}})
	rmSend, _ := effects.Find[effects.SendToGroup](rm)
	w2.must(b2, Receive{At: testAt, Message: rmSend.Message})
	w2.must(b2, MergeStaged{At: testAt})

	cases := []struct {
		name string
		s    state.GroupState
		want stage
	}{
		{"zero", state.GroupState{}, stageNone},
		{"joining", dave.s, stageJoining},
		{"active", active, stageActive},
		{"pending", pendingAlice, stageActive | stagePending},
		{"staged", stagedBob, stageActive | stageStaged},
		{"pending and staged", both, stageActive | stagePending | stageStaged},
		{"inactive", b2.s, stageInactive},
	}
	events := []Event{
		CreateGroup{At: testAt}, JoinWelcome{At: testAt}, AcceptJoin{At: testAt}, RejectJoin{At: testAt},
		Propose{At: testAt}, Leave{At: testAt}, Protect{At: testAt}, PublishGroupInfo{At: testAt},
		Commit{At: testAt}, ConfirmCommit{At: testAt}, AbortCommit{At: testAt},
		MergeStaged{At: testAt}, DiscardStaged{At: testAt}, Receive{At: testAt}, Export{At: testAt},
	}
	for _, c := range cases {
		if got := stageOf(c.s); got != c.want {
			t.Errorf("%s: stage %s, want %s", c.name, got, c.want)
		}
		for _, ev := range events {
			a := admits(ev.tag())
			st := stageOf(c.s)
			admitted := st&a.in != 0 && st&a.need == a.need && st&a.forbid == 0
			_, _, err := Apply(c.s, ev, Env{Entropy: entropySeed(1)})
			tableErr := err != nil && errors.Is(err, ErrWrongState) && strings.Contains(err.Error(), "in stage")
			if tableErr == admitted {
				t.Errorf("%s: %s admitted=%v, Apply: %v", c.name, Name(ev), admitted, err)
			}
		}
	}
}
