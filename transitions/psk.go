package transitions

import (
	"encoding/binary"
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/valsem"
)

// resumptionKeyPrefix starts the Env.Keys name of a resumption PSK; no
// psk_id chosen by an application is expected to start with it.
const resumptionKeyPrefix = "\x00mlscore resumption psk\x00"

// ResumptionPSKID returns the name under which Env.Keys.ExternalPSK must
// answer the resumption_psk of group groupID at epoch (RFC 9420, Section
// 8.6) when the state at hand cannot supply it: the resumption PSK of
// another group, as a reinitialized group's or a subgroup's first epoch
// and their Welcomes need (Sections 11.2 and 11.3). The answer is not the
// bare secret but EncodeResumption of a Resumption: the secret with the
// old group's context, which founders and joiners check the new group
// against. The application copies it there from the old group's state
// (ResumptionOf); the KeyStore does so with WithResumption.
//
// [RFC 9420, Section 8.6]: https://www.rfc-editor.org/rfc/rfc9420#section-8.6
func ResumptionPSKID(groupID []byte, epoch uint64) []byte {
	b := make([]byte, 0, len(resumptionKeyPrefix)+len(groupID)+8)
	b = append(b, resumptionKeyPrefix...)
	b = append(b, groupID...)
	return binary.BigEndian.AppendUint64(b, epoch)
}

// WithResumptionPSK returns a store that also holds the resumption PSK psk
// of group groupID at epoch, under ResumptionPSKID, without the old group's
// context: enough for a resumption PSK of usage application, not for a
// reinit or branch (use WithResumption with ResumptionOf).
func (k KeyStore) WithResumptionPSK(groupID []byte, epoch uint64, psk []byte) KeyStore {
	out, err := k.WithResumption(Resumption{GroupID: groupID, Epoch: epoch, Secret: psk})
	if err != nil {
		// Only an id or secret over 2^30 bytes fails to encode.
		return k
	}
	return out
}

// ResumptionPSKOf returns the resumption_psk that s holds for its epoch
// epoch (RFC 9420, Section 8.6): the current epoch's, or a retained past
// one (at most Config.ResumptionPSKs epochs back, ValSem400). The result is
// a copy.
//
// [RFC 9420, Section 8.6]: https://www.rfc-editor.org/rfc/rfc9420#section-8.6
func ResumptionPSKOf(s state.GroupState, epoch uint64) ([]byte, bool) {
	if !s.InGroup() {
		return nil, false
	}
	_, priv := s.Shared(core.K())
	if epoch == s.Epoch() {
		return priv.Epoch.ResumptionPSK(), true
	}
	for _, r := range priv.Resumption {
		if r.Epoch == epoch {
			return append([]byte(nil), r.Secret...), true
		}
	}
	return nil, false
}

// resumptionSecret resolves a resumption PSK for group g (RFC 9420, Section
// 8.6): one of g's own epochs from its state — within the retained window,
// else ValSem400 — or another group's from Env.Keys.
func (g *group) resumptionSecret(id codec.PreSharedKeyID, env Env) ([]byte, error) {
	if !equalBytes(id.PSKGroupID, g.gid()) || id.Usage != codec.ResumptionPSKUsageApplication {
		// A reinit or branch PSK names the old group, which may share
		// the new group's id.
		return foreignResumption(id, env)
	}
	cur := g.epoch()
	if id.PSKEpoch > cur {
		return nil, fmt.Errorf("%w: resumption psk of future epoch %d (group at %d)", ErrInvalidProposals, id.PSKEpoch, cur)
	}
	// ValSem400: resumption PSKs are kept for Config.ResumptionPSKs past
	// epochs only (RFC 9420, Section 8.6: the application bounds them).
	if age := cur - id.PSKEpoch; age > uint64(g.pub.Config.ResumptionPSKs) {
		return nil, valsem.Errorf(valsem.ValSem400, "resumption psk of epoch %d is %d epochs old, at most %d are kept",
			id.PSKEpoch, age, g.pub.Config.ResumptionPSKs)
	}
	secret, ok := ResumptionPSKOf(g.s, id.PSKEpoch)
	if !ok {
		// Within the window, but from before this member joined.
		return nil, fmt.Errorf("%w: resumption psk of epoch %d, before this member joined the group", ErrMissingKey, id.PSKEpoch)
	}
	return secret, nil
}

// foreignResumption resolves another group's resumption PSK through
// Env.Keys.
func foreignResumption(id codec.PreSharedKeyID, env Env) ([]byte, error) {
	r, err := foreignResumptionOf(id, env)
	if err != nil {
		return nil, err
	}
	return r.Secret, nil
}

// resumed is the reinit or branch PSK of a Welcome with the old epoch it
// names.
type resumed struct {
	id  codec.PreSharedKeyID
	old Resumption
}

// welcomePSKs resolves the PSKs of a Welcome's GroupSecrets (RFC 9420,
// Section 12.4.3.1): ValSem401 and ValSem403 apply as to a proposal list; a
// resumption PSK may have usage reinit or branch (at most one such,
// ValSem402), which marks the group as a reinitialized group or a subgroup
// (Sections 11.2 and 11.3), to be checked against the old group
// (checkResumed). Secrets come from Env.Keys.
func welcomePSKs(cs *suite.Suite, ids []codec.PreSharedKeyID, env Env) ([]keysched.PSK, *resumed, error) {
	var seen [][]byte
	var res *resumed
	psks := make([]keysched.PSK, len(ids))
	for i, id := range ids {
		check := id
		special := id.PSKType == codec.PSKTypeResumption &&
			(id.Usage == codec.ResumptionPSKUsageReInit || id.Usage == codec.ResumptionPSKUsageBranch)
		if special {
			// ValSem402: at most one reinit or branch PSK.
			if res != nil {
				return nil, nil, valsem.Errorf(valsem.ValSem402, "two reinit or branch psks in a welcome")
			}
			// Checked as an application PSK for the nonce and duplicates.
			check.Usage = codec.ResumptionPSKUsageApplication
		}
		// Any other usage fails here with ValSem402 (the codec decodes
		// none but application, reinit and branch).
		if err := checkPSKID(cs.HashLen(), check, &seen); err != nil {
			return nil, nil, err
		}
		var secret []byte
		switch id.PSKType {
		case codec.PSKTypeExternal:
			p, ok := env.Keys.ExternalPSK(id.PSKID)
			if !ok {
				return nil, nil, fmt.Errorf("%w: external psk %x", ErrMissingKey, prefix(id.PSKID))
			}
			secret = p
		default:
			r, err := foreignResumptionOf(id, env)
			if err != nil {
				return nil, nil, err
			}
			if special {
				res = &resumed{id: id, old: r}
			}
			secret = r.Secret
		}
		psks[i] = keysched.PSK{ID: id, Secret: secret}
	}
	return psks, res, nil
}
