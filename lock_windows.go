//go:build windows

package mls

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// errorSharingViolation is Windows' ERROR_SHARING_VIOLATION, which
// package syscall does not name.
const errorSharingViolation syscall.Errno = 32

// lockFile opens the file at path (created if needed) with no sharing
// allowed, and returns it: while it is open, no other process can open it.
// Windows closes the handle, and so releases the lock, when the process
// dies.
func lockFile(path string) (*os.File, error) {
	p, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	h, err := syscall.CreateFile(p, syscall.GENERIC_READ|syscall.GENERIC_WRITE, 0, nil,
		syscall.OPEN_ALWAYS, syscall.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		if errors.Is(err, errorSharingViolation) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("mls: locking %s: %w", path, err)
	}
	return os.NewFile(uintptr(h), path), nil
}
