package sqlite

import (
	"crypto/sha256"
	"encoding/binary"
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

// BenchmarkCommitBatch: Commit alone, on a store with Options.SyncEvery
// 64 and 0 holding 3000 values: "one" is a message's batch (one 92-byte
// value replaced), "commit" a processed commit's (16 values put under new
// random keys, 12 replaced, one 1.5 KB value replaced, 16 deleted).
func BenchmarkCommitBatch(b *testing.B) {
	for _, c := range []struct {
		name string
		k    int
	}{{"one/SyncEvery=64", 64}, {"commit/SyncEvery=64", 64}, {"one/SyncEvery=0", 0}, {"commit/SyncEvery=0", 0}} {
		b.Run(c.name, func(b *testing.B) {
			s, err := OpenWith(ctx, filepath.Join(b.TempDir(), "mls.db"), Options{SyncEvery: c.k})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			key := func(i int) []byte {
				h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
				return append([]byte("node/"), h[:16]...)
			}
			var fill mls.Batch
			for i := range 3000 {
				fill.Put(key(i), make([]byte, 80))
			}
			fill.Put([]byte("msg"), make([]byte, 92))
			fill.Put([]byte("snap"), make([]byte, 1500))
			for i := range 12 {
				fill.Put([]byte{'s', byte(i)}, make([]byte, 40))
			}
			if err := s.Commit(ctx, &fill); err != nil {
				b.Fatal(err)
			}
			next := 3000
			one := c.name[:3] == "one"
			t0 := shellbench.ProcessCPU()
			for i := 0; b.Loop(); i++ {
				var bt mls.Batch
				if one {
					bt.Put([]byte("msg"), binary.BigEndian.AppendUint64(make([]byte, 84), uint64(i)))
				} else {
					// In the order of the shell's batch: new values, then
					// deletions.
					for j := range 16 {
						bt.Put(key(next+j), make([]byte, 80))
					}
					for j := range 12 {
						bt.Put([]byte{'s', byte(j)}, binary.BigEndian.AppendUint64(make([]byte, 32), uint64(i)))
					}
					bt.Put([]byte("snap"), binary.BigEndian.AppendUint64(make([]byte, 1492), uint64(i)))
					for j := range 16 {
						bt.Delete(key(next - 3000 + j))
					}
					next += 16
				}
				if err := s.Commit(ctx, &bt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(shellbench.ProcessCPU()-t0)/float64(b.N), "cpu-ns/op")
		})
	}
}
