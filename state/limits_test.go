package state_test

import (
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/testrun"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// stateAllocPerByte bounds what DecodeBounded allocates per input byte
// for states whose trees are within MaxLeaves (fuzzBounds): each tree
// node costs about 150 bytes and takes at least one byte (see the tree
// package), everything else less.
const stateAllocPerByte = 200

// fuzzBounds are the bounds FuzzDecodeState decodes within.
var fuzzBounds = codec.Bounds{MaxLeaves: 1 << 10, MaxProposals: 1 << 10}

// TestDecodeBoundedHostileTree: an encoding declaring a tree of 2^20
// leaves, given as 1 MiB of blank nodes, is rejected before the tree is
// read, with a *codec.LimitError naming MaxLeaves, by each bounded
// decoder of the package: DecodeBounded (snapshots), DecodePublicBounded
// (a log's checkpoints) and DecodeSplitBounded (the shell's stored
// snapshot, whose trees getTree would load).
func TestDecodeBoundedHostileTree(t *testing.T) {
	const size = 1 << 20
	public := func(b *cryptobyte.Builder) {
		b.AddUint16(1)
		codec.GroupContext{Version: codec.MLS10, CipherSuite: 1, GroupID: []byte("g"), TreeHash: make([]byte, 32), ConfirmedTranscriptHash: make([]byte, 32)}.Marshal(b)
		b.AddUint32(1 << 20)
	}
	blanks := make([]byte, size)
	blanks[len(blanks)-1] = 1 // the vector's content ends in a leaf, never read
	encode := func(head string, prefix []byte, tree []byte) []byte {
		var b cryptobyte.Builder
		b.AddBytes([]byte(head))
		b.AddUint16(state.EncodingVersion)
		b.AddBytes(prefix)
		public(&b)
		codec.AddOpaque(&b, tree)
		return b.BytesOrPanic()
	}
	bounds := codec.Bounds{MaxLeaves: 1 << 16}
	treeLoaded := false
	tests := []struct {
		name string
		enc  []byte
		dec  func([]byte) error
	}{
		{"DecodeBounded", encode("MLSSTATE", []byte{2}, blanks), func(b []byte) error { _, err := state.DecodeBounded(b, bounds); return err }},
		{"DecodePublicBounded", encode("MLSPUBLC", []byte{1, 0, 0, 0, 0}, blanks), func(b []byte) error { _, _, err := state.DecodePublicBounded(b, bounds); return err }},
		{"DecodeSplitBounded", encode("MLSSTREF", []byte{2}, make([]byte, 32)), func(b []byte) error {
			_, err := state.DecodeSplitBounded(b, bounds, func(*suite.Suite, treemath.LeafCount, []byte) (tree.Tree, error) {
				treeLoaded = true
				return tree.Tree{}, errors.New("no tree")
			})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			n := testrun.Allocated(func() { err = tt.dec(tt.enc) })
			var le *codec.LimitError
			if !errors.Is(err, state.ErrEncoding) || !errors.As(err, &le) || le.Limit != "MaxLeaves" || le.Got != 1<<20 || le.Max != 1<<16 {
				t.Fatalf("got %v, want ErrEncoding with a *codec.LimitError MaxLeaves 1048576 > 65536", err)
			}
			t.Logf("%d bytes in, %d allocated: %v", len(tt.enc), n, err)
			if n > uint64(len(tt.enc))+64<<10 {
				t.Errorf("allocated %d bytes for a %d-byte state, want at most 1 per byte plus 64 KiB", n, len(tt.enc))
			}
		})
	}
	if treeLoaded {
		t.Errorf("DecodeSplitBounded asked for a tree over the bound")
	}
}
