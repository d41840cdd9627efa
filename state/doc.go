// Package state holds GroupState, one member's view of one MLS group at one
// instant (RFC 9420, Sections 8 and 9), as an immutable value.
//
// A GroupState is two pointers: a public part (what an observer of the
// group's handshake messages could also compute: the GroupContext, the
// ratchet tree, the interim transcript hash, the group configuration, the
// by-reference proposals of the epoch) and a private part (the member's own
// leaf, the HPKE private keys of its path, the epoch secrets, the secret
// tree, retained past epochs, resumption PSKs, and a pending own commit,
// staged received commit or staged join). No method modifies a GroupState;
// package transitions builds new ones with New, sharing every unchanged
// structure (the tree and the secret tree are persistent), so a transition
// allocates O(log N).
//
// The zero GroupState means "not in a group": the input of CreateGroup and
// JoinWelcome. Digest commits to the whole state — the public part and
// commitments to the secrets (never the secrets themselves) — so two replays
// of an event log agree iff their digests agree. View returns a plain struct
// for go-cmp diffs.
//
// # Snapshots
//
// Encode and Decode turn a whole GroupState into bytes and back (versioned,
// strict, bounded); the decoded state has the same Digest and processes
// every later event exactly like the original. Replay uses them for the
// snapshot of a SnapshotAndTail log. The encoding holds the member's
// secrets — private path keys, epoch secrets, the secret tree with its
// ratchets and retained out-of-order keys, past epochs' secret trees,
// resumption PSKs — so it is key material: a caller that stores it must
// protect it like the keys themselves and erase each older snapshot once
// a newer state is durable, or the forward secrecy of RFC 9420, Section
// 9.2 is lost. EncodePublic and PublicDigest cover the public part only
// (what an observer can check) and hold no secret.
//
//	                 JoinWelcome            AcceptJoin
//	zero state ───────────────▶ joining ───────────────▶ active
//	     │ CreateGroup                                      │ ▲
//	     └─────────────────────────────────────────────────▶│ │ ConfirmCommit / MergeStaged
//	                                                        ▼ │
//	                                         active + pending commit / staged commit
//	                                                        │ MergeStaged (removed)
//	                                                        ▼
//	                                                     inactive (readable)
//
// See [RFC 9420, Section 8] and [RFC 9420, Section 9].
//
// [RFC 9420, Section 8]: https://www.rfc-editor.org/rfc/rfc9420#section-8
// [RFC 9420, Section 9]: https://www.rfc-editor.org/rfc/rfc9420#section-9
package state
