package codec

import (
	"encoding/binary"
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

// AppendVarint appends v as a minimal variable-length integer, as
// AddVarint does, for encodings written straight into a buffer sized up
// front. v must be at most MaxVarint (not checked: the caller checks its
// lengths before sizing the buffer).
func AppendVarint(dst []byte, v uint32) []byte {
	switch {
	case v < 1<<6:
		return append(dst, byte(v))
	case v < 1<<14:
		return binary.BigEndian.AppendUint16(dst, uint16(v)|0x4000)
	}
	return binary.BigEndian.AppendUint32(dst, v|0x80000000)
}

// AppendOpaque appends data as an opaque<V> (varint length, then the
// bytes); len(data) must be at most MaxVarint, as for AppendVarint.
func AppendOpaque(dst, data []byte) []byte {
	return append(AppendVarint(dst, uint32(len(data))), data...)
}

// OpaqueLen is the encoded length of an opaque<V> of n ≤ MaxVarint bytes:
// the minimal varint length prefix, then the bytes.
func OpaqueLen(n int) int {
	switch {
	case n < 1<<6:
		return 1 + n
	case n < 1<<14:
		return 2 + n
	}
	return 4 + n
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

// Decoding errors beyond the presentation-language ones.
var (
	// ErrNonZeroPadding reports a PrivateMessageContent whose padding holds a
	// non-zero byte (RFC 9420, Section 6.3.1); the group layer maps it to
	// ValSem011.
	ErrNonZeroPadding = errors.New("mls: non-zero padding in private message content")
	// ErrDuplicateExtension reports an extension list holding two extensions
	// of the same type (RFC 9420, Section 13.4: "Any field containing a list
	// of extensions MUST NOT have more than one extension of any given
	// type").
	ErrDuplicateExtension = errors.New("mls: duplicate extension type")
)

// LimitError reports input over a bound that the caller of a decoder set
// (a node count, a leaf count, a vector's element count). Decoders check
// the bound while reading, before allocating for what lies beyond it, and
// stop at the first element over it: Got is then a lower bound of the
// input's true count (usually Max+1). It arrives wrapped in a *DecodeError
// (or in the error of the package that set the bound); use errors.As.
type LimitError struct {
	Limit string // the bound, named as the caller names it, e.g. "MaxLeaves"
	Got   uint64 // the count of the input (a lower bound if decoding stopped)
	Max   uint64 // the bound
}

// Error implements error.
func (e *LimitError) Error() string {
	return fmt.Sprintf("mls: %s exceeded: %d > %d", e.Limit, e.Got, e.Max)
}

// Decoder reads RFC 9420 structures from a byte string. Like
// cryptobyte.Builder, its error is sticky: after the first failure every read
// returns a zero value and consumes nothing, and Err reports the failure with
// the byte offset (from the start of the top-level input) at which it
// happened. Sub-decoders for vectors report offsets in the same coordinates.
//
// Byte slices returned by a Decoder are copies: decoded values never alias
// the input, except the HPKE ciphertexts of a shared decoder
// (DecodeMLSMessageShared, DecodePrivateMessageContentShared).
type Decoder struct {
	s     cryptobyte.String
	end   int   // offset, in the top-level input, just past s
	err   error // the first failure
	off   int   // where it happened
	share bool  // HPKE ciphertexts alias the input instead of copying it
	// count is set on the sub-decoder of List's counting pass: reads
	// check the syntax and consume the bytes but copy nothing.
	count  bool
	bounds Bounds
	mem    *allowance // shared by the sub-decoders of one top-level input
}

// Decoding charges what it allocates for the elements of a vector —
// the list's slice, and each inline proposal's and tree node's structures
// — against an allowance of memoryPerByte bytes per input byte plus
// memorySlack. The allocations it does not charge are bounded apart: a
// copied opaque<V> takes at most 4 bytes of memory per byte of input (an
// 8-byte block for the shortest, 2-byte, non-empty one), and the
// structures outside vectors are a constant per top-level input. Together
// a decoder allocates at most MaxMemoryPerByte bytes per input byte plus
// 64 KiB.
const (
	memoryPerByte = 16
	memorySlack   = 48 << 10
)

// MaxMemoryPerByte bounds the memory decoding allocates per byte of
// input, beyond a constant 64 KiB: see the package documentation.
const MaxMemoryPerByte = 20

// allowance is what a top-level input may still have allocated for it,
// and the scratch proposal bodies of its counting passes (allocated once,
// at the first).
type allowance struct {
	left, max uint64
	bodies    *proposalBodies
}

func newAllowance(n int) *allowance {
	m := memoryPerByte*uint64(n) + memorySlack
	return &allowance{left: m, max: m}
}

// charge records that decoding is about to allocate n bytes. Past the
// allowance it fails with a *LimitError (Limit "decoded memory") and
// returns false; it also returns false once the decoder has failed, so
// that nothing is allocated after a failure.
func (d *Decoder) charge(n uint64) bool {
	if d.err != nil {
		return false
	}
	if n > d.mem.left {
		d.Fail(&LimitError{Limit: "decoded memory", Got: d.mem.max - d.mem.left + n, Max: d.mem.max})
		d.mem.left = 0
		return false
	}
	d.mem.left -= n
	return true
}

// Bounds caps the element counts of the vectors a Decoder reads, as the
// caller's limits allow them; a zero field means no bound beyond the
// input's length. A vector over its bound fails with a *LimitError naming
// the bound, in List's counting pass, before its elements are allocated.
type Bounds struct {
	// MaxProposals bounds the proposals of a Commit, the
	// EncryptedGroupSecrets of a Welcome (one per added member) and the
	// psks of a GroupSecrets (one per PreSharedKey proposal).
	MaxProposals uint32
	// MaxLeaves bounds the encrypted_path_secret of an UpdatePathNode
	// (one per node of a copath resolution, at most one per leaf).
	MaxLeaves uint32
}

// Bounds returns the bounds d enforces, for decoders of other packages
// built on it.
func (d *Decoder) Bounds() Bounds { return d.bounds }

// NewBoundedDecoder returns a Decoder reading data whose vectors are
// within b.
func NewBoundedDecoder(data []byte, b Bounds) *Decoder {
	return &Decoder{s: data, end: len(data), bounds: b, mem: newAllowance(len(data))}
}

// NewDecoder returns a Decoder reading data.
func NewDecoder(data []byte) *Decoder {
	return &Decoder{s: data, end: len(data), mem: newAllowance(len(data))}
}

// Offset returns the position of the next byte to read, counted from the
// start of the top-level input.
func (d *Decoder) Offset() int { return d.end - len(d.s) }

// Empty reports whether all the input (of this decoder or sub-decoder) has
// been consumed.
func (d *Decoder) Empty() bool { return len(d.s) == 0 }

// Err returns the first failure (nil if none). Use Finish to also check
// for trailing data and to obtain a *DecodeError.
func (d *Decoder) Err() error { return d.err }

// OK reports whether no failure has happened yet.
func (d *Decoder) OK() bool { return d.err == nil }

// Fail records err at the current offset unless an earlier failure exists.
func (d *Decoder) Fail(err error) { d.failAt(d.Offset(), err) }

func (d *Decoder) failAt(off int, err error) {
	if d.err == nil {
		d.err, d.off = err, off
	}
}

// Failf records a failure that wraps base (one of the Err* values) with
// a formatted detail, at the current offset.
func (d *Decoder) Failf(base error, format string, args ...any) {
	if d.err == nil {
		d.Fail(fmt.Errorf("%w: "+format, append([]any{base}, args...)...))
	}
}

// Finish checks that every byte has been consumed and returns the first
// failure as a *DecodeError naming structName, or nil.
func (d *Decoder) Finish(structName string) error {
	if d.err == nil && !d.Empty() {
		d.Fail(ErrTrailingData)
	}
	if d.err == nil {
		return nil
	}
	return &DecodeError{Struct: structName, Offset: d.off, Err: d.err}
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.s) < n {
		d.Fail(ErrTruncated)
		return nil
	}
	v := d.s[:n]
	d.s = d.s[n:]
	return v
}

// Uint8 reads a uint8.
func (d *Decoder) Uint8() uint8 {
	b := d.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// Uint16 reads a big-endian uint16.
func (d *Decoder) Uint16() uint16 {
	b := d.take(2)
	if b == nil {
		return 0
	}
	return uint16(b[0])<<8 | uint16(b[1])
}

// Uint32 reads a big-endian uint32.
func (d *Decoder) Uint32() uint32 {
	b := d.take(4)
	if b == nil {
		return 0
	}
	return u32(b)
}

// Uint64 reads a big-endian uint64.
func (d *Decoder) Uint64() uint64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return uint64(u32(b[:4]))<<32 | uint64(u32(b[4:]))
}

func u32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Varint reads an RFC 9420 Section 2.1.2 variable-length integer.
func (d *Decoder) Varint() uint32 {
	if d.err != nil {
		return 0
	}
	off := d.Offset()
	v, err := readVarint(&d.s)
	if err != nil {
		d.failAt(off, err)
		return 0
	}
	return v
}

// Fixed reads exactly n bytes (an opaque[n]) and returns a copy.
func (d *Decoder) Fixed(n int) []byte {
	return d.copyOf(d.take(n))
}

// Opaque reads an opaque<V> and returns a copy of its content (nil when
// empty). A length larger than the remaining input fails before any
// allocation.
func (d *Decoder) Opaque() []byte {
	return d.copyOf(d.rawOpaque())
}

// sharedOpaque reads an opaque<V> like Opaque, but a shared decoder
// returns a sub-slice of its input (capacity clipped, so that appending to
// it cannot write into the input) instead of a copy. Only values that no
// state retains are read this way: the HPKE ciphertexts, which can make up
// nearly all of a commit's bytes.
func (d *Decoder) sharedOpaque() []byte {
	b := d.rawOpaque()
	if !d.share {
		return d.copyOf(b)
	}
	if len(b) == 0 {
		return nil
	}
	return b[:len(b):len(b)]
}

func (d *Decoder) rawOpaque() []byte {
	n := d.Varint()
	if d.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(d.s)) {
		d.Failf(ErrTruncated, "length %d exceeds the %d remaining bytes", n, len(d.s))
		return nil
	}
	return d.take(int(n))
}

// Optional reads an optional<T> presence flag: it returns true for 1, false
// for 0, and fails with ErrInvalidValue for anything else.
func (d *Decoder) Optional() bool {
	off := d.Offset()
	switch d.Uint8() {
	case 0:
		return false
	case 1:
		return true
	default:
		d.failAt(off, fmt.Errorf("%w: optional flag is neither 0 nor 1", ErrInvalidValue))
		return false
	}
}

// Vector reads a varint-length-prefixed vector and calls f once with a
// sub-decoder over its content, which f must consume entirely. f is not
// called if the prefix is already invalid. The sub-decoder is d itself,
// narrowed to the vector's content for the call (so that reading a
// vector allocates nothing): f must read from the decoder it is given.
func (d *Decoder) Vector(f func(sub *Decoder)) {
	body := d.rawOpaque()
	if d.err != nil {
		return
	}
	rest, end := d.s, d.end
	d.s, d.end = body, d.Offset()
	f(d)
	if d.err == nil && !d.Empty() {
		d.Fail(ErrTrailingData)
	}
	d.s, d.end = rest, end
}

// VectorEach reads a varint-length-prefixed vector and calls f with a
// sub-decoder once per element, until the content is consumed or a failure
// happens. Each call must consume at least one byte. Allocation stays
// proportional to the input because every element takes at least one byte.
func (d *Decoder) VectorEach(f func(sub *Decoder)) {
	d.Vector(func(sub *Decoder) {
		for sub.err == nil && !sub.Empty() {
			before := len(sub.s)
			f(sub)
			if sub.err == nil && len(sub.s) == before {
				// Defensive: an element that consumes nothing would loop
				// forever.
				sub.Fail(fmt.Errorf("%w: empty vector element", ErrInvalidValue))
			}
		}
	})
}

// List reads a varint-length-prefixed vector whose elements f reads, one
// per call, into *v (a zeroed element; f has the shape of an Unmarshal
// method expression such as (*Extension).Unmarshal), and returns them (nil for an empty
// vector). Each call must consume at least one byte.
//
// List reads the vector twice: a first pass counts the elements, reading
// them into one scratch element with the decoder's copies disabled
// (Opaque, Fixed and Rest return nil, nested Lists allocate nothing), then
// the result is allocated once at its exact length and the second pass
// reads the elements into it. So the memory a list costs is its elements'
// size, never the two to five times more of a slice grown by append, and
// the work is proportional to the input times the nesting depth of
// Lists. f must not keep state between calls that the counting pass
// would disturb; it can tell that pass by Counting.
func List[T any](d *Decoder, f func(v *T, d *Decoder)) []T {
	return ListMax(d, "", 0, f)
}

// ListMax is List for a vector of at most max elements (no bound when max
// is 0): the counting pass stops at element max+1 with a *LimitError
// naming limit.
//
// The slice of a list of another package's type is not charged against
// the decoder's memory allowance (its size is unknown here): such lists
// need a bound of their own, as the MaxProposals of state's stored
// proposals.
func ListMax[T any](d *Decoder, limit string, max uint32, f func(v *T, d *Decoder)) []T {
	return list(d, limit, max, 0, f)
}

// list is ListMax for elements of size bytes each (0: not charged), whose
// slice is charged against the decoder's memory allowance before it is
// allocated.
func list[T any](d *Decoder, limit string, max uint32, size uint64, f func(v *T, d *Decoder)) []T {
	var out []T
	d.Vector(func(sub *Decoder) {
		if sub.Empty() {
			return
		}
		// The counting pass reads the elements into one scratch value,
		// with copies disabled, then the second pass rereads them.
		start, counting := sub.s, sub.count
		if !sub.charge(size) {
			return
		}
		scratch := new(T)
		sub.count = true
		n := 0
		for sub.err == nil && !sub.Empty() {
			if max > 0 && n == int(max) {
				sub.Fail(&LimitError{Limit: limit, Got: uint64(max) + 1, Max: uint64(max)})
				break
			}
			before := len(sub.s)
			var zero T
			*scratch = zero
			f(scratch, sub)
			if sub.err == nil && len(sub.s) == before {
				sub.Fail(fmt.Errorf("%w: empty vector element", ErrInvalidValue))
			}
			n++
		}
		sub.count = counting
		if sub.err != nil || counting {
			return
		}
		sub.s = start
		if !sub.charge(uint64(n) * size) {
			return
		}
		out = make([]T, n)
		for i := range out {
			if sub.err != nil {
				break // over the allowance: read nothing more
			}
			f(&out[i], sub)
		}
		if sub.err != nil {
			out = nil
		}
	})
	return out
}

// Counting reports whether d is in List's counting pass, in which decoded
// values are discarded: decoders that check rules across the elements of
// a list (duplicates, say) skip them there and check them in the second
// pass.
func (d *Decoder) Counting() bool { return d.count }

// Rest returns a copy of all remaining bytes and consumes them.
func (d *Decoder) Rest() []byte { return d.Fixed(len(d.s)) }

// copyOf returns a copy of b, or nil in List's counting pass.
func (d *Decoder) copyOf(b []byte) []byte {
	if d.count {
		return nil
	}
	return clone(b)
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// marshaler is implemented by every wire structure of this package.
type marshaler interface {
	Marshal(b *cryptobyte.Builder)
}

// encode runs m.Marshal on a fresh builder.
func encode(m marshaler) ([]byte, error) {
	var b cryptobyte.Builder
	m.Marshal(&b)
	return b.Bytes()
}

// EncodeSized is m's Encode into a buffer of capacity n: with n at least
// the encoded length (a bound computed from m's fields), the encoding is
// one allocation instead of a builder that grows by doubling and copying.
// A smaller n is still correct, only slower.
func EncodeSized(m interface{ Marshal(b *cryptobyte.Builder) }, n int) ([]byte, error) {
	b := cryptobyte.NewBuilder(make([]byte, 0, max(n, 0)))
	m.Marshal(b)
	return b.Bytes()
}

// OpaqueBound is an upper bound of the encoded length of an opaque<V> of n
// bytes: n plus the longest varint length prefix.
func OpaqueBound(n int) int { return n + 4 }

// unmarshaler is the pointer side of a wire structure.
type unmarshaler[T any] interface {
	*T
	Unmarshal(d *Decoder)
}

// decode decodes a whole T from data, rejecting trailing bytes.
func decode[T any, PT unmarshaler[T]](name string, data []byte) (T, error) {
	return decodeWith[T, PT](NewDecoder(data), name)
}

// decodeWith decodes a whole T from d, rejecting trailing bytes.
func decodeWith[T any, PT unmarshaler[T]](d *Decoder, name string) (T, error) {
	var v T
	PT(&v).Unmarshal(d)
	if err := d.Finish(name); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// invalid returns an error for a value that cannot be encoded.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidValue}, args...)...)
}

// addOptional appends an optional<T> presence flag and, if present, the
// value written by f.
func addOptional(b *cryptobyte.Builder, present bool, f func(b *cryptobyte.Builder)) {
	if !present {
		b.AddUint8(0)
		return
	}
	b.AddUint8(1)
	f(b)
}

// Clone returns a deep copy of the wire structure v, sharing no memory with
// it: v is encoded and the encoding decoded. It is for the accessors that
// hand out values held by a group state (which must not let a caller change
// the state); the core itself never copies on its hot paths. v must encode
// and decode: every value a state holds was decoded or built to be sent.
// Clone panics otherwise, a broken internal invariant.
func Clone[T any, PT interface {
	*T
	marshaler
	Unmarshal(d *Decoder)
}](v T) T {
	var b cryptobyte.Builder
	PT(&v).Marshal(&b)
	data, err := b.Bytes()
	if err != nil {
		panic("mls: codec: cloning an unencodable value: " + err.Error())
	}
	var out T
	d := NewDecoder(data)
	PT(&out).Unmarshal(d)
	if err := d.Finish("clone"); err != nil {
		panic("mls: codec: cloning a value that does not decode: " + err.Error())
	}
	return out
}
