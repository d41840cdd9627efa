package mls_test

import (
	"testing"

	mls "github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/storagetest"
)

// TestCrashSafety kills a child process that runs two members on
// DirStorage at random points (storagetest.RunCrash): after every kill no
// old epoch's secret is in the files, the members recover and agree, and
// no application message is delivered twice. MLS_CRASH_KILLS sets the
// number of kills (10 by default; CI runs 200).
func TestCrashSafety(t *testing.T) {
	storagetest.RunCrash(t, storagetest.Backend{Open: func(t *testing.T, dir string) mls.Storage {
		s, err := mls.OpenDirStorage(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}, 0)
}
