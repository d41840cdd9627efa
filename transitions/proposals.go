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
	leavers      []treemath.LeafIndex // the removed leaves whose own SelfRemove is covered
	updated      []treemath.LeafIndex
	psks         []codec.PreSharedKeyID
	pathRequired bool
	selfRemoved  bool
	ownUpdate    []byte // this member's new leaf private key, if its Update is covered
}

// cover runs the proposal pipeline on entries, in two steps: validate, then
// apply. Validation runs one validator per proposal kind, in the order of
// RFC 9420, Section 12.3 (removes first, then group context extensions,
// which the updates and adds are checked against, then updates, adds and
// pre-shared keys) and enforces ValSem101–ValSem113, ValSem200, ValSem208,
// ValSem209, ValSem401–ValSem403 and the other rules of Section 12.2.
// Applying changes the tree in the same order. committer is the commit's
// sender, or nil for a standalone proposal, which is only validated.
func (g *group) cover(committer *treemath.LeafIndex, entries []entry, m mode, at uint64, env Env) (covered, error) {
	if err := checkLimit("MaxProposals", uint64(len(entries)), uint64(env.Limits.MaxProposals)); err != nil {
		return covered{}, err
	}
	p, err := g.newPipeline(committer, entries, m, at, env)
	if err != nil {
		return covered{}, err
	}
	for {
		if err := p.validate(); err != nil {
			return covered{}, err
		}
		if committer == nil {
			return covered{exts: p.exts}, nil
		}
		err := p.checkGCEAfter()
		if err == nil {
			return p.apply()
		}
		if m != modeCommitter || entries[p.gce].ref == nil {
			return covered{}, err
		}
		// A committer drops the by-reference proposal and validates the
		// rest again: the updates and adds were checked against the
		// required capabilities it would have introduced. Each round
		// excludes one more entry, so the loop ends.
		p.exclude(p.gce)
	}
}

// pipeline is one run of the proposal pipeline over a list: the group
// before the list, and what the validators have accepted so far.
type pipeline struct {
	g         *group
	committer *treemath.LeafIndex
	entries   []entry
	m         mode
	at        uint64
	env       Env

	rc0      *codec.RequiredCapabilities // the group's required_capabilities
	sigs     []*kpSigs                   // the Adds' key package signatures, by entry
	excluded []int                       // GroupContextExtensions entries a committer gave up

	// Reset by reset.
	drop     []bool
	firstErr error
	rc       *codec.RequiredCapabilities // in force for the list's leaf nodes
	exts     codec.Extensions            // the group context extensions after the list
	gce      int                         // the accepted GroupContextExtensions entry, or -1
	custom   []int                       // entries of non-default types, for ValSem113
	removed  map[treemath.LeafIndex]bool
	updated  map[treemath.LeafIndex]bool
	encKeys  map[string]bool // encryption keys the list introduces
	sigKeys  map[string]bool // signature keys the list introduces
	initKeys map[string]bool // init keys of the Adds
	pskIDs   [][]byte        // encoded PreSharedKeyIDs
}

func (g *group) newPipeline(committer *treemath.LeafIndex, entries []entry, m mode, at uint64, env Env) (*pipeline, error) {
	rc, err := requiredCapabilities(g.pub.Context.Extensions)
	if err != nil {
		return nil, err
	}
	p := &pipeline{g: g, committer: committer, entries: entries, m: m, at: at, env: env, rc0: rc,
		drop: make([]bool, len(entries))}
	p.reset()
	return p, nil
}

// reset forgets what the validators decided.
func (p *pipeline) reset() {
	clear(p.drop)
	for _, i := range p.excluded {
		p.drop[i] = true
	}
	p.firstErr = nil
	p.rc, p.exts, p.gce, p.custom = p.rc0, p.g.pub.Context.Extensions, -1, nil
	p.removed, p.updated = map[treemath.LeafIndex]bool{}, map[treemath.LeafIndex]bool{}
	p.encKeys, p.sigKeys, p.initKeys = map[string]bool{}, map[string]bool{}, map[string]bool{}
	p.pskIDs = nil
}

// exclude drops entry i for good and forgets everything else the
// validators decided, for another validation of the list without it.
func (p *pipeline) exclude(i int) {
	p.excluded = append(p.excluded, i)
	p.reset()
}

// reject records err against entry i and reports whether validation
// stops: a committer drops an invalid by-reference proposal, anything
// else fails the list.
func (p *pipeline) reject(i int, err error) bool {
	if p.m == modeCommitter && p.entries[i].ref != nil {
		p.drop[i] = true
		return false
	}
	if p.firstErr == nil {
		p.firstErr = err
	}
	return true
}

// validator checks one entry of the kind it is for; on success it records
// what the entry introduces (a removed leaf, new keys), which the later
// validators check against.
type validator struct {
	kind  func(codec.ProposalType) bool
	check func(i int, e entry) error
}

// is returns a kind matcher for one proposal type.
func is(pt codec.ProposalType) func(codec.ProposalType) bool {
	return func(t codec.ProposalType) bool { return t == pt }
}

// validators returns the validators in the order they run (RFC 9420,
// Section 12.3). A new proposal type gets its validator here; a type
// without one is a custom type (ValSem113).
func (p *pipeline) validators() []validator {
	return []validator{
		{func(codec.ProposalType) bool { return true }, p.checkKind},
		{is(codec.ProposalRemove), p.checkRemove},
		{is(codec.ProposalSelfRemove), p.checkSelfRemove},
		{isCustom, p.checkCustom},
		{is(codec.ProposalGroupContextExtensions), p.checkGCE},
		{is(codec.ProposalUpdate), p.checkUpdate},
		{is(codec.ProposalAdd), p.checkAdd},
		{is(codec.ProposalPreSharedKey), p.checkPSK},
	}
}

// isCustom reports whether pt is not one of the types RFC 9420 defines.
func isCustom(pt codec.ProposalType) bool {
	switch pt {
	case codec.ProposalAdd, codec.ProposalUpdate, codec.ProposalRemove, codec.ProposalPreSharedKey,
		codec.ProposalReInit, codec.ProposalExternalInit, codec.ProposalGroupContextExtensions:
		return false
	}
	return true
}

// validate runs the validators over the entries not dropped yet.
func (p *pipeline) validate() error {
	for _, v := range p.validators() {
		for i, e := range p.entries {
			if p.drop[i] || !v.kind(e.p.ProposalType) {
				continue
			}
			if err := v.check(i, e); err != nil && p.reject(i, err) {
				return p.firstErr
			}
		}
	}
	return p.firstErr
}

// checkKind checks the rules that depend only on an entry's type and
// sender.
func (p *pipeline) checkKind(_ int, e entry) error {
	switch e.p.ProposalType {
	case codec.ProposalUpdate:
		// ValSem112: an Update comes from a member. Framing refuses one
		// from any other sender; this catches a proposal store restored
		// from a snapshot (TestStoredProposalSenders).
		if e.sender.SenderType != codec.SenderTypeMember {
			return valsem.Errorf(valsem.ValSem112, "update from a %s sender", e.sender.SenderType)
		}
		// ValSem111: a committer does not cover its own Update.
		if p.committer != nil && e.sender.LeafIndex == *p.committer {
			return valsem.Errorf(valsem.ValSem111, "commit by leaf %d covers its own update", *p.committer)
		}
	case codec.ProposalExternalInit:
		return fmt.Errorf("%w: external_init in a regular commit", ErrInvalidProposals)
	case codec.ProposalReInit:
		return checkReInit(e.p.ReInit, len(p.entries))
	}
	return nil
}

// checkRemove validates a Remove (ValSem107, ValSem108, ValSem200).
func (p *pipeline) checkRemove(_ int, e entry) error {
	return p.checkRemoval(e.p.Remove.Removed)
}

// checkRemoval validates the removal of leaf r by a Remove or a SelfRemove
// (ValSem107, ValSem108, ValSem200).
func (p *pipeline) checkRemoval(r treemath.LeafIndex) error {
	switch _, ok := p.g.pub.Tree.SharedLeaf(core.K(), r); {
	case !ok:
		// ValSem108: the removed leaf must be a member.
		return valsem.Errorf(valsem.ValSem108, "remove of blank or absent leaf %d", r)
	case p.removed[r]:
		// ValSem107: a member is removed at most once.
		return valsem.Errorf(valsem.ValSem107, "leaf %d removed twice", r)
	case p.committer != nil && r == *p.committer:
		// ValSem200: a commit must not remove its committer.
		return valsem.Errorf(valsem.ValSem200, "commit by leaf %d removes its committer", r)
	}
	p.removed[r] = true
	return nil
}

// checkCustom validates a proposal of a type RFC 9420 does not define
// (ValSem113): every member that will process the commit supports it;
// "members being added or removed by the Commit do not need to support the
// proposal type" (RFC 9420, Section 12.2). A standalone proposal is checked
// against every current member.
func (p *pipeline) checkCustom(_ int, e entry) error {
	pt := e.p.ProposalType
	if n := unsupportedBy(p.g.pub.Tree, p.g.pub.Census, p.removed, pt); n > 0 {
		return valsem.Errorf(valsem.ValSem113, "proposal type %d not supported by %d members", pt, n)
	}
	return nil
}

// checkGCE validates a GroupContextExtensions proposal, before the Updates
// and Adds: "The new extensions MUST be used when evaluating other
// proposals in this list" (RFC 9420, Section 12.3), so leaf nodes are
// checked against the required_capabilities it introduces. For a commit,
// the members' support (ValSem209) is checked once the list is validated,
// against the members added and without the members removed (Section
// 12.1.7: checkGCEAfter); a standalone proposal is checked against the
// current members.
func (p *pipeline) checkGCE(i int, e entry) error {
	exts := e.p.GroupContextExtensions.Extensions
	if p.gce >= 0 {
		// ValSem208: at most one GroupContextExtensions proposal.
		return valsem.Errorf(valsem.ValSem208, "second group_context_extensions proposal")
	}
	rc, err := requiredCapabilities(exts)
	if err != nil {
		// ValSem209: a required_capabilities that does not decode.
		return valsem.Wrap(valsem.ValSem209, err, "malformed required_capabilities")
	}
	if p.committer == nil {
		if err := checkGCE(exts, rc, p.g.pub.Census); err != nil {
			return err
		}
	}
	p.rc, p.gce, p.exts = rc, i, exts
	return nil
}

// checkUpdate validates an Update (ValSem004, ValSem109, ValSem110 and the
// leaf node rules).
func (p *pipeline) checkUpdate(_ int, e entry) error {
	t := p.g.pub.Tree
	ln := &e.p.Update.LeafNode
	snd := e.sender.LeafIndex
	old, ok := t.SharedLeaf(core.K(), snd)
	switch {
	case !ok:
		// ValSem004, as framing checks it for a received proposal; a
		// store restored from a snapshot was not framed.
		return valsem.Errorf(valsem.ValSem004, "update from blank leaf %d", snd)
	case p.removed[snd]:
		return fmt.Errorf("%w: update and remove of leaf %d", ErrInvalidProposals, snd)
	case p.updated[snd]:
		return fmt.Errorf("%w: two updates of leaf %d", ErrInvalidProposals, snd)
	}
	if err := validateLeaf(p.g.cs, ln, leafCheck{source: codec.LeafNodeSourceUpdate, gid: p.g.gid(), leaf: snd, at: p.at,
		capsCode: valsem.ValSem109, required: p.rc, census: p.g.pub.Census}, p.env); err != nil {
		return err
	}
	// ValSem110: an Update's encryption key is new to the tree and to the
	// list.
	if _, dup := t.NodeByEncryptionKey(ln.EncryptionKey); dup || p.encKeys[string(ln.EncryptionKey)] || equalBytes(ln.EncryptionKey, old.EncryptionKey) {
		return valsem.Errorf(valsem.ValSem110, "update of leaf %d reuses an encryption key", snd)
	}
	if l, dup := t.LeafBySignatureKey(ln.SignatureKey); (dup && l != snd && !p.removed[l]) || p.sigKeys[string(ln.SignatureKey)] {
		return fmt.Errorf("%w: update of leaf %d uses the signature key of leaf %d", ErrInvalidLeafNode, snd, l)
	}
	p.updated[snd] = true
	p.encKeys[string(ln.EncryptionKey)] = true
	p.sigKeys[string(ln.SignatureKey)] = true
	return nil
}

// checkAdd validates an Add (ValSem101–ValSem103 and the key package
// rules). The key packages' signatures are verified for the whole list at
// once, in parallel, the first time an Add is checked.
func (p *pipeline) checkAdd(i int, e entry) error {
	if p.sigs == nil {
		p.sigs = verifyAdds(p.g.cs, p.entries, p.drop)
	}
	t := p.g.pub.Tree
	kp := &e.p.Add.KeyPackage
	if err := validateKeyPackage(p.g.cs, kp, leafCheck{at: p.at, required: p.rc, census: p.g.pub.Census, sigs: p.sigs[i]}, p.env); err != nil {
		return err
	}
	ln := &kp.LeafNode
	if p.initKeys[string(kp.InitKey)] {
		// ValSem102: init keys are unique among the proposals.
		return valsem.Errorf(valsem.ValSem102, "init key used by two adds")
	}
	if l, dup := t.LeafBySignatureKey(ln.SignatureKey); (dup && !p.removed[l]) || p.sigKeys[string(ln.SignatureKey)] {
		// ValSem101: signature keys are unique among proposals and members
		// (a member removed by the same commit excepted).
		return valsem.Errorf(valsem.ValSem101, "added signature key already in use")
	}
	if x, dup := t.NodeByEncryptionKey(ln.EncryptionKey); (dup && !(x.IsLeaf() && p.removed[x.Leaf()])) || p.encKeys[string(ln.EncryptionKey)] {
		// ValSem103: encryption keys are unique among proposals and members.
		return valsem.Errorf(valsem.ValSem103, "added encryption key already in use")
	}
	p.initKeys[string(kp.InitKey)] = true
	p.sigKeys[string(ln.SignatureKey)] = true
	p.encKeys[string(ln.EncryptionKey)] = true
	return nil
}

// checkPSK validates a PreSharedKey proposal (ValSem401–ValSem403).
func (p *pipeline) checkPSK(_ int, e entry) error {
	return checkPSKID(p.g.cs.HashLen(), e.p.PreSharedKey.PSK, &p.pskIDs)
}

// accepted returns the entries not dropped, in list order.
func (p *pipeline) accepted() []entry {
	var out []entry
	for i, e := range p.entries {
		if !p.drop[i] {
			out = append(out, e)
		}
	}
	return out
}

// censusAfter returns the members' census after the accepted entries:
// updated leaves replaced, removed ones gone, added ones counted, in the
// order apply changes the tree.
func (p *pipeline) censusAfter() state.Census {
	t, cen := p.g.pub.Tree, p.g.pub.Census
	es := p.accepted()
	for _, e := range es {
		if e.p.ProposalType == codec.ProposalUpdate {
			old, _ := t.SharedLeaf(core.K(), e.sender.LeafIndex)
			cen = censusAdd(censusAdd(cen, old, -1), &e.p.Update.LeafNode, 1)
		}
	}
	for _, e := range es {
		if r, ok := removal(e); ok {
			old, _ := t.SharedLeaf(core.K(), r)
			cen = censusAdd(cen, old, -1)
		}
	}
	for _, e := range es {
		if e.p.ProposalType == codec.ProposalAdd {
			cen = censusAdd(cen, &e.p.Add.KeyPackage.LeafNode, 1)
		}
	}
	return cen
}

// checkGCEAfter checks the accepted GroupContextExtensions proposal of a
// commit, if any, against the members after the commit (ValSem209; RFC
// 9420, Section 12.1.7).
func (p *pipeline) checkGCEAfter() error {
	if p.gce < 0 {
		return nil
	}
	return checkGCE(p.exts, p.rc, p.censusAfter())
}

// apply applies the accepted entries of a validated commit to the tree in
// the order of RFC 9420, Section 12.3 — updates, removes, adds — and
// collects what the commit does.
func (p *pipeline) apply() (covered, error) {
	g := p.g
	out := covered{exts: p.exts, entries: p.accepted(), census: p.censusAfter()}
	t := g.pub.Tree
	var err error
	for _, e := range out.entries {
		if e.p.ProposalType != codec.ProposalUpdate {
			continue
		}
		snd := e.sender.LeafIndex
		if t, err = t.Update(snd, &e.p.Update.LeafNode); err != nil {
			return covered{}, err
		}
		out.updated = append(out.updated, snd)
		if snd == g.self() {
			if out.ownUpdate = g.ownUpdateKey(e.ref); out.ownUpdate == nil {
				return covered{}, fmt.Errorf("%w: no private key for this member's update %x", ErrMissingKey, prefix(e.ref))
			}
		}
	}
	for _, e := range out.entries {
		r, ok := removal(e)
		if !ok {
			continue
		}
		if e.p.ProposalType == codec.ProposalSelfRemove {
			out.leavers = append(out.leavers, r)
		}
		if t, err = t.Remove(r); err != nil {
			return covered{}, err
		}
		out.removed = append(out.removed, r)
		out.selfRemoved = out.selfRemoved || r == g.self()
	}
	for _, e := range out.entries {
		if e.p.ProposalType != codec.ProposalAdd {
			continue
		}
		var l treemath.LeafIndex
		if t, l, err = t.Add(&e.p.Add.KeyPackage.LeafNode); err != nil {
			return covered{}, err
		}
		out.added = append(out.added, l)
		out.addedKPs = append(out.addedKPs, e.p.Add.KeyPackage)
	}
	if err := checkLimit("MaxLeaves", uint64(t.LeafCount()), uint64(p.env.Limits.MaxLeaves)); err != nil {
		return covered{}, err
	}
	out.tree = t
	out.psks, out.pathRequired = pathAndPSKs(out.entries)
	return out, nil
}

// ownUpdateKey returns the leaf private key of this member's Update
// proposal ref, or nil.
func (g *group) ownUpdateKey(ref []byte) []byte {
	for _, u := range g.priv.OwnUpdates {
		if equalBytes(u.Ref, ref) {
			return u.EncryptionPriv
		}
	}
	return nil
}

// pathAndPSKs returns the PreSharedKeyIDs of a commit's proposals and
// whether the commit needs an UpdatePath (RFC 9420, Section 12.4): it does
// when it covers nothing or any proposal other than Add, PreSharedKey and
// ReInit.
func pathAndPSKs(entries []entry) ([]codec.PreSharedKeyID, bool) {
	var psks []codec.PreSharedKeyID
	path := len(entries) == 0
	for _, e := range entries {
		switch e.p.ProposalType {
		case codec.ProposalPreSharedKey:
			psks = append(psks, e.p.PreSharedKey.PSK)
		case codec.ProposalAdd, codec.ProposalReInit:
		default:
			// Update, Remove, ExternalInit, GroupContextExtensions and the
			// types RFC 9420 does not define need a path.
			path = true
		}
	}
	return psks, path
}

// unsupportedBy returns how many members of t, other than those in
// removed, do not list proposal type pt in their capabilities.
func unsupportedBy(t tree.Tree, cen state.Census, removed map[treemath.LeafIndex]bool, pt codec.ProposalType) uint32 {
	n := cen.Members - countOf(cen.ProposalSupport, uint16(pt))
	for r := range removed {
		if ln, ok := t.SharedLeaf(core.K(), r); ok && !containsT(ln.Capabilities.Proposals, pt) {
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

// checkGCE checks group context extensions exts, with their decoded
// required_capabilities rc (nil: none), against the members' capabilities
// (ValSem209; RFC 9420, Sections 11.1 and 12.1.7).
func checkGCE(exts codec.Extensions, rc *codec.RequiredCapabilities, cen state.Census) error {
	for _, x := range exts {
		// ValSem209: every member supports each non-default extension.
		if !isDefaultExtension(x.ExtensionType) && countOf(cen.ExtensionSupport, uint16(x.ExtensionType)) < cen.Members {
			return valsem.Errorf(valsem.ValSem209, "extension type %d not supported by all members", x.ExtensionType)
		}
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
