package mls_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
)

// edKey is a deterministic Ed25519 key.
func edKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("signer test " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// p256Key is a deterministic ECDSA P-256 key.
func p256Key(t testing.TB, name string) *ecdsa.PrivateKey {
	t.Helper()
	scalar := sha256.Sum256([]byte("signer test " + name))
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// hsm stands for a hardware security module: a crypto.Signer that counts
// its uses and, for ECDSA, signs with a random nonce (Go's ECDSA draws
// its own randomness whenever the source is not nil), as HSMs do.
type hsm struct {
	key   crypto.Signer
	uses  int
	fresh bool // randomized ECDSA
}

func (h *hsm) Public() crypto.PublicKey { return h.key.Public() }

func (h *hsm) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	h.uses++
	if h.fresh {
		rand = zeros{}
	}
	return h.key.Sign(rand, digest, opts)
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) { clear(b); return len(b), nil }

// noPrivateBytes fails if any stored value holds one of the secrets, or if
// the storage holds a signature key secret at all.
func noPrivateBytes(t *testing.T, store mls.Storage, secrets ...[]byte) {
	t.Helper()
	ctx := context.Background()
	keys, err := store.Keys(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Fatal("empty storage")
	}
	for _, k := range keys {
		if bytes.HasPrefix(k, []byte{'s', '/', byte(effects.SecretSignatureKey)}) {
			t.Errorf("a signature key is stored under %x", k)
		}
		v, err := store.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(v, s) || bytes.Contains(k, s) {
				t.Errorf("the private key is stored under %x", k)
			}
		}
	}
}

// TestExternalSigner: clients whose signature keys are crypto.Signers
// (Ed25519 for suite 1, ECDSA P-256 for suite 2, deterministic and
// randomized) create groups, add and are added, commit and send; their
// storage never holds the private key; reopening needs the same signer.
func TestExternalSigner(t *testing.T) {
	for _, tc := range []struct {
		name  string
		suite suite.ID
		key   crypto.Signer
		fresh bool
		priv  [][]byte // the private key's bytes, to look for in storage
	}{
		{"ed25519", 1, edKey("alice"), false, [][]byte{edKey("alice").Seed()}},
		{"p256", 2, p256Key(t, "alice"), false, nil},
		{"p256 randomized", 2, p256Key(t, "alice"), true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ek, ok := tc.key.(*ecdsa.PrivateKey); ok {
				b, err := ek.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				tc.priv = [][]byte{b}
			}
			h := &hsm{key: tc.key, fresh: tc.fresh}
			store := mls.NewMemoryStorage()
			opts := deterministic("alice")
			opts.Suite, opts.Signer = tc.suite, h
			alice, bob, ga, gb := aliceAndBob(t, store, opts, "hsm")
			sendAndUpdate(t, ga, gb, "signed in the HSM")
			// Alice's key package, added by Bob.
			kp, err := alice.KeyPackage()
			if err != nil {
				t.Fatal(err)
			}
			gb2, err := bob.CreateGroup(&mls.GroupOptions{GroupID: []byte("bob's")})
			if err != nil {
				t.Fatal(err)
			}
			addMember(t, gb2, alice, kp)
			if h.uses == 0 {
				t.Fatal("the signer was never used")
			}
			if !bytes.Equal(alice.SignatureKey(), ga.Members()[0].SignatureKey) {
				t.Fatal("alice's leaf does not carry the signer's key")
			}
			noPrivateBytes(t, store, tc.priv...)
			alice.Close()

			// Reopening: the signer is needed, and must be the same key.
			plain := deterministic("alice")
			if _, err := mls.OpenClient(store, plain); !errors.Is(err, mls.ErrNoSigner) {
				t.Fatalf("OpenClient without the signer: %v", err)
			}
			other := deterministic("alice")
			other.Signer = edKey("mallory")
			if tc.suite == 2 {
				other.Signer = p256Key(t, "mallory")
			}
			if _, err := mls.OpenClient(store, other); !errors.Is(err, mls.ErrSignerMismatch) {
				t.Fatalf("OpenClient with another key: %v", err)
			}
			again, err := mls.OpenClient(store, opts)
			if err != nil {
				t.Fatal(err)
			}
			g, err := again.OpenGroup([]byte("hsm"))
			if err != nil {
				t.Fatal(err)
			}
			sendAndUpdate(t, g, gb, "after reopening")
		})
	}
}

// TestExternalSignerScheme: a signer of another scheme than the suite's
// is refused.
func TestExternalSignerScheme(t *testing.T) {
	opts := deterministic("alice")
	opts.Suite, opts.Signer = 2, edKey("alice")
	if _, err := mls.NewClient(mls.NewMemoryStorage(), []byte("alice"), opts); !errors.Is(err, suite.ErrBadKey) {
		t.Fatalf("Ed25519 signer for suite 2: %v", err)
	}
}

// TestExternalSignerReplay: a group's log written with an external signer
// replays. An Ed25519 signer is deterministic, so the records of the
// client's own commits and messages re-sign to the same bytes: the log
// keeps every record (KeepAllRecords), reopens, and exports to a log that
// package replay re-runs with the signer in its key store, and not
// without it. A randomized (ECDSA HSM) signer is refused for logs that
// keep records.
func TestExternalSignerReplay(t *testing.T) {
	h := &hsm{key: edKey("alice")}
	store := mls.NewMemoryStorage()
	opts := deterministic("alice")
	opts.Signer, opts.KeepRecords = h, mls.KeepAllRecords
	alice, _, ga, gb := aliceAndBob(t, store, opts, "replayed")
	for i := range 3 {
		sendAndUpdate(t, ga, gb, fmt.Sprint("message ", i))
	}
	log, err := alice.ExportLog([]byte("replayed"))
	if err != nil {
		t.Fatal(err)
	}
	auth := ga.EpochAuthenticator()
	alice.Close()

	// Reopening replays every record, the own commits re-signed.
	before := h.uses
	again, err := mls.OpenClient(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	g, err := again.OpenGroup([]byte("replayed"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g.EpochAuthenticator(), auth) || h.uses == before {
		t.Fatalf("reopened at another epoch, or without re-signing (%d uses)", h.uses-before)
	}

	// The exported log, replayed by package replay.
	cs, _ := suite.Lookup(1)
	sg, err := cs.NewExternalSigner(edKey("alice"))
	if err != nil {
		t.Fatal(err)
	}
	lg, err := replay.ReadLog(log)
	if err != nil {
		t.Fatal(err)
	}
	withSigner := func(replay.Record) transitions.Env {
		return transitions.Env{Keys: transitions.KeyStore{}.WithSigner(sg)}
	}
	res, err := replay.ReplayLog(lg, withSigner)
	if err != nil {
		t.Fatalf("replay with the signer: %v", err)
	}
	if res.Final().Epoch() != g.Epoch() {
		t.Fatalf("replayed to epoch %d, want %d", res.Final().Epoch(), g.Epoch())
	}
	if _, err := replay.ReplayLog(lg, nil); err == nil {
		t.Fatal("the log replayed without the signer")
	}

	// A deterministic ECDSA signer keeps records as well.
	ecd := deterministic("carol")
	ecd.Suite, ecd.Signer, ecd.KeepRecords = 2, p256Key(t, "carol"), 1
	if _, err := mls.NewClient(mls.NewMemoryStorage(), []byte("carol"), ecd); err != nil {
		t.Fatalf("deterministic ECDSA signer keeping records: %v", err)
	}
}

// aliceAndBob makes alice (in store, with opts) and bob (of the same
// suite), and a group gid of theirs that alice created.
func aliceAndBob(t *testing.T, store mls.Storage, opts *mls.Options, gid string) (alice, bob *mls.Client, ga, gb *mls.Group) {
	t.Helper()
	alice, err := mls.NewClient(store, []byte("alice"), opts)
	if err != nil {
		t.Fatal(err)
	}
	bobOpts := deterministic("bob")
	bobOpts.Suite = opts.Suite
	if bob, err = mls.NewClient(mls.NewMemoryStorage(), []byte("bob"), bobOpts); err != nil {
		t.Fatal(err)
	}
	if ga, err = alice.CreateGroup(&mls.GroupOptions{GroupID: []byte(gid)}); err != nil {
		t.Fatal(err)
	}
	return alice, bob, ga, addMember(t, ga, bob)
}

// sendAndUpdate has ga send text to gb, then commit an update that gb
// merges.
func sendAndUpdate(t *testing.T, ga, gb *mls.Group, text string) {
	t.Helper()
	msg, err := ga.Send([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if pm, err := gb.ProcessMessage(msg); err != nil || string(pm.Data) != text {
		t.Fatalf("reading %q: %v", text, err)
	}
	out, err := ga.SelfUpdate()
	if err != nil {
		t.Fatal(err)
	}
	if err := ga.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	processCommit(t, gb, out.Commit)
}

// addMember adds c to g with key package kp (a new one if none) and
// returns c's Group, joined from the Welcome.
func addMember(t *testing.T, g *mls.Group, c *mls.Client, kp ...[]byte) *mls.Group {
	t.Helper()
	if len(kp) == 0 {
		k, err := c.KeyPackage()
		if err != nil {
			t.Fatal(err)
		}
		kp = [][]byte{k}
	}
	out, err := g.AddMembers(kp[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := g.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	tree, err := g.RatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	j, err := c.JoinGroup(out.Welcome, tree)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// processCommit processes and merges a commit.
func processCommit(t *testing.T, g *mls.Group, commit []byte) {
	t.Helper()
	pm, err := g.ProcessMessage(commit)
	if err != nil {
		t.Fatal(err)
	}
	if pm.Kind != mls.CommitMessage {
		t.Fatalf("processed a %s, want a commit", pm.Kind)
	}
	if err := g.MergeStagedCommit(); err != nil {
		t.Fatal(err)
	}
}

// TestRandomizedSignerJournal: a randomized ECDSA signer (an HSM) with a
// log that keeps records: each record is stored with the signatures its
// event made, reopening replays the client's own commits and messages
// from them (without calling the signer for them) to the same epoch, the
// journal is erased with the records a snapshot replaces, and with the
// group.
func TestRandomizedSignerJournal(t *testing.T) {
	for _, keep := range []int{2, mls.KeepAllRecords} {
		t.Run(fmt.Sprint("keep=", keep), func(t *testing.T) {
			h := &hsm{key: p256Key(t, "alice"), fresh: true}
			store := mls.NewMemoryStorage()
			opts := deterministic("alice")
			opts.Suite, opts.Signer, opts.KeepRecords = 2, h, keep
			alice, _, ga, gb := aliceAndBob(t, store, opts, "journal")
			for i := range 4 {
				sendAndUpdate(t, ga, gb, fmt.Sprint("message ", i))
			}
			journal, err := store.Keys(context.Background(), []byte("v/"))
			if err != nil {
				t.Fatal(err)
			}
			// A send and a commit per round, each one signature (the
			// commit's leaf node is signed too); keep=2 keeps the
			// signatures of two records at most.
			if keep == 2 && (len(journal) == 0 || len(journal) > 4) {
				t.Fatalf("%d journaled signatures for 2 records", len(journal))
			}
			if keep == mls.KeepAllRecords && len(journal) < 8 {
				t.Fatalf("%d journaled signatures for 8 signing events", len(journal))
			}
			auth := ga.EpochAuthenticator()
			alice.Close()

			again, err := mls.OpenClient(store, opts)
			if err != nil {
				t.Fatal(err)
			}
			uses := h.uses
			g, err := again.OpenGroup([]byte("journal"))
			if err != nil {
				t.Fatalf("reopening: %v", err)
			}
			if h.uses != uses {
				t.Fatalf("the replay called the signer %d times", h.uses-uses)
			}
			if !bytes.Equal(g.EpochAuthenticator(), auth) {
				t.Fatal("reopened at another epoch")
			}
			sendAndUpdate(t, g, gb, "after reopening")
			noPrivateBytes(t, store, mustBytes(t, h.key.(*ecdsa.PrivateKey)))
			if err := g.Delete(); err != nil {
				t.Fatal(err)
			}
			if journal, _ = store.Keys(context.Background(), []byte("v/")); len(journal) != 0 {
				t.Fatalf("%d journaled signatures left after Delete", len(journal))
			}
		})
	}
}

func mustBytes(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	b, err := k.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
