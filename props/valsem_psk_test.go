package props

import (
	"errors"
	"math"
	"testing"

	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/valsem"
)

// Properties of the PSK rules ValSem400–ValSem403: a valid commit with a
// PreSharedKey proposal (an external PSK every client holds, or a
// resumption PSK of the group) is accepted; the same commit with its PSK
// proposals rewritten to break one rule, re-signed and re-tagged, is
// rejected with exactly that rule, and the receiver's state is unchanged.

func pskOf(id codec.PreSharedKeyID) codec.Proposal {
	return codec.Proposal{ProposalType: codec.ProposalPreSharedKey, PreSharedKey: &codec.PreSharedKey{PSK: id}}
}

// pskCommit has from commit a drawn valid PSK proposal (the committer
// draws its nonce) and returns the message and the PreSharedKeyID as sent.
func pskCommit(t *rapid.T, w *World, from, recv *Member) ([]byte, codec.PreSharedKeyID) {
	id := keysched.ExternalPSKID(PSKID, nil)
	if rapid.Bool().Draw(t, "resumption") {
		id = keysched.ResumptionPSKID(codec.ResumptionPSKUsageApplication, recv.State.GroupID(), recv.State.Epoch(), nil)
	}
	msg, _ := w.StartCommit(from, transitions.Commit{Inline: []codec.Proposal{pskOf(id)}})
	for _, p := range Open(t, recv, msg).Content.Commit.Proposals {
		if p.Proposal != nil && p.Proposal.ProposalType == codec.ProposalPreSharedKey {
			return msg, p.Proposal.PreSharedKey.PSK
		}
	}
	t.Fatalf("commit without its psk proposal")
	return nil, codec.PreSharedKeyID{}
}

// ValSem400: the number of stored resumption PSKs is bounded.
//
// A member keeps the resumption PSKs of Config.ResumptionPSKs past epochs
// (never more, after any history) and rejects a commit that injects one of
// an older epoch of the group.
func TestValSem400(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{ExternalPSK: true})
		from, recv := w.Pair(t)
		keep := uint64(recv.Config.ResumptionPSKs)
		for recv.State.Epoch() <= keep {
			w.Commit(t, w.Pick(t, "updater"), transitions.Commit{ForcePath: true})
		}
		for _, m := range w.Active() {
			if n := len(m.State.Private().Resumption); n > int(m.Config.ResumptionPSKs) {
				t.Fatalf("%s keeps %d resumption psks, configured %d", m.Name, n, m.Config.ResumptionPSKs)
			}
		}
		msg, id := pskCommit(t, w, from, recv)
		cur := recv.State.Epoch()
		old := keysched.ResumptionPSKID(codec.ResumptionPSKUsageApplication, recv.State.GroupID(),
			cur-rapid.Uint64Range(keep+1, cur).Draw(t, "age"), id.PSKNonce)
		Rejects(t, recv, w.Env(recv), Reframe(t, from, recv, msg, SetProposals(pskOf(old))), valsem.ValSem400)
		Accepts(t, recv, w.Env(recv), msg)

		// The configured number itself is bounded: over
		// state.MaxResumptionPSKsLimit, Config.Check refuses it; over the
		// application's Limits.MaxResumptionPSKs (drawn below the hard
		// limit), creating a group with it is refused before anything else.
		cfg := recv.Config
		cfg.ResumptionPSKs = rapid.Uint32Range(state.MaxResumptionPSKsLimit+1, math.MaxUint32).Draw(t, "overHardLimit")
		if err := cfg.Check(); !errors.Is(err, valsem.ValSem400) {
			t.Fatalf("Config.Check of %d resumption psks: %v, want ValSem400", cfg.ResumptionPSKs, err)
		}
		env := w.Env(recv)
		env.Limits.MaxResumptionPSKs = rapid.Uint32Range(1, state.MaxResumptionPSKsLimit-1).Draw(t, "limit")
		cfg.ResumptionPSKs = rapid.Uint32Range(env.Limits.MaxResumptionPSKs+1, state.MaxResumptionPSKsLimit).Draw(t, "overLimit")
		if err := cfg.Check(); err != nil {
			t.Fatalf("Config.Check of %d resumption psks: %v", cfg.ResumptionPSKs, err)
		}
		create := transitions.CreateGroup{At: At, Suite: recv.State.Suite().ID(), SignatureKey: recv.Sig,
			Credential: codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte("x")}, Config: cfg}
		if _, _, err := transitions.Apply(state.GroupState{}, create, env); !errors.Is(err, valsem.ValSem400) {
			t.Fatalf("CreateGroup keeping %d resumption psks, limit %d: %v, want ValSem400", cfg.ResumptionPSKs, env.Limits.MaxResumptionPSKs, err)
		}
	})
}

// ValSem401: a PreSharedKeyID nonce must have length KDF.Nh.
func TestValSem401(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{ExternalPSK: true})
		from, recv := w.Pair(t)
		msg, id := pskCommit(t, w, from, recv)
		nh := recv.State.Suite().HashLen()
		n := rapid.IntRange(0, 2*nh+8).Filter(func(n int) bool { return n != nh }).Draw(t, "nonceLen")
		id.PSKNonce = Bytes(t, "nonce", n)
		Rejects(t, recv, w.Env(recv), Reframe(t, from, recv, msg, SetProposals(pskOf(id))), valsem.ValSem401)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem402: a proposed PSK must be External, or Resumption with usage application.
func TestValSem402(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{ExternalPSK: true})
		from, recv := w.Pair(t)
		msg, id := pskCommit(t, w, from, recv)
		usage := rapid.SampledFrom([]codec.ResumptionPSKUsage{codec.ResumptionPSKUsageReInit, codec.ResumptionPSKUsageBranch}).Draw(t, "usage")
		bad := keysched.ResumptionPSKID(usage, recv.State.GroupID(), recv.State.Epoch(), id.PSKNonce)
		ps := []codec.Proposal{pskOf(bad)}
		if rapid.Bool().Draw(t, "withValid") {
			ps = Shuffled(t, append(ps, pskOf(id))...)
		}
		Rejects(t, recv, w.Env(recv), Reframe(t, from, recv, msg, SetProposals(ps...)), valsem.ValSem402)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem403: a proposal list must not reference the same PreSharedKeyID twice.
func TestValSem403(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{ExternalPSK: true})
		from, recv := w.Pair(t)
		msg, id := pskCommit(t, w, from, recv)
		ps := []codec.Proposal{pskOf(id), pskOf(id)}
		if rapid.Bool().Draw(t, "withOther") {
			other := id
			other.PSKNonce = Bytes(t, "nonce", len(id.PSKNonce)) // same key, another nonce: a different id
			ps = append(ps, pskOf(other))
		}
		Rejects(t, recv, w.Env(recv), Reframe(t, from, recv, msg, SetProposals(Shuffled(t, ps...)...)), valsem.ValSem403)
		Accepts(t, recv, w.Env(recv), msg)
	})
}
