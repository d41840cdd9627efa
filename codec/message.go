package codec

import (
	"golang.org/x/crypto/cryptobyte"
)

// MLSMessage is the top-level message of MLS [RFC 9420, Section 6]: a
// version, a wire format, and the body that the wire format selects. It is a
// tagged union: the field matching WireFormat is non-nil and the others are
// nil. Version is kept as decoded (checking it is validation).
//
// Because decoding is strict, Encode of a decoded message returns exactly
// the bytes it came from, so signatures and MACs can be checked over
// re-encoded structures.
//
// [RFC 9420, Section 6]: https://www.rfc-editor.org/rfc/rfc9420#section-6
type MLSMessage struct {
	Version        ProtocolVersion
	WireFormat     WireFormat
	PublicMessage  *PublicMessage
	PrivateMessage *PrivateMessage
	Welcome        *Welcome
	GroupInfo      *GroupInfo
	KeyPackage     *KeyPackage
}

// Marshal appends the encoding of m to b.
func (m MLSMessage) Marshal(b *cryptobyte.Builder) {
	b.AddUint16(uint16(m.Version))
	b.AddUint16(uint16(m.WireFormat))
	ok := false
	switch m.WireFormat {
	case WireFormatPublicMessage:
		if ok = m.PublicMessage != nil; ok {
			m.PublicMessage.Marshal(b)
		}
	case WireFormatPrivateMessage:
		if ok = m.PrivateMessage != nil; ok {
			m.PrivateMessage.Marshal(b)
		}
	case WireFormatWelcome:
		if ok = m.Welcome != nil; ok {
			m.Welcome.Marshal(b)
		}
	case WireFormatGroupInfo:
		if ok = m.GroupInfo != nil; ok {
			m.GroupInfo.Marshal(b)
		}
	case WireFormatKeyPackage:
		if ok = m.KeyPackage != nil; ok {
			m.KeyPackage.Marshal(b)
		}
	}
	if !ok {
		b.SetError(invalid("MLSMessage with wire format %v and no matching body", m.WireFormat))
	}
}

// Unmarshal reads an MLSMessage from d.
func (m *MLSMessage) Unmarshal(d *Decoder) {
	*m = MLSMessage{Version: ProtocolVersion(d.Uint16())}
	m.WireFormat = readWireFormat(d)
	if !d.OK() {
		return
	}
	switch m.WireFormat {
	case WireFormatPublicMessage:
		m.PublicMessage = new(PublicMessage)
		m.PublicMessage.Unmarshal(d)
	case WireFormatPrivateMessage:
		m.PrivateMessage = new(PrivateMessage)
		m.PrivateMessage.Unmarshal(d)
	case WireFormatWelcome:
		m.Welcome = new(Welcome)
		m.Welcome.Unmarshal(d)
	case WireFormatGroupInfo:
		m.GroupInfo = new(GroupInfo)
		m.GroupInfo.Unmarshal(d)
	case WireFormatKeyPackage:
		m.KeyPackage = new(KeyPackage)
		m.KeyPackage.Unmarshal(d)
	}
}

// Encode returns the encoding of m.
func (m MLSMessage) Encode() ([]byte, error) { return encode(m) }

// DecodeMLSMessage decodes an MLSMessage.
func DecodeMLSMessage(data []byte) (MLSMessage, error) {
	return decode[MLSMessage]("MLSMessage", data)
}

// DecodeMLSMessageBounded is DecodeMLSMessage with the element counts of
// its vectors within b (see Bounds): the decoder for messages received
// from the network.
func DecodeMLSMessageBounded(data []byte, b Bounds) (MLSMessage, error) {
	return decodeWith[MLSMessage](NewBoundedDecoder(data, b), "MLSMessage")
}
