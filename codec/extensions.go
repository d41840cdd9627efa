package codec

import (
	"cmp"
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// ExtensionType identifies an extension [RFC 9420, Section 17.3]. The set is
// open: decoding keeps unknown types, which the RFC says to ignore.
//
// [RFC 9420, Section 17.3]: https://www.rfc-editor.org/rfc/rfc9420#section-17.3
type ExtensionType uint16

// Extension types registered by [RFC 9420, Section 17.3].
//
// [RFC 9420, Section 17.3]: https://www.rfc-editor.org/rfc/rfc9420#section-17.3
const (
	ExtensionApplicationID        ExtensionType = 1
	ExtensionRatchetTree          ExtensionType = 2
	ExtensionRequiredCapabilities ExtensionType = 3
	ExtensionExternalPub          ExtensionType = 4
	ExtensionExternalSenders      ExtensionType = 5
)

// Extension is one entry of an extension list [RFC 9420, Section 13]: a
// type and opaque data whose meaning depends on the type.
//
// [RFC 9420, Section 13]: https://www.rfc-editor.org/rfc/rfc9420#section-13
type Extension struct {
	ExtensionType ExtensionType
	ExtensionData []byte
}

// Marshal appends the encoding of e to b.
func (e Extension) Marshal(b *cryptobyte.Builder) {
	b.AddUint16(uint16(e.ExtensionType))
	AddOpaque(b, e.ExtensionData)
}

// Unmarshal reads an Extension from d.
func (e *Extension) Unmarshal(d *Decoder) {
	e.ExtensionType = ExtensionType(d.Uint16())
	e.ExtensionData = d.Opaque()
}

// Extensions is an extension list, Extension extensions<V> [RFC 9420,
// Section 13]. Decoding rejects a list with two extensions of the same type
// with ErrDuplicateExtension, because Section 13.4 states it as a property of
// the field itself ("Any field containing a list of extensions MUST NOT have
// more than one extension of any given type"), independent of the group's
// state. Encoding does not check, so that tests can build such lists.
//
// [RFC 9420, Section 13]: https://www.rfc-editor.org/rfc/rfc9420#section-13
type Extensions []Extension

// Find returns the extension of type t, if the list holds one.
func (es Extensions) Find(t ExtensionType) (Extension, bool) {
	for _, e := range es {
		if e.ExtensionType == t {
			return e, true
		}
	}
	return Extension{}, false
}

// Has reports whether the list holds an extension of type t.
func (es Extensions) Has(t ExtensionType) bool {
	_, ok := es.Find(t)
	return ok
}

// Types returns the extension types of the list, in order.
func (es Extensions) Types() []ExtensionType {
	ts := make([]ExtensionType, len(es))
	for i, e := range es {
		ts[i] = e.ExtensionType
	}
	return ts
}

// Marshal appends the encoding of es (a vector) to b.
func (es Extensions) Marshal(b *cryptobyte.Builder) {
	AddVector(b, func(b *cryptobyte.Builder) {
		for _, e := range es {
			e.Marshal(b)
		}
	})
}

// Unmarshal reads an extension list from d, rejecting duplicate types at
// the offset of the second occurrence.
func (es *Extensions) Unmarshal(d *Decoder) {
	*es = list(d, "", 0, sizeExtension, (*Extension).Unmarshal)
	if !d.OK() || d.Counting() {
		return
	}
	if i := es.duplicate(); i >= 0 {
		size := func(e Extension) int { return 2 + opaqueLen(len(e.ExtensionData)) }
		off := d.Offset() // back from the end of the list to the i-th entry
		for _, e := range (*es)[i:] {
			off -= size(e)
		}
		d.failAt(off, ErrDuplicateExtension)
	}
}

// duplicate returns the index of the first extension whose type an earlier
// one has, or -1. Lists are short in practice and compared in place; a
// long, hostile one is sorted in a copy of its types (6 bytes an entry,
// for at least 3 bytes of input).
func (es Extensions) duplicate() int {
	if len(es) <= 64 {
		for i := 1; i < len(es); i++ {
			for _, e := range es[:i] {
				if e.ExtensionType == es[i].ExtensionType {
					return i
				}
			}
		}
		return -1
	}
	type entry struct {
		t ExtensionType
		i uint32
	}
	sorted := make([]entry, len(es))
	for i, e := range es {
		sorted[i] = entry{e.ExtensionType, uint32(i)}
	}
	slices.SortFunc(sorted, func(a, b entry) int { return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.i, b.i)) })
	first := -1
	for k := 1; k < len(sorted); k++ {
		if sorted[k].t == sorted[k-1].t && (first < 0 || int(sorted[k].i) < first) {
			first = int(sorted[k].i)
		}
	}
	return first
}

// Encode returns the encoding of es.
func (es Extensions) Encode() ([]byte, error) { return encode(es) }

// DecodeExtensions decodes an extension list (Extension extensions<V>).
func DecodeExtensions(data []byte) (Extensions, error) {
	return decode[Extensions]("Extensions", data)
}

// ExternalSender is an entry of the external_senders extension [RFC 9420,
// Section 12.1.8.1].
//
// [RFC 9420, Section 12.1.8.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1.8.1
type ExternalSender struct {
	SignatureKey []byte
	Credential   Credential
}

// Marshal appends the encoding of s to b.
func (s ExternalSender) Marshal(b *cryptobyte.Builder) {
	AddOpaque(b, s.SignatureKey)
	s.Credential.Marshal(b)
}

// Unmarshal reads an ExternalSender from d.
func (s *ExternalSender) Unmarshal(d *Decoder) {
	s.SignatureKey = d.Opaque()
	s.Credential.Unmarshal(d)
}

// ExternalSenders is the content of the external_senders extension,
// ExternalSender external_senders<V> [RFC 9420, Section 12.1.8.1].
//
// [RFC 9420, Section 12.1.8.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.1.8.1
type ExternalSenders []ExternalSender

// Marshal appends the encoding of ss to b.
func (ss ExternalSenders) Marshal(b *cryptobyte.Builder) {
	AddVector(b, func(b *cryptobyte.Builder) {
		for _, s := range ss {
			s.Marshal(b)
		}
	})
}

// Unmarshal reads the list from d.
func (ss *ExternalSenders) Unmarshal(d *Decoder) {
	*ss = list(d, "", 0, sizeExternalSender, (*ExternalSender).Unmarshal)
}

// Encode returns the encoding of ss (the extension_data of an
// external_senders extension).
func (ss ExternalSenders) Encode() ([]byte, error) { return encode(ss) }

// DecodeExternalSenders decodes the extension_data of an external_senders
// extension.
func DecodeExternalSenders(data []byte) (ExternalSenders, error) {
	return decode[ExternalSenders]("ExternalSenders", data)
}

// ExternalPub is the content of the external_pub extension [RFC 9420,
// Section 12.4.3.2].
//
// [RFC 9420, Section 12.4.3.2]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.2
type ExternalPub struct {
	ExternalPub []byte // HPKEPublicKey
}

// Marshal appends the encoding of p to b.
func (p ExternalPub) Marshal(b *cryptobyte.Builder) { AddOpaque(b, p.ExternalPub) }

// Unmarshal reads an ExternalPub from d.
func (p *ExternalPub) Unmarshal(d *Decoder) { p.ExternalPub = d.Opaque() }

// Encode returns the encoding of p.
func (p ExternalPub) Encode() ([]byte, error) { return encode(p) }

// DecodeExternalPub decodes the extension_data of an external_pub extension.
func DecodeExternalPub(data []byte) (ExternalPub, error) {
	return decode[ExternalPub]("ExternalPub", data)
}

// RequiredCapabilities is the content of the required_capabilities
// extension [RFC 9420, Section 11.1].
//
// [RFC 9420, Section 11.1]: https://www.rfc-editor.org/rfc/rfc9420#section-11.1
type RequiredCapabilities struct {
	ExtensionTypes  []ExtensionType
	ProposalTypes   []ProposalType
	CredentialTypes []CredentialType
}

// Marshal appends the encoding of r to b.
func (r RequiredCapabilities) Marshal(b *cryptobyte.Builder) {
	addUint16s(b, r.ExtensionTypes)
	addUint16s(b, r.ProposalTypes)
	addUint16s(b, r.CredentialTypes)
}

// Unmarshal reads a RequiredCapabilities from d.
func (r *RequiredCapabilities) Unmarshal(d *Decoder) {
	r.ExtensionTypes = readUint16s[ExtensionType](d)
	r.ProposalTypes = readUint16s[ProposalType](d)
	r.CredentialTypes = readUint16s[CredentialType](d)
}

// Encode returns the encoding of r.
func (r RequiredCapabilities) Encode() ([]byte, error) { return encode(r) }

// DecodeRequiredCapabilities decodes the extension_data of a
// required_capabilities extension.
func DecodeRequiredCapabilities(data []byte) (RequiredCapabilities, error) {
	return decode[RequiredCapabilities]("RequiredCapabilities", data)
}

// ApplicationID is the content of the application_id extension [RFC 9420,
// Section 5.3.3].
//
// [RFC 9420, Section 5.3.3]: https://www.rfc-editor.org/rfc/rfc9420#section-5.3.3
type ApplicationID struct {
	ApplicationID []byte
}

// Marshal appends the encoding of a to b.
func (a ApplicationID) Marshal(b *cryptobyte.Builder) { AddOpaque(b, a.ApplicationID) }

// Unmarshal reads an ApplicationID from d.
func (a *ApplicationID) Unmarshal(d *Decoder) { a.ApplicationID = d.Opaque() }

// Encode returns the encoding of a.
func (a ApplicationID) Encode() ([]byte, error) { return encode(a) }

// DecodeApplicationID decodes the extension_data of an application_id
// extension.
func DecodeApplicationID(data []byte) (ApplicationID, error) {
	return decode[ApplicationID]("ApplicationID", data)
}

// addUint16s appends a vector of 16-bit values.
func addUint16s[T ~uint16](b *cryptobyte.Builder, vs []T) {
	AddVector(b, func(b *cryptobyte.Builder) {
		for _, v := range vs {
			b.AddUint16(uint16(v))
		}
	})
}

// readUint16s reads a vector of 16-bit values.
func readUint16s[T ~uint16](d *Decoder) []T {
	var vs []T
	d.Vector(func(d *Decoder) {
		if len(d.s)%2 != 0 {
			d.Failf(ErrTruncated, "vector of uint16 has odd length %d", len(d.s))
			return
		}
		if len(d.s) > 0 && !d.count {
			vs = make([]T, 0, len(d.s)/2)
		}
		for !d.Empty() {
			v := T(d.Uint16())
			if vs != nil {
				vs = append(vs, v)
			}
		}
	})
	return vs
}

// addUint32s appends a vector of 32-bit values.
func addUint32s[T ~uint32](b *cryptobyte.Builder, vs []T) {
	AddVector(b, func(b *cryptobyte.Builder) {
		for _, v := range vs {
			b.AddUint32(uint32(v))
		}
	})
}

// readUint32s reads a vector of 32-bit values.
func readUint32s[T ~uint32](d *Decoder) []T {
	var vs []T
	d.Vector(func(d *Decoder) {
		if len(d.s)%4 != 0 {
			d.Failf(ErrTruncated, "vector of uint32 has length %d, not a multiple of 4", len(d.s))
			return
		}
		if len(d.s) > 0 && !d.count {
			vs = make([]T, 0, len(d.s)/4)
		}
		for !d.Empty() {
			v := T(d.Uint32())
			if vs != nil {
				vs = append(vs, v)
			}
		}
	})
	return vs
}
