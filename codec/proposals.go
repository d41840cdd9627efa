package codec

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/treemath"
)

// ProposalType identifies a kind of proposal [RFC 9420, Section 12.1]. The
// set is open (Section 17.4): see Proposal for how unknown types decode.
//
// [RFC 9420, Section 12.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1
type ProposalType uint16

// Proposal types of [RFC 9420, Section 12.1].
//
// [RFC 9420, Section 12.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1
const (
	ProposalAdd                    ProposalType = 1
	ProposalUpdate                 ProposalType = 2
	ProposalRemove                 ProposalType = 3
	ProposalPreSharedKey           ProposalType = 4
	ProposalReInit                 ProposalType = 5
	ProposalExternalInit           ProposalType = 6
	ProposalGroupContextExtensions ProposalType = 7
)

// ProposalSelfRemove is the SelfRemove proposal of draft-ietf-mls-extensions
// (a member asks to be removed; its body is the empty struct SelfRemove),
// with the code point 0x000A that OpenMLS uses. It is not a default type:
// members advertise it in their capabilities.
const ProposalSelfRemove ProposalType = 0x000A

// IsDefault reports whether t is one of the seven proposal types defined by
// RFC 9420 (which need not appear in Capabilities, Section 7.2).
func (t ProposalType) IsDefault() bool {
	return t >= ProposalAdd && t <= ProposalGroupContextExtensions
}

// String returns the RFC name of t.
func (t ProposalType) String() string {
	switch t {
	case ProposalAdd:
		return "add"
	case ProposalUpdate:
		return "update"
	case ProposalRemove:
		return "remove"
	case ProposalPreSharedKey:
		return "psk"
	case ProposalReInit:
		return "reinit"
	case ProposalExternalInit:
		return "external_init"
	case ProposalGroupContextExtensions:
		return "group_context_extensions"
	case ProposalSelfRemove:
		return "self_remove"
	}
	return fmt.Sprintf("ProposalType(%#04x)", uint16(t))
}

// Add proposes adding a member [RFC 9420, Section 12.1.1].
//
// [RFC 9420, Section 12.1.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1.1
type Add struct {
	KeyPackage KeyPackage
}

// Marshal appends the encoding of a to b.
func (a Add) Marshal(b *cryptobyte.Builder) { a.KeyPackage.Marshal(b) }

// Unmarshal reads an Add from d.
func (a *Add) Unmarshal(d *Decoder) { a.KeyPackage.Unmarshal(d) }

// Encode returns the encoding of a.
func (a Add) Encode() ([]byte, error) { return encode(a) }

// DecodeAdd decodes an Add.
func DecodeAdd(data []byte) (Add, error) { return decode[Add]("Add", data) }

// Update proposes replacing the sender's leaf node [RFC 9420, Section 12.1.2].
//
// [RFC 9420, Section 12.1.2]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1.2
type Update struct {
	LeafNode LeafNode
}

// Marshal appends the encoding of u to b.
func (u Update) Marshal(b *cryptobyte.Builder) { u.LeafNode.Marshal(b) }

// Unmarshal reads an Update from d.
func (u *Update) Unmarshal(d *Decoder) { u.LeafNode.Unmarshal(d) }

// Encode returns the encoding of u.
func (u Update) Encode() ([]byte, error) { return encode(u) }

// DecodeUpdate decodes an Update.
func DecodeUpdate(data []byte) (Update, error) { return decode[Update]("Update", data) }

// Remove proposes removing the member at leaf Removed [RFC 9420,
// Section 12.1.3].
//
// [RFC 9420, Section 12.1.3]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1.3
type Remove struct {
	Removed treemath.LeafIndex
}

// Marshal appends the encoding of r to b.
func (r Remove) Marshal(b *cryptobyte.Builder) { b.AddUint32(uint32(r.Removed)) }

// Unmarshal reads a Remove from d.
func (r *Remove) Unmarshal(d *Decoder) { r.Removed = treemath.LeafIndex(d.Uint32()) }

// Encode returns the encoding of r.
func (r Remove) Encode() ([]byte, error) { return encode(r) }

// DecodeRemove decodes a Remove.
func DecodeRemove(data []byte) (Remove, error) { return decode[Remove]("Remove", data) }

// PreSharedKey proposes injecting a PSK into the key schedule [RFC 9420,
// Section 12.1.4].
//
// [RFC 9420, Section 12.1.4]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1.4
type PreSharedKey struct {
	PSK PreSharedKeyID
}

// Marshal appends the encoding of p to b.
func (p PreSharedKey) Marshal(b *cryptobyte.Builder) { p.PSK.Marshal(b) }

// Unmarshal reads a PreSharedKey from d.
func (p *PreSharedKey) Unmarshal(d *Decoder) { p.PSK.Unmarshal(d) }

// Encode returns the encoding of p.
func (p PreSharedKey) Encode() ([]byte, error) { return encode(p) }

// DecodePreSharedKey decodes a PreSharedKey.
func DecodePreSharedKey(data []byte) (PreSharedKey, error) {
	return decode[PreSharedKey]("PreSharedKey", data)
}

// ReInit proposes reinitializing the group with new parameters [RFC 9420,
// Section 12.1.5].
//
// [RFC 9420, Section 12.1.5]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1.5
type ReInit struct {
	GroupID     []byte
	Version     ProtocolVersion
	CipherSuite CipherSuite
	Extensions  Extensions
}

// Marshal appends the encoding of r to b.
func (r ReInit) Marshal(b *cryptobyte.Builder) {
	AddOpaque(b, r.GroupID)
	b.AddUint16(uint16(r.Version))
	b.AddUint16(uint16(r.CipherSuite))
	r.Extensions.Marshal(b)
}

// Unmarshal reads a ReInit from d.
func (r *ReInit) Unmarshal(d *Decoder) {
	r.GroupID = d.Opaque()
	r.Version = ProtocolVersion(d.Uint16())
	r.CipherSuite = CipherSuite(d.Uint16())
	r.Extensions.Unmarshal(d)
}

// Encode returns the encoding of r.
func (r ReInit) Encode() ([]byte, error) { return encode(r) }

// DecodeReInit decodes a ReInit.
func DecodeReInit(data []byte) (ReInit, error) { return decode[ReInit]("ReInit", data) }

// ExternalInit carries the KEM output of an external joiner [RFC 9420,
// Section 12.1.6].
//
// [RFC 9420, Section 12.1.6]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1.6
type ExternalInit struct {
	KEMOutput []byte
}

// Marshal appends the encoding of e to b.
func (e ExternalInit) Marshal(b *cryptobyte.Builder) { AddOpaque(b, e.KEMOutput) }

// Unmarshal reads an ExternalInit from d.
func (e *ExternalInit) Unmarshal(d *Decoder) { e.KEMOutput = d.Opaque() }

// Encode returns the encoding of e.
func (e ExternalInit) Encode() ([]byte, error) { return encode(e) }

// DecodeExternalInit decodes an ExternalInit.
func DecodeExternalInit(data []byte) (ExternalInit, error) {
	return decode[ExternalInit]("ExternalInit", data)
}

// GroupContextExtensions proposes new group context extensions [RFC 9420,
// Section 12.1.7].
//
// [RFC 9420, Section 12.1.7]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1.7
type GroupContextExtensions struct {
	Extensions Extensions
}

// Marshal appends the encoding of g to b.
func (g GroupContextExtensions) Marshal(b *cryptobyte.Builder) { g.Extensions.Marshal(b) }

// Unmarshal reads a GroupContextExtensions from d.
func (g *GroupContextExtensions) Unmarshal(d *Decoder) { g.Extensions.Unmarshal(d) }

// Encode returns the encoding of g.
func (g GroupContextExtensions) Encode() ([]byte, error) { return encode(g) }

// DecodeGroupContextExtensions decodes a GroupContextExtensions.
func DecodeGroupContextExtensions(data []byte) (GroupContextExtensions, error) {
	return decode[GroupContextExtensions]("GroupContextExtensions", data)
}

// Proposal is a proposed change to the group [RFC 9420, Section 12.1]. It
// is a tagged union: the field named after ProposalType is set (non-nil) and
// the others are nil.
//
// A SelfRemove (ProposalSelfRemove) has an empty body: no field is set.
// A proposal of any other type (a custom or GREASE type, Section 13.5) has no
// RFC-defined body; it is read as one opaque<V> after the type and kept in
// Data, the convention OpenMLS and mls-rs use for custom proposals. Whether
// such a proposal is acceptable is left to validation.
//
// [RFC 9420, Section 12.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1
type Proposal struct {
	ProposalType           ProposalType
	Add                    *Add
	Update                 *Update
	Remove                 *Remove
	PreSharedKey           *PreSharedKey
	ReInit                 *ReInit
	ExternalInit           *ExternalInit
	GroupContextExtensions *GroupContextExtensions
	Data                   []byte // any other type: the opaque<V> body
}

// Marshal appends the encoding of p to b. A missing body for a default type
// sets an error wrapping ErrInvalidValue.
func (p Proposal) Marshal(b *cryptobyte.Builder) {
	b.AddUint16(uint16(p.ProposalType))
	var body marshaler
	switch p.ProposalType {
	case ProposalAdd:
		body = p.Add
	case ProposalUpdate:
		body = p.Update
	case ProposalRemove:
		body = p.Remove
	case ProposalPreSharedKey:
		body = p.PreSharedKey
	case ProposalReInit:
		body = p.ReInit
	case ProposalExternalInit:
		body = p.ExternalInit
	case ProposalGroupContextExtensions:
		body = p.GroupContextExtensions
	case ProposalSelfRemove:
		return // struct {} SelfRemove
	default:
		AddOpaque(b, p.Data)
		return
	}
	if isNil(body) {
		b.SetError(invalid("%v proposal without a body", p.ProposalType))
		return
	}
	body.Marshal(b)
}

// isNil reports whether m holds a nil pointer (the concrete types above are
// all pointers, so a type switch avoids reflect).
func isNil(m marshaler) bool {
	switch v := m.(type) {
	case *Add:
		return v == nil
	case *Update:
		return v == nil
	case *Remove:
		return v == nil
	case *PreSharedKey:
		return v == nil
	case *ReInit:
		return v == nil
	case *ExternalInit:
		return v == nil
	case *GroupContextExtensions:
		return v == nil
	}
	return m == nil
}

// Unmarshal reads a Proposal from d. The body of a default type is
// charged against d's memory allowance before it is allocated; in List's
// counting pass it is read into the decoder's scratch bodies instead.
func (p *Proposal) Unmarshal(d *Decoder) {
	*p = Proposal{ProposalType: ProposalType(d.Uint16())}
	switch p.ProposalType {
	case ProposalAdd:
		if p.Add = body(d, func(b *proposalBodies) *Add { return &b.add }, sizeAdd); p.Add != nil {
			p.Add.Unmarshal(d)
		}
	case ProposalUpdate:
		if p.Update = body(d, func(b *proposalBodies) *Update { return &b.update }, sizeUpdate); p.Update != nil {
			p.Update.Unmarshal(d)
		}
	case ProposalRemove:
		if p.Remove = body(d, func(b *proposalBodies) *Remove { return &b.remove }, sizeRemove); p.Remove != nil {
			p.Remove.Unmarshal(d)
		}
	case ProposalPreSharedKey:
		if p.PreSharedKey = body(d, func(b *proposalBodies) *PreSharedKey { return &b.psk }, sizePreSharedKey); p.PreSharedKey != nil {
			p.PreSharedKey.Unmarshal(d)
		}
	case ProposalReInit:
		if p.ReInit = body(d, func(b *proposalBodies) *ReInit { return &b.reInit }, sizeReInit); p.ReInit != nil {
			p.ReInit.Unmarshal(d)
		}
	case ProposalExternalInit:
		if p.ExternalInit = body(d, func(b *proposalBodies) *ExternalInit { return &b.externalInit }, sizeExternalInit); p.ExternalInit != nil {
			p.ExternalInit.Unmarshal(d)
		}
	case ProposalGroupContextExtensions:
		if p.GroupContextExtensions = body(d, func(b *proposalBodies) *GroupContextExtensions { return &b.gce }, sizeGroupContextExtensions); p.GroupContextExtensions != nil {
			p.GroupContextExtensions.Unmarshal(d)
		}
	case ProposalSelfRemove:
		// struct {} SelfRemove: no bytes.
	default:
		p.Data = d.Opaque()
	}
}

// proposalBodies holds one body of each default proposal type, read in
// List's counting pass (which keeps nothing) so that counting allocates
// nothing per proposal.
type proposalBodies struct {
	add          Add
	update       Update
	remove       Remove
	psk          PreSharedKey
	reInit       ReInit
	externalInit ExternalInit
	gce          GroupContextExtensions
}

// body returns where to read a proposal body: in List's counting pass the
// zeroed field of the decoder's scratch bodies, else a new T charged size
// bytes (nil past the memory allowance, or after a failure).
func body[T any](d *Decoder, field func(*proposalBodies) *T, size uint64) *T {
	if d.count {
		if d.mem.bodies == nil {
			d.mem.bodies = new(proposalBodies)
		}
		v := field(d.mem.bodies)
		var zero T
		*v = zero
		return v
	}
	if !d.charge(size) {
		return nil
	}
	return new(T)
}

// Encode returns the encoding of p.
func (p Proposal) Encode() ([]byte, error) { return encode(p) }

// DecodeProposal decodes a Proposal.
func DecodeProposal(data []byte) (Proposal, error) {
	return decode[Proposal]("Proposal", data)
}

// ProposalOrRefType tells an inline proposal from a reference [RFC 9420,
// Section 12.4]. It is a closed enum: decoding rejects other values.
//
// [RFC 9420, Section 12.4]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4
type ProposalOrRefType uint8

// ProposalOrRef types of [RFC 9420, Section 12.4].
//
// [RFC 9420, Section 12.4]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4
const (
	ProposalOrRefProposal  ProposalOrRefType = 1
	ProposalOrRefReference ProposalOrRefType = 2
)

// ProposalOrRef is an entry of a Commit's proposal list: an inline Proposal
// (Type proposal) or a ProposalRef (Type reference) [RFC 9420, Section 12.4].
//
// [RFC 9420, Section 12.4]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4
type ProposalOrRef struct {
	Type      ProposalOrRefType
	Proposal  *Proposal
	Reference ProposalRef
}

// Marshal appends the encoding of p to b.
func (p ProposalOrRef) Marshal(b *cryptobyte.Builder) {
	b.AddUint8(uint8(p.Type))
	switch p.Type {
	case ProposalOrRefProposal:
		if p.Proposal == nil {
			b.SetError(invalid("inline ProposalOrRef without a proposal"))
			return
		}
		p.Proposal.Marshal(b)
	case ProposalOrRefReference:
		AddOpaque(b, p.Reference)
	default:
		b.SetError(invalid("ProposalOrRef type %d", p.Type))
	}
}

// Unmarshal reads a ProposalOrRef from d.
func (p *ProposalOrRef) Unmarshal(d *Decoder) {
	*p = ProposalOrRef{}
	off := d.Offset()
	p.Type = ProposalOrRefType(d.Uint8())
	switch p.Type {
	case ProposalOrRefProposal:
		if d.count {
			// List's counting pass keeps nothing: no heap copy.
			var scratch Proposal
			scratch.Unmarshal(d)
			return
		}
		if d.charge(sizeProposal) {
			p.Proposal = new(Proposal)
			p.Proposal.Unmarshal(d)
		}
	case ProposalOrRefReference:
		p.Reference = d.Opaque()
	default:
		d.failAt(off, invalid("ProposalOrRef type %d", p.Type))
	}
}
