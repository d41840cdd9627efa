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

// TestCrashSafetyGroupCommit is the crash test on DirStorages with group
// commit (DirOptions.SyncEvery 8), with 5 kills: a killed process loses
// nothing the kernel holds, so every committed operation survives, and
// reopening erases the values the unsynced commits replaced.
func TestCrashSafetyGroupCommit(t *testing.T) {
	storagetest.RunCrash(t, storagetest.Backend{Open: func(t *testing.T, dir string) mls.Storage {
		s, err := mls.OpenDirStorageWith(dir, mls.DirOptions{SyncEvery: 8})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}, 5)
}

// TestCrashSafetyCompaction is the crash test on DirStorages that compact
// after every commit that leaves dead bytes (instead of once 1 MB and
// more than the live values are dead), so that kills land during
// compactions: a copy left half-written is erased on reopening, and the
// store reopens at a whole state.
func TestCrashSafetyCompaction(t *testing.T) {
	storagetest.RunCrash(t, storagetest.Backend{Open: func(t *testing.T, dir string) mls.Storage {
		s, err := mls.OpenDirStorage(dir)
		if err != nil {
			t.Fatal(err)
		}
		mls.SetDirCompactMin(s, 1)
		return s
	}}, 5)
}

// TestCrashSafetyEraseAtOnce is the crash test on DirStorages with group
// commit and EraseAtOnce (the configuration of the shell's benchmarks),
// with MLS_CRASH_KILLS kills (10 by default; CI runs 200): the erasures
// and in-place overwrites a killed process made are in the kernel's hands
// with the records, so the store reopens whole.
func TestCrashSafetyEraseAtOnce(t *testing.T) {
	storagetest.RunCrash(t, storagetest.Backend{Open: func(t *testing.T, dir string) mls.Storage {
		s, err := mls.OpenDirStorageWith(dir, mls.DirOptions{SyncEvery: 8, EraseAtOnce: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}, 0)
}
