package mls

import (
	"time"

	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
)

// DefaultPastEpochAge is how long the shell's default configuration
// (DefaultConfig) keeps the previous epoch's secrets after a commit, for
// application messages sent before the commit that arrive after it.
const DefaultPastEpochAge = 5 * time.Minute

// DefaultConfig returns the group configuration the shell uses when
// Options.Config is nil: state.DefaultConfig() (OpenMLS's defaults) except
// the past-epoch window, which keeps the previous epoch — MaxPastEpochs 1
// — for DefaultPastEpochAge (MaxPastEpochAge), so that a message sent just
// before a commit is not lost. OpenMLS keeps none by default
// (max_past_epochs 0): set MaxPastEpochs to 0 for the strictest forward
// secrecy, or raise either bound for slower delivery. A message of an
// epoch outside the window fails with valsem.ValSem003, whose message
// names the bound it exceeded.
func DefaultConfig() state.Config {
	c := state.DefaultConfig()
	c.MaxPastEpochs = 1
	c.MaxPastEpochAge = uint64(DefaultPastEpochAge / time.Second)
	return c
}

// ExpirePastEpochs erases the secrets of the past epochs older than the
// group's MaxPastEpochAge at the clock's time. Every operation of the
// group does so first; a group with no other activity calls this (on a
// timer, say) so that expired secrets do not wait for the next message.
func (g *Group) ExpirePastEpochs() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.run(transitions.ExpirePastEpochs{At: g.c.now()}, nil)
}
