package mls_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cloudflare/circl/sign/ed448"

	"github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/x509cred"
	"github.com/mlscore/mlscore/x509cred/x509credtest"
)

// x509World is a test PKI and a clock shared by its clients.
type x509World struct {
	t   *testing.T
	now time.Time
	pki *x509credtest.PKI
	pol transitions.Policy // the validator of the members that check
}

func newX509World(t *testing.T) *x509World {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	pki, err := x509credtest.New(t0.AddDate(-1, 0, 0), t0.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	v := &x509cred.Validator{Roots: pki.Roots(), ExtKeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	return &x509World{t: t, now: t0, pki: pki, pol: transitions.Policy{AcceptCredentialAt: v.Policy()}}
}

// leaf describes name's certificate: for name's key, valid from a day
// before now for days days, for digital signatures and client auth.
func (w *x509World) leaf(name string, days int) x509credtest.Leaf {
	return x509credtest.Leaf{Name: name, Key: x509credtest.Ed25519Key(name).Public(),
		NotBefore: w.now.AddDate(0, 0, -1), NotAfter: w.now.AddDate(0, 0, days),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
}

func (w *x509World) credential(l x509credtest.Leaf) codec.Credential {
	der, err := w.pki.Issue(l)
	if err != nil {
		w.t.Fatal(err)
	}
	return x509cred.Credential(w.pki.Chain(der)...)
}

// client makes a client whose signer is name's key and whose credential
// is l's certificate; checking gives it the world's validator.
func (w *x509World) client(name string, l x509credtest.Leaf, checking bool) *mls.Client {
	w.t.Helper()
	opts := deterministic(name)
	opts.Clock = func() time.Time { return w.now }
	opts.Signer = x509credtest.Ed25519Key(name)
	if checking {
		opts.Policy = w.pol
	}
	c, err := mls.NewClientWithCredential(mls.NewMemoryStorage(), w.credential(l), opts)
	if err != nil {
		w.t.Fatalf("%s: %v", name, err)
	}
	return c
}

func keyPackage(t *testing.T, c *mls.Client) []byte {
	t.Helper()
	kp, err := c.KeyPackage()
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// isX509 fails unless err is the policy's rejection with an
// *x509cred.Error of reason want.
func isX509(t *testing.T, what string, err, want error) {
	t.Helper()
	var xe *x509cred.Error
	var pe *transitions.PolicyError
	if !errors.Is(err, want) || !errors.As(err, &xe) || !errors.As(err, &pe) {
		t.Fatalf("%s: got %v, want a policy rejection for %v", what, err, want)
	}
}

// TestX509Credentials: members with X.509 credentials from a test PKI
// (root, intermediate, leaves) and a Validator as policy accept a valid
// leaf, by Add, Welcome and external join, and reject an expired leaf, a
// leaf without digitalSignature and a leaf whose certificate is for
// another key, each with its typed error; validity is checked at each
// event's time.
func TestX509Credentials(t *testing.T) {
	w := newX509World(t)
	alice := w.client("alice", w.leaf("alice", 365), true)
	ga, err := alice.CreateGroup(&mls.GroupOptions{GroupID: []byte("x509")})
	if err != nil {
		t.Fatal(err)
	}
	// Valid: bob, added, joins (checking alice's leaf).
	bob := w.client("bob", w.leaf("bob", 365), true)
	gb := addMember(t, ga, bob)

	// Expired.
	expired := w.leaf("eve", 0)
	expired.NotBefore, expired.NotAfter = w.now.AddDate(0, -2, 0), w.now.AddDate(0, 0, -1)
	eve := w.client("eve", expired, false)
	_, err = ga.AddMembers(keyPackage(t, eve))
	isX509(t, "expired", err, x509cred.ErrExpired)

	// Wrong key usage.
	encOnly := w.leaf("oscar", 365)
	encOnly.KeyUsage = x509.KeyUsageKeyEncipherment
	oscar := w.client("oscar", encOnly, false)
	_, err = ga.AddMembers(keyPackage(t, oscar))
	isX509(t, "wrong key usage", err, x509cred.ErrKeyUsage)

	// Key mismatch: the shell refuses to make such a client, so the key
	// package is made through the core.
	mal := w.credential(w.leaf("alice", 365)) // alice's certificate
	opts := deterministic("mallory")
	opts.Signer = x509credtest.Ed25519Key("mallory")
	if _, err := mls.NewClientWithCredential(mls.NewMemoryStorage(), mal, opts); !errors.Is(err, x509cred.ErrKeyMismatch) {
		t.Fatalf("client with another's certificate: %v", err)
	}
	_, err = ga.AddMembers(mismatchedKeyPackage(t, w, mal, x509credtest.Ed25519Key("mallory")))
	isX509(t, "key mismatch", err, x509cred.ErrKeyMismatch)
	if ga.HasPendingCommit() || len(ga.Members()) != 2 {
		t.Fatal("a rejected add left a pending commit or a member")
	}

	// Dave's certificate expires in 10 days; he is valid when added.
	dave := w.client("dave", w.leaf("dave", 10), true)
	out, err := ga.AddMembers(keyPackage(t, dave))
	if err != nil {
		t.Fatal(err)
	}
	if err := ga.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	processCommit(t, gb, out.Commit)

	// 20 days later, frank's Welcome brings a tree where dave's
	// certificate has expired: frank rejects it.
	w.now = w.now.AddDate(0, 0, 20)
	frank := w.client("frank", w.leaf("frank", 365), true)
	out, err = ga.AddMembers(keyPackage(t, frank))
	if err != nil {
		t.Fatal(err)
	}
	if err := ga.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	tree, err := ga.RatchetTree()
	if err != nil {
		t.Fatal(err)
	}
	_, err = frank.StageWelcome(out.Welcome, tree, nil)
	isX509(t, "welcome tree with an expired member", err, x509cred.ErrExpired)
	// Bob checks only the leaves a commit brings in: frank's is valid.
	processCommit(t, gb, out.Commit)

	// External joins: a valid joiner is accepted, an expired one rejected.
	gi, err := ga.GroupInfo(true)
	if err != nil {
		t.Fatal(err)
	}
	gerry := w.client("gerry", w.leaf("gerry", 365), true)
	_, _, err = gerry.JoinExternal(gi, nil)
	isX509(t, "external join by a checking member into a tree with an expired member", err, x509cred.ErrExpired)
	lapsed := w.leaf("henry", 0)
	lapsed.NotBefore, lapsed.NotAfter = w.now.AddDate(0, -1, 0), w.now.AddDate(0, 0, -1)
	henry := w.client("henry", lapsed, false)
	_, ext, err := henry.JoinExternal(gi, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ga.ProcessMessage(ext.Commit)
	isX509(t, "external commit by an expired member", err, x509cred.ErrExpired)
	ivan := w.client("ivan", w.leaf("ivan", 365), false)
	_, ext, err = ivan.JoinExternal(gi, nil)
	if err != nil {
		t.Fatal(err)
	}
	processCommit(t, ga, ext.Commit)
}

// mismatchedKeyPackage makes a key package whose leaf carries cred and is
// signed by key, through the core (the shell checks the match).
func mismatchedKeyPackage(t *testing.T, w *x509World, cred codec.Credential, key crypto.Signer) []byte {
	t.Helper()
	cs, err := suite.Lookup(1)
	if err != nil {
		t.Fatal(err)
	}
	sg, err := cs.NewExternalSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	at := uint64(w.now.Unix())
	_, effs, err := transitions.Apply(state.GroupState{}, transitions.NewKeyPackage{
		At: at, Suite: 1, SignatureKey: []byte(key.Public().(ed25519.PublicKey)), Credential: cred,
		Lifetime: codec.Lifetime{NotBefore: at - 3600, NotAfter: at + 86400},
	}, transitions.Env{Entropy: entropy.FromSeed([32]byte{1}), Keys: transitions.KeyStore{}.WithSigner(sg)})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range effs {
		if kc, ok := e.(effects.KeyPackageCreated); ok {
			return kc.KeyPackage
		}
	}
	t.Fatal("no key package")
	return nil
}

// TestX509OtherSchemes: X.509 members whose keys are ECDSA P-256 (suite
// 2) or Ed448 (suite 4, a certificate crypto/x509 cannot parse the key
// of) create a group, add and join, their certificates checked; a
// certificate of the other member's key is refused.
func TestX509OtherSchemes(t *testing.T) {
	w := newX509World(t)
	for _, tc := range []struct {
		suite suite.ID
		key   func(name string) crypto.Signer
	}{
		{2, func(name string) crypto.Signer { return p256Key(t, name) }},
		{4, func(name string) crypto.Signer {
			seed := sha256.Sum256([]byte(name))
			return ed448.NewKeyFromSeed(append(seed[:], seed[:25]...))
		}},
	} {
		t.Run(fmt.Sprint("suite=", tc.suite), func(t *testing.T) {
			issue := func(name string, key crypto.Signer) codec.Credential {
				l := w.leaf(name, 365)
				var der []byte
				var err error
				if pub, ok := key.Public().(ed448.PublicKey); ok {
					der, err = w.pki.IssueEd448(l, pub)
				} else {
					l.Key = key.Public()
					der, err = w.pki.Issue(l)
				}
				if err != nil {
					t.Fatal(err)
				}
				return x509cred.Credential(w.pki.Chain(der)...)
			}
			client := func(name string) (*mls.Client, error) {
				opts := deterministic(name)
				opts.Suite, opts.Signer, opts.Policy = tc.suite, tc.key(name), w.pol
				opts.Clock = func() time.Time { return w.now }
				return mls.NewClientWithCredential(mls.NewMemoryStorage(), issue(name, tc.key(name)), opts)
			}
			alice, err := client("alice")
			if err != nil {
				t.Fatal(err)
			}
			bob, err := client("bob")
			if err != nil {
				t.Fatal(err)
			}
			ga, err := alice.CreateGroup(nil)
			if err != nil {
				t.Fatal(err)
			}
			gb := addMember(t, ga, bob)
			sendAndUpdate(t, gb, ga, "signed with "+fmt.Sprint(tc.suite))
			opts := deterministic("mallory")
			opts.Suite, opts.Signer = tc.suite, tc.key("mallory")
			if _, err := mls.NewClientWithCredential(mls.NewMemoryStorage(), issue("alice", tc.key("alice")), opts); !errors.Is(err, x509cred.ErrKeyMismatch) {
				t.Fatalf("mallory with alice's certificate: %v", err)
			}
		})
	}
}

// TestX509Rotation: a member rotates its certificate and its key, both
// held by the application (LeafUpdate with Credential and Signer): the
// others validate the new certificate (Entering lists it) and then accept
// messages signed with the new key; a certificate for another key is
// rejected; after a restart the client needs the new key in
// Options.Signers; neither key is ever stored.
func TestX509Rotation(t *testing.T) {
	w := newX509World(t)
	store := mls.NewMemoryStorage()
	opts := deterministic("alice")
	opts.Clock = func() time.Time { return w.now }
	opts.Signer, opts.Policy = x509credtest.Ed25519Key("alice"), w.pol
	alice, err := mls.NewClientWithCredential(store, w.credential(w.leaf("alice", 30)), opts)
	if err != nil {
		t.Fatal(err)
	}
	ga, err := alice.CreateGroup(&mls.GroupOptions{GroupID: []byte("rotation")})
	if err != nil {
		t.Fatal(err)
	}
	bob := w.client("bob", w.leaf("bob", 365), true)
	gb := addMember(t, ga, bob)

	// A certificate for another key than the new signer's.
	w.now = w.now.AddDate(0, 0, 20)
	newKey := x509credtest.Ed25519Key("alice 2")
	wrong := w.credential(w.leaf("alice", 365)) // for the old key
	out, err := ga.SelfUpdateWith(mls.LeafUpdate{Credential: &wrong, Signer: newKey})
	if err == nil {
		_, err = gb.ProcessMessage(out.Commit)
	}
	isX509(t, "rotation with a certificate for the old key", err, x509cred.ErrKeyMismatch)
	if ga.HasPendingCommit() {
		if err := ga.ClearPendingCommit(); err != nil {
			t.Fatal(err)
		}
	}

	l := w.leaf("alice 2", 365)
	l.Name = "alice"
	cred := w.credential(l)
	if _, err := ga.SelfUpdateWith(mls.LeafUpdate{Credential: &cred, Signer: newKey, NewSignatureKey: true}); !errors.Is(err, mls.ErrLeafUpdateKeys) {
		t.Fatalf("Signer with NewSignatureKey: %v", err)
	}
	out, err = ga.SelfUpdateWith(mls.LeafUpdate{Credential: &cred, Signer: newKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := ga.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	pm, err := gb.ProcessMessage(out.Commit)
	if err != nil {
		t.Fatal(err)
	}
	newPub := []byte(newKey.Public().(ed25519.PublicKey))
	if len(pm.Commit.Entering) != 1 || pm.Commit.Entering[0].Index != 0 || !bytes.Equal(pm.Commit.Entering[0].SignatureKey, newPub) {
		t.Fatalf("entering %+v, want alice's new leaf", pm.Commit.Entering)
	}
	if err := gb.MergeStagedCommit(); err != nil {
		t.Fatal(err)
	}
	sendAndUpdate(t, ga, gb, "signed with the new key")
	if !bytes.Equal(gb.Members()[0].SignatureKey, newPub) {
		t.Fatal("alice's leaf does not carry the new key")
	}
	noPrivateBytes(t, store, x509credtest.Ed25519Key("alice").Seed(), newKey.Seed())
	alice.Close()

	// After a restart, without the new key the group cannot sign; with
	// it in Options.Signers it can.
	again, err := mls.OpenClient(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	g, err := again.OpenGroup([]byte("rotation"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Send([]byte("no key")); !errors.Is(err, transitions.ErrMissingKey) {
		t.Fatalf("sending without the new key: %v", err)
	}
	again.Close()
	opts.Signers = []crypto.Signer{newKey}
	if again, err = mls.OpenClient(store, opts); err != nil {
		t.Fatal(err)
	}
	if g, err = again.OpenGroup([]byte("rotation")); err != nil {
		t.Fatal(err)
	}
	sendAndUpdate(t, g, gb, "after the restart")
}
