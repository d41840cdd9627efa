package state

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// encodingMagic and EncodingVersion open every state encoding. Changing
// the encoding means bumping EncodingVersion; Decode rejects versions it
// does not know instead of misreading them.
var encodingMagic = [8]byte{'M', 'L', 'S', 'S', 'T', 'A', 'T', 'E'}

// EncodingVersion is the version of the state encoding that Encode writes
// and Decode reads.
const EncodingVersion uint16 = 1

// maxNesting bounds how deeply states nest in an encoding (a staged join's
// prior state holding a pending commit's next state, …), so that hostile
// input cannot recurse without bound. Real states nest at most 3 deep.
const maxNesting = 4

// ErrEncoding reports a state encoding that Decode rejects: not a state
// encoding, an unknown version, malformed or inconsistent content. It
// wraps the decoding error with the byte offset.
var ErrEncoding = errors.New("mls: invalid group state encoding")

// Encode returns the canonical encoding of the whole state s — a snapshot
// from which Decode rebuilds a state with the same Digest that behaves
// exactly like s under every later event.
//
// The encoding holds the state's secrets: the HPKE private keys of the own
// path, the epoch secrets, the secret tree with its ratchet secrets and
// retained out-of-order keys, the secret trees of retained past epochs,
// resumption PSKs, and the same for a pending commit, staged commit or
// staged join. Anyone who reads it can decrypt the group's current (and
// retained past) messages. Store it like key material, and erase every
// older encoding once a newer state is durable: forward secrecy depends on
// it (RFC 9420, Section 9.2). The census is not stored; Decode recomputes
// it from the tree.
func Encode(s GroupState) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddBytes(encodingMagic[:])
	b.AddUint16(EncodingVersion)
	s.marshalState(&b, nil)
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("mls: encoding group state: %w", err)
	}
	return out, nil
}

// Decode rebuilds a state from Encode's output. Decoding is strict and
// bounded: the version must be EncodingVersion, every vector and flag is
// canonical, there are no trailing bytes, lengths of secrets and keys are
// the suite's, the tree's hash is the GroupContext's, the private path and
// the secret trees are consistent with their trees, and New's invariants
// hold. Hostile input gives an error wrapping ErrEncoding, never a panic,
// and allocation stays proportional to the input.
//
// Decode bounds a tree by the leaf count the encoding declares for it,
// which a hostile encoding chooses: decode untrusted snapshots with
// DecodeBounded.
func Decode(data []byte) (GroupState, error) { return DecodeBounded(data, codec.Bounds{}) }

// DecodeBounded is Decode within the caller's bounds (zero fields: no
// bound): every tree of the state (current, past epochs, pending and
// staged states) has at most b.MaxLeaves leaves, checked on the leaf count
// stored before the tree, and the proposal store at most b.MaxProposals
// proposals. A state over a bound fails with an error wrapping ErrEncoding
// and a *codec.LimitError naming it, before the tree's bytes are read
// (TestDecodeBoundedHostileTree: under 1 byte allocated per input byte).
// Within the bounds a
// state costs what its trees cost (see the tree package: about 150 bytes
// per node of each padded tree) plus its secrets.
func DecodeBounded(data []byte, b codec.Bounds) (GroupState, error) {
	d := codec.NewBoundedDecoder(data, b)
	if mg := d.Fixed(len(encodingMagic)); d.OK() && !bytes.Equal(mg, encodingMagic[:]) {
		d.Failf(codec.ErrInvalidValue, "not a group state encoding")
	}
	if v := d.Uint16(); d.OK() && v != EncodingVersion {
		d.Failf(codec.ErrInvalidValue, "state encoding version %d, this reader knows %d", v, EncodingVersion)
	}
	s := unmarshalState(d, 0, nil)
	if err := d.Finish("GroupState"); err != nil {
		return GroupState{}, fmt.Errorf("%w: %w", ErrEncoding, err)
	}
	return s, nil
}

// The kinds of state in an encoding.
const (
	kindZero    = 0
	kindJoining = 1
	kindInGroup = 2
)

func (s GroupState) marshalState(b *cryptobyte.Builder, tc *treeCodec) {
	switch {
	case s.pub == nil && (s.priv == nil || s.priv.join == nil):
		b.AddUint8(kindZero)
	case s.pub == nil:
		b.AddUint8(kindJoining)
		j := s.priv.join
		j.Next.marshalState(b, tc.nested())
		codec.AddOpaque(b, j.KeyPackageRef)
		addBool(b, j.LastResort)
		j.Prior.marshalState(b, tc.nested())
	default:
		b.AddUint8(kindInGroup)
		marshalPublic(b, s.pub.p, tc)
		marshalPrivate(b, s.priv.p, s.pub.p.Context.Epoch, s.pub.p.Config, tc)
	}
}

func unmarshalState(d *codec.Decoder, depth int, tc *treeCodec) GroupState {
	kind := d.Uint8()
	if !d.OK() {
		return GroupState{}
	}
	if depth > maxNesting {
		d.Failf(codec.ErrInvalidValue, "states nested more than %d deep", maxNesting)
		return GroupState{}
	}
	switch kind {
	case kindZero:
		return GroupState{}
	case kindJoining:
		var j StagedJoin
		j.Next = unmarshalState(d, depth+1, tc.nested())
		j.KeyPackageRef = d.Opaque()
		j.LastResort = d.Optional()
		j.Prior = unmarshalState(d, depth+1, tc.nested())
		if d.OK() && !j.Next.InGroup() {
			d.Failf(codec.ErrInvalidValue, "staged join without a group state")
		}
		if !d.OK() {
			return GroupState{}
		}
		return Joining(core.K(), j)
	case kindInGroup:
		pub := unmarshalPublic(d, tc)
		priv := unmarshalPrivate(d, pub, depth, tc)
		if !d.OK() {
			return GroupState{}
		}
		s, err := New(core.K(), pub, priv)
		if err != nil {
			d.Fail(err)
			return GroupState{}
		}
		return s
	default:
		d.Failf(codec.ErrInvalidValue, "state kind %d", kind)
		return GroupState{}
	}
}

// marshalPublic encodes the public part; the census is left out (it is a
// function of the tree).
func marshalPublic(b *cryptobyte.Builder, p Public, tc *treeCodec) {
	b.AddUint16(uint16(p.Suite.ID()))
	p.Context.Marshal(b)
	marshalTree(b, p.Tree, tc)
	codec.AddOpaque(b, p.Interim)
	codec.AddOpaque(b, p.ConfirmationTag)
	p.Config.Marshal(b)
	marshalProposals(b, p.Proposals)
	addBool(b, p.Active)
	addBool(b, p.ReInit != nil)
	if p.ReInit != nil {
		p.ReInit.Marshal(b)
	}
}

func unmarshalPublic(d *codec.Decoder, tc *treeCodec) Public {
	var p Public
	id := suite.ID(d.Uint16())
	if !d.OK() {
		return Public{}
	}
	cs, err := suite.Lookup(id)
	if err != nil {
		d.Fail(err)
		return Public{}
	}
	p.Suite = cs
	p.Context.Unmarshal(d)
	p.Tree = unmarshalTree(d, cs, tc)
	p.Interim = d.Opaque()
	p.ConfirmationTag = d.Opaque()
	p.Config.Unmarshal(d)
	p.Proposals = unmarshalProposals(d)
	p.Active = d.Optional()
	if d.Optional() {
		p.ReInit = new(codec.ReInit)
		p.ReInit.Unmarshal(d)
	}
	if !d.OK() {
		return Public{}
	}
	if p.Context.CipherSuite != codec.CipherSuite(id) {
		d.Failf(codec.ErrInvalidValue, "group context of suite 0x%04x in a state of suite 0x%04x", uint16(p.Context.CipherSuite), uint16(id))
		return Public{}
	}
	p.Census = CensusOf(p.Tree)
	return p
}

// marshalTree encodes a ratchet tree in its canonical ratchet_tree form
// and its leaf count (which trailing blank leaves make larger than the
// encoding shows).
func marshalTree(b *cryptobyte.Builder, t tree.Tree, tc *treeCodec) {
	b.AddUint32(uint32(t.LeafCount()))
	if t.LeafCount() == 0 {
		return
	}
	if tc != nil {
		codec.AddOpaque(b, t.Hash())
		tc.put(t)
		return
	}
	enc, err := t.Encode()
	if err != nil {
		b.SetError(err)
		return
	}
	codec.AddOpaque(b, enc)
}

func unmarshalTree(d *codec.Decoder, cs *suite.Suite, tc *treeCodec) tree.Tree {
	n := treemath.LeafCount(d.Uint32())
	if !d.OK() || n == 0 {
		return tree.Tree{}
	}
	if max := d.Bounds().MaxLeaves; max != 0 && uint64(n) > uint64(max) {
		d.Fail(&codec.LimitError{Limit: "MaxLeaves", Got: uint64(n), Max: uint64(max)})
		return tree.Tree{}
	}
	if tc != nil {
		return tc.load(d, cs, n)
	}
	enc := d.Opaque()
	if !d.OK() {
		return tree.Tree{}
	}
	t, err := tree.Decode(cs, enc, n)
	if err != nil {
		d.Fail(err)
		return tree.Tree{}
	}
	if t.LeafCount() != n {
		d.Failf(codec.ErrInvalidValue, "tree of %d leaves decodes to %d", n, t.LeafCount())
		return tree.Tree{}
	}
	return t
}

func marshalProposals(b *cryptobyte.Builder, ps []StoredProposal) {
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, sp := range ps {
			codec.AddOpaque(b, sp.Ref)
			sp.Proposal.Marshal(b)
			sp.Sender.Marshal(b)
		}
	})
}

func unmarshalProposals(d *codec.Decoder) []StoredProposal {
	return codec.ListMax(d, "MaxProposals", d.Bounds().MaxProposals, func(sp *StoredProposal, d *codec.Decoder) {
		sp.Ref = d.Opaque()
		sp.Proposal.Unmarshal(d)
		sp.Sender.Unmarshal(d)
	})
}

func marshalLeaves(b *cryptobyte.Builder, ls []treemath.LeafIndex) { addLeaves(b, ls) }

func unmarshalLeaves(d *codec.Decoder) []treemath.LeafIndex {
	var out []treemath.LeafIndex
	d.VectorEach(func(d *codec.Decoder) { out = append(out, treemath.LeafIndex(d.Uint32())) })
	return out
}

func marshalPrivate(b *cryptobyte.Builder, q Private, epoch uint64, cfg Config, tc *treeCodec) {
	aged := cfg.MaxPastEpochAge != 0 // past epochs carry their end time
	b.AddUint32(uint32(q.Self))
	codec.AddOpaque(b, q.SignatureKey)
	q.Path.MarshalSecrets(b)
	q.Epoch.MarshalSecrets(b)
	tc.marshalSecrets(b, epoch, q.Secrets)
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, pe := range q.Past {
			if aged {
				b.AddUint64(pe.Ended)
			}
			pe.Context.Marshal(b)
			marshalTree(b, pe.Tree, tc)
			codec.AddOpaque(b, pe.SenderDataSecret)
			tc.marshalSecrets(b, pe.Context.Epoch, pe.Secrets)
		}
	})
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, r := range q.Resumption {
			b.AddUint64(r.Epoch)
			codec.AddOpaque(b, r.Secret)
		}
	})
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, u := range q.OwnUpdates {
			codec.AddOpaque(b, u.Ref)
			codec.AddOpaque(b, u.EncryptionPriv)
		}
	})
	addBool(b, q.Pending != nil)
	if pc := q.Pending; pc != nil {
		pc.Next.marshalState(b, tc.nested())
		codec.AddOpaque(b, pc.Message)
		marshalLeaves(b, pc.Added)
		marshalLeaves(b, pc.Removed)
	}
	addBool(b, q.Staged != nil)
	if sc := q.Staged; sc != nil {
		sc.Next.marshalState(b, tc.nested())
		sc.Sender.Marshal(b)
		marshalProposals(b, sc.Proposals)
		marshalLeaves(b, sc.Added)
		marshalLeaves(b, sc.Removed)
		marshalLeaves(b, sc.Updated)
		addBool(b, sc.SelfRemoved)
	}
}

func unmarshalPrivate(d *codec.Decoder, pub Public, depth int, tc *treeCodec) Private {
	var q Private
	cs := pub.Suite
	if !d.OK() {
		return q
	}
	q.Self = treemath.LeafIndex(d.Uint32())
	q.SignatureKey = d.Opaque()
	q.Path.UnmarshalSecrets(d, cs)
	q.Epoch.UnmarshalSecrets(d, cs)
	tc.unmarshalSecrets(d, pub.Context.Epoch, cs, &q.Secrets)
	if d.OK() {
		switch {
		case q.Path.Leaf() != q.Self:
			d.Failf(codec.ErrInvalidValue, "private path of leaf %d in the state of leaf %d", q.Path.Leaf(), q.Self)
		case pub.Active && q.Path.Check(pub.Tree) != nil:
			d.Failf(codec.ErrInvalidValue, "private path does not match the tree: %v", q.Path.Check(pub.Tree))
		case q.Epoch.Suite() == nil:
			d.Failf(codec.ErrInvalidValue, "group state without epoch secrets")
		case q.Secrets.Leaves() != 0 && q.Secrets.Leaves() != pub.Tree.LeafCount():
			d.Failf(codec.ErrInvalidValue, "secret tree of %d leaves for a tree of %d", q.Secrets.Leaves(), pub.Tree.LeafCount())
		}
	}
	d.VectorEach(func(d *codec.Decoder) {
		var pe PastEpoch
		if pub.Config.MaxPastEpochAge != 0 {
			pe.Ended = d.Uint64()
		}
		pe.Context.Unmarshal(d)
		pe.Tree = unmarshalTree(d, cs, tc)
		pe.SenderDataSecret = d.Opaque()
		tc.unmarshalSecrets(d, pe.Context.Epoch, cs, &pe.Secrets)
		if !d.OK() {
			return
		}
		switch {
		case !bytes.Equal(pe.Context.TreeHash, pe.Tree.Hash()):
			d.Failf(codec.ErrInvalidValue, "past epoch %d: tree hash differs from its group context's", pe.Context.Epoch)
		case len(pe.SenderDataSecret) != cs.HashLen():
			d.Failf(codec.ErrInvalidValue, "past epoch %d: sender data secret of %d bytes", pe.Context.Epoch, len(pe.SenderDataSecret))
		case pe.Secrets.Leaves() != pe.Tree.LeafCount():
			d.Failf(codec.ErrInvalidValue, "past epoch %d: secret tree of %d leaves for a tree of %d", pe.Context.Epoch, pe.Secrets.Leaves(), pe.Tree.LeafCount())
		case len(q.Past) >= int(pub.Config.MaxPastEpochs):
			d.Failf(codec.ErrInvalidValue, "more than %d past epochs", pub.Config.MaxPastEpochs)
		default:
			q.Past = append(q.Past, pe)
		}
	})
	d.VectorEach(func(d *codec.Decoder) {
		r := ResumptionPSK{Epoch: d.Uint64(), Secret: d.Opaque()}
		switch {
		case !d.OK():
		case len(r.Secret) != cs.HashLen():
			d.Failf(codec.ErrInvalidValue, "resumption psk of %d bytes", len(r.Secret))
		case len(q.Resumption) >= int(pub.Config.ResumptionPSKs):
			d.Failf(codec.ErrInvalidValue, "more than %d resumption psks", pub.Config.ResumptionPSKs)
		default:
			q.Resumption = append(q.Resumption, r)
		}
	})
	d.VectorEach(func(d *codec.Decoder) {
		u := OwnUpdate{Ref: d.Opaque(), EncryptionPriv: d.Opaque()}
		if d.OK() {
			if _, err := cs.HPKEPublicKey(u.EncryptionPriv); err != nil {
				d.Failf(codec.ErrInvalidValue, "own update key: %v", err)
				return
			}
			q.OwnUpdates = append(q.OwnUpdates, u)
		}
	})
	if d.Optional() {
		pc := &PendingCommit{}
		pc.Next = unmarshalState(d, depth+1, tc.nested())
		pc.Message = d.Opaque()
		pc.Added = unmarshalLeaves(d)
		pc.Removed = unmarshalLeaves(d)
		q.Pending = pc
	}
	if d.Optional() {
		sc := &StagedCommit{}
		sc.Next = unmarshalState(d, depth+1, tc.nested())
		sc.Sender.Unmarshal(d)
		sc.Proposals = unmarshalProposals(d)
		sc.Added = unmarshalLeaves(d)
		sc.Removed = unmarshalLeaves(d)
		sc.Updated = unmarshalLeaves(d)
		sc.SelfRemoved = d.Optional()
		q.Staged = sc
	}
	q.Past = slices.Clip(q.Past)
	return q
}

// CensusOf computes the capability census of the members of t in O(N):
// what Public.Census holds for a state with tree t.
func CensusOf(t tree.Tree) Census {
	var c Census
	for _, ln := range t.SharedMembers(core.K()) {
		c.Members++
		c.CredentialsInUse = bump(c.CredentialsInUse, uint16(ln.Credential.CredentialType))
		for _, x := range uniq(ln.Capabilities.Credentials) {
			c.CredentialSupport = bump(c.CredentialSupport, x)
		}
		for _, x := range uniq(ln.Capabilities.Extensions) {
			c.ExtensionSupport = bump(c.ExtensionSupport, x)
		}
		for _, x := range uniq(ln.Capabilities.Proposals) {
			c.ProposalSupport = bump(c.ProposalSupport, x)
		}
	}
	return c
}

// bump counts one more member with type x in l (sorted by type).
func bump(l []TypeCount, x uint16) []TypeCount {
	i, found := slices.BinarySearchFunc(l, x, func(tc TypeCount, x uint16) int { return int(tc.Type) - int(x) })
	if found {
		l[i].Count++
		return l
	}
	return slices.Insert(l, i, TypeCount{Type: x, Count: 1})
}

func uniq[T ~uint16](l []T) []uint16 {
	out := make([]uint16, len(l))
	for i, v := range l {
		out[i] = uint16(v)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
