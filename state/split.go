package state

import (
	"bytes"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// splitMagic opens an EncodeSplit encoding, so that it can never be taken
// for an Encode one (whose trees are inline).
const splitMagic = "MLSSTREF"

// treeCodec replaces the ratchet trees of an encoding by references: their
// leaf count and tree hash. put receives each tree while encoding; get
// returns the tree of a reference while decoding.
type treeCodec struct {
	put func(tree.Tree)
	get func(cs *suite.Suite, leaves treemath.LeafCount, hash []byte) (tree.Tree, error)
}

// load reads a tree reference (after its leaf count n) and resolves it.
func (tc *treeCodec) load(d *codec.Decoder, cs *suite.Suite, n treemath.LeafCount) tree.Tree {
	h := d.Opaque()
	if !d.OK() {
		return tree.Tree{}
	}
	if len(h) != cs.HashLen() {
		d.Failf(codec.ErrInvalidValue, "tree reference of %d bytes", len(h))
		return tree.Tree{}
	}
	t, err := tc.get(cs, n, h)
	if err != nil {
		d.Fail(err)
		return tree.Tree{}
	}
	if t.LeafCount() != n || !bytes.Equal(t.Hash(), h) {
		d.Failf(codec.ErrInvalidValue, "tree reference %x resolves to another tree", h)
		return tree.Tree{}
	}
	return t
}

// EncodeSplit is Encode with every ratchet tree of the state (the current
// one, those of retained past epochs, of a pending or staged commit, of a
// staged join) left out: each is written as its leaf count and tree hash
// (RFC 9420, Section 7.8), and handed to putTree, in encoding order (a
// tree may be handed over more than once). The caller stores the trees
// (their nodes are public) and gives them back to DecodeSplit. What
// remains holds the state's secrets and is small: it does not grow with
// the group's size except through the own path's keys (O(log N)) and the
// secret tree's ratchets. Store it like Encode's output.
func EncodeSplit(s GroupState, putTree func(tree.Tree)) ([]byte, error) {
	return AppendSplit(nil, s, putTree)
}

// AppendSplit appends EncodeSplit's output to dst and returns the
// extended buffer: a caller that encodes a state at every step gives a
// buffer with room for it (the previous encoding's size) and saves the
// encoder's growing copies.
func AppendSplit(dst []byte, s GroupState, putTree func(tree.Tree)) ([]byte, error) {
	b := cryptobyte.NewBuilder(dst)
	b.AddBytes([]byte(splitMagic))
	b.AddUint16(EncodingVersion)
	s.marshalState(b, &treeCodec{put: putTree})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("mls: encoding group state: %w", err)
	}
	return out, nil
}

// DecodeSplit rebuilds a state from EncodeSplit's output; getTree returns
// the tree of the given suite, leaf count and tree hash (an error if it
// has none). The tree it returns is checked against the reference, and
// decoding is as strict as Decode's.
func DecodeSplit(data []byte, getTree func(cs *suite.Suite, leaves treemath.LeafCount, hash []byte) (tree.Tree, error)) (GroupState, error) {
	return DecodeSplitBounded(data, codec.Bounds{}, getTree)
}

// DecodeSplitBounded is DecodeSplit within the caller's bounds, as
// DecodeBounded: getTree is not called for a tree declared over
// b.MaxLeaves leaves, and the proposal store holds at most b.MaxProposals
// proposals.
func DecodeSplitBounded(data []byte, b codec.Bounds, getTree func(cs *suite.Suite, leaves treemath.LeafCount, hash []byte) (tree.Tree, error)) (GroupState, error) {
	d := codec.NewBoundedDecoder(data, b)
	if mg := d.Fixed(len(splitMagic)); d.OK() && string(mg) != splitMagic {
		d.Failf(codec.ErrInvalidValue, "not a split group state encoding")
	}
	if v := d.Uint16(); d.OK() && v != EncodingVersion {
		d.Failf(codec.ErrInvalidValue, "state encoding version %d, this reader knows %d", v, EncodingVersion)
	}
	s := unmarshalState(d, 0, &treeCodec{get: getTree})
	if err := d.Finish("GroupState"); err != nil {
		return GroupState{}, fmt.Errorf("%w: %w", ErrEncoding, err)
	}
	return s, nil
}
