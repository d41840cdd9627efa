package sqlite

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	mls "github.com/mlscore/mlscore"
	"github.com/mlscore/mlscore/internal/shellbench"
)

// The shell's storage benchmarks (package internal/shellbench, the same
// code the root package's BenchmarkShell* run) on a SQLite store, beside
// the core's figures for the same events in the same binary:
// BenchmarkSQLite* against BenchmarkCore*. Each reports cpu-ns/op (user +
// system CPU time from getrusage) and, for the shell, B-written/op.

func benchStore(b *testing.B) mls.Storage {
	k, _ := strconv.Atoi(os.Getenv("MLS_BENCH_SYNC_EVERY"))
	s, err := OpenWith(ctx, filepath.Join(b.TempDir(), "mls.db"), Options{SyncEvery: k})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkSQLiteSend: Group.Send of a 100-byte message.
func BenchmarkSQLiteSend(b *testing.B) { shellbench.Send(b, benchStore) }

// BenchmarkSQLiteReceive: Group.ProcessMessage of an application message.
func BenchmarkSQLiteReceive(b *testing.B) { shellbench.Receive(b, benchStore) }

// BenchmarkSQLiteCommitProcess: Group.ProcessMessage of a self-update
// commit with path, then MergeStagedCommit.
func BenchmarkSQLiteCommitProcess(b *testing.B) { shellbench.CommitProcess(b, benchStore) }

// BenchmarkCoreProtect: the message of BenchmarkSQLiteSend, core alone.
func BenchmarkCoreProtect(b *testing.B) { shellbench.CoreProtect(b) }

// BenchmarkCoreUnprotect: the messages of BenchmarkSQLiteReceive, core
// alone.
func BenchmarkCoreUnprotect(b *testing.B) { shellbench.CoreUnprotect(b) }

// BenchmarkCoreCommitProcess: the commit of BenchmarkSQLiteCommitProcess,
// core alone.
func BenchmarkCoreCommitProcess(b *testing.B) { shellbench.CoreCommitProcess(b) }

// BenchmarkSQLiteCommitRatio: commit processing and creation on SQLite
// against the core's, run side by side (shellbench.CommitRatio).
func BenchmarkSQLiteCommitRatio(b *testing.B) { shellbench.CommitRatio(b, benchStore) }

// BenchmarkSQLiteMessageRatio: application messages (send and receive) on
// SQLite against the core's, run side by side (shellbench.MessageRatio).
func BenchmarkSQLiteMessageRatio(b *testing.B) { shellbench.MessageRatio(b, benchStore) }
