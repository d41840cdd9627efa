//go:build !linux

package transitions

import "time"

// threadCPU returns 0: the benchmarks that need a thread's CPU time skip.
func threadCPU() time.Duration { return 0 }
