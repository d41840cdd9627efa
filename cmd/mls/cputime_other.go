//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

// processCPU reports that the platform gives no process CPU time here;
// mls bench -scenario then measures wall-clock time.
func processCPU() (int64, bool) { return 0, false }
