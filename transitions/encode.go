package transitions

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
)

// EventFormat is the version of the event encoding. Changing the encoding
// of any event means a new version; DecodeEvent rejects other versions.
const EventFormat = 1

// ErrEventEncoding reports an event that cannot be encoded or bytes that are
// not an event encoding of EventFormat.
var ErrEventEncoding = errors.New("mls: invalid event encoding")

// EncodeEvent returns the canonical encoding of ev, TLS presentation style:
// uint8 format version, uint8 event tag, then the event's fields in order
// (integers big-endian, byte strings and lists as opaque<V>, wire structs in
// their RFC 9420 encoding).
func EncodeEvent(ev Event) ([]byte, error) {
	if ev == nil {
		return nil, fmt.Errorf("%w: nil event", ErrEventEncoding)
	}
	var b cryptobyte.Builder
	b.AddUint8(EventFormat)
	b.AddUint8(uint8(ev.tag()))
	b.AddUint64(ev.Time())
	switch e := ev.(type) {
	case NewSignatureKey:
		b.AddUint16(uint16(e.Suite))
	case NewKeyPackage:
		b.AddUint16(uint16(e.Suite))
		codec.AddOpaque(&b, e.SignatureKey)
		e.Credential.Marshal(&b)
		e.Capabilities.Marshal(&b)
		e.Lifetime.Marshal(&b)
		e.LeafExtensions.Marshal(&b)
		e.Extensions.Marshal(&b)
		addBool(&b, e.LastResort)
	case CreateGroup:
		b.AddUint16(uint16(e.Suite))
		addOptionalOpaque(&b, e.GroupID)
		codec.AddOpaque(&b, e.SignatureKey)
		e.Credential.Marshal(&b)
		e.Capabilities.Marshal(&b)
		e.Lifetime.Marshal(&b)
		e.LeafExtensions.Marshal(&b)
		e.GroupContextExtensions.Marshal(&b)
		e.Config.Marshal(&b)
	case Propose:
		e.Proposal.Marshal(&b)
		codec.AddOpaque(&b, e.AAD)
	case Leave:
		codec.AddOpaque(&b, e.AAD)
	case Commit:
		codec.AddVector(&b, func(b *cryptobyte.Builder) {
			for _, p := range e.Inline {
				p.Marshal(b)
			}
		})
		addBool(&b, e.ForcePath)
		b.AddUint8(uint8(e.RatchetTree))
		addBool(&b, e.PublishGroupInfo)
		codec.AddOpaque(&b, e.AAD)
	case ConfirmCommit, AbortCommit, MergeStaged, DiscardStaged, AcceptJoin, RejectJoin:
	case Receive:
		codec.AddOpaque(&b, e.Message)
	case DropProposal:
		codec.AddOpaque(&b, e.Ref)
	case Protect:
		codec.AddOpaque(&b, e.Data)
		codec.AddOpaque(&b, e.AAD)
	case Export:
		codec.AddOpaque(&b, []byte(e.Label))
		codec.AddOpaque(&b, e.Context)
		b.AddUint32(e.Length)
	case JoinWelcome:
		codec.AddOpaque(&b, e.Welcome)
		addOptionalOpaque(&b, e.RatchetTree)
		e.Config.Marshal(&b)
	default:
		if !encodeExtEvent(&b, ev) {
			return nil, fmt.Errorf("%w: unknown event %T", ErrEventEncoding, ev)
		}
	}
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrEventEncoding, Name(ev), err)
	}
	return out, nil
}

// DecodeEvent decodes an event encoded by EncodeEvent, strictly: the format
// version must be EventFormat, the tag known, booleans 0 or 1, and no byte
// may trail. Decoding then re-encoding gives the same bytes.
func DecodeEvent(data []byte) (Event, error) {
	d := codec.NewDecoder(data)
	if v := d.Uint8(); d.OK() && v != EventFormat {
		return nil, fmt.Errorf("%w: format version %d, want %d", ErrEventEncoding, v, EventFormat)
	}
	t := eventTag(d.Uint8())
	at := d.Uint64()
	var ev Event
	switch t {
	case tagNewSignatureKey:
		ev = NewSignatureKey{At: at, Suite: suite.ID(d.Uint16())}
	case tagNewKeyPackage:
		e := NewKeyPackage{At: at, Suite: suite.ID(d.Uint16())}
		e.SignatureKey = d.Opaque()
		e.Credential.Unmarshal(d)
		e.Capabilities.Unmarshal(d)
		e.Lifetime.Unmarshal(d)
		e.LeafExtensions.Unmarshal(d)
		e.Extensions.Unmarshal(d)
		e.LastResort = d.Optional()
		ev = e
	case tagCreateGroup:
		e := CreateGroup{At: at, Suite: suite.ID(d.Uint16())}
		e.GroupID = readOptionalOpaque(d)
		e.SignatureKey = d.Opaque()
		e.Credential.Unmarshal(d)
		e.Capabilities.Unmarshal(d)
		e.Lifetime.Unmarshal(d)
		e.LeafExtensions.Unmarshal(d)
		e.GroupContextExtensions.Unmarshal(d)
		e.Config.Unmarshal(d)
		ev = e
	case tagPropose:
		e := Propose{At: at}
		e.Proposal.Unmarshal(d)
		e.AAD = d.Opaque()
		ev = e
	case tagLeave:
		ev = Leave{At: at, AAD: d.Opaque()}
	case tagCommit:
		e := Commit{At: at}
		d.VectorEach(func(sub *codec.Decoder) {
			var p codec.Proposal
			p.Unmarshal(sub)
			e.Inline = append(e.Inline, p)
		})
		e.ForcePath = d.Optional()
		e.RatchetTree = TreeOption(d.Uint8())
		if e.RatchetTree > TreeOmit {
			d.Failf(codec.ErrInvalidValue, "ratchet tree option %d", e.RatchetTree)
		}
		e.PublishGroupInfo = d.Optional()
		e.AAD = d.Opaque()
		ev = e
	case tagConfirmCommit:
		ev = ConfirmCommit{At: at}
	case tagAbortCommit:
		ev = AbortCommit{At: at}
	case tagReceive:
		ev = Receive{At: at, Message: d.Opaque()}
	case tagMergeStaged:
		ev = MergeStaged{At: at}
	case tagDiscardStaged:
		ev = DiscardStaged{At: at}
	case tagDropProposal:
		ev = DropProposal{At: at, Ref: d.Opaque()}
	case tagProtect:
		e := Protect{At: at}
		e.Data = d.Opaque()
		e.AAD = d.Opaque()
		ev = e
	case tagExport:
		e := Export{At: at}
		e.Label = string(d.Opaque())
		e.Context = d.Opaque()
		e.Length = d.Uint32()
		ev = e
	case tagJoinWelcome:
		e := JoinWelcome{At: at}
		e.Welcome = d.Opaque()
		e.RatchetTree = readOptionalOpaque(d)
		var c state.Config
		c.Unmarshal(d)
		e.Config = c
		ev = e
	case tagAcceptJoin:
		ev = AcceptJoin{At: at}
	case tagRejectJoin:
		ev = RejectJoin{At: at}
	default:
		ev = decodeExtEvent(d, t, at)
		if ev == nil && d.OK() {
			return nil, fmt.Errorf("%w: unknown event tag %d", ErrEventEncoding, t)
		}
	}
	if err := d.Finish("Event"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEventEncoding, err)
	}
	return ev, nil
}

func addBool(b *cryptobyte.Builder, v bool) {
	if v {
		b.AddUint8(1)
	} else {
		b.AddUint8(0)
	}
}

// addOptionalOpaque encodes optional<opaque<V>>: nil is absent, so that an
// explicit empty value and "none" stay distinct.
func addOptionalOpaque(b *cryptobyte.Builder, v []byte) {
	if v == nil {
		b.AddUint8(0)
		return
	}
	b.AddUint8(1)
	codec.AddOpaque(b, v)
}

func readOptionalOpaque(d *codec.Decoder) []byte {
	if !d.Optional() {
		return nil
	}
	v := d.Opaque()
	if v == nil {
		v = []byte{}
	}
	return v
}
