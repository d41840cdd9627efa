package mls

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/valsem"
)

// storageHolds reports whether any value in st contains secret.
func storageHolds(t *testing.T, st Storage, secret []byte) bool {
	t.Helper()
	keys, err := st.Keys(ctx, nil)
	check(t, err)
	for _, k := range keys {
		v, err := st.Get(ctx, k)
		check(t, err)
		if bytes.Contains(v, secret) {
			return true
		}
	}
	return false
}

// TestPastEpochWindow: application messages of past epochs are read while
// the epoch is within the window — bounded by count (MaxPastEpochs) and by
// age (MaxPastEpochAge, measured with the receiver's event time) — and
// refused with ValSem003 naming the exceeded bound afterwards; the
// epoch's secrets leave the state and the storage with the window.
func TestPastEpochWindow(t *testing.T) {
	three := state.DefaultConfig()
	three.MaxPastEpochs, three.MaxPastEpochAge = 3, 60
	tests := []struct {
		name    string
		cfg     *state.Config // nil: the shell's default
		commits int           // after the late message was sent
		wait    time.Duration // then, before bob reads it
		setting string        // "" if bob reads it, else the bound the error names
	}{
		{"default, previous epoch", nil, 1, 0, ""},
		{"default, previous epoch at the age bound", nil, 1, DefaultPastEpochAge, ""},
		{"default, previous epoch past the age bound", nil, 1, DefaultPastEpochAge + time.Second, "MaxPastEpochAge"},
		{"default, two epochs old", nil, 2, 0, "MaxPastEpochs"},
		{"three kept, three epochs old", &three, 3, 59 * time.Second, ""},
		{"three kept, four epochs old", &three, 4, 0, "MaxPastEpochs"},
		{"three kept, past the age bound", &three, 2, 61 * time.Second, "MaxPastEpochAge"},
		{"none kept", &state.Config{WireFormat: state.PureCiphertext, SenderRatchet: state.DefaultConfig().SenderRatchet}, 1, 0, "MaxPastEpochs"},
	}
	for _, b := range backends {
		for _, tt := range tests {
			t.Run(b.name+"/"+tt.name, func(t *testing.T) {
				alice, bob := newParty(t, b, "alice"), newParty(t, b, "bob")
				alice.c.opts.Config, bob.c.opts.Config = tt.cfg, tt.cfg
				if tt.cfg != nil {
					alice.c.cfg, bob.c.cfg = *tt.cfg, *tt.cfg
				}
				alice.g = must[*Group](t)(alice.c.CreateGroup(nil))
				out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
				check(t, alice.g.MergePendingCommit())
				bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))

				late := must[[]byte](t)(alice.g.Send([]byte("sent before the commits")))
				sds := bob.g.State().Private().Epoch.SenderDataSecret()
				for range tt.commits {
					out := must[Outgoing](t)(alice.g.SelfUpdate())
					check(t, alice.g.MergePendingCommit())
					must[*ProcessedMessage](t)(bob.g.ProcessMessage(out.Commit))
					check(t, bob.g.MergeStagedCommit())
				}
				bob.c.opts.Clock = func() time.Time { return testTime.Add(tt.wait) }
				before := bob.g.State().Digest()
				pm, err := bob.g.ProcessMessage(late)
				if tt.setting == "" {
					if err != nil || string(pm.Data) != "sent before the commits" {
						t.Fatalf("late message: %v", err)
					}
					if !storageHolds(t, bob.store, sds) {
						t.Fatal("the kept epoch's sender data secret is not in storage")
					}
					return
				}
				if !errors.Is(err, valsem.ValSem003) || !strings.Contains(err.Error(), tt.setting) {
					t.Fatalf("late message: %v, want ValSem003 naming %s", err, tt.setting)
				}
				if bob.g.State().Digest() != before {
					t.Fatal("a refused message changed the group")
				}
				// The next successful event drops the expired epochs:
				// ExpirePastEpochs for an idle group, or any other.
				if tt.setting == "MaxPastEpochAge" {
					check(t, bob.g.ExpirePastEpochs())
				} else {
					must[[]byte](t)(bob.g.Send([]byte("anything")))
				}
				if n := len(bob.g.State().Private().Past); tt.setting == "MaxPastEpochAge" && n != 0 {
					t.Fatalf("%d past epochs kept after the age bound", n)
				}
				if storageHolds(t, bob.store, sds) {
					t.Fatal("the expired epoch's sender data secret is still in storage")
				}
			})
		}
	}
}
