package storagetest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	mls "github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
)

// RunForwardSecrecy drives a real client whose store is the backend's
// through the mls API — a join that consumes a key package, commits that
// change the epoch, application messages sent and received — and checks
// after every step, then after closing and after reopening the store, that
// no byte string the core deleted remains in the store's files: the key
// package's private keys, and every secret of the past epochs (the
// encryption, sender data, exporter, external, confirmation, membership,
// resumption and init secrets) once the epoch has left the window the
// shell's default configuration (mls.DefaultConfig) keeps for late
// messages: by count (state.Config.MaxPastEpochs) after the next commits,
// and by age (state.Config.MaxPastEpochAge) with the first operation after
// the age bound — the signature key a group no longer signs with after
// its member changed it (mls.LeafUpdate.NewSignatureKey), and, at once
// after every application message alice sends or reads, the ratchet
// secret, key and nonce of the generation it consumed. It needs a
// non-volatile backend.
func RunForwardSecrecy(t *testing.T, b Backend) {
	if b.Volatile {
		t.Skip("a volatile backend has no files")
	}
	dir := t.TempDir()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := b.Open(t, dir)
	alice, err := mls.NewClient(store, []byte("alice"), &mls.Options{Clock: clock})
	must(t, err)
	bob, err := mls.NewClient(mls.NewMemoryStorage(), []byte("bob"), &mls.Options{Clock: clock})
	must(t, err)

	var gone [][]byte // byte strings that must not be in the files
	// The state keeps the last MaxPastEpochs epochs' message secrets
	// (for late messages): an epoch's secrets must be gone once it is
	// that many epochs older.
	var retained [][][]byte
	keep := int(mls.DefaultConfig().MaxPastEpochs) // the shell's default
	grep := func(when string) {
		t.Helper()
		path, i, err := findSecret(dir, gone)
		if err != nil {
			t.Fatal(err)
		}
		if path != "" {
			t.Fatalf("%s: deleted secret #%d (%x…) is in %s", when, i, gone[i][:8], path)
		}
	}

	kp, err := alice.KeyPackage()
	must(t, err)
	kpKeys, err := store.Keys(ctx, []byte{'s', '/', byte(effects.SecretKeyPackage)})
	must(t, err)
	if len(kpKeys) != 1 {
		t.Fatalf("%d key package secrets stored, want 1", len(kpKeys))
	}
	bundle, err := store.Get(ctx, kpKeys[0])
	must(t, err)

	bg, ag := addAndJoin(t, bob, alice, kp, nil)
	gone = append(gone, bundle)
	grep("after the join")

	epochSecrets := func(g *mls.Group) [][]byte {
		e := g.State().Private().Epoch
		return [][]byte{e.EncryptionSecret(), e.SenderDataSecret(), e.ExporterSecret(), e.ExternalSecret(),
			e.ConfirmationKey(), e.MembershipKey(), e.ResumptionPSK(), e.Next().Bytes()}
	}
	for epoch := range 6 {
		old := epochSecrets(ag)
		var commit []byte
		if epoch%2 == 0 {
			out, err := bg.SelfUpdate()
			must(t, err)
			must(t, bg.MergePendingCommit())
			commit = out.Commit
			pm, err := ag.ProcessMessage(commit)
			must(t, err)
			if pm.Kind != mls.CommitMessage {
				t.Fatalf("alice got a %v, want the commit", pm.Kind)
			}
			must(t, ag.MergeStagedCommit())
		} else {
			// Alice's commits give her leaf a new signature key: the
			// group's previous one (not the client's own) must go.
			before := signatureSecrets(t, store)
			out, err := ag.SelfUpdateWith(mls.LeafUpdate{NewSignatureKey: true})
			must(t, err)
			must(t, ag.MergePendingCommit())
			_, err = bg.ProcessMessage(out.Commit)
			must(t, err)
			must(t, bg.MergeStagedCommit())
			after := signatureSecrets(t, store)
			if len(after) != 2 {
				t.Fatalf("%d signature keys stored after a key change, want the client's and the group's", len(after))
			}
			for k, v := range before {
				if _, kept := after[k]; !kept {
					gone = append(gone, v)
				}
			}
		}
		// A past epoch keeps its message secrets (encryption and sender
		// data secrets, the first two); the others go at once.
		gone = append(gone, old[2:]...)
		retained = append(retained, old[:2])
		for len(retained) > keep {
			gone = append(gone, retained[0]...)
			retained = retained[1:]
		}
		grep(fmt.Sprintf("after commit %d", epoch))
		for i := range 3 {
			// Each message consumes a generation of its sender's ratchet
			// at alice: its ratchet secret, key and nonce must be gone
			// at once (the shell overwrites the sender's entry).
			consumed := nextRatchet(t, ag, ag.OwnLeaf())
			msg, err := ag.Send(fmt.Appendf(nil, "from alice %d/%d", epoch, i))
			must(t, err)
			gone = append(gone, consumed...)
			grep(fmt.Sprintf("after alice's message %d/%d", epoch, i))
			pm, err := bg.ProcessMessage(msg)
			must(t, err)
			if string(pm.Data) != fmt.Sprintf("from alice %d/%d", epoch, i) {
				t.Fatalf("bob read %q", pm.Data)
			}
			msg, err = bg.Send([]byte("from bob"))
			must(t, err)
			consumed = nextRatchet(t, ag, bg.OwnLeaf())
			pm, err = ag.ProcessMessage(msg)
			must(t, err)
			if string(pm.Data) != "from bob" {
				t.Fatalf("alice read %q", pm.Data)
			}
			gone = append(gone, consumed...)
			grep(fmt.Sprintf("after alice read bob's message %d/%d", epoch, i))
			if i > 0 && len(consumed) == 0 {
				t.Fatal("bob's ratchets at alice are not derived after his first message")
			}
		}
		grep(fmt.Sprintf("after the messages of epoch %d", epoch))
	}
	id, auth := ag.ID(), ag.EpochAuthenticator()
	must(t, alice.Close())
	closeStore(t, store)
	grep("after Close")
	store = open(t, b, dir)
	grep("after reopening")
	alice, err = mls.OpenClient(store, &mls.Options{Clock: clock})
	must(t, err)
	ag, err = alice.OpenGroup(id)
	must(t, err)
	if !bytes.Equal(ag.EpochAuthenticator(), auth) {
		t.Fatal("the reopened group is not at the epoch it was closed in")
	}
	msg, err := ag.Send([]byte("after the restart"))
	must(t, err)
	pm, err := bg.ProcessMessage(msg)
	must(t, err)
	if string(pm.Data) != "after the restart" {
		t.Fatalf("bob read %q", pm.Data)
	}
	grep("after a message from the reopened client")

	// The age bound: past the deadline the retained epochs go with the
	// next operation.
	if len(retained) == 0 {
		t.Fatal("the default configuration retains no past epoch: nothing to expire by age")
	}
	now = now.Add(time.Duration(mls.DefaultConfig().MaxPastEpochAge)*time.Second + time.Second)
	for _, r := range retained {
		gone = append(gone, r...)
	}
	if _, err := ag.Send([]byte("after the age bound")); err != nil {
		t.Fatal(err)
	}
	grep("after the age bound")
	must(t, alice.Close())
	closeStore(t, store)
	grep("after the age bound, closed")
}

// addAndJoin has creator create a group and add joiner's key package kp,
// and joiner join it by the Welcome: the two groups.
func addAndJoin(t *testing.T, creator, joiner *mls.Client, kp []byte, opts *mls.GroupOptions) (*mls.Group, *mls.Group) {
	t.Helper()
	cg, err := creator.CreateGroup(opts)
	must(t, err)
	out, err := cg.AddMembers(kp)
	must(t, err)
	must(t, cg.MergePendingCommit())
	tree, err := cg.RatchetTree()
	must(t, err)
	jg, err := joiner.JoinGroup(out.Welcome, tree)
	must(t, err)
	return cg, jg
}

// signatureSecrets returns the signature private keys in store, by
// storage key: each value's secret, after its 4-byte id length and id.
func signatureSecrets(t *testing.T, store mls.Storage) map[string][]byte {
	t.Helper()
	keys, err := store.Keys(ctx, []byte{'s', '/', byte(effects.SecretSignatureKey)})
	must(t, err)
	out := map[string][]byte{}
	for _, k := range keys {
		v, err := store.Get(ctx, k)
		must(t, err)
		if len(v) < 4 || uint64(len(v)-4) < uint64(binary.BigEndian.Uint32(v)) {
			t.Fatalf("signature key %x: malformed value", k)
		}
		out[string(k)] = v[4+binary.BigEndian.Uint32(v):]
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// nextRatchet returns the secrets that the next application message of
// sender consumes in g's current epoch: the ratchet secret of the
// application ratchet's next generation, and the key and nonce it derives
// (RFC 9420, Section 9.1). It returns nil while the sender's ratchets are
// not derived yet (before its first message of the epoch). It reads the
// sender's entry of the secret tree (keysched.SecretTree.AppendEntry:
// a kind byte, then per ratchet, handshake first, the next generation,
// the ratchet secret and the retained keys).
func nextRatchet(t *testing.T, g *mls.Group, sender mls.LeafIndex) [][]byte {
	t.Helper()
	s := g.State()
	v, ok := s.Private().Secrets.AppendEntry(nil, 2*uint32(sender))
	if !ok || v[0] != 1 { // not a sender's ratchets: the leaf's node secret
		return nil
	}
	d := codec.NewDecoder(v[1:])
	d.Uint64()
	d.Opaque()
	d.VectorEach(func(d *codec.Decoder) { d.Uint32(); d.Opaque(); d.Opaque() })
	next, secret := d.Uint64(), d.Opaque()
	d.VectorEach(func(d *codec.Decoder) { d.Uint32(); d.Opaque(); d.Opaque() })
	if err := d.Finish("sender entry"); err != nil || len(secret) == 0 {
		t.Fatalf("sender %d's entry: %v", sender, err)
	}
	cs := s.Suite()
	key, err1 := cs.DeriveTreeSecret(secret, "key", uint32(next), cs.AEADKeyLen())
	nonce, err2 := cs.DeriveTreeSecret(secret, "nonce", uint32(next), cs.AEADNonceLen())
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return [][]byte{secret, key, nonce}
}
