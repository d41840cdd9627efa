package transitions

import (
	"fmt"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// receivedCommit is an authenticated commit on its way through the
// commit-receiving pipeline (RFC 9420, Section 12.4.2), for both sender
// kinds: a member's commit and a new member's external commit (Section
// 12.4.3.2). Each stage fills in what it establishes.
type receivedCommit struct {
	ac     codec.AuthenticatedContent
	wire   codec.FramedWire // ac's bytes as received
	commit *codec.Commit

	// Set by the proposal stage.
	external bool   // a new_member_commit sender
	kem      []byte // the ExternalInit's kem_output of an external commit
	cov      covered

	// Set by the apply and path stages: the public next epoch.
	committer treemath.LeafIndex // the committer's leaf in the new tree: the joiner's for an external commit
	tree      tree.Tree
	census    state.Census
	added     []treemath.LeafIndex // the leaves added, the external joiner's last

	// Set by the secret stages of a member (not in the public mode).
	path         tree.PrivatePath
	commitSecret []byte
}

// followCommit runs the stages of the commit-receiving pipeline that need
// no secret: validate the proposals, apply them, validate and merge the
// path. A member runs them before its secret stages (receiveCommit); a
// PublicGroup runs only them.
func (g *group) followCommit(ac codec.AuthenticatedContent, w codec.FramedWire, at uint64, env Env) (receivedCommit, error) {
	rc := receivedCommit{ac: ac, wire: w, commit: ac.Content.Commit,
		external: ac.Content.Sender.SenderType == codec.SenderTypeNewMemberCommit}
	if err := g.commitProposals(&rc, at, env); err != nil {
		return rc, err
	}
	if err := g.commitApply(&rc, env); err != nil {
		return rc, err
	}
	if err := g.commitPath(&rc, at, env); err != nil {
		return rc, err
	}
	return rc, nil
}

// commitProposals is the proposal stage: it resolves the commit's
// proposal list (by reference from the store, or inline), checks the
// rules of its sender kind (ValSem201 for a member, ValSem240–ValSem244
// and the resync policy for an external commit) and runs the proposal
// pipeline (cover), which validates and applies the list.
func (g *group) commitProposals(rc *receivedCommit, at uint64, env Env) error {
	c := rc.commit
	var entries []entry
	committer := rc.ac.Content.Sender.LeafIndex
	if rc.external {
		kem, es, err := checkExternalCommitProposals(c, rc.ac.Content.Sender, g.pub.Proposals)
		if err != nil {
			return err
		}
		rc.kem, entries, committer = kem, es, noLeaf
	} else {
		es, err := g.resolveProposals(c, rc.ac.Content.Sender)
		if err != nil {
			return err
		}
		entries = es
	}
	cov, err := g.cover(&committer, entries, modeReceiver, at, env)
	if err != nil {
		return err
	}
	rc.cov = cov
	// ValSem201: a path is present when a covered proposal requires one
	// (an external commit always carries one: ValSem245).
	if cov.pathRequired && c.Path == nil {
		return valsem.Errorf(valsem.ValSem201, "commit without path covers proposals that require one")
	}
	if rc.external {
		return g.checkResync(cov, c.Path.LeafNode.Credential, env)
	}
	return nil
}

// resolveProposals returns a member's commit's proposal list as entries:
// a reference resolves to the stored proposal it names.
func (g *group) resolveProposals(c *codec.Commit, sender codec.Sender) ([]entry, error) {
	entries := make([]entry, 0, len(c.Proposals))
	for i, por := range c.Proposals {
		if por.Type != codec.ProposalOrRefReference {
			entries = append(entries, entry{p: *por.Proposal, sender: sender})
			continue
		}
		j := slices.IndexFunc(g.pub.Proposals, func(sp state.StoredProposal) bool { return equalBytes(sp.Ref, por.Reference) })
		if j < 0 {
			return nil, fmt.Errorf("%w: proposal %d references unknown proposal %x", ErrInvalidProposals, i, prefix(por.Reference))
		}
		sp := g.pub.Proposals[j]
		entries = append(entries, entry{p: sp.Proposal, sender: sp.Sender, ref: sp.Ref})
	}
	return entries, nil
}

// checkResync runs Policy.AcceptResync on each member an external commit
// removes, other than those leaving by their own SelfRemove: the joiner
// replaces it (RFC 9420, Section 12.4.3.2).
func (g *group) checkResync(cov covered, joiner codec.Credential, env Env) error {
	for _, r := range cov.removed {
		if slices.Contains(cov.leavers, r) {
			continue // left by its own SelfRemove, not replaced by the joiner
		}
		old, _ := g.pub.Tree.SharedLeaf(core.K(), r)
		f := env.Policy.AcceptResync
		if f == nil {
			f = sameCredential
		}
		if err := f(old.Credential, joiner); err != nil {
			return &PolicyError{Reason: fmt.Sprintf("external commit may not replace leaf %d", r), Err: err}
		}
	}
	return nil
}

// commitApply is the apply stage beyond the proposals, which cover
// applied: an external commit's joiner takes a leaf after them (RFC 9420,
// Section 12.4.3.2).
func (g *group) commitApply(rc *receivedCommit, env Env) error {
	rc.tree, rc.census, rc.added = rc.cov.tree, rc.cov.census, leaves(rc.cov.added)
	rc.committer = rc.ac.Content.Sender.LeafIndex
	if !rc.external {
		return nil
	}
	t, joiner, err := rc.tree.Add(&rc.commit.Path.LeafNode)
	if err != nil {
		return err
	}
	if err := checkLimit("MaxLeaves", uint64(t.LeafCount()), uint64(env.Limits.MaxLeaves)); err != nil {
		return err
	}
	rc.tree, rc.committer, rc.added = t, joiner, append(rc.added, joiner)
	return nil
}

// commitPath is the public path stage: the UpdatePath's leaf is a valid
// commit leaf of the committer (RFC 9420, Section 7.3) with a signature
// key no other member uses, and the path merges into the tree with valid
// parent hashes (Section 7.9.2).
func (g *group) commitPath(rc *receivedCommit, at uint64, env Env) error {
	up := rc.commit.Path
	if up == nil {
		return nil
	}
	req, err := requiredCapabilities(rc.cov.exts)
	if err != nil {
		return err
	}
	old, _ := rc.tree.SharedLeaf(core.K(), rc.committer)
	cen := rc.census
	if !rc.external {
		cen = censusAdd(cen, old, -1)
	}
	if err := validateLeaf(g.cs, &up.LeafNode, leafCheck{source: codec.LeafNodeSourceCommit, gid: g.gid(), leaf: rc.committer,
		at: at, required: req, census: rc.census}, env); err != nil {
		return err
	}
	if l, dup := rc.tree.LeafBySignatureKey(up.LeafNode.SignatureKey); dup && l != rc.committer {
		return fmt.Errorf("%w: path leaf uses the signature key of leaf %d", ErrInvalidLeafNode, l)
	}
	t, err := rc.tree.MergePath(rc.committer, up)
	if err != nil {
		return err
	}
	rc.tree, rc.census = t, censusAdd(cen, &up.LeafNode, 1)
	return nil
}

// receiveCommit is the commit-receiving pipeline of a member (RFC 9420,
// Section 12.4.2) for a commit of either sender kind: the public stages
// (followCommit), then the path secrets, the key schedule, the
// confirmation tag and the new epoch's state, staged for MergeStaged. A
// member the commit removes stages its inactive current epoch instead: it
// cannot derive the next one (the path is encrypted to the others).
func (g *group) receiveCommit(a authenticatedMessage, at uint64, env Env) (state.GroupState, []effects.Effect, error) {
	rc, err := g.followCommit(a.ac, a.wire, at, env)
	if err != nil {
		return state.GroupState{}, nil, err
	}
	var next state.GroupState
	if rc.cov.selfRemoved {
		next, err = g.removedState()
	} else {
		next, err = g.commitEpoch(&rc, env)
	}
	if err != nil {
		return state.GroupState{}, nil, err
	}
	cov := rc.cov
	staged := &state.StagedCommit{Next: next, Sender: rc.ac.Content.Sender, Added: rc.added, Removed: leaves(cov.removed),
		Updated: leaves(cov.updated), SelfRemoved: cov.selfRemoved}
	for _, en := range cov.entries {
		staged.Proposals = append(staged.Proposals, state.StoredProposal{Ref: en.ref, Proposal: en.p, Sender: en.sender})
	}
	priv := g.withSecrets(a)
	priv.Staged = staged
	cur, err := g.s.WithPrivate(core.K(), priv)
	if err != nil {
		return state.GroupState{}, nil, err
	}
	return cur, []effects.Effect{effects.CommitStaged{Group: g.gid(), Epoch: g.epoch(), Sender: rc.ac.Content.Sender,
		Added: leaves(rc.added), Removed: leaves(cov.removed), Updated: leaves(cov.updated), SelfRemoved: cov.selfRemoved}}, nil
}

// commitSecrets is the secret path stage: the member's private path with
// its own covered Update applied, and the commit secret the UpdatePath
// encrypts to it (RFC 9420, Section 12.4.2), or the pruned path of a
// commit without path.
func (g *group) commitSecrets(rc *receivedCommit) error {
	path := g.priv.Path
	if rc.cov.ownUpdate != nil {
		var err error
		if path, err = path.WithLeafKey(g.cs, rc.cov.ownUpdate); err != nil {
			return err
		}
	}
	up := rc.commit.Path
	if up == nil {
		rc.path = path.Prune(rc.tree)
		return nil
	}
	prov, err := g.provisionalContext(rc.tree, rc.cov.exts)
	if err != nil {
		return err
	}
	p, err := rc.tree.DecryptPath(path.Prune(rc.tree), rc.committer, up, prov, rc.cov.added)
	if err != nil {
		return err
	}
	rc.path, rc.commitSecret = p.Private, p.CommitSecret
	return nil
}

// commitEpoch runs a member's secret stages: the path secrets, the key
// schedule from the init secret of the commit's kind (the epoch's, or the
// external commit's ExternalInit), the confirmation tag check and the
// assembly of the new epoch's state.
func (g *group) commitEpoch(rc *receivedCommit, env Env) (state.GroupState, error) {
	if err := g.commitSecrets(rc); err != nil {
		return state.GroupState{}, err
	}
	init := g.priv.Epoch.Next()
	if rc.external {
		var err error
		if init, err = g.priv.Epoch.ExternalInit(rc.kem); err != nil {
			return state.GroupState{}, fmt.Errorf("%w: external_init: %w", ErrInvalidProposals, err)
		}
	}
	r, err := g.keySchedule(init, rc.cov, rc.tree, rc.commitSecret, rc.wire, env)
	if err != nil {
		return state.GroupState{}, err
	}
	tag := rc.ac.Auth.ConfirmationTag
	// ValSem205: the confirmation tag verifies.
	if !r.es.VerifyConfirmationTag(r.confirmed, tag) {
		return state.GroupState{}, valsem.Errorf(valsem.ValSem205, "confirmation tag of the %s commit (leaf %d) does not verify", rc.ac.Content.Sender.SenderType, rc.committer)
	}
	return g.nextState(rc.tree, rc.census, rc.path, r, tag, rc.cov)
}
