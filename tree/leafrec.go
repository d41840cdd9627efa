package tree

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
)

// leafRec is a leaf node as a tree keeps it: its encoding alone, in one
// allocation of exactly its size (about 170 bytes for a basic credential
// and short capabilities, where the decoded codec.LeafNode with its slices
// takes about 470). A tree holds one per member, so this is most of a
// member's share of the group state. It is never modified after
// construction, and like the nodes it is shared by every tree version
// (epoch) that keeps the leaf: a path copy copies the node pointing to it,
// not the record.
//
// The keys the index and the uniqueness checks read, and the parent_hash
// that parent-hash verification reads, are sub-slices found by reading the
// length prefixes (view); the rest is decoded on demand (decode), for the
// accessors that hand out a *codec.LeafNode.
type leafRec struct {
	raw []byte
}

// newLeafRec returns the record of ln. Its encoding must decode back
// (codec decoding is stricter than encoding: it rejects, for example,
// duplicate extension types), so that decode never fails afterwards; a
// leaf node that does not round-trip is rejected here, before it enters a
// tree.
func newLeafRec(ln *codec.LeafNode) (*leafRec, error) {
	r, err := encodeLeafRec(ln)
	if err != nil {
		return nil, err
	}
	if _, err := codec.DecodeLeafNode(r.raw); err != nil {
		return nil, fmt.Errorf("mls: leaf node does not decode: %w", err)
	}
	return r, nil
}

// encodeLeafRec is newLeafRec for a leaf node that was itself decoded from
// bytes (a received ratchet tree): decoding is strict (Encode(Decode(b))
// == b), so its encoding decodes again and the check is skipped.
func encodeLeafRec(ln *codec.LeafNode) (*leafRec, error) {
	var b cryptobyte.Builder
	ln.Marshal(&b)
	raw, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("mls: leaf node does not encode: %w", err)
	}
	// One exact-size copy: the builder's buffer has spare capacity.
	return &leafRec{raw: append(make([]byte, 0, len(raw)), raw...)}, nil
}

// decode returns a fresh decoded copy of the leaf node, which the caller
// owns. The record was checked to decode when it was built, so the error
// branch is unreachable; it returns nil rather than panic.
func (r *leafRec) decode() *codec.LeafNode {
	ln, err := codec.DecodeLeafNode(r.raw)
	if err != nil {
		return nil
	}
	return &ln
}

// leafView holds the fields of a leaf node that the tree itself reads, as
// sub-slices of its record's encoding (capacity clipped, so that appending
// to one cannot write into the record). They must not be modified.
type leafView struct {
	encryptionKey []byte
	signatureKey  []byte
	source        codec.LeafNodeSource
	parentHash    []byte // commit source only
	// tbsEnd is the length of the fields LeafNodeTBS shares with the
	// LeafNode (all but the signature), signature the signature.
	tbsEnd    int
	signature []byte
}

// keys returns the leaf's encryption and signature keys: the first two
// fields of a LeafNode, read without decoding the rest.
func (r *leafRec) keys() (enc, sig []byte) {
	s := cryptobyte.String(r.raw)
	enc, _ = readOpaque(&s)
	sig, _ = readOpaque(&s)
	return enc, sig
}

// view reads the fields of leafView from the encoding, skipping the
// credential and the capabilities by their length prefixes (every
// credential body, basic, x509 or other, is one varint-prefixed field).
func (r *leafRec) view() leafView {
	var v leafView
	s := cryptobyte.String(r.raw)
	var credType uint16
	var src uint8
	ok := true
	v.encryptionKey, ok = readOpaque(&s)
	if ok {
		v.signatureKey, ok = readOpaque(&s)
	}
	ok = ok && s.ReadUint16(&credType)
	// The credential body, then the five capability lists.
	for range 6 {
		if ok {
			_, ok = readOpaque(&s)
		}
	}
	ok = ok && s.ReadUint8(&src)
	v.source = codec.LeafNodeSource(src)
	switch {
	case !ok:
	case v.source == codec.LeafNodeSourceKeyPackage:
		ok = s.Skip(16) // lifetime
	case v.source == codec.LeafNodeSourceCommit:
		v.parentHash, ok = readOpaque(&s)
	}
	if ok {
		_, ok = readOpaque(&s) // extensions
	}
	if ok {
		v.tbsEnd = len(r.raw) - len(s)
		v.signature, _ = readOpaque(&s)
	}
	return v
}

// verify verifies the leaf's signature over its LeafNodeTBS, as
// VerifyLeafSignature does for the decoded node: the TBS is the record's
// encoding without the signature (the encoding is canonical), followed by
// groupID and the leaf index i for the update and commit sources.
func (r *leafRec) verify(s *suite.Suite, groupID []byte, i treemath.LeafIndex) error {
	v := r.view()
	tbs := r.raw[:v.tbsEnd:v.tbsEnd]
	if v.source == codec.LeafNodeSourceUpdate || v.source == codec.LeafNodeSourceCommit {
		b := cryptobyte.NewBuilder(make([]byte, 0, v.tbsEnd+len(groupID)+8))
		b.AddBytes(tbs)
		codec.AddOpaque(b, groupID)
		b.AddUint32(uint32(i))
		var err error
		if tbs, err = b.Bytes(); err != nil {
			return fmt.Errorf("%w: leaf %d: %w", ErrLeafSignature, i, err)
		}
	}
	if err := s.VerifyWithLabel(v.signatureKey, leafNodeTBSLabel, tbs, v.signature); err != nil {
		return fmt.Errorf("%w: leaf %d: %w", ErrLeafSignature, i, err)
	}
	return nil
}

// readOpaque reads an opaque<V> (a varint length and that many bytes) and
// returns a clipped sub-slice of s's bytes.
func readOpaque(s *cryptobyte.String) ([]byte, bool) {
	var n uint32
	var out []byte
	if !codec.ReadVarint(s, &n) || !s.ReadBytes(&out, int(n)) {
		return nil, false
	}
	if len(out) == 0 {
		return nil, true
	}
	return out[:len(out):len(out)], true
}

// parentRec is a parent node as a tree keeps it: its encoding, in one
// exact-size allocation (67 bytes for a 32-byte key and parent hash and no
// unmerged leaves, where the decoded codec.ParentNode with its two slices
// takes 144). Like leafRec it is immutable and shared by every tree
// version that keeps the node. Any encoding of a ParentNode decodes (its
// decoding checks only the syntax), so decode cannot fail.
type parentRec struct {
	raw []byte
}

// newParentRec returns the record of p: its encoding, written straight
// into a buffer of exactly its size (a commit builds one per node of its
// path).
func newParentRec(p *codec.ParentNode) (*parentRec, error) {
	return parentRecOf(p.EncryptionKey, p.ParentHash, p.UnmergedLeaves)
}

// parentRecOf returns the record of the parent node with these fields.
func parentRecOf(key, parentHash []byte, unmerged []treemath.LeafIndex) (*parentRec, error) {
	um := 4 * len(unmerged)
	if len(key) > codec.MaxVarint || len(parentHash) > codec.MaxVarint || um > codec.MaxVarint {
		return nil, fmt.Errorf("mls: parent node does not encode: %w", codec.ErrTooLong)
	}
	raw := make([]byte, 0, codec.OpaqueLen(len(key))+codec.OpaqueLen(len(parentHash))+codec.OpaqueLen(um))
	raw = codec.AppendOpaque(raw, key)
	raw = codec.AppendOpaque(raw, parentHash)
	raw = codec.AppendVarint(raw, uint32(um))
	for _, l := range unmerged {
		raw = binary.BigEndian.AppendUint32(raw, uint32(l))
	}
	return &parentRec{raw: raw}, nil
}

// withUnmerged returns a record with r's key and parent hash and the
// unmerged leaves um (sorted), read and written without decoding r.
func (r *parentRec) withUnmerged(um []treemath.LeafIndex) (*parentRec, error) {
	key, ph, _ := r.fields()
	return parentRecOf(key, ph, um)
}

// unmerged returns the record's unmerged leaves (nil if none), in a slice
// the caller owns.
func (r *parentRec) unmerged() []treemath.LeafIndex {
	_, _, raw := r.fields()
	if len(raw) == 0 {
		return nil
	}
	out := make([]treemath.LeafIndex, len(raw)/4)
	for j := range out {
		out[j] = unmergedAt(raw, j)
	}
	return out
}

// decode returns a fresh decoded copy of the parent node, which the caller
// owns (nil in the unreachable case of a record that does not decode).
func (r *parentRec) decode() *codec.ParentNode {
	p, err := codec.DecodeParentNode(r.raw)
	if err != nil {
		return nil
	}
	return &p
}

// fields returns the encryption key and parent hash (clipped sub-slices
// of the record, not to be modified) and the encoded unmerged_leaves (4
// bytes per leaf index, big-endian), read by their length prefixes.
func (r *parentRec) fields() (key, parentHash, unmerged []byte) {
	s := cryptobyte.String(r.raw)
	key, ok := readOpaque(&s)
	if ok {
		parentHash, ok = readOpaque(&s)
	}
	if ok {
		unmerged, _ = readOpaque(&s)
	}
	return key, parentHash, unmerged
}

// key returns the parent's encryption key.
func (r *parentRec) key() []byte {
	s := cryptobyte.String(r.raw)
	k, _ := readOpaque(&s)
	return k
}

// unmergedAt returns the j-th entry of an encoded unmerged_leaves list
// (fields); the list holds len(um)/4 entries.
func unmergedAt(um []byte, j int) treemath.LeafIndex {
	return treemath.LeafIndex(binary.BigEndian.Uint32(um[4*j:]))
}
