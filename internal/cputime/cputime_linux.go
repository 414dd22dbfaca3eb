package cputime

import (
	"syscall"
	"time"
)

// ThreadSupported reports whether Thread reads the thread's CPU time here.
const ThreadSupported = true

// Thread returns the CPU time (user and system) the calling OS thread has
// used; 0 if the system refuses to tell. The caller locks its goroutine to
// the thread (runtime.LockOSThread) for two readings to be comparable.
func Thread() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
