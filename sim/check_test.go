package sim

import (
	"testing"

	"github.com/mlscore/mlscore/transitions"
)

// TestCheckCatchesDisagreement lets one member merge a commit that nobody
// else receives: Check must report the split.
func TestCheckCatchesDisagreement(t *testing.T) {
	s, err := New(Config{Seed: 1, Members: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Grow(4); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	m := s.Active()[1]
	if _, err := s.apply(OpUpdate, m, transitions.Commit{At: s.now, ForcePath: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.apply(OpUpdate, m, transitions.ConfirmCommit{At: s.now}); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err == nil {
		t.Fatal("Check missed a member alone in the next epoch")
	}
}
