package transitions

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
)

// The scenarios of the interop test-runner's configs external_join.json,
// external_proposals.json, reinit.json, branch.json and the PSK cases of
// commit.json, with three or more members in suites 1, 2 and 3: after every
// step all members agree on the epoch authenticator, tree hash and group
// context, and read each other's application messages (world.check).

var scenarioSuites = []suite.ID{1, 2, 3, suite.XWingChaCha20Poly1305SHA256Ed25519}

func eachSuite(t *testing.T, f func(t *testing.T, cs suite.ID)) {
	for _, cs := range scenarioSuites {
		t.Run(fmt.Sprintf("suite=%d", cs), func(t *testing.T) { f(t, cs) })
	}
}

// groupWith creates alice's group with the named members added in one
// commit.
func groupWith(t *testing.T, cs suite.ID, cfg state.Config, names ...string) (*world, *member) {
	w := newWorld(t, cs, cfg)
	a := w.create("alice")
	if len(names) > 0 {
		w.add(a, names...)
	}
	return w, a
}

// groupInfo has m publish the GroupInfo of its epoch.
func (w *world) groupInfo(m *member, withTree bool) []byte {
	w.t.Helper()
	gi, ok := effects.Find[effects.PublishGroupInfo](w.must(m, PublishGroupInfo{At: testAt, RatchetTree: withTree}))
	if !ok {
		w.t.Fatal("no group info published")
	}
	return gi.GroupInfo
}

// externalJoin makes j join with an external commit built from gi, delivers
// the commit to every member, and accepts the join.
func (w *world) externalJoin(j *member, gi []byte, ev ExternalJoin) {
	w.t.Helper()
	ev.At, ev.GroupInfo, ev.SignatureKey, ev.Credential, ev.Config, ev.Capabilities = testAt, gi, j.sig, w.credential(j), w.cfg, w.caps
	effs := w.must(j, ev)
	if _, ok := j.s.StagedJoin(); !ok {
		w.t.Fatal("external join not staged")
	}
	w.deliver(j, sent(w.t.(testing.TB), effs))
	w.must(j, AcceptJoin{At: testAt})
	if !containsT(w.members, j) {
		w.members = append(w.members, j)
	}
	w.check()
}

func (w *world) installPSK(id, secret []byte, ms ...*member) {
	for _, m := range ms {
		m.keys = m.keys.WithExternalPSK(id, secret)
	}
}

// proposeBy has m send a standalone proposal and delivers it.
func (w *world) proposeBy(m *member, p codec.Proposal) {
	w.t.Helper()
	w.deliver(m, sent(w.t.(testing.TB), w.must(m, Propose{At: testAt, Proposal: p})))
}

func extPSK(id []byte) codec.Proposal {
	return codec.Proposal{ProposalType: codec.ProposalPreSharedKey, PreSharedKey: &codec.PreSharedKey{PSK: keysched.ExternalPSKID(id, nil)}}
}

func resPSK(gid []byte, epoch uint64) codec.Proposal {
	return codec.Proposal{ProposalType: codec.ProposalPreSharedKey, PreSharedKey: &codec.PreSharedKey{
		PSK: keysched.ResumptionPSKID(codec.ResumptionPSKUsageApplication, gid, epoch, nil)}}
}

func gceOf(exts codec.Extensions) codec.Proposal {
	return codec.Proposal{ProposalType: codec.ProposalGroupContextExtensions, GroupContextExtensions: &codec.GroupContextExtensions{Extensions: exts}}
}

// interopExts are the extensions of the interop configs: an empty
// required_capabilities (type 3, "AAAA") and an empty external_senders
// (type 5, "AA==").
var interopExts = codec.Extensions{{ExtensionType: 3, ExtensionData: []byte{0, 0, 0}}, {ExtensionType: 5, ExtensionData: []byte{0}}}

// TestScenarioExternalJoin covers external_join.json: normal, with_psk,
// removing_prior, with_external_tree and with_more_members.
func TestScenarioExternalJoin(t *testing.T) {
	eachSuite(t, func(t *testing.T, cs suite.ID) {
		t.Run("normal", func(t *testing.T) {
			w, a := groupWith(t, cs, state.DefaultConfig(), "bob")
			w.externalJoin(w.newMember("carol"), w.groupInfo(a, true), ExternalJoin{})
		})
		t.Run("with_psk", func(t *testing.T) {
			w, a := groupWith(t, cs, state.DefaultConfig(), "bob")
			c := w.newMember("carol")
			w.installPSK([]byte("psk-1"), []byte("secret one"), append(w.members, c)...)
			w.externalJoin(c, w.groupInfo(a, true), ExternalJoin{PSKs: [][]byte{[]byte("psk-1")}})
		})
		t.Run("removing_prior", func(t *testing.T) {
			w, a := groupWith(t, cs, state.DefaultConfig(), "bob")
			c := w.newMember("carol")
			w.externalJoin(c, w.groupInfo(a, true), ExternalJoin{})
			old := c.s.OwnLeaf()
			w.externalJoin(c, w.groupInfo(a, true), ExternalJoin{RemovePrior: true})
			if n := w.active(); n != 3 || a.s.Public().Census.Members != 3 {
				t.Fatalf("%d active members after a resync, want 3", n)
			}
			if c.s.OwnLeaf() != old {
				t.Fatalf("resync took leaf %d, want the prior leaf %d", c.s.OwnLeaf(), old)
			}
		})
		t.Run("with_external_tree", func(t *testing.T) {
			w, a := groupWith(t, cs, state.DefaultConfig(), "bob")
			rt, err := a.s.Tree().Encode()
			if err != nil {
				t.Fatal(err)
			}
			w.externalJoin(w.newMember("carol"), w.groupInfo(a, false), ExternalJoin{RatchetTree: rt})
		})
		t.Run("with_more_members", func(t *testing.T) {
			w, _ := groupWith(t, cs, state.DefaultConfig(), "bob", "charlie", "diana")
			w.externalJoin(w.newMember("ellen"), w.groupInfo(w.byName("diana"), true), ExternalJoin{})
			w.commit(w.byName("ellen"), Commit{ForcePath: true})
		})
	})
}

// externalSigner is a non-member holding a signature key, listed in the
// group's external_senders by a GroupContextExtensions proposal of alice
// that alice commits.
func (w *world) addExternalSigner(a *member, name string) *member {
	w.t.Helper()
	ds := w.newMember(name)
	var senders codec.ExternalSenders
	exts := a.s.GroupContext().Extensions
	if x, ok := exts.Find(codec.ExtensionExternalSenders); ok {
		l, err := codec.DecodeExternalSenders(x.ExtensionData)
		if err != nil {
			w.t.Fatal(err)
		}
		senders = l
	}
	senders = append(senders, codec.ExternalSender{SignatureKey: ds.sig, Credential: w.credential(ds)})
	data, err := senders.Encode()
	if err != nil {
		w.t.Fatal(err)
	}
	var next codec.Extensions
	for _, x := range exts {
		if x.ExtensionType != codec.ExtensionExternalSenders {
			next = append(next, x)
		}
	}
	next = append(next, codec.Extension{ExtensionType: codec.ExtensionExternalSenders, ExtensionData: data})
	w.proposeBy(a, gceOf(next))
	w.commit(a, Commit{})
	return ds
}

// externalProposal has the external signer ds send p to the group, using
// the GroupInfo that member m publishes.
func (w *world) externalProposal(ds, m *member, p codec.Proposal) {
	w.t.Helper()
	effs := w.must(ds, ExternalPropose{At: testAt, GroupInfo: w.groupInfo(m, false), SignatureKey: ds.sig, Proposal: p})
	w.deliver(ds, sent(w.t.(testing.TB), effs))
}

// TestScenarioExternalProposals covers external_proposals.json.
func TestScenarioExternalProposals(t *testing.T) {
	eachSuite(t, func(t *testing.T, cs suite.ID) {
		cfg := state.DefaultConfig()
		cfg.ResumptionPSKs = 4
		t.Run("joiner_signed_add", func(t *testing.T) {
			w, a := groupWith(t, cs, cfg, "bob", "carol")
			d := w.newMember("dave")
			effs := w.must(d, NewKeyPackage{At: testAt, Suite: cs, SignatureKey: d.sig, Credential: w.credential(d), Lifetime: testLifetime})
			kc, _ := effects.Find[effects.KeyPackageCreated](effs)
			effs = w.must(d, ProposeAsNewMember{At: testAt, GroupInfo: w.groupInfo(a, false), KeyPackageRef: kc.Ref})
			got := w.deliver(d, sent(t, effs))
			if pr, ok := effects.Find[effects.ProposalReceived](got); !ok || pr.Sender != (codec.Sender{SenderType: codec.SenderTypeNewMemberProposal}) {
				t.Fatalf("new member proposal not received: %+v", pr)
			}
			w.commit(a, Commit{}, d)
		})
		t.Run("external_add", func(t *testing.T) {
			w, a := groupWith(t, cs, cfg, "bob", "carol")
			ds := w.addExternalSigner(a, "ds")
			d := w.newMember("dave")
			w.externalProposal(ds, a, addOf(w.keyPackage(d)))
			w.commit(a, Commit{}, d)
		})
		t.Run("external_remove", func(t *testing.T) {
			w, a := groupWith(t, cs, cfg, "bob", "carol", "dave")
			ds := w.addExternalSigner(a, "ds")
			w.externalProposal(ds, a, removeOf(w.byName("bob").s.OwnLeaf()))
			w.commit(a, Commit{})
			if w.byName("bob").s.Active() {
				t.Fatal("bob not removed")
			}
		})
		t.Run("external_psk", func(t *testing.T) {
			w, a := groupWith(t, cs, cfg, "bob", "carol")
			w.installPSK([]byte("psk-1"), []byte("s1"), w.members...)
			ds := w.addExternalSigner(a, "ds")
			w.externalProposal(ds, a, extPSK([]byte("psk-1")))
			w.commit(a, Commit{})
		})
		t.Run("resumption_psk", func(t *testing.T) {
			w, a := groupWith(t, cs, cfg, "bob", "carol")
			ds := w.addExternalSigner(a, "ds")
			w.externalProposal(ds, a, resPSK(a.s.GroupID(), 2))
			w.commit(a, Commit{})
		})
		t.Run("group_context_extensions", func(t *testing.T) {
			w, a := groupWith(t, cs, cfg, "bob", "carol")
			ds := w.addExternalSigner(a, "ds")
			w.externalProposal(ds, a, gceOf(interopExts))
			w.commit(a, Commit{})
			if len(a.s.GroupContext().Extensions) != 2 {
				t.Fatalf("extensions %v", a.s.GroupContext().Extensions)
			}
		})
		t.Run("multiple_external", func(t *testing.T) {
			w, a := groupWith(t, cs, cfg, "bob", "carol")
			w.installPSK([]byte("psk-1"), []byte("s1"), w.members...)
			w.installPSK([]byte("psk-2"), []byte("s2"), w.members...)
			ds1 := w.addExternalSigner(a, "ds1")
			w.addExternalSigner(a, "ds2")
			w.externalProposal(ds1, a, extPSK([]byte("psk-1")))
			w.externalProposal(ds1, a, extPSK([]byte("psk-2")))
			w.commit(a, Commit{})
		})
		t.Run("from_public_state", func(t *testing.T) {
			// An external sender following the group's public state
			// proposes without a GroupInfo: the same message.
			w, a := groupWith(t, cs, cfg, "bob", "carol")
			ds := w.addExternalSigner(a, "ds")
			gi := w.groupInfo(a, false)
			fromGI := sent(t, w.must(ds, ExternalPropose{At: testAt, GroupInfo: gi, SignatureKey: ds.sig, Proposal: removeOf(1)}))
			ctx := a.s.GroupContext()
			fromCtx := sent(t, w.must(ds, ExternalPropose{At: testAt, Context: &ctx, SignatureKey: ds.sig, Proposal: removeOf(1)}))
			if !bytes.Equal(fromGI, fromCtx) {
				t.Fatal("the proposal from the context differs from the one from the GroupInfo")
			}
			if _, err := w.apply(ds, ExternalPropose{At: testAt, GroupInfo: gi, Context: &ctx, SignatureKey: ds.sig, Proposal: removeOf(1)}); !errors.Is(err, ErrInvalidGroupInfo) {
				t.Fatalf("both a GroupInfo and a context: %v", err)
			}
			bad := ctx
			bad.Version = 2
			if _, err := w.apply(ds, ExternalPropose{At: testAt, Context: &bad, SignatureKey: ds.sig, Proposal: removeOf(1)}); !errors.Is(err, ErrInvalidGroupInfo) {
				t.Fatalf("a context of version 2: %v", err)
			}
			w.deliver(ds, fromCtx)
			w.commit(a, Commit{})
		})
		t.Run("policy_rejects", func(t *testing.T) {
			w, a := groupWith(t, cs, cfg, "bob", "carol")
			ds := w.addExternalSigner(a, "ds")
			effs := w.must(ds, ExternalPropose{At: testAt, GroupInfo: w.groupInfo(a, false), SignatureKey: ds.sig, Proposal: removeOf(1)})
			b := w.byName("bob")
			env := w.env(b)
			env.Policy.AcceptExternalProposal = func(codec.Sender, codec.Proposal) error { return fmt.Errorf("no") }
			_, _, err := Apply(b.s, Receive{At: testAt, Message: sent(t, effs)}, env)
			var pe *PolicyError
			if !errorsAs(err, &pe) {
				t.Fatalf("got %v, want a policy error", err)
			}
		})
	})
}

// TestScenarioPSK covers the PSK cases of commit.json: external PSKs and
// resumption PSKs proposed by reference by two members and by value by the
// committer, with and without a path.
func TestScenarioPSK(t *testing.T) {
	eachSuite(t, func(t *testing.T, cs suite.ID) {
		cfg := state.DefaultConfig()
		cfg.ResumptionPSKs = 4
		t.Run("external_psk", func(t *testing.T) {
			w, a := groupWith(t, cs, cfg, "bob", "carol")
			b := w.byName("bob")
			for i := 1; i <= 3; i++ {
				w.installPSK([]byte(fmt.Sprintf("psk-%d", i)), []byte(fmt.Sprintf("secret %d", i)), w.members...)
			}
			for _, forcePath := range []bool{true, false} {
				w.proposeBy(a, extPSK([]byte("psk-1")))
				w.proposeBy(b, extPSK([]byte("psk-2")))
				w.commit(a, Commit{Inline: []codec.Proposal{extPSK([]byte("psk-3"))}, ForcePath: forcePath})
			}
		})
		t.Run("resumption_psk", func(t *testing.T) {
			w, a := groupWith(t, cs, cfg, "bob", "carol")
			b := w.byName("bob")
			w.commit(a, Commit{})
			w.commit(a, Commit{})
			gid := a.s.GroupID()
			w.proposeBy(a, resPSK(gid, 1))
			w.proposeBy(b, resPSK(gid, 2))
			w.commit(a, Commit{Inline: []codec.Proposal{resPSK(gid, 3)}, ForcePath: true})
			w.proposeBy(a, resPSK(gid, 2))
			w.proposeBy(b, resPSK(gid, 3))
			w.commit(a, Commit{Inline: []codec.Proposal{resPSK(gid, 4)}, ForcePath: true})
		})
		t.Run("welcome_with_psk", func(t *testing.T) {
			w, a := groupWith(t, cs, cfg, "bob")
			d := w.newMember("dave")
			w.installPSK([]byte("psk-1"), []byte("s1"), append(w.members, d)...)
			w.commit(a, Commit{Inline: []codec.Proposal{addOf(w.keyPackage(d)), extPSK([]byte("psk-1"))}}, d)
		})
	})
}

// agree checks that the active members agree on the epoch, authenticator
// and group context, without sending messages (a reinitialized group
// accepts none).
func (w *world) agree() {
	w.t.Helper()
	var ref *member
	for _, m := range w.members {
		if !m.s.Active() {
			continue
		}
		if ref == nil {
			ref = m
			continue
		}
		if m.s.Epoch() != ref.s.Epoch() || !bytes.Equal(m.s.EpochAuthenticator(), ref.s.EpochAuthenticator()) ||
			!bytes.Equal(m.s.GroupContextBytes(), ref.s.GroupContextBytes()) {
			w.t.Fatalf("%s and %s disagree", m.name, ref.name)
		}
	}
}

// successor prepares the members of w for a group in suite cs resumed from
// epoch of group gid: a new world whose members keep their key stores,
// with the old group's resumption PSK copied in from their old state and a
// signature key of the new suite.
func successor(t *testing.T, w *world, cs suite.ID, gid []byte, epoch uint64) (*world, map[string]*member) {
	w2 := newWorld(t, cs, w.cfg)
	w2.name = w.name + "/successor"
	out := map[string]*member{}
	for _, m := range w.members {
		res, ok := ResumptionOf(m.s, epoch)
		if !ok || !bytes.Equal(res.GroupID, gid) {
			t.Fatalf("%s has no resumption psk of epoch %d", m.name, epoch)
		}
		keys, err := m.keys.WithResumption(res)
		if err != nil {
			t.Fatal(err)
		}
		m2 := &member{name: m.name, keys: keys}
		sk, _ := effects.Find[effects.SignatureKeyCreated](w2.must(m2, NewSignatureKey{At: testAt, Suite: cs}))
		m2.sig = sk.PublicKey
		out[m.name] = m2
	}
	return w2, out
}

// found has creator c found the resumed group with ev (ReInitGroup or
// BranchGroup, whose NewGroup is filled in here from c and the others' new
// key packages) and makes the others join with the Welcome.
func found(t *testing.T, w2 *world, c *member, others []*member, ng func(NewGroup) Event) {
	n := NewGroup{SignatureKey: c.sig, Credential: w2.credential(c), Lifetime: testLifetime, Config: w2.cfg, RatchetTree: w2.tree}
	for _, m := range others {
		n.KeyPackages = append(n.KeyPackages, w2.keyPackage(m))
	}
	effs := w2.must(c, ng(n))
	if c.s.Epoch() != 1 {
		t.Fatalf("new group at epoch %d, want 1", c.s.Epoch())
	}
	wel, ok := effects.Find[effects.SendWelcome](effs)
	if !ok {
		t.Fatal("no welcome")
	}
	var rt []byte
	if w2.tree == TreeOmit {
		rt, _ = c.s.Tree().Encode()
	}
	w2.members = append(w2.members, c)
	for _, m := range others {
		w2.must(m, JoinWelcome{At: testAt, Welcome: wel.Welcome, RatchetTree: rt, Config: w2.cfg})
		w2.must(m, AcceptJoin{At: testAt})
		w2.members = append(w2.members, m)
	}
	w2.check()
}

// TestScenarioReInit covers reinit.json: alice proposes the ReInit, bob
// commits it, charlie founds the new group and welcomes the others.
func TestScenarioReInit(t *testing.T) {
	eachSuite(t, func(t *testing.T, cs suite.ID) {
		cases := []struct {
			name                string
			suite               bool
			groupID             bool
			exts                codec.Extensions
			sameActor, extTree  bool
			forcePath           bool
			proposer, committer string
		}{
			{name: "change_ciphersuite", suite: true},
			{name: "change_group_id", groupID: true},
			{name: "change_extensions", exts: interopExts},
			{name: "all_same_actor", groupID: true, sameActor: true},
			{name: "external_tree", groupID: true, extTree: true},
			{name: "force_path", groupID: true, forcePath: true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				w, a := groupWith(t, cs, state.DefaultConfig(), "bob", "charlie", "diana", "eliza")
				proposer, committer, welcomer := a, w.byName("bob"), w.byName("charlie")
				if tc.sameActor {
					committer, welcomer = a, a
				}
				ri := codec.ReInit{GroupID: a.s.GroupID(), Version: codec.MLS10, CipherSuite: codec.CipherSuite(cs), Extensions: tc.exts}
				if tc.suite {
					ri.CipherSuite = codec.CipherSuite(map[suite.ID]suite.ID{1: 3, 2: 1, 3: 2, suite.XWingChaCha20Poly1305SHA256Ed25519: 1}[cs])
				}
				if tc.groupID {
					ri.GroupID = []byte("reinit-" + tc.name)
				}
				w.proposeBy(proposer, codec.Proposal{ProposalType: codec.ProposalReInit, ReInit: &ri})
				effs := w.must(committer, Commit{At: testAt})
				w.deliver(committer, sent(t, effs))
				w.must(committer, ConfirmCommit{At: testAt})
				w.agree()
				for _, m := range w.members {
					if m.s.Public().ReInit == nil {
						t.Fatalf("%s: no reinit pending", m.name)
					}
				}
				// The old group is closed.
				if _, err := w.apply(a, Protect{At: testAt, Data: []byte("x")}); !errorsIs(err, ErrWrongState) {
					t.Fatalf("old group still usable: %v", err)
				}
				old := w.byName("charlie").s
				w2, ms := successor(t, w, suite.ID(ri.CipherSuite), old.GroupID(), old.Epoch())
				if tc.extTree {
					w2.tree = TreeOmit
				}
				c := ms[welcomer.name]
				var others []*member
				for _, m := range w.members {
					if m.name != welcomer.name {
						others = append(others, ms[m.name])
					}
				}
				found(t, w2, c, others, func(ng NewGroup) Event {
					ng.ForcePath = tc.forcePath
					ev, err := ReInitGroupFor(welcomer.s, testAt, ng)
					if err != nil {
						t.Fatal(err)
					}
					return ev
				})
				if got := c.s.GroupContext(); !bytes.Equal(got.GroupID, ri.GroupID) || got.CipherSuite != ri.CipherSuite || len(got.Extensions) != len(ri.Extensions) {
					t.Fatalf("new group context %+v does not match the reinit %+v", got, ri)
				}
			})
		}
	})
}

// TestScenarioBranch covers branch.json: alice branches a subgroup with
// the other members.
func TestScenarioBranch(t *testing.T) {
	eachSuite(t, func(t *testing.T, cs suite.ID) {
		cases := []struct {
			name      string
			exts      codec.Extensions
			extTree   bool
			forcePath bool
		}{
			{name: "base"},
			{name: "with_extensions", exts: interopExts},
			{name: "external_tree", extTree: true},
			{name: "force_path", forcePath: true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				w, a := groupWith(t, cs, state.DefaultConfig(), "bob", "charlie", "diana", "eliza")
				w2, ms := successor(t, w, cs, a.s.GroupID(), a.s.Epoch())
				if tc.extTree {
					w2.tree = TreeOmit
				}
				var others []*member
				for _, m := range w.members[1:] {
					others = append(others, ms[m.name])
				}
				found(t, w2, ms["alice"], others, func(ng NewGroup) Event {
					ng.ForcePath = tc.forcePath
					return BranchGroup{At: testAt, OldGroupID: a.s.GroupID(), OldEpoch: a.s.Epoch(), Suite: cs,
						GroupID: []byte("branch-" + tc.name), GroupContextExtensions: tc.exts, NewGroup: ng}
				})
				// The old group goes on.
				w.commit(w.byName("bob"), Commit{ForcePath: true})
			})
		}
	})
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
