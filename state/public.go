package state

import (
	"crypto/sha256"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/treemath"
)

// publicDigestLabel versions the public digest encoding.
const publicDigestLabel = "mlscore GroupState public digest v1"

// PublicDigest returns SHA-256 of a canonical encoding of the public part
// only (Public.Digest): what an observer holding no secret can recompute.
// It is the digest of the zero Public when s is in no group (the zero
// state or a joining client).
func (s GroupState) PublicDigest() [32]byte { return s.Public().Digest() }

// Digest returns SHA-256 of a canonical encoding of p: the suite, the
// encoded GroupContext, the tree hash and leaf count, the interim
// transcript hash, the confirmation tag, the configuration, the proposal
// store, the active flag, the census and the ReInit parameters. Two
// public parts have equal digests iff these agree; since the tree hash
// commits to the whole tree, so does the digest.
func (p Public) Digest() [32]byte {
	var b cryptobyte.Builder
	b.AddBytes([]byte(publicDigestLabel))
	if p.Suite == nil {
		b.AddUint8(0)
	} else {
		b.AddUint8(1)
		b.AddUint16(uint16(p.Suite.ID()))
		p.Context.Marshal(&b)
		codec.AddOpaque(&b, p.Tree.Hash())
		b.AddUint32(uint32(p.Tree.LeafCount()))
		codec.AddOpaque(&b, p.Interim)
		codec.AddOpaque(&b, p.ConfirmationTag)
		p.Config.Marshal(&b)
		marshalProposals(&b, p.Proposals)
		addBool(&b, p.Active)
		b.AddUint32(p.Census.Members)
		for _, l := range [][]TypeCount{p.Census.CredentialsInUse, p.Census.CredentialSupport, p.Census.ExtensionSupport, p.Census.ProposalSupport} {
			codec.AddVector(&b, func(b *cryptobyte.Builder) {
				for _, tc := range l {
					b.AddUint16(tc.Type)
					b.AddUint32(tc.Count)
				}
			})
		}
		addBool(&b, p.ReInit != nil)
		if p.ReInit != nil {
			p.ReInit.Marshal(&b)
		}
	}
	out, err := b.Bytes()
	if err != nil {
		// Only a field over 2^30-1 bytes fails to encode; New and the
		// limits make that impossible for a built state.
		panic("state: public digest encoding: " + err.Error())
	}
	return sha256.Sum256(out)
}

// publicMagic opens an encoding of a public part.
var publicMagic = [8]byte{'M', 'L', 'S', 'P', 'U', 'B', 'L', 'C'}

// EncodePublic returns the canonical encoding of the public part of s and
// of the member's own leaf index — no secret, so it may be stored and
// shown freely. It is the checkpoint from which an observer follows a
// group (see package replay's Public mode). The census is recomputed on
// decoding. A state in no group encodes as "absent".
func EncodePublic(s GroupState) ([]byte, error) {
	if s.pub == nil {
		return encodePublic(nil, 0)
	}
	return encodePublic(&s.pub.p, s.priv.p.Self)
}

// EncodePublicPart is EncodePublic for a public part held without a
// member's state — a group followed from outside (transitions.PublicGroup)
// — with self as the own leaf index (a party that has none picks a value
// no leaf has). The zero Public encodes as "absent". DecodePublic reads it.
func EncodePublicPart(p Public, self treemath.LeafIndex) ([]byte, error) {
	if p.Suite == nil {
		return encodePublic(nil, 0)
	}
	return encodePublic(&p, self)
}

func encodePublic(p *Public, self treemath.LeafIndex) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddBytes(publicMagic[:])
	b.AddUint16(EncodingVersion)
	addBool(&b, p != nil)
	if p != nil {
		b.AddUint32(uint32(self))
		marshalPublic(&b, *p, nil)
	}
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("mls: encoding public group state: %w", err)
	}
	return out, nil
}

// DecodePublic decodes EncodePublic's output, strictly (see Decode): the
// public part (the zero Public for "absent") and the own leaf index. The
// tree's hash must be the GroupContext's, and the configuration valid.
//
// Like Decode, DecodePublic bounds the tree by the leaf count the encoding
// declares: decode untrusted encodings (a log's checkpoints) with
// DecodePublicBounded.
func DecodePublic(data []byte) (Public, treemath.LeafIndex, error) {
	return DecodePublicBounded(data, codec.Bounds{})
}

// DecodePublicBounded is DecodePublic within the caller's bounds, as
// DecodeBounded: a tree over b.MaxLeaves leaves fails with an error
// wrapping ErrEncoding and a *codec.LimitError naming MaxLeaves before the
// tree's bytes are read.
func DecodePublicBounded(data []byte, b codec.Bounds) (Public, treemath.LeafIndex, error) {
	d := codec.NewBoundedDecoder(data, b)
	if mg := d.Fixed(len(publicMagic)); d.OK() && string(mg) != string(publicMagic[:]) {
		d.Failf(codec.ErrInvalidValue, "not a public group state encoding")
	}
	if v := d.Uint16(); d.OK() && v != EncodingVersion {
		d.Failf(codec.ErrInvalidValue, "public state encoding version %d, this reader knows %d", v, EncodingVersion)
	}
	var p Public
	var self treemath.LeafIndex
	if d.Optional() {
		self = treemath.LeafIndex(d.Uint32())
		p = unmarshalPublic(d, nil)
		if d.OK() {
			if err := p.Config.Check(); err != nil {
				d.Fail(err)
			} else if string(p.Context.TreeHash) != string(p.Tree.Hash()) {
				d.Failf(codec.ErrInvalidValue, "group context tree hash differs from the tree's")
			}
		}
	}
	if err := d.Finish("PublicGroupState"); err != nil {
		return Public{}, 0, fmt.Errorf("%w: %w", ErrEncoding, err)
	}
	return p, self, nil
}
