package mls

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestAtLeastOnce checks Options.AtLeastOnce: a received message stays in
// storage (written with the consumption of its key) until Ack, survives a
// crash before the application stored it, and is erased from the files
// by Ack. Without the option nothing is kept.
func TestAtLeastOnce(t *testing.T) {
	dir := t.TempDir()
	store := must[*DirStorage](t)(OpenDirStorage(dir))
	o := testOptions("bob")
	o.AtLeastOnce = true
	bob := &party{name: "bob", store: store, c: must[*Client](t)(NewClient(store, []byte("bob"), o))}
	alice := newParty(t, backends[0], "alice")
	alice.g = must[*Group](t)(alice.c.CreateGroup(nil))
	out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
	check(t, alice.g.MergePendingCommit())
	bob.g = must[*Group](t)(bob.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))

	var ids [][]byte
	for _, text := range []string{"first kept message", "second kept message"} {
		pm := must[*ProcessedMessage](t)(bob.g.ProcessMessage(must[[]byte](t)(alice.g.Send([]byte(text)))))
		if string(pm.Data) != text || pm.DeliveryID == nil {
			t.Fatalf("processed %q, id %x", pm.Data, pm.DeliveryID)
		}
		ids = append(ids, pm.DeliveryID)
	}
	// A crash: the application never stored the plaintexts.
	id := bob.g.ID()
	check(t, bob.c.Close())
	check(t, store.Close())
	store = must[*DirStorage](t)(OpenDirStorage(dir))
	bob.c = must[*Client](t)(OpenClient(store, o))
	bob.g = must[*Group](t)(bob.c.OpenGroup(id))
	kept := must[[]*ProcessedMessage](t)(bob.g.Unacked())
	if len(kept) != 2 || string(kept[0].Data) != "first kept message" || string(kept[1].Data) != "second kept message" ||
		!bytes.Equal(kept[0].DeliveryID, ids[0]) || kept[0].Sender.LeafIndex != alice.g.OwnLeaf() {
		t.Fatalf("unacknowledged after the restart: %+v", kept)
	}
	check(t, bob.g.Ack(ids[0]))
	pm := must[*ProcessedMessage](t)(bob.g.ProcessMessage(must[[]byte](t)(alice.g.Send([]byte("third kept message")))))
	kept = must[[]*ProcessedMessage](t)(bob.g.Unacked())
	if len(kept) != 2 || string(kept[1].Data) != "third kept message" || bytes.Equal(pm.DeliveryID, ids[1]) {
		t.Fatalf("after an Ack and a new message: %+v", kept)
	}
	check(t, bob.g.Ack(ids[1]))
	check(t, bob.g.Ack(pm.DeliveryID))
	if kept := must[[]*ProcessedMessage](t)(bob.g.Unacked()); len(kept) != 0 {
		t.Fatalf("%d kept after acknowledging all", len(kept))
	}
	data, err := os.ReadFile(filepath.Join(dir, dirDataFile))
	check(t, err)
	if bytes.Contains(data, []byte("kept message")) {
		t.Fatal("an acknowledged message is still in the data file")
	}
	check(t, store.Close())

	// Off by default: nothing kept, no id.
	carol := newParty(t, backends[0], "carol")
	out = must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(carol.c.KeyPackage())))
	check(t, alice.g.MergePendingCommit())
	carol.g = must[*Group](t)(carol.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))
	pm = must[*ProcessedMessage](t)(carol.g.ProcessMessage(must[[]byte](t)(alice.g.Send([]byte("x")))))
	if pm.DeliveryID != nil || len(must[[]*ProcessedMessage](t)(carol.g.Unacked())) != 0 {
		t.Fatal("a message was kept without AtLeastOnce")
	}
}
