package transitions

import (
	"bytes"
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
)

// ownLeafTemplate returns the content of this member's next leaf node
// (before its encryption key, source, parent hash and signature are set):
// own with the fields tpl sets — a credential (a non-zero type), a
// signature key (naming a private key in Env.Keys), capabilities (any
// non-empty list; its empty lists default as in NewKeyPackage) and
// extensions (a non-empty list) — replaced. It serves
// the Update proposal (Propose) and the committer's leaf in an UpdatePath
// (Commit with an inline Update template), as RFC 9420, Section 12.4.2
// allows: "providing a new signature key, updated capabilities, or
// different extensions".
func ownLeafTemplate(cs suite.ID, own codec.LeafNode, tpl codec.LeafNode) codec.LeafNode {
	ln := codec.LeafNode{SignatureKey: own.SignatureKey, Credential: own.Credential, Capabilities: own.Capabilities,
		Extensions: own.Extensions}
	if tpl.Credential.CredentialType != 0 {
		ln.Credential = tpl.Credential
	}
	if len(tpl.SignatureKey) > 0 {
		ln.SignatureKey = tpl.SignatureKey
	}
	if len(tpl.Capabilities.Versions)+len(tpl.Capabilities.CipherSuites)+len(tpl.Capabilities.Credentials)+
		len(tpl.Capabilities.Extensions)+len(tpl.Capabilities.Proposals) > 0 {
		ln.Capabilities = defaultCapabilities(tpl.Capabilities, cs, ln.Credential.CredentialType)
	}
	// A non-empty list: an empty one and nil encode alike in an event, and
	// a replayed event must do what the original did.
	if len(tpl.Extensions) > 0 {
		ln.Extensions = tpl.Extensions
	}
	return ln
}

// leafSigner returns the signer of a new own leaf node ln: the member's
// current signer sg, or the signer of the new signature key ln carries
// (RFC 9420, Section 7.3: a leaf node is signed with the key in its
// signature_key). The message carrying the leaf — the Update proposal or
// the commit — is still signed with the current key (RFC 9420, Section
// 6.1: a member's signature key is the one in its leaf of the current
// tree).
func (g *group) leafSigner(ln codec.LeafNode, sg keysched.Signer, env Env) (keysched.Signer, error) {
	if equalBytes(ln.SignatureKey, g.priv.SignatureKey) {
		return sg, nil
	}
	nsg, err := signerFor(env, ln.SignatureKey)
	if err != nil {
		return nil, fmt.Errorf("the new leaf's signature key: %w", err)
	}
	return nsg, nil
}

// leafTemplateOf splits a Commit's inline proposals into the proposals
// and the committer's leaf template, the inline Update (at most one).
func leafTemplateOf(inline []codec.Proposal) ([]codec.Proposal, *codec.LeafNode, error) {
	var tpl *codec.LeafNode
	var rest []codec.Proposal
	for i, p := range inline {
		if p.ProposalType != codec.ProposalUpdate {
			rest = append(rest, p)
			continue
		}
		// A committer updates its leaf through the path, not an Update
		// (ValSem111): an inline Update is the template of the path's
		// leaf node, sent in no proposal.
		if tpl != nil || p.Update == nil {
			return nil, nil, fmt.Errorf("%w: inline proposal %d: at most one update, a leaf template", ErrInvalidProposals, i)
		}
		if err := checkSendableProposal(p); err != nil {
			return nil, nil, fmt.Errorf("%w (inline proposal %d)", err, i)
		}
		tpl = &p.Update.LeafNode
	}
	if tpl == nil {
		return inline, nil, nil
	}
	return rest, tpl, nil
}

// pathLeaf returns the template of the committer's leaf node in an
// UpdatePath and its signer: own, changed as tpl asks when the commit
// carries a leaf template (nil: own unchanged but for its keys). A changed
// leaf is checked as its receivers will check it (RFC 9420, Section 7.3,
// against the commit's required capabilities and the census cen of the
// members, and a signature key no other member has), so that a member
// sends only a commit it would accept.
func (g *group) pathLeaf(own codec.LeafNode, tpl *codec.LeafNode, t tree.Tree, cov covered, cen state.Census, at uint64, sg keysched.Signer, env Env) (codec.LeafNode, keysched.Signer, error) {
	ln := own
	if tpl != nil {
		ln = ownLeafTemplate(g.cs.ID(), own, *tpl)
	}
	ln.LeafNodeSource = codec.LeafNodeSourceCommit
	ln.Lifetime = codec.Lifetime{}
	ln.ParentHash = nil
	greaseLeaf(&ln, env)
	if tpl != nil {
		rc, err := requiredCapabilities(cov.exts)
		if err != nil {
			return codec.LeafNode{}, nil, err
		}
		lc := leafCheck{source: codec.LeafNodeSourceCommit, gid: g.gid(), leaf: g.self(), at: at, required: rc,
			census: cen, signatureChecked: true}
		if err := validateLeaf(g.cs, &ln, lc, env); err != nil {
			return codec.LeafNode{}, nil, err
		}
		if l, dup := t.LeafBySignatureKey(ln.SignatureKey); dup && l != g.self() {
			return codec.LeafNode{}, nil, fmt.Errorf("%w: path leaf uses the signature key of leaf %d", ErrInvalidLeafNode, l)
		}
	}
	lsg, err := g.leafSigner(ln, sg, env)
	if err != nil {
		return codec.LeafNode{}, nil, err
	}
	return ln, lsg, nil
}

// nextSignatureKey returns the signature key this member signs with in
// the epoch of tree t: the one in its leaf of t, which a commit changes
// when its path or an own Update proposal carries a new key; the current
// one if t has no such leaf (a commit removing this member).
func (g *group) nextSignatureKey(t tree.Tree) []byte {
	if ln, ok := t.SharedLeaf(core.K(), g.self()); ok && !equalBytes(ln.SignatureKey, g.priv.SignatureKey) {
		return bytes.Clone(ln.SignatureKey) // the tree's bytes are shared
	}
	return g.priv.SignatureKey
}
