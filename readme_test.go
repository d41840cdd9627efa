package mls_test

import (
	"fmt"
	"log"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/mlscore/mlscore"
)

// chat is the Group API example of README.md ("A short tour of the API").
// TestReadmeExample keeps the two identical, so that the README's example
// compiles; ExampleClient runs it.
func chat(dir string, bobsKeyPackage []byte, send func(msgs ...[]byte), receive func() []byte) error {
	// A client: a signature key and a credential, kept with its groups in
	// a directory. The default log is forward secret.
	store, err := mls.OpenDirStorage(dir)
	if err != nil {
		return err
	}
	defer store.Close() // releases the directory's lock
	alice, err := mls.NewClient(store, []byte("alice"), nil)
	if err != nil {
		return err
	}
	defer alice.Close()

	group, err := alice.CreateGroup(nil)
	if err != nil {
		return err
	}
	out, err := group.AddMembers(bobsKeyPackage)
	if err != nil {
		return err
	}
	send(out.Commit) // to the group's members
	// Once the delivery service has accepted the commit:
	if err := group.MergePendingCommit(); err != nil {
		return err
	}
	tree, err := group.RatchetTree()
	if err != nil {
		return err
	}
	send(out.Welcome, tree) // Bob calls bob.JoinGroup(welcome, tree)

	msg, err := group.Send([]byte("hello, bob"))
	if err != nil {
		return err
	}
	send(msg)

	pm, err := group.ProcessMessage(receive())
	if err != nil {
		return err // errors.Is(err, valsem.ValSem010) and the like
	}
	switch pm.Kind {
	case mls.ApplicationMessage:
		fmt.Printf("alice reads %q\n", pm.Data)
	case mls.ProposalMessage: // stored for the next commit
	case mls.CommitMessage: // inspect pm.Commit, then
		return group.MergeStagedCommit()
	}
	return nil
}

// ExampleClient runs the README's example with a Bob who joins, reads
// Alice's message and answers.
func ExampleClient() {
	dir, err := os.MkdirTemp("", "mls-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bob, err := mls.NewClient(mls.NewMemoryStorage(), []byte("bob"), nil)
	if err != nil {
		log.Fatal(err)
	}
	kp, err := bob.KeyPackage()
	if err != nil {
		log.Fatal(err)
	}
	var bobsGroup *mls.Group
	send := func(msgs ...[]byte) {
		switch {
		case len(msgs) == 2: // the Welcome and the ratchet tree
			if bobsGroup, err = bob.JoinGroup(msgs[0], msgs[1]); err != nil {
				log.Fatal(err)
			}
		case bobsGroup != nil:
			pm, err := bobsGroup.ProcessMessage(msgs[0])
			if err != nil {
				log.Fatal(err)
			}
			fmt.Printf("bob reads %q\n", pm.Data)
		}
	}
	receive := func() []byte {
		msg, err := bobsGroup.Send([]byte("hello, alice"))
		if err != nil {
			log.Fatal(err)
		}
		return msg
	}
	if err := chat(dir, kp, send, receive); err != nil {
		log.Fatal(err)
	}
	// Output:
	// bob reads "hello, bob"
	// alice reads "hello, alice"
}

// TestReadmeExample checks that README.md shows chat's body verbatim.
func TestReadmeExample(t *testing.T) {
	src, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\nfunc chat\(.*?\n}\n`).Find(src)
	if m == nil {
		t.Fatal("no func chat in readme_test.go")
	}
	body := strings.TrimSpace(string(m))
	if !strings.Contains(string(readme), body) {
		t.Errorf("README.md does not show func chat of readme_test.go verbatim; it should contain:\n%s", body)
	}
}
