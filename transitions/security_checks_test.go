package transitions

import (
	"bytes"
	"slices"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// Tests of the security checks that a single forged field reaches only
// after every other check passed: the confirmation tag of an external
// commit, the confirmation tag of a Welcome's GroupInfo, and the public
// keys derived from a Welcome's path secret. Each forgery is otherwise
// well formed (re-signed by the key the receiver expects, re-encrypted to
// the joiner), so deleting the check under test makes the test fail:
// internal/mutatecheck verifies that.

// pendingWelcome has committer c add a new client name in a commit (with
// a path when path is set) that the group does not see yet, and returns
// the joiner and the Welcome.
func pendingWelcome(t *testing.T, w *world, c *member, name string, path bool) (*member, []byte) {
	t.Helper()
	j := w.newMember(name)
	kp := w.keyPackage(j)
	effs := w.must(c, Commit{At: testAt, ForcePath: path, RatchetTree: TreeInclude,
		Inline: []codec.Proposal{{ProposalType: codec.ProposalAdd, Add: &codec.Add{KeyPackage: kp}}}})
	wel, ok := effects.Find[effects.SendWelcome](effs)
	if !ok {
		t.Fatal("no welcome")
	}
	return j, wel.Welcome
}

// rewelcome returns the Welcome msg addressed to joiner j with its
// GroupInfo changed by mutGI (then signed again by signer) and its
// GroupSecrets changed by mutGS, encrypted again to j's init key. The
// Welcome keeps only j's entry.
func rewelcome(t *testing.T, j *member, signer *suite.Signer, msg []byte, mutGI func(*codec.GroupInfo), mutGS func(*codec.GroupSecrets)) []byte {
	t.Helper()
	m, err := codec.DecodeMLSMessage(msg)
	if err != nil || m.Welcome == nil {
		t.Fatalf("not a welcome: %v", err)
	}
	wl := *m.Welcome
	cs, err := suite.Lookup(suite.ID(wl.CipherSuite))
	if err != nil {
		t.Fatal(err)
	}
	var ref []byte
	var bundle KeyPackageBundle
	for _, egs := range wl.Secrets {
		if b, ok := j.keys.KeyPackage(egs.NewMember); ok {
			ref, bundle = egs.NewMember, b
		}
	}
	if ref == nil {
		t.Fatal("the welcome is not addressed to the joiner")
	}
	gs, err := keysched.DecryptGroupSecrets(cs, wl, ref, bundle.InitPriv)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs.PSKs) != 0 {
		t.Fatal("rewelcome handles welcomes without PSKs only")
	}
	js, err := keysched.NewJoinerSecret(cs, gs.JoinerSecret)
	if err != nil {
		t.Fatal(err)
	}
	inter, err := js.WithPSK(keysched.NoPSK)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := inter.Welcome()
	if err != nil {
		t.Fatal(err)
	}
	gi, err := ws.DecryptGroupInfo(wl.EncryptedGroupInfo)
	if err != nil {
		t.Fatal(err)
	}
	if mutGI != nil {
		mutGI(&gi)
		tbs, err := gi.TBS().Encode()
		if err != nil {
			t.Fatal(err)
		}
		if gi.Signature, err = signer.SignWithLabel("GroupInfoTBS", tbs); err != nil {
			t.Fatal(err)
		}
	}
	if mutGS != nil {
		mutGS(&gs)
	}
	egi, err := ws.EncryptGroupInfo(gi)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := keysched.EncryptGroupSecrets(cs, bundle.KeyPackage.InitKey, egi, gs, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	wl.EncryptedGroupInfo = egi
	wl.Secrets = []codec.EncryptedGroupSecrets{{NewMember: ref, EncryptedGroupSecrets: ct}}
	m.Welcome = &wl
	out, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rejectsWelcome checks that j refuses the Welcome msg with code and keeps
// its state.
func rejectsWelcome(t *testing.T, w *world, j *member, msg []byte, code error) {
	t.Helper()
	before := j.s.Digest()
	next, effs, err := Apply(j.s, JoinWelcome{At: testAt, Welcome: msg, Config: w.cfg}, w.env(j))
	if !errorsIs(err, code) {
		t.Fatalf("got error %v, want %v", err, code)
	}
	if effs != nil || next.Digest() != before {
		t.Fatal("rejection changed the state or returned effects")
	}
}

// TestExternalCommitConfirmationTag: an external commit whose
// confirmation tag is wrong, re-signed by the joiner (external commits
// carry no membership tag), is rejected with ValSem205.
func TestExternalCommitConfirmationTag(t *testing.T) {
	w, a, b, _ := trio(t, codec.Capabilities{}, nil)
	d, msg := externalCommit(t, w, a)
	bad := resign(t, signerOf(t, d), b.s.GroupContext(), msg, func(pm *codec.PublicMessage) {
		pm.Auth.ConfirmationTag = append([]byte(nil), pm.Auth.ConfirmationTag...)
		pm.Auth.ConfirmationTag[len(pm.Auth.ConfirmationTag)-1] ^= 0x80
	})
	rejects(t, w, b, bad, valsem.ValSem205)
	rejects(t, w, a, bad, valsem.ValSem205)
	accepts(t, w, b, msg)
}

// TestWelcomeConfirmationTag: a Welcome whose GroupInfo carries a wrong
// confirmation tag, signed again by the committer, is refused with
// ValSem205; the original Welcome is accepted.
func TestWelcomeConfirmationTag(t *testing.T) {
	w, a, _, _ := trio(t, codec.Capabilities{}, nil)
	d, msg := pendingWelcome(t, w, a, "dave", false)
	bad := rewelcome(t, d, signerOf(t, a), msg, func(gi *codec.GroupInfo) {
		gi.ConfirmationTag = append([]byte(nil), gi.ConfirmationTag...)
		gi.ConfirmationTag[0] ^= 1
	}, nil)
	rejectsWelcome(t, w, d, bad, valsem.ValSem205)
	// The re-encryption alone changes nothing.
	w.must(d, JoinWelcome{At: testAt, Welcome: rewelcome(t, d, signerOf(t, a), msg, func(*codec.GroupInfo) {}, nil), Config: w.cfg})
	w.must(d, RejectJoin{At: testAt})
	w.must(d, JoinWelcome{At: testAt, Welcome: msg, Config: w.cfg})
}

// TestWelcomePathSecret: a Welcome whose path secret is not the one the
// committer's path derived (so the keys derived from it differ from the
// tree's) is refused with ValSem204, when the joiner's common ancestor
// with the committer is the root and when it is lower; the original is
// accepted and the joiner then holds the private keys of the common
// ancestor and the root, matching the tree.
func TestWelcomePathSecret(t *testing.T) {
	for _, n := range []int{1, 3} {
		w := newWorld(t, 1, state.DefaultConfig())
		c := w.create("alice")
		if n > 1 {
			// carol (leaf 2) commits; dave gets leaf 3, below node 5.
			c = w.add(c, "bob", "carol")[1]
		}
		d, msg := pendingWelcome(t, w, c, "dave", true)
		cs, err := suite.Lookup(w.cs)
		if err != nil {
			t.Fatal(err)
		}
		for _, how := range []string{"other", "flip"} {
			bad := rewelcome(t, d, nil, msg, nil, func(gs *codec.GroupSecrets) {
				if gs.PathSecret == nil {
					t.Fatal("no path secret in the welcome")
				}
				ps := append([]byte(nil), gs.PathSecret.PathSecret...)
				if how == "flip" {
					ps[len(ps)-1] ^= 1
				} else {
					ps = bytes.Repeat([]byte{0x5a}, cs.HashLen())
				}
				gs.PathSecret = &codec.PathSecret{PathSecret: ps}
			})
			rejectsWelcome(t, w, d, bad, valsem.ValSem204)
		}
		w.must(d, JoinWelcome{At: testAt, Welcome: msg, Config: w.cfg})
		w.must(d, AcceptJoin{At: testAt})
		tr := d.s.Tree()
		path := d.s.Private().Path
		if err := path.Check(tr); err != nil {
			t.Fatalf("joiner's private path: %v", err)
		}
		x := treemath.CommonAncestor(d.s.OwnLeaf().Node(), c.s.OwnLeaf().Node())
		for _, y := range []treemath.NodeIndex{x, treemath.Root(tr.LeafCount())} {
			if _, ok := path.PublicKey(y); !ok {
				t.Fatalf("%d members: the joiner holds no key for node %d", n, y)
			}
		}
		if n > 1 && x == treemath.Root(tr.LeafCount()) {
			t.Fatal("the common ancestor is the root")
		}
	}
}

// TestWelcomeGroupInfoSignature: a Welcome whose GroupInfo is signed by a
// member other than the one it names as signer is refused.
func TestWelcomeGroupInfoSignature(t *testing.T) {
	w, a, b, _ := trio(t, codec.Capabilities{}, nil)
	d, msg := pendingWelcome(t, w, a, "dave", false)
	bad := rewelcome(t, d, signerOf(t, b), msg, func(*codec.GroupInfo) {}, nil)
	rejectsWelcome(t, w, d, bad, keysched.ErrGroupInfoSignature)
	w.must(d, JoinWelcome{At: testAt, Welcome: msg, Config: w.cfg})
}

// flipTreeSignature changes the last byte of the ratchet_tree extension of
// gi: the signature of the tree's last leaf (the member just added).
func flipTreeSignature(t *testing.T, exts codec.Extensions) {
	t.Helper()
	for i := range exts {
		if exts[i].ExtensionType == codec.ExtensionRatchetTree {
			d := append([]byte(nil), exts[i].ExtensionData...)
			d[len(d)-1] ^= 1
			exts[i].ExtensionData = d
			return
		}
	}
	t.Fatal("no ratchet_tree extension")
}

// TestWelcomeTreeValidation: a Welcome whose ratchet tree differs from the
// one the group context's tree hash commits to (here: the new member's
// leaf signature changed), in a GroupInfo signed again by the committer,
// is refused.
func TestWelcomeTreeValidation(t *testing.T) {
	w, a, _, _ := trio(t, codec.Capabilities{}, nil)
	d, msg := pendingWelcome(t, w, a, "dave", false)
	bad := rewelcome(t, d, signerOf(t, a), msg, func(gi *codec.GroupInfo) { flipTreeSignature(t, gi.Extensions) }, nil)
	rejectsWelcome(t, w, d, bad, tree.ErrTreeHash)
	w.must(d, JoinWelcome{At: testAt, Welcome: msg, Config: w.cfg})
}

// TestExternalJoinGroupInfoChecks: a client refuses to join externally
// from a GroupInfo whose signature does not verify, or whose ratchet tree
// is not the one its tree hash commits to (the GroupInfo signed again by
// its signer).
func TestExternalJoinGroupInfoChecks(t *testing.T) {
	w, a, _, _ := trio(t, codec.Capabilities{}, nil)
	good := w.groupInfo(a, true)
	regi := func(mut func(gi *codec.GroupInfo), resign bool) []byte {
		m, err := codec.DecodeMLSMessage(good)
		if err != nil || m.GroupInfo == nil {
			t.Fatalf("not a group info: %v", err)
		}
		gi := *m.GroupInfo
		gi.Extensions = append(codec.Extensions(nil), gi.Extensions...)
		mut(&gi)
		if resign {
			tbs, err := gi.TBS().Encode()
			if err != nil {
				t.Fatal(err)
			}
			if gi.Signature, err = signerOf(t, a).SignWithLabel("GroupInfoTBS", tbs); err != nil {
				t.Fatal(err)
			}
		}
		m.GroupInfo = &gi
		out, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tests := []struct {
		name string
		gi   []byte
		want error
	}{
		{"signature", regi(func(gi *codec.GroupInfo) {
			gi.Signature = append([]byte(nil), gi.Signature...)
			gi.Signature[0] ^= 1
		}, false), ErrInvalidGroupInfo},
		{"tree", regi(func(gi *codec.GroupInfo) { flipTreeSignature(t, gi.Extensions) }, true), tree.ErrTreeHash},
	}
	for _, tt := range tests {
		d := w.newMember("dave-" + tt.name)
		before := d.s.Digest()
		next, effs, err := Apply(d.s, ExternalJoin{At: testAt, GroupInfo: tt.gi, SignatureKey: d.sig, Credential: w.credential(d), Config: w.cfg}, w.env(d))
		if !errorsIs(err, tt.want) {
			t.Fatalf("%s: got %v, want %v", tt.name, err, tt.want)
		}
		if effs != nil || next.Digest() != before {
			t.Fatalf("%s: rejection changed the state or returned effects", tt.name)
		}
	}
	d := w.newMember("dave")
	w.must(d, ExternalJoin{At: testAt, GroupInfo: good, SignatureKey: d.sig, Credential: w.credential(d), Config: w.cfg})
}

// TestLeafNodeSignatures: an Update proposal, and a commit's path, whose
// leaf node signature does not verify (the message itself signed and
// tagged again) are rejected.
func TestLeafNodeSignatures(t *testing.T) {
	flip := func(ln *codec.LeafNode) {
		ln.Signature = append([]byte(nil), ln.Signature...)
		ln.Signature[len(ln.Signature)-1] ^= 1
	}
	w, a, b, c := trio(t, codec.Capabilities{}, nil)
	up := sent(t, w.must(a, Propose{At: testAt, Proposal: codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{}}}))
	rejects(t, w, b, reframe(t, a, up, func(pm *codec.PublicMessage) { flip(&pm.Content.Proposal.Update.LeafNode) }), tree.ErrLeafSignature)
	accepts(t, w, b, up)
	cm := commitMsg(t, w, c, Commit{ForcePath: true})
	rejects(t, w, b, reframe(t, c, cm, func(pm *codec.PublicMessage) { flip(&pm.Content.Commit.Path.LeafNode) }), tree.ErrLeafSignature)
	accepts(t, w, b, cm)
}

// TestProposeAsNewMemberSuite: a client refuses to propose itself to a
// group with a key package of another cipher suite (ValSem105), and
// proposes itself with one of the group's suite.
func TestProposeAsNewMemberSuite(t *testing.T) {
	w, a, _, _ := trio(t, codec.Capabilities{}, nil)
	gi := w.groupInfo(a, true)
	other := newWorld(t, 3, w.cfg)
	d := other.newMember("dave")
	kp := other.keyPackage(d)
	cs3, err := suite.Lookup(3)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := keysched.KeyPackageRef(cs3, kp)
	if err != nil {
		t.Fatal(err)
	}
	before := d.s.Digest()
	next, effs, err := Apply(d.s, ProposeAsNewMember{At: testAt, GroupInfo: gi, KeyPackageRef: ref}, w.env(d))
	if !errorsIs(err, valsem.ValSem105) {
		t.Fatalf("key package of suite 3 for a suite 1 group: %v, want ValSem105", err)
	}
	if effs != nil || next.Digest() != before {
		t.Fatal("rejection changed the state or returned effects")
	}
	e := w.newMember("erin")
	kp1 := w.keyPackage(e)
	cs1, err := suite.Lookup(1)
	if err != nil {
		t.Fatal(err)
	}
	ref1, err := keysched.KeyPackageRef(cs1, kp1)
	if err != nil {
		t.Fatal(err)
	}
	w.must(e, ProposeAsNewMember{At: testAt, GroupInfo: gi, KeyPackageRef: ref1})
}

// TestWelcomeUnsupportedExtension: a Welcome whose group context holds an
// extension that not every member supports (the GroupInfo signed again by
// the committer) is refused with ValSem209.
func TestWelcomeUnsupportedExtension(t *testing.T) {
	w, a, _, _ := trio(t, codec.Capabilities{}, nil)
	d, msg := pendingWelcome(t, w, a, "dave", false)
	bad := rewelcome(t, d, signerOf(t, a), msg, func(gi *codec.GroupInfo) {
		gi.GroupContext.Extensions = append(append(codec.Extensions(nil), gi.GroupContext.Extensions...),
			codec.Extension{ExtensionType: 0xf0f0, ExtensionData: []byte{1}})
	}, nil)
	rejectsWelcome(t, w, d, bad, valsem.ValSem209)
}

// TestExternalSenderFraming: an external sender may send only proposals
// (a commit from one is refused with ValSem112), and a message from an
// external sender to a group without external_senders names no one
// (ValSem004).
func TestExternalSenderFraming(t *testing.T) {
	w, a, b, _ := trio(t, codec.Capabilities{}, nil)
	// Before any external sender is listed: a's proposal relabelled as
	// coming from external sender 0.
	msg := sent(t, w.must(a, Propose{At: testAt, Proposal: removeOf(2)}))
	m, err := codec.DecodeMLSMessage(msg)
	if err != nil || m.PublicMessage == nil {
		t.Fatalf("not a public message: %v", err)
	}
	m.PublicMessage.Content.Sender = codec.Sender{SenderType: codec.SenderTypeExternal, SenderIndex: 0}
	m.PublicMessage.MembershipTag = nil
	relabelled, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	rejects(t, w, b, relabelled, valsem.ValSem004)
	pp := a.s.PendingProposals()
	w.must(a, DropProposal{At: testAt, Ref: pp[len(pp)-1].Ref})

	ds := w.addExternalSigner(a, "ds")
	good := sent(t, w.must(ds, ExternalPropose{At: testAt, GroupInfo: w.groupInfo(a, false), SignatureKey: ds.sig, Proposal: removeOf(2)}))
	rejects(t, w, b, resign(t, signerOf(t, ds), b.s.GroupContext(), good, func(pm *codec.PublicMessage) {
		pm.Content.ContentType = codec.ContentTypeCommit
		pm.Content.Proposal = nil
		pm.Content.Commit = &codec.Commit{}
	}), valsem.ValSem112)
	accepts(t, w, b, good)
}

// TestStoredProposalSenders: a proposal store restored from a snapshot is
// checked again when a commit covers it by reference. state.Decode checks
// no stored proposal against the tree, and framing, which keeps such
// proposals out of a store built from messages, never saw these: an
// Update stored with a non-member sender (ValSem112) or a blank leaf as
// sender (ValSem004) fails the commit that covers it, while the same
// commit is accepted with the store as received.
func TestStoredProposalSenders(t *testing.T) {
	tests := []struct {
		name   string
		sender codec.Sender
		code   valsem.Code
	}{
		// The zero LeafIndex names alice, whose Update it is.
		{"external sender", codec.Sender{SenderType: codec.SenderTypeExternal}, valsem.ValSem112},
		{"new member sender", codec.Sender{SenderType: codec.SenderTypeNewMemberProposal}, valsem.ValSem112},
		{"leaf outside the tree", codec.Sender{SenderType: codec.SenderTypeMember, LeafIndex: 9}, valsem.ValSem004},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, a := groupWith(t, 1, state.DefaultConfig(), "bob", "carol")
			b, c := w.byName("bob"), w.byName("carol")
			w.propose(a, codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{}})
			msg := commitMsg(t, w, c, Commit{})
			honest := b.s
			pub, priv := honest.Shared(core.K())
			if len(pub.Proposals) != 1 {
				t.Fatalf("bob stores %d proposals, want 1", len(pub.Proposals))
			}
			pub.Proposals = slices.Clone(pub.Proposals)
			pub.Proposals[0].Sender = tc.sender
			forged, err := state.New(core.K(), pub, priv)
			if err != nil {
				t.Fatal(err)
			}
			snap, err := state.Encode(forged)
			if err != nil {
				t.Fatal(err)
			}
			if b.s, err = state.Decode(snap); err != nil {
				t.Fatalf("the snapshot does not decode: %v", err)
			}
			rejects(t, w, b, msg, tc.code)
			b.s = honest
			accepts(t, w, b, msg)
		})
	}
}
