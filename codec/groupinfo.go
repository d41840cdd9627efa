package codec

import (
	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/treemath"
)

// GroupContext summarizes the state of a group in an epoch [RFC 9420,
// Section 8.1].
//
// [RFC 9420, Section 8.1]: https://www.rfc-editor.org/rfc/rfc9420#section-8.1
type GroupContext struct {
	Version                 ProtocolVersion
	CipherSuite             CipherSuite
	GroupID                 []byte
	Epoch                   uint64
	TreeHash                []byte
	ConfirmedTranscriptHash []byte
	Extensions              Extensions
}

// Marshal appends the encoding of c to b.
func (c GroupContext) Marshal(b *cryptobyte.Builder) {
	b.AddUint16(uint16(c.Version))
	b.AddUint16(uint16(c.CipherSuite))
	AddOpaque(b, c.GroupID)
	b.AddUint64(c.Epoch)
	AddOpaque(b, c.TreeHash)
	AddOpaque(b, c.ConfirmedTranscriptHash)
	c.Extensions.Marshal(b)
}

// Unmarshal reads a GroupContext from d.
func (c *GroupContext) Unmarshal(d *Decoder) {
	c.Version = ProtocolVersion(d.Uint16())
	c.CipherSuite = CipherSuite(d.Uint16())
	c.GroupID = d.Opaque()
	c.Epoch = d.Uint64()
	c.TreeHash = d.Opaque()
	c.ConfirmedTranscriptHash = d.Opaque()
	c.Extensions.Unmarshal(d)
}

// Encode returns the encoding of c.
func (c GroupContext) Encode() ([]byte, error) { return encode(c) }

// DecodeGroupContext decodes a GroupContext.
func DecodeGroupContext(data []byte) (GroupContext, error) {
	return decode[GroupContext]("GroupContext", data)
}

// GroupInfoTBS is a GroupInfo without its signature, the content signed
// with label "GroupInfoTBS" [RFC 9420, Section 12.4.3].
//
// [RFC 9420, Section 12.4.3]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3
type GroupInfoTBS struct {
	GroupContext    GroupContext
	Extensions      Extensions
	ConfirmationTag []byte // MAC
	Signer          treemath.LeafIndex
}

// Marshal appends the encoding of t to b.
func (t GroupInfoTBS) Marshal(b *cryptobyte.Builder) {
	t.GroupContext.Marshal(b)
	t.Extensions.Marshal(b)
	AddOpaque(b, t.ConfirmationTag)
	b.AddUint32(uint32(t.Signer))
}

// Unmarshal reads a GroupInfoTBS from d.
func (t *GroupInfoTBS) Unmarshal(d *Decoder) {
	t.GroupContext.Unmarshal(d)
	t.Extensions.Unmarshal(d)
	t.ConfirmationTag = d.Opaque()
	t.Signer = treemath.LeafIndex(d.Uint32())
}

// Encode returns the encoding of t.
func (t GroupInfoTBS) Encode() ([]byte, error) { return encode(t) }

// GroupInfo describes a group to new members, signed by the member at leaf
// Signer [RFC 9420, Section 12.4.3].
//
// [RFC 9420, Section 12.4.3]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3
type GroupInfo struct {
	GroupContext    GroupContext
	Extensions      Extensions
	ConfirmationTag []byte // MAC
	Signer          treemath.LeafIndex
	Signature       []byte
}

// TBS returns the to-be-signed part of g.
func (g GroupInfo) TBS() GroupInfoTBS {
	return GroupInfoTBS{
		GroupContext:    g.GroupContext,
		Extensions:      g.Extensions,
		ConfirmationTag: g.ConfirmationTag,
		Signer:          g.Signer,
	}
}

// Marshal appends the encoding of g to b.
func (g GroupInfo) Marshal(b *cryptobyte.Builder) {
	g.TBS().Marshal(b)
	AddOpaque(b, g.Signature)
}

// Unmarshal reads a GroupInfo from d.
func (g *GroupInfo) Unmarshal(d *Decoder) {
	var t GroupInfoTBS
	t.Unmarshal(d)
	*g = GroupInfo{
		GroupContext:    t.GroupContext,
		Extensions:      t.Extensions,
		ConfirmationTag: t.ConfirmationTag,
		Signer:          t.Signer,
		Signature:       d.Opaque(),
	}
}

// Encode returns the encoding of g.
func (g GroupInfo) Encode() ([]byte, error) { return encode(g) }

// DecodeGroupInfo decodes a GroupInfo (not wrapped in an MLSMessage).
func DecodeGroupInfo(data []byte) (GroupInfo, error) {
	return decode[GroupInfo]("GroupInfo", data)
}
