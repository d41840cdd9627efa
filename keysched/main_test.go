package keysched

import (
	"testing"

	"github.com/mlscore/mlscore/internal/testrun"
)

// TestMain runs 20 rapid checks per property by default (package testrun
// says how the long runs change that).
func TestMain(m *testing.M) { testrun.Main(m, 20) }
