package transitions

import (
	"errors"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/valsem"
)

// resign rewrites the PublicMessage msg of a non-member with mut and signs
// it again with sg under the group context ctx, keeping the confirmation
// tag (which then no longer verifies: every rule below is checked before
// it, so only the rule under test can fail first).
func resign(t testing.TB, sg *suite.Signer, ctx codec.GroupContext, msg []byte, mut func(*codec.PublicMessage)) []byte {
	t.Helper()
	m, err := codec.DecodeMLSMessage(msg)
	if err != nil || m.PublicMessage == nil {
		t.Fatalf("not a public message: %v", err)
	}
	pm := m.PublicMessage
	mut(pm)
	ac, err := keysched.SignContent(sg, codec.WireFormatPublicMessage, pm.Content, &ctx)
	if err != nil {
		t.Fatal(err)
	}
	ac.Auth.ConfirmationTag = pm.Auth.ConfirmationTag
	pm.Auth = ac.Auth
	out, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// externalCommit has a new client dave build an external commit to the
// trio from alice's GroupInfo and returns the commit.
func externalCommit(t *testing.T, w *world, a *member) (*member, []byte) {
	d := w.newMember("dave")
	effs := w.must(d, ExternalJoin{At: testAt, GroupInfo: w.groupInfo(a, true), SignatureKey: d.sig, Credential: w.credential(d), Config: w.cfg})
	return d, sent(t, effs)
}

func inline(ps ...codec.Proposal) []codec.ProposalOrRef {
	out := make([]codec.ProposalOrRef, len(ps))
	for i := range ps {
		out[i] = codec.ProposalOrRef{Type: codec.ProposalOrRefProposal, Proposal: &ps[i]}
	}
	return out
}

// TestValSemExternalCommit covers ValSem240–ValSem242 and
// ValSem244–ValSem246 (ValSem243 is unassigned): an external commit
// rewritten and re-signed by the joiner (or, for ValSem246, by another
// key) is rejected with the rule's code and leaves the receiver's state
// unchanged; the original is accepted.
func TestValSemExternalCommit(t *testing.T) {
	tests := []struct {
		name   string
		code   valsem.Code
		mut    func(t *testing.T, w *world, pm *codec.PublicMessage)
		signer func(w *world, a, d *member) *suite.Signer
	}{
		{"ValSem240 no external_init", valsem.ValSem240, func(t *testing.T, w *world, pm *codec.PublicMessage) {
			pm.Content.Commit.Proposals = nil
		}, nil},
		{"ValSem241 two external_init", valsem.ValSem241, func(t *testing.T, w *world, pm *codec.PublicMessage) {
			c := pm.Content.Commit
			c.Proposals = append(c.Proposals, c.Proposals[0])
		}, nil},
		{"ValSem242 add in an external commit", valsem.ValSem242, func(t *testing.T, w *world, pm *codec.PublicMessage) {
			c := pm.Content.Commit
			c.Proposals = append(c.Proposals, inline(addOf(craftKP(t, w, "eve", func(*codec.KeyPackage) {})))...)
		}, nil},
		{"ValSem244 proposal by reference", valsem.ValSem244, func(t *testing.T, w *world, pm *codec.PublicMessage) {
			c := pm.Content.Commit
			c.Proposals = append(c.Proposals, codec.ProposalOrRef{Type: codec.ProposalOrRefReference, Reference: make([]byte, 32)})
		}, nil},
		{"ValSem245 no path", valsem.ValSem245, func(t *testing.T, w *world, pm *codec.PublicMessage) {
			pm.Content.Commit.Path = nil
		}, nil},
		{"ValSem246 signed by another key", valsem.ValSem246, func(t *testing.T, w *world, pm *codec.PublicMessage) {},
			func(w *world, a, d *member) *suite.Signer { return signerOf(w.t.(testing.TB), a) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, a, b, _ := trio(t, codec.Capabilities{}, nil)
			d, msg := externalCommit(t, w, a)
			sg := signerOf(t, d)
			if tt.signer != nil {
				sg = tt.signer(w, a, d)
			}
			bad := resign(t, sg, b.s.GroupContext(), msg, func(pm *codec.PublicMessage) { tt.mut(t, w, pm) })
			rejects(t, w, b, bad, tt.code)
			accepts(t, w, b, msg)
		})
	}
}

// TestValSem400 proposes a resumption PSK of an epoch older than the
// number_of_resumption_psks window: the receiver no longer holds it.
func TestValSem400(t *testing.T) {
	cfg := state.DefaultConfig()
	cfg.WireFormat = state.MixedPlaintext
	cfg.ResumptionPSKs = 1
	w, a := groupWith(t, 1, cfg, "bob", "carol")
	b := w.byName("bob")
	w.commit(a, Commit{ForcePath: true})
	w.commit(a, Commit{ForcePath: true})
	gid, e := a.s.GroupID(), a.s.Epoch()
	msg := commitMsg(t, w, a, Commit{Inline: []codec.Proposal{resPSK(gid, e-1)}})
	bad := reframe(t, a, msg, func(pm *codec.PublicMessage) {
		pm.Content.Commit.Proposals[0].Proposal.PreSharedKey.PSK.PSKEpoch = e - 2
	})
	rejects(t, w, b, bad, valsem.ValSem400)
	accepts(t, w, b, msg)
	// The committer refuses it too.
	if _, err := w.apply(a, AbortCommit{At: testAt}); err != nil {
		t.Fatal(err)
	}
	_, err := w.apply(a, Commit{At: testAt, Inline: []codec.Proposal{resPSK(gid, e-2)}})
	mustIs(t, err, valsem.ValSem400)

	// Within the window but from before the receiver joined: not
	// ValSem400 (the group keeps it), a key this member never held.
	d := w.add(a, "dave")[0]
	e = a.s.Epoch()
	msg = commitMsg(t, w, a, Commit{Inline: []codec.Proposal{resPSK(gid, e-1)}})
	before := d.s.Digest()
	if _, _, err := Apply(d.s, Receive{At: testAt, Message: msg}, w.env(d)); !errorsIs(err, ErrMissingKey) || errorsIs(err, valsem.ValSem400) || d.s.Digest() != before {
		t.Fatalf("joiner of epoch %d on the psk of epoch %d: %v, want ErrMissingKey", e, e-1, err)
	}
	accepts(t, w, b, msg)
}

// TestExternalSenderRules: an external sender must be listed in
// external_senders (ValSem004) and may not send an ExternalInit
// (ValSem112); a new_member_proposal must be an Add (ValSem112).
func TestExternalSenderRules(t *testing.T) {
	w, a, b, _ := trio(t, codec.Capabilities{}, nil)
	ds := w.addExternalSigner(a, "ds")
	good := sent(t, w.must(ds, ExternalPropose{At: testAt, GroupInfo: w.groupInfo(a, false), SignatureKey: ds.sig, Proposal: removeOf(2)}))
	sg := signerOf(t, ds)
	ctx := b.s.GroupContext()
	rejects(t, w, b, resign(t, sg, ctx, good, func(pm *codec.PublicMessage) { pm.Content.Sender.SenderIndex = 7 }), valsem.ValSem004)
	rejects(t, w, b, resign(t, sg, ctx, good, func(pm *codec.PublicMessage) {
		*pm.Content.Proposal = codec.Proposal{ProposalType: codec.ProposalExternalInit, ExternalInit: &codec.ExternalInit{KEMOutput: []byte{1}}}
	}), valsem.ValSem112)
	rejects(t, w, b, resign(t, sg, ctx, good, func(pm *codec.PublicMessage) {
		pm.Content.Sender = codec.Sender{SenderType: codec.SenderTypeNewMemberProposal}
	}), valsem.ValSem112)
	// Signed by a key other than the listed one: ValSem010.
	rejects(t, w, b, resign(t, signerOf(t, a), ctx, good, func(*codec.PublicMessage) {}), valsem.ValSem010)
	accepts(t, w, b, good)
	// The external signer cannot send an Update.
	_, err := w.apply(ds, ExternalPropose{At: testAt, GroupInfo: w.groupInfo(a, false), SignatureKey: ds.sig,
		Proposal: codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{}}})
	mustIs(t, err, valsem.ValSem112)
}

// TestExternalJoinRejectAndResyncPolicy: RejectJoin returns to the state
// the external join started from, and AcceptResync decides whether a
// joiner may replace a removed leaf (by default only with the same
// credential).
func TestExternalJoinRejectAndResyncPolicy(t *testing.T) {
	w, a, b, c := trio(t, codec.Capabilities{}, nil)
	before := c.s.Digest()
	msg := sent(t, w.must(c, ExternalJoin{At: testAt, GroupInfo: w.groupInfo(a, true), SignatureKey: c.sig, Credential: w.credential(c),
		Config: w.cfg, RemovePrior: true}))
	if c.s.Active() {
		t.Fatal("external join not staged")
	}
	w.must(c, RejectJoin{At: testAt})
	if c.s.Digest() != before {
		t.Fatal("RejectJoin did not restore the prior state")
	}
	env := w.env(b)
	env.Policy.AcceptResync = func(_, _ codec.Credential) error { return errors.New("no resyncs") }
	_, _, err := Apply(b.s, Receive{At: testAt, Message: msg}, env)
	var pe *PolicyError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a policy error", err)
	}
	accepts(t, w, b, msg)
	// Another client removing carol's leaf: refused by the default policy.
	d, dm := externalCommit(t, w, a)
	bad := resign(t, signerOf(t, d), b.s.GroupContext(), dm, func(pm *codec.PublicMessage) {
		pm.Content.Commit.Proposals = append(pm.Content.Commit.Proposals, inline(removeOf(c.s.OwnLeaf()))...)
	})
	_, _, err = Apply(b.s, Receive{At: testAt, Message: bad}, w.env(b))
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a policy error", err)
	}
}
