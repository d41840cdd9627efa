package storagetest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	mls "github.com/mlscore/mlscore"
)

// crashChildEnv names the directory of the run in a child process of
// RunCrash: the test binary, re-executed with -test.run selecting the
// test that called RunCrash, finds it and runs the members until killed.
const crashChildEnv = "MLS_STORAGETEST_CRASH_DIR"

// crashReady is what the child writes on its standard output once it has
// opened the groups.
const crashReady = "ready\n"

// RunCrash is the crash test of a backend. A child process — the test
// binary, re-executed to run only the calling test, in which RunCrash
// finds the environment variable it set and never returns — runs alice
// and bob, each on a store of the backend, through a long run of
// application messages and commits, and is killed with SIGKILL at a
// random moment, kills times. After every kill RunCrash reopens both
// stores, which must erase whatever the interrupted write left, and both
// groups, checks that the members are at most one commit apart, and
// searches every file of their directories for the secrets of each epoch
// the members had left (the members keep no past epoch). The next child
// reopens the groups — which the shell checks against their stored tree
// hashes, so a mixture of two states fails — recovers (merging or clearing
// alice's pending commit by what the delivery service holds, merging bob's
// staged commit, receiving what bob had not received) and continues.
// At the end the two members must agree on the epoch authenticator, and
// no application message may have been delivered twice.
//
// kills ≤ 0 takes the number from the environment variable
// MLS_CRASH_KILLS, 10 if it is unset. The child runs the calling test
// from its start, so RunCrash must be the first thing, and the only
// RunCrash, of a test of its own; the backend must not be volatile.
//
// The run's directory holds the delivery service (ds, framed messages),
// bob's position in it (bob.pos), the plaintexts bob delivered
// (delivered) and the old epochs' secrets (old.alice, old.bob); the
// members' stores are in its subdirectories alice and bob.
func RunCrash(t *testing.T, b Backend, kills int) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		// The child: runs until killed.
		err := crashRun(t, b, dir, -1)
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(3)
	}
	if b.Volatile {
		t.Skip("a volatile backend cannot survive a crash")
	}
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skipf("no child processes on %s", runtime.GOOS)
	}
	if kills <= 0 {
		kills = 10
		if v := os.Getenv("MLS_CRASH_KILLS"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				t.Fatalf("MLS_CRASH_KILLS=%q: want a positive number", v)
			}
			kills = n
		}
	}
	dir := t.TempDir()
	must(t, crashSetup(t, b, dir))
	var run []string
	for _, part := range strings.Split(t.Name(), "/") {
		run = append(run, "^"+regexp.QuoteMeta(part)+"$")
	}
	for k := range kills {
		cmd := exec.Command(os.Args[0], "-test.run="+strings.Join(run, "/"), "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		var out bytes.Buffer
		cmd.Stderr = &out
		stdout, err := cmd.StdoutPipe()
		must(t, err)
		must(t, cmd.Start())
		// Most kills come at a random moment after the child has opened
		// the groups (it says "ready"), so that they hit the run rather
		// than the process's start; one in eight at a random moment after
		// the start, which hits the opening and the recovery too.
		ready, done := make(chan struct{}), make(chan struct{})
		var rest bytes.Buffer
		go func() {
			defer close(done)
			line := make([]byte, len(crashReady))
			if _, err := io.ReadFull(stdout, line); err == nil && string(line) == crashReady {
				close(ready)
			}
			io.Copy(&rest, stdout)
		}()
		if rand.IntN(8) != 0 {
			select {
			case <-ready:
			case <-time.After(10 * time.Second):
			}
		}
		time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
		cmd.Process.Kill() // SIGKILL on Unix
		<-done             // the pipe's end: the child is gone
		cmd.Wait()
		out.Write(rest.Bytes())
		// A child that exited on its own failed (on Windows a killed
		// process exits with code 1).
		if st := cmd.ProcessState; st.Exited() && (runtime.GOOS != "windows" || st.ExitCode() != 1) {
			t.Fatalf("kill %d: the child exited with code %d: %s", k, st.ExitCode(), out.Bytes())
		}
		crashGrep(t, b, dir, fmt.Sprintf("after kill %d", k))
	}
	// Recover and continue in this process: the members agree.
	if err := crashRun(t, b, dir, 20); err != nil {
		t.Fatal(err)
	}
	crashGrep(t, b, dir, "at the end")
	msgs, err := readFrames(filepath.Join(dir, "delivered"))
	must(t, err)
	seen := map[string]bool{}
	for _, m := range msgs {
		if seen[string(m)] {
			t.Fatalf("%q delivered twice", m)
		}
		seen[string(m)] = true
	}
	old, err := readFrames(filepath.Join(dir, "old.alice"))
	must(t, err)
	t.Logf("%d kills, %d messages delivered, %d old secrets of alice checked", kills, len(msgs), len(old))
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

// epochSecretsOf lists the secrets of g's epoch.
func epochSecretsOf(g *mls.Group) [][]byte {
	e := g.State().Private().Epoch
	return [][]byte{e.EncryptionSecret(), e.SenderDataSecret(), e.ExporterSecret(), e.ExternalSecret(),
		e.ConfirmationKey(), e.MembershipKey(), e.ResumptionPSK(), e.Next().Bytes()}
}

// crashOptions configures the members to keep no past epoch, so that
// every epoch's secrets must be gone from the files as soon as the member
// leaves it.
func crashOptions() *mls.Options {
	cfg := mls.DefaultConfig()
	cfg.MaxPastEpochs = 0
	return &mls.Options{Config: &cfg}
}

// crashStores opens the stores of alice and bob in dir; done closes them.
func crashStores(t *testing.T, b Backend, dir string) (as, bs mls.Storage, done func(), err error) {
	for _, who := range []string{"alice", "bob"} {
		if err := os.MkdirAll(filepath.Join(dir, who), 0o700); err != nil {
			return nil, nil, nil, err
		}
	}
	as = b.Open(t, filepath.Join(dir, "alice"))
	bs = b.Open(t, filepath.Join(dir, "bob"))
	return as, bs, func() { closeStore(t, as); closeStore(t, bs) }, nil
}

// crashSetup creates alice's group with bob in dir.
func crashSetup(t *testing.T, b Backend, dir string) error {
	as, bs, done, err := crashStores(t, b, dir)
	if err != nil {
		return err
	}
	defer done()
	alice, err := mls.NewClient(as, []byte("alice"), crashOptions())
	if err != nil {
		return err
	}
	bob, err := mls.NewClient(bs, []byte("bob"), crashOptions())
	if err != nil {
		return err
	}
	ag, err := alice.CreateGroup(&mls.GroupOptions{GroupID: []byte("crash")})
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
	if _, err = bob.JoinGroup(out.Welcome, tree); err != nil {
		return err
	}
	return errors.Join(alice.Close(), bob.Close())
}

// crashMembers is one run's view of the two members and the files of the
// run's directory.
type crashMembers struct {
	dir    string
	ag, bg *mls.Group
	ds     [][]byte // the delivery service's messages
	pos    int      // how many of them bob received
}

func (m *crashMembers) recordOld(who string, old [][]byte) error {
	for _, s := range old {
		if err := appendSync(filepath.Join(m.dir, "old."+who), frame(s)); err != nil {
			return err
		}
	}
	return nil
}

// recover finishes what the previous run left: alice's pending commit is
// merged if the delivery service has it and cleared if not, and bob's
// staged commit is merged.
func (m *crashMembers) recover() error {
	if pc, ok := m.ag.State().PendingCommit(); ok {
		old := epochSecretsOf(m.ag)
		if len(m.ds) > 0 && bytes.Equal(m.ds[len(m.ds)-1], pc.Message) {
			if err := m.ag.MergePendingCommit(); err != nil {
				return err
			}
			if err := m.recordOld("alice", old); err != nil {
				return err
			}
		} else if err := m.ag.ClearPendingCommit(); err != nil {
			return err
		}
	}
	if _, ok := m.bg.State().StagedCommit(); ok {
		old := epochSecretsOf(m.bg)
		if err := m.bg.MergeStagedCommit(); err != nil {
			return err
		}
		return m.recordOld("bob", old)
	}
	return nil
}

// receive makes bob process ds[pos:]. A message whose processing was
// durable before a crash (but not bob.pos) fails now: its key is gone,
// so it is not delivered twice.
func (m *crashMembers) receive() error {
	for ; m.pos < len(m.ds); m.pos++ {
		pm, err := m.bg.ProcessMessage(m.ds[m.pos])
		if err == nil {
			switch pm.Kind {
			case mls.CommitMessage:
				old := epochSecretsOf(m.bg)
				if err := m.bg.MergeStagedCommit(); err != nil {
					return err
				}
				if err := m.recordOld("bob", old); err != nil {
					return err
				}
			case mls.ApplicationMessage:
				if err := appendSync(filepath.Join(m.dir, "delivered"), frame(pm.Data)); err != nil {
					return err
				}
			}
		}
		if err := os.WriteFile(filepath.Join(m.dir, "bob.pos"), []byte(strconv.Itoa(m.pos+1)), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// step makes alice commit (one time in five) or send a message, and bob
// receive it.
func (m *crashMembers) step() error {
	var msg []byte
	if rand.IntN(5) == 0 {
		old := epochSecretsOf(m.ag)
		out, err := m.ag.SelfUpdate()
		if err != nil {
			return err
		}
		if err := appendSync(filepath.Join(m.dir, "ds"), frame(out.Commit)); err != nil {
			return err
		}
		m.ds = append(m.ds, out.Commit)
		if err := m.ag.MergePendingCommit(); err != nil {
			return err
		}
		if err := m.recordOld("alice", old); err != nil {
			return err
		}
	} else {
		var err error
		if msg, err = m.ag.Send(fmt.Appendf(nil, "message %d", len(m.ds))); err != nil {
			return err
		}
		if err := appendSync(filepath.Join(m.dir, "ds"), frame(msg)); err != nil {
			return err
		}
		m.ds = append(m.ds, msg)
	}
	return m.receive()
}

// crashRun recovers alice and bob in dir and runs steps operations (-1:
// until killed).
func crashRun(t *testing.T, b Backend, dir string, steps int) error {
	as, bs, done, err := crashStores(t, b, dir)
	if err != nil {
		return err
	}
	defer done()
	m := &crashMembers{dir: dir}
	var closeAll func()
	if m.ag, m.bg, closeAll, err = crashGroups(as, bs); err != nil {
		return err
	}
	defer closeAll()
	if m.ds, err = readFrames(filepath.Join(dir, "ds")); err != nil {
		return err
	}
	if steps < 0 {
		os.Stdout.WriteString(crashReady)
	}
	if err := m.recover(); err != nil {
		return err
	}
	// A torn bob.pos (the child died while writing it) reads as 0: bob
	// processes the whole delivery service again, and every message he
	// had processed fails (its key or its epoch is gone).
	if p, err := os.ReadFile(filepath.Join(dir, "bob.pos")); err == nil {
		m.pos, _ = strconv.Atoi(string(p))
	}
	if err := m.receive(); err != nil {
		return err
	}
	for i := 0; steps < 0 || i < steps; i++ {
		if err := m.step(); err != nil {
			return err
		}
	}
	if !bytes.Equal(m.ag.EpochAuthenticator(), m.bg.EpochAuthenticator()) {
		return fmt.Errorf("alice (epoch %d) and bob (epoch %d) disagree", m.ag.Epoch(), m.bg.Epoch())
	}
	return nil
}

// crashGroups opens alice's and bob's clients and their groups; closeAll
// closes the clients.
func crashGroups(as, bs mls.Storage) (ag, bg *mls.Group, closeAll func(), err error) {
	alice, err := mls.OpenClient(as, crashOptions())
	if err != nil {
		return nil, nil, nil, err
	}
	bob, err := mls.OpenClient(bs, crashOptions())
	if err != nil {
		alice.Close()
		return nil, nil, nil, err
	}
	closeAll = func() { bob.Close(); alice.Close() }
	if ag, err = alice.OpenGroup([]byte("crash")); err != nil {
		closeAll()
		return nil, nil, nil, fmt.Errorf("alice's group: %w", err)
	}
	if bg, err = bob.OpenGroup([]byte("crash")); err != nil {
		closeAll()
		return nil, nil, nil, fmt.Errorf("bob's group: %w", err)
	}
	return ag, bg, closeAll, nil
}

// crashEpochs opens both groups — which fails if a group's stored
// snapshot and tree nodes are of different states — and checks that the
// members are at most one commit apart in the direction the run allows:
// bob is at alice's epoch or one behind, or one ahead if alice has the
// commit he processed still pending.
func crashEpochs(as, bs mls.Storage) error {
	ag, bg, closeAll, err := crashGroups(as, bs)
	if err != nil {
		return err
	}
	defer closeAll()
	ahead := uint64(0)
	if _, ok := ag.State().PendingCommit(); ok {
		ahead = 1
	}
	if ea, eb := ag.Epoch(), bg.Epoch(); eb > ea+ahead || ea > eb+1 {
		return fmt.Errorf("alice is at epoch %d (%d pending), bob at %d", ea, ahead, eb)
	}
	return nil
}

// crashGrep reopens the stores of alice and bob — which erases what an
// interrupted write left — and their groups (crashEpochs), closes them,
// and fails if a file of their directories holds an old epoch's secret of
// its member.
func crashGrep(t *testing.T, b Backend, dir string, when string) {
	t.Helper()
	as, bs, done, err := crashStores(t, b, dir)
	must(t, err)
	if err := crashEpochs(as, bs); err != nil {
		done()
		t.Fatalf("%s: %v", when, err)
	}
	done()
	for _, who := range []string{"alice", "bob"} {
		old, err := readFrames(filepath.Join(dir, "old."+who))
		must(t, err)
		path, _, err := findSecret(filepath.Join(dir, who), old)
		must(t, err)
		if path != "" {
			t.Fatalf("%s: an old epoch's secret of %s is in %s", when, who, path)
		}
	}
}

// findSecret returns the first file below dir that holds one of secrets,
// and that secret's index; path is "" if no file does.
func findSecret(dir string, secrets [][]byte) (path string, index int, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path != "" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, s := range secrets {
			if bytes.Contains(data, s) {
				path, index = p, i
				return filepath.SkipAll
			}
		}
		return nil
	})
	return path, index, err
}
