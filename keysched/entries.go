package keysched

import (
	"bytes"
	"fmt"
	"iter"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/pds"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
)

// This file splits a SecretTree into entries, one per node that holds a
// secret, for a store that updates a tree in place: an application
// message changes one sender's ratchets (and, the first time a sender is
// used in an epoch, the node secrets on its path), so a store that keeps
// each entry under its own key rewrites O(1) entries per message instead
// of the whole tree, and overwriting or deleting the changed entries
// erases the consumed secrets (forward secrecy, RFC 9420, Section 9.2).
//
// An entry is named by a node index: a node secret not yet expanded at
// its node, an expanded sender's two ratchets at its leaf's node.

// The kinds of entry, the first byte of an entry's value.
const (
	entryNodeSecret = 0
	entrySender     = 1
)

// SecretEntry is one stored entry of a SecretTree: its node index and the
// value AppendEntry encoded.
type SecretEntry struct {
	Index uint32
	Value []byte
}

// MarshalShape appends what MarshalSecrets writes before the tree's
// secrets: the presence flag, the suite, the leaf count and the ratchet
// configuration. It holds no secret.
func (t SecretTree) MarshalShape(b *cryptobyte.Builder) {
	if t.cs == nil {
		b.AddUint8(0)
		return
	}
	b.AddUint8(1)
	b.AddUint16(uint16(t.cs.ID()))
	b.AddUint32(uint32(t.leaves))
	b.AddUint32(t.cfg.OutOfOrderTolerance)
	b.AddUint32(t.cfg.MaximumForwardDistance)
}

// Entries returns the node indices of t's entries in increasing order.
func (t SecretTree) Entries() iter.Seq[uint32] {
	return func(yield func(uint32) bool) {
		nextNode, stopNodes := iter.Pull(t.nodes.Keys())
		defer stopNodes()
		nextLeaf, stopLeaves := iter.Pull(t.senders.Keys())
		defer stopLeaves()
		x, okX := nextNode()
		l, okL := nextLeaf()
		for okX || okL {
			// A node index is either a node secret's or a sender's, never
			// both: an expanded leaf's secret is gone from the nodes.
			if okX && (!okL || x < 2*l) {
				if !yield(x) {
					return
				}
				x, okX = nextNode()
				continue
			}
			if !yield(2 * l) {
				return
			}
			l, okL = nextLeaf()
		}
	}
}

// AppendEntry appends the value of entry x to dst: a node secret, or a
// sender's two ratchets with their positions and retained keys. It
// returns false (and dst) if t has no entry x.
func (t SecretTree) AppendEntry(dst []byte, x uint32) ([]byte, bool) {
	b := cryptobyte.NewBuilder(dst)
	if s, ok := t.nodes.Get(x); ok {
		b.AddUint8(entryNodeSecret)
		codec.AddOpaque(b, s)
	} else if s, ok := t.senders.Get(x / 2); ok && x%2 == 0 {
		b.AddUint8(entrySender)
		marshalSender(b, s)
	} else {
		return dst, false
	}
	out, err := b.Bytes()
	if err != nil {
		panic("keysched: encoding a secret tree entry: " + err.Error()) // lengths fit their vectors
	}
	return out, true
}

// marshalSender encodes a sender's two ratchets, as MarshalSecrets does.
func marshalSender(b *cryptobyte.Builder, s *senderRatchets) {
	for _, r := range s {
		b.AddUint64(r.next)
		codec.AddOpaque(b, r.secret)
		codec.AddVector(b, func(b *cryptobyte.Builder) {
			for _, k := range r.past.All() {
				b.AddUint32(k.Generation)
				codec.AddOpaque(b, k.Key)
				codec.AddOpaque(b, k.Nonce)
			}
		})
	}
}

// ChangedEntries calls yield with the index of every entry that differs
// between old and t: present in only one of them, or with another value.
// It costs O(k log N) for a t derived from old by k steps (it skips the
// parts they share). It returns false, calling yield for nothing, when
// the trees differ in shape (suite, leaf count, ratchet configuration):
// then they are different trees, not versions of one.
func (t SecretTree) ChangedEntries(old SecretTree, yield func(x uint32)) bool {
	if t.cs != old.cs || t.leaves != old.leaves || t.cfg != old.cfg {
		return false
	}
	pds.Diff(old.nodes, t.nodes, bytes.Equal, func(x uint32) bool { yield(x); return true })
	pds.Diff(old.senders, t.senders, func(a, b *senderRatchets) bool { return a == b },
		func(l uint32) bool { yield(2 * l); return true })
	return true
}

// UnmarshalEntries reads a shape that MarshalShape wrote and rebuilds the
// tree from its entries, which entries returns (it is called only for a
// present tree) in increasing index order. want, if not nil, is the only
// suite accepted. Every entry must decode exactly, and the tree is checked
// as UnmarshalSecrets checks it.
func (t *SecretTree) UnmarshalEntries(d *codec.Decoder, want *suite.Suite, entries func() ([]SecretEntry, error)) {
	*t = SecretTree{}
	shape, ok := unmarshalShape(d, want)
	if !ok {
		return
	}
	cs, leaves := shape.cs, shape.leaves
	es, err := entries()
	if err != nil {
		d.Fail(err)
		return
	}
	if uint64(len(es)) > uint64(treemath.NodeWidth(leaves)) {
		d.Failf(codec.ErrInvalidValue, "%d secret tree entries for %d leaves", len(es), leaves)
		return
	}
	// Reassemble MarshalSecrets' encoding, each entry checked on its own
	// first, and decode it with all of UnmarshalSecrets' checks.
	for _, e := range es {
		if err := shape.checkEntry(e); err != nil {
			d.Fail(err)
			return
		}
	}
	b := cryptobyte.NewBuilder(nil)
	shape.MarshalShape(b)
	for _, kind := range []byte{entryNodeSecret, entrySender} {
		codec.AddVector(b, func(b *cryptobyte.Builder) {
			for _, e := range es {
				if e.Value[0] != kind {
					continue
				}
				if kind == entryNodeSecret {
					b.AddUint32(e.Index)
				} else {
					b.AddUint32(e.Index / 2)
				}
				b.AddBytes(e.Value[1:])
			}
		})
	}
	enc, err := b.Bytes()
	if err != nil {
		d.Fail(err)
		return
	}
	dd := codec.NewDecoder(enc)
	var nt SecretTree
	nt.UnmarshalSecrets(dd, cs)
	if err := dd.Finish("secret tree entries"); err != nil {
		d.Fail(err)
		return
	}
	*t = nt
}

// checkEntry checks that e's value is exactly one entry of its kind, for
// a node index of the tree of t's shape.
func (t SecretTree) checkEntry(e SecretEntry) error {
	if len(e.Value) == 0 || e.Index >= uint32(treemath.NodeWidth(t.leaves)) {
		return fmt.Errorf("%w: secret tree entry %d", codec.ErrInvalidValue, e.Index)
	}
	d := codec.NewDecoder(e.Value[1:])
	switch e.Value[0] {
	case entryNodeSecret:
		secret(d, "secret tree node secret", t.cs.HashLen())
	case entrySender:
		if e.Index%2 != 0 {
			return fmt.Errorf("%w: sender entry at parent node %d", codec.ErrInvalidValue, e.Index)
		}
		t.unmarshalRatchet(d)
		t.unmarshalRatchet(d)
	default:
		return fmt.Errorf("%w: secret tree entry %d of kind %d", codec.ErrInvalidValue, e.Index, e.Value[0])
	}
	return d.Finish("secret tree entry")
}
