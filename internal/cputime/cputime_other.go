//go:build !linux

package cputime

import "time"

// ThreadSupported reports whether Thread reads the thread's CPU time here:
// only Linux counts it per thread (RUSAGE_THREAD).
const ThreadSupported = false

// Thread returns 0 where the thread's CPU time cannot be read.
func Thread() time.Duration { return 0 }
