//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package mls

import "os"

// lockFile opens the file at path (created if needed). These systems (js,
// wasip1, plan9, solaris, aix, ...) offer the standard library no
// advisory lock: there, the application must make sure that one process
// at a time uses a directory (js and wasip1 run a single process).
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
