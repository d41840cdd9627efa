package transitions

import (
	"encoding/binary"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/valsem"
)

// extensionLastResort is the last_resort KeyPackage extension type
// (RFC 9420, Section 17.3 registry; draft-ietf-mls-extensions).
const extensionLastResort codec.ExtensionType = 0x000a

// newSignatureKey draws a signature key pair (RFC 9420, Section 5.1.2).
func newSignatureKey(s state.GroupState, e NewSignatureKey, env Env) (state.GroupState, []effects.Effect, error) {
	cs, err := suite.Lookup(e.Suite)
	if err != nil {
		return s, nil, err
	}
	priv, pub, err := cs.GenerateSignatureKey(env.Entropy.Draw(entropy.LeafSignature, cs.SignatureSeedLen()))
	if err != nil {
		return s, nil, err
	}
	secret := binary.BigEndian.AppendUint16(nil, uint16(e.Suite))
	secret = append(secret, priv...)
	return s, []effects.Effect{
		effects.PersistSecret{Ref: effects.SecretRef{Kind: effects.SecretSignatureKey, ID: pub}, Secret: secret},
		effects.SignatureKeyCreated{Suite: uint16(e.Suite), PublicKey: pub},
	}, nil
}

// newLeafKey draws a fresh HPKE key pair for a leaf node.
func newLeafKey(cs *suite.Suite, env Env, label entropy.Label) (priv, pub []byte, err error) {
	return cs.DeriveKeyPair(env.Entropy.Draw(label, cs.HashLen()))
}

// keyPackageLeaf builds, greases and signs (as leaf 0 of group groupID) a
// leaf node with source key_package (RFC 9420, Section 7.2), for a new key
// package or a new group's creator.
func keyPackageLeaf(sg *suite.Signer, encPub []byte, cs suite.ID, cred codec.Credential, caps codec.Capabilities,
	lt codec.Lifetime, exts codec.Extensions, groupID []byte, env Env) (codec.LeafNode, error) {
	ln := codec.LeafNode{
		EncryptionKey:  encPub,
		SignatureKey:   sg.Public(),
		Credential:     cred,
		Capabilities:   defaultCapabilities(caps, cs, cred.CredentialType),
		LeafNodeSource: codec.LeafNodeSourceKeyPackage,
		Lifetime:       lt,
		Extensions:     exts,
	}
	greaseLeaf(&ln, env)
	if err := tree.SignLeaf(sg, &ln, groupID, 0); err != nil {
		return codec.LeafNode{}, err
	}
	return ln, nil
}

// newKeyPackage builds and signs a KeyPackage (RFC 9420, Section 10).
func newKeyPackage(s state.GroupState, e NewKeyPackage, env Env) (state.GroupState, []effects.Effect, error) {
	cs, err := suite.Lookup(e.Suite)
	if err != nil {
		return s, nil, err
	}
	if err := checkSendableCredential(e.Credential); err != nil {
		return s, nil, err
	}
	sg, err := signerFor(env, e.SignatureKey)
	if err != nil {
		return s, nil, err
	}
	initPriv, initPub, err := newLeafKey(cs, env, entropy.InitKey)
	if err != nil {
		return s, nil, err
	}
	encPriv, encPub, err := newLeafKey(cs, env, entropy.LeafEncryption)
	if err != nil {
		return s, nil, err
	}
	ln, err := keyPackageLeaf(sg, encPub, e.Suite, e.Credential, e.Capabilities, e.Lifetime, e.LeafExtensions, nil, env)
	if err != nil {
		return s, nil, err
	}
	exts := e.Extensions
	if e.LastResort && !exts.Has(extensionLastResort) {
		exts = append(append(codec.Extensions(nil), exts...), codec.Extension{ExtensionType: extensionLastResort})
	}
	exts = greaseExtensions(exts, env, "key_package")
	kp := codec.KeyPackage{Version: codec.MLS10, CipherSuite: codec.CipherSuite(e.Suite), InitKey: initPub, LeafNode: ln, Extensions: exts}
	tbs, err := kp.TBS().Encode()
	if err != nil {
		return s, nil, err
	}
	if kp.Signature, err = sg.SignWithLabel("KeyPackageTBS", tbs); err != nil {
		return s, nil, err
	}
	// A client sends only key packages it would accept itself. The two
	// signatures are not verified again: they were made just above, with
	// the signer whose public key the leaf carries, and verifying what we
	// just signed would cost a third of the key package
	// (TestNewKeyPackageSignaturesVerify verifies them independently).
	if err := validateKeyPackage(cs, &kp, leafCheck{at: e.At, noCensus: true, sigs: &kpSigs{}}, env); err != nil {
		return s, nil, err
	}
	ref, err := keysched.KeyPackageRef(cs, kp)
	if err != nil {
		return s, nil, err
	}
	msg, err := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatKeyPackage, KeyPackage: &kp}.Encode()
	if err != nil {
		return s, nil, err
	}
	bundle, err := EncodeKeyPackageBundle(KeyPackageBundle{KeyPackage: kp, InitPriv: initPriv, EncryptionPriv: encPriv, LastResort: e.LastResort})
	if err != nil {
		return s, nil, err
	}
	return s, []effects.Effect{
		effects.PersistSecret{Ref: effects.SecretRef{Kind: effects.SecretKeyPackage, ID: ref}, Secret: bundle},
		effects.KeyPackageCreated{Suite: uint16(e.Suite), Ref: ref, KeyPackage: msg, LastResort: e.LastResort},
	}, nil
}

// createGroup creates a one-member group at epoch 0 (RFC 9420, Section 11).
func createGroup(s state.GroupState, e CreateGroup, env Env) (state.GroupState, []effects.Effect, error) {
	cs, err := suite.Lookup(e.Suite)
	if err != nil {
		return s, nil, err
	}
	if err := checkConfig(e.Config, env); err != nil {
		return s, nil, err
	}
	if err := checkSendableCredential(e.Credential); err != nil {
		return s, nil, err
	}
	if err := checkSendableGroupExtensions(e.GroupContextExtensions); err != nil {
		return s, nil, err
	}
	sg, err := signerFor(env, e.SignatureKey)
	if err != nil {
		return s, nil, err
	}
	gid := e.GroupID
	if gid == nil {
		gid = env.Entropy.Draw(entropy.GroupID, 16)
	}
	encPriv, encPub, err := newLeafKey(cs, env, entropy.LeafEncryption)
	if err != nil {
		return s, nil, err
	}
	ln, err := keyPackageLeaf(sg, encPub, e.Suite, e.Credential, e.Capabilities, e.Lifetime, e.LeafExtensions, gid, env)
	if err != nil {
		return s, nil, err
	}
	rc, err := requiredCapabilities(e.GroupContextExtensions)
	if err != nil {
		return s, nil, err
	}
	// The leaf was signed just above: its signature is not verified again
	// (TestNewKeyPackageSignaturesVerify covers the shared signing helper).
	if err := validateLeaf(cs, &ln, leafCheck{source: codec.LeafNodeSourceKeyPackage, at: e.At, required: rc, noCensus: true, signatureChecked: true}, env); err != nil {
		return s, nil, err
	}
	for _, x := range e.GroupContextExtensions {
		// ValSem209: the group's extensions must be supported by its members.
		if !isDefaultExtension(x.ExtensionType) && !containsT(ln.Capabilities.Extensions, x.ExtensionType) {
			return s, nil, valsem.Errorf(valsem.ValSem209, "group context extension %d not supported by the creator", x.ExtensionType)
		}
	}
	t, err := tree.New(cs, &ln)
	if err != nil {
		return s, nil, err
	}
	ctx := codec.GroupContext{Version: codec.MLS10, CipherSuite: codec.CipherSuite(e.Suite), GroupID: gid, Epoch: 0,
		TreeHash: t.Hash(), ConfirmedTranscriptHash: []byte{}, Extensions: e.GroupContextExtensions}
	ctxBytes, err := ctx.Encode()
	if err != nil {
		return s, nil, err
	}
	// The epoch secret of epoch 0 is fresh randomness (RFC 9420, Section
	// 11); deriving it through the typed schedule from a random init
	// secret keeps it uniformly random.
	init, err := keysched.NewInitSecret(cs, env.Entropy.Draw(entropy.GroupInit, cs.HashLen()))
	if err != nil {
		return s, nil, err
	}
	joiner, err := init.Joiner(nil, ctxBytes)
	if err != nil {
		return s, nil, err
	}
	inter, err := joiner.WithPSK(keysched.NoPSK)
	if err != nil {
		return s, nil, err
	}
	ep, err := epochOf(ctx, ctxBytes, joiner, inter)
	if err != nil {
		return s, nil, err
	}
	pp, err := tree.NewPrivatePath(cs, 0, encPriv)
	if err != nil {
		return s, nil, err
	}
	// Epoch 0 has no commit: its confirmation tag is computed over the
	// empty confirmed transcript hash (RFC 9420, Section 8.2).
	n := newEpoch{cs: cs, ctx: ctx, tree: t, census: state.CensusOf(t), tag: ep.es.ConfirmationTag(ctx.ConfirmedTranscriptHash), config: e.Config}
	next, err := n.assemble(ep.es, state.Private{Self: 0, SignatureKey: sg.Public(), Path: pp})
	if err != nil {
		return s, nil, err
	}
	return next, nil, nil
}
