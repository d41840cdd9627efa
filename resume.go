package mls

import (
	"errors"
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
)

// Errors of reinitialization, branching and resumption PSKs.
var (
	// ErrSuiteMismatch reports a client whose cipher suite is not the
	// one the operation needs: the ReInit's suite for Reinitialize and
	// JoinResumed, the group's for ProposeJoin.
	ErrSuiteMismatch = errors.New("mls: the client's cipher suite does not match")
	// ErrNoReInit reports Reinitialize on a group whose current epoch was
	// not started by a commit covering a ReInit proposal.
	ErrNoReInit = errors.New("mls: no reinit was committed in this group")
	// ErrNoResumption reports a group that holds no resumption PSK for
	// the epoch asked (not a member, or the epoch is not retained).
	ErrNoResumption = errors.New("mls: no resumption psk for this epoch")
)

// envWith returns the client's Policy and Limits for an event, and when
// r is not nil a key store with r's resumption PSK and context: the
// environment the driver (replay.Apply) layers under the client's key
// store, and whose entropy it draws from the event's seed.
func (c *Client) envWith(r *transitions.Resumption) (transitions.Env, error) {
	env := transitions.Env{Policy: c.opts.Policy, Limits: c.opts.Limits}
	if r == nil {
		return env, nil
	}
	k, err := c.keyStore().WithResumption(*r)
	if err != nil {
		return env, fmt.Errorf("mls: resumption psk: %w", err)
	}
	env.Keys = k
	return env, nil
}

// ReInitOptions describes the group a ReInit proposal asks for (RFC 9420,
// Section 12.1.5). The zero value keeps the version and cipher suite,
// draws a new 16-byte group id and drops the group context extensions.
type ReInitOptions struct {
	// GroupID is the new group's id; nil draws 16 random bytes. Reusing
	// the old id needs the old group deleted first from the storage of
	// each member who continues in the same Storage (ErrGroupExists).
	GroupID []byte
	// Version is the new group's protocol version; 0 keeps the group's.
	Version codec.ProtocolVersion
	// Suite is the new group's cipher suite; 0 keeps the group's. A
	// member continues in another suite with a Client of that suite (see
	// Reinitialize).
	Suite suite.ID
	// Extensions are the new group's context extensions.
	Extensions codec.Extensions
}

// reInitProposal returns the ReInit proposal o describes for g. The
// caller holds g.mu.
func (g *Group) reInitProposal(o *ReInitOptions) codec.Proposal {
	var r ReInitOptions
	if o != nil {
		r = *o
	}
	ctx := g.st.GroupContext()
	ri := codec.ReInit{GroupID: r.GroupID, Version: r.Version, CipherSuite: codec.CipherSuite(r.Suite), Extensions: r.Extensions}
	if ri.GroupID == nil {
		seed := g.c.seed()
		ri.GroupID = append([]byte(nil), seed[:16]...)
	}
	if ri.Version == 0 {
		ri.Version = ctx.Version
	}
	if ri.CipherSuite == 0 {
		ri.CipherSuite = ctx.CipherSuite
	}
	return codec.Proposal{ProposalType: codec.ProposalReInit, ReInit: &ri}
}

// checkReInit refuses ReInitOptions whose group the members could not
// store (Reinitialize and JoinResumed would fail after the commit).
func checkReInit(o *ReInitOptions) error {
	if o == nil {
		return nil
	}
	return checkGroupID("ReInitOptions.GroupID", o.GroupID)
}

// ProposeReInit proposes reinitializing the group (RFC 9420, Section
// 11.2): a ReInit proposal, which a commit must cover alone. opts may be
// nil. See ReInit for what follows the commit.
func (g *Group) ProposeReInit(opts *ReInitOptions) (message, ref []byte, err error) {
	if err := checkReInit(opts); err != nil {
		return nil, nil, err
	}
	g.mu.Lock()
	p := g.reInitProposal(opts)
	g.mu.Unlock()
	return g.Propose(p)
}

// ReInit commits a ReInit proposal (RFC 9420, Section 11.2); opts may be
// nil. Like every commit it is pending until MergePendingCommit. After
// the commit is merged (or, for the other members, after
// MergeStagedCommit), the group is closed: it accepts no more proposals,
// commits or application messages, Active reports false and
// PendingReInit the parameters. Each member then continues in the new
// group: one founds it with Reinitialize and the key packages the others
// published (from a Client of the new suite), the others join it from the
// Welcome with JoinResumed. The stored proposals must be dropped first:
// a ReInit is committed alone.
func (g *Group) ReInit(opts *ReInitOptions) (Outgoing, error) {
	if err := checkReInit(opts); err != nil {
		return Outgoing{}, err
	}
	g.mu.Lock()
	p := g.reInitProposal(opts)
	g.mu.Unlock()
	return g.commit([]codec.Proposal{p}, false)
}

// PendingReInit returns the ReInit proposal that the commit starting the
// current epoch covered: the group is closed and awaits its successor
// (Reinitialize, JoinResumed). ok is false otherwise.
func (g *Group) PendingReInit() (r codec.ReInit, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return pendingReInit(g.st)
}

func pendingReInit(s state.GroupState) (codec.ReInit, bool) {
	if r := s.Public().ReInit; r != nil {
		return *r, true
	}
	return codec.ReInit{}, false
}

// resumption returns the resumption PSK and context of g's current
// epoch. The caller holds g.mu.
func (g *Group) resumption() (*transitions.Resumption, error) {
	if g.closed {
		return nil, ErrClosed
	}
	r, ok := transitions.ResumptionOf(g.st, g.st.Epoch())
	if !ok {
		return nil, fmt.Errorf("%w: group %x epoch %d", ErrNoResumption, g.id, g.st.Epoch())
	}
	return &r, nil
}

// decodeKeyPackages decodes published key packages within lim.
func decodeKeyPackages(kps [][]byte, lim transitions.Limits) ([]codec.KeyPackage, error) {
	out := make([]codec.KeyPackage, 0, len(kps))
	for _, b := range kps {
		k, err := decodeKeyPackage(b, lim)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// newGroupFor describes client c as the creator of a resumed group whose
// first commit adds kps, with the configuration cfg.
func (c *Client) newGroupFor(cfg state.Config, kps [][]byte) (transitions.NewGroup, error) {
	k, err := decodeKeyPackages(kps, c.opts.Limits)
	if err != nil {
		return transitions.NewGroup{}, err
	}
	return transitions.NewGroup{
		SignatureKey: c.pub, Credential: c.cred, Capabilities: withSelfRemove(c.opts.Capabilities),
		Lifetime: c.lifetime(), Config: cfg, KeyPackages: k,
	}, nil
}

// Reinitialize founds the group that replaces this reinitialized one
// (RFC 9420, Section 11.2): a group with the ReInit's id, version, cipher
// suite and extensions, created by next (nil means this group's client),
// whose first commit adds the members of the given key packages (in the
// new suite) and injects the resumption PSK of this group's last epoch.
// It returns the new group, at epoch 1, and Outgoing.Welcome for the
// other members, who join with JoinResumed; there is no commit to
// confirm. The new group keeps this group's configuration. It fails with
// ErrNoReInit unless PendingReInit reports a ReInit, and with
// ErrSuiteMismatch unless next's suite is the ReInit's. The new group has
// the old group's membership (RFC 9420, Section 12.4.2): next and the key
// packages must match the old members one for one, by credential
// (Options.Policy.MatchBranchMember; byte-equal by default), else it fails
// with an error matching transitions.ErrInvalidResumption — each joiner
// checks the same on receipt.
//
// mlscore keeps one cipher suite per Client: to continue in another
// suite, create a Client of that suite (with its own Storage) and pass it
// as next. The resumption PSK goes to next's event only; it is not stored
// in next's Storage.
func (g *Group) Reinitialize(next *Client, keyPackages ...[]byte) (*Group, Outgoing, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if next == nil {
		next = g.c
	}
	ri, ok := pendingReInit(g.st)
	if !ok {
		return nil, Outgoing{}, fmt.Errorf("%w: group %x epoch %d", ErrNoReInit, g.id, g.st.Epoch())
	}
	if suite.ID(ri.CipherSuite) != next.cs {
		return nil, Outgoing{}, fmt.Errorf("%w: the reinit's suite is %d, the client's %d", ErrSuiteMismatch, ri.CipherSuite, next.cs)
	}
	r, err := g.resumption()
	if err != nil {
		return nil, Outgoing{}, err
	}
	ng, err := next.newGroupFor(g.st.Config(), keyPackages)
	if err != nil {
		return nil, Outgoing{}, err
	}
	ev, err := transitions.ReInitGroupFor(g.st, next.now(), ng)
	if err != nil {
		return nil, Outgoing{}, err
	}
	ng2, effs, err := next.startGroupWith(state.GroupState{}, ev, r)
	if err != nil {
		return nil, Outgoing{}, err
	}
	return ng2, outgoingOf(effects.Group(effs)), nil
}

// StageResumedWelcome validates, for client next (nil means this group's
// client), a Welcome to a group resumed from this group's current epoch:
// the successor of a reinitialization (Reinitialize) or a subgroup
// (Branch). The Welcome must inject this epoch's resumption PSK, and the
// new group must be what the RFC requires of it (Sections 11.2 and 11.3:
// for a reinit, the ReInit's id, version, suite and extensions; for a
// subgroup, this group's version and suite and members who were members
// here, Options.Policy.MatchBranchMember); otherwise it fails with an
// error matching transitions.ErrInvalidResumption; a Welcome resumed from
// another group or another epoch of this one fails with an error matching
// transitions.ErrMissingKey (the PSK it names is not held). ratchetTree is the
// encoded tree when the Welcome carries none. The new group keeps this
// group's configuration. Accept joins it.
func (g *Group) StageResumedWelcome(next *Client, welcome, ratchetTree []byte) (*StagedWelcome, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if next == nil {
		next = g.c
	}
	if ri, ok := pendingReInit(g.st); ok && suite.ID(ri.CipherSuite) != next.cs {
		return nil, fmt.Errorf("%w: the reinit's suite is %d, the client's %d", ErrSuiteMismatch, ri.CipherSuite, next.cs)
	}
	r, err := g.resumption()
	if err != nil {
		return nil, err
	}
	cfg := g.st.Config()
	return next.stageWelcome(welcome, ratchetTree, &cfg, r)
}

// JoinResumed joins a group resumed from this group in one step:
// StageResumedWelcome, then Accept.
func (g *Group) JoinResumed(next *Client, welcome, ratchetTree []byte) (*Group, error) {
	sw, err := g.StageResumedWelcome(next, welcome, ratchetTree)
	if err != nil {
		return nil, err
	}
	return sw.Accept()
}

// BranchOptions configures Branch. The zero value draws a 16-byte group
// id and gives the subgroup no group context extensions.
type BranchOptions struct {
	// GroupID is the subgroup's id; nil draws 16 random bytes.
	GroupID []byte
	// Extensions are the subgroup's group context extensions.
	Extensions codec.Extensions
}

// Branch creates a subgroup of this group (RFC 9420, Section 11.3) with
// this client and the members whose key packages are given: a new group
// in the same cipher suite whose first commit adds them and injects the
// resumption PSK (usage branch) of this group's current epoch, so that
// the subgroup's key schedule is bound to this group's. Each key
// package's credential must be a current member's
// (Options.Policy.MatchBranchMember; byte-equal by default), else it
// fails with an error matching transitions.ErrInvalidResumption. It
// returns the subgroup, at epoch 1 (nothing to confirm), and
// Outgoing.Welcome for the members, who join with JoinResumed on their
// copy of this group. opts may be nil; the subgroup keeps this group's
// configuration, and this group is unchanged.
func (g *Group) Branch(opts *BranchOptions, keyPackages ...[]byte) (*Group, Outgoing, error) {
	var o BranchOptions
	if opts != nil {
		o = *opts
	}
	if err := checkGroupID("BranchOptions.GroupID", o.GroupID); err != nil {
		return nil, Outgoing{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.notPending(); err != nil {
		return nil, Outgoing{}, err
	}
	r, err := g.resumption()
	if err != nil {
		return nil, Outgoing{}, err
	}
	ng, err := g.c.newGroupFor(g.st.Config(), keyPackages)
	if err != nil {
		return nil, Outgoing{}, err
	}
	ev := transitions.BranchGroup{
		At: g.c.now(), OldGroupID: g.st.GroupID(), OldEpoch: g.st.Epoch(), Suite: g.c.cs,
		GroupID: o.GroupID, GroupContextExtensions: o.Extensions, NewGroup: ng,
	}
	sub, effs, err := g.c.startGroupWith(state.GroupState{}, ev, r)
	if err != nil {
		return nil, Outgoing{}, err
	}
	return sub, outgoingOf(effects.Group(effs)), nil
}

// ProposeResumptionPSK proposes injecting the resumption PSK of this
// group's epoch epoch (RFC 9420, Section 8.6, usage application) into the
// next epoch's key schedule: a PreSharedKey proposal of psk_type
// resumption, with a fresh nonce. The current epoch always qualifies;
// an earlier one only while members keep it (state.Config.ResumptionPSKs
// past epochs), else committing or processing it fails with ValSem400; a
// member that joined after that epoch never held it and fails with
// transitions.ErrMissingKey.
func (g *Group) ProposeResumptionPSK(epoch uint64) (message, ref []byte, err error) {
	return g.Propose(codec.Proposal{ProposalType: codec.ProposalPreSharedKey,
		PreSharedKey: &codec.PreSharedKey{PSK: keysched.ResumptionPSKID(codec.ResumptionPSKUsageApplication, g.id, epoch, nil)}})
}
