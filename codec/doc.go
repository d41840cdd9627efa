// Package codec owns the wire format of MLS: the presentation language of
// RFC 9420, Section 2.1 (variable-length integers, opaque<V>, vectors,
// optional<T>) and every wire structure of the RFC, from Credential to
// MLSMessage. It is pure data: no cryptography, no I/O.
//
// # Encoding and decoding
//
// Every structure X is an exported Go type whose fields carry the RFC names
// in Go case. It has
//
//   - Marshal(b *cryptobyte.Builder): appends the encoding, so that other
//     packages can compose encodings (tree hash inputs, signed TBS structs);
//     errors are sticky in b;
//   - Encode() ([]byte, error);
//   - (*X).Unmarshal(d *Decoder): reads one X from a Decoder, for
//     composition; the Decoder's error is sticky;
//   - DecodeX(data []byte) (X, error): decodes a whole X, rejecting trailing
//     bytes. Failures are *DecodeError values naming the top-level
//     structure and the byte offset, wrapping ErrTruncated,
//     ErrNonMinimalVarint, ErrReservedVarint, ErrTrailingData,
//     ErrInvalidValue, ErrDuplicateExtension or ErrNonZeroPadding.
//
// Structures whose encoding depends on context take it explicitly:
// FramedContentAuthData.MarshalFor/UnmarshalFor and
// DecodePrivateMessageContent take the content type; LeafNode.TBS takes the
// group id and leaf index; KeyPackage.TBS, GroupInfo.TBS and
// AuthenticatedContent.TBS build the to-be-signed structures.
//
// # Tagged unions
//
// A select on a tag is a struct with the tag field and one field per case;
// the case matching the tag is set and the others are zero (nil pointers):
// Proposal (ProposalType; Add, Update, ...), MLSMessage (WireFormat;
// PublicMessage, PrivateMessage, Welcome, GroupInfo, KeyPackage), Sender
// (SenderType; LeafIndex, SenderIndex), Node (NodeType; Leaf, Parent),
// ProposalOrRef, FramedContent (ContentType; ApplicationData, Proposal,
// Commit), Credential, PreSharedKeyID, LeafNode (LeafNodeSource; Lifetime,
// ParentHash). optional<T> is a pointer (Commit.Path, GroupSecrets.PathSecret,
// RatchetTree entries). Encode fails with ErrInvalidValue when the case
// selected by the tag is missing.
//
// # Strictness
//
// Decoding is strict and bounded: integers must be minimal, optional flags
// 0 or 1, closed enums known, no bytes may trail, and a length prefix longer
// than the remaining input fails before anything is allocated (every
// allocation is bounded by the input's length). Hence, for every structure,
// Encode(Decode(b)) == b whenever Decode(b) succeeds, and signatures and
// MACs may be checked over re-encoded values.
//
// A length prefix cannot cost more than the input holds, but a vector of
// small elements can: a blank ratchet-tree node is one byte on the wire
// and much more in memory once the tree is built. Decoders whose caller
// has a bound on an element count take it and enforce it while reading
// (DecodeRatchetTreeMax: the node count), failing with a *LimitError
// that names the bound, before anything beyond it is decoded.
//
// Closed enums (rejected when unknown): WireFormat, ContentType, SenderType,
// LeafNodeSource, NodeType, ProposalOrRefType, PSKType, ResumptionPSKUsage.
// Open enums (kept): ProtocolVersion, CipherSuite, ExtensionType,
// ProposalType, CredentialType. A proposal or credential of an unknown type
// has no RFC-defined body; its body is read as one opaque<V> and kept in
// Data (the OpenMLS and mls-rs convention), leaving acceptance to
// validation.
//
// Decoding rejects duplicate extension types in any extension list
// (Section 13.4 states it as a property of the field). It does not check
// rules that need more context: RatchetTree.Wellformed checks the shape of
// a ratchet_tree (non-empty, last node non-blank, node types matching their
// positions) for the tree package to report as ValSem300.
//
// [RFC 9420, Section 2.1]: https://www.rfc-editor.org/rfc/rfc9420#section-2.1
package codec
