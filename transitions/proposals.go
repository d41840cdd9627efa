package transitions

import (
	"fmt"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// mode selects how the proposal pipeline treats an invalid proposal (RFC
// 9420, Section 12.2; mls-rs's FilterStrategy).
type mode uint8

const (
	// modeCommitter drops invalid by-reference proposals and rejects
	// invalid inline ones: the committer chooses what to cover.
	modeCommitter mode = iota
	// modeReceiver rejects the whole list on any invalid proposal.
	modeReceiver
)

// entry is one proposal of a list, with its sender and, when it is covered
// by reference, its ProposalRef.
type entry struct {
	p      codec.Proposal
	sender codec.Sender
	ref    []byte // nil for an inline proposal
}

// covered is a validated proposal list applied to the tree: the provisional
// state of RFC 9420, Section 12.4.2.
type covered struct {
	entries      []entry
	tree         tree.Tree
	census       state.Census
	exts         codec.Extensions // the new group context extensions
	added        []treemath.LeafIndex
	addedKPs     []codec.KeyPackage
	removed      []treemath.LeafIndex
	updated      []treemath.LeafIndex
	psks         []codec.PreSharedKeyID
	pathRequired bool
	selfRemoved  bool
	ownUpdate    []byte // this member's new leaf private key, if its Update is covered
}

// cover runs the proposal pipeline: it validates entries (ValSem101–ValSem113,
// ValSem200, ValSem208, ValSem209, ValSem401–ValSem403 and the other rules of
// RFC 9420, Section 12.2) and applies the survivors to the tree in the order
// of Section 12.3. committer is the commit's sender, or nil for a standalone
// proposal.
func (g *group) cover(committer *treemath.LeafIndex, entries []entry, m mode, at uint64, env Env) (covered, error) {
	if err := checkLimit("MaxProposals", uint64(len(entries)), uint64(env.Limits.MaxProposals)); err != nil {
		return covered{}, err
	}
	t := g.pub.Tree
	cen := g.pub.Census
	rc, err := requiredCapabilities(g.pub.Context.Extensions)
	if err != nil {
		return covered{}, err
	}
	drop := make([]bool, len(entries))
	var firstErr error
	// reject records err against entry i: a committer drops an invalid
	// by-reference proposal, anything else fails the list.
	reject := func(i int, err error) bool {
		if m == modeCommitter && entries[i].ref != nil {
			drop[i] = true
			return false
		}
		if firstErr == nil {
			firstErr = err
		}
		return true
	}

	// Types and senders first.
	var custom []int // entries of non-default proposal types, for ValSem113
	for i, e := range entries {
		switch pt := e.p.ProposalType; pt {
		case codec.ProposalAdd, codec.ProposalRemove, codec.ProposalPreSharedKey, codec.ProposalGroupContextExtensions:
		case codec.ProposalUpdate:
			// ValSem112: an Update comes from a member.
			if e.sender.SenderType != codec.SenderTypeMember {
				if reject(i, valsem.Errorf(valsem.ValSem112, "update from a %s sender", e.sender.SenderType)) {
					return covered{}, firstErr
				}
				continue
			}
			// ValSem111: a committer does not cover its own Update.
			if committer != nil && e.sender.LeafIndex == *committer {
				if reject(i, valsem.Errorf(valsem.ValSem111, "commit by leaf %d covers its own update", *committer)) {
					return covered{}, firstErr
				}
			}
		case codec.ProposalExternalInit:
			if reject(i, fmt.Errorf("%w: external_init in a regular commit", ErrInvalidProposals)) {
				return covered{}, firstErr
			}
		case codec.ProposalReInit:
			if err := checkReInit(e.p.ReInit, len(entries)); err != nil {
				if reject(i, err) {
					return covered{}, firstErr
				}
			}
		default:
			// Checked once the removed members are known (ValSem113).
			custom = append(custom, i)
		}
	}

	// Removes.
	removed := map[treemath.LeafIndex]bool{}
	for i, e := range entries {
		if drop[i] || e.p.ProposalType != codec.ProposalRemove {
			continue
		}
		r := e.p.Remove.Removed
		var err error
		switch _, ok := t.SharedLeaf(core.Key{}, r); {
		case !ok:
			// ValSem108: the removed leaf must be a member.
			err = valsem.Errorf(valsem.ValSem108, "remove of blank or absent leaf %d", r)
		case removed[r]:
			// ValSem107: a member is removed at most once.
			err = valsem.Errorf(valsem.ValSem107, "leaf %d removed twice", r)
		case committer != nil && r == *committer:
			// ValSem200: a commit must not remove its committer.
			err = valsem.Errorf(valsem.ValSem200, "commit by leaf %d removes its committer", r)
		}
		if err != nil {
			if reject(i, err) {
				return covered{}, firstErr
			}
			continue
		}
		removed[r] = true
	}

	// ValSem113: a non-default proposal type must be supported by every
	// member that will process the commit; "members being added or removed
	// by the Commit do not need to support the proposal type" (RFC 9420,
	// Section 12.2). A standalone proposal (committer == nil) is checked
	// against every current member.
	for _, i := range custom {
		if drop[i] {
			continue
		}
		pt := entries[i].p.ProposalType
		if n := unsupportedBy(t, cen, removed, pt); n > 0 {
			if reject(i, valsem.Errorf(valsem.ValSem113, "proposal type %d not supported by %d members", pt, n)) {
				return covered{}, firstErr
			}
		}
	}

	// Group context extensions, before the Updates and Adds: "The new
	// extensions MUST be used when evaluating other proposals in this list"
	// (RFC 9420, Section 12.3), so leaf nodes are checked against the
	// required_capabilities the proposal introduces. For a commit, the
	// members' support (ValSem209) is checked after the list is applied,
	// against the members added and without the members removed (Section
	// 12.1.7); a standalone proposal is checked against the current members.
	exts := g.pub.Context.Extensions
	gce := -1
	for i, e := range entries {
		if drop[i] || e.p.ProposalType != codec.ProposalGroupContextExtensions {
			continue
		}
		var err error
		var nrc *codec.RequiredCapabilities
		if gce >= 0 {
			// ValSem208: at most one GroupContextExtensions proposal.
			err = valsem.Errorf(valsem.ValSem208, "second group_context_extensions proposal")
		} else if committer == nil {
			err = checkGCE(e.p.GroupContextExtensions.Extensions, cen)
		} else if nrc, err = requiredCapabilities(e.p.GroupContextExtensions.Extensions); err != nil {
			err = valsem.Wrap(valsem.ValSem209, err, "malformed required_capabilities")
		}
		if err != nil {
			if reject(i, err) {
				return covered{}, firstErr
			}
			continue
		}
		if committer != nil {
			rc = nrc
		}
		gce = i
		exts = e.p.GroupContextExtensions.Extensions
	}

	// Updates.
	encKeys := map[string]bool{}
	sigKeys := map[string]bool{}
	updatedBy := map[treemath.LeafIndex]bool{}
	for i, e := range entries {
		if drop[i] || e.p.ProposalType != codec.ProposalUpdate {
			continue
		}
		ln := &e.p.Update.LeafNode
		snd := e.sender.LeafIndex
		var err error
		old, ok := t.SharedLeaf(core.Key{}, snd)
		switch {
		case !ok:
			err = valsem.Errorf(valsem.ValSem004, "update from blank leaf %d", snd)
		case removed[snd]:
			err = fmt.Errorf("%w: update and remove of leaf %d", ErrInvalidProposals, snd)
		case updatedBy[snd]:
			err = fmt.Errorf("%w: two updates of leaf %d", ErrInvalidProposals, snd)
		}
		if err == nil {
			err = validateLeaf(g.cs, ln, leafCheck{source: codec.LeafNodeSourceUpdate, gid: g.gid(), leaf: snd, at: at,
				capsCode: valsem.ValSem109, required: rc, census: cen}, env)
		}
		if err == nil {
			// ValSem110: an Update's encryption key is new to the tree and
			// to the list.
			if _, dup := t.NodeByEncryptionKey(ln.EncryptionKey); dup || encKeys[string(ln.EncryptionKey)] || equalBytes(ln.EncryptionKey, old.EncryptionKey) {
				err = valsem.Errorf(valsem.ValSem110, "update of leaf %d reuses an encryption key", snd)
			} else if l, dup := t.LeafBySignatureKey(ln.SignatureKey); (dup && l != snd && !removed[l]) || sigKeys[string(ln.SignatureKey)] {
				err = fmt.Errorf("%w: update of leaf %d uses the signature key of leaf %d", ErrInvalidLeafNode, snd, l)
			}
		}
		if err != nil {
			if reject(i, err) {
				return covered{}, firstErr
			}
			continue
		}
		updatedBy[snd] = true
		encKeys[string(ln.EncryptionKey)] = true
		sigKeys[string(ln.SignatureKey)] = true
	}

	// Adds.
	initKeys := map[string]bool{}
	sigs := verifyAdds(g.cs, entries, drop)
	for i, e := range entries {
		if drop[i] || e.p.ProposalType != codec.ProposalAdd {
			continue
		}
		kp := &e.p.Add.KeyPackage
		err := validateKeyPackage(g.cs, kp, leafCheck{at: at, required: rc, census: cen, sigs: sigs[i]}, env)
		if err == nil {
			ln := &kp.LeafNode
			if initKeys[string(kp.InitKey)] {
				// ValSem102: init keys are unique among the proposals.
				err = valsem.Errorf(valsem.ValSem102, "init key used by two adds")
			} else if l, dup := t.LeafBySignatureKey(ln.SignatureKey); (dup && !removed[l]) || sigKeys[string(ln.SignatureKey)] {
				// ValSem101: signature keys are unique among proposals and
				// members (a member removed by the same commit excepted).
				err = valsem.Errorf(valsem.ValSem101, "added signature key already in use")
			} else if x, dup := t.NodeByEncryptionKey(ln.EncryptionKey); (dup && !(x.IsLeaf() && removed[x.Leaf()])) || encKeys[string(ln.EncryptionKey)] {
				// ValSem103: encryption keys are unique among proposals and
				// members.
				err = valsem.Errorf(valsem.ValSem103, "added encryption key already in use")
			}
		}
		if err != nil {
			if reject(i, err) {
				return covered{}, firstErr
			}
			continue
		}
		initKeys[string(kp.InitKey)] = true
		sigKeys[string(kp.LeafNode.SignatureKey)] = true
		encKeys[string(kp.LeafNode.EncryptionKey)] = true
	}

	// Pre-shared keys.
	var pskIDs [][]byte
	for i, e := range entries {
		if drop[i] || e.p.ProposalType != codec.ProposalPreSharedKey {
			continue
		}
		if err := checkPSKID(g.cs.HashLen(), e.p.PreSharedKey.PSK, &pskIDs); err != nil {
			if reject(i, err) {
				return covered{}, firstErr
			}
		}
	}

	if firstErr != nil {
		return covered{}, firstErr
	}
	if committer == nil {
		// A standalone proposal is only validated; it is applied when a
		// commit covers it.
		return covered{exts: exts}, nil
	}

	// Apply in the order of RFC 9420, Section 12.3.
	out := covered{exts: exts}
	for i, e := range entries {
		if !drop[i] {
			out.entries = append(out.entries, e)
		}
	}
	var err2 error
	for _, e := range out.entries {
		if e.p.ProposalType != codec.ProposalUpdate {
			continue
		}
		snd := e.sender.LeafIndex
		old, _ := t.SharedLeaf(core.Key{}, snd)
		cen = censusAdd(censusAdd(cen, old, -1), &e.p.Update.LeafNode, 1)
		if t, err2 = t.Update(snd, &e.p.Update.LeafNode); err2 != nil {
			return covered{}, err2
		}
		out.updated = append(out.updated, snd)
		if snd == g.self() {
			for _, u := range g.priv.OwnUpdates {
				if equalBytes(u.Ref, e.ref) {
					out.ownUpdate = u.EncryptionPriv
				}
			}
			if out.ownUpdate == nil {
				return covered{}, fmt.Errorf("%w: no private key for this member's update %x", ErrMissingKey, prefix(e.ref))
			}
		}
	}
	for _, e := range out.entries {
		if e.p.ProposalType != codec.ProposalRemove {
			continue
		}
		r := e.p.Remove.Removed
		old, _ := t.SharedLeaf(core.Key{}, r)
		cen = censusAdd(cen, old, -1)
		if t, err2 = t.Remove(r); err2 != nil {
			return covered{}, err2
		}
		out.removed = append(out.removed, r)
		if r == g.self() {
			out.selfRemoved = true
		}
	}
	for _, e := range out.entries {
		if e.p.ProposalType != codec.ProposalAdd {
			continue
		}
		var l treemath.LeafIndex
		if t, l, err2 = t.Add(&e.p.Add.KeyPackage.LeafNode); err2 != nil {
			return covered{}, err2
		}
		cen = censusAdd(cen, &e.p.Add.KeyPackage.LeafNode, 1)
		out.added = append(out.added, l)
		out.addedKPs = append(out.addedKPs, e.p.Add.KeyPackage)
	}
	if err := checkLimit("MaxLeaves", uint64(t.LeafCount()), uint64(env.Limits.MaxLeaves)); err != nil {
		return covered{}, err
	}
	if gce >= 0 {
		// ValSem209 against the members after the commit: cen now counts
		// the updated leaves, without the removed members and with the
		// added ones.
		if err := checkGCE(exts, cen); err != nil {
			if m == modeCommitter && entries[gce].ref != nil {
				// Drop the by-reference proposal and evaluate the rest
				// again: the Updates and Adds were checked against the
				// required capabilities it would have introduced.
				return g.cover(committer, slices.Delete(slices.Clone(entries), gce, gce+1), m, at, env)
			}
			return covered{}, err
		}
	}
	for _, e := range out.entries {
		if e.p.ProposalType == codec.ProposalPreSharedKey {
			out.psks = append(out.psks, e.p.PreSharedKey.PSK)
		}
		switch e.p.ProposalType {
		case codec.ProposalAdd, codec.ProposalPreSharedKey, codec.ProposalReInit:
		default:
			// RFC 9420, Section 12.4: Update, Remove, ExternalInit,
			// GroupContextExtensions and proposal types not defined by
			// the RFC need a path.
			out.pathRequired = true
		}
	}
	if len(out.entries) == 0 {
		out.pathRequired = true
	}
	out.tree, out.census = t, cen
	return out, nil
}

// unsupportedBy returns how many members of t, other than those in
// removed, do not list proposal type pt in their capabilities.
func unsupportedBy(t tree.Tree, cen state.Census, removed map[treemath.LeafIndex]bool, pt codec.ProposalType) uint32 {
	n := cen.Members - countOf(cen.ProposalSupport, uint16(pt))
	for r := range removed {
		if ln, ok := t.SharedLeaf(core.Key{}, r); ok && !containsT(ln.Capabilities.Proposals, pt) {
			n--
		}
	}
	return n
}

// checkPSKID checks one PreSharedKeyID of a list (ValSem401–ValSem403),
// appending its encoding to seen.
func checkPSKID(nh int, id codec.PreSharedKeyID, seen *[][]byte) error {
	// ValSem401: the nonce is KDF.Nh bytes long.
	if len(id.PSKNonce) != nh {
		return valsem.Errorf(valsem.ValSem401, "psk nonce of %d bytes, want %d", len(id.PSKNonce), nh)
	}
	// ValSem402: external, or resumption with usage application.
	if id.PSKType == codec.PSKTypeResumption && id.Usage != codec.ResumptionPSKUsageApplication {
		return valsem.Errorf(valsem.ValSem402, "resumption psk with usage %d in a proposal", id.Usage)
	}
	enc, err := id.Encode()
	if err != nil {
		return err
	}
	// ValSem403: no PreSharedKeyID twice.
	if slices.ContainsFunc(*seen, func(b []byte) bool { return equalBytes(b, enc) }) {
		return valsem.Errorf(valsem.ValSem403, "pre-shared key id proposed twice")
	}
	*seen = append(*seen, enc)
	return nil
}

// checkGCE checks a GroupContextExtensions proposal against the members'
// capabilities (ValSem209; RFC 9420, Sections 11.1 and 12.1.7).
func checkGCE(exts codec.Extensions, cen state.Census) error {
	for _, x := range exts {
		// ValSem209: every member supports each non-default extension.
		if !isDefaultExtension(x.ExtensionType) && countOf(cen.ExtensionSupport, uint16(x.ExtensionType)) < cen.Members {
			return valsem.Errorf(valsem.ValSem209, "extension type %d not supported by all members", x.ExtensionType)
		}
	}
	rc, err := requiredCapabilities(exts)
	if err != nil {
		return valsem.Wrap(valsem.ValSem209, err, "malformed required_capabilities")
	}
	if rc != nil {
		for _, t := range rc.ExtensionTypes {
			if !isDefaultExtension(t) && countOf(cen.ExtensionSupport, uint16(t)) < cen.Members {
				return valsem.Errorf(valsem.ValSem209, "required extension type %d not supported by all members", t)
			}
		}
		for _, t := range rc.ProposalTypes {
			if !t.IsDefault() && countOf(cen.ProposalSupport, uint16(t)) < cen.Members {
				return valsem.Errorf(valsem.ValSem209, "required proposal type %d not supported by all members", t)
			}
		}
		for _, t := range rc.CredentialTypes {
			if countOf(cen.CredentialSupport, uint16(t)) < cen.Members {
				return valsem.Errorf(valsem.ValSem209, "required credential type %d not supported by all members", t)
			}
		}
	}
	return nil
}
