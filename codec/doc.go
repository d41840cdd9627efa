// Package codec owns the wire format of MLS: the presentation language of
// RFC 9420, Section 2.1 (variable-length integers, opaque<V>, vectors,
// optional<T>) and every wire structure of the RFC, from Credential to
// MLSMessage. It is pure data: no cryptography, no I/O.
//
// Decoding is strict and bounded: integers must be minimal, optional flags
// 0 or 1, closed enums known, no bytes may trail, and a length prefix longer
// than the remaining input fails before anything is allocated. For every
// structure, Encode(Decode(b)) == b whenever Decode(b) succeeds.
//
// [RFC 9420, Section 2.1]: https://www.rfc-editor.org/rfc/rfc9420#section-2.1
package codec
