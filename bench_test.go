package mls_test

import (
	"os"
	"strconv"
	"testing"

	mls "github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/internal/shellbench"
)

// The shell's benchmarks (package internal/shellbench, which the nested
// storage modules run on their backends too) compare an operation through
// the public Group API on a DirStorage — MLS_BENCH_MEMORY=1: in memory;
// MLS_BENCH_SYNC_EVERY=K: a DirStorage syncing every K commits, and with
// MLS_BENCH_ERASE_AT_ONCE=1 erasing what each replaced at once — with the
// same event run by the core alone (transitions.Apply). Each reports the
// bytes the shell wrote per operation (B-written/op) and the process's CPU
// time per operation (cpu-ns/op). N=16384 runs only without -short.

// benchStorage opens the backend the environment selects.
func benchStorage(b *testing.B) mls.Storage {
	if os.Getenv("MLS_BENCH_MEMORY") != "" {
		return mls.NewMemoryStorage()
	}
	k, _ := strconv.Atoi(os.Getenv("MLS_BENCH_SYNC_EVERY"))
	erase := os.Getenv("MLS_BENCH_ERASE_AT_ONCE") != ""
	d, err := mls.OpenDirStorageWith(b.TempDir(), mls.DirOptions{SyncEvery: k, EraseAtOnce: erase})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

// BenchmarkShellSend: Group.Send of a 100-byte message, in the steady
// state of an epoch.
func BenchmarkShellSend(b *testing.B) { shellbench.Send(b, benchStorage) }

// BenchmarkCoreProtect: the same message protected by the core alone.
func BenchmarkCoreProtect(b *testing.B) { shellbench.CoreProtect(b) }

// BenchmarkShellReceive: Group.ProcessMessage of the sender's next
// 100-byte message, in the steady state of an epoch.
func BenchmarkShellReceive(b *testing.B) { shellbench.Receive(b, benchStorage) }

// BenchmarkCoreUnprotect: the same messages received by the core alone.
func BenchmarkCoreUnprotect(b *testing.B) { shellbench.CoreUnprotect(b) }

// BenchmarkShellCommitProcess: Group.ProcessMessage of another member's
// self-update commit with path, then MergeStagedCommit.
func BenchmarkShellCommitProcess(b *testing.B) { shellbench.CommitProcess(b, benchStorage) }

// BenchmarkCoreCommitProcess: the same commit received and merged by the
// core alone.
func BenchmarkCoreCommitProcess(b *testing.B) { shellbench.CoreCommitProcess(b) }

// BenchmarkShellCommitCreate: Group.SelfUpdate (a commit with path) then
// MergePendingCommit, the committer's side.
func BenchmarkShellCommitCreate(b *testing.B) { shellbench.CommitCreate(b, benchStorage) }

// BenchmarkCoreCommitCreate: the same commit created and merged by the
// core alone.
func BenchmarkCoreCommitCreate(b *testing.B) { shellbench.CoreCommitCreate(b) }

// BenchmarkCommitRatio: the shell's commit processing and creation
// against the core's, run side by side (shellbench.CommitRatio).
func BenchmarkCommitRatio(b *testing.B) { shellbench.CommitRatio(b, benchStorage) }

// BenchmarkMessageRatio: the shell's application messages (send and
// receive) against the core's, run side by side (shellbench.MessageRatio).
func BenchmarkMessageRatio(b *testing.B) { shellbench.MessageRatio(b, benchStorage) }
