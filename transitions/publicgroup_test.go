package transitions

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/internal/testrun"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// follower is a PublicGroup attached to a world: it processes every group
// message the world delivers, as a delivery service would, and fails the
// test on any message the members accept but it rejects.
type follower struct {
	t        testing.TB
	pg       PublicGroup
	commits  int
	props    int
	senders  map[codec.SenderType]int
	lastSeen PublicProcessed
}

func follow(t testing.TB, w *world, from *member, withTree bool) *follower {
	t.Helper()
	gi := w.groupInfo(from, withTree)
	var rt []byte
	if !withTree {
		var err error
		if rt, err = from.s.Tree().Encode(); err != nil {
			t.Fatal(err)
		}
	}
	pg, err := NewPublicGroup(gi, rt, w.cfg, testAt, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := pg.GroupInfo(); !ok || !bytes.Equal(got, gi) {
		t.Fatal("the public group does not hold the GroupInfo it was created from")
	}
	f := &follower{t: t, pg: pg, senders: map[codec.SenderType]int{}}
	w.observe = func(_ *member, msg []byte) {
		next, out, err := f.pg.Process(msg, testAt, Env{})
		if errors.Is(err, ErrNeedsSecrets) {
			return
		}
		if err != nil {
			t.Fatalf("public group rejects a message the members accept: %v", err)
		}
		f.pg, f.lastSeen = next, out
		f.senders[out.Sender.SenderType]++
		if out.Commit != nil {
			f.commits++
		} else {
			f.props++
		}
	}
	return f
}

// agree checks that the public group's digest is every active member's
// public digest, and that it tracks the same members.
func (f *follower) agree(w *world, what string) {
	f.t.Helper()
	want := f.pg.Digest()
	n := 0
	for _, m := range w.members {
		if !m.s.Active() {
			continue
		}
		n++
		if got := m.s.PublicDigest(); got != want {
			f.t.Fatalf("%s: %s's public digest differs from the public group's (epochs %d / %d)", what, m.name, m.s.Epoch(), f.pg.Epoch())
		}
		ln, ok := f.pg.Tree().Leaf(m.s.OwnLeaf())
		if !ok || !bytes.Equal(ln.SignatureKey, m.sig) {
			f.t.Fatalf("%s: the public group does not have %s at leaf %d", what, m.name, m.s.OwnLeaf())
		}
	}
	members := 0
	for range f.pg.Members() {
		members++
	}
	if members != n {
		f.t.Fatalf("%s: the public group has %d members, the group %d", what, members, n)
	}
}

// synthWorld returns a world of the n members of a synthetic group (the
// shape one bulk add leaves: any n, every parent blank), with
// PublicMessage handshakes.
func synthWorld(t *testing.T, n int) *world {
	cfg := state.DefaultConfig()
	cfg.WireFormat = state.MixedPlaintext
	w := newWorld(t, 1, cfg)
	w.light = true
	sy := newBulkSynth(t, 1, n)
	for i := range n {
		s, ks := sy.member(t, treemath.LeafIndex(i), cfg)
		ln, _ := s.Tree().Leaf(treemath.LeafIndex(i))
		w.members = append(w.members, &member{name: fmt.Sprintf("m%d", i), s: s, keys: ks, sig: ln.SignatureKey})
	}
	return w
}

// TestPublicGroupFollowsHistory: a PublicGroup created from the first
// GroupInfo of a 50-member group follows a history of commits — adds,
// removes, updates by path and by proposal, proposals by reference from
// members, an external sender and a new member, a GroupContextExtensions
// change and an external join — and after each its public digest is every
// member's. MLS_LONG=1 repeats the cycle of operations.
func TestPublicGroupFollowsHistory(t *testing.T) {
	w := synthWorld(t, 50)
	f := follow(t, w, w.members[3], true)
	f.agree(w, "start")
	m := func(i int) *member { return w.members[i] }
	rounds := 1
	if testrun.Long() {
		rounds = 4
	}
	var ds *member
	for r := range rounds {
		tag := fmt.Sprintf("round %d: ", r)
		w.add(m(1), fmt.Sprintf("new%d-a", r), fmt.Sprintf("new%d-b", r))
		f.agree(w, tag+"add")
		w.commit(m(2), Commit{Inline: []codec.Proposal{removeOf(m(14 + 2*r).s.OwnLeaf()), removeOf(m(22 + 2*r).s.OwnLeaf())}})
		f.agree(w, tag+"remove")
		w.commit(m(4), Commit{ForcePath: true})
		f.agree(w, tag+"update by path")
		w.proposeBy(m(5), codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{}})
		w.proposeBy(m(6), removeOf(m(30+r).s.OwnLeaf()))
		if f.lastSeen.Proposal == nil || f.lastSeen.Proposal.Proposal.ProposalType != codec.ProposalRemove {
			t.Fatalf("%sthe public group did not report the stored remove: %+v", tag, f.lastSeen)
		}
		f.agree(w, tag+"proposals by reference")
		w.commit(m(7), Commit{})
		if c := f.lastSeen.Commit; c == nil || len(c.Updated) != 1 || len(c.Removed) != 1 || len(c.Proposals) != 2 {
			t.Fatalf("%scommit by reference reported as %+v", tag, f.lastSeen.Commit)
		}
		f.agree(w, tag+"commit by reference")
		if ds == nil {
			ds = w.addExternalSigner(m(0), "ds")
			f.agree(w, tag+"external_senders")
		}
		w.externalProposal(ds, m(8), removeOf(m(40+r).s.OwnLeaf()))
		w.commit(m(9), Commit{})
		f.agree(w, tag+"external sender's remove")
		d := w.newMember(fmt.Sprintf("joiner%d", r))
		effs := w.must(d, NewKeyPackage{At: testAt, Suite: w.cs, SignatureKey: d.sig, Credential: w.credential(d), Lifetime: testLifetime})
		kc, _ := effects.Find[effects.KeyPackageCreated](effs)
		w.deliver(d, sent(t, w.must(d, ProposeAsNewMember{At: testAt, GroupInfo: w.groupInfo(m(0), false), KeyPackageRef: kc.Ref})))
		w.commit(m(0), Commit{}, d)
		f.agree(w, tag+"new member's add")
		w.externalJoin(w.newMember(fmt.Sprintf("external%d", r)), w.groupInfo(m(11), true), ExternalJoin{})
		if c := f.lastSeen.Commit; c == nil || c.Committer != c.Added[len(c.Added)-1] {
			t.Fatalf("%sexternal commit reported as %+v", tag, f.lastSeen.Commit)
		}
		f.agree(w, tag+"external join")
	}
	for _, st := range []codec.SenderType{codec.SenderTypeMember, codec.SenderTypeExternal, codec.SenderTypeNewMemberProposal, codec.SenderTypeNewMemberCommit} {
		if f.senders[st] == 0 {
			t.Errorf("no message from a %s sender followed", st)
		}
	}
	// The GroupInfo a member publishes for the current epoch is accepted;
	// one of an earlier epoch is not.
	if _, ok := f.pg.GroupInfo(); ok {
		t.Fatal("a commit kept the previous epoch's GroupInfo")
	}
	old := w.groupInfo(m(12), false)
	w.commit(m(12), Commit{ForcePath: true})
	f.agree(w, "last update")
	if _, err := f.pg.WithGroupInfo(old, Env{}); !errors.Is(err, ErrInvalidGroupInfo) {
		t.Fatalf("GroupInfo of the previous epoch: %v, want ErrInvalidGroupInfo", err)
	}
	gi := w.groupInfo(m(13), true)
	pg, err := f.pg.WithGroupInfo(gi, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := pg.GroupInfo(); !ok || !bytes.Equal(got, gi) {
		t.Fatal("WithGroupInfo did not keep the GroupInfo")
	}
	// Stored and loaded, it is the same public group.
	enc, err := pg.Encode()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := DecodePublicGroup(enc, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := loaded.GroupInfo(); loaded.Digest() != pg.Digest() || !bytes.Equal(got, gi) {
		t.Fatal("the decoded public group differs")
	}
	for _, bad := range [][]byte{enc[:len(enc)-1], append(bytes.Clone(enc), 0), {}} {
		if _, err := DecodePublicGroup(bad, Env{}); err == nil {
			t.Fatalf("a damaged encoding of %d bytes decoded", len(bad))
		}
	}
	// The GroupInfo the public group hands out lets a new client join.
	f.pg = loaded
	w.externalJoin(w.newMember("late"), gi, ExternalJoin{})
	f.agree(w, "join from the public group's GroupInfo")
	t.Logf("followed %d commits and %d proposals; %d members", f.commits, f.props, w.active())
}

// TestPublicGroupRejectsLikeMembers forges commits and checks that a
// member and a PublicGroup at the same epoch reject each with the same
// typed error — except the checks that need the epoch's secrets
// (membership and confirmation tags), which only the member can make.
func TestPublicGroupRejectsLikeMembers(t *testing.T) {
	type forgery func(t *testing.T, w *world, a *member) []byte
	commitBy := func(mut func(*codec.PublicMessage)) forgery {
		return func(t *testing.T, w *world, a *member) []byte {
			return reframe(t, a, commitMsg(t, w, a, Commit{ForcePath: true}), mut)
		}
	}
	keyPackage := func(w *world, name string) codec.KeyPackage { return w.keyPackage(w.newMember(name)) }
	tests := []struct {
		name    string
		forge   forgery
		want    error // the member's error
		public  bool  // the PublicGroup gives the same error (else it accepts)
		byOther bool  // the forgery is sent by the third member (carol)
	}{
		{"bad signature", func(t *testing.T, w *world, a *member) []byte {
			return retagOnly(t, a, commitMsg(t, w, a, Commit{ForcePath: true}), func(pm *codec.PublicMessage) { pm.Auth.Signature[3] ^= 1 })
		}, valsem.ValSem010, true, false},
		{"bad parent hash", commitBy(func(pm *codec.PublicMessage) { pm.Content.Commit.Path.Nodes[0].EncryptionKey[5] ^= 1 }), tree.ErrParentHash, true, false},
		{"remove of a blank leaf", commitBy(setProposals(removeOf(7))), valsem.ValSem108, true, false},
		{"remove twice", commitBy(setProposals(removeOf(1), removeOf(1))), valsem.ValSem107, true, false},
		{"committer removes itself", commitBy(setProposals(removeOf(0))), valsem.ValSem200, true, false},
		{"duplicate add", func(t *testing.T, w *world, a *member) []byte {
			kp := keyPackage(w, "eve")
			return reframe(t, a, commitMsg(t, w, a, Commit{ForcePath: true}), setProposals(addOf(kp), addOf(kp)))
		}, valsem.ValSem102, true, false},
		{"path missing", commitBy(func(pm *codec.PublicMessage) {
			setProposals(removeOf(1))(pm)
			pm.Content.Commit.Path = nil
		}), valsem.ValSem201, true, false},
		{"wrong epoch", commitBy(func(pm *codec.PublicMessage) { pm.Content.Epoch++ }), valsem.ValSem003, true, false},
		{"wrong group", commitBy(func(pm *codec.PublicMessage) { pm.Content.GroupID = []byte("another group") }), valsem.ValSem002, true, false},
		{"blank sender", commitBy(func(pm *codec.PublicMessage) { pm.Content.Sender.LeafIndex = 9 }), valsem.ValSem004, true, false},
		{"external commit without external_init", func(t *testing.T, w *world, a *member) []byte {
			d, msg := externalCommit(t, w, a)
			return resign(t, signerOf(t, d), a.s.GroupContext(), msg, func(pm *codec.PublicMessage) { pm.Content.Commit.Proposals = nil })
		}, valsem.ValSem240, true, false},
		{"external commit signed by another key", func(t *testing.T, w *world, a *member) []byte {
			_, msg := externalCommit(t, w, a)
			return resign(t, signerOf(t, a), a.s.GroupContext(), msg, func(*codec.PublicMessage) {})
		}, valsem.ValSem246, true, false},
		{"bad membership tag", func(t *testing.T, w *world, a *member) []byte {
			return retag(t, commitMsg(t, w, a, Commit{ForcePath: true}), func(pm *codec.PublicMessage) { pm.MembershipTag[0] ^= 1 })
		}, valsem.ValSem008, false, false},
		{"bad confirmation tag", commitBy(func(pm *codec.PublicMessage) { pm.Auth.ConfirmationTag[0] ^= 1 }), valsem.ValSem205, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, a, b, c := trio(t, codec.Capabilities{}, nil)
			pg, err := NewPublicGroup(w.groupInfo(c, true), nil, w.cfg, testAt, Env{})
			if err != nil {
				t.Fatal(err)
			}
			bad := tt.forge(t, w, a)
			before := pg.Digest()
			_, _, errMember := Apply(b.s, Receive{At: testAt, Message: bad}, w.env(b))
			next, _, errPublic := pg.Process(bad, testAt, Env{})
			if !errors.Is(errMember, tt.want) {
				t.Fatalf("member: %v, want %v", errMember, tt.want)
			}
			switch {
			case tt.public && !errors.Is(errPublic, tt.want):
				t.Fatalf("public group: %v, member: %v", errPublic, errMember)
			case tt.public && (next.Digest() != before || pg.Digest() != before):
				t.Fatal("a rejected message changed the public group")
			case !tt.public && errPublic != nil:
				t.Fatalf("public group rejects what needs secrets to reject: %v", errPublic)
			}
		})
	}
}

// TestPublicGroupCreation: NewPublicGroup verifies the GroupInfo's
// signature, the tree against the GroupContext, and needs a tree.
func TestPublicGroupCreation(t *testing.T) {
	w, a, _, _ := trio(t, codec.Capabilities{}, nil)
	gi := w.groupInfo(a, false)
	rt, err := a.s.Tree().Encode()
	if err != nil {
		t.Fatal(err)
	}
	pg, err := NewPublicGroup(gi, rt, w.cfg, testAt, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if pg.Digest() != a.s.PublicDigest() || pg.Epoch() != a.s.Epoch() || !bytes.Equal(pg.GroupID(), a.s.GroupID()) {
		t.Fatal("the public group is not at the member's public state")
	}
	if _, err := NewPublicGroup(gi, nil, w.cfg, testAt, Env{}); !errors.Is(err, ErrInvalidGroupInfo) {
		t.Errorf("no tree: %v, want ErrInvalidGroupInfo", err)
	}
	m, _ := codec.DecodeMLSMessage(gi)
	m.GroupInfo.Signature[0] ^= 1
	badSig, _ := m.Encode()
	if _, err := NewPublicGroup(badSig, rt, w.cfg, testAt, Env{}); !errors.Is(err, ErrInvalidGroupInfo) {
		t.Errorf("bad signature: %v, want ErrInvalidGroupInfo", err)
	}
	m, _ = codec.DecodeMLSMessage(gi)
	m.GroupInfo.GroupContext.TreeHash = bytes.Repeat([]byte{1}, 32)
	badHash := resignGroupInfo(t, signerOf(t, a), m)
	if _, err := NewPublicGroup(badHash, rt, w.cfg, testAt, Env{}); err == nil {
		t.Error("a tree hash that is not the tree's accepted")
	}
	// A PrivateMessage needs the secrets.
	msg := sent(t, w.must(a, Protect{At: testAt, Data: []byte("hi")}))
	if _, _, err := pg.Process(msg, testAt, Env{}); !errors.Is(err, ErrNeedsSecrets) {
		t.Errorf("PrivateMessage: %v, want ErrNeedsSecrets", err)
	}
	// Values handed out are copies.
	pub := pg.Public()
	pub.Interim[0] ^= 1
	pub.Context.GroupID[0] ^= 1
	pg.GroupID()[0] ^= 1
	if b, _ := pg.GroupInfo(); len(b) > 0 {
		b[0] ^= 1
	}
	if pg.Digest() != a.s.PublicDigest() {
		t.Fatal("writing through returned values changed the public group")
	}
	if b, _ := pg.GroupInfo(); !bytes.Equal(b, gi) {
		t.Fatal("writing through GroupInfo's result changed the public group")
	}
}

func resignGroupInfo(t *testing.T, sg *suite.Signer, m codec.MLSMessage) []byte {
	t.Helper()
	tbs, err := m.GroupInfo.TBS().Encode()
	if err != nil {
		t.Fatal(err)
	}
	if m.GroupInfo.Signature, err = sg.SignWithLabel("GroupInfoTBS", tbs); err != nil {
		t.Fatal(err)
	}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// publicFixture is a trio, a PublicGroup at its epoch, and a valid commit
// and proposal the PublicGroup accepts.
func publicFixture(t testing.TB) (PublicGroup, [][]byte) {
	w, a, b, c := trio(t, codec.Capabilities{}, nil)
	pg, err := NewPublicGroup(w.groupInfo(c, true), nil, w.cfg, testAt, Env{})
	if err != nil {
		t.Fatal(err)
	}
	prop := sent(t, w.must(b, Propose{At: testAt, Proposal: removeOf(2)}))
	commit := commitMsg(t, w, a, Commit{ForcePath: true})
	return pg, [][]byte{commit, prop}
}

// checkProcess runs msg through pg: it must not panic, and on error it
// must leave pg unchanged.
func checkProcess(t testing.TB, pg PublicGroup, msg []byte) {
	before := pg.Digest()
	next, _, err := pg.Process(msg, testAt, Env{})
	if err != nil && (next.Digest() != before || pg.Digest() != before) {
		t.Fatalf("a rejected message changed the public group: %v", err)
	}
}

// TestPublicGroupDamagedMessages flips bytes all over a valid commit and
// proposal: the PublicGroup never panics and a rejection changes nothing.
func TestPublicGroupDamagedMessages(t *testing.T) {
	pg, msgs := publicFixture(t)
	step := 7
	if testrun.Long() {
		step = 1
	}
	for _, msg := range msgs {
		for i := 0; i < len(msg); i += step {
			bad := bytes.Clone(msg)
			bad[i] ^= 0x5a
			checkProcess(t, pg, bad)
			checkProcess(t, pg, msg[:i])
		}
	}
}

// TestPublicGroupDamagedEncodings flips bytes of a stored PublicGroup:
// decoding never panics, and what decodes is consistent.
func TestPublicGroupDamagedEncodings(t *testing.T) {
	pg, _ := publicFixture(t)
	enc, err := pg.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(enc); i += 5 {
		bad := bytes.Clone(enc)
		bad[i] ^= 0x5a
		if got, err := DecodePublicGroup(bad, Env{}); err == nil && !bytes.Equal(got.Tree().Hash(), got.Public().Context.TreeHash) {
			t.Fatalf("byte %d: an inconsistent public group decoded", i)
		}
	}
}

// FuzzPublicGroupProcess feeds arbitrary bytes to a PublicGroup: Process
// never panics, a rejection leaves the group unchanged, and one Process
// call allocates at most publicProcessBudget: codec.MaxMemoryPerByte (20)
// bytes per input byte plus 64 KiB, the decoding budget of Receive, plus
// 16 bytes per byte of the public group's encoding, the fixed cost of
// cloning and rehashing the group it processes (the fixture's valid commit
// of 587 bytes allocates about 11 KiB against a 1.5 KiB group).
func FuzzPublicGroupProcess(f *testing.F) {
	pg, msgs := publicFixture(f)
	for _, m := range msgs {
		f.Add(m)
	}
	enc, err := pg.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		before := pg.Digest()
		var next PublicGroup
		var err error
		if n := testrun.Allocated(func() { next, _, err = pg.Process(msg, testAt, Env{}) }); n > publicProcessBudget(len(msg), len(enc)) {
			t.Fatalf("processing %d bytes allocated %d, budget %d", len(msg), n, publicProcessBudget(len(msg), len(enc)))
		}
		if err != nil && (next.Digest() != before || pg.Digest() != before) {
			t.Fatalf("a rejected message changed the public group: %v", err)
		}
	})
}

// publicProcessBudget is FuzzPublicGroupProcess's allocation budget for
// processing an n-byte message with a public group whose encoding is
// group bytes long.
func publicProcessBudget(n, group int) uint64 {
	return codec.MaxMemoryPerByte*uint64(n) + 64<<10 + 16*uint64(group)
}
