package transitions

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/valsem"
)

// pastExpired reports whether a past epoch that ended at ended is older
// than the age bound maxAge (seconds; 0: no bound) at time at.
func pastExpired(ended, maxAge, at uint64) bool {
	return maxAge != 0 && at > ended && at-ended > maxAge
}

// expirePastEpochs drops from s the past epochs older than
// Config.MaxPastEpochAge at time at — also from the next state of a
// pending or staged commit, which copies them — and reports their
// secrets with DeleteSecret. Apply runs it after every successful event,
// so that the window is bounded by age with the time of each event: the
// core has no clock of its own.
func expirePastEpochs(s state.GroupState, at uint64) (state.GroupState, []effects.Effect, error) {
	if !s.InGroup() {
		return s, nil, nil
	}
	pub, priv := s.Shared(core.K())
	maxAge := pub.Config.MaxPastEpochAge
	n := 0
	for n < len(priv.Past) && pastExpired(priv.Past[n].Ended, maxAge, at) {
		n++ // oldest first: the ones that ended earliest
	}
	if n == 0 {
		return s, nil, nil
	}
	var dels []effects.Effect
	gid := pub.Context.GroupID
	for _, pe := range priv.Past[:n] {
		dels = append(dels, effects.DeleteSecret{Ref: effects.SecretRef{Kind: effects.SecretEpoch, ID: secretID(gid, pe.Context.Epoch)}})
	}
	priv.Past = priv.Past[n:len(priv.Past):len(priv.Past)]
	if pc := priv.Pending; pc != nil {
		p := *pc
		next, _, err := expirePastEpochs(p.Next, at)
		if err != nil {
			return s, nil, err
		}
		p.Next, priv.Pending = next, &p
	}
	if sc := priv.Staged; sc != nil {
		c := *sc
		next, _, err := expirePastEpochs(c.Next, at)
		if err != nil {
			return s, nil, err
		}
		c.Next, priv.Staged = next, &c
	}
	out, err := state.New(core.K(), pub, priv)
	if err != nil {
		return s, nil, err
	}
	return out, dels, nil
}

// checkPastAge refuses a message of a retained past epoch that is older
// than Config.MaxPastEpochAge at time at (ValSem003), though the epoch is
// still in the state: Apply drops it only after a successful event.
func (g *group) checkPastAge(f framedMessage, at uint64) error {
	if f.keys.past < 0 {
		return nil
	}
	pe := g.priv.Past[f.keys.past]
	if maxAge := g.pub.Config.MaxPastEpochAge; pastExpired(pe.Ended, maxAge, at) {
		return valsem.Errorf(valsem.ValSem003, "message for epoch %d, which ended %d s ago; past epochs are kept for application messages for %d s (state.Config.MaxPastEpochAge)",
			pe.Context.Epoch, at-pe.Ended, maxAge)
	}
	return nil
}

// pastEpochReason explains the ValSem003 rejection of a message whose
// epoch is neither the current one nor a retained past epoch, naming the
// setting that would have kept it. frame rejects; this only words it.
func (g *group) pastEpochReason(epoch uint64, application bool) string {
	cfg := g.pub.Config
	cur := g.epoch()
	switch {
	case epoch > cur:
		return fmt.Sprintf("message for epoch %d, group is at epoch %d", epoch, cur)
	case !application:
		return fmt.Sprintf("handshake message for epoch %d, group is at epoch %d: proposals and commits must be of the current epoch", epoch, cur)
	case cur-epoch > uint64(cfg.MaxPastEpochs):
		return fmt.Sprintf("message for epoch %d, %d epochs old; the group keeps %d past epochs for application messages (state.Config.MaxPastEpochs)",
			epoch, cur-epoch, cfg.MaxPastEpochs)
	case cfg.MaxPastEpochAge != 0:
		return fmt.Sprintf("message for epoch %d, which is no longer kept: it ended more than %d s ago (state.Config.MaxPastEpochAge), or this member joined after it",
			epoch, cfg.MaxPastEpochAge)
	default:
		return fmt.Sprintf("message for epoch %d, group is at epoch %d: not among the past epochs kept (this member joined later)", epoch, cur)
	}
}

// tagExpirePastEpochs is ExpirePastEpochs's tag (outside the iota blocks
// of events.go and events_ext.go). Never renumber.
const tagExpirePastEpochs eventTag = 48

// ExpirePastEpochs drops the past epochs older than Config.MaxPastEpochAge
// at At. Every successful event does so; this one does nothing else, for a
// group with no other activity whose expired secrets should still go.
// Effects: DeleteSecret for each expired epoch's secrets.
type ExpirePastEpochs struct{ At uint64 }

// Time returns the event's At.
func (e ExpirePastEpochs) Time() uint64 { return e.At }

func (ExpirePastEpochs) tag() eventTag { return tagExpirePastEpochs }

func (ExpirePastEpochs) marshal(*cryptobyte.Builder) {}

func (e *ExpirePastEpochs) unmarshal(_ *codec.Decoder, at uint64) { e.At = at }

// expirePast handles ExpirePastEpochs: the state is unchanged here, and
// Apply's expirePastEpochs, run after every event, drops the epochs.
func expirePast(s state.GroupState, _ ExpirePastEpochs, _ Env) (state.GroupState, []effects.Effect, error) {
	return s, nil, nil
}
