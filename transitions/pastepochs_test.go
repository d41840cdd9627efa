package transitions

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/valsem"
)

// TestPastEpochAge: with Config.MaxPastEpochAge, a past epoch's
// application messages are read until the bound, measured from the merge
// that ended the epoch with the receiver's event time, and refused with
// ValSem003 after it; the first successful event after the bound drops the
// epoch — from the state, from a pending commit's next state, and with a
// DeleteSecret — and the state's encoding keeps the end times.
func TestPastEpochAge(t *testing.T) {
	const age = 100
	cfg := state.DefaultConfig()
	cfg.MaxPastEpochs, cfg.MaxPastEpochAge = 1, age
	w := newWorld(t, suite.X25519AES128GCMSHA256Ed25519, cfg)
	alice := w.create("alice")
	bob := w.add(alice, "bob")[0]

	send, _ := effects.Find[effects.SendToGroup](w.must(bob, Protect{At: testAt, Data: []byte("late")}))
	late := send.Message
	ended := uint64(testAt + 50)
	effs := w.must(alice, Commit{At: ended, ForcePath: true})
	commit, _ := effects.Find[effects.SendToGroup](effs)
	w.must(alice, ConfirmCommit{At: ended})
	w.must(bob, Receive{At: ended, Message: commit.Message})
	w.must(bob, MergeStaged{At: ended})
	old := alice.s.Private().Past
	if len(old) != 1 || old[0].Ended != ended {
		t.Fatalf("alice's past epochs %+v, want one that ended at %d", old, ended)
	}
	sds := old[0].SenderDataSecret

	// The encoding carries the end time.
	enc, err := state.Encode(alice.s)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := state.Decode(enc)
	if err != nil || dec.Digest() != alice.s.Digest() || dec.Private().Past[0].Ended != ended {
		t.Fatalf("state with an aged past epoch does not round-trip: %v", err)
	}

	// At the bound the message is read; the refused attempt after it
	// changes nothing.
	if _, err := w.apply(alice, Receive{At: ended + age + 1, Message: late}); !errorsIs(err, valsem.ValSem003) ||
		!strings.Contains(err.Error(), "MaxPastEpochAge") {
		t.Fatalf("after the bound: %v, want ValSem003 naming MaxPastEpochAge", err)
	}
	if len(alice.s.Private().Past) != 1 {
		t.Fatal("a refused message dropped the past epoch")
	}
	saved := alice.s
	got := w.must(alice, Receive{At: ended + age, Message: late})
	if d, ok := effects.Find[effects.DeliverApplication](got); !ok || string(d.Data) != "late" {
		t.Fatal("the message of the past epoch was not read at the bound")
	}
	alice.s = saved

	// A pending commit copies the past epochs; an event after the bound
	// drops them from both, and reports the epoch's secrets deleted.
	w.must(alice, Commit{At: ended + 10, ForcePath: true})
	effs = w.must(alice, ExpirePastEpochs{At: ended + age})
	if len(effs) != 0 || len(alice.s.Private().Past) != 1 {
		t.Fatal("ExpirePastEpochs at the bound dropped the epoch")
	}
	effs = w.must(alice, ExpirePastEpochs{At: ended + age + 1})
	del, ok := effects.Find[effects.DeleteSecret](effs)
	if !ok || del.Ref.Kind != effects.SecretEpoch || !bytes.Equal(del.Ref.ID, secretID(alice.s.GroupID(), old[0].Context.Epoch)) {
		t.Fatalf("effects %v lack the expired epoch's DeleteSecret", effs)
	}
	pc, _ := alice.s.PendingCommit()
	if len(alice.s.Private().Past) != 0 || len(pc.Next.Private().Past) != 0 {
		t.Fatal("the expired epoch is still in the state or its pending commit")
	}
	if enc, err = state.Encode(alice.s); err != nil || bytes.Contains(enc, sds) {
		t.Fatalf("the encoding still holds the expired epoch's sender data secret (%v)", err)
	}
	// Merged after the bound, the commit's epoch change keeps only the
	// epoch it ends.
	w.must(alice, ConfirmCommit{At: ended + age + 2})
	if p := alice.s.Private().Past; len(p) != 1 || p[0].Ended != ended+age+2 {
		t.Fatalf("past epochs after the merge %+v", p)
	}
}
