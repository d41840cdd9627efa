package transitions

import (
	"fmt"
	"slices"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
)

// welcomeGroupInfo decrypts the GroupInfo of a Welcome (without PSKs) with
// the key package bundle m holds for it, as JoinWelcome does.
func welcomeGroupInfo(t *testing.T, m *member, welcome []byte) codec.GroupInfo {
	t.Helper()
	msg, err := codec.DecodeMLSMessage(welcome)
	if err != nil {
		t.Fatal(err)
	}
	w := *msg.Welcome
	cs, err := suite.Lookup(suite.ID(w.CipherSuite))
	if err != nil {
		t.Fatal(err)
	}
	for _, egs := range w.Secrets {
		b, ok := m.keys.KeyPackage(egs.NewMember)
		if !ok {
			continue
		}
		gs, err := keysched.DecryptGroupSecrets(cs, w, egs.NewMember, b.InitPriv)
		if err != nil {
			t.Fatal(err)
		}
		psk, err := keysched.ComputePSKSecret(cs, nil)
		if err != nil {
			t.Fatal(err)
		}
		js, err := keysched.NewJoinerSecret(cs, gs.JoinerSecret)
		if err != nil {
			t.Fatal(err)
		}
		inter, err := js.WithPSK(psk)
		if err != nil {
			t.Fatal(err)
		}
		ws, err := inter.Welcome()
		if err != nil {
			t.Fatal(err)
		}
		gi, err := ws.DecryptGroupInfo(w.EncryptedGroupInfo)
		if err != nil {
			t.Fatal(err)
		}
		return gi
	}
	t.Fatalf("the welcome is not for %s", m.name)
	return codec.GroupInfo{}
}

// greaseCount returns how many GREASE values each capability list and the
// extensions of ln hold.
func greaseCount(ln *codec.LeafNode) [5]int {
	var n [5]int
	c := ln.Capabilities
	for _, v := range c.CipherSuites {
		n[0] += b2i(IsGrease(uint16(v)))
	}
	for _, v := range c.Extensions {
		n[1] += b2i(IsGrease(uint16(v)))
	}
	for _, v := range c.Proposals {
		n[2] += b2i(IsGrease(uint16(v)))
	}
	for _, v := range c.Credentials {
		n[3] += b2i(IsGrease(uint16(v)))
	}
	for _, x := range ln.Extensions {
		n[4] += b2i(IsGrease(uint16(x.ExtensionType)))
	}
	return n
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestGreaseEverywhere: with Policy.Grease, every KeyPackage, LeafNode and
// GroupInfo this client produces carries GREASE values in each field RFC
// 9420, Section 13.5 lists — including the GroupInfo of a Commit with
// PublishGroupInfo and of a Welcome, the leaf of a commit path and of an
// Update — exactly one per list however often a leaf is re-signed, and
// never in the fields where GREASE is forbidden (GroupContext extensions,
// proposal and credential types). Members without GREASE process all of it
// (unknown extension, proposal, credential types and cipher suites).
func TestGreaseEverywhere(t *testing.T) {
	grease := Policy{Grease: true}
	// commitGreased has c commit ev with GREASE and delivers it; joiners
	// join from the Welcome. It returns the effects.
	commitGreased := func(t *testing.T, w *world, c *member, ev Commit, joiners ...*member) []effects.Effect {
		t.Helper()
		ev.At, ev.RatchetTree = testAt, TreeInclude
		effs, err := w.applyWith(c, ev, grease)
		if err != nil {
			t.Fatal(err)
		}
		w.deliver(c, sent(t, effs), joiners...)
		w.must(c, ConfirmCommit{At: testAt})
		if wel, ok := effects.Find[effects.SendWelcome](effs); ok {
			for _, j := range joiners {
				w.must(j, JoinWelcome{At: testAt, Welcome: wel.Welcome, Config: w.cfg})
				w.must(j, AcceptJoin{At: testAt})
				w.members = append(w.members, j)
			}
		}
		w.check()
		return effs
	}
	tests := []struct {
		name string
		run  func(t *testing.T, w *world, a, b *member)
	}{
		{"key_package", func(t *testing.T, w *world, a, b *member) {
			d := w.newMember("dave")
			effs, err := w.applyWith(d, NewKeyPackage{At: testAt, Suite: w.cs, SignatureKey: d.sig, Credential: w.credential(d), Lifetime: testLifetime}, grease)
			if err != nil {
				t.Fatal(err)
			}
			kc, _ := effects.Find[effects.KeyPackageCreated](effs)
			m, _ := codec.DecodeMLSMessage(kc.KeyPackage)
			if greaseCount(&m.KeyPackage.LeafNode) != [5]int{1, 1, 1, 1, 1} || !anyGreaseExt(m.KeyPackage.Extensions) {
				t.Fatalf("key package grease %v", greaseCount(&m.KeyPackage.LeafNode))
			}
			w.commit(a, Commit{Inline: []codec.Proposal{addOf(*m.KeyPackage)}}, d)
		}},
		{"commit_publish_group_info", func(t *testing.T, w *world, a, b *member) {
			effs := commitGreased(t, w, a, Commit{ForcePath: true, PublishGroupInfo: true})
			pg, ok := effects.Find[effects.PublishGroupInfo](effs)
			if !ok {
				t.Fatal("no group info")
			}
			m, _ := codec.DecodeMLSMessage(pg.GroupInfo)
			if !anyGreaseExt(m.GroupInfo.Extensions) {
				t.Fatal("published group info without grease")
			}
			if anyGreaseExt(m.GroupInfo.GroupContext.Extensions) {
				t.Fatal("grease in the group context")
			}
			// A client without GREASE joins from it.
			w.externalJoin(w.newMember("erin"), pg.GroupInfo, ExternalJoin{})
		}},
		{"welcome_group_info", func(t *testing.T, w *world, a, b *member) {
			d := w.newMember("dave")
			kp := w.keyPackage(d)
			before := &member{name: d.name, keys: d.keys} // joining deletes the bundle
			effs := commitGreased(t, w, a, Commit{Inline: []codec.Proposal{addOf(kp)}}, d)
			wel, _ := effects.Find[effects.SendWelcome](effs)
			if gi := welcomeGroupInfo(t, before, wel.Welcome); !anyGreaseExt(gi.Extensions) {
				t.Fatal("welcome group info without grease")
			}
		}},
		{"commit_path_leaf", func(t *testing.T, w *world, a, b *member) {
			for range 3 {
				commitGreased(t, w, a, Commit{ForcePath: true})
				ln, _ := b.s.Tree().Leaf(a.s.OwnLeaf())
				if got := greaseCount(ln); got != [5]int{1, 1, 1, 1, 1} {
					t.Fatalf("committer's path leaf grease %v", got)
				}
			}
		}},
		{"update_leaf", func(t *testing.T, w *world, a, b *member) {
			effs, err := w.applyWith(b, Propose{At: testAt, Proposal: codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{}}}, grease)
			if err != nil {
				t.Fatal(err)
			}
			w.deliver(b, sent(t, effs))
			w.commit(a, Commit{})
			ln, _ := a.s.Tree().Leaf(b.s.OwnLeaf())
			if got := greaseCount(ln); got != [5]int{1, 1, 1, 1, 1} {
				t.Fatalf("update leaf grease %v", got)
			}
		}},
		{"external_join_and_proposals", func(t *testing.T, w *world, a, b *member) {
			d := w.newMember("dave")
			effs, err := w.applyWith(d, ExternalJoin{At: testAt, GroupInfo: w.groupInfo(a, true), SignatureKey: d.sig,
				Credential: w.credential(d), Config: w.cfg}, grease)
			if err != nil {
				t.Fatal(err)
			}
			w.deliver(d, sent(t, effs))
			w.must(d, AcceptJoin{At: testAt})
			w.members = append(w.members, d)
			w.check()
			ln, _ := a.s.Tree().Leaf(d.s.OwnLeaf())
			if got := greaseCount(ln); got != [5]int{1, 1, 1, 1, 1} {
				t.Fatalf("external joiner's leaf grease %v", got)
			}
			// Proposals and commits by a greasing member never use
			// GREASE proposal types.
			effs, err = w.applyWith(d, Propose{At: testAt, Proposal: removeOf(b.s.OwnLeaf())}, grease)
			if err != nil {
				t.Fatal(err)
			}
			w.deliver(d, sent(t, effs))
			commitGreased(t, w, d, Commit{})
		}},
	}
	for _, cs := range []suite.ID{1, 2, 3} {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("suite=%d/%s", cs, tc.name), func(t *testing.T) {
				w, a := groupWith(t, cs, state.DefaultConfig(), "bob", "carol")
				tc.run(t, w, a, w.byName("bob"))
				for _, m := range w.members {
					if !m.s.Active() {
						continue
					}
					if anyGreaseExt(m.s.GroupContext().Extensions) {
						t.Fatalf("%s: grease in the group context", m.name)
					}
					for _, ln := range m.s.Members() {
						if IsGrease(uint16(ln.Credential.CredentialType)) {
							t.Fatalf("%s: grease credential type", m.name)
						}
						if slices.ContainsFunc(ln.Capabilities.Versions, func(v codec.ProtocolVersion) bool { return IsGrease(uint16(v)) }) {
							t.Fatalf("%s: grease version", m.name)
						}
					}
				}
			})
		}
	}
}
