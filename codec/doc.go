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
// # Bounded work for hostile input
//
// A length prefix cannot cost more than the input holds, but a vector of
// short elements can: an empty opaque<V> is one byte on the wire and a
// 24-byte slice header in memory, an inline proposal three or four bytes
// and a ProposalOrRef, a Proposal and its body (160 bytes). Four rules
// keep the memory a decoder allocates proportional to its input, with a
// small constant:
//
//   - vectors of structures are read by List, which counts the elements
//     in a first pass that keeps nothing and then allocates the result
//     once, at its exact length (no slice grown by append); reading a
//     vector allocates no sub-decoder;
//   - decoders whose caller has a bound take it and enforce it in that
//     counting pass, failing with a *LimitError that names it before
//     anything beyond it is allocated: DecodeMLSMessageBounded (Bounds:
//     MaxProposals for a Commit's proposals, a Welcome's secrets and a
//     GroupSecrets' psks, MaxLeaves for the ciphertexts of an UpdatePath
//     node and, through the depth of a tree of MaxLeaves leaves, for an
//     UpdatePath's nodes: 16 for 65536 leaves, 31 without bounds) and
//     DecodeRatchetTreeMax (the node count);
//   - every Decoder has a memory allowance of 16 bytes per input byte
//     plus 48 KiB, against which decoding charges the memory of the
//     elements of vectors before allocating them: the list's slice, and
//     each inline proposal's Proposal and body and each tree node's
//     structures (the sizes are in sizes.go). An input whose values
//     would take more fails with a *LimitError naming "decoded memory".
//     The genuine vector of the shortest elements, a Commit's removes (7
//     bytes each, charged 144), fits for up to 1536 removes, over the
//     default MaxProposals of 1024 (transitions.DefaultLimits);
//   - nothing nests recursively: the depth of every structure is fixed by
//     the RFC, so the work is linear in the input.
//
// The constant, for any decoder of this package: at most
// MaxMemoryPerByte (20) bytes allocated per input byte plus 64 KiB — the
// charged 16 plus the uncharged copies of opaque<V> values (at most 4: an
// 8-byte block for a 2-byte value) and a constant per input.
// TestDecodeAllocationBounded builds each worst case (commits of 2- to
// 7-byte proposals, ciphertexts, secrets, certificates and psks of 2 or 3
// bytes, trees of blank, parent and leaf nodes, extension lists) and the
// fuzz targets check the budget on every input; a blank ratchet tree
// costs 8 per byte (its node slice). With Bounds, a vector over its bound
// is rejected in the counting pass, before its elements are allocated
// (TestDecodeAllocationBounded: under 2 KiB for 256 KiB messages).
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
