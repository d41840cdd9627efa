// Package tree implements the ratchet tree of MLS ([RFC 9420], Sections 4
// and 7) as a persistent value, and TreeKEM on top of it.
//
// A Tree is a full binary tree of immutable nodes whose leaf count is a
// power of two. Each node holds its content (a LeafNode, a ParentNode, or
// nothing when blank) and the tree hash of its subtree (Section 7.8),
// computed once when the node is built. Changing a leaf — Add, Update,
// Remove, or merging an UpdatePath — rebuilds only that leaf and its direct
// path and shares every copath subtree with the previous version:
//
//	  old root        new root
//	     X                X'            X', Y', B' are new;
//	   /   \            /   \           the subtrees at Z, A, C, D
//	  Y     Z   ──▶    Y'    Z          are shared by both versions
//	 / \   / \        / \
//	A   B C   D      A   B'
//
// so a commit costs log₂N+1 new nodes and log₂N+1 hash computations, the
// root hash is always available in O(1), and old versions stay valid and
// unchanged for as long as someone holds them. Extending the tree builds
// its blank right half once per doubling; truncation is O(1) per halving.
//
// Alongside the nodes, a Tree carries a persistent index (a hash array
// mapped trie, also path-copied) from every signature and encryption key to
// the node holding it, so the uniqueness rules (ValSem101, ValSem103,
// ValSem110, ValSem206, ValSem207) are checked in O(log N).
//
// The operations follow the RFC:
//
//   - Add, Update, Remove and truncation: Sections 7.7 and 12.1;
//   - Resolution, FilteredDirectPath and FilteredCopath: Section 4.1.2;
//   - Validate, the joiner's checks of Section 12.4.3.1: tree hash,
//     unmerged leaves, key uniqueness, parent hashes (Section 7.9.2) and
//     leaf signatures;
//   - Encode, Decode and FromNodes: the ratchet_tree extension of
//     Section 12.4.3.3, with no trailing blank node (ValSem300);
//   - GeneratePath and PathUpdate.Encrypt (the committer), MergePath and
//     DecryptPath (a receiver), and PrivatePath.Join (a new member): the
//     TreeKEM of Sections 7.4 to 7.6.
//
// # Bounds on hostile input
//
// A received ratchet tree costs memory for every node of the padded tree,
// blank ones included, while a blank node costs one byte on the wire. So
// Decode takes the caller's leaf bound and enforces it while decoding: it
// counts nodes as it reads them and stops at the first node beyond
// NodeWidth of the bound, before any tree node is built. The constants
// (64-bit platforms, measured by TestDecodeBoundedByMaxLeaves):
//
//   - a tree over the bound is rejected after allocating at most 8 bytes
//     per node of the bound's node width (the decoded node slice), and
//     never more than 8 bytes per input byte: about 1 MiB for the default
//     65536 leaves, whatever the input's length;
//   - a tree within the bound costs about 150 bytes per node of the padded
//     tree (the persistent node with its cached tree hash) plus the
//     decoded content of its non-blank nodes, so at most 200 bytes per
//     input byte, and at most 200 × NodeWidth(bound) bytes for its blank
//     nodes (27 MiB for 65536 leaves). This is the cost of holding a
//     sparse tree of that many leaves, which a group may legitimately
//     have.
//
// The package is pure: it draws no randomness (GeneratePath takes the leaf
// secret, Encrypt a seed from which every HPKE encapsulation is derived),
// reads no clock and keeps no global state. PrivatePath, a member's HPKE
// private keys for its leaf and direct path, is an immutable value too.
//
// [RFC 9420]: https://www.rfc-editor.org/rfc/rfc9420
package tree
