package transitions

import (
	"bytes"
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
)

// commit creates a commit (RFC 9420, Section 12.4): the stored proposals
// the policy selects (invalid ones dropped) and the inline ones (all valid),
// an UpdatePath when required or forced, the new epoch as a pending commit,
// and a Welcome for new members (Section 12.4.3.1).
func commit(s state.GroupState, e Commit, env Env) (state.GroupState, []effects.Effect, error) {
	return commitWith(s, e, nil, env)
}

// commitWith is commit with extra PreSharedKey proposals appended to the
// validated list: the reinit or branch PSK of a new group's first commit
// (RFC 9420, Sections 11.2 and 11.3), which no proposal validation accepts.
func commitWith(s state.GroupState, e Commit, extraPSKs []codec.PreSharedKeyID, env Env) (state.GroupState, []effects.Effect, error) {
	g, err := inGroup(s)
	if err != nil {
		return s, nil, err
	}
	sg, err := g.signer(env)
	if err != nil {
		return s, nil, err
	}
	self := g.self()
	entries, leafTpl, err := g.commitEntries(e.Inline, env)
	if err != nil {
		return s, nil, err
	}
	cov, err := g.cover(&self, entries, modeCommitter, e.At, env)
	if err != nil {
		return s, nil, err
	}
	for _, id := range extraPSKs {
		cov.psks = append(cov.psks, id)
		cov.entries = append(cov.entries, entry{p: pskProposal(id), sender: codec.MemberSender(self)})
	}
	sp := sentPath{tree: cov.tree, census: cov.census, path: g.priv.Path.Prune(cov.tree)}
	if cov.pathRequired || e.ForcePath || leafTpl != nil {
		if sp, err = g.generatePath(cov, leafTpl, e.At, sg, env); err != nil {
			return s, nil, err
		}
	}
	t, cen, path, pu, commitSecret := sp.tree, sp.census, sp.path, sp.pu, sp.commitSecret
	c := commitOf(cov.entries, sp.up)
	content := codec.FramedContent{GroupID: g.gid(), Epoch: g.epoch(), Sender: codec.MemberSender(self),
		AuthenticatedData: e.AAD, ContentType: codec.ContentTypeCommit, Commit: &c}
	ac, err := keysched.SignContent(sg, g.handshakeWireFormat(), content, &g.pub.Context)
	if err != nil {
		return s, nil, err
	}
	w, err := codec.WireOf(ac)
	if err != nil {
		return s, nil, err
	}
	r, err := g.keySchedule(g.priv.Epoch.Next(), cov, t, commitSecret, w, env)
	if err != nil {
		return s, nil, err
	}
	tag := r.es.ConfirmationTag(r.confirmed)
	ac.Auth.ConfirmationTag = tag
	sl, err := g.seal(ac, env)
	if err != nil {
		return s, nil, err
	}
	next, err := g.nextState(t, cen, path, r, tag, cov)
	if err != nil {
		return s, nil, err
	}
	effs := []effects.Effect{effects.SendToGroup{Group: g.gid(), Epoch: g.epoch(), Kind: effects.KindCommit, Message: sl.msg}}
	effs = append(effs, sl.deletes...)
	withTree := e.RatchetTree == TreeInclude || (e.RatchetTree == TreeByConfig && g.pub.Config.RatchetTreeExtension)
	if len(cov.added) > 0 {
		w, refs, err := g.welcome(cov, t, pu, r, tag, withTree, sg, env)
		if err != nil {
			return s, nil, err
		}
		effs = append(effs, effects.SendWelcome{Welcome: w, To: refs})
	}
	if e.PublishGroupInfo {
		gi, err := g.groupInfo(t, r, tag, withTree, true, sg, env)
		if err != nil {
			return s, nil, err
		}
		effs = append(effs, effects.PublishGroupInfo{Group: g.gid(), Epoch: r.ctx.Epoch, GroupInfo: gi})
	}
	priv := g.priv
	priv.Secrets = sl.secrets
	priv.Pending = &state.PendingCommit{Next: next, Message: bytes.Clone(sl.msg), Added: leaves(cov.added), Removed: leaves(cov.removed)}
	cur, err := state.New(core.K(), g.pub, priv)
	if err != nil {
		return s, nil, err
	}
	return cur, effs, nil
}

// commitEntries returns the proposal list a commit starts from: the
// stored proposals the policy selects, by reference, then the inline ones
// (each checked sendable, a PreSharedKey given its nonce), and the leaf
// template an inline Update gives the committer's path leaf.
func (g *group) commitEntries(inline []codec.Proposal, env Env) ([]entry, *codec.LeafNode, error) {
	stored := g.pub.Proposals
	if f := env.Policy.SelectProposals; f != nil {
		var err error
		if stored, err = selectStored(g.pub.Proposals, f(g.s.PendingProposals())); err != nil {
			return nil, nil, err
		}
	}
	inline, leafTpl, err := leafTemplateOf(inline)
	if err != nil {
		return nil, nil, err
	}
	entries := make([]entry, 0, len(stored)+len(inline))
	for _, sp := range stored {
		entries = append(entries, entry{p: sp.Proposal, sender: sp.Sender, ref: sp.Ref})
	}
	for i, p := range inline {
		if err := checkSendableProposal(p); err != nil {
			return nil, nil, fmt.Errorf("%w (inline proposal %d)", err, i)
		}
		if p.ProposalType == codec.ProposalPreSharedKey && p.PreSharedKey != nil && len(p.PreSharedKey.PSK.PSKNonce) == 0 {
			psk := *p.PreSharedKey
			psk.PSK.PSKNonce = env.Entropy.Draw(entropy.PSKNonce, g.cs.HashLen())
			p.PreSharedKey = &psk
		}
		entries = append(entries, entry{p: p, sender: codec.MemberSender(g.self())})
	}
	return entries, leafTpl, nil
}

// sentPath is the committer's side of a commit's path: the tree and
// census after it, the private path, and, when the commit has a path,
// the UpdatePath generated, encrypted and its commit secret.
type sentPath struct {
	tree         tree.Tree
	census       state.Census
	path         tree.PrivatePath
	pu           *tree.PathUpdate
	up           *codec.UpdatePath
	commitSecret []byte
}

// generatePath generates the committer's new leaf and path over the
// provisional tree of cov and encrypts the path secrets under the
// provisional GroupContext to the copath, new members excluded (RFC
// 9420, Sections 7.4, 7.5 and 12.4.1).
func (g *group) generatePath(cov covered, leafTpl *codec.LeafNode, at uint64, sg *suite.Signer, env Env) (sentPath, error) {
	t, self := cov.tree, g.self()
	own, _ := t.SharedLeaf(core.K(), self)
	template, lsg, err := g.pathLeaf(*own, leafTpl, t, cov, cov.census, at, sg, env)
	if err != nil {
		return sentPath{}, err
	}
	t2, u, err := t.GeneratePath(self, template, g.gid(), env.Entropy.Draw(entropy.CommitLeaf, g.cs.HashLen()), lsg)
	if err != nil {
		return sentPath{}, err
	}
	prov, err := g.provisionalContext(t2, cov.exts)
	if err != nil {
		return sentPath{}, err
	}
	p, err := u.Encrypt(prov, cov.added, env.Entropy.Draw(entropy.HPKEEncap, g.cs.HashLen()))
	if err != nil {
		return sentPath{}, err
	}
	return sentPath{tree: t2, census: censusAdd(censusAdd(cov.census, own, -1), u.LeafNode(), 1), path: u.Private(),
		pu: u, up: &p, commitSecret: u.CommitSecret()}, nil
}

// commitOf returns the Commit covering entries (by reference where they
// have one, else inline) with the UpdatePath up.
func commitOf(entries []entry, up *codec.UpdatePath) codec.Commit {
	c := codec.Commit{Path: up}
	for _, en := range entries {
		if en.ref != nil {
			c.Proposals = append(c.Proposals, codec.ProposalOrRef{Type: codec.ProposalOrRefReference, Reference: en.ref})
		} else {
			p := en.p
			c.Proposals = append(c.Proposals, codec.ProposalOrRef{Type: codec.ProposalOrRefProposal, Proposal: &p})
		}
	}
	return c
}

// signedGroupInfo builds and signs the GroupInfo of the new epoch (RFC 9420,
// Section 12.4.3), with a GREASE extension under Policy.Grease (Section
// 13.5: GroupInfo.extensions), drawn under the label what.
func (g *group) signedGroupInfo(t tree.Tree, r epochResult, tag []byte, withTree, withExternalPub bool, sg *suite.Signer, env Env, what string) (codec.GroupInfo, error) {
	gi := codec.GroupInfo{GroupContext: r.ctx, ConfirmationTag: tag, Signer: g.self()}
	if withTree {
		enc, err := t.Encode()
		if err != nil {
			return gi, err
		}
		gi.Extensions = append(gi.Extensions, codec.Extension{ExtensionType: codec.ExtensionRatchetTree, ExtensionData: enc})
	}
	if withExternalPub {
		_, pub, err := r.es.ExternalKeyPair()
		if err != nil {
			return gi, err
		}
		xp, err := codec.ExternalPub{ExternalPub: pub}.Encode()
		if err != nil {
			return gi, err
		}
		gi.Extensions = append(gi.Extensions, codec.Extension{ExtensionType: codec.ExtensionExternalPub, ExtensionData: xp})
	}
	gi.Extensions = greaseExtensions(gi.Extensions, env, what)
	tbs, err := gi.TBS().Encode()
	if err != nil {
		return gi, err
	}
	if gi.Signature, err = sg.SignWithLabel("GroupInfoTBS", tbs); err != nil {
		return gi, err
	}
	return gi, nil
}

// groupInfo returns MLSMessage(GroupInfo) bytes for publication.
func (g *group) groupInfo(t tree.Tree, r epochResult, tag []byte, withTree, withExternalPub bool, sg *suite.Signer, env Env) ([]byte, error) {
	gi, err := g.signedGroupInfo(t, r, tag, withTree, withExternalPub, sg, env, "group_info")
	if err != nil {
		return nil, err
	}
	return codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatGroupInfo, GroupInfo: &gi}.Encode()
}

// welcome builds the Welcome for the members cov adds (RFC 9420, Section
// 12.4.3.1): the GroupInfo is signed and encrypted once; each new member
// gets the joiner secret, its path secret and the PSK ids, HPKE-encrypted
// to its init key.
func (g *group) welcome(cov covered, t tree.Tree, pu *tree.PathUpdate, r epochResult, tag []byte, withTree bool, sg *suite.Signer, env Env) ([]byte, [][]byte, error) {
	gi, err := g.signedGroupInfo(t, r, tag, withTree, false, sg, env, "welcome_group_info")
	if err != nil {
		return nil, nil, err
	}
	ws, err := r.inter.Welcome()
	if err != nil {
		return nil, nil, err
	}
	egi, err := ws.EncryptGroupInfo(gi)
	if err != nil {
		return nil, nil, err
	}
	// The HPKE context of every recipient is the encrypted GroupInfo,
	// which holds the whole tree: hash it once, not once per recipient,
	// so that the Welcome costs O(N) for N new members.
	ec, err := g.cs.PrepareEncryptContext("Welcome", egi)
	if err != nil {
		return nil, nil, err
	}
	joiner := r.joiner.Bytes()
	n := len(cov.addedKPs)
	seeds := make([][]byte, n)
	for i := range seeds {
		seeds[i] = env.Entropy.Draw(entropy.WelcomeEncap, g.cs.HPKESeedLen())
	}
	w := codec.Welcome{CipherSuite: g.pub.Context.CipherSuite, Secrets: make([]codec.EncryptedGroupSecrets, n), EncryptedGroupInfo: egi}
	refs := make([][]byte, n)
	errs := make([]error, n)
	seal := func(i int) {
		kp := cov.addedKPs[i]
		ref, err := keysched.KeyPackageRef(g.cs, kp)
		if err != nil {
			errs[i] = err
			return
		}
		gs := codec.GroupSecrets{JoinerSecret: joiner, PSKs: cov.psks}
		if pu != nil {
			if _, ps, ok := pu.PathSecretFor(cov.added[i]); ok {
				gs.PathSecret = &codec.PathSecret{PathSecret: ps}
			}
		}
		pt, err := gs.Encode()
		if err != nil {
			errs[i] = err
			return
		}
		kem, ct, err := g.cs.EncryptWithPreparedLabel(kp.InitKey, ec, pt, seeds[i])
		if err != nil {
			errs[i] = fmt.Errorf("mls: welcome recipient %d: %w", i, err)
			return
		}
		refs[i] = ref
		w.Secrets[i] = codec.EncryptedGroupSecrets{NewMember: ref, EncryptedGroupSecrets: codec.HPKECiphertext{KEMOutput: kem, Ciphertext: ct}}
	}
	fanOut(n, seal)
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	b, err := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatWelcome, Welcome: &w}.Encode()
	if err != nil {
		return nil, nil, err
	}
	return b, refs, nil
}
