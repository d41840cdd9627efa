package mls_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/x509cred"
	"github.com/mlscore/mlscore/x509cred/x509credtest"
)

// Members with X.509 credentials: each client signs with the key its
// certificate is for, held as a crypto.Signer (here a software Ed25519
// key; an HSM's signer works the same), and validates the others'
// certificate chains against the organisation's root at each event's
// time.
func ExampleNewClientWithCredential() {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	pki, err := x509credtest.New(now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0)) // a root and an intermediate CA
	if err != nil {
		log.Fatal(err)
	}
	validator := &x509cred.Validator{Roots: pki.Roots()}
	client := func(name string, notAfter time.Time) *mls.Client {
		key := x509credtest.Ed25519Key(name)
		cert, err := pki.Issue(x509credtest.Leaf{Name: name, Key: key.Public(), NotBefore: now.AddDate(0, -1, 0), NotAfter: notAfter,
			KeyUsage: x509.KeyUsageDigitalSignature})
		if err != nil {
			log.Fatal(err)
		}
		opts := deterministic(name)
		opts.Signer = key // never stored: the Storage keeps its public key only
		opts.Policy = transitions.Policy{AcceptCredentialAt: validator.Policy()}
		c, err := mls.NewClientWithCredential(mls.NewMemoryStorage(), x509cred.Credential(pki.Chain(cert)...), opts)
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	alice, bob := client("alice", now.AddDate(0, 6, 0)), client("bob", now.AddDate(0, 6, 0))
	carol := client("carol", now.AddDate(0, 0, -1)) // expired yesterday

	group, err := alice.CreateGroup(&mls.GroupOptions{GroupID: []byte("x509")})
	if err != nil {
		log.Fatal(err)
	}
	kp, err := bob.KeyPackage()
	if err != nil {
		log.Fatal(err)
	}
	if _, err := group.AddMembers(kp); err != nil {
		log.Fatal(err)
	}
	fmt.Println("bob's certificate accepted")
	if err := group.MergePendingCommit(); err != nil {
		log.Fatal(err)
	}

	// Carol's own policy stops her from publishing a key package with an
	// expired certificate; the error says why.
	_, err = carol.KeyPackage()
	fmt.Println("carol expired:", errors.Is(err, x509cred.ErrExpired))
	var xe *x509cred.Error
	if errors.As(err, &xe) {
		fmt.Println("certificate at fault:", xe.Cert)
	}
	// Output:
	// bob's certificate accepted
	// carol expired: true
	// certificate at fault: 0
}

// Validation that needs the outside world — a directory lookup, a
// revocation check — cannot be a Policy function, which must be pure
// (logs replay under it). The two-step APIs give the application the new
// credentials first: StagedCommit.Entering after ProcessMessage (then
// MergeStagedCommit or DiscardStagedCommit), StagedWelcome.Members before
// Accept or Reject.
func Example_credentialLookup() {
	revoked := map[string]bool{"mallory": true} // stands for a directory service
	lookup := func(ms []mls.Member) error {
		for _, m := range ms {
			if revoked[string(m.Identity)] {
				return fmt.Errorf("%s is revoked", m.Identity)
			}
		}
		return nil
	}
	newClient := func(name string) *mls.Client {
		c, err := mls.NewClient(mls.NewMemoryStorage(), []byte(name), deterministic(name))
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	alice, bob, mallory := newClient("alice"), newClient("bob"), newClient("mallory")

	// Bob checks the group's members before accepting the Welcome.
	group, err := alice.CreateGroup(&mls.GroupOptions{GroupID: []byte("lookup")})
	if err != nil {
		log.Fatal(err)
	}
	kp, _ := bob.KeyPackage()
	out, err := group.AddMembers(kp)
	if err != nil {
		log.Fatal(err)
	}
	if err := group.MergePendingCommit(); err != nil {
		log.Fatal(err)
	}
	tree, _ := group.RatchetTree()
	staged, err := bob.StageWelcome(out.Welcome, tree, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := lookup(staged.Members()); err != nil {
		log.Fatal(staged.Reject())
	}
	bobsGroup, err := staged.Accept()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("bob joined, members checked")

	// Alice adds mallory; bob looks the new member up and refuses the
	// commit: his group stays in its epoch.
	kp, _ = mallory.KeyPackage()
	out, err = group.AddMembers(kp)
	if err != nil {
		log.Fatal(err)
	}
	pm, err := bobsGroup.ProcessMessage(out.Commit)
	if err != nil {
		log.Fatal(err)
	}
	if err := lookup(pm.Commit.Entering); err != nil {
		fmt.Println("bob discards the commit:", err)
		if err := bobsGroup.DiscardStagedCommit(); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("bob's epoch:", bobsGroup.Epoch())
	// Output:
	// bob joined, members checked
	// bob discards the commit: mallory is revoked
	// bob's epoch: 1
}

// keystore stands for a hardware security module or the operating
// system's keystore: it signs, and never hands out its key.
type keystore struct {
	key   ed25519.PrivateKey
	signs int
}

func (k *keystore) Public() crypto.PublicKey { return k.key.Public() }

func (k *keystore) Sign(rand io.Reader, message []byte, opts crypto.SignerOpts) ([]byte, error) {
	k.signs++
	return k.key.Sign(rand, message, opts)
}

// A client whose signature key stays in a keystore: mlscore stores its
// public key only, calls the crypto.Signer for every signature, and needs
// it again to reopen the client.
func ExampleOptions_signer() {
	seed := sha256.Sum256([]byte("alice's keystore"))
	ks := &keystore{key: ed25519.NewKeyFromSeed(seed[:])}
	store := mls.NewMemoryStorage()
	opts := deterministic("alice")
	opts.Signer = ks
	alice, err := mls.NewClient(store, []byte("alice"), opts)
	if err != nil {
		log.Fatal(err)
	}
	group, err := alice.CreateGroup(&mls.GroupOptions{GroupID: []byte("keystore")})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := group.Send([]byte("hello")); err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed by the keystore:", ks.signs > 0)
	fmt.Println("leaf key is the keystore's:", bytes.Equal(group.Members()[0].SignatureKey, ks.key.Public().(ed25519.PublicKey)))
	alice.Close()

	_, err = mls.OpenClient(store, deterministic("alice"))
	fmt.Println("reopened without it:", errors.Is(err, mls.ErrNoSigner))
	if alice, err = mls.OpenClient(store, opts); err != nil {
		log.Fatal(err)
	}
	group, err = alice.OpenGroup([]byte("keystore"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("reopened with it, epoch", group.Epoch())
	// Output:
	// signed by the keystore: true
	// leaf key is the keystore's: true
	// reopened without it: true
	// reopened with it, epoch 0
}
