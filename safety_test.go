package mls

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
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
		{"own external join commit echoed while pending", func(t *testing.T, a, b *party) error {
			c := newParty(t, backends[0], "carol")
			g, out, err := c.c.JoinExternal(must[[]byte](t)(a.g.GroupInfo(true)), nil)
			check(t, err)
			_, err = g.ProcessMessage(out.Commit)
			if !g.HasPendingCommit() {
				t.Error("the echo resolved the pending join")
			}
			return err
		}, ErrOwnMessage},
		{"own external join commit echoed after the group was reopened", func(t *testing.T, a, b *party) error {
			// The reopened Group remembers no message it sent: the
			// commit is told by the leaf the staged join holds.
			c := newParty(t, backends[0], "carol")
			g, out, err := c.c.JoinExternal(must[[]byte](t)(a.g.GroupInfo(true)), nil)
			check(t, err)
			check(t, c.c.Close())
			c.c = must[*Client](t)(OpenClient(c.store, testOptions("carol")))
			g = must[*Group](t)(c.c.OpenGroup(g.ID()))
			_, err = g.ProcessMessage(out.Commit)
			return err
		}, ErrOwnMessage},
		{"own Resync commit echoed while pending", func(t *testing.T, a, b *party) error {
			out := must[Outgoing](t)(a.g.Resync(must[[]byte](t)(b.g.GroupInfo(true)), nil))
			_, err := a.g.ProcessMessage(out.Commit)
			return err
		}, ErrOwnMessage},
		{"own commit echoed after MergePendingCommit", func(t *testing.T, a, b *party) error {
			out := must[Outgoing](t)(a.g.SelfUpdate())
			check(t, a.g.MergePendingCommit())
			_, err := a.g.ProcessMessage(out.Commit)
			return err
		}, ErrOwnMessage},
		{"own proposal echoed after another commit moved the group on", func(t *testing.T, a, b *party) error {
			msg, _, err := a.g.ProposeSelfUpdate()
			check(t, err)
			must[*ProcessedMessage](t)(b.g.ProcessMessage(msg))
			out := must[Outgoing](t)(b.g.CommitPendingProposals())
			check(t, b.g.MergePendingCommit())
			must[*ProcessedMessage](t)(a.g.ProcessMessage(out.Commit))
			check(t, a.g.MergeStagedCommit())
			_, err = a.g.ProcessMessage(msg)
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
		{"client with a configuration over its limits", func(t *testing.T, a, b *party) error {
			cfg := state.DefaultConfig()
			cfg.MaxPastEpochs = state.MaxPastEpochsLimit + 1
			o := testOptions("x")
			o.Config = &cfg
			_, err := NewClient(NewMemoryStorage(), []byte("x"), o)
			if !errors.Is(err, state.ErrInvalidConfig) {
				t.Errorf("%v does not match state.ErrInvalidConfig", err)
			}
			return err
		}, ErrInvalidArgument},
		{"group with a configuration over its limits", func(t *testing.T, a, b *party) error {
			cfg := state.DefaultConfig()
			cfg.PaddingSize = state.MaxPaddingSize + 1
			_, err := a.c.CreateGroup(&GroupOptions{Config: &cfg})
			if !errors.Is(err, state.ErrInvalidConfig) {
				t.Errorf("%v does not match state.ErrInvalidConfig", err)
			}
			return err
		}, ErrInvalidArgument},
		{"group with too many resumption PSKs", func(t *testing.T, a, b *party) error {
			cfg := state.DefaultConfig()
			cfg.ResumptionPSKs = state.MaxResumptionPSKsLimit + 1
			_, err := a.c.CreateGroup(&GroupOptions{Config: &cfg})
			if !errors.Is(err, valsem.ValSem400) {
				t.Errorf("%v does not match valsem.ValSem400", err)
			}
			return err
		}, ErrInvalidArgument},
		{"external join with a configuration over its limits", func(t *testing.T, a, b *party) error {
			cfg := state.DefaultConfig()
			cfg.MaxPastEpochs = state.MaxPastEpochsLimit + 1
			_, _, err := newParty(t, backends[0], "carol").c.JoinExternal(must[[]byte](t)(a.g.GroupInfo(true)), &ExternalJoinOptions{Config: &cfg})
			return err
		}, ErrInvalidArgument},
		{"welcome staged with a configuration over its limits", func(t *testing.T, a, b *party) error {
			cfg := state.DefaultConfig()
			cfg.WireFormat.Incoming = 7
			_, err := b.c.StageWelcome([]byte{0}, nil, &cfg)
			return err
		}, ErrInvalidArgument},
		{"group id over the stored maximum", func(t *testing.T, a, b *party) error {
			_, err := a.c.CreateGroup(&GroupOptions{GroupID: make([]byte, maxGroupID+1)})
			return err
		}, ErrInvalidArgument},
		{"branch id over the stored maximum", func(t *testing.T, a, b *party) error {
			_, _, err := a.g.Branch(&BranchOptions{GroupID: make([]byte, maxGroupID+1)}, must[[]byte](t)(b.c.KeyPackage()))
			return err
		}, ErrInvalidArgument},
		{"reinit to a group id over the stored maximum", func(t *testing.T, a, b *party) error {
			_, err := a.g.ReInit(&ReInitOptions{GroupID: make([]byte, maxGroupID+1)})
			if a.g.HasPendingCommit() {
				t.Error("the refused ReInit is pending")
			}
			return err
		}, ErrInvalidArgument},
		{"reinit proposal of a group id over the stored maximum", func(t *testing.T, a, b *party) error {
			_, _, err := a.g.ProposeReInit(&ReInitOptions{GroupID: make([]byte, maxGroupID+1)})
			if len(a.g.PendingProposals()) != 0 {
				t.Error("the refused ReInit proposal is stored")
			}
			return err
		}, ErrInvalidArgument},
		{"joined group id over the stored maximum", func(t *testing.T, a, b *party) error {
			// White-box: every join (JoinGroup, JoinExternal, JoinResumed,
			// Reinitialize) stores its group with newGroupLog; the id is
			// another member's choice.
			_, _, err := newGroupLog(&Batch{}, a.store, make([]byte, maxGroupID+1), "", 0, a.g.State())
			return err
		}, ErrInvalidArgument},
		{"storage key outside the limits", func(t *testing.T, a, b *party) error {
			var batch Batch
			batch.Put(nil, []byte("v"))
			if err := CheckKey(make([]byte, MaxKeyLen+1)); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("CheckKey: %v does not match ErrInvalidArgument", err)
			}
			return a.store.Commit(context.Background(), &batch)
		}, ErrInvalidArgument},
		{"storage value outside the limits", func(t *testing.T, a, b *party) error {
			// Batch.Check checks each value's length with checkValueLen;
			// a value of 1 GiB is not allocated for the test.
			if err := checkValueLen(MaxValueLen); err != nil {
				t.Errorf("a value of MaxValueLen bytes refused: %v", err)
			}
			return checkValueLen(MaxValueLen + 1)
		}, ErrInvalidArgument},
		{"DirStorage batch over its operation limit", func(t *testing.T, a, b *party) error {
			d := must[*DirStorage](t)(OpenDirStorage(t.TempDir()))
			defer d.Close()
			batch := Batch{ops: make([]BatchOp, dirMaxOps+1)}
			for i := range batch.ops {
				batch.ops[i] = BatchOp{Key: []byte("k"), Delete: true}
			}
			return d.Commit(context.Background(), &batch)
		}, ErrInvalidArgument},
		{"DirStorage of the previous layout", func(t *testing.T, a, b *party) error {
			dir := t.TempDir()
			check(t, os.Mkdir(filepath.Join(dir, "secrets"), 0o700))
			_, err := OpenDirStorage(dir)
			return err
		}, ErrDamaged},
		{"SealedStorage's reserved key", func(t *testing.T, a, b *party) error {
			s := must[*SealedStorage](t)(OpenSealedStorage(context.Background(), NewMemoryStorage(), testAEAD(t, 1)))
			var batch Batch
			batch.Put(sealCheckKey, []byte("v"))
			return s.Commit(context.Background(), &batch)
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
		{"NewClient on a storage holding a client", func(t *testing.T, a, b *party) error {
			_, err := NewClient(a.store, []byte("again"), testOptions("again"))
			return err
		}, ErrClientExists},
		{"OpenClient on an empty storage", func(t *testing.T, a, b *party) error {
			_, err := OpenClient(NewMemoryStorage(), nil)
			return err
		}, ErrNoClient},
		{"create a group whose id is open", func(t *testing.T, a, b *party) error {
			_, err := a.c.CreateGroup(&GroupOptions{GroupID: a.g.ID()})
			return err
		}, ErrGroupOpen},
		{"create a group whose id is stored", func(t *testing.T, a, b *party) error {
			check(t, a.g.Close())
			_, err := a.c.CreateGroup(&GroupOptions{GroupID: a.g.ID()})
			return err
		}, ErrGroupExists},
		{"a staged welcome accepted twice", func(t *testing.T, a, b *party) error {
			c := newParty(t, backends[0], "carol")
			out := must[Outgoing](t)(a.g.AddMembers(must[[]byte](t)(c.c.KeyPackage())))
			check(t, a.g.MergePendingCommit())
			sw := must[*StagedWelcome](t)(c.c.StageWelcome(out.Welcome, must[[]byte](t)(a.g.RatchetTree()), nil))
			must[*Group](t)(sw.Accept())
			_, err := sw.Accept()
			return err
		}, ErrJoinDone},
		{"external proposal by a sender the group does not list", func(t *testing.T, a, b *party) error {
			_, err := b.c.ProposeExternalRemove(must[[]byte](t)(a.g.GroupInfo(false)), 0)
			return err
		}, ErrNotExternalSender},
		{"join proposal from bytes that are not a GroupInfo", func(t *testing.T, a, b *party) error {
			_, err := b.c.ProposeJoin([]byte{1, 2, 3})
			return err
		}, ErrNotGroupInfo},
		{"join proposal by a client of another suite", func(t *testing.T, a, b *party) error {
			o := testOptions("p256")
			o.Suite = suite.P256AES128GCMSHA256P256
			c := must[*Client](t)(NewClient(NewMemoryStorage(), []byte("p256"), o))
			_, err := c.ProposeJoin(must[[]byte](t)(a.g.GroupInfo(false)))
			return err
		}, ErrSuiteMismatch},
		{"public group given a PrivateMessage", func(t *testing.T, a, b *party) error {
			pg := must[*PublicGroup](t)(NewPublicGroup(must[[]byte](t)(a.g.GroupInfo(true)), nil, &PublicGroupOptions{Clock: a.c.opts.Clock}))
			_, err := pg.ProcessMessage(must[[]byte](t)(a.g.Send([]byte("secret"))))
			return err
		}, ErrNeedsSecrets},
		{"Reinitialize without a reinit", func(t *testing.T, a, b *party) error {
			_, _, err := a.g.Reinitialize(nil)
			return err
		}, ErrNoReInit},
		{"Branch from a state without a resumption secret", func(t *testing.T, a, b *party) error {
			// White-box: every Group the API hands out holds a group's
			// state (a removed member keeps its last epoch's), so the zero
			// state stands in for a state without the secret.
			b.g.st = state.GroupState{}
			_, _, err := b.g.Branch(nil, must[[]byte](t)(a.c.KeyPackage()))
			return err
		}, ErrNoResumption},
		{"SealedStorage opened with another key", func(t *testing.T, a, b *party) error {
			inner := NewMemoryStorage()
			must[*SealedStorage](t)(OpenSealedStorage(context.Background(), inner, testAEAD(t, 1)))
			_, err := OpenSealedStorage(context.Background(), inner, testAEAD(t, 2))
			return err
		}, ErrWrongKey},
		{"reopen an application-signer client without its signer", func(t *testing.T, a, b *party) error {
			st := signerClient(t)
			_, err := OpenClient(st, testOptions("signer"))
			return err
		}, ErrNoSigner},
		{"reopen an application-signer client with another signer", func(t *testing.T, a, b *party) error {
			st := signerClient(t)
			o := testOptions("signer")
			o.Signer = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
			_, err := OpenClient(st, o)
			return err
		}, ErrSignerMismatch},
		{"LeafUpdate with both Signer and NewSignatureKey", func(t *testing.T, a, b *party) error {
			k := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
			_, err := a.g.SelfUpdateWith(LeafUpdate{Signer: k, NewSignatureKey: true})
			return err
		}, ErrLeafUpdateKeys},
		{"OpenGroup of a group the storage does not hold", func(t *testing.T, a, b *party) error {
			_, err := a.c.OpenGroup([]byte("no such group"))
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%v does not match fs.ErrNotExist", err)
			}
			return err
		}, ErrNotFound},
		{"OpenClient of a damaged identity", func(t *testing.T, a, b *party) error {
			check(t, a.c.Close())
			var batch Batch
			batch.Put(secretKey(effects.SecretRef{Kind: secretIdentity, ID: identityID}), []byte{1})
			check(t, a.store.Commit(context.Background(), &batch))
			_, err := OpenClient(a.store, testOptions("alice"))
			return err
		}, ErrDamaged},
		{"a directory opened twice", func(t *testing.T, a, b *party) error {
			dir := t.TempDir()
			d := must[*DirStorage](t)(OpenDirStorage(dir))
			defer d.Close()
			_, err := OpenDirStorage(dir)
			return err
		}, ErrLocked},
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
			if tt.target == ErrOwnMessage && (errors.Is(err, valsem.ValSem006) || strings.Contains(err.Error(), "ValSem") || strings.Contains(err.Error(), "event")) {
				t.Errorf("an own message is reported as a replay or with a core event: %v", err)
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
	// errors.As reaches a *SecretError through Client.Damaged: a stored key
	// package secret that does not parse is left out, the client opens.
	check(t, alice.c.Close())
	var batch Batch
	batch.Put(secretKey(effects.SecretRef{Kind: effects.SecretInitKey, ID: []byte("ref")}), []byte{0, 0, 0, 9})
	check(t, alice.store.Commit(context.Background(), &batch))
	reopened := must[*Client](t)(OpenClient(alice.store, testOptions("alice")))
	var se *SecretError
	if d := reopened.Damaged(); len(d) != 1 || !errors.As(d[0], &se) || se.Ref.Kind != effects.SecretInitKey || !errors.Is(d[0], ErrDamaged) {
		t.Fatalf("Damaged() = %v, want one *SecretError of an init key wrapping ErrDamaged", d)
	}
	alice, _ = pair(t)
	// An own message still matches the error earlier versions returned.
	own := must[[]byte](t)(alice.g.Send([]byte("again")))
	if _, err := alice.g.ProcessMessage(own); !errors.Is(err, transitions.ErrWrongState) {
		t.Fatalf("own message: %v does not match transitions.ErrWrongState", err)
	}
}

// TestOwnEchoBounded: a Group remembers its last maxSentHashes handshake
// messages, not more; an application message is not remembered (the core
// tells its echo by the sender), and neither is another member's message.
func TestOwnEchoBounded(t *testing.T) {
	alice, bob := pair(t)
	first, _, err := alice.g.ProposeSelfUpdate()
	check(t, err)
	if !alice.g.sent.has(first) {
		t.Fatal("a sent proposal is not remembered")
	}
	{
		other := append([]byte(nil), first...)
		other[len(other)-1] ^= 1
		if alice.g.sent.has(other) {
			t.Fatal("a message of the same length as a sent one is taken for it")
		}
	}
	for range maxSentHashes - 1 {
		_, _, err := alice.g.ProposeSelfUpdate()
		check(t, err)
	}
	if !alice.g.sent.has(first) {
		t.Fatalf("the first of %d proposals is forgotten", maxSentHashes)
	}
	_, _, err = alice.g.ProposeSelfUpdate()
	check(t, err)
	if alice.g.sent.has(first) {
		t.Fatalf("the first of %d proposals is remembered", maxSentHashes+1)
	}
	if app := must[[]byte](t)(alice.g.Send([]byte("x"))); alice.g.sent.has(app) {
		t.Fatal("an application message is remembered")
	}
	if msg, _, err := bob.g.ProposeSelfUpdate(); err != nil || alice.g.sent.has(msg) {
		t.Fatalf("another member's proposal is remembered (%v)", err)
	}
}

// TestOwnJoinCommitOnlyOwn: while an external join is pending, another
// client's external commit of the same epoch is not taken for the own.
func TestOwnJoinCommitOnlyOwn(t *testing.T) {
	alice, _ := pair(t)
	gi := must[[]byte](t)(alice.g.GroupInfo(true))
	carol, dave := newParty(t, backends[0], "carol"), newParty(t, backends[0], "dave")
	g, _, err := carol.c.JoinExternal(gi, nil)
	check(t, err)
	_, other, err := dave.c.JoinExternal(gi, nil)
	check(t, err)
	if _, err := g.ProcessMessage(other.Commit); err == nil || errors.Is(err, ErrOwnMessage) {
		t.Fatalf("another client's external commit: %v, want an error other than ErrOwnMessage", err)
	}
	j, _ := g.State().StagedJoin()
	if ownJoinCommit(j, other.Commit, transitions.Limits{}) {
		t.Fatal("ownJoinCommit takes another client's external commit for the own")
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

// testAEAD is an AES-256-GCM AEAD with a key of bytes b.
func testAEAD(t *testing.T, b byte) cipher.AEAD {
	blk, err := aes.NewCipher(bytes.Repeat([]byte{b}, 32))
	check(t, err)
	return must[cipher.AEAD](t)(cipher.NewGCM(blk))
}

// signerClient returns the storage of a closed client whose signature key
// is an application-held crypto.Signer.
func signerClient(t *testing.T) Storage {
	st := NewMemoryStorage()
	o := testOptions("signer")
	o.Signer = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	c := must[*Client](t)(NewClient(st, []byte("signer"), o))
	check(t, c.Close())
	return st
}

// TestShellErrorsCoverEveryError keeps TestShellErrors complete: every
// exported error variable (Err...) and every exported error type (a type
// with an Error method) of this package must be named in it, so that each
// has a case proving it reaches the caller and matches with errors.Is or
// errors.As.
func TestShellErrorsCoverEveryError(t *testing.T) {
	want := map[string]bool{}
	for _, f := range packageFiles(t) {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				if d.Tok != token.VAR {
					continue
				}
				for _, spec := range d.Specs {
					for _, id := range spec.(*ast.ValueSpec).Names {
						if id.IsExported() && strings.HasPrefix(id.Name, "Err") {
							want[id.Name] = true
						}
					}
				}
			case *ast.FuncDecl:
				if d.Recv == nil || d.Name.Name != "Error" || len(d.Recv.List) != 1 {
					continue
				}
				typ := d.Recv.List[0].Type
				if st, ok := typ.(*ast.StarExpr); ok {
					typ = st.X
				}
				if id, ok := typ.(*ast.Ident); ok && id.IsExported() {
					want[id.Name] = true
				}
			}
		}
	}
	if !want["ErrOwnMessage"] || !want["SecretError"] {
		t.Fatalf("the scan found %v: it misses known errors", want)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "safety_test.go", nil, parser.SkipObjectResolution)
	check(t, err)
	named := map[string]bool{}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "TestShellErrors" {
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok {
					named[id.Name] = true
				}
				return true
			})
		}
	}
	for name := range want {
		if !named[name] {
			t.Errorf("%s is not tested by TestShellErrors", name)
		}
	}
}

// TestShellErrorsWrapped keeps the shell's errors matchable: every
// fmt.Errorf in this package's non-test code wraps an error (%w), and
// errors.New makes only package-level sentinels, except in the functions
// listed here, whose errors never reach a caller unwrapped.
func TestShellErrorsWrapped(t *testing.T) {
	allowed := map[string]string{
		"parseDirRecord":     "its caller reports a damaged record wrapped in ErrDamaged, or drops a torn tail",
		"parseDirHeader":     "called by parseDirRecord only",
		"checkCredentialKey": "the error is the Err of a typed *x509cred.Error",
		"KeyPackageWith":     "the core always creates the key package: a broken invariant, not a condition",
		"withLeafUpdate":     "the core always creates the signature key: a broken invariant, not a condition",
	}
	used := map[string]bool{}
	for _, f := range packageFiles(t) {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				pkg, ok := sel.X.(*ast.Ident)
				if !ok {
					return true
				}
				var bad string
				switch {
				case pkg.Name == "fmt" && sel.Sel.Name == "Errorf":
					lit, ok := call.Args[0].(*ast.BasicLit)
					if !ok || !strings.Contains(lit.Value, "%w") {
						bad = "fmt.Errorf without %w"
					}
				case pkg.Name == "errors" && sel.Sel.Name == "New":
					bad = "errors.New in a function"
				}
				if bad == "" {
					return true
				}
				if _, ok := allowed[fd.Name.Name]; ok {
					used[fd.Name.Name] = true
					return true
				}
				t.Errorf("%s: %s returns an error no sentinel matches", fd.Name.Name, bad)
				return true
			})
		}
	}
	for name := range allowed {
		if !used[name] {
			t.Errorf("%s is allowed an unwrapped error it no longer makes: drop it from the list", name)
		}
	}
}

// packageFiles parses the non-test Go files of this package.
func packageFiles(t *testing.T) []*ast.File {
	t.Helper()
	names, err := filepath.Glob("*.go")
	check(t, err)
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		check(t, err)
		files = append(files, f)
	}
	return files
}
