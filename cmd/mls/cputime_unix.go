//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import "syscall"

// processCPU returns the process's user and system CPU time in
// nanoseconds, and whether the platform reports it.
func processCPU() (int64, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
