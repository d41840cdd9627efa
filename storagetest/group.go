package storagetest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	mls "github.com/mlscore/mlscore"
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
// the age bound — and the signature key a group no longer signs with
// after its member changed it (mls.LeafUpdate.NewSignatureKey). It needs
// a non-volatile backend.
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

	bg, ag := addAndJoin(t, bob, alice, kp)
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
			msg, err := ag.Send(fmt.Appendf(nil, "from alice %d/%d", epoch, i))
			must(t, err)
			pm, err := bg.ProcessMessage(msg)
			must(t, err)
			if string(pm.Data) != fmt.Sprintf("from alice %d/%d", epoch, i) {
				t.Fatalf("bob read %q", pm.Data)
			}
			msg, err = bg.Send([]byte("from bob"))
			must(t, err)
			pm, err = ag.ProcessMessage(msg)
			must(t, err)
			if string(pm.Data) != "from bob" {
				t.Fatalf("alice read %q", pm.Data)
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
func addAndJoin(t *testing.T, creator, joiner *mls.Client, kp []byte) (*mls.Group, *mls.Group) {
	t.Helper()
	cg, err := creator.CreateGroup(nil)
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
