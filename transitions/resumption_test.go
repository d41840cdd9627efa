package transitions

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/valsem"
)

// TestResumptionRoundTrip: EncodeResumption and DecodeResumption are
// inverse, keep nil apart from empty members, and reject trailing bytes.
func TestResumptionRoundTrip(t *testing.T) {
	ri := &codec.ReInit{GroupID: []byte("g2"), Version: codec.MLS10, CipherSuite: 2, Extensions: interopExts}
	tests := []Resumption{
		{GroupID: []byte("g"), Epoch: 3, Secret: []byte{1, 2}},
		{GroupID: []byte("g"), Epoch: 3, Version: codec.MLS10, CipherSuite: 1, Members: []codec.Credential{}, Secret: []byte{1}},
		{GroupID: []byte("g"), Epoch: 9, Version: codec.MLS10, CipherSuite: 3, ReInit: ri, Secret: []byte{7},
			Members: []codec.Credential{{CredentialType: codec.CredentialBasic, Identity: []byte("a")}, {CredentialType: 0xf001, Data: []byte{}}}},
	}
	for i, r := range tests {
		b, err := EncodeResumption(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeResumption(b)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		b2, _ := EncodeResumption(got)
		if !bytes.Equal(b, b2) || (got.Members == nil) != (r.Members == nil) || (got.ReInit == nil) != (r.ReInit == nil) {
			t.Fatalf("%d: round trip %+v -> %+v", i, r, got)
		}
		if _, err := DecodeResumption(append(b, 0)); err == nil {
			t.Fatalf("%d: trailing byte accepted", i)
		}
	}
}

// patchResumption rewrites the resumption context of group gid at epoch in
// m's key store (the secret stays): a founder that lies about, or is wrong
// about, the old group.
func patchResumption(t *testing.T, m *member, gid []byte, epoch uint64, f func(*Resumption)) {
	t.Helper()
	b, ok := m.keys.ExternalPSK(ResumptionPSKID(gid, epoch))
	if !ok {
		t.Fatal("no resumption entry")
	}
	r, err := DecodeResumption(b)
	if err != nil {
		t.Fatal(err)
	}
	f(&r)
	if m.keys, err = m.keys.WithResumption(r); err != nil {
		t.Fatal(err)
	}
}

// foundResumed has c found a resumed group with ev over the key packages
// kps (under policy pol) and returns the Welcome, or the founder's error.
func foundResumed(w2 *world, c *member, kps []codec.KeyPackage, pol Policy, ev func(NewGroup) Event) ([]byte, error) {
	n := NewGroup{SignatureKey: c.sig, Credential: w2.credential(c), Lifetime: testLifetime, Config: w2.cfg, RatchetTree: TreeInclude, KeyPackages: kps}
	effs, err := w2.applyWith(c, ev(n), pol)
	if err != nil {
		return nil, err
	}
	wel, ok := effects.Find[effects.SendWelcome](effs)
	if !ok {
		w2.t.Fatal("no welcome")
	}
	return wel.Welcome, nil
}

// reinitGroup builds alice, bob and charlie's group in suite cs and, unless
// open, has alice propose and bob commit ReInit ri. It returns the old
// world.
func reinitGroup(t *testing.T, cs suite.ID, ri *codec.ReInit) (*world, *member) {
	w, a := groupWith(t, cs, state.DefaultConfig(), "bob", "charlie")
	if ri != nil {
		ri.GroupID = append([]byte(nil), a.s.GroupID()...)
		w.proposeBy(a, codec.Proposal{ProposalType: codec.ProposalReInit, ReInit: ri})
		b := w.byName("bob")
		effs := w.must(b, Commit{At: testAt})
		w.deliver(b, sent(t, effs))
		w.must(b, ConfirmCommit{At: testAt})
		w.agree()
	}
	return w, a
}

// TestReInitJoinerChecks: a joiner of a reinitialized group checks the new
// GroupContext against the ReInit proposal and the PSK against the old
// group (RFC 9420, Section 11.2), and a founder refuses to found a group
// that does not match. Each case breaks one requirement, made past the
// founder's own check by a founder whose key store holds a patched
// resumption context.
func TestReInitJoinerChecks(t *testing.T) {
	const cs = suite.ID(1)
	tests := []struct {
		name string
		// open leaves the old group without a committed ReInit.
		open bool
		// event rewrites the founder's ReInitGroup; founder rewrites the
		// founder's resumption context; joiner the joiners'.
		event   func(*ReInitGroup)
		founder func(*Resumption)
		joiner  func(*testing.T, *member, Resumption)
		// newSuite is the suite of the new group (default cs).
		newSuite suite.ID
		// without leaves this old member out of the new group; newcomer
		// adds a client that was not in the old group.
		without    string
		newcomer   bool
		founderErr error
		joinErr    error
	}{
		// The same members as the original group (Section 12.4.2).
		{name: "member_left_out", without: "charlie", founderErr: ErrInvalidResumption},
		{name: "newcomer", newcomer: true, founderErr: ErrInvalidResumption},
		{name: "member_left_out_past_founder", without: "charlie", founder: func(r *Resumption) {
			r.Members = slices.DeleteFunc(r.Members, func(c codec.Credential) bool { return string(c.Identity) == "charlie" })
		}, joinErr: ErrInvalidResumption},
		{name: "matching"},
		{name: "group_id_differs", event: func(e *ReInitGroup) { e.ReInit.GroupID = []byte("other") },
			founder: func(r *Resumption) { r.ReInit.GroupID = []byte("other") }, joinErr: ErrInvalidResumption},
		{name: "suite_differs", newSuite: 3, event: func(e *ReInitGroup) { e.ReInit.CipherSuite = 3 },
			founder: func(r *Resumption) { r.ReInit.CipherSuite = 3 }, joinErr: ErrInvalidResumption},
		{name: "extensions_differ", event: func(e *ReInitGroup) { e.ReInit.Extensions = interopExts },
			founder: func(r *Resumption) { r.ReInit.Extensions = interopExts }, joinErr: ErrInvalidResumption},
		{name: "old_group_not_reinitialized", open: true,
			founder: func(r *Resumption) {
				r.ReInit = &codec.ReInit{GroupID: r.GroupID, Version: codec.MLS10, CipherSuite: r.CipherSuite}
			}, joinErr: ErrInvalidResumption},
		{name: "joiner_holds_secret_only", joiner: func(t *testing.T, m *member, r Resumption) {
			m.keys = m.keys.WithResumptionPSK(r.GroupID, r.Epoch, r.Secret)
		}, joinErr: ErrMissingKey},
		{name: "founder_event_differs", event: func(e *ReInitGroup) { e.ReInit.Extensions = interopExts }, founderErr: ErrInvalidResumption},
		{name: "founder_group_open", open: true, founderErr: ErrInvalidResumption},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ri *codec.ReInit
			if !tc.open {
				ri = &codec.ReInit{Version: codec.MLS10, CipherSuite: codec.CipherSuite(cs)}
			}
			w, a := reinitGroup(t, cs, ri)
			gid, epoch := a.s.GroupID(), a.s.Epoch()
			newSuite := cs
			if tc.newSuite != 0 {
				newSuite = tc.newSuite
			}
			w2, ms := successor(t, w, newSuite, gid, epoch)
			c := ms["alice"]
			if tc.founder != nil {
				patchResumption(t, c, gid, epoch, tc.founder)
			}
			var joiners []*member
			for _, name := range []string{"bob", "charlie"} {
				if name != tc.without {
					joiners = append(joiners, ms[name])
				}
			}
			var kps []codec.KeyPackage
			if tc.newcomer {
				kps = append(kps, w2.keyPackage(w2.newMember("dave")))
			}
			for _, j := range joiners {
				if tc.joiner != nil {
					r, _ := ResumptionOf(w.byName(j.name).s, epoch)
					tc.joiner(t, j, r)
				}
				kps = append(kps, w2.keyPackage(j))
			}
			wel, err := foundResumed(w2, c, kps, Policy{}, func(ng NewGroup) Event {
				e := ReInitGroup{At: testAt, OldGroupID: gid, OldEpoch: epoch, NewGroup: ng}
				if ri != nil {
					e.ReInit = *ri
				} else {
					e.ReInit = codec.ReInit{GroupID: gid, Version: codec.MLS10, CipherSuite: codec.CipherSuite(cs)}
				}
				if tc.event != nil {
					tc.event(&e)
				}
				return e
			})
			if tc.founderErr != nil {
				mustIs(t, err, tc.founderErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range joiners {
				_, err := w2.apply(j, JoinWelcome{At: testAt, Welcome: wel, Config: w2.cfg})
				if tc.joinErr == nil {
					if err != nil {
						t.Fatalf("%s: %v", j.name, err)
					}
					w2.must(j, AcceptJoin{At: testAt})
					continue
				}
				mustIs(t, err, tc.joinErr)
				if errors.Is(tc.joinErr, ErrInvalidResumption) {
					mustIs(t, err, ErrInvalidWelcome)
				}
			}
		})
	}
}

// TestReInitPSKOnlyInReInitWelcome: a resumption PSK of usage reinit in
// the Welcome of a later commit of the new group (epoch 2) is rejected
// (RFC 9420, Section 11.2: such PSKs "MUST NOT be used in other
// contexts"), while the same join without it succeeds.
func TestReInitPSKOnlyInReInitWelcome(t *testing.T) {
	const cs = suite.ID(1)
	ri := &codec.ReInit{Version: codec.MLS10, CipherSuite: codec.CipherSuite(cs)}
	w, a := reinitGroup(t, cs, ri)
	gid, epoch := a.s.GroupID(), a.s.Epoch()
	w2, ms := successor(t, w, cs, gid, epoch)
	c := ms["alice"]
	wel, err := foundResumed(w2, c, []codec.KeyPackage{w2.keyPackage(ms["bob"]), w2.keyPackage(ms["charlie"])}, Policy{}, func(ng NewGroup) Event {
		return ReInitGroup{At: testAt, OldGroupID: gid, OldEpoch: epoch, ReInit: *ri, NewGroup: ng}
	})
	if err != nil {
		t.Fatal(err)
	}
	w2.must(ms["bob"], JoinWelcome{At: testAt, Welcome: wel, Config: w2.cfg})
	for _, extra := range []bool{true, false} {
		// A newcomer who holds the old group's resumption PSK (as
		// charlie does), added by a later commit of the new group.
		d := w2.newMember("dave")
		res, ok := ResumptionOf(a.s, epoch)
		if !ok {
			t.Fatal("no resumption psk")
		}
		if d.keys, err = d.keys.WithResumption(res); err != nil {
			t.Fatal(err)
		}
		kp := w2.keyPackage(d)
		var psks []codec.PreSharedKeyID
		if extra {
			psks = append(psks, keysched.ResumptionPSKID(codec.ResumptionPSKUsageReInit, gid, epoch, bytes.Repeat([]byte{9}, c.s.Suite().HashLen())))
		}
		env := w2.env(c)
		env.Limits = DefaultLimits()
		_, effs, err := commitWith(c.s, Commit{At: testAt, Inline: []codec.Proposal{addOf(kp)}, RatchetTree: TreeInclude}, psks, env)
		if err != nil {
			t.Fatal(err)
		}
		wel, _ := effects.Find[effects.SendWelcome](effs)
		_, err = w2.apply(d, JoinWelcome{At: testAt, Welcome: wel.Welcome, Config: w2.cfg})
		if extra {
			mustIs(t, err, ErrInvalidResumption)
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// TestBranchJoinerChecks: a joiner of a subgroup checks that version and
// cipher suite are the old group's and that every leaf matches a member of
// the old group by credential (RFC 9420, Section 11.3), with the
// application's Policy.MatchBranchMember deciding equivalence.
func TestBranchJoinerChecks(t *testing.T) {
	const cs = suite.ID(1)
	renamed := func(m *member) codec.Credential {
		return codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte(m.name + "@v2")}
	}
	byName := Policy{MatchBranchMember: func(old, new codec.Credential) bool {
		return strings.TrimSuffix(string(new.Identity), "@v2") == string(old.Identity)
	}}
	anyone := Policy{MatchBranchMember: func(old, new codec.Credential) bool { return true }}
	tests := []struct {
		name     string
		newSuite suite.ID
		founder  func(*Resumption)
		// newcomer adds a member that was not in the old group.
		newcomer bool
		// rename gives bob's new key package another credential.
		rename     bool
		pol        Policy
		founderErr error
		joinErr    error
	}{
		{name: "matching"},
		{name: "suite_differs", newSuite: 3, founder: func(r *Resumption) { r.CipherSuite = 3 }, joinErr: ErrInvalidResumption},
		{name: "newcomer", newcomer: true,
			founder: func(r *Resumption) {
				r.Members = append(r.Members, codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte("zed")})
			}, joinErr: ErrInvalidResumption},
		{name: "newcomer_accepted_by_policy", newcomer: true, pol: anyone},
		{name: "renamed_rejected_by_default", rename: true, founderErr: ErrInvalidResumption},
		{name: "renamed_matched_by_policy", rename: true, pol: byName},
		{name: "founder_with_newcomer", newcomer: true, founderErr: ErrInvalidResumption},
		{name: "members_unknown", founder: func(r *Resumption) { r.Members = nil }, founderErr: ErrMissingKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, a := groupWith(t, cs, state.DefaultConfig(), "bob", "charlie")
			gid, epoch := a.s.GroupID(), a.s.Epoch()
			newSuite := cs
			if tc.newSuite != 0 {
				newSuite = tc.newSuite
			}
			w2, ms := successor(t, w, newSuite, gid, epoch)
			c := ms["alice"]
			if tc.founder != nil {
				patchResumption(t, c, gid, epoch, tc.founder)
			}
			joiners := []*member{ms["bob"], ms["charlie"]}
			var kps []codec.KeyPackage
			for _, j := range joiners {
				cred := w2.credential(j)
				if tc.rename && j.name == "bob" {
					cred = renamed(j)
				}
				effs := w2.must(j, NewKeyPackage{At: testAt, Suite: newSuite, SignatureKey: j.sig, Credential: cred, Lifetime: testLifetime})
				kc, _ := effects.Find[effects.KeyPackageCreated](effs)
				m, _ := codec.DecodeMLSMessage(kc.KeyPackage)
				kps = append(kps, *m.KeyPackage)
			}
			if tc.newcomer {
				kps = append(kps, w2.keyPackage(w2.newMember("zed")))
			}
			wel, err := foundResumed(w2, c, kps, tc.pol, func(ng NewGroup) Event {
				return BranchGroup{At: testAt, OldGroupID: gid, OldEpoch: epoch, Suite: newSuite, GroupID: []byte("sub"), NewGroup: ng}
			})
			if tc.founderErr != nil {
				mustIs(t, err, tc.founderErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range joiners {
				_, err := w2.applyWith(j, JoinWelcome{At: testAt, Welcome: wel, Config: w2.cfg}, tc.pol)
				if tc.joinErr == nil {
					if err != nil {
						t.Fatalf("%s: %v", j.name, err)
					}
					continue
				}
				mustIs(t, err, tc.joinErr)
				mustIs(t, err, ErrInvalidWelcome)
			}
		})
	}
}

// TestResumptionOf: the current epoch carries the members and the
// committed ReInit; a retained past epoch only the secret and the group's
// parameters.
func TestResumptionOf(t *testing.T) {
	cfg := state.DefaultConfig()
	cfg.ResumptionPSKs = 2
	w, a := groupWith(t, 1, cfg, "bob")
	w.commit(a, Commit{ForcePath: true})
	cur, ok := ResumptionOf(a.s, a.s.Epoch())
	if !ok || len(cur.Members) != 2 || cur.ReInit != nil || cur.Version != codec.MLS10 || cur.CipherSuite != 1 {
		t.Fatalf("current epoch: %+v", cur)
	}
	past, ok := ResumptionOf(a.s, a.s.Epoch()-1)
	if !ok || past.Members != nil || len(past.Secret) == 0 || past.Version != codec.MLS10 {
		t.Fatalf("past epoch: %+v", past)
	}
	if _, ok := ResumptionOf(a.s, a.s.Epoch()+1); ok {
		t.Fatal("future epoch")
	}
}

// TestWelcomePSKRules crafts Welcomes whose GroupSecrets.psks break one
// PSK rule — the committer's key schedule injects the list unvalidated, so
// the Welcome is otherwise consistent — and checks that the joiner rejects
// each with the rule's typed error and an unchanged state (RFC 9420,
// Sections 8.4 and 12.4.3.1: ValSem401 nonce length, ValSem403 duplicate
// PreSharedKeyID, ValSem402 at most one reinit or branch PSK).
func TestWelcomePSKRules(t *testing.T) {
	for _, cs := range []suite.ID{1, 2, 3} {
		nh := func(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }
		cases := []struct {
			name string
			ids  func(nh int, gid []byte) []codec.PreSharedKeyID
			code error
		}{
			{"valid", func(n int, gid []byte) []codec.PreSharedKeyID {
				return []codec.PreSharedKeyID{keysched.ExternalPSKID([]byte("psk-1"), nh(1, n)), keysched.ExternalPSKID([]byte("psk-2"), nh(2, n))}
			}, nil},
			{"ValSem401 short nonce", func(n int, gid []byte) []codec.PreSharedKeyID {
				return []codec.PreSharedKeyID{keysched.ExternalPSKID([]byte("psk-1"), nh(1, n)), keysched.ExternalPSKID([]byte("psk-2"), nh(2, n-1))}
			}, valsem.ValSem401},
			{"ValSem401 empty nonce", func(n int, gid []byte) []codec.PreSharedKeyID {
				return []codec.PreSharedKeyID{keysched.ExternalPSKID([]byte("psk-1"), []byte{})}
			}, valsem.ValSem401},
			{"ValSem401 long nonce on a resumption psk", func(n int, gid []byte) []codec.PreSharedKeyID {
				return []codec.PreSharedKeyID{keysched.ResumptionPSKID(codec.ResumptionPSKUsageApplication, []byte("old"), 4, nh(3, n+1))}
			}, valsem.ValSem401},
			{"ValSem403 external psk twice", func(n int, gid []byte) []codec.PreSharedKeyID {
				id := keysched.ExternalPSKID([]byte("psk-1"), nh(1, n))
				return []codec.PreSharedKeyID{id, keysched.ExternalPSKID([]byte("psk-2"), nh(2, n)), id}
			}, valsem.ValSem403},
			{"ValSem403 resumption psk twice", func(n int, gid []byte) []codec.PreSharedKeyID {
				id := keysched.ResumptionPSKID(codec.ResumptionPSKUsageApplication, []byte("old"), 4, nh(3, n))
				return []codec.PreSharedKeyID{id, id}
			}, valsem.ValSem403},
			{"ValSem402 two reinit psks", func(n int, gid []byte) []codec.PreSharedKeyID {
				return []codec.PreSharedKeyID{keysched.ResumptionPSKID(codec.ResumptionPSKUsageReInit, []byte("old"), 4, nh(4, n)),
					keysched.ResumptionPSKID(codec.ResumptionPSKUsageReInit, []byte("old"), 4, nh(5, n))}
			}, valsem.ValSem402},
			{"ValSem402 reinit and branch psks", func(n int, gid []byte) []codec.PreSharedKeyID {
				return []codec.PreSharedKeyID{keysched.ResumptionPSKID(codec.ResumptionPSKUsageBranch, []byte("old"), 4, nh(4, n)),
					keysched.ExternalPSKID([]byte("psk-1"), nh(1, n)),
					keysched.ResumptionPSKID(codec.ResumptionPSKUsageReInit, []byte("old"), 4, nh(5, n))}
			}, valsem.ValSem402},
		}
		for _, tc := range cases {
			t.Run(fmt.Sprintf("suite=%d/%s", cs, tc.name), func(t *testing.T) {
				w, a := groupWith(t, cs, state.DefaultConfig(), "bob")
				d := w.newMember("dave")
				for _, m := range []*member{a, d} {
					m.keys = m.keys.WithExternalPSK([]byte("psk-1"), []byte("one")).WithExternalPSK([]byte("psk-2"), []byte("two")).
						WithResumptionPSK([]byte("old"), 4, []byte("resumed"))
				}
				kp := w.keyPackage(d)
				env := w.env(a)
				env.Limits = DefaultLimits()
				_, effs, err := commitWith(a.s, Commit{At: testAt, Inline: []codec.Proposal{addOf(kp)}, RatchetTree: TreeInclude},
					tc.ids(a.s.Suite().HashLen(), a.s.GroupID()), env)
				if err != nil {
					t.Fatal(err)
				}
				wel, _ := effects.Find[effects.SendWelcome](effs)
				_, err = w.apply(d, JoinWelcome{At: testAt, Welcome: wel.Welcome, Config: w.cfg})
				if tc.code == nil {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				mustIs(t, err, tc.code)
				if d.s.InGroup() {
					t.Fatal("joined anyway")
				}
			})
		}
	}
}

// TestScenarioExternalReInit covers external_reinit of
// external_proposals.json: an external signer proposes a ReInit that
// changes the group id, the cipher suite and the extensions; alice commits
// it; bob founds the new group with force_path and welcomes the others,
// who check it against the committed ReInit.
func TestScenarioExternalReInit(t *testing.T) {
	eachSuite(t, func(t *testing.T, cs suite.ID) {
		w, a := groupWith(t, cs, state.DefaultConfig(), "bob", "charlie")
		ds := w.addExternalSigner(a, "ds")
		ri := codec.ReInit{GroupID: []byte("external-reinit"), Version: codec.MLS10,
			CipherSuite: codec.CipherSuite(map[suite.ID]suite.ID{1: 3, 2: 1, 3: 2, suite.XWingChaCha20Poly1305SHA256Ed25519: 1}[cs]), Extensions: interopExts[:1]}
		w.externalProposal(ds, a, codec.Proposal{ProposalType: codec.ProposalReInit, ReInit: &ri})
		effs := w.must(a, Commit{At: testAt})
		w.deliver(a, sent(t, effs))
		w.must(a, ConfirmCommit{At: testAt})
		w.agree()
		b := w.byName("bob")
		w2, ms := successor(t, w, suite.ID(ri.CipherSuite), b.s.GroupID(), b.s.Epoch())
		found(t, w2, ms["bob"], []*member{ms["alice"], ms["charlie"]}, func(ng NewGroup) Event {
			ng.ForcePath = true
			ev, err := ReInitGroupFor(b.s, testAt, ng)
			if err != nil {
				t.Fatal(err)
			}
			return ev
		})
		got := ms["charlie"].s.GroupContext()
		if !bytes.Equal(got.GroupID, ri.GroupID) || got.CipherSuite != ri.CipherSuite || len(got.Extensions) != 1 {
			t.Fatalf("new group context %+v, reinit %+v", got, ri)
		}
	})
}
