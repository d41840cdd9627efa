package mls

import (
	"bytes"
	"errors"
	"io/fs"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/transitions"
)

// signatureKeysStored returns the signature keys in p's storage.
func signatureKeysStored(t *testing.T, p *party) [][]byte {
	t.Helper()
	keys, err := p.store.Keys(ctx, []byte{'s', '/', byte(effects.SecretSignatureKey)})
	check(t, err)
	var out [][]byte
	for _, k := range keys {
		v, err := p.store.Get(ctx, k)
		check(t, err)
		ps, err := parseSecret(k, v)
		check(t, err)
		out = append(out, ps.Ref.ID)
	}
	return out
}

func hasKey(keys [][]byte, k []byte) bool {
	for _, x := range keys {
		if bytes.Equal(x, k) {
			return true
		}
	}
	return false
}

// leafOf returns g's view of leaf i.
func leafOf(t *testing.T, g *Group, i LeafIndex) codec.LeafNode {
	t.Helper()
	for j, ln := range g.State().Members() {
		if j == i {
			return *ln
		}
	}
	t.Fatalf("no leaf %d", i)
	return codec.LeafNode{}
}

// exchange has a send to b and b to a, and checks both read.
func exchange(t *testing.T, a, b *party, text string) {
	t.Helper()
	for _, d := range [][2]*party{{a, b}, {b, a}} {
		msg := must[[]byte](t)(d[0].g.Send([]byte(text)))
		pm := must[*ProcessedMessage](t)(d[1].g.ProcessMessage(msg))
		if string(pm.Data) != text {
			t.Fatalf("%s read %q, want %q", d[1].name, pm.Data, text)
		}
	}
}

// TestSelfUpdateWith: a commit with a path changes the committer's
// credential, signature key and leaf extensions; the commit is signed with
// the old key (the receiver verifies it against the sender's current
// leaf), the leaf with the new one; the member signs with the new key
// afterwards; the group's previous own key is erased once merged, the
// client's own key never.
func TestSelfUpdateWith(t *testing.T) {
	const ext codec.ExtensionType = 0xff00
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			alice, bob := newParty(t, b, "alice"), newParty(t, b, "bob")
			alice.g = must[*Group](t)(alice.c.CreateGroup(nil))
			out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
			check(t, alice.g.MergePendingCommit())
			bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))
			own := alice.c.SignatureKey()

			cred := codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte("alice@new")}
			var prev []byte
			for round := range 2 {
				out = must[Outgoing](t)(alice.g.SelfUpdateWith(LeafUpdate{
					Credential:      &cred,
					NewSignatureKey: true,
					Capabilities:    &codec.Capabilities{Extensions: []codec.ExtensionType{ext}},
					Extensions:      codec.Extensions{{ExtensionType: ext, ExtensionData: []byte{byte(round)}}},
				}))
				pending, _ := alice.g.State().PendingCommit()
				next := pending.Next.Private().SignatureKey
				if bytes.Equal(next, own) || bytes.Equal(next, prev) || !hasKey(signatureKeysStored(t, alice), next) {
					t.Fatalf("round %d: the pending state's key %x is not a new stored key", round, next[:4])
				}
				// Bob verifies the commit against alice's current leaf
				// (the old key) and the path's leaf against the new one.
				pm := must[*ProcessedMessage](t)(bob.g.ProcessMessage(out.Commit))
				if pm.Kind != CommitMessage || len(pm.Commit.Updated) != 0 && pm.Commit.Updated[0] != 0 {
					t.Fatalf("round %d: bob got %+v", round, pm)
				}
				check(t, bob.g.MergeStagedCommit())
				check(t, alice.g.MergePendingCommit())

				ln := leafOf(t, bob.g, 0)
				if !bytes.Equal(ln.SignatureKey, next) || string(ln.Credential.Identity) != "alice@new" {
					t.Fatalf("round %d: bob sees alice's leaf with key %x, identity %q", round, ln.SignatureKey[:4], ln.Credential.Identity)
				}
				if e, ok := ln.Extensions.Find(ext); !ok || !bytes.Equal(e.ExtensionData, []byte{byte(round)}) {
					t.Fatalf("round %d: alice's leaf extensions %+v", round, ln.Extensions)
				}
				if got := alice.g.State().Private().SignatureKey; !bytes.Equal(got, next) {
					t.Fatalf("round %d: alice signs with %x, want the new key", round, got[:4])
				}
				// Alice's messages now verify against the new key.
				exchange(t, alice, bob, "after the update")
				stored := signatureKeysStored(t, alice)
				if !hasKey(stored, own) || !hasKey(stored, next) {
					t.Fatalf("round %d: the client's key or the new key is not stored", round)
				}
				if prev != nil && hasKey(stored, prev) {
					t.Fatalf("round %d: the previous group key is still stored", round)
				}
				if _, ok := alice.c.keyStore().Signer(prev); prev != nil && ok {
					t.Fatalf("round %d: the previous group key is still in the key store", round)
				}
				prev = next
			}

			// The key survives a restart.
			id := alice.g.ID()
			check(t, alice.c.Close())
			c2 := must[*Client](t)(OpenClient(alice.store, testOptions("alice2")))
			alice.c, alice.g = c2, must[*Group](t)(c2.OpenGroup(id))
			exchange(t, alice, bob, "after the restart")

			// Deleting the group erases its key.
			check(t, alice.g.Delete())
			if stored := signatureKeysStored(t, alice); hasKey(stored, prev) || !hasKey(stored, own) {
				t.Fatal("Delete left the group's key, or erased the client's")
			}
		})
	}
}

// TestProposeSelfUpdateWith: an Update proposal with a new signature key
// and credential, committed by another member; a refused change and an
// abandoned commit leave no new key behind.
func TestProposeSelfUpdateWith(t *testing.T) {
	alice, bob := pair(t)
	own := bob.c.SignatureKey()
	cred := codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte("bob@phone")}
	msg, ref, err := bob.g.ProposeSelfUpdateWith(LeafUpdate{Credential: &cred, NewSignatureKey: true})
	check(t, err)
	if len(ref) == 0 {
		t.Fatal("no proposal ref")
	}
	props := bob.g.PendingProposals()
	if len(props) != 1 || props[0].Proposal.Update == nil {
		t.Fatalf("bob's pending proposals %+v", props)
	}
	next := props[0].Proposal.Update.LeafNode.SignatureKey
	if bytes.Equal(next, own) || !hasKey(signatureKeysStored(t, bob), next) {
		t.Fatal("the update does not carry a new stored key")
	}
	pm := must[*ProcessedMessage](t)(alice.g.ProcessMessage(msg))
	if pm.Kind != ProposalMessage {
		t.Fatalf("alice got a %v", pm.Kind)
	}
	out := must[Outgoing](t)(alice.g.CommitPendingProposals())
	check(t, alice.g.MergePendingCommit())
	pm = must[*ProcessedMessage](t)(bob.g.ProcessMessage(out.Commit))
	if len(pm.Commit.Updated) != 1 || pm.Commit.Updated[0] != 1 {
		t.Fatalf("the commit updates %v, want bob's leaf 1", pm.Commit.Updated)
	}
	check(t, bob.g.MergeStagedCommit())
	if got := bob.g.State().Private().SignatureKey; !bytes.Equal(got, next) {
		t.Fatal("bob does not sign with the proposed key after the merge")
	}
	if ln := leafOf(t, alice.g, 1); string(ln.Credential.Identity) != "bob@phone" || !bytes.Equal(ln.SignatureKey, next) {
		t.Fatalf("alice sees bob's leaf %q %x", ln.Credential.Identity, ln.SignatureKey[:4])
	}
	exchange(t, bob, alice, "signed with the new key")

	// A change the core refuses (a leaf extension outside the
	// capabilities) stores no key.
	before := len(signatureKeysStored(t, bob))
	_, err = bob.g.SelfUpdateWith(LeafUpdate{NewSignatureKey: true, Extensions: codec.Extensions{{ExtensionType: 0xff07}}})
	if !errors.Is(err, transitions.ErrInvalidLeafNode) {
		t.Fatalf("leaf extension outside the capabilities: %v, want ErrInvalidLeafNode", err)
	}
	if n := len(signatureKeysStored(t, bob)); n != before {
		t.Fatalf("%d signature keys stored after a refused update, want %d", n, before)
	}
	// An abandoned commit's key is erased with it.
	must[Outgoing](t)(bob.g.SelfUpdateWith(LeafUpdate{NewSignatureKey: true}))
	if n := len(signatureKeysStored(t, bob)); n != before+1 {
		t.Fatalf("%d signature keys stored with the commit pending, want %d", n, before+1)
	}
	check(t, bob.g.ClearPendingCommit())
	if n := len(signatureKeysStored(t, bob)); n != before {
		t.Fatalf("%d signature keys stored after ClearPendingCommit, want %d", n, before)
	}
	// A dropped proposal's key is erased with it.
	_, ref, err = bob.g.ProposeSelfUpdateWith(LeafUpdate{NewSignatureKey: true})
	check(t, err)
	if n := len(signatureKeysStored(t, bob)); n != before+1 {
		t.Fatalf("%d signature keys stored with the proposal stored, want %d", n, before+1)
	}
	check(t, bob.g.DropProposal(ref))
	if n := len(signatureKeysStored(t, bob)); n != before {
		t.Fatalf("%d signature keys stored after DropProposal, want %d", n, before)
	}
	if _, err := bob.store.Get(ctx, secretKey(effects.SecretRef{Kind: effects.SecretSignatureKey, ID: next})); err != nil {
		t.Fatalf("the group's current key: %v", err)
	}
	if _, err := bob.store.Get(ctx, secretKey(effects.SecretRef{Kind: effects.SecretSignatureKey, ID: []byte("x")})); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
}

// TestSelfUpdateWithDebugLog: a debugging log (KeepAllRecords) keeps every
// signature key the group used, and its export replays on its own, the
// commit that introduced a new key included.
func TestSelfUpdateWithDebugLog(t *testing.T) {
	alice, bob := newParty(t, backends[0], "alice"), newParty(t, backends[0], "bob")
	alice.c.opts.KeepRecords = KeepAllRecords
	alice.g = must[*Group](t)(alice.c.CreateGroup(nil))
	out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
	check(t, alice.g.MergePendingCommit())
	bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))
	for range 2 {
		out = must[Outgoing](t)(alice.g.SelfUpdateWith(LeafUpdate{NewSignatureKey: true}))
		check(t, alice.g.MergePendingCommit())
		deliver(t, alice, out.Commit, bob)
		exchange(t, alice, bob, "with the new key")
	}
	if n := len(signatureKeysStored(t, alice)); n != 3 {
		t.Fatalf("%d signature keys stored, want the client's and both group keys", n)
	}
	l := must[*replay.Log](t)(replay.ReadLog(must[[]byte](t)(alice.c.ExportLog(alice.g.ID()))))
	res, err := replay.ReplayLog(l, nil)
	check(t, err)
	if res.Final().Digest() != alice.g.State().Digest() {
		t.Fatal("the debugging log does not replay to the current state")
	}
}
