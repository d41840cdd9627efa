package transitions

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// leafCheck is the context a leaf node is validated in (RFC 9420, Section
// 7.3).
type leafCheck struct {
	source codec.LeafNodeSource
	gid    []byte             // group id, for the update and commit sources
	leaf   treemath.LeafIndex // leaf index, for the update and commit sources
	at     uint64             // event time, for the key_package source's lifetime
	// capsCode is the rule a missing required capability breaks (ValSem106
	// for an Add, ValSem109 for an Update), zero for ErrInvalidLeafNode.
	capsCode valsem.Code
	required *codec.RequiredCapabilities
	census   state.Census
	// noCensus skips the "supported by all members" checks (a one-member
	// group's creator, a tree checked leaf by leaf against its own census).
	noCensus bool
	// signatureChecked skips the signature, already verified (a joined
	// tree's leaves are verified in parallel by tree.Validate).
	signatureChecked bool
	// sigs, if set, holds the outcome of a key package's two signature
	// checks, computed ahead (in parallel for a long Add list).
	sigs *kpSigs
}

// kpSigs is the outcome of a key package's signature checks: the
// KeyPackageTBS signature and its leaf node's LeafNodeTBS signature.
type kpSigs struct {
	kp, leaf error
}

// checkKeyPackageSigs verifies both signatures of kp.
func checkKeyPackageSigs(cs *suite.Suite, kp *codec.KeyPackage) kpSigs {
	var r kpSigs
	t, err := keyPackageTBS(kp)
	if err != nil {
		r.kp = fmt.Errorf("%w: %v", ErrInvalidKeyPackage, err)
		r.leaf = fmt.Errorf("%w: %w", ErrInvalidLeafNode, err)
		return r
	}
	if err := cs.VerifyWithLabelAt(kp.LeafNode.SignatureKey, "KeyPackageTBS", t.buf, t.off, kp.Signature); err != nil {
		r.kp = fmt.Errorf("%w: signature: %w", ErrInvalidKeyPackage, err)
	}
	// The leaf's verification may overwrite the bytes before its
	// LeafNodeTBS (the key package's version, suite and init_key): the
	// key package's is done.
	if err := tree.VerifyLeafSignatureAt(cs, &kp.LeafNode, t.leaf, t.leafOff, 0); err != nil {
		r.leaf = fmt.Errorf("%w: %w", ErrInvalidLeafNode, err)
	}
	return r
}

// kpTBS holds the two signed contents of a key package, each after the
// headroom Suite.VerifyWithLabelAt needs: the KeyPackageTBS is buf[off:],
// the leaf node's LeafNodeTBS leaf[leafOff:].
type kpTBS struct {
	buf, leaf    []byte
	off, leafOff int
}

// keyPackageTBS encodes the KeyPackageTBS of kp [RFC 9420, Section 10]
// and its leaf node's LeafNodeTBS [Section 7.2]. When the leaf node's
// source is key_package, as in every valid key package, its encoding is
// its LeafNodeTBS followed by its signature, so the KeyPackageTBS —
// version, cipher_suite, init_key, the leaf node, the extensions — holds
// the LeafNodeTBS: the leaf node is encoded once and neither signed
// message is copied. A key package with many small vectors costs an
// encoding per vector, and this keeps a hostile one's verification within
// the decoding budget. A leaf node of another source (which
// validateKeyPackage rejects) is encoded on its own.
func keyPackageTBS(kp *codec.KeyPackage) (kpTBS, error) {
	exts, err := codec.EncodeSized(kp.Extensions, 0)
	if err != nil {
		return kpTBS{}, err
	}
	off := suite.LabelHeadroom("KeyPackageTBS")
	b := cryptobyte.NewBuilder(make([]byte, off))
	b.AddUint16(uint16(kp.Version))
	b.AddUint16(uint16(kp.CipherSuite))
	codec.AddOpaque(b, kp.InitKey)
	own := kp.LeafNode.LeafNodeSource == codec.LeafNodeSourceKeyPackage
	if own {
		kp.LeafNode.MarshalTBS(b, nil, 0)
		codec.AddOpaque(b, kp.LeafNode.Signature)
	} else {
		kp.LeafNode.Marshal(b)
	}
	b.AddBytes(exts)
	buf, err := b.Bytes()
	if err != nil {
		return kpTBS{}, err
	}
	t := kpTBS{buf: buf, off: off}
	if own {
		t.leafOff = off + 4 + codec.OpaqueLen(len(kp.InitKey))
		end := len(buf) - codec.OpaqueLen(len(kp.LeafNode.Signature)) - len(exts)
		t.leaf = buf[:end:end]
		return t, nil
	}
	t.leafOff = suite.LabelHeadroom("LeafNodeTBS")
	lb := cryptobyte.NewBuilder(make([]byte, t.leafOff))
	kp.LeafNode.MarshalTBS(lb, nil, 0)
	if t.leaf, err = lb.Bytes(); err != nil {
		return kpTBS{}, err
	}
	return t, nil
}

// verifyAdds checks the signatures of the key packages of the Add entries
// not dropped, on a fixed fan-out: the two Ed25519 verifications per key
// package dominate a commit that adds many members. Each result is stored
// at its entry's index and consumed in list order, so errors and drops are
// those of a sequential run.
func verifyAdds(cs *suite.Suite, entries []entry, drop []bool) []*kpSigs {
	var idx []int
	for i, e := range entries {
		if !drop[i] && e.p.ProposalType == codec.ProposalAdd && e.p.Add != nil {
			idx = append(idx, i)
		}
	}
	out := make([]*kpSigs, len(entries))
	res := make([]kpSigs, len(idx))
	fanOut(len(idx), func(j int) { res[j] = checkKeyPackageSigs(cs, &entries[idx[j]].p.Add.KeyPackage) })
	for j, i := range idx {
		out[i] = &res[j]
	}
	return out
}

// requiredCapabilities returns the required_capabilities extension of exts,
// or nil.
func requiredCapabilities(exts codec.Extensions) (*codec.RequiredCapabilities, error) {
	e, ok := exts.Find(codec.ExtensionRequiredCapabilities)
	if !ok {
		return nil, nil
	}
	rc, err := codec.DecodeRequiredCapabilities(e.ExtensionData)
	if err != nil {
		return nil, err
	}
	return &rc, nil
}

// checkRequired reports the first required capability ln does not list.
func checkRequired(ln *codec.LeafNode, rc *codec.RequiredCapabilities) error {
	if rc == nil {
		return nil
	}
	for _, t := range rc.ExtensionTypes {
		if !isDefaultExtension(t) && !containsT(ln.Capabilities.Extensions, t) {
			return fmt.Errorf("mls: required extension type %d not supported", t)
		}
	}
	for _, t := range rc.ProposalTypes {
		if !t.IsDefault() && !containsT(ln.Capabilities.Proposals, t) {
			return fmt.Errorf("mls: required proposal type %d not supported", t)
		}
	}
	for _, t := range rc.CredentialTypes {
		if !containsT(ln.Capabilities.Credentials, t) {
			return fmt.Errorf("mls: required credential type %d not supported", t)
		}
	}
	return nil
}

// validateLeaf checks a leaf node as RFC 9420, Section 7.3 asks, except key
// uniqueness, which the callers check against the right set of members.
func validateLeaf(cs *suite.Suite, ln *codec.LeafNode, lc leafCheck, env Env) error {
	if ln.LeafNodeSource != lc.source {
		return fmt.Errorf("%w: leaf_node_source %s, want %s", ErrInvalidLeafNode, ln.LeafNodeSource, lc.source)
	}
	if f := env.Policy.AcceptCredential; f != nil {
		if err := f(ln.Credential, ln.SignatureKey); err != nil {
			return &PolicyError{Reason: "credential not accepted", Err: err}
		}
	}
	if f := env.Policy.AcceptCredentialAt; f != nil {
		if err := f(lc.at, ln.Credential, ln.SignatureKey); err != nil {
			return &PolicyError{Reason: "credential not accepted", Err: err}
		}
	}
	caps := ln.Capabilities
	if !containsT(caps.Credentials, ln.Credential.CredentialType) {
		return fmt.Errorf("%w: credential type %d not in its own capabilities", ErrInvalidLeafNode, ln.Credential.CredentialType)
	}
	if !containsT(caps.Versions, codec.MLS10) {
		return fmt.Errorf("%w: capabilities lack mls10", ErrInvalidLeafNode)
	}
	if !containsT(caps.CipherSuites, codec.CipherSuite(cs.ID())) {
		return fmt.Errorf("%w: capabilities lack cipher suite %d", ErrInvalidLeafNode, cs.ID())
	}
	for _, e := range ln.Extensions {
		if !isDefaultExtension(e.ExtensionType) && !containsT(caps.Extensions, e.ExtensionType) {
			return fmt.Errorf("%w: extension type %d not in its capabilities", ErrInvalidLeafNode, e.ExtensionType)
		}
	}
	if err := checkRequired(ln, lc.required); err != nil {
		if lc.capsCode != 0 {
			return valsem.Wrap(lc.capsCode, ErrInvalidLeafNode, err.Error())
		}
		return fmt.Errorf("%w: %v", ErrInvalidLeafNode, err)
	}
	if !lc.noCensus {
		// The credential type must be supported by all members, and the
		// leaf must support every credential type in use.
		if n := countOf(lc.census.CredentialSupport, uint16(ln.Credential.CredentialType)); n < lc.census.Members {
			return fmt.Errorf("%w: credential type %d not supported by %d members", ErrInvalidLeafNode, ln.Credential.CredentialType, lc.census.Members-n)
		}
		for _, tc := range lc.census.CredentialsInUse {
			if !containsT(caps.Credentials, codec.CredentialType(tc.Type)) {
				return fmt.Errorf("%w: credential type %d in use but not supported", ErrInvalidLeafNode, tc.Type)
			}
		}
	}
	if lc.source == codec.LeafNodeSourceKeyPackage {
		lt := ln.Lifetime
		if lc.at < lt.NotBefore || lc.at > lt.NotAfter {
			return fmt.Errorf("%w: lifetime [%d, %d] does not contain %d", ErrInvalidLeafNode, lt.NotBefore, lt.NotAfter, lc.at)
		}
		if lt.NotAfter-lt.NotBefore > env.Limits.MaxLeafLifetime {
			return fmt.Errorf("%w: lifetime of %d s over the maximum %d s", ErrInvalidLeafNode, lt.NotAfter-lt.NotBefore, env.Limits.MaxLeafLifetime)
		}
	}
	if lc.signatureChecked {
		return nil
	}
	if lc.sigs != nil {
		return lc.sigs.leaf
	}
	if err := tree.VerifyLeafSignature(cs, ln, lc.gid, lc.leaf); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidLeafNode, err)
	}
	return nil
}

// validateKeyPackage checks a KeyPackage as RFC 9420, Section 10.1 asks,
// for a group of suite cs: version and suite (ValSem105), signature,
// distinct init and encryption keys (ValSem104), and its leaf node
// (Section 7.3; required capabilities are ValSem106).
func validateKeyPackage(cs *suite.Suite, kp *codec.KeyPackage, lc leafCheck, env Env) error {
	// ValSem105: the key package's ciphersuite and version match the group's.
	if kp.Version != codec.MLS10 || kp.CipherSuite != codec.CipherSuite(cs.ID()) {
		return valsem.Errorf(valsem.ValSem105, "key package version %d suite %d, group has %d suite %d", kp.Version, kp.CipherSuite, codec.MLS10, cs.ID())
	}
	if lc.sigs == nil {
		sigs := checkKeyPackageSigs(cs, kp)
		lc.sigs = &sigs
	}
	if lc.sigs.kp != nil {
		return lc.sigs.kp
	}
	// ValSem104: init key and encryption key differ.
	if equalBytes(kp.InitKey, kp.LeafNode.EncryptionKey) {
		return valsem.Errorf(valsem.ValSem104, "key package init key equals its encryption key")
	}
	lc.source = codec.LeafNodeSourceKeyPackage
	lc.capsCode = valsem.ValSem106
	return validateLeaf(cs, &kp.LeafNode, lc, env)
}
