package tree

import "errors"

// Errors of this package. Failures that match a validation rule are
// *valsem.Error values carrying the rule's code and wrapping one of these
// sentinels where one applies, so both errors.Is(err, valsem.ValSemNNN) and
// errors.Is(err, ErrXxx) hold; the detail names the offending node.
var (
	// ErrParentHash reports a parent hash that does not verify: a non-blank
	// parent node that is not parent-hash valid, or an UpdatePath leaf whose
	// parent_hash differs from the one recomputed from the path
	// (RFC 9420, Sections 7.9.2 and 7.5).
	ErrParentHash = errors.New("mls: parent hash mismatch")
	// ErrUnmergedLeaves reports an unmerged_leaves list that is not sorted,
	// names a blank leaf or a leaf outside the node's subtree, or is missing
	// from an intermediate non-blank node (RFC 9420, Sections 7.1 and
	// 12.4.3.1).
	ErrUnmergedLeaves = errors.New("mls: inconsistent unmerged leaves")
	// ErrDuplicateKey reports an encryption or signature key held by more
	// than one node (RFC 9420, Sections 7.3 and 12.4.3.1).
	ErrDuplicateKey = errors.New("mls: duplicate key in ratchet tree")
	// ErrLeafSignature reports a leaf node whose signature does not verify
	// over its LeafNodeTBS (RFC 9420, Section 7.3).
	ErrLeafSignature = errors.New("mls: invalid leaf node signature")
	// ErrTreeHash reports a tree whose root tree hash differs from the
	// expected one (RFC 9420, Section 12.4.3.1).
	ErrTreeHash = errors.New("mls: tree hash mismatch")
	// ErrLeafIndex reports a leaf index outside the tree, or a blank leaf
	// where a member was required.
	ErrLeafIndex = errors.New("mls: no such member")
	// ErrTreeTooLarge reports a tree that would exceed treemath.MaxLeaves
	// leaves.
	ErrTreeTooLarge = errors.New("mls: ratchet tree too large")
	// ErrPrivateKey reports a private key that does not belong to the
	// public key at its node, or private state that does not fit the tree
	// (RFC 9420, Section 4.1.1, the tree invariant).
	ErrPrivateKey = errors.New("mls: private key does not match the tree")
	// ErrNoPathSecret reports an UpdatePath from which this member cannot
	// obtain a path secret: no node of its copath resolution is one it holds
	// a private key for.
	ErrNoPathSecret = errors.New("mls: no decryptable path secret")
)
