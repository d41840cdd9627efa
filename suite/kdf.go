package suite

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
)

// maxVarint is the largest length an RFC 9420 opaque<V> can carry (2^30-1).
const maxVarint = 1<<30 - 1

// appendVarint appends n as an RFC 9420 Section 2.1.2 variable-length
// integer in its minimal form. n must be at most maxVarint.
func appendVarint(b []byte, n int) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return binary.BigEndian.AppendUint16(b, uint16(n)|0x4000)
	default:
		return binary.BigEndian.AppendUint32(b, uint32(n)|0x80000000)
	}
}

// varintLen is the encoded length of appendVarint(n).
func varintLen(n int) int {
	switch {
	case n < 1<<6:
		return 1
	case n < 1<<14:
		return 2
	default:
		return 4
	}
}

// labeledStruct encodes struct { opaque label<V>; opaque value<V>; } with
// label = prefix+label, the shape of SignContent, EncryptContext,
// RefHashInput and (after the uint16 length) KDFLabel. extra bytes of
// headroom are reserved at the front and filled by the caller.
func labeledStruct(extra int, prefix, label string, value []byte) ([]byte, error) {
	l := len(prefix) + len(label)
	if l > maxVarint || len(value) > maxVarint {
		return nil, fmt.Errorf("%w: label or value longer than 2^30-1 bytes", ErrLength)
	}
	b := make([]byte, extra, extra+varintLen(l)+l+varintLen(len(value))+len(value))
	b = appendVarint(b, l)
	b = append(b, prefix...)
	b = append(b, label...)
	b = appendVarint(b, len(value))
	b = append(b, value...)
	return b, nil
}

// mlsPrefix is the label prefix of ExpandWithLabel, SignWithLabel and
// EncryptWithLabel (RFC 9420, Sections 5.1.2, 5.1.3 and 8).
const mlsPrefix = "MLS 1.0 "

// Hash returns the suite's hash of data.
func (s *Suite) Hash(data []byte) []byte {
	switch s.nh {
	case 32:
		h := sha256.Sum256(data)
		return h[:]
	case 48:
		h := sha512.Sum384(data)
		return h[:]
	default:
		h := sha512.Sum512(data)
		return h[:]
	}
}

// Extract is HKDF-Extract (RFC 5869) with the suite's hash. An empty salt
// is equivalent to Nh zero bytes.
func (s *Suite) Extract(salt, ikm []byte) []byte {
	if out, ok := s.macShort(salt, ikm); ok {
		return out
	}
	m := hmac.New(s.newHash, salt)
	m.Write(ikm)
	return m.Sum(make([]byte, 0, s.nh))
}

// Expand is HKDF-Expand (RFC 5869) with the suite's hash. length must be
// between 0 and 255*Nh, else the error wraps ErrLength.
func (s *Suite) Expand(prk, info []byte, length int) ([]byte, error) {
	if length < 0 || length > 255*s.nh {
		return nil, fmt.Errorf("%w: HKDF-Expand output of %d bytes (max %d)", ErrLength, length, 255*s.nh)
	}
	return hkdfExpand(s.newHash, s.nh, prk, info, length), nil
}

// ExpandWithLabel is RFC 9420's ExpandWithLabel (Section 8): HKDF-Expand of
// secret with info
//
//	struct {
//	    uint16 length;
//	    opaque label<V> = "MLS 1.0 " + label;
//	    opaque context<V>;
//	} KDFLabel;
//
// length must fit in a uint16 and be at most 255*Nh (error wraps ErrLength).
func (s *Suite) ExpandWithLabel(secret []byte, label string, context []byte, length int) ([]byte, error) {
	if length < 0 || length > 0xffff {
		return nil, fmt.Errorf("%w: ExpandWithLabel length %d does not fit in uint16", ErrLength, length)
	}
	if length > 255*s.nh {
		return nil, fmt.Errorf("%w: ExpandWithLabel output of %d bytes (max %d)", ErrLength, length, 255*s.nh)
	}
	if out, ok := s.expandWithLabelShort(secret, label, context, length); ok {
		return out, nil
	}
	info, err := labeledStruct(2, mlsPrefix, label, context)
	if err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint16(info, uint16(length))
	return hkdfExpand(s.newHash, s.nh, secret, info, length), nil
}

// hmacBufLen is the size of the stack buffer of the single-block HMAC fast
// path: one hash block (at most 128 bytes) plus the message.
const hmacBufLen = 384

// blockSize is the block size of the suite's hash: 64 bytes for SHA-256,
// 128 for SHA-384 and SHA-512.
func (s *Suite) blockSize() int {
	if s.nh == 32 {
		return 64
	}
	return 128
}

// sumInto writes the suite's hash of data to the first Nh bytes of out.
// The fixed-size Sum functions keep data and the digest state off the heap.
func (s *Suite) sumInto(out *[64]byte, data []byte) {
	switch s.nh {
	case 32:
		h := sha256.Sum256(data)
		copy(out[:], h[:])
	case 48:
		h := sha512.Sum384(data)
		copy(out[:], h[:])
	default:
		*out = sha512.Sum512(data)
	}
}

// hmacPadded writes HMAC(key, buf[bs:]) to the first Nh bytes of out, where
// bs is the hash block size and buf[:bs] is scratch space that it
// overwrites with the inner pad. It is RFC 2104 HMAC computed with two
// one-shot hashes, so that a caller holding buf on its stack allocates
// nothing; len(buf) must be at most hmacBufLen.
func (s *Suite) hmacPadded(out *[64]byte, key, buf []byte) {
	bs := s.blockSize()
	var k [128]byte
	if len(key) > bs {
		var d [64]byte
		s.sumInto(&d, key)
		copy(k[:], d[:s.nh])
	} else {
		copy(k[:], key)
	}
	for i := range bs {
		buf[i] = k[i] ^ 0x36
	}
	var inner [64]byte
	s.sumInto(&inner, buf)
	var ob [128 + 64]byte
	for i := range bs {
		ob[i] = k[i] ^ 0x5c
	}
	copy(ob[bs:], inner[:s.nh])
	s.sumInto(out, ob[:bs+s.nh])
}

// macShort is HMAC(key, data) for data that fits in the stack buffer with
// one hash block (the key schedule's extracts, confirmation tags): it
// allocates only the result. ok is false when data is too long.
func (s *Suite) macShort(key, data []byte) (out []byte, ok bool) {
	bs := s.blockSize()
	if bs+len(data) > hmacBufLen {
		return nil, false
	}
	var buf [hmacBufLen]byte
	b := append(buf[:bs], data...)
	var t [64]byte
	s.hmacPadded(&t, key, b)
	return append(make([]byte, 0, s.nh), t[:s.nh]...), true
}

// expandWithLabelShort is ExpandWithLabel for the common case of one HKDF
// block (length at most Nh) and a short label and context: T(1) =
// HMAC(secret, KDFLabel || 0x01), with the KDFLabel built on the stack. It
// allocates only the result (the generic path costs ten allocations: the
// info, the HMAC state and its pads). ok is false when the inputs do not
// fit, and the caller takes the generic path.
func (s *Suite) expandWithLabelShort(secret []byte, label string, context []byte, length int) (out []byte, ok bool) {
	ll := len(mlsPrefix) + len(label)
	bs := s.blockSize()
	// One-byte varints (lengths under 64) and the whole message in buf.
	if length > s.nh || ll >= 1<<6 || len(context) >= 1<<6 || bs+2+1+ll+1+len(context)+1 > hmacBufLen {
		return nil, false
	}
	var buf [hmacBufLen]byte
	b := binary.BigEndian.AppendUint16(buf[:bs], uint16(length))
	b = append(b, byte(ll))
	b = append(b, mlsPrefix...)
	b = append(b, label...)
	b = append(b, byte(len(context)))
	b = append(b, context...)
	b = append(b, 1) // the HKDF block counter
	var t [64]byte
	s.hmacPadded(&t, secret, b)
	return append(make([]byte, 0, length), t[:length]...), true
}

// DeriveSecret is ExpandWithLabel(secret, label, "", Nh) (RFC 9420, Section 8).
func (s *Suite) DeriveSecret(secret []byte, label string) ([]byte, error) {
	return s.ExpandWithLabel(secret, label, nil, s.nh)
}

// DeriveTreeSecret is ExpandWithLabel(secret, label, generation, length)
// with generation encoded as a big-endian uint32 (RFC 9420, Section 9).
func (s *Suite) DeriveTreeSecret(secret []byte, label string, generation uint32, length int) ([]byte, error) {
	var g [4]byte
	binary.BigEndian.PutUint32(g[:], generation)
	return s.ExpandWithLabel(secret, label, g[:], length)
}

// RefHash is RFC 9420's RefHash (Section 5.2): the hash of
// struct { opaque label<V>; opaque value<V>; }. The label is used as given
// (for example "MLS 1.0 KeyPackage Reference"); no prefix is added.
// Inputs over 2^30-1 bytes cannot be encoded; RefHash then hashes the
// empty string, which no valid RefHashInput produces.
func (s *Suite) RefHash(label string, value []byte) []byte {
	b, err := labeledStruct(0, "", label, value)
	if err != nil {
		return s.Hash(nil)
	}
	return s.Hash(b)
}

// MAC returns HMAC(key, data) with the suite's hash (RFC 9420, Section 5.1).
func (s *Suite) MAC(key, data []byte) []byte {
	if out, ok := s.macShort(key, data); ok {
		return out
	}
	m := hmac.New(s.newHash, key)
	m.Write(data)
	return m.Sum(make([]byte, 0, s.nh))
}

// VerifyMAC reports whether tag is MAC(key, data), in constant time.
func (s *Suite) VerifyMAC(key, data, tag []byte) bool {
	return hmac.Equal(s.MAC(key, data), tag)
}

// hkdfExpand is RFC 5869 HKDF-Expand; the caller has checked that length
// is within 0..255*nh.
func hkdfExpand(newHash func() hash.Hash, nh int, prk, info []byte, length int) []byte {
	out := make([]byte, 0, length+nh)
	m := hmac.New(newHash, prk)
	var (
		t   []byte
		ctr [1]byte
	)
	for ctr[0] = 1; len(out) < length; ctr[0]++ {
		m.Reset()
		m.Write(t)
		m.Write(info)
		m.Write(ctr[:])
		n := len(out)
		out = m.Sum(out)
		t = out[n:]
	}
	return out[:length:length]
}

// hmacSum returns HMAC(key, data) with the given hash.
func hmacSum(newHash func() hash.Hash, key, data []byte) []byte {
	m := hmac.New(newHash, key)
	m.Write(data)
	return m.Sum(nil)
}
