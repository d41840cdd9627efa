package codec

import (
	"golang.org/x/crypto/cryptobyte"
)

// PSKType is the kind of a pre-shared key [RFC 9420, Section 8.4]. It is a
// closed enum: decoding rejects other values.
//
// [RFC 9420, Section 8.4]: https://www.rfc-editor.org/rfc/rfc9420#section-8.4
type PSKType uint8

// PSK types of [RFC 9420, Section 8.4].
//
// [RFC 9420, Section 8.4]: https://www.rfc-editor.org/rfc/rfc9420#section-8.4
const (
	PSKTypeExternal   PSKType = 1
	PSKTypeResumption PSKType = 2
)

// ResumptionPSKUsage says what a resumption PSK is used for [RFC 9420,
// Section 8.4]. It is a closed enum (no registry extends it): decoding
// rejects other values.
//
// [RFC 9420, Section 8.4]: https://www.rfc-editor.org/rfc/rfc9420#section-8.4
type ResumptionPSKUsage uint8

// Resumption PSK usages of [RFC 9420, Section 8.4].
//
// [RFC 9420, Section 8.4]: https://www.rfc-editor.org/rfc/rfc9420#section-8.4
const (
	ResumptionPSKUsageApplication ResumptionPSKUsage = 1
	ResumptionPSKUsageReInit      ResumptionPSKUsage = 2
	ResumptionPSKUsageBranch      ResumptionPSKUsage = 3
)

// PreSharedKeyID names a pre-shared key [RFC 9420, Section 8.4]. PSKID is
// encoded for external PSKs; Usage, PSKGroupID and PSKEpoch for resumption
// PSKs.
//
// [RFC 9420, Section 8.4]: https://www.rfc-editor.org/rfc/rfc9420#section-8.4
type PreSharedKeyID struct {
	PSKType    PSKType
	PSKID      []byte             // external
	Usage      ResumptionPSKUsage // resumption
	PSKGroupID []byte             // resumption
	PSKEpoch   uint64             // resumption
	PSKNonce   []byte
}

// Marshal appends the encoding of p to b.
func (p PreSharedKeyID) Marshal(b *cryptobyte.Builder) {
	b.AddUint8(uint8(p.PSKType))
	switch p.PSKType {
	case PSKTypeExternal:
		AddOpaque(b, p.PSKID)
	case PSKTypeResumption:
		b.AddUint8(uint8(p.Usage))
		AddOpaque(b, p.PSKGroupID)
		b.AddUint64(p.PSKEpoch)
	default:
		b.SetError(invalid("psktype %d", p.PSKType))
	}
	AddOpaque(b, p.PSKNonce)
}

// Unmarshal reads a PreSharedKeyID from d.
func (p *PreSharedKeyID) Unmarshal(d *Decoder) {
	*p = PreSharedKeyID{}
	off := d.Offset()
	p.PSKType = PSKType(d.Uint8())
	switch p.PSKType {
	case PSKTypeExternal:
		p.PSKID = d.Opaque()
	case PSKTypeResumption:
		off := d.Offset()
		p.Usage = ResumptionPSKUsage(d.Uint8())
		switch p.Usage {
		case ResumptionPSKUsageApplication, ResumptionPSKUsageReInit, ResumptionPSKUsageBranch:
		default:
			d.failAt(off, invalid("resumption psk usage %d", p.Usage))
		}
		p.PSKGroupID = d.Opaque()
		p.PSKEpoch = d.Uint64()
	default:
		d.failAt(off, invalid("psktype %d", p.PSKType))
	}
	p.PSKNonce = d.Opaque()
}

// Encode returns the encoding of p.
func (p PreSharedKeyID) Encode() ([]byte, error) { return encode(p) }

// DecodePreSharedKeyID decodes a PreSharedKeyID.
func DecodePreSharedKeyID(data []byte) (PreSharedKeyID, error) {
	return decode[PreSharedKeyID]("PreSharedKeyID", data)
}

// PSKLabel is the input to the derivation of each PSK's contribution to the
// psk_secret [RFC 9420, Section 8.4].
//
// [RFC 9420, Section 8.4]: https://www.rfc-editor.org/rfc/rfc9420#section-8.4
type PSKLabel struct {
	ID    PreSharedKeyID
	Index uint16
	Count uint16
}

// Marshal appends the encoding of l to b.
func (l PSKLabel) Marshal(b *cryptobyte.Builder) {
	l.ID.Marshal(b)
	b.AddUint16(l.Index)
	b.AddUint16(l.Count)
}

// Unmarshal reads a PSKLabel from d.
func (l *PSKLabel) Unmarshal(d *Decoder) {
	l.ID.Unmarshal(d)
	l.Index = d.Uint16()
	l.Count = d.Uint16()
}

// Encode returns the encoding of l.
func (l PSKLabel) Encode() ([]byte, error) { return encode(l) }

// DecodePSKLabel decodes a PSKLabel.
func DecodePSKLabel(data []byte) (PSKLabel, error) {
	return decode[PSKLabel]("PSKLabel", data)
}
