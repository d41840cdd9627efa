package transitions

import (
	"bytes"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
)

// sentPublic returns the PublicMessage of the SendToGroup in effs.
func sentPublic(t *testing.T, effs []effects.Effect) (codec.MLSMessage, *codec.PublicMessage) {
	t.Helper()
	send, ok := effects.Find[effects.SendToGroup](effs)
	if !ok {
		t.Fatal("nothing sent")
	}
	m, err := codec.DecodeMLSMessage(send.Message)
	if err != nil || m.PublicMessage == nil {
		t.Fatalf("not a PublicMessage: %v", err)
	}
	return m, m.PublicMessage
}

// TestOwnLeafNewSignatureKey: an Update proposal and a commit's path leaf
// that carry a new signature key are signed as RFC 9420 asks — the
// message (FramedContentTBS) with the sender's current key, the leaf node
// (LeafNodeTBS) with the new one — and once merged the member signs with
// the new key.
func TestOwnLeafNewSignatureKey(t *testing.T) {
	cs, _ := suite.Lookup(suite.X25519AES128GCMSHA256Ed25519)
	for _, viaCommit := range []bool{false, true} {
		name := map[bool]string{false: "update proposal", true: "commit path"}[viaCommit]
		t.Run(name, func(t *testing.T) {
			cfg := state.DefaultConfig()
			cfg.WireFormat = state.PurePlaintext
			w := newWorld(t, cs.ID(), cfg)
			alice := w.create("alice")
			bob := w.add(alice, "bob")[0]
			old := bob.sig
			effs := w.must(bob, NewSignatureKey{At: testAt, Suite: w.cs})
			sk, _ := effects.Find[effects.SignatureKeyCreated](effs)
			newKey := sk.PublicKey
			cred := codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte("bob@2")}
			tpl := codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{LeafNode: codec.LeafNode{
				LeafNodeSource: codec.LeafNodeSourceUpdate, SignatureKey: newKey, Credential: cred}}}
			ctx := bob.s.GroupContext()
			var leaf *codec.LeafNode
			var msg []byte
			if viaCommit {
				effs = w.must(bob, Commit{At: testAt, Inline: []codec.Proposal{tpl}})
			} else {
				effs = w.must(bob, Propose{At: testAt, Proposal: tpl})
			}
			m, pm := sentPublic(t, effs)
			msg, _ = m.Encode()
			ac := codec.AuthenticatedContent{WireFormat: m.WireFormat, Content: pm.Content, Auth: pm.Auth}
			if err := keysched.VerifySignature(cs, old, ac, &ctx); err != nil {
				t.Fatalf("the message does not verify with the current key: %v", err)
			}
			if keysched.VerifySignature(cs, newKey, ac, &ctx) == nil {
				t.Fatal("the message verifies with the new key")
			}
			if viaCommit {
				if pm.Content.Commit.Path == nil || len(pm.Content.Commit.Proposals) != 0 {
					t.Fatalf("the template was sent as a proposal, or no path: %+v", pm.Content.Commit)
				}
				leaf = &pm.Content.Commit.Path.LeafNode
			} else {
				leaf = &pm.Content.Proposal.Update.LeafNode
			}
			if !bytes.Equal(leaf.SignatureKey, newKey) || string(leaf.Credential.Identity) != "bob@2" {
				t.Fatalf("leaf key %x identity %q", leaf.SignatureKey[:4], leaf.Credential.Identity)
			}
			if err := tree.VerifyLeafSignature(cs, leaf, ctx.GroupID, 1); err != nil {
				t.Fatalf("the leaf does not verify with its new key: %v", err)
			}
			if viaCommit {
				w.deliver(bob, msg)
				w.must(bob, ConfirmCommit{At: testAt})
			} else {
				w.deliver(bob, msg)
				w.commit(alice, Commit{})
			}
			if got := bob.s.Private().SignatureKey; !bytes.Equal(got, newKey) {
				t.Fatalf("bob signs with %x after the merge, want the new key", got[:4])
			}
			for i, ln := range alice.s.Members() {
				if i == 1 && !bytes.Equal(ln.SignatureKey, newKey) {
					t.Fatal("alice's tree lacks bob's new key")
				}
			}
			// Bob's next message verifies against the new leaf.
			effs = w.must(bob, Protect{At: testAt, Data: []byte("new key")})
			send, _ := effects.Find[effects.SendToGroup](effs)
			got := w.must(alice, Receive{At: testAt, Message: send.Message})
			if d, _ := effects.Find[effects.DeliverApplication](got); string(d.Data) != "new key" {
				t.Fatalf("alice read %q", d.Data)
			}
			w.check()
		})
	}
}

// TestCommitLeafTemplateChecked: a commit's leaf template is checked as
// receivers check a path's leaf, and at most one is allowed.
func TestCommitLeafTemplateChecked(t *testing.T) {
	w := newWorld(t, suite.X25519AES128GCMSHA256Ed25519, state.DefaultConfig())
	alice := w.create("alice")
	bob := w.add(alice, "bob")[0]
	upd := func(ln codec.LeafNode) codec.Proposal {
		ln.LeafNodeSource = codec.LeafNodeSourceUpdate
		return codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{LeafNode: ln}}
	}
	bad := upd(codec.LeafNode{Extensions: codec.Extensions{{ExtensionType: 0xff09}}})
	if _, err := w.apply(alice, Commit{At: testAt, Inline: []codec.Proposal{bad}}); !errorsIs(err, ErrInvalidLeafNode) {
		t.Fatalf("extension outside the capabilities: %v", err)
	}
	if _, err := w.apply(alice, Commit{At: testAt, Inline: []codec.Proposal{upd(codec.LeafNode{SignatureKey: bob.sig})}}); err == nil {
		t.Fatal("a path leaf with another member's signature key was accepted")
	}
	two := []codec.Proposal{upd(codec.LeafNode{}), upd(codec.LeafNode{})}
	if _, err := w.apply(alice, Commit{At: testAt, Inline: two}); !errorsIs(err, ErrInvalidProposals) {
		t.Fatalf("two templates: %v", err)
	}
	if _, err := w.apply(alice, Commit{At: testAt, Inline: []codec.Proposal{upd(codec.LeafNode{SignatureKey: []byte("unknown")})}}); !errorsIs(err, ErrMissingKey) {
		t.Fatalf("a signature key not in the key store: %v", err)
	}
}
