package suite

import (
	"crypto/hmac"
	"fmt"
)

// The functions of this file take their input in parts, so that a receiver
// can hash and verify the bytes a message arrived in (sub-slices of it,
// with small pieces in between) without first concatenating them.

// HashParts returns the suite's hash of the concatenation of parts.
func (s *Suite) HashParts(parts ...[]byte) []byte {
	h := s.newHash()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(make([]byte, 0, s.nh))
}

// MACParts returns HMAC(key, concatenation of parts) with the suite's hash.
func (s *Suite) MACParts(key []byte, parts ...[]byte) []byte {
	m := hmac.New(s.newHash, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(make([]byte, 0, s.nh))
}

// RefHashParts is RefHash(label, value) with value given as the
// concatenation of parts (RFC 9420, Section 5.2).
func (s *Suite) RefHashParts(label string, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	h := s.newHash()
	var pre [4]byte
	h.Write(appendVarint(pre[:0], len(label)))
	h.Write([]byte(label))
	h.Write(appendVarint(pre[:0], n))
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(make([]byte, 0, s.nh))
}

// LabelHeadroom is the number of bytes VerifyWithLabelAt needs in front of
// content of any length for label: the SignContent prefix
// opaque label<V> = "MLS 1.0 " + label, then content's length.
func LabelHeadroom(label string) int {
	l := len(mlsPrefix) + len(label)
	return varintLen(l) + l + 4
}

// VerifyWithLabelAt is VerifyWithLabel with content = buf[off:], laid out
// by the caller after at least LabelHeadroom(label) bytes of headroom,
// which it overwrites with the SignContent prefix: the signed message is
// built in place instead of copied. Errors are VerifyWithLabel's.
func (s *Suite) VerifyWithLabelAt(pub []byte, label string, buf []byte, off int, sig []byte) error {
	msg, err := signContentAt(label, buf, off)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return s.verifySignContent(pub, msg, sig)
}

// signContentAt writes the SignContent prefix of label into the headroom
// before content = buf[off:] and returns the SignContent that ends buf.
func signContentAt(label string, buf []byte, off int) ([]byte, error) {
	content := len(buf) - off
	l := len(mlsPrefix) + len(label)
	p := varintLen(l) + l + varintLen(content)
	if off < p || content > maxVarint || l > maxVarint {
		return nil, fmt.Errorf("%w: %d bytes of headroom for a prefix of %d", ErrLength, off, p)
	}
	pre := buf[off-p : off-p : off]
	pre = appendVarint(pre, l)
	pre = append(pre, mlsPrefix...)
	pre = append(pre, label...)
	appendVarint(pre, content)
	return buf[off-p:], nil
}
