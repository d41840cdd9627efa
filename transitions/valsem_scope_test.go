package transitions

import (
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/valsem"
)

// The tests of this file pin down who must support what when a commit
// changes the membership: the members that process a commit (RFC 9420,
// Section 12.2) for a non-default proposal type (ValSem113), and the members
// after the commit for a GroupContextExtensions proposal (Sections 12.1.7
// and 12.3), whose required_capabilities also apply to the Adds and Updates
// of the same list.

const propCustom codec.ProposalType = 0xff02

// scopeGroup builds alice (leaf 0) and bob (1), who support propCustom and
// extCustom, and carol (2), who supports neither; handshakes are
// PublicMessages so that tests can rewrite them.
func scopeGroup(t *testing.T) (w *world, a, b, c *member) {
	cfg := state.DefaultConfig()
	cfg.WireFormat = state.MixedPlaintext
	w = newWorld(t, 1, cfg)
	w.caps = codec.Capabilities{Proposals: []codec.ProposalType{propCustom}, Extensions: []codec.ExtensionType{extCustom}}
	a = w.create("alice")
	b = w.add(a, "bob")[0]
	w.caps = codec.Capabilities{}
	c = w.add(a, "carol")[0]
	return w, a, b, c
}

// scopeCase is one proposal list and the outcome that both the committer
// and a receiver must reach for it.
type scopeCase struct {
	name  string
	caps  codec.Capabilities // of the key packages the list adds
	props func(w *world, kp func() codec.KeyPackage) []codec.Proposal
	code  error // nil: the commit is valid
}

func runScopeCases(t *testing.T, tests []scopeCase) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, a, b, _ := scopeGroup(t)
			w.caps = tt.caps
			kp := func() codec.KeyPackage { return w.keyPackage(w.newMember("dan")) }
			list := tt.props(w, kp)
			// The committer validates its own by-value list.
			before := a.s.Digest()
			_, effs, err := Apply(a.s, Commit{At: testAt, Inline: list}, w.env(a))
			if tt.code == nil {
				if err != nil {
					t.Fatalf("committer rejected a valid list: %v", err)
				}
				// bob, who processes the commit, accepts it.
				accepts(t, w, b, sent(t, effs))
				return
			}
			if !errorsIs(err, tt.code) || a.s.Digest() != before {
				t.Fatalf("committer: got %v, want %v and an unchanged state", err, tt.code)
			}
			// A receiver rejects the same list in a re-signed commit.
			msg := commitMsg(t, w, a, Commit{ForcePath: true})
			rejects(t, w, b, reframe(t, a, msg, setProposals(list...)), tt.code)
		})
	}
}

// TestValSem113MembersAfterCommit: a non-default proposal type must be
// supported by the members that will process the commit; "members being
// added or removed by the Commit do not need to support the proposal type"
// (RFC 9420, Section 12.2).
func TestValSem113MembersAfterCommit(t *testing.T) {
	custom := codec.Proposal{ProposalType: propCustom, Data: []byte{1}}
	runScopeCases(t, []scopeCase{
		{name: "carol does not support it", code: valsem.ValSem113,
			props: func(*world, func() codec.KeyPackage) []codec.Proposal { return []codec.Proposal{custom} }},
		{name: "carol removed by the same commit",
			props: func(*world, func() codec.KeyPackage) []codec.Proposal {
				return []codec.Proposal{removeOf(2), custom}
			}},
		{name: "a supporter removed, carol stays", code: valsem.ValSem113,
			props: func(*world, func() codec.KeyPackage) []codec.Proposal {
				return []codec.Proposal{removeOf(1), custom}
			}},
		{name: "an added member need not support it",
			props: func(_ *world, kp func() codec.KeyPackage) []codec.Proposal {
				return []codec.Proposal{removeOf(2), addOf(kp()), custom}
			}},
	})
}

// TestGCEMembersAfterCommit: a GroupContextExtensions proposal's
// required_capabilities must be supported by the members after the commit
// ("including those added in the same Commit, and excluding those removed",
// RFC 9420, Section 12.1.7), and Adds in the same list are validated
// against it ("The new extensions MUST be used when evaluating other
// proposals in this list", Section 12.3).
func TestGCEMembersAfterCommit(t *testing.T) {
	rc, err := codec.RequiredCapabilities{ExtensionTypes: []codec.ExtensionType{extCustom}}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	requires := codec.Proposal{ProposalType: codec.ProposalGroupContextExtensions, GroupContextExtensions: &codec.GroupContextExtensions{
		Extensions: codec.Extensions{{ExtensionType: codec.ExtensionRequiredCapabilities, ExtensionData: rc}}}}
	uses := codec.Proposal{ProposalType: codec.ProposalGroupContextExtensions, GroupContextExtensions: &codec.GroupContextExtensions{
		Extensions: codec.Extensions{{ExtensionType: extCustom, ExtensionData: []byte("x")}}}}
	supports := codec.Capabilities{Extensions: []codec.ExtensionType{extCustom}}
	runScopeCases(t, []scopeCase{
		{name: "required by GCE, carol lacks it", code: valsem.ValSem209,
			props: func(*world, func() codec.KeyPackage) []codec.Proposal { return []codec.Proposal{requires} }},
		{name: "required by GCE, carol removed",
			props: func(*world, func() codec.KeyPackage) []codec.Proposal {
				return []codec.Proposal{removeOf(2), requires}
			}},
		{name: "required by GCE, added member lacks it", code: valsem.ValSem106,
			props: func(_ *world, kp func() codec.KeyPackage) []codec.Proposal {
				return []codec.Proposal{removeOf(2), addOf(kp()), requires}
			}},
		{name: "required by GCE, added member has it", caps: supports,
			props: func(_ *world, kp func() codec.KeyPackage) []codec.Proposal {
				return []codec.Proposal{removeOf(2), addOf(kp()), requires}
			}},
		{name: "extension used by GCE, added member lacks it", code: valsem.ValSem209,
			props: func(_ *world, kp func() codec.KeyPackage) []codec.Proposal {
				return []codec.Proposal{removeOf(2), addOf(kp()), uses}
			}},
		{name: "extension used by GCE, added member has it", caps: supports,
			props: func(_ *world, kp func() codec.KeyPackage) []codec.Proposal {
				return []codec.Proposal{removeOf(2), addOf(kp()), uses}
			}},
	})
}
