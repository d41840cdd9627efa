package transitions

import (
	"encoding/binary"
	"fmt"

	"github.com/mlscore/mlscore/codec"
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
// and their Welcomes need (Sections 11.2 and 11.3). The application copies
// the secret there from the old group's state (ResumptionPSKOf); the
// KeyStore does so with WithResumptionPSK.
//
// [RFC 9420, Section 8.6]: https://www.rfc-editor.org/rfc/rfc9420#section-8.6
func ResumptionPSKID(groupID []byte, epoch uint64) []byte {
	b := make([]byte, 0, len(resumptionKeyPrefix)+len(groupID)+8)
	b = append(b, resumptionKeyPrefix...)
	b = append(b, groupID...)
	return binary.BigEndian.AppendUint64(b, epoch)
}

// WithResumptionPSK returns a store that also holds the resumption PSK psk
// of group groupID at epoch, under ResumptionPSKID.
func (k KeyStore) WithResumptionPSK(groupID []byte, epoch uint64, psk []byte) KeyStore {
	return k.WithExternalPSK(ResumptionPSKID(groupID, epoch), psk)
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
	priv := s.Private()
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
	if secret, ok := ResumptionPSKOf(g.s, id.PSKEpoch); ok {
		return secret, nil
	}
	cur := g.epoch()
	if id.PSKEpoch > cur {
		return nil, fmt.Errorf("%w: resumption psk of future epoch %d (group at %d)", ErrInvalidProposals, id.PSKEpoch, cur)
	}
	// ValSem400: resumption PSKs are kept for Config.ResumptionPSKs past
	// epochs only (RFC 9420, Section 8.6: the application bounds them).
	return nil, valsem.Errorf(valsem.ValSem400, "resumption psk of epoch %d is %d epochs old, at most %d are kept",
		id.PSKEpoch, cur-id.PSKEpoch, g.pub.Config.ResumptionPSKs)
}

// foreignResumption resolves another group's resumption PSK through
// Env.Keys.
func foreignResumption(id codec.PreSharedKeyID, env Env) ([]byte, error) {
	secret, ok := env.Keys.ExternalPSK(ResumptionPSKID(id.PSKGroupID, id.PSKEpoch))
	if !ok {
		return nil, fmt.Errorf("%w: resumption psk of group %x epoch %d", ErrMissingKey, prefix(id.PSKGroupID), id.PSKEpoch)
	}
	return secret, nil
}

// welcomePSKs resolves the PSKs of a Welcome's GroupSecrets (RFC 9420,
// Section 12.4.3.1): ValSem401 and ValSem403 apply as to a proposal list; a
// resumption PSK may have usage reinit or branch (at most one such), which
// marks the group as a reinitialized group or a subgroup (Sections 11.2 and
// 11.3). Secrets come from Env.Keys.
func welcomePSKs(cs *suite.Suite, ids []codec.PreSharedKeyID, env Env) ([]keysched.PSK, codec.ResumptionPSKUsage, error) {
	var seen [][]byte
	var usage codec.ResumptionPSKUsage
	psks := make([]keysched.PSK, len(ids))
	for i, id := range ids {
		check := id
		if id.PSKType == codec.PSKTypeResumption && id.Usage != codec.ResumptionPSKUsageApplication {
			if id.Usage != codec.ResumptionPSKUsageReInit && id.Usage != codec.ResumptionPSKUsageBranch {
				return nil, 0, valsem.Errorf(valsem.ValSem402, "resumption psk with usage %d in a welcome", id.Usage)
			}
			if usage != 0 {
				return nil, 0, valsem.Errorf(valsem.ValSem402, "two reinit or branch psks in a welcome")
			}
			usage = id.Usage
			// Checked as an application PSK for the nonce and duplicates.
			check.Usage = codec.ResumptionPSKUsageApplication
		}
		if err := checkPSKID(cs.HashLen(), check, &seen); err != nil {
			return nil, 0, err
		}
		var secret []byte
		switch id.PSKType {
		case codec.PSKTypeExternal:
			p, ok := env.Keys.ExternalPSK(id.PSKID)
			if !ok {
				return nil, 0, fmt.Errorf("%w: external psk %x", ErrMissingKey, prefix(id.PSKID))
			}
			secret = p
		default:
			p, err := foreignResumption(id, env)
			if err != nil {
				return nil, 0, err
			}
			secret = p
		}
		psks[i] = keysched.PSK{ID: id, Secret: secret}
	}
	return psks, usage, nil
}

// checkResumedWelcome applies RFC 9420, Sections 11.2 and 11.3 to a group
// joined with a reinit or branch PSK: its epoch is 1.
func checkResumedWelcome(usage codec.ResumptionPSKUsage, ctx codec.GroupContext) error {
	if usage == 0 {
		return nil
	}
	if ctx.Epoch != 1 {
		return fmt.Errorf("%w: a group resumed with a %d psk is at epoch %d, not 1", ErrInvalidWelcome, usage, ctx.Epoch)
	}
	return nil
}
