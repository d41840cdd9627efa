package transitions

import (
	"testing"

	"github.com/mlscore/mlscore/internal/testrun"
)

// TestMain runs 20 rapid checks per property by default (package testrun
// says how the long runs change that).
func TestMain(m *testing.M) { testrun.Main(m, 20) }

// longRun reports whether MLS_LONG asks for the long run: the tests' full
// sizes (every prefix, N = 65536) instead of the default subset.
func longRun() bool { return testrun.Long() }
