package state_test

import (
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/testrun"
	"github.com/mlscore/mlscore/state"
)

// stateAllocPerByte bounds what DecodeBounded allocates per input byte
// for states whose trees are within MaxLeaves (fuzzBounds): each tree
// node costs about 150 bytes and takes at least one byte (see the tree
// package), everything else less.
const stateAllocPerByte = 200

// fuzzBounds are the bounds FuzzDecodeState decodes within.
var fuzzBounds = codec.Bounds{MaxLeaves: 1 << 10, MaxProposals: 1 << 10}

// TestDecodeBoundedHostileTree: a state encoding declaring a tree of 2^20
// leaves, given as 1 MiB of blank nodes, is rejected by DecodeBounded
// before the tree is read, with a *codec.LimitError naming MaxLeaves.
func TestDecodeBoundedHostileTree(t *testing.T) {
	const size = 1 << 20
	var b cryptobyte.Builder
	b.AddBytes([]byte("MLSSTATE"))
	b.AddUint16(state.EncodingVersion)
	b.AddUint8(2) // a member's state
	b.AddUint16(1)
	codec.GroupContext{Version: codec.MLS10, CipherSuite: 1, GroupID: []byte("g"), TreeHash: make([]byte, 32), ConfirmedTranscriptHash: make([]byte, 32)}.Marshal(&b)
	b.AddUint32(1 << 20)
	blanks := make([]byte, size)
	blanks[len(blanks)-1] = 1 // the vector's content ends in a leaf, never read
	codec.AddOpaque(&b, blanks)
	enc := b.BytesOrPanic()

	var err error
	n := testrun.Allocated(func() { _, err = state.DecodeBounded(enc, codec.Bounds{MaxLeaves: 1 << 16}) })
	var le *codec.LimitError
	if !errors.Is(err, state.ErrEncoding) || !errors.As(err, &le) || le.Limit != "MaxLeaves" || le.Got != 1<<20 || le.Max != 1<<16 {
		t.Fatalf("got %v, want ErrEncoding with a *codec.LimitError MaxLeaves 1048576 > 65536", err)
	}
	t.Logf("%d bytes in, %d allocated: %v", len(enc), n, err)
	if n > uint64(len(enc)) {
		t.Errorf("allocated %d bytes for a %d-byte state, want at most 1 per byte", n, len(enc))
	}
}
