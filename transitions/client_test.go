package transitions

import (
	"fmt"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
)

// TestNewKeyPackageSignaturesVerify: NewKeyPackage and CreateGroup do not
// verify the signatures they have just made, so this test does, in every
// suite, independently of the validation code: the KeyPackageTBS signature
// and the LeafNodeTBS signature of the key package, and the creator's leaf
// signature, each with suite.VerifyWithLabel over the codec's TBS encoding.
func TestNewKeyPackageSignaturesVerify(t *testing.T) {
	for _, id := range suite.All() {
		t.Run(fmt.Sprintf("suite=%d", id), func(t *testing.T) {
			cs, err := suite.Lookup(id)
			if err != nil {
				t.Fatal(err)
			}
			w := newWorld(t, id, state.DefaultConfig())
			m := w.newMember("alice")
			kp := w.keyPackage(m)
			tbs, err := kp.TBS().Encode()
			if err != nil {
				t.Fatal(err)
			}
			if err := cs.VerifyWithLabel(kp.LeafNode.SignatureKey, "KeyPackageTBS", tbs, kp.Signature); err != nil {
				t.Errorf("key package signature: %v", err)
			}
			verifyLeaf := func(what string, ln codec.LeafNode) {
				t.Helper()
				ltbs, err := ln.TBS(nil, 0)
				if err != nil {
					t.Fatal(err)
				}
				if err := cs.VerifyWithLabel(ln.SignatureKey, "LeafNodeTBS", ltbs, ln.Signature); err != nil {
					t.Errorf("%s leaf signature: %v", what, err)
				}
				// The check can fail: a changed leaf does not verify.
				ln.Credential.Identity = append([]byte("x"), ln.Credential.Identity...)
				if bad, _ := ln.TBS(nil, 0); cs.VerifyWithLabel(ln.SignatureKey, "LeafNodeTBS", bad, ln.Signature) == nil {
					t.Errorf("%s: a changed leaf verifies", what)
				}
			}
			verifyLeaf("key package", kp.LeafNode)
			c := w.create("creator")
			ln, ok := c.s.Tree().Leaf(0)
			if !ok {
				t.Fatal("no creator leaf")
			}
			verifyLeaf("creator", *ln)
		})
	}
}
