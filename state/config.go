package state

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/valsem"
)

// OutgoingWireFormat says how this member frames the handshake messages
// (proposals and commits) it sends, like OpenMLS's OutgoingWireFormatPolicy.
// Application messages are always PrivateMessages (RFC 9420, Section 6.2).
type OutgoingWireFormat uint8

// The outgoing wire formats.
const (
	// OutgoingCiphertext sends handshake messages as PrivateMessage.
	OutgoingCiphertext OutgoingWireFormat = 1
	// OutgoingPlaintext sends handshake messages as PublicMessage.
	OutgoingPlaintext OutgoingWireFormat = 2
)

// IncomingWireFormat says which framings this member accepts for received
// handshake messages, like OpenMLS's IncomingWireFormatPolicy.
type IncomingWireFormat uint8

// The incoming wire formats.
const (
	// IncomingCiphertext accepts only PrivateMessage handshake messages.
	IncomingCiphertext IncomingWireFormat = 1
	// IncomingPlaintext accepts only PublicMessage handshake messages.
	IncomingPlaintext IncomingWireFormat = 2
	// IncomingMixed accepts both.
	IncomingMixed IncomingWireFormat = 3
)

// WireFormatPolicy is the group's wire format policy (OpenMLS
// wire_format_policy): the framing of outgoing handshake messages and the
// framings accepted for incoming ones.
type WireFormatPolicy struct {
	Outgoing OutgoingWireFormat
	Incoming IncomingWireFormat
}

// PureCiphertext is OpenMLS's default policy: handshake messages are sent
// and accepted only as PrivateMessage.
var PureCiphertext = WireFormatPolicy{Outgoing: OutgoingCiphertext, Incoming: IncomingCiphertext}

// PurePlaintext sends and accepts handshake messages only as PublicMessage.
var PurePlaintext = WireFormatPolicy{Outgoing: OutgoingPlaintext, Incoming: IncomingPlaintext}

// MixedPlaintext sends PublicMessage and accepts both framings.
var MixedPlaintext = WireFormatPolicy{Outgoing: OutgoingPlaintext, Incoming: IncomingMixed}

// MixedCiphertext sends PrivateMessage and accepts both framings.
var MixedCiphertext = WireFormatPolicy{Outgoing: OutgoingCiphertext, Incoming: IncomingMixed}

// AcceptsPublic reports whether received handshake messages may be
// PublicMessages.
func (p WireFormatPolicy) AcceptsPublic() bool {
	return p.Incoming == IncomingPlaintext || p.Incoming == IncomingMixed
}

// AcceptsPrivate reports whether received handshake messages may be
// PrivateMessages.
func (p WireFormatPolicy) AcceptsPrivate() bool {
	return p.Incoming == IncomingCiphertext || p.Incoming == IncomingMixed
}

// Config is a member's configuration of one group: the runtime options of
// OpenMLS's MlsGroupJoinConfig ("Group configuration" in the OpenMLS book).
// The parts of the group that all members agree on (group context
// extensions, the creator's capabilities and leaf extensions) are fields of
// the CreateGroup event and of the GroupContext instead.
type Config struct {
	// WireFormat is the wire format policy for handshake messages.
	WireFormat WireFormatPolicy
	// PaddingSize pads every PrivateMessage content to a multiple of this
	// many bytes (RFC 9420, Section 6.3.1); 0 disables padding.
	PaddingSize uint32
	// MaxPastEpochs is how many past epochs keep their secret trees so that
	// late application messages can still be decrypted (OpenMLS's
	// max_past_epochs); 0 keeps none.
	MaxPastEpochs uint32
	// MaxPastEpochAge bounds the same window by age, in seconds: a past
	// epoch is dropped — its secrets erased, its messages refused with
	// valsem.ValSem003 — once MaxPastEpochAge seconds have passed since
	// it ended (the time of the event that merged the next epoch),
	// measured with the time of each later event (the core reads no
	// clock). 0 bounds the window by count alone. An expired epoch's
	// secrets leave the state with the group's next event at or after
	// the deadline.
	MaxPastEpochAge uint64
	// ResumptionPSKs is number_of_resumption_psks: how many past epochs'
	// resumption PSKs are kept (RFC 9420, Section 8.6; ValSem400).
	ResumptionPSKs uint32
	// RatchetTreeExtension puts the ratchet tree into the GroupInfo of
	// Welcome messages (RFC 9420, Section 12.4.3.3) instead of leaving new
	// members to obtain it out of band.
	RatchetTreeExtension bool
	// SenderRatchet bounds out-of-order and skipped messages (RFC 9420,
	// Section 9.4), in generations.
	SenderRatchet keysched.RatchetConfig
}

// DefaultConfig returns OpenMLS's defaults: pure ciphertext, no padding, no
// past epochs, no resumption PSKs, no ratchet tree extension, sender ratchet
// tolerance 5 and maximum forward distance 1000.
func DefaultConfig() Config {
	return Config{
		WireFormat:    PureCiphertext,
		SenderRatchet: keysched.DefaultRatchetConfig(),
	}
}

// Limits on the configuration values, so that a logged event cannot make a
// state retain unbounded material.
const (
	// MaxPastEpochsLimit bounds Config.MaxPastEpochs (epochs).
	MaxPastEpochsLimit = 1024
	// MaxResumptionPSKsLimit bounds Config.ResumptionPSKs (epochs): the
	// upper bound on stored resumption PSKs (ValSem400; RFC 9420, Section
	// 8.6), 1024 resumption_psk secrets of at most 64 bytes each per
	// group. transitions.Limits.MaxResumptionPSKs may lower it.
	MaxResumptionPSKsLimit = 1024
	// MaxPaddingSize bounds Config.PaddingSize (bytes).
	MaxPaddingSize = 1 << 16
)

// Check reports whether c is a usable configuration: ErrInvalidConfig,
// or for too many resumption PSKs a ValSem400 error (RFC 9420, 8.6).
//
// [RFC 9420, Section 8.6]: https://www.rfc-editor.org/rfc/rfc9420#section-8.6
func (c Config) Check() error {
	switch {
	case c.WireFormat.Outgoing != OutgoingCiphertext && c.WireFormat.Outgoing != OutgoingPlaintext:
		return fmt.Errorf("%w: invalid outgoing wire format policy %d", ErrInvalidConfig, c.WireFormat.Outgoing)
	case c.WireFormat.Incoming < IncomingCiphertext || c.WireFormat.Incoming > IncomingMixed:
		return fmt.Errorf("%w: invalid incoming wire format policy %d", ErrInvalidConfig, c.WireFormat.Incoming)
	case c.MaxPastEpochs > MaxPastEpochsLimit:
		return fmt.Errorf("%w: max past epochs %d over the limit %d", ErrInvalidConfig, c.MaxPastEpochs, MaxPastEpochsLimit)
	case c.ResumptionPSKs > MaxResumptionPSKsLimit:
		// ValSem400: the number of stored resumption PSKs is bounded.
		return valsem.Errorf(valsem.ValSem400, "number of resumption psks %d over the limit %d", c.ResumptionPSKs, MaxResumptionPSKsLimit)
	case c.PaddingSize > MaxPaddingSize:
		return fmt.Errorf("%w: padding size %d over the limit %d", ErrInvalidConfig, c.PaddingSize, MaxPaddingSize)
	}
	return nil
}

// Marshal appends the canonical encoding of c to b (for events and digests).
func (c Config) Marshal(b *cryptobyte.Builder) {
	b.AddUint8(uint8(c.WireFormat.Outgoing))
	b.AddUint8(uint8(c.WireFormat.Incoming))
	b.AddUint32(c.PaddingSize)
	b.AddUint32(c.MaxPastEpochs)
	b.AddUint32(c.ResumptionPSKs)
	var flags uint8
	if c.RatchetTreeExtension {
		flags |= configRatchetTree
	}
	if c.MaxPastEpochAge != 0 {
		flags |= configPastEpochAge
	}
	b.AddUint8(flags)
	b.AddUint32(c.SenderRatchet.OutOfOrderTolerance)
	b.AddUint32(c.SenderRatchet.MaximumForwardDistance)
	if c.MaxPastEpochAge != 0 {
		b.AddUint64(c.MaxPastEpochAge)
	}
}

// The flags byte of a Config's encoding. It was the RatchetTreeExtension
// boolean (0 or 1) before MaxPastEpochAge existed; a configuration without
// an age encodes as it did then, so that older events, states and digests
// keep their bytes.
const (
	configRatchetTree  = 1 << 0
	configPastEpochAge = 1 << 1 // a uint64 MaxPastEpochAge follows the sender ratchet
)

// Unmarshal reads a Config from d, strictly (booleans are 0 or 1).
func (c *Config) Unmarshal(d *codec.Decoder) {
	c.WireFormat.Outgoing = OutgoingWireFormat(d.Uint8())
	c.WireFormat.Incoming = IncomingWireFormat(d.Uint8())
	c.PaddingSize = d.Uint32()
	c.MaxPastEpochs = d.Uint32()
	c.ResumptionPSKs = d.Uint32()
	flags := d.Uint8()
	if flags&^(configRatchetTree|configPastEpochAge) != 0 {
		d.Failf(codec.ErrInvalidValue, "config flags %#x", flags)
	}
	c.RatchetTreeExtension = flags&configRatchetTree != 0
	c.SenderRatchet.OutOfOrderTolerance = d.Uint32()
	c.SenderRatchet.MaximumForwardDistance = d.Uint32()
	if flags&configPastEpochAge != 0 {
		// Canonical: an age of 0 is written without the flag.
		if c.MaxPastEpochAge = d.Uint64(); d.OK() && c.MaxPastEpochAge == 0 {
			d.Failf(codec.ErrInvalidValue, "config past epoch age flag with age 0")
		}
	}
}
