package mls

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mlscore/mlscore/state"
)

// The crash test: a child process (this test binary, re-executed) runs
// alice and bob, each on a DirStorage, through a long run of application
// messages and commits, and is killed with SIGKILL at a random moment.
// After every kill the parent reopens both stores — which erases what the
// interrupted write left — and searches their files for the secrets of
// every epoch the child had left; the next child recovers (merging or
// clearing a pending commit, delivering what the delivery service holds)
// and continues. At the end the two members must agree, and no
// application message may have been delivered twice.
//
// The delivery service is a file of framed messages (ds), the plaintexts
// bob delivered go to delivered, the old epochs' secrets to old; bob's
// position in ds is bob.pos. MLS_CRASH_KILLS sets the number of kills
// (10 by default).
const crashChildEnv = "MLS_TEST_CRASH_CHILD_DIR"

func init() {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		// Runs before TestMain: the child never returns.
		if err := crashRun(dir, -1); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
}

func appendSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	return errors.Join(werr, f.Sync(), f.Close())
}

func frame(b []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

// readFrames reads the complete frames of path (a torn last one is
// ignored: the child died while writing it).
func readFrames(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var out [][]byte
	for len(data) >= 4 {
		n := binary.BigEndian.Uint32(data)
		if uint64(len(data)-4) < uint64(n) {
			break
		}
		out = append(out, data[4:4+n])
		data = data[4+n:]
	}
	return out, err
}

func epochSecretsOf(g *Group) [][]byte {
	e := g.State().Private().Epoch
	return [][]byte{e.EncryptionSecret(), e.SenderDataSecret(), e.ExporterSecret(), e.ExternalSecret(),
		e.ConfirmationKey(), e.MembershipKey(), e.ResumptionPSK(), e.Next().Bytes()}
}

// crashOptions configures the members to keep no past epoch, so that
// every epoch's secrets must be gone from the files as soon as the member
// leaves it.
func crashOptions() *Options {
	cfg := state.DefaultConfig()
	cfg.MaxPastEpochs = 0
	return &Options{Config: &cfg}
}

// crashSetup creates alice's group with bob in dir.
func crashSetup(dir string) error {
	as, err := OpenDirStorage(filepath.Join(dir, "alice"))
	if err != nil {
		return err
	}
	defer as.Close()
	bs, err := OpenDirStorage(filepath.Join(dir, "bob"))
	if err != nil {
		return err
	}
	defer bs.Close()
	alice, err := NewClient(as, []byte("alice"), crashOptions())
	if err != nil {
		return err
	}
	bob, err := NewClient(bs, []byte("bob"), crashOptions())
	if err != nil {
		return err
	}
	ag, err := alice.CreateGroup(&GroupOptions{GroupID: []byte("crash")})
	if err != nil {
		return err
	}
	kp, err := bob.KeyPackage()
	if err != nil {
		return err
	}
	out, err := ag.AddMembers(kp)
	if err != nil {
		return err
	}
	if err := ag.MergePendingCommit(); err != nil {
		return err
	}
	tree, err := ag.RatchetTree()
	if err != nil {
		return err
	}
	_, err = bob.JoinGroup(out.Welcome, tree)
	return err
}

// crashRun recovers alice and bob in dir and runs steps operations (-1:
// until killed).
func crashRun(dir string, steps int) error {
	as, err := OpenDirStorage(filepath.Join(dir, "alice"))
	if err != nil {
		return err
	}
	defer as.Close()
	bs, err := OpenDirStorage(filepath.Join(dir, "bob"))
	if err != nil {
		return err
	}
	defer bs.Close()
	alice, err := OpenClient(as, crashOptions())
	if err != nil {
		return err
	}
	bob, err := OpenClient(bs, crashOptions())
	if err != nil {
		return err
	}
	ag, err := alice.OpenGroup([]byte("crash"))
	if err != nil {
		return fmt.Errorf("alice's group: %w", err)
	}
	bg, err := bob.OpenGroup([]byte("crash"))
	if err != nil {
		return fmt.Errorf("bob's group: %w", err)
	}
	dsPath, posPath := filepath.Join(dir, "ds"), filepath.Join(dir, "bob.pos")
	delivered := filepath.Join(dir, "delivered")
	recordOld := func(who string, old [][]byte) error {
		for _, s := range old {
			if err := appendSync(filepath.Join(dir, "old."+who), frame(s)); err != nil {
				return err
			}
		}
		return nil
	}
	ds, err := readFrames(dsPath)
	if err != nil {
		return err
	}
	// Alice's pending commit: merged if the delivery service has it.
	if pc, ok := ag.State().PendingCommit(); ok {
		accepted := len(ds) > 0 && bytes.Equal(ds[len(ds)-1], pc.Message)
		old := epochSecretsOf(ag)
		if accepted {
			if err := ag.MergePendingCommit(); err != nil {
				return err
			}
			if err := recordOld("alice", old); err != nil {
				return err
			}
		} else if err := ag.ClearPendingCommit(); err != nil {
			return err
		}
	}
	if _, ok := bg.State().StagedCommit(); ok {
		old := epochSecretsOf(bg)
		if err := bg.MergeStagedCommit(); err != nil {
			return err
		}
		if err := recordOld("bob", old); err != nil {
			return err
		}
	}
	pos := 0
	if b, err := os.ReadFile(posPath); err == nil {
		pos, _ = strconv.Atoi(string(b))
	}
	// bob receives ds[pos:]; a message whose processing was durable
	// before the crash (but not bob.pos) fails now: its key is gone.
	receive := func() error {
		for ; pos < len(ds); pos++ {
			pm, err := bg.ProcessMessage(ds[pos])
			if err == nil {
				switch pm.Kind {
				case CommitMessage:
					old := epochSecretsOf(bg)
					if err := bg.MergeStagedCommit(); err != nil {
						return err
					}
					if err := recordOld("bob", old); err != nil {
						return err
					}
				case ApplicationMessage:
					if err := appendSync(delivered, frame(pm.Data)); err != nil {
						return err
					}
				}
			}
			if err := os.WriteFile(posPath, []byte(strconv.Itoa(pos+1)), 0o600); err != nil {
				return err
			}
		}
		return nil
	}
	if err := receive(); err != nil {
		return err
	}
	for i := 0; steps < 0 || i < steps; i++ {
		if rand.IntN(5) == 0 {
			old := epochSecretsOf(ag)
			out, err := ag.SelfUpdate()
			if err != nil {
				return err
			}
			if err := appendSync(dsPath, frame(out.Commit)); err != nil {
				return err
			}
			ds = append(ds, out.Commit)
			if err := ag.MergePendingCommit(); err != nil {
				return err
			}
			if err := recordOld("alice", old); err != nil {
				return err
			}
		} else {
			msg, err := ag.Send(fmt.Appendf(nil, "message %d", len(ds)))
			if err != nil {
				return err
			}
			if err := appendSync(dsPath, frame(msg)); err != nil {
				return err
			}
			ds = append(ds, msg)
		}
		if err := receive(); err != nil {
			return err
		}
	}
	if !bytes.Equal(ag.EpochAuthenticator(), bg.EpochAuthenticator()) {
		return fmt.Errorf("alice (epoch %d) and bob (epoch %d) disagree", ag.Epoch(), bg.Epoch())
	}
	return nil
}

// grepOld fails if a file of dir/alice or dir/bob holds an old epoch's
// secret.
func grepOld(t *testing.T, dir string, when string) {
	t.Helper()
	for _, who := range []string{"alice", "bob"} {
		old, err := readFrames(filepath.Join(dir, "old."+who))
		check(t, err)
		// Opening the store erases what an interrupted write left.
		s, err := OpenDirStorage(filepath.Join(dir, who))
		check(t, err)
		check(t, s.Close())
		err = filepath.WalkDir(filepath.Join(dir, who), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, sec := range old {
				if bytes.Contains(data, sec) {
					return fmt.Errorf("%s: an old epoch's secret is in %s", when, path)
				}
			}
			return nil
		})
		check(t, err)
	}
}

func TestCrashSafety(t *testing.T) {
	kills := 10
	if v := os.Getenv("MLS_CRASH_KILLS"); v != "" {
		kills, _ = strconv.Atoi(v)
	}
	dir := t.TempDir()
	check(t, crashSetup(dir))
	for k := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		check(t, cmd.Start())
		time.Sleep(time.Duration(20+rand.IntN(180)) * time.Millisecond)
		cmd.Process.Kill() // SIGKILL on Unix
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 2 {
			t.Fatalf("kill %d: the child failed: %s", k, stderr.String())
		}
		grepOld(t, dir, fmt.Sprintf("after kill %d", k))
	}
	// Recover and continue in this process: the members agree.
	if err := crashRun(dir, 20); err != nil {
		t.Fatal(err)
	}
	grepOld(t, dir, "at the end")
	msgs, err := readFrames(filepath.Join(dir, "delivered"))
	check(t, err)
	seen := map[string]bool{}
	for _, m := range msgs {
		if seen[string(m)] {
			t.Fatalf("%q delivered twice", m)
		}
		seen[string(m)] = true
	}
	old, _ := readFrames(filepath.Join(dir, "old.alice"))
	t.Logf("%d kills, %d messages delivered, %d old secrets checked", kills, len(msgs), len(old))
}
