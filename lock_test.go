package mls

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// lockChildEnv makes the test binary, re-executed by TestDirStorageLock,
// open the directory it names, report it on stdout, and wait to be
// killed.
const lockChildEnv = "MLS_TEST_LOCK_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(lockChildEnv); dir != "" {
		if _, err := OpenDirStorage(dir); err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(2)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute) // killed by the parent
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// TestDirStorageLock checks that a directory another process holds cannot
// be opened (ErrLocked), and that the lock of a killed process is gone.
func TestDirStorageLock(t *testing.T) {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "netbsd", "openbsd", "dragonfly", "windows":
	default:
		t.Skipf("no lock on %s", runtime.GOOS)
	}
	dir := filepath.Join(t.TempDir(), "store")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	check(t, err)
	check(t, cmd.Start())
	defer cmd.Process.Kill()
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	if string(buf[:n]) != "locked\n" {
		t.Fatalf("child: %q", buf[:n])
	}
	if _, err := OpenDirStorage(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("opening a directory another process holds: %v, want ErrLocked", err)
	}
	// The child dies without releasing anything: the lock goes with it.
	check(t, cmd.Process.Kill())
	cmd.Wait()
	s, err := OpenDirStorage(dir)
	if err != nil {
		t.Fatalf("opening after the holder was killed: %v", err)
	}
	// One holder at a time in this process too; Close releases.
	if _, err := OpenDirStorage(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open in one process: %v, want ErrLocked", err)
	}
	check(t, s.Close())
	s, err = OpenDirStorage(dir)
	check(t, err)
	check(t, s.Close())
}
