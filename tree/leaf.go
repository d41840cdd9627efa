package tree

import (
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
)

// leafNodeTBSLabel is the SignWithLabel label of a LeafNode signature
// (RFC 9420, Section 7.2).
const leafNodeTBSLabel = "LeafNodeTBS"

// Signer signs content under an RFC 9420 label (SignWithLabel, Section
// 5.1.2). *suite.Signer implements it; SignerFunc adapts a function.
type Signer interface {
	SignWithLabel(label string, content []byte) ([]byte, error)
}

// SignerFunc adapts a function to the Signer interface.
type SignerFunc func(label string, content []byte) ([]byte, error)

// SignWithLabel calls f(label, content).
func (f SignerFunc) SignWithLabel(label string, content []byte) ([]byte, error) {
	return f(label, content)
}

// SignLeaf sets ln.Signature to the signature over its LeafNodeTBS
// [RFC 9420, Section 7.2], with groupID and leaf index i as context for the
// update and commit sources. ln is modified in place: call it on a leaf
// node the tree does not hold yet.
//
// [RFC 9420, Section 7.2]: https://www.rfc-editor.org/rfc/rfc9420#section-7.2
func SignLeaf(sign Signer, ln *codec.LeafNode, groupID []byte, i treemath.LeafIndex) error {
	tbs, err := ln.TBS(groupID, i)
	if err != nil {
		return err
	}
	sig, err := sign.SignWithLabel(leafNodeTBSLabel, tbs)
	if err != nil {
		return err
	}
	ln.Signature = sig
	return nil
}

// VerifyLeafSignature verifies ln's signature over its LeafNodeTBS
// [RFC 9420, Section 7.2] with ln's own signature key; groupID and the leaf
// index i are the context for the update and commit sources. A failure
// wraps ErrLeafSignature and names the leaf.
//
// [RFC 9420, Section 7.2]: https://www.rfc-editor.org/rfc/rfc9420#section-7.2
func VerifyLeafSignature(s *suite.Suite, ln *codec.LeafNode, groupID []byte, i treemath.LeafIndex) error {
	tbs, err := ln.TBS(groupID, i)
	if err != nil {
		return fmt.Errorf("%w: leaf %d: %w", ErrLeafSignature, i, err)
	}
	if err := s.VerifyWithLabel(ln.SignatureKey, leafNodeTBSLabel, tbs, ln.Signature); err != nil {
		return fmt.Errorf("%w: leaf %d: %w", ErrLeafSignature, i, err)
	}
	return nil
}

// VerifyLeafSignatureAt is VerifyLeafSignature with the leaf's
// LeafNodeTBS already encoded as buf[off:] (ln.TBS), for a caller that
// encoded it as part of a larger structure, after at least
// suite.LabelHeadroom("LeafNodeTBS") bytes that it overwrites
// (Suite.VerifyWithLabelAt); i names the leaf in the error.
func VerifyLeafSignatureAt(s *suite.Suite, ln *codec.LeafNode, buf []byte, off int, i treemath.LeafIndex) error {
	if err := s.VerifyWithLabelAt(ln.SignatureKey, leafNodeTBSLabel, buf, off, ln.Signature); err != nil {
		return fmt.Errorf("%w: leaf %d: %w", ErrLeafSignature, i, err)
	}
	return nil
}
