package codec

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/treemath"
)

// Capabilities lists what a client supports [RFC 9420, Section 7.2]. All
// lists are open: unknown values are kept (Section 13.4 says to ignore them).
//
// [RFC 9420, Section 7.2]: https://www.rfc-editor.org/rfc/rfc9420#section-7.2
type Capabilities struct {
	Versions     []ProtocolVersion
	CipherSuites []CipherSuite
	Extensions   []ExtensionType
	Proposals    []ProposalType
	Credentials  []CredentialType
}

// Marshal appends the encoding of c to b.
func (c Capabilities) Marshal(b *cryptobyte.Builder) {
	addUint16s(b, c.Versions)
	addUint16s(b, c.CipherSuites)
	addUint16s(b, c.Extensions)
	addUint16s(b, c.Proposals)
	addUint16s(b, c.Credentials)
}

// Unmarshal reads a Capabilities from d.
func (c *Capabilities) Unmarshal(d *Decoder) {
	c.Versions = readUint16s[ProtocolVersion](d)
	c.CipherSuites = readUint16s[CipherSuite](d)
	c.Extensions = readUint16s[ExtensionType](d)
	c.Proposals = readUint16s[ProposalType](d)
	c.Credentials = readUint16s[CredentialType](d)
}

// Encode returns the encoding of c.
func (c Capabilities) Encode() ([]byte, error) { return encode(c) }

// DecodeCapabilities decodes a Capabilities.
func DecodeCapabilities(data []byte) (Capabilities, error) {
	return decode[Capabilities]("Capabilities", data)
}

// Lifetime bounds the validity of a key package's leaf node [RFC 9420,
// Section 7.2]. Both bounds are seconds since the Unix epoch.
//
// [RFC 9420, Section 7.2]: https://www.rfc-editor.org/rfc/rfc9420#section-7.2
type Lifetime struct {
	NotBefore uint64 // seconds since the Unix epoch
	NotAfter  uint64 // seconds since the Unix epoch
}

// Marshal appends the encoding of l to b.
func (l Lifetime) Marshal(b *cryptobyte.Builder) {
	b.AddUint64(l.NotBefore)
	b.AddUint64(l.NotAfter)
}

// Unmarshal reads a Lifetime from d.
func (l *Lifetime) Unmarshal(d *Decoder) {
	l.NotBefore = d.Uint64()
	l.NotAfter = d.Uint64()
}

// LeafNodeSource says how a leaf node was created [RFC 9420, Section 7.2].
// It is a closed enum: decoding rejects other values.
//
// [RFC 9420, Section 7.2]: https://www.rfc-editor.org/rfc/rfc9420#section-7.2
type LeafNodeSource uint8

// Leaf node sources of [RFC 9420, Section 7.2].
//
// [RFC 9420, Section 7.2]: https://www.rfc-editor.org/rfc/rfc9420#section-7.2
const (
	LeafNodeSourceKeyPackage LeafNodeSource = 1
	LeafNodeSourceUpdate     LeafNodeSource = 2
	LeafNodeSourceCommit     LeafNodeSource = 3
)

// String returns the RFC name of s.
func (s LeafNodeSource) String() string {
	switch s {
	case LeafNodeSourceKeyPackage:
		return "key_package"
	case LeafNodeSourceUpdate:
		return "update"
	case LeafNodeSourceCommit:
		return "commit"
	}
	return fmt.Sprintf("LeafNodeSource(%d)", uint8(s))
}

// LeafNode is the content of a leaf of the ratchet tree [RFC 9420,
// Section 7.2]. Lifetime is encoded only when LeafNodeSource is key_package
// and ParentHash only when it is commit; otherwise they must be zero.
//
// [RFC 9420, Section 7.2]: https://www.rfc-editor.org/rfc/rfc9420#section-7.2
type LeafNode struct {
	EncryptionKey  []byte // HPKEPublicKey
	SignatureKey   []byte // SignaturePublicKey
	Credential     Credential
	Capabilities   Capabilities
	LeafNodeSource LeafNodeSource
	Lifetime       Lifetime // key_package only
	ParentHash     []byte   // commit only
	Extensions     Extensions
	Signature      []byte
}

// marshalTBSFields appends the fields shared by LeafNode and LeafNodeTBS.
func (n LeafNode) marshalTBSFields(b *cryptobyte.Builder) {
	AddOpaque(b, n.EncryptionKey)
	AddOpaque(b, n.SignatureKey)
	n.Credential.Marshal(b)
	n.Capabilities.Marshal(b)
	b.AddUint8(uint8(n.LeafNodeSource))
	switch n.LeafNodeSource {
	case LeafNodeSourceKeyPackage:
		n.Lifetime.Marshal(b)
	case LeafNodeSourceUpdate:
	case LeafNodeSourceCommit:
		AddOpaque(b, n.ParentHash)
	default:
		b.SetError(invalid("leaf_node_source %d", n.LeafNodeSource))
	}
	n.Extensions.Marshal(b)
}

// Marshal appends the encoding of n to b.
func (n LeafNode) Marshal(b *cryptobyte.Builder) {
	n.marshalTBSFields(b)
	AddOpaque(b, n.Signature)
}

// Unmarshal reads a LeafNode from d.
func (n *LeafNode) Unmarshal(d *Decoder) {
	*n = LeafNode{}
	n.EncryptionKey = d.Opaque()
	n.SignatureKey = d.Opaque()
	n.Credential.Unmarshal(d)
	n.Capabilities.Unmarshal(d)
	off := d.Offset()
	n.LeafNodeSource = LeafNodeSource(d.Uint8())
	switch n.LeafNodeSource {
	case LeafNodeSourceKeyPackage:
		n.Lifetime.Unmarshal(d)
	case LeafNodeSourceUpdate:
	case LeafNodeSourceCommit:
		n.ParentHash = d.Opaque()
	default:
		d.failAt(off, invalid("leaf_node_source %d", n.LeafNodeSource))
	}
	n.Extensions.Unmarshal(d)
	n.Signature = d.Opaque()
}

// Encode returns the encoding of n.
func (n LeafNode) Encode() ([]byte, error) { return encode(n) }

// DecodeLeafNode decodes a LeafNode.
func DecodeLeafNode(data []byte) (LeafNode, error) {
	return decode[LeafNode]("LeafNode", data)
}

// MarshalTBS appends the LeafNodeTBS of n [RFC 9420, Section 7.2]: the
// fields up to extensions, then, for the update and commit sources, the
// group_id and leaf_index (ignored for key_package).
//
// [RFC 9420, Section 7.2]: https://www.rfc-editor.org/rfc/rfc9420#section-7.2
func (n LeafNode) MarshalTBS(b *cryptobyte.Builder, groupID []byte, leafIndex treemath.LeafIndex) {
	n.marshalTBSFields(b)
	switch n.LeafNodeSource {
	case LeafNodeSourceUpdate, LeafNodeSourceCommit:
		AddOpaque(b, groupID)
		b.AddUint32(uint32(leafIndex))
	}
}

// TBS returns the LeafNodeTBS bytes of n, the content signed with label
// "LeafNodeTBS" [RFC 9420, Section 7.2]. groupID and leafIndex are used only
// for the update and commit sources.
//
// [RFC 9420, Section 7.2]: https://www.rfc-editor.org/rfc/rfc9420#section-7.2
func (n LeafNode) TBS(groupID []byte, leafIndex treemath.LeafIndex) ([]byte, error) {
	var b cryptobyte.Builder
	n.MarshalTBS(&b, groupID, leafIndex)
	return b.Bytes()
}
