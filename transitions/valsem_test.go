package transitions

import (
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// The ValSem table tests follow openmls's test_valsemNNN pattern: build a
// valid message, change one field, re-sign and re-tag it so that only the
// rule under test can fail, check the receiver rejects it with that code
// and keeps its state (digest) unchanged, and check it accepts the
// original message.

const extCustom codec.ExtensionType = 0xff00

// trio builds alice (leaf 0), bob (1) and carol (2) with PublicMessage
// handshakes, so that tests can rewrite them.
func trio(t testing.TB, caps codec.Capabilities, gce codec.Extensions) (*world, *member, *member, *member) {
	cfg := state.DefaultConfig()
	cfg.WireFormat = state.MixedPlaintext
	w := newWorld(t, 1, cfg)
	w.caps, w.gce = caps, gce
	a := w.create("alice")
	bc := w.add(a, "bob", "carol")
	return w, a, bc[0], bc[1]
}

func signerOf(t testing.TB, m *member) *suite.Signer {
	sg, ok := m.keys.Signer(m.sig)
	if !ok {
		t.Fatal("no signer")
	}
	return sg
}

// reframe rewrites a PublicMessage of sender with mut, then re-signs it and
// recomputes its membership tag (keeping the confirmation tag).
func reframe(t testing.TB, sender *member, msg []byte, mut func(*codec.PublicMessage)) []byte {
	t.Helper()
	m, err := codec.DecodeMLSMessage(msg)
	if err != nil || m.PublicMessage == nil {
		t.Fatalf("not a public message: %v", err)
	}
	pm := m.PublicMessage
	mut(pm)
	ctx := sender.s.GroupContext()
	ac, err := keysched.SignContent(signerOf(t, sender), codec.WireFormatPublicMessage, pm.Content, &ctx)
	if err != nil {
		t.Fatal(err)
	}
	ac.Auth.ConfirmationTag = pm.Auth.ConfirmationTag
	tag, err := keysched.MembershipTag(sender.s.Suite(), sender.s.Private().Epoch.MembershipKey(), ac, &ctx)
	if err != nil {
		t.Fatal(err)
	}
	pm.Auth, pm.MembershipTag = ac.Auth, tag
	out, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// retagOnly changes a PublicMessage and recomputes its membership tag
// without re-signing it.
func retagOnly(t testing.TB, sender *member, msg []byte, mut func(*codec.PublicMessage)) []byte {
	m, err := codec.DecodeMLSMessage(msg)
	if err != nil || m.PublicMessage == nil {
		t.Fatalf("not a public message: %v", err)
	}
	pm := m.PublicMessage
	mut(pm)
	ctx := sender.s.GroupContext()
	tag, err := keysched.MembershipTag(sender.s.Suite(), sender.s.Private().Epoch.MembershipKey(), pm.AuthenticatedContent(), &ctx)
	if err != nil {
		t.Fatal(err)
	}
	pm.MembershipTag = tag
	out, _ := m.Encode()
	return out
}

// retag changes a PublicMessage without re-signing.
func retag(t testing.TB, msg []byte, mut func(*codec.PublicMessage)) []byte {
	m, err := codec.DecodeMLSMessage(msg)
	if err != nil || m.PublicMessage == nil {
		t.Fatalf("not a public message: %v", err)
	}
	mut(m.PublicMessage)
	out, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func rejects(t *testing.T, w *world, m *member, msg []byte, code error) {
	t.Helper()
	before := m.s.Digest()
	next, effs, err := Apply(m.s, Receive{At: testAt, Message: msg}, w.env(m))
	if !errorsIs(err, code) {
		t.Fatalf("got error %v, want %v", err, code)
	}
	if effs != nil || next.Digest() != before || m.s.Digest() != before {
		t.Fatal("rejection changed the state or returned effects")
	}
}

func accepts(t *testing.T, w *world, m *member, msg []byte) {
	t.Helper()
	if _, _, err := Apply(m.s, Receive{At: testAt, Message: msg}, w.env(m)); err != nil {
		t.Fatalf("valid message rejected: %v", err)
	}
}

// sent returns the SendToGroup message of effs.
func sent(t testing.TB, effs []effects.Effect) []byte {
	s, ok := effects.Find[effects.SendToGroup](effs)
	if !ok {
		t.Fatal("nothing sent")
	}
	return s.Message
}

// craftKP returns a key package of a new client, changed by mut and
// re-signed (leaf and key package).
func craftKP(t testing.TB, w *world, name string, mut func(*codec.KeyPackage)) codec.KeyPackage {
	m := w.newMember(name)
	kp := w.keyPackage(m)
	mut(&kp)
	sg := signerOf(t, m)
	if err := tree.SignLeaf(sg, &kp.LeafNode, nil, 0); err != nil {
		t.Fatal(err)
	}
	tbs, _ := kp.TBS().Encode()
	sig, err := sg.SignWithLabel("KeyPackageTBS", tbs)
	if err != nil {
		t.Fatal(err)
	}
	kp.Signature = sig
	return kp
}

func addOf(kp codec.KeyPackage) codec.Proposal {
	return codec.Proposal{ProposalType: codec.ProposalAdd, Add: &codec.Add{KeyPackage: kp}}
}

func removeOf(l treemath.LeafIndex) codec.Proposal {
	return codec.Proposal{ProposalType: codec.ProposalRemove, Remove: &codec.Remove{Removed: l}}
}

// commitMsg has alice commit ev and returns the message (alice's commit
// stays pending).
func commitMsg(t testing.TB, w *world, a *member, ev Commit) []byte {
	ev.At = testAt
	return sent(t, w.must(a, ev))
}

// setProposals replaces a commit's proposal list.
func setProposals(ps ...codec.Proposal) func(*codec.PublicMessage) {
	return func(pm *codec.PublicMessage) {
		pm.Content.Commit.Proposals = nil
		for i := range ps {
			pm.Content.Commit.Proposals = append(pm.Content.Commit.Proposals, codec.ProposalOrRef{Type: codec.ProposalOrRefProposal, Proposal: &ps[i]})
		}
	}
}

func TestValSemFraming(t *testing.T) {
	tests := []struct {
		name string
		code valsem.Code
		mut  func(*codec.PublicMessage)
		sign bool // re-sign and re-tag after mut
	}{
		{"ValSem002 group id", valsem.ValSem002, func(pm *codec.PublicMessage) { pm.Content.GroupID = []byte("other") }, true},
		{"ValSem003 epoch", valsem.ValSem003, func(pm *codec.PublicMessage) { pm.Content.Epoch += 5 }, true},
		{"ValSem004 blank sender", valsem.ValSem004, func(pm *codec.PublicMessage) { pm.Content.Sender.LeafIndex = 9 }, true},
		{"ValSem007 membership tag missing", valsem.ValSem007, func(pm *codec.PublicMessage) { pm.MembershipTag = nil }, false},
		{"ValSem008 membership tag wrong", valsem.ValSem008, func(pm *codec.PublicMessage) { pm.MembershipTag[0] ^= 1 }, false},
		{"ValSem009 confirmation tag missing", valsem.ValSem009, func(pm *codec.PublicMessage) { pm.Auth.ConfirmationTag = nil }, true},
		{"ValSem010 signature", valsem.ValSem010, nil, false},
		{"ValSem205 confirmation tag wrong", valsem.ValSem205, func(pm *codec.PublicMessage) { pm.Auth.ConfirmationTag[0] ^= 1 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, a, b, _ := trio(t, codec.Capabilities{}, nil)
			msg := commitMsg(t, w, a, Commit{ForcePath: true})
			var bad []byte
			if tt.mut == nil {
				bad = retagOnly(t, a, msg, func(pm *codec.PublicMessage) { pm.Auth.Signature[3] ^= 1 })
			} else if tt.sign {
				bad = reframe(t, a, msg, tt.mut)
			} else {
				bad = retag(t, msg, tt.mut)
			}
			rejects(t, w, b, bad, tt.code)
			accepts(t, w, b, msg)
		})
	}
}

// TestValSem005 sends application data as a PublicMessage.
func TestValSem005(t *testing.T) {
	w, a, b, _ := trio(t, codec.Capabilities{}, nil)
	ctx := a.s.GroupContext()
	content := codec.FramedContent{GroupID: a.s.GroupID(), Epoch: a.s.Epoch(), Sender: codec.MemberSender(0),
		ContentType: codec.ContentTypeApplication, ApplicationData: []byte("hi")}
	ac, err := keysched.SignContent(signerOf(t, a), codec.WireFormatPublicMessage, content, &ctx)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := keysched.MembershipTag(a.s.Suite(), a.s.Private().Epoch.MembershipKey(), ac, &ctx)
	msg, _ := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatPublicMessage,
		PublicMessage: &codec.PublicMessage{Content: content, Auth: ac.Auth, MembershipTag: tag}}.Encode()
	rejects(t, w, b, msg, valsem.ValSem005)
}

// TestValSem006And011 tampers with a PrivateMessage and pads one with a
// non-zero byte.
func TestValSem006And011(t *testing.T) {
	w, a, b, _ := trio(t, codec.Capabilities{}, nil)
	good := sent(t, w.must(a, Protect{At: testAt, Data: []byte("hi")}))
	m, _ := codec.DecodeMLSMessage(good)
	m.PrivateMessage.Ciphertext[len(m.PrivateMessage.Ciphertext)-1] ^= 1
	bad, _ := m.Encode()
	rejects(t, w, b, bad, valsem.ValSem006)
	accepts(t, w, b, good)

	// Non-zero padding, encrypted with a's next application key.
	cs := a.s.Suite()
	priv := a.s.Private()
	ctx := a.s.GroupContext()
	content := codec.FramedContent{GroupID: ctx.GroupID, Epoch: ctx.Epoch, Sender: codec.MemberSender(0),
		ContentType: codec.ContentTypeApplication, ApplicationData: []byte("pad")}
	ac, err := keysched.SignContent(signerOf(t, a), codec.WireFormatPrivateMessage, content, &ctx)
	if err != nil {
		t.Fatal(err)
	}
	rk, _, err := priv.Secrets.Next(0, keysched.Application)
	if err != nil {
		t.Fatal(err)
	}
	pt, _ := codec.PrivateMessageContent{ContentType: codec.ContentTypeApplication, ApplicationData: content.ApplicationData, Auth: ac.Auth}.Encode()
	pt = append(pt, 0, 0, 7)
	pm := codec.PrivateMessage{GroupID: ctx.GroupID, Epoch: ctx.Epoch, ContentType: codec.ContentTypeApplication}
	aad, _ := pm.ContentAAD().Encode()
	var guard [4]byte
	if pm.Ciphertext, err = cs.Seal(rk.Key, keysched.ApplyReuseGuard(rk.Nonce, guard), aad, pt); err != nil {
		t.Fatal(err)
	}
	sd, _ := codec.SenderData{LeafIndex: 0, Generation: rk.Generation, ReuseGuard: guard}.Encode()
	key, nonce, _ := keysched.SenderDataKeyNonce(cs, priv.Epoch.SenderDataSecret(), pm.Ciphertext)
	sdaad, _ := pm.SenderDataAAD().Encode()
	if pm.EncryptedSenderData, err = cs.Seal(key, nonce, sdaad, sd); err != nil {
		t.Fatal(err)
	}
	padded, _ := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatPrivateMessage, PrivateMessage: &pm}.Encode()
	rejects(t, w, b, padded, valsem.ValSem011)
}

// TestValSemProposals covers ValSem101–ValSem113, ValSem200–ValSem202,
// ValSem208, ValSem209 and ValSem401–ValSem403 with commits whose proposal
// list (or path) was rewritten.
func TestValSemProposals(t *testing.T) {
	reqCaps := func() (codec.Capabilities, codec.Extensions) {
		rc, _ := codec.RequiredCapabilities{ExtensionTypes: []codec.ExtensionType{extCustom}}.Encode()
		return codec.Capabilities{Extensions: []codec.ExtensionType{extCustom}},
			codec.Extensions{{ExtensionType: codec.ExtensionRequiredCapabilities, ExtensionData: rc}}
	}
	nonce := make([]byte, 32)
	psk := func(id string, n []byte) codec.Proposal {
		return codec.Proposal{ProposalType: codec.ProposalPreSharedKey, PreSharedKey: &codec.PreSharedKey{PSK: keysched.ExternalPSKID([]byte(id), n)}}
	}
	tests := []struct {
		name string
		code error
		caps bool // a group requiring extension extCustom
		bad  func(t *testing.T, w *world, a, b, c *member) []byte
	}{
		{"ValSem101 signature key in use", valsem.ValSem101, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			kp := craftKP(t, w, "dan", func(kp *codec.KeyPackage) {})
			kp2 := w.keyPackage(b) // bob's own signature key, fresh keys otherwise
			msg := commitMsg(t, w, a, Commit{Inline: []codec.Proposal{addOf(kp)}})
			return reframe(t, a, msg, setProposals(addOf(kp2)))
		}},
		{"ValSem102 init key twice", valsem.ValSem102, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			kp1 := craftKP(t, w, "dan", func(*codec.KeyPackage) {})
			kp2 := craftKP(t, w, "eve", func(kp *codec.KeyPackage) { kp.InitKey = kp1.InitKey })
			msg := commitMsg(t, w, a, Commit{Inline: []codec.Proposal{addOf(kp1)}})
			return reframe(t, a, msg, setProposals(addOf(kp1), addOf(kp2)))
		}},
		{"ValSem103 encryption key in use", valsem.ValSem103, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			bl, _ := b.s.Tree().Leaf(1)
			kp := craftKP(t, w, "dan", func(kp *codec.KeyPackage) { kp.LeafNode.EncryptionKey = bl.EncryptionKey })
			msg := commitMsg(t, w, a, Commit{ForcePath: true})
			return reframe(t, a, msg, setProposals(addOf(kp)))
		}},
		{"ValSem104 init key equals encryption key", valsem.ValSem104, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			kp := craftKP(t, w, "dan", func(kp *codec.KeyPackage) { kp.InitKey = kp.LeafNode.EncryptionKey })
			msg := commitMsg(t, w, a, Commit{ForcePath: true})
			return reframe(t, a, msg, setProposals(addOf(kp)))
		}},
		{"ValSem105 cipher suite", valsem.ValSem105, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			kp := craftKP(t, w, "dan", func(kp *codec.KeyPackage) { kp.CipherSuite = 3 })
			msg := commitMsg(t, w, a, Commit{ForcePath: true})
			return reframe(t, a, msg, setProposals(addOf(kp)))
		}},
		{"ValSem106 required capabilities", valsem.ValSem106, true, func(t *testing.T, w *world, a, b, c *member) []byte {
			kp := craftKP(t, w, "dan", func(kp *codec.KeyPackage) { kp.LeafNode.Capabilities.Extensions = nil })
			msg := commitMsg(t, w, a, Commit{ForcePath: true})
			return reframe(t, a, msg, setProposals(addOf(kp)))
		}},
		{"ValSem107 removed twice", valsem.ValSem107, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			msg := commitMsg(t, w, a, Commit{Inline: []codec.Proposal{removeOf(2)}})
			return reframe(t, a, msg, setProposals(removeOf(2), removeOf(2)))
		}},
		{"ValSem108 removed non-member", valsem.ValSem108, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			msg := commitMsg(t, w, a, Commit{Inline: []codec.Proposal{removeOf(2)}})
			return reframe(t, a, msg, setProposals(removeOf(3)))
		}},
		{"ValSem109 update required capabilities", valsem.ValSem109, true, func(t *testing.T, w *world, a, b, c *member) []byte {
			return updateWith(t, w, c, b, func(ln *codec.LeafNode) { ln.Capabilities.Extensions = nil })
		}},
		{"ValSem110 update encryption key in use", valsem.ValSem110, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			al, _ := a.s.Tree().Leaf(0)
			return updateWith(t, w, c, b, func(ln *codec.LeafNode) { ln.EncryptionKey = al.EncryptionKey })
		}},
		{"ValSem111 committer covers own update", valsem.ValSem111, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			up := sent(t, w.must(a, Propose{At: testAt, Proposal: codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{}}}))
			w.must(b, Receive{At: testAt, Message: up})
			ref := a.s.PendingProposals()[0].Ref
			msg := commitMsg(t, w, a, Commit{ForcePath: true}) // drops its own update (committer mode)
			return reframe(t, a, msg, func(pm *codec.PublicMessage) {
				pm.Content.Commit.Proposals = []codec.ProposalOrRef{{Type: codec.ProposalOrRefReference, Reference: ref}}
			})
		}},
		{"ValSem112 update from external sender", valsem.ValSem112, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			up := sent(t, w.must(a, Propose{At: testAt, Proposal: codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{}}}))
			return retag(t, up, func(pm *codec.PublicMessage) {
				pm.Content.Sender = codec.Sender{SenderType: codec.SenderTypeExternal}
				pm.MembershipTag = nil
			})
		}},
		{"ValSem113 unsupported proposal type", valsem.ValSem113, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			msg := commitMsg(t, w, a, Commit{ForcePath: true})
			return reframe(t, a, msg, setProposals(codec.Proposal{ProposalType: 0xff02, Data: []byte{1}}))
		}},
		{"ValSem200 committer removes itself", valsem.ValSem200, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			msg := commitMsg(t, w, a, Commit{Inline: []codec.Proposal{removeOf(2)}})
			return reframe(t, a, msg, setProposals(removeOf(0)))
		}},
		{"ValSem201 missing path", valsem.ValSem201, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			msg := commitMsg(t, w, a, Commit{Inline: []codec.Proposal{removeOf(2)}})
			return reframe(t, a, msg, func(pm *codec.PublicMessage) { pm.Content.Commit.Path = nil })
		}},
		{"ValSem202 path length", valsem.ValSem202, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			msg := commitMsg(t, w, a, Commit{ForcePath: true})
			return reframe(t, a, msg, func(pm *codec.PublicMessage) {
				p := pm.Content.Commit.Path
				p.Nodes = p.Nodes[:len(p.Nodes)-1]
			})
		}},
		{"ValSem208 two group context extensions", valsem.ValSem208, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			gce := codec.Proposal{ProposalType: codec.ProposalGroupContextExtensions, GroupContextExtensions: &codec.GroupContextExtensions{}}
			msg := commitMsg(t, w, a, Commit{Inline: []codec.Proposal{gce}})
			return reframe(t, a, msg, setProposals(gce, gce))
		}},
		{"ValSem209 unsupported group context extension", valsem.ValSem209, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			gce := codec.Proposal{ProposalType: codec.ProposalGroupContextExtensions, GroupContextExtensions: &codec.GroupContextExtensions{}}
			msg := commitMsg(t, w, a, Commit{Inline: []codec.Proposal{gce}})
			bad := gce
			bad.GroupContextExtensions = &codec.GroupContextExtensions{Extensions: codec.Extensions{{ExtensionType: extCustom}}}
			return reframe(t, a, msg, setProposals(bad))
		}},
		{"ValSem401 psk nonce length", valsem.ValSem401, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			msg := commitMsg(t, w, a, Commit{ForcePath: true})
			return reframe(t, a, msg, setProposals(psk("x", nonce[:5])))
		}},
		{"ValSem402 psk usage", valsem.ValSem402, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			msg := commitMsg(t, w, a, Commit{ForcePath: true})
			p := codec.Proposal{ProposalType: codec.ProposalPreSharedKey, PreSharedKey: &codec.PreSharedKey{
				PSK: keysched.ResumptionPSKID(codec.ResumptionPSKUsageReInit, a.s.GroupID(), 0, nonce)}}
			return reframe(t, a, msg, setProposals(p))
		}},
		{"ValSem403 psk twice", valsem.ValSem403, false, func(t *testing.T, w *world, a, b, c *member) []byte {
			msg := commitMsg(t, w, a, Commit{ForcePath: true})
			return reframe(t, a, msg, setProposals(psk("x", nonce), psk("x", nonce)))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var caps codec.Capabilities
			var gce codec.Extensions
			if tt.caps {
				caps, gce = reqCaps()
			}
			w, a, b, c := trio(t, caps, gce)
			bad := tt.bad(t, w, a, b, c)
			rejects(t, w, b, bad, tt.code)
		})
	}
}

// updateWith returns an Update proposal of sender whose leaf mut changed,
// re-signed; receiver must not be the sender.
func updateWith(t *testing.T, w *world, sender, receiver *member, mut func(*codec.LeafNode)) []byte {
	up := sent(t, w.must(sender, Propose{At: testAt, Proposal: codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{}}}))
	return reframe(t, sender, up, func(pm *codec.PublicMessage) {
		ln := &pm.Content.Proposal.Update.LeafNode
		mut(ln)
		if err := tree.SignLeaf(signerOf(t, sender), ln, sender.s.GroupID(), sender.s.OwnLeaf()); err != nil {
			t.Fatal(err)
		}
	})
}
