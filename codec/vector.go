package codec

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Decode errors. Every decoder error wraps one of these (inside a
// *DecodeError that names the struct and the byte offset).
var (
	// ErrTruncated reports input that ends before the structure does, or a
	// length prefix larger than the remaining input.
	ErrTruncated = errors.New("mls: truncated input")
	// ErrNonMinimalVarint reports a variable-length integer not encoded in
	// its shortest form (RFC 9420, Section 2.1.2).
	ErrNonMinimalVarint = errors.New("mls: non-minimal variable-length integer")
	// ErrReservedVarint reports a variable-length integer with the reserved
	// 0b11 prefix.
	ErrReservedVarint = errors.New("mls: variable-length integer with reserved prefix 0b11")
	// ErrTrailingData reports bytes left over after a complete structure.
	ErrTrailingData = errors.New("mls: trailing data")
	// ErrInvalidValue reports a value the RFC does not allow in that field
	// (an unknown closed enum value, an optional flag other than 0 or 1, ...).
	ErrInvalidValue = errors.New("mls: invalid value")
	// ErrTooLong reports a value too long to encode (a vector over 2^30-1 bytes).
	ErrTooLong = errors.New("mls: value too long to encode")
)

// MaxVarint is the largest value a variable-length integer can hold (2^30-1).
const MaxVarint = 1<<30 - 1

// ReadVarint reads an RFC 9420 §2.1.2 variable-length integer. It fails on
// truncation, the reserved 0b11 prefix and non-minimal encodings; use
// ReadVarintErr to learn which.
func ReadVarint(s *cryptobyte.String, out *uint32) bool {
	v, err := readVarint(s)
	if err != nil {
		return false
	}
	*out = v
	return true
}

// readVarint reads a varint and tells why it failed.
func readVarint(s *cryptobyte.String) (uint32, error) {
	if len(*s) == 0 {
		return 0, ErrTruncated
	}
	prefix := (*s)[0] >> 6
	if prefix == 3 {
		return 0, ErrReservedVarint
	}
	n := 1 << prefix
	if len(*s) < n {
		return 0, ErrTruncated
	}
	v := uint32((*s)[0] & 0x3f)
	for i := 1; i < n; i++ {
		v = v<<8 | uint32((*s)[i])
	}
	// The RFC requires the shortest encoding: 1 byte up to 63, 2 up to
	// 16383, 4 bytes beyond.
	if (prefix == 1 && v < 1<<6) || (prefix == 2 && v < 1<<14) {
		return 0, ErrNonMinimalVarint
	}
	*s = (*s)[n:]
	return v, nil
}

// ReadVarintErr is ReadVarint with the reason for failure.
func ReadVarintErr(s *cryptobyte.String) (uint32, error) { return readVarint(s) }

// AddVarint appends v as a minimal variable-length integer. A value above
// MaxVarint sets the builder's error to ErrTooLong.
func AddVarint(b *cryptobyte.Builder, v uint32) {
	switch {
	case v < 1<<6:
		b.AddUint8(uint8(v))
	case v < 1<<14:
		b.AddUint16(uint16(v) | 0x4000)
	case v <= MaxVarint:
		b.AddUint32(v | 0x80000000)
	default:
		b.SetError(ErrTooLong)
	}
}

// ReadOpaque reads an opaque<V> (varint length, then bytes) into out. The
// bytes alias s; copy them before keeping them.
func ReadOpaque(s *cryptobyte.String, out *[]byte) bool {
	var n uint32
	if !ReadVarint(s, &n) {
		return false
	}
	// A length larger than the rest of the input fails here, before any
	// allocation.
	return s.ReadBytes(out, int(n))
}

// ReadVector reads a varint-length-prefixed vector into out, for element-wise
// decoding. It never allocates.
func ReadVector(s *cryptobyte.String, out *cryptobyte.String) bool {
	var b []byte
	if !ReadOpaque(s, &b) {
		return false
	}
	*out = b
	return true
}

// AddOpaque appends data as an opaque<V>.
func AddOpaque(b *cryptobyte.Builder, data []byte) {
	if len(data) > MaxVarint {
		b.SetError(ErrTooLong)
		return
	}
	AddVarint(b, uint32(len(data)))
	b.AddBytes(data)
}

// AddVector appends a varint-length-prefixed vector whose content f writes.
func AddVector(b *cryptobyte.Builder, f func(b *cryptobyte.Builder)) {
	var child cryptobyte.Builder
	f(&child)
	body, err := child.Bytes()
	if err != nil {
		b.SetError(err)
		return
	}
	AddOpaque(b, body)
}

// DecodeError is a decoding failure: which structure, at which byte offset of
// the input, and why (one of the Err* values above, or a more specific error).
type DecodeError struct {
	Struct string // the top-level structure being decoded, e.g. "KeyPackage"
	Offset int    // byte offset into the input where decoding failed
	Err    error  // the reason
}

// Error implements error.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("mls: decoding %s at byte %d: %v", e.Struct, e.Offset, e.Err)
}

// Unwrap returns the reason.
func (e *DecodeError) Unwrap() error { return e.Err }
