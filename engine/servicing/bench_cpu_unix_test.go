//go:build unix

package servicing

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system) used by the process so
// far, or 0 if unknown: on a loaded machine wall time says little.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
