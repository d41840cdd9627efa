package codec

import (
	"golang.org/x/crypto/cryptobyte"
)

// ProtocolVersion is an MLS protocol version [RFC 9420, Section 6]. It is
// kept open when decoding: a version other than MLS10 is a validation
// failure, not a syntax error.
//
// [RFC 9420, Section 6]: https://www.rfc-editor.org/rfc/rfc9420#section-6
type ProtocolVersion uint16

// MLS10 is the version defined by RFC 9420.
const MLS10 ProtocolVersion = 1

// CipherSuite identifies an MLS cipher suite [RFC 9420, Section 17.1].
//
// [RFC 9420, Section 17.1]: https://www.rfc-editor.org/rfc/rfc9420#section-17.1
type CipherSuite uint16

// HashReference is the output of RefHash [RFC 9420, Section 5.2].
//
// [RFC 9420, Section 5.2]: https://www.rfc-editor.org/rfc/rfc9420#section-5.2
type HashReference []byte

// KeyPackageRef identifies a key package: RefHash("MLS 1.0 KeyPackage
// Reference", KeyPackage) [RFC 9420, Section 5.2].
//
// [RFC 9420, Section 5.2]: https://www.rfc-editor.org/rfc/rfc9420#section-5.2
type KeyPackageRef []byte

// ProposalRef identifies a proposal: RefHash("MLS 1.0 Proposal Reference",
// AuthenticatedContent) [RFC 9420, Section 5.2].
//
// [RFC 9420, Section 5.2]: https://www.rfc-editor.org/rfc/rfc9420#section-5.2
type ProposalRef []byte

// KeyPackage is a client's pre-published offer to join groups [RFC 9420,
// Section 10].
//
// [RFC 9420, Section 10]: https://www.rfc-editor.org/rfc/rfc9420#section-10
type KeyPackage struct {
	Version     ProtocolVersion
	CipherSuite CipherSuite
	InitKey     []byte // HPKEPublicKey
	LeafNode    LeafNode
	Extensions  Extensions
	Signature   []byte
}

// KeyPackageTBS is a KeyPackage without its signature, the content signed
// with label "KeyPackageTBS" [RFC 9420, Section 10].
//
// [RFC 9420, Section 10]: https://www.rfc-editor.org/rfc/rfc9420#section-10
type KeyPackageTBS struct {
	Version     ProtocolVersion
	CipherSuite CipherSuite
	InitKey     []byte
	LeafNode    LeafNode
	Extensions  Extensions
}

// Marshal appends the encoding of t to b.
func (t KeyPackageTBS) Marshal(b *cryptobyte.Builder) {
	b.AddUint16(uint16(t.Version))
	b.AddUint16(uint16(t.CipherSuite))
	AddOpaque(b, t.InitKey)
	t.LeafNode.Marshal(b)
	t.Extensions.Marshal(b)
}

// Unmarshal reads a KeyPackageTBS from d.
func (t *KeyPackageTBS) Unmarshal(d *Decoder) {
	t.Version = ProtocolVersion(d.Uint16())
	t.CipherSuite = CipherSuite(d.Uint16())
	t.InitKey = d.Opaque()
	t.LeafNode.Unmarshal(d)
	t.Extensions.Unmarshal(d)
}

// Encode returns the encoding of t.
func (t KeyPackageTBS) Encode() ([]byte, error) { return encode(t) }

// TBS returns the to-be-signed part of k.
func (k KeyPackage) TBS() KeyPackageTBS {
	return KeyPackageTBS{
		Version:     k.Version,
		CipherSuite: k.CipherSuite,
		InitKey:     k.InitKey,
		LeafNode:    k.LeafNode,
		Extensions:  k.Extensions,
	}
}

// Marshal appends the encoding of k to b.
func (k KeyPackage) Marshal(b *cryptobyte.Builder) {
	k.TBS().Marshal(b)
	AddOpaque(b, k.Signature)
}

// Unmarshal reads a KeyPackage from d.
func (k *KeyPackage) Unmarshal(d *Decoder) {
	var t KeyPackageTBS
	t.Unmarshal(d)
	*k = KeyPackage{
		Version:     t.Version,
		CipherSuite: t.CipherSuite,
		InitKey:     t.InitKey,
		LeafNode:    t.LeafNode,
		Extensions:  t.Extensions,
		Signature:   d.Opaque(),
	}
}

// Encode returns the encoding of k.
func (k KeyPackage) Encode() ([]byte, error) { return encode(k) }

// DecodeKeyPackage decodes a KeyPackage (not wrapped in an MLSMessage).
func DecodeKeyPackage(data []byte) (KeyPackage, error) {
	return decode[KeyPackage]("KeyPackage", data)
}
