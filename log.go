package mls

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// moduleName goes into the header of the logs the shell exports. It
// names the module and its version, so that a reader knows which version
// wrote a log.
const moduleName = "github.com/mlscore/mlscore@v" + Version

// KeepAllRecords is the Options.KeepRecords value that keeps every record
// of a group's log, each with its entropy seed: a debugging log that is
// NOT forward secret (the seeds regenerate every key the member had since
// the group's first snapshot). Its exported snapshot (Client.ExportLog)
// also carries the client's signature private key, so that the log
// replays on its own (replay.ReplayLog, mls replay).
const KeepAllRecords = -1

// The keys of a group in the Storage. gid is the group id with a 2-byte
// length before it, so that no group's keys are a prefix of another's.
//
//	"g/" gid                  the group: its snapshot (the log position
//	                          and state.AppendSplitSecrets)
//	"n/" gid tree-hash        one node of a stored ratchet tree
//	"k/" gid epoch index      one entry of the secret tree of an epoch
//	                          (epoch 8 bytes, node index 4 bytes)
//	"r/" gid seq (8 bytes)    one event record after the snapshot
//	"a/" gid delivery id      an unacknowledged application message
//	                          (Options.AtLeastOnce)
func groupKey(kind string, id []byte, suffix ...byte) []byte {
	k := make([]byte, 0, len(kind)+2+len(id)+len(suffix))
	k = append(k, kind...)
	k = binary.BigEndian.AppendUint16(k, uint16(len(id)))
	k = append(k, id...)
	return append(k, suffix...)
}

// maxGroupID bounds group ids so that every key fits MaxKeyLen.
const maxGroupID = MaxKeyLen - 2 - 2 - 64

// entryKey is the key of entry x of epoch's secret tree.
func entryKey(id []byte, epoch uint64, x uint32) []byte {
	var sfx [12]byte
	binary.BigEndian.PutUint64(sfx[:], epoch)
	binary.BigEndian.PutUint32(sfx[8:], x)
	return groupKey("k/", id, sfx[:]...)
}

func recordKey(id []byte, seq uint64) []byte {
	return groupKey("r/", id, binary.BigEndian.AppendUint64(nil, seq)...)
}

// groupLog keeps one group's state in a Storage, incrementally: the
// group's snapshot under "g/" — its state without the ratchet trees and
// without the secret trees of the current and past epochs, which is small
// and changes only with the epoch or the own leaf — the nodes of the
// snapshot's ratchet trees one key each under "n/" keyed by their tree
// hash (RFC 9420, Section 7.8), the entries of its secret trees one key
// each under "k/" keyed by epoch and node index (a node secret not yet
// expanded, or one sender's ratchets), and up to keep event records after
// the snapshot under "r/". The trees are persistent structures, and so is
// their storage: a new ratchet tree shares every unchanged subtree with
// the old one, so a commit writes only the nodes of the changed paths
// (O(log N) of them in a full tree) and deletes those no tree of the state
// references any more; a new version of a secret tree differs from the
// old one in the entries a step touched, so an application message
// rewrites the one entry of its sender (and the first time the sender
// speaks in an epoch, the O(log N) node secrets on its path), overwriting
// the ratchet secret it consumed, and leaves "g/" alone. Everything an
// operation changes goes into one Batch, committed atomically together
// with the secrets the operation created or deleted.
//
// With keep = 0 (the default) every change updates the snapshot (what
// changed of it) and no record is kept: forward secret. With keep > 0,
// records (each with its entropy seed) accumulate after the snapshot
// until there would be more than keep, when the snapshot is rewritten to
// the current state and the records are deleted. The group's state is the
// snapshot's state with the records replayed.
type groupLog struct {
	store  Storage
	id     []byte
	header replay.Header
	keep   int
	// journal is set when the client journals signatures (sigJournal):
	// a snapshot then erases those of the records it replaces.
	journal bool

	snap      replay.Snapshot   // Seq, Prev, Group of the snapshot (no State digest, no Data)
	snapState state.GroupState  // the snapshot's state
	version   byte              // the stored snapshot's snapshotVersion
	split     []byte            // the snapshot's split state
	trees     []tree.Tree       // the trees of snapState, as the split state listed them
	secrets   []epochSecrets    // the secret trees whose entries are stored, as the split state listed them
	refs      map[nodeKey]int32 // tree hash → references from stored nodes and trees
	delta     refDelta          // an empty map for the next operation's nodeWalk
	scratch   []byte            // a buffer for the next operation's nodeWalk
	last      *replay.Record    // the last record after the snapshot; nil if none
	tail      int               // records after the snapshot
}

// epochSecrets is the secret tree of one epoch that a snapshot leaves to
// "k/" entries.
type epochSecrets struct {
	epoch uint64
	st    keysched.SecretTree
}

func logHeader(policyID string) replay.Header {
	return replay.Header{Format: replay.FormatVersion, Mode: replay.SnapshotAndTail, Module: moduleName, PolicyID: policyID}
}

// snapshotVersion versions the value under "g/": 1 is the 0.2
// development layout (state.AppendSplit, secret trees inline), which
// openGroupLog still reads and the first change rewrites; 2 leaves the
// current and past epochs' secret trees to "k/" entries
// (state.AppendSplitSecrets).
const (
	snapshotV1      = 1
	snapshotVersion = 2
)

// snapshotHeader is the size of the value under "g/" before the split
// state: the version, Seq and Prev.
const snapshotHeader = 1 + 8 + 32

// snapshotValue encodes the value under "g/": the version, the log
// position (Seq, Prev) and the split state of s, in one buffer of room
// for hint bytes of split state (the previous one's size), and returns
// it with the trees and the secret trees the split state references. The
// state's digest is not stored (computing it costs as much as the rest of
// an application message): ExportLog computes it.
func snapshotValue(seq uint64, prev [32]byte, s state.GroupState, hint int) ([]byte, []tree.Tree, []epochSecrets, error) {
	v := make([]byte, 0, snapshotHeader+hint+hint/8+64)
	v = append(v, snapshotVersion)
	v = binary.BigEndian.AppendUint64(v, seq)
	v = append(v, prev[:]...)
	var trees []tree.Tree
	var secs []epochSecrets
	v, err := state.AppendSplitSecrets(v, s, func(t tree.Tree) { trees = append(trees, t) },
		func(epoch uint64, st keysched.SecretTree) { secs = append(secs, epochSecrets{epoch, st}) })
	return v, trees, secs, err
}

func decodeSnapshotValue(id, v []byte) (replay.Snapshot, []byte, error) {
	if len(v) < snapshotHeader || (v[0] != snapshotVersion && v[0] != snapshotV1) {
		return replay.Snapshot{}, nil, fmt.Errorf("%w: group %x: snapshot of an unknown version", ErrDamaged, id)
	}
	snap := replay.Snapshot{Seq: binary.BigEndian.Uint64(v[1:]), Group: bytes.Clone(id)}
	copy(snap.Prev[:], v[9:snapshotHeader])
	return snap, v[snapshotHeader:], nil
}

// putSecrets puts into b what changes in the "k/" entries when the stored
// secret trees (l.secrets) become secs: the entries a tree of a stored
// epoch changed (keysched.SecretTree.ChangedEntries: put, or deleted when
// gone), every entry of a new epoch's tree, and the deletion of the
// entries of the epochs secs no longer lists.
func (l *groupLog) putSecrets(b *Batch, secs []epochSecrets) {
	put := func(st keysched.SecretTree, epoch uint64, x uint32) { l.putEntry(b, st, epoch, x) }
	for _, e := range secs {
		old, stored := l.storedSecrets(e.epoch)
		if stored && e.st.ChangedEntries(old, func(x uint32) { put(e.st, e.epoch, x) }) {
			continue
		}
		if stored { // another tree of that epoch: replace it whole
			for x := range old.Entries() {
				b.Delete(entryKey(l.id, e.epoch, x))
			}
		}
		for x := range e.st.Entries() {
			put(e.st, e.epoch, x)
		}
	}
	for _, o := range l.secrets {
		if !slices.ContainsFunc(secs, func(e epochSecrets) bool { return e.epoch == o.epoch }) {
			for x := range o.st.Entries() {
				b.Delete(entryKey(l.id, o.epoch, x))
			}
		}
	}
}

// putEntry puts into b entry x of epoch's secret tree st, or its deletion
// if st has none.
func (l *groupLog) putEntry(b *Batch, st keysched.SecretTree, epoch uint64, x uint32) {
	k := entryKey(l.id, epoch, x)
	if v, ok := st.AppendEntry(nil, x); ok {
		b.Put(k, v)
	} else {
		b.Delete(k)
	}
}

// storedSecrets returns the stored secret tree of epoch.
func (l *groupLog) storedSecrets(epoch uint64) (keysched.SecretTree, bool) {
	for _, o := range l.secrets {
		if o.epoch == epoch {
			return o.st, true
		}
	}
	return keysched.SecretTree{}, false
}

// loadSecrets reads the entries of epoch's secret tree, in index order.
func loadSecrets(ctx context.Context, store Storage, id []byte, epoch uint64) ([]keysched.SecretEntry, error) {
	prefix := groupKey("k/", id, binary.BigEndian.AppendUint64(nil, epoch)...)
	keys, err := store.Keys(ctx, prefix)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: group %x: no secret tree stored for epoch %d", ErrDamaged, id, epoch)
	}
	out := make([]keysched.SecretEntry, 0, len(keys))
	for _, k := range keys {
		if len(k) != len(prefix)+4 {
			return nil, fmt.Errorf("%w: group %x: secret tree key %x", ErrDamaged, id, k)
		}
		v, err := store.Get(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("mls: group %x: secret tree of epoch %d: %w", id, epoch, err)
		}
		out = append(out, keysched.SecretEntry{Index: binary.BigEndian.Uint32(k[len(prefix):]), Value: v})
	}
	return out, nil
}

// The kinds of a stored tree node.
const (
	nodeBlankLeaf   = 0
	nodeLeaf        = 1
	nodeBlankParent = 2
	nodeParent      = 3
)

// appendNodeValue appends the value of node r to v: its kind, its
// content (the LeafNode's or ParentNode's encoding, copied from the
// tree), and for a parent the tree hashes of its children, each an
// opaque<V>.
func appendNodeValue(v []byte, r tree.NodeRef) []byte {
	at := len(v)
	left, right, parent := r.Children()
	v, blank := r.AppendContent(append(v, 0))
	switch {
	case !parent && blank:
		v[at] = nodeBlankLeaf
	case !parent:
		v[at] = nodeLeaf
	case blank:
		v[at] = nodeBlankParent
	default:
		v[at] = nodeParent
	}
	if parent {
		v = appendOpaqueHash(v, left)
		v = appendOpaqueHash(v, right)
	}
	return v
}

// appendOpaqueHash appends r's tree hash as an opaque<V>.
func appendOpaqueHash(v []byte, r tree.NodeRef) []byte {
	var k nodeKey
	return codec.AppendOpaque(v, r.AppendHash(k[:0]))
}

// nodeKey is a tree hash as a map key, zero-padded: every hash of one
// group's trees has its suite's length. The reference counts hold one
// per stored node (two per member), so the key holds no pointer for the
// garbage collector to follow and needs no allocation of its own.
type nodeKey [64]byte

// refDelta is the change an operation makes to groupLog.refs; it applies
// only once the operation's batch is committed.
type refDelta map[nodeKey]int32

// maxScratch bounds the buffers a groupLog keeps for its next operation:
// what one commit of a large group needs, not the first snapshot's
// whole tree.
const maxScratch = 64 << 10

// nodeWalk counts the references one operation adds and drops, and puts
// into b (nil: only counting) the nodes it stores and deletes. Their keys
// and values are appended to buf, one buffer that the log reuses for its
// next operation: a backend copies what Commit stores.
type nodeWalk struct {
	l   *groupLog
	b   *Batch
	d   refDelta
	buf []byte
}

// newNodeWalk starts an operation's walk with the log's scratch buffers.
func (l *groupLog) newNodeWalk(b *Batch) *nodeWalk {
	w := &nodeWalk{l: l, b: b, d: l.delta, buf: l.scratch[:0]}
	l.delta, l.scratch = nil, nil // back in done, unless the operation fails
	if w.d == nil {
		w.d = refDelta{}
	}
	return w
}

// done applies the walk's reference counts once its batch is committed,
// and keeps its buffers for the next operation.
func (w *nodeWalk) done() {
	w.l.applyDelta(w.d)
	if len(w.d) <= maxScratch/128 {
		clear(w.d)
		w.l.delta = w.d
	}
	if cap(w.buf) <= maxScratch {
		w.l.scratch = w.buf
	}
}

// nodeKeyOf appends to w.buf the storage key of the node whose tree hash
// is h, and returns it.
func (w *nodeWalk) nodeKeyOf(h []byte) []byte {
	at := len(w.buf)
	w.buf = append(w.buf, "n/"...)
	w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(len(w.l.id)))
	w.buf = append(append(w.buf, w.l.id...), h...)
	return w.buf[at:len(w.buf):len(w.buf)]
}

// addTree references t's root: its new nodes are put into w.b.
func (w *nodeWalk) addTree(t tree.Tree) {
	if r, ok := t.RootRef(); ok {
		w.ref(r, 1)
	}
}

// dropTree removes a reference to t's root, deleting the nodes no longer
// referenced.
func (w *nodeWalk) dropTree(t tree.Tree) {
	if r, ok := t.RootRef(); ok {
		w.ref(r, -1)
	}
}

// ref adds (by = 1) or removes (by = -1) a reference to node r. A node is
// stored while it is referenced: its first reference puts it into w.b
// and references its children, its last deletes it and drops its
// children's references. Other changes stop there: the subtree stays.
func (w *nodeWalk) ref(r tree.NodeRef, by int32) {
	var k nodeKey
	h := r.AppendHash(k[:0])
	n := w.l.refs[k] + w.d[k]
	w.d[k] += by
	if (n > 0) == (n+by > 0) {
		return
	}
	switch {
	case by < 0:
		w.b.Delete(w.nodeKeyOf(h))
	case w.b != nil:
		key := w.nodeKeyOf(h)
		at := len(w.buf)
		w.buf = appendNodeValue(w.buf, r)
		w.b.Put(key, w.buf[at:len(w.buf):len(w.buf)])
	}
	if left, right, ok := r.Children(); ok {
		w.ref(left, by)
		w.ref(right, by)
	}
}

func (l *groupLog) applyDelta(d refDelta) {
	for k, n := range d {
		if m := l.refs[k] + n; m > 0 {
			l.refs[k] = m
		} else {
			delete(l.refs, k)
		}
	}
}

// loadTree reads the tree of the given leaf count and root hash from the
// stored nodes.
func loadTree(ctx context.Context, store Storage, id []byte, cs *suite.Suite, leaves treemath.LeafCount, hash []byte) (tree.Tree, error) {
	if leaves > treemath.MaxLeaves {
		return tree.Tree{}, fmt.Errorf("%w: tree of %d leaves", ErrDamaged, leaves)
	}
	nodes := make(codec.RatchetTree, treemath.NodeWidth(leaves))
	var walk func(x treemath.NodeIndex, h []byte) error
	walk = func(x treemath.NodeIndex, h []byte) error {
		v, err := store.Get(ctx, groupKey("n/", id, h...))
		if err != nil {
			return fmt.Errorf("mls: group %x: tree node %d: %w", id, x, err)
		}
		d := codec.NewDecoder(v)
		kind := d.Uint8()
		switch {
		case !d.OK():
		case x.IsLeaf() && kind == nodeLeaf:
			ln := new(codec.LeafNode)
			ln.Unmarshal(d)
			nodes[x] = &codec.Node{NodeType: codec.NodeTypeLeaf, Leaf: ln}
		case x.IsLeaf() && kind == nodeBlankLeaf:
		case !x.IsLeaf() && (kind == nodeParent || kind == nodeBlankParent):
			if kind == nodeParent {
				p := new(codec.ParentNode)
				p.Unmarshal(d)
				nodes[x] = &codec.Node{NodeType: codec.NodeTypeParent, Parent: p}
			}
			lh, rh := d.Opaque(), d.Opaque()
			if err := d.Finish("tree node"); err != nil {
				return fmt.Errorf("%w: group %x: tree node %d: %w", ErrDamaged, id, x, err)
			}
			if err := walk(treemath.Left(x), lh); err != nil {
				return err
			}
			return walk(treemath.Right(x), rh)
		default:
			d.Failf(codec.ErrInvalidValue, "node kind %d at node %d", kind, x)
		}
		if err := d.Finish("tree node"); err != nil {
			return fmt.Errorf("%w: group %x: tree node %d: %w", ErrDamaged, id, x, err)
		}
		return nil
	}
	if err := walk(treemath.Root(leaves), hash); err != nil {
		return tree.Tree{}, err
	}
	for len(nodes) > 0 && nodes[len(nodes)-1] == nil {
		nodes = nodes[:len(nodes)-1]
	}
	t, err := tree.FromNodes(cs, nodes)
	if err != nil {
		return tree.Tree{}, fmt.Errorf("%w: group %x: stored tree: %w", ErrDamaged, id, err)
	}
	if !bytes.Equal(t.Hash(), hash) {
		return tree.Tree{}, fmt.Errorf("%w: group %x: stored tree hashes to %x, not %x", ErrDamaged, id, t.Hash(), hash)
	}
	return t, nil
}

// newGroupLog returns the log of a new group whose first state is s, and
// puts its snapshot into b. The log is usable once b is committed and
// the returned function called.
func newGroupLog(b *Batch, store Storage, id []byte, policyID string, keep int, s state.GroupState) (*groupLog, func(), error) {
	if len(id) > maxGroupID {
		return nil, nil, checkGroupID("group id", id)
	}
	l := &groupLog{store: store, id: bytes.Clone(id), header: logHeader(policyID), keep: keep, refs: map[nodeKey]int32{}}
	done, err := l.snapshot(b, 0, [32]byte{}, s)
	if err != nil {
		return nil, nil, err
	}
	return l, done, nil
}

// snapshot puts into b the snapshot of s as the starting point of record
// seq, whose Prev is prev: the split state unless it is the stored one,
// the new tree nodes, the secret tree entries that changed, the deletion
// of the nodes, entries and records it makes unreachable. The returned
// function updates l once b is committed.
func (l *groupLog) snapshot(b *Batch, seq uint64, prev [32]byte, s state.GroupState) (func(), error) {
	if done, ok := l.secretsOnly(b, seq, prev, s); ok {
		return done, nil
	}
	value, trees, secs, err := snapshotValue(seq, prev, s, len(l.split))
	if err != nil {
		return nil, err
	}
	split := value[snapshotHeader:]
	// An application message changes only a secret tree: the split
	// state, and with it the trees, stays as stored.
	same := l.version == snapshotVersion && seq == l.snap.Seq && prev == l.snap.Prev && bytes.Equal(split, l.split)
	var w *nodeWalk
	if same {
		clear(value)
		split, trees = l.split, l.trees
	} else {
		w = l.newNodeWalk(b)
		for _, t := range trees {
			w.addTree(t)
		}
		for _, t := range l.trees {
			w.dropTree(t)
		}
		b.Put(groupKey("g/", l.id), value)
	}
	l.putSecrets(b, secs)
	snap := replay.Snapshot{Seq: seq, Prev: prev, Group: l.id}
	for i := range l.tail {
		b.Delete(recordKey(l.id, l.snap.Seq+uint64(i)))
	}
	if l.journal {
		// The records go, and the signatures journaled for them.
		keys, err := l.store.Keys(ctx, groupKey("v/", l.id))
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			b.Delete(k)
		}
	}
	return func() {
		if !same {
			w.done()
			clear(l.split)
		}
		l.snap, l.snapState, l.version, l.split, l.trees, l.secrets, l.last, l.tail = snap, s, snapshotVersion, split, trees, secs, nil, 0
	}, nil
}

// secretsOnly is snapshot's path for a state that differs from the
// stored one in the current epoch's secret tree alone, by construction
// (state.SameButSecrets: an application message, sent or received in the
// current epoch): it puts into b the entries of that tree that changed,
// without encoding the rest of the state, which is as stored. It returns
// false, having put nothing into b, for any other state.
func (l *groupLog) secretsOnly(b *Batch, seq uint64, prev [32]byte, s state.GroupState) (func(), bool) {
	if l.version != snapshotVersion || seq != l.snap.Seq || prev != l.snap.Prev || !state.SameButSecrets(l.snapState, s) ||
		len(l.secrets) == 0 || l.secrets[0].epoch != s.Epoch() {
		return nil, false
	}
	// The split state lists the current epoch's tree first.
	st, epoch := s.Secrets(), l.secrets[0].epoch
	if !st.ChangedEntries(l.secrets[0].st, func(x uint32) { l.putEntry(b, st, epoch, x) }) {
		return nil, false // another shape: not a version of the stored tree
	}
	return func() {
		// l.secrets is the log's own (snapshot gives it a new slice).
		l.snapState, l.secrets[0].st = s, st
	}, true
}

// openGroupLog reads group id's snapshot, trees and records, and replays
// the records to the group's current state. env supplies the key store
// the records were applied with.
func openGroupLog(ctx context.Context, store Storage, id []byte, policyID string, keep int, signer []effects.PersistSecret, env replay.EnvFunc) (*groupLog, state.GroupState, error) {
	v, err := store.Get(ctx, groupKey("g/", id))
	if err != nil {
		return nil, state.GroupState{}, err
	}
	defer clear(v)
	snap, split, err := decodeSnapshotValue(id, v)
	if err != nil {
		return nil, state.GroupState{}, err
	}
	l := &groupLog{store: store, id: bytes.Clone(id), header: logHeader(policyID), keep: keep, snap: snap, version: v[0], refs: map[nodeKey]int32{}}
	// The snapshot's trees and proposals are read within the client's
	// Limits: a damaged store cannot make loadTree allocate for more
	// leaves than the client accepts.
	var lim transitions.Limits
	if env != nil {
		lim = env(replay.Record{}).Limits
	}
	getTree := func(cs *suite.Suite, leaves treemath.LeafCount, hash []byte) (tree.Tree, error) {
		t, err := loadTree(ctx, store, id, cs, leaves, hash)
		if err == nil {
			l.trees = append(l.trees, t)
		}
		return t, err
	}
	if l.version == snapshotV1 {
		l.snapState, err = state.DecodeSplitBounded(split, lim.Bounds(), getTree)
	} else {
		l.snapState, err = state.DecodeSplitSecrets(split, lim.Bounds(), getTree, func(epoch uint64) ([]keysched.SecretEntry, error) {
			return loadSecrets(ctx, store, id, epoch)
		})
	}
	if err != nil {
		return nil, state.GroupState{}, fmt.Errorf("%w: group %x: %w", ErrDamaged, id, err)
	}
	if l.version == snapshotVersion {
		// The stored secret trees, as the snapshot lists them.
		if _, _, l.secrets, err = snapshotValue(snap.Seq, snap.Prev, l.snapState, len(split)); err != nil {
			return nil, state.GroupState{}, err
		}
	}
	l.split = bytes.Clone(split)
	w := &nodeWalk{l: l, d: refDelta{}}
	for _, t := range l.trees {
		w.addTree(t)
	}
	l.refs = w.d // refs was empty
	recs, err := l.records(ctx)
	if err != nil {
		return nil, state.GroupState{}, err
	}
	if len(recs) == 0 {
		return l, l.snapState, nil
	}
	data, err := l.export(recs, signer)
	if err != nil {
		return nil, state.GroupState{}, err
	}
	defer clear(data)
	lg, err := replay.ReadLog(data)
	if err != nil {
		return nil, state.GroupState{}, err
	}
	res, err := replay.ReplayLog(lg, env)
	if err != nil {
		return nil, state.GroupState{}, err
	}
	l.last, l.tail = &recs[len(recs)-1], len(recs)
	return l, res.Final(), nil
}

// records reads the records after the snapshot, checking their chain.
func (l *groupLog) records(ctx context.Context) ([]replay.Record, error) {
	keys, err := l.store.Keys(ctx, groupKey("r/", l.id))
	if err != nil {
		return nil, err
	}
	var out []replay.Record
	prev := l.snap.Prev
	for i, k := range keys {
		v, err := l.store.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		r, err := replay.DecodeRecord(v)
		if err != nil {
			return nil, fmt.Errorf("%w: group %x: record %d: %w", ErrDamaged, l.id, i, err)
		}
		if r.Seq != l.snap.Seq+uint64(i) || r.Prev != prev || !bytes.Equal(k, recordKey(l.id, r.Seq)) {
			return nil, fmt.Errorf("%w: group %x: record %d does not continue the log", ErrDamaged, l.id, r.Seq)
		}
		prev = replay.Hash(r)
		out = append(out, r)
	}
	return out, nil
}

// export returns the log in package replay's format: the snapshot (with
// the state encoded whole, and signer's secrets) and recs.
func (l *groupLog) export(recs []replay.Record, signer []effects.PersistSecret) ([]byte, error) {
	data, err := replay.EncodeSnapshotData(l.snapState, signer)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	snap := l.snap
	snap.State, snap.Data = l.snapState.Digest(), data
	var buf bytes.Buffer
	w, err := replay.NewSnapshotWriter(&buf, l.header, snap)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if _, err := w.Append(r); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// record puts into b the outcome of one event (a, from the driver
// replay.Apply), step 1 of the effects order: its record, or a new
// snapshot of the new state when the tail is full. With keep = 0 an event
// that did not change the state (a rejected input, an export) writes
// nothing: there is nothing to recover. The returned function (nil if
// nothing was written) updates l once b is committed.
//
// sigs are the signatures a randomized external signer made during the
// event, journaled with its record (sigJournal).
func (l *groupLog) record(b *Batch, a *replay.Applied, sigs []journalEntry) (func(), error) {
	if l.keep == 0 {
		// No record is kept: the snapshot is the state, and the chain's
		// position does not move. An unchanged state (a rejected input,
		// an export) encodes to the same bytes: nothing is written.
		if a.Err != nil {
			return nil, nil
		}
		done, err := l.snapshot(b, l.snap.Seq, l.snap.Prev, a.Next)
		if err != nil {
			return nil, &replay.RecordError{Err: err}
		}
		return done, nil
	}
	rec, err := a.Record()
	if err != nil {
		return nil, &replay.RecordError{Err: err}
	}
	changed := a.Err == nil && rec.State != a.State.Digest()
	var w *replay.Writer
	if l.last != nil {
		w = replay.ResumeWriter(io.Discard, l.header, l.last)
	} else {
		w = replay.ResumeAfterSnapshot(io.Discard, l.header, l.snap)
	}
	if rec, err = w.Append(rec); err != nil {
		return nil, &replay.RecordError{Err: err}
	}
	if l.keep > 0 && l.tail+1 > l.keep {
		if !changed {
			// Nothing to snapshot, and the record would overflow the
			// tail: dropping it keeps the retention promise.
			return nil, nil
		}
		done, err := l.snapshot(b, rec.Seq+1, replay.Hash(rec), a.Next)
		if err != nil {
			return nil, &replay.RecordError{Err: err}
		}
		return done, nil
	}
	b.Put(recordKey(l.id, rec.Seq), replay.EncodeRecord(rec))
	for _, e := range sigs {
		b.Put(groupKey("v/", l.id, e.key[:]...), e.sig)
		l.journal = true
	}
	return func() { l.last, l.tail = &rec, l.tail+1 }, nil
}

// remove puts into b the deletion of everything the group stored.
func (l *groupLog) remove(ctx context.Context, b *Batch) error {
	for _, kind := range []string{"n/", "k/", "r/", "a/", "v/"} {
		keys, err := l.store.Keys(ctx, groupKey(kind, l.id))
		if err != nil {
			return err
		}
		for _, k := range keys {
			b.Delete(k)
		}
	}
	b.Delete(groupKey("g/", l.id))
	return nil
}

// groupIDOfKey returns the group id of a "g/" key.
func groupIDOfKey(k []byte) ([]byte, error) {
	if len(k) < 4 || int(binary.BigEndian.Uint16(k[2:])) != len(k)-4 {
		return nil, fmt.Errorf("%w: storage key %x under g/ is not a group's", ErrDamaged, k)
	}
	return k[4:], nil
}
