//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package shellbench

import (
	"syscall"
	"time"
)

// ProcessCPU returns the process's user and system CPU time.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
