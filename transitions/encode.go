package transitions

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
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
	ev.marshal(&b)
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
	_, decode, ok := eventSpec(t)
	if !ok {
		if !d.OK() { // too short for a header
			return nil, fmt.Errorf("%w: %w", ErrEventEncoding, d.Finish("Event"))
		}
		return nil, fmt.Errorf("%w: unknown event tag %d", ErrEventEncoding, t)
	}
	ev := decode(d, at)
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
