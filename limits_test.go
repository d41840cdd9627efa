package mls

import (
	"errors"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/testrun"
	"github.com/mlscore/mlscore/transitions"
)

// hostileTree returns a ratchet_tree extension of size bytes: blank nodes
// (one byte each) ending in one genuine leaf node, the cheapest encoding
// of a tree with about size leaves.
func hostileTree(t *testing.T, leaf *codec.LeafNode, size int) []byte {
	t.Helper()
	last, err := codec.Node{NodeType: codec.NodeTypeLeaf, Leaf: leaf}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	blanks := (size - 4 - 1 - len(last)) &^ 1 // the leaf lands on an even index
	body := make([]byte, blanks, blanks+1+len(last))
	body = append(append(body, 1), last...)
	out := []byte{0x80 | byte(len(body)>>24), byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	out = append(out, body...)
	if _, err := codec.DecodeRatchetTree(out); err != nil {
		t.Fatalf("the hostile tree is not a ratchet_tree: %v", err)
	}
	return out
}

// checkMaxLeaves fails unless err is a *transitions.LimitError naming
// MaxLeaves.
func checkMaxLeaves(t *testing.T, err error) {
	t.Helper()
	var le *transitions.LimitError
	if !errors.As(err, &le) || le.Limit != "MaxLeaves" || le.Got <= le.Max {
		t.Fatalf("got %v, want a *transitions.LimitError naming MaxLeaves", err)
	}
}

// TestHostileTreeBounded feeds a genuine Welcome with a 1 MiB out-of-band
// ratchet tree of blank nodes to JoinGroup, and a GroupInfo carrying that
// tree to JoinExternal: both stop at the MaxLeaves bound while decoding,
// allocating less than 20 bytes per input byte (before the bound was
// checked during decoding, JoinGroup allocated about 330 per byte).
func TestHostileTreeBounded(t *testing.T) {
	const size = 1 << 20
	const maxRatio = 20
	alice := newParty(t, backends[0], "alice")
	bob := newParty(t, backends[0], "bob")
	alice.g = must[*Group](t)(alice.c.CreateGroup(nil))
	out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
	check(t, alice.g.MergePendingCommit())
	nodes := must[codec.RatchetTree](t)(codec.DecodeRatchetTree(must[[]byte](t)(alice.g.RatchetTree())))
	hostile := hostileTree(t, nodes[0].Leaf, size)
	if len(hostile) < size-1 || len(hostile) > size {
		t.Fatalf("hostile tree of %d bytes, want %d", len(hostile), size)
	}

	t.Run("JoinGroup", func(t *testing.T) {
		var err error
		n := testrun.Allocated(func() { _, err = bob.c.JoinGroup(out.Welcome, hostile) })
		checkMaxLeaves(t, err)
		t.Logf("JoinGroup: %d bytes allocated for a %d-byte tree (%.2f per byte): %v", n, len(hostile), float64(n)/float64(len(hostile)), err)
		if n > maxRatio*size {
			t.Errorf("JoinGroup allocated %d bytes for a %d-byte tree, want at most %d", n, size, maxRatio*size)
		}
		// The genuine tree still joins.
		must[*Group](t)(bob.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))
	})

	t.Run("JoinExternal", func(t *testing.T) {
		m := must[codec.MLSMessage](t)(codec.DecodeMLSMessage(must[[]byte](t)(alice.g.GroupInfo(false))))
		m.GroupInfo.Extensions = append(m.GroupInfo.Extensions, codec.Extension{ExtensionType: codec.ExtensionRatchetTree, ExtensionData: hostile})
		gi := must[[]byte](t)(m.Encode())
		carol := newParty(t, backends[0], "carol")
		var err error
		n := testrun.Allocated(func() { _, _, err = carol.c.JoinExternal(gi, nil) })
		checkMaxLeaves(t, err)
		t.Logf("JoinExternal: %d bytes allocated for a %d-byte group info (%.2f per byte): %v", n, len(gi), float64(n)/float64(len(gi)), err)
		if n > maxRatio*uint64(len(gi)) {
			t.Errorf("JoinExternal allocated %d bytes for a %d-byte group info, want at most %d", n, len(gi), maxRatio*len(gi))
		}
	})
}

// TestKeyPackageLimits: AddMembers and ProposeAdd check a key package
// against MaxMessageBytes before decoding it.
func TestKeyPackageLimits(t *testing.T) {
	o := testOptions("alice")
	o.Limits.MaxMessageBytes = 64
	c, err := NewClient(NewMemoryStorage(), []byte("alice"), o)
	check(t, err)
	g := must[*Group](t)(c.CreateGroup(nil))
	kp := must[[]byte](t)(newParty(t, backends[0], "bob").c.KeyPackage())
	for name, f := range map[string]func() error{
		"AddMembers": func() error { _, err := g.AddMembers(kp); return err },
		"ProposeAdd": func() error { _, _, err := g.ProposeAdd(kp); return err },
	} {
		var le *transitions.LimitError
		if err := f(); !errors.As(err, &le) || le.Limit != "MaxMessageBytes" || le.Got != uint64(len(kp)) || le.Max != 64 {
			t.Errorf("%s of a %d-byte key package: %v, want a MaxMessageBytes *transitions.LimitError", name, len(kp), err)
		}
	}
}
