package transitions

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
)

// applyWith runs ev on m like world.apply, with pol as the Policy.
func (w *world) applyWith(m *member, ev Event, pol Policy) ([]effects.Effect, error) {
	w.t.Helper()
	before := m.s.Digest()
	env := w.env(m)
	env.Policy = pol
	next, effs, err := Apply(m.s, ev, env)
	if m.s.Digest() != before {
		w.t.Fatalf("%s: %s changed its input state", m.name, Name(ev))
	}
	if err != nil {
		if effs != nil || next.Digest() != before {
			w.t.Fatalf("%s: %s failed but returned effects or a new state", m.name, Name(ev))
		}
		return nil, err
	}
	ks, err := m.keys.With(effs)
	if err != nil {
		w.t.Fatal(err)
	}
	m.s, m.keys = next, ks
	return effs, nil
}

const customProposal codec.ProposalType = 0xf0a1

// TestCustomProposalsAndExtensions: a custom proposal type advertised by
// every member is carried by reference and by value and shown on the
// staged commit; a GroupContextExtensions proposal installs a custom
// extension every member supports, which the members then expose.
func TestCustomProposalsAndExtensions(t *testing.T) {
	for _, cs := range scenarioSuites {
		t.Run(fmt.Sprintf("suite=%d", cs), func(t *testing.T) {
			w := newWorld(t, cs, state.DefaultConfig())
			w.caps = codec.Capabilities{Proposals: []codec.ProposalType{customProposal}, Extensions: []codec.ExtensionType{extCustom}}
			a := w.create("alice")
			bc := w.add(a, "bob", "carol")
			b, c := bc[0], bc[1]
			byRef := codec.Proposal{ProposalType: customProposal, Data: []byte("by reference")}
			byVal := codec.Proposal{ProposalType: customProposal, Data: []byte("by value")}
			w.proposeBy(b, byRef)
			effs := w.must(a, Commit{At: testAt, Inline: []codec.Proposal{byVal}})
			got := w.must(c, Receive{At: testAt, Message: sent(t, effs)})
			if _, ok := effects.Find[effects.CommitStaged](got); !ok {
				t.Fatal("commit not staged")
			}
			sc, _ := c.s.StagedCommit()
			var datas [][]byte
			for _, sp := range sc.Proposals {
				if sp.Proposal.ProposalType == customProposal {
					datas = append(datas, sp.Proposal.Data)
				}
			}
			if len(datas) != 2 || !bytes.Equal(datas[0], byRef.Data) || !bytes.Equal(datas[1], byVal.Data) {
				t.Fatalf("staged custom proposals %q", datas)
			}
			w.must(c, MergeStaged{At: testAt})
			w.deliver(a, sent(t, effs), c)
			w.must(a, ConfirmCommit{At: testAt})
			w.check()

			exts := codec.Extensions{{ExtensionType: extCustom, ExtensionData: []byte("app data")}}
			w.proposeBy(c, gceOf(exts))
			w.commit(b, Commit{})
			for _, m := range w.members {
				x, ok := m.s.GroupContext().Extensions.Find(extCustom)
				if !ok || !bytes.Equal(x.ExtensionData, []byte("app data")) {
					t.Fatalf("%s: custom extension not exposed", m.name)
				}
			}
		})
	}
}

// TestCredentialPolicy: AcceptCredential sees the credential of every
// member when joining (the whole tree, by Welcome or external commit) and
// of every leaf an Add, Update or commit path brings in; a rejection is a
// *PolicyError and leaves the state unchanged.
func TestCredentialPolicy(t *testing.T) {
	noMallory := Policy{AcceptCredential: func(c codec.Credential, _ []byte) error {
		if bytes.HasPrefix(c.Identity, []byte("mallory")) {
			return errors.New("mallory is not welcome")
		}
		return nil
	}}
	isPolicy := func(t *testing.T, err error) {
		t.Helper()
		var pe *PolicyError
		if !errors.As(err, &pe) {
			t.Fatalf("got %v, want a policy error", err)
		}
	}
	w := newWorld(t, 1, state.DefaultConfig())
	a := w.create("alice")
	b := w.add(a, "bob")[0]

	// An Add of mallory, received.
	mal := w.newMember("mallory")
	effs := w.must(a, Commit{At: testAt, Inline: []codec.Proposal{addOf(w.keyPackage(mal))}, RatchetTree: TreeInclude})
	_, err := w.applyWith(b, Receive{At: testAt, Message: sent(t, effs)}, noMallory)
	isPolicy(t, err)
	w.deliver(a, sent(t, effs), mal)
	w.must(a, ConfirmCommit{At: testAt})

	// A client joining a group with mallory in its tree, by Welcome and
	// by external commit.
	wel, _ := effects.Find[effects.SendWelcome](effs)
	_, err = w.applyWith(mal, JoinWelcome{At: testAt, Welcome: wel.Welcome, Config: w.cfg}, noMallory)
	isPolicy(t, err)
	d := w.newMember("dave")
	_, err = w.applyWith(d, ExternalJoin{At: testAt, GroupInfo: w.groupInfo(a, true), SignatureKey: d.sig, Credential: w.credential(d), Config: w.cfg}, noMallory)
	isPolicy(t, err)

	// An Update that changes bob's credential to a rejected one.
	upd := codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{LeafNode: codec.LeafNode{
		Credential: codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte("mallory-in-disguise")}}}}
	w.members = append(w.members, mal)
	w.must(mal, JoinWelcome{At: testAt, Welcome: wel.Welcome, Config: w.cfg})
	w.must(mal, AcceptJoin{At: testAt})
	up := sent(t, w.must(b, Propose{At: testAt, Proposal: upd}))
	_, err = w.applyWith(a, Receive{At: testAt, Message: up}, noMallory)
	isPolicy(t, err)
	// A commit whose path leaf has a rejected credential.
	effs = w.must(mal, Commit{At: testAt, ForcePath: true})
	_, err = w.applyWith(a, Receive{At: testAt, Message: sent(t, effs)}, noMallory)
	isPolicy(t, err)
}

// TestGrease: with Policy.Grease, key packages, leaf nodes and GroupInfos
// carry GREASE values (drawn deterministically from the entropy source),
// and members without GREASE accept and process them everywhere.
func TestGrease(t *testing.T) {
	for _, cs := range []suite.ID{1, 2, 3} {
		t.Run(fmt.Sprintf("suite=%d", cs), func(t *testing.T) {
			grease := Policy{Grease: true}
			w := newWorld(t, cs, state.DefaultConfig())
			a := w.newMember("alice")
			if _, err := w.applyWith(a, CreateGroup{At: testAt, Suite: cs, GroupID: []byte("grease"), SignatureKey: a.sig,
				Credential: w.credential(a), Lifetime: testLifetime, Config: w.cfg}, grease); err != nil {
				t.Fatal(err)
			}
			w.members = append(w.members, a)
			own, _ := a.s.Tree().Leaf(0)
			if !hasGrease(own) {
				t.Fatalf("creator leaf without grease: %+v", own.Capabilities)
			}
			b := w.newMember("bob")
			effs, err := w.applyWith(b, NewKeyPackage{At: testAt, Suite: cs, SignatureKey: b.sig, Credential: w.credential(b), Lifetime: testLifetime}, grease)
			if err != nil {
				t.Fatal(err)
			}
			kc, _ := effects.Find[effects.KeyPackageCreated](effs)
			m, _ := codec.DecodeMLSMessage(kc.KeyPackage)
			kp := *m.KeyPackage
			if !hasGrease(&kp.LeafNode) || !anyGreaseExt(kp.Extensions) {
				t.Fatal("key package without grease")
			}
			w.commit(a, Commit{Inline: []codec.Proposal{addOf(kp)}}, b)
			w.add(b, "carol")
			c := w.byName("carol")
			effs, err = w.applyWith(c, PublishGroupInfo{At: testAt, RatchetTree: true}, grease)
			if err != nil {
				t.Fatal(err)
			}
			gi, _ := effects.Find[effects.PublishGroupInfo](effs)
			gm, _ := codec.DecodeMLSMessage(gi.GroupInfo)
			if !anyGreaseExt(gm.GroupInfo.Extensions) {
				t.Fatal("group info without grease")
			}
			d := w.newMember("dave")
			effs, err = w.applyWith(d, ExternalJoin{At: testAt, GroupInfo: gi.GroupInfo, SignatureKey: d.sig, Credential: w.credential(d), Config: w.cfg}, grease)
			if err != nil {
				t.Fatal(err)
			}
			w.deliver(d, sent(t, effs))
			w.must(d, AcceptJoin{At: testAt})
			w.members = append(w.members, d)
			w.check()
			dl, _ := d.s.Tree().Leaf(d.s.OwnLeaf())
			if !hasGrease(dl) {
				t.Fatal("external joiner's leaf without grease")
			}
			w.commit(a, Commit{ForcePath: true})
		})
	}
}

func hasGrease(ln *codec.LeafNode) bool {
	c := ln.Capabilities
	g := func(v uint16) bool { return IsGrease(v) }
	found := 0
	for _, x := range c.CipherSuites {
		if g(uint16(x)) {
			found++
			break
		}
	}
	for _, x := range c.Extensions {
		if g(uint16(x)) {
			found++
			break
		}
	}
	for _, x := range c.Proposals {
		if g(uint16(x)) {
			found++
			break
		}
	}
	for _, x := range c.Credentials {
		if g(uint16(x)) {
			found++
			break
		}
	}
	return found == 4 && anyGreaseExt(ln.Extensions)
}

func anyGreaseExt(exts codec.Extensions) bool {
	for _, x := range exts {
		if IsGrease(uint16(x.ExtensionType)) {
			return true
		}
	}
	return false
}

func TestIsGrease(t *testing.T) {
	n := 0
	for v := range 1 << 16 {
		if IsGrease(uint16(v)) {
			n++
		}
	}
	if n != 15 || !IsGrease(0x0a0a) || !IsGrease(0xeaea) || IsGrease(0xfafa) || IsGrease(0x0a1a) {
		t.Fatalf("%d grease values", n)
	}
}

// TestCredentialPolicyAt: AcceptCredentialAt receives the time of the
// event being applied (the core's only clock), and its rejection is a
// *PolicyError wrapping the policy's error.
func TestCredentialPolicyAt(t *testing.T) {
	errLate := errors.New("too late")
	// Accepts before testAt+100 only.
	until := Policy{AcceptCredentialAt: func(at uint64, _ codec.Credential, _ []byte) error {
		if at >= testAt+100 {
			return errLate
		}
		return nil
	}}
	w := newWorld(t, 1, state.DefaultConfig())
	a := w.create("alice")
	bob := w.newMember("bob")
	effs := w.must(a, Commit{At: testAt, Inline: []codec.Proposal{addOf(w.keyPackage(bob))}, RatchetTree: TreeInclude})
	wel, _ := effects.Find[effects.SendWelcome](effs)
	var pe *PolicyError
	if _, err := w.applyWith(bob, JoinWelcome{At: testAt + 100, Welcome: wel.Welcome, Config: w.cfg}, until); !errors.Is(err, errLate) || !errors.As(err, &pe) {
		t.Fatalf("join at testAt+100: got %v, want a *PolicyError wrapping errLate", err)
	}
	if _, err := w.applyWith(bob, JoinWelcome{At: testAt + 99, Welcome: wel.Welcome, Config: w.cfg}, until); err != nil {
		t.Fatalf("join at testAt+99: %v", err)
	}
}
