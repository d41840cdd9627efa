package storagetest

import (
	"testing"
	"time"

	mls "github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/replay"
)

// RunKeepRecords checks the debugging modes on the backend: a client
// with Options.KeepRecords = mls.KeepAllRecords keeps every event's
// record, Client.ExportLog writes them in package replay's format (what
// mls replay reads), and the exported log replays on its own to the
// group's state; reopened with a short retention (and on a non-volatile
// backend, after closing the store), the group opens at the same state
// and its next record compacts the log.
func RunKeepRecords(t *testing.T, b Backend) {
	dir := t.TempDir()
	clock := func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }
	store := b.Open(t, dir)
	alice, err := mls.NewClient(store, []byte("alice"), &mls.Options{Clock: clock, KeepRecords: mls.KeepAllRecords})
	must(t, err)
	bob, err := mls.NewClient(mls.NewMemoryStorage(), []byte("bob"), &mls.Options{Clock: clock})
	must(t, err)
	kp, err := bob.KeyPackage()
	must(t, err)
	ag, bg := addAndJoin(t, alice, bob, kp, nil)
	for i := range 4 {
		msg, err := bg.Send([]byte("hello"))
		must(t, err)
		_, err = ag.ProcessMessage(msg)
		must(t, err)
		if i%2 == 1 {
			out, err := ag.SelfUpdate()
			must(t, err)
			must(t, ag.MergePendingCommit())
			_, err = bg.ProcessMessage(out.Commit)
			must(t, err)
			must(t, bg.MergeStagedCommit())
		}
	}
	data, err := alice.ExportLog(ag.ID())
	must(t, err)
	lg, err := replay.ReadLog(data)
	must(t, err)
	if len(lg.Records) < 10 {
		t.Fatalf("the exported log has %d records, want every event's", len(lg.Records))
	}
	res, err := replay.ReplayLog(lg, nil)
	must(t, err)
	if res.Final().Digest() != ag.State().Digest() {
		t.Fatal("the exported log does not replay to the group's state")
	}
	id, digest := ag.ID(), ag.State().Digest()
	must(t, alice.Close())
	if !b.Volatile {
		closeStore(t, store)
		store = open(t, b, dir)
	}
	alice, err = mls.OpenClient(store, &mls.Options{Clock: clock, KeepRecords: 2})
	must(t, err)
	ag, err = alice.OpenGroup(id)
	must(t, err)
	if ag.State().Digest() != digest {
		t.Fatal("the group reopened at another state")
	}
	msg, err := bg.Send([]byte("after"))
	must(t, err)
	pm, err := ag.ProcessMessage(msg)
	must(t, err)
	if string(pm.Data) != "after" {
		t.Fatalf("read %q", pm.Data)
	}
	data, err = alice.ExportLog(id)
	must(t, err)
	lg, err = replay.ReadLog(data)
	must(t, err)
	if len(lg.Records) > 2 {
		t.Fatalf("%d records kept, want at most 2", len(lg.Records))
	}
	must(t, alice.Close())
}
