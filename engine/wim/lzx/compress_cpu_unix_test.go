//go:build unix

package lzx

import (
	"syscall"
	"time"
)

// ctCPUTime returns the CPU time used by the process so far, or 0 if
// unknown. Benchmarks report speed by it too: on a loaded machine, wall
// time says little.
func ctCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
