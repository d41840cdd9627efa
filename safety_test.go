package mls

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/valsem"
)

// pair is alice's group with bob joined.
func pair(t *testing.T) (alice, bob *party) {
	alice, bob = newParty(t, backends[0], "alice"), newParty(t, backends[0], "bob")
	alice.g = must[*Group](t)(alice.c.CreateGroup(nil))
	out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
	check(t, alice.g.MergePendingCommit())
	bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))
	return alice, bob
}

// TestShellErrors checks that every error of the shell's safety rules, and
// the core errors it passes through, match with errors.Is or errors.As, and
// that a refused operation changes nothing.
func TestShellErrors(t *testing.T) {
	tests := []struct {
		name   string
		run    func(t *testing.T, alice, bob *party) error
		target error
	}{
		{"own application message echoed", func(t *testing.T, a, b *party) error {
			msg := must[[]byte](t)(a.g.Send([]byte("hi")))
			_, err := a.g.ProcessMessage(msg)
			return err
		}, ErrOwnMessage},
		{"own proposal echoed", func(t *testing.T, a, b *party) error {
			msg, _, err := a.g.ProposeSelfUpdate()
			check(t, err)
			_, err = a.g.ProcessMessage(msg)
			return err
		}, ErrOwnMessage},
		{"own commit echoed", func(t *testing.T, a, b *party) error {
			out := must[Outgoing](t)(a.g.SelfUpdate())
			_, err := a.g.ProcessMessage(out.Commit)
			return err
		}, ErrOwnMessage},
		{"AddMembers without members", func(t *testing.T, a, b *party) error {
			_, err := a.g.AddMembers()
			return err
		}, ErrNothingToCommit},
		{"RemoveMembers without members", func(t *testing.T, a, b *party) error {
			_, err := a.g.RemoveMembers()
			return err
		}, ErrNothingToCommit},
		{"send while the own commit is pending", func(t *testing.T, a, b *party) error {
			must[Outgoing](t)(a.g.SelfUpdate())
			_, err := a.g.Send([]byte("x"))
			return err
		}, ErrCommitPending},
		{"propose while the own commit is pending", func(t *testing.T, a, b *party) error {
			must[Outgoing](t)(a.g.SelfUpdate())
			_, _, err := a.g.ProposeSelfUpdate()
			return err
		}, ErrCommitPending},
		{"leave while the own commit is pending", func(t *testing.T, a, b *party) error {
			must[Outgoing](t)(a.g.SelfUpdate())
			_, err := a.g.Leave()
			return err
		}, ErrCommitPending},
		{"commit while the own commit is pending", func(t *testing.T, a, b *party) error {
			must[Outgoing](t)(a.g.SelfUpdate())
			_, err := a.g.CommitPendingProposals()
			return err
		}, ErrCommitPending},
		{"not a key package", func(t *testing.T, a, b *party) error {
			_, err := a.g.AddMembers([]byte{0, 1})
			return err
		}, ErrNotKeyPackage},
		{"tampered message", func(t *testing.T, a, b *party) error {
			msg := must[[]byte](t)(a.g.Send([]byte("hi")))
			msg[len(msg)-1] ^= 1
			_, err := b.g.ProcessMessage(msg)
			return err
		}, valsem.ValSem006},
		{"message of an epoch too old", func(t *testing.T, a, b *party) error {
			msg := must[[]byte](t)(a.g.Send([]byte("old")))
			for range 2 { // the default keeps one past epoch
				out := must[Outgoing](t)(a.g.SelfUpdate())
				check(t, a.g.MergePendingCommit())
				must[*ProcessedMessage](t)(b.g.ProcessMessage(out.Commit))
				check(t, b.g.MergeStagedCommit())
			}
			_, err := b.g.ProcessMessage(msg)
			if err != nil && !strings.Contains(err.Error(), "MaxPastEpochs") {
				t.Errorf("ValSem003 does not name the setting: %v", err)
			}
			return err
		}, valsem.ValSem003},
		{"message of an epoch that ended too long ago", func(t *testing.T, a, b *party) error {
			msg := must[[]byte](t)(a.g.Send([]byte("old")))
			out := must[Outgoing](t)(a.g.SelfUpdate())
			check(t, a.g.MergePendingCommit())
			must[*ProcessedMessage](t)(b.g.ProcessMessage(out.Commit))
			check(t, b.g.MergeStagedCommit())
			b.c.opts.Clock = func() time.Time { return testTime.Add(DefaultPastEpochAge + time.Second) }
			_, err := b.g.ProcessMessage(msg)
			if err != nil && !strings.Contains(err.Error(), "MaxPastEpochAge") {
				t.Errorf("ValSem003 does not name the setting: %v", err)
			}
			return err
		}, valsem.ValSem003},
		{"key package with a negative lifetime", func(t *testing.T, a, b *party) error {
			_, err := a.c.KeyPackageWith(&KeyPackageOptions{Lifetime: -time.Second})
			return err
		}, ErrInvalidArgument},
		{"export of a negative length", func(t *testing.T, a, b *party) error {
			_, err := a.g.Export("x", nil, -1)
			return err
		}, ErrInvalidArgument},
		{"client with KeepRecords below KeepAllRecords", func(t *testing.T, a, b *party) error {
			_, err := NewClient(NewMemoryStorage(), []byte("x"), &Options{KeepRecords: KeepAllRecords - 1})
			return err
		}, ErrInvalidArgument},
		{"key package whose leaf extension is not in its capabilities", func(t *testing.T, a, b *party) error {
			_, err := a.c.KeyPackageWith(&KeyPackageOptions{LeafExtensions: codec.Extensions{{ExtensionType: 0xff03}}})
			return err
		}, transitions.ErrInvalidLeafNode},
		{"own leaf update with an extension not in the capabilities", func(t *testing.T, a, b *party) error {
			_, err := a.g.SelfUpdateWith(LeafUpdate{Extensions: codec.Extensions{{ExtensionType: 0xff03}}})
			return err
		}, transitions.ErrInvalidLeafNode},
		{"own leaf update while the own commit is pending", func(t *testing.T, a, b *party) error {
			must[Outgoing](t)(a.g.SelfUpdate())
			_, err := a.g.SelfUpdateWith(LeafUpdate{NewSignatureKey: true})
			return err
		}, ErrCommitPending},
		{"closed client", func(t *testing.T, a, b *party) error {
			check(t, a.c.Close())
			_, err := a.c.KeyPackage()
			return err
		}, ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alice, bob := pair(t)
			before := alice.g.State().Digest()
			err := tt.run(t, alice, bob)
			if !errors.Is(err, tt.target) {
				t.Fatalf("err %v, want errors.Is %v", err, tt.target)
			}
			if !strings.HasPrefix(err.Error(), "mls: ") {
				t.Errorf("error %q lacks the mls: prefix", err)
			}
			if errors.Is(tt.target, ErrNothingToCommit) && alice.g.State().Digest() != before {
				t.Error("a refused operation changed the group")
			}
		})
	}
	// errors.As reaches the core's typed errors through the shell.
	alice, bob := pair(t)
	msg := must[[]byte](t)(alice.g.Send([]byte("hi")))
	msg[len(msg)-1] ^= 1
	_, err := bob.g.ProcessMessage(msg)
	var ve *valsem.Error
	if !errors.As(err, &ve) || ve.Code != valsem.ValSem006 {
		t.Fatalf("errors.As(%v, *valsem.Error) failed", err)
	}
	// An own message still matches the error earlier versions returned.
	own := must[[]byte](t)(alice.g.Send([]byte("again")))
	if _, err := alice.g.ProcessMessage(own); !errors.Is(err, transitions.ErrWrongState) {
		t.Fatalf("own message: %v does not match transitions.ErrWrongState", err)
	}
}

// TestLateMessageAfterCommit: with one past epoch kept, a message sent
// just before a commit is still decrypted after the receiver merged the
// commit.
func TestLateMessageAfterCommit(t *testing.T) {
	cfg := state.DefaultConfig()
	cfg.MaxPastEpochs = 1
	alice, bob := newParty(t, backends[0], "alice"), newParty(t, backends[0], "bob")
	alice.g = must[*Group](t)(alice.c.CreateGroup(&GroupOptions{Config: &cfg}))
	out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
	check(t, alice.g.MergePendingCommit())
	sw := must[*StagedWelcome](t)(bob.c.StageWelcome(out.Welcome, must[[]byte](t)(alice.g.RatchetTree()), &cfg))
	bob.g = must[*Group](t)(sw.Accept())
	late := must[[]byte](t)(bob.g.Send([]byte("sent before the commit")))
	out = must[Outgoing](t)(alice.g.SelfUpdate())
	check(t, alice.g.MergePendingCommit())
	must[*ProcessedMessage](t)(bob.g.ProcessMessage(out.Commit))
	check(t, bob.g.MergeStagedCommit())
	pm, err := alice.g.ProcessMessage(late)
	if err != nil || string(pm.Data) != "sent before the commit" {
		t.Fatalf("late message: %+v, %v", pm, err)
	}
}
