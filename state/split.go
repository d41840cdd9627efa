package state

import (
	"bytes"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// splitMagic opens an EncodeSplit encoding, so that it can never be taken
// for an Encode one (whose trees are inline).
const splitMagic = "MLSSTREF"

// splitSecretsMagic opens an AppendSplitSecrets encoding.
const splitSecretsMagic = "MLSSTENT"

// treeCodec replaces the ratchet trees of an encoding by references: their
// leaf count and tree hash. put receives each tree while encoding; get
// returns the tree of a reference while decoding.
//
// With putSecrets and getSecrets (AppendSplitSecrets) the secret trees of
// the state's current and retained past epochs are left out too: each is
// written as its shape, keyed by its epoch, and its entries are stored by
// the caller. epochs lists the epochs so written, so that a second tree of
// the same epoch (which no state has) is written inline instead.
type treeCodec struct {
	put func(tree.Tree)
	get func(cs *suite.Suite, leaves treemath.LeafCount, hash []byte) (tree.Tree, error)

	putSecrets func(epoch uint64, st keysched.SecretTree)
	getSecrets func(epoch uint64) ([]keysched.SecretEntry, error)
	epochs     []uint64
}

// nested returns the codec for a state nested in another (a pending or
// staged commit's next state, a staged join's states): trees are still
// references, secret trees are inline.
func (tc *treeCodec) nested() *treeCodec {
	if tc == nil {
		return nil
	}
	return &treeCodec{put: tc.put, get: tc.get}
}

// How a secret tree is written when the codec leaves secret trees out.
const (
	secretsInline  = 0 // keysched's MarshalSecrets follows
	secretsEntries = 1 // its shape follows; its entries are the caller's
)

// marshalSecrets writes the secret tree st of epoch: inline
// (MarshalSecrets), or, when tc leaves secret trees out, as a reference.
func (tc *treeCodec) marshalSecrets(b *cryptobyte.Builder, epoch uint64, st keysched.SecretTree) {
	if tc == nil || tc.putSecrets == nil {
		st.MarshalSecrets(b)
		return
	}
	if slices.Contains(tc.epochs, epoch) {
		b.AddUint8(secretsInline)
		st.MarshalSecrets(b)
		return
	}
	tc.epochs = append(tc.epochs, epoch)
	b.AddUint8(secretsEntries)
	st.MarshalShape(b)
	tc.putSecrets(epoch, st)
}

// unmarshalSecrets reads what marshalSecrets wrote into st.
func (tc *treeCodec) unmarshalSecrets(d *codec.Decoder, epoch uint64, cs *suite.Suite, st *keysched.SecretTree) {
	if tc == nil || tc.getSecrets == nil {
		st.UnmarshalSecrets(d, cs)
		return
	}
	switch how := d.Uint8(); {
	case !d.OK():
	case how == secretsInline:
		st.UnmarshalSecrets(d, cs)
	case how == secretsEntries && slices.Contains(tc.epochs, epoch):
		d.Failf(codec.ErrInvalidValue, "two secret trees stored for epoch %d", epoch)
	case how == secretsEntries:
		tc.epochs = append(tc.epochs, epoch)
		st.UnmarshalEntries(d, cs, func() ([]keysched.SecretEntry, error) { return tc.getSecrets(epoch) })
	default:
		d.Failf(codec.ErrInvalidValue, "secret tree stored as %d", how)
	}
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
	return appendSplit(dst, splitMagic, s, &treeCodec{put: putTree})
}

// AppendSplitSecrets is AppendSplit with the secret trees of the state's
// current epoch and of its retained past epochs left out as well: each is
// written as its shape (suite, leaf count, ratchet configuration) and
// handed to putSecrets with its epoch, once per epoch. The caller stores
// each tree's entries (keysched.SecretTree.Entries, AppendEntry), which
// hold the ratchet secrets, and gives them back to DecodeSplitSecrets: a
// store that keeps one key per entry updates a tree in place, writing
// only the entries a step changed (keysched.SecretTree.ChangedEntries) —
// an application message changes one — and erasing the secrets it
// consumed. The secret trees of a pending or staged commit's state and of
// a staged join stay inline (they are new trees nothing has used yet).
// What remains holds the epoch secrets, the own path's keys and the past
// epochs' sender data secrets, and changes only with the epoch or the own
// leaf.
func AppendSplitSecrets(dst []byte, s GroupState, putTree func(tree.Tree), putSecrets func(epoch uint64, st keysched.SecretTree)) ([]byte, error) {
	return appendSplit(dst, splitSecretsMagic, s, &treeCodec{put: putTree, putSecrets: putSecrets})
}

func appendSplit(dst []byte, magic string, s GroupState, tc *treeCodec) ([]byte, error) {
	b := cryptobyte.NewBuilder(dst)
	b.AddBytes([]byte(magic))
	b.AddUint16(EncodingVersion)
	s.marshalState(b, tc)
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
	return decodeSplit(data, b, splitMagic, &treeCodec{get: getTree})
}

// DecodeSplitSecrets rebuilds a state from AppendSplitSecrets' output
// within b, as DecodeSplitBounded; getSecrets returns the entries of the
// secret tree of the given epoch in increasing index order (an error if
// it has none). Every entry is checked, and the tree rebuilt from them as
// strictly as a decoded one.
func DecodeSplitSecrets(data []byte, b codec.Bounds, getTree func(cs *suite.Suite, leaves treemath.LeafCount, hash []byte) (tree.Tree, error), getSecrets func(epoch uint64) ([]keysched.SecretEntry, error)) (GroupState, error) {
	return decodeSplit(data, b, splitSecretsMagic, &treeCodec{get: getTree, getSecrets: getSecrets})
}

func decodeSplit(data []byte, b codec.Bounds, magic string, tc *treeCodec) (GroupState, error) {
	d := codec.NewBoundedDecoder(data, b)
	if mg := d.Fixed(len(magic)); d.OK() && string(mg) != magic {
		d.Failf(codec.ErrInvalidValue, "not a split group state encoding")
	}
	if v := d.Uint16(); d.OK() && v != EncodingVersion {
		d.Failf(codec.ErrInvalidValue, "state encoding version %d, this reader knows %d", v, EncodingVersion)
	}
	s := unmarshalState(d, 0, tc)
	if err := d.Finish("GroupState"); err != nil {
		return GroupState{}, fmt.Errorf("%w: %w", ErrEncoding, err)
	}
	return s, nil
}
