//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package shellbench

import "time"

// ProcessCPU returns 0 where the standard library cannot read the
// process's CPU time: the benchmarks then leave cpu-ns/op out.
func ProcessCPU() time.Duration { return 0 }
