package lzms

import (
	"syscall"
	"time"
)

// threadCPUTime returns the CPU time used by the calling OS thread, so that
// benchmarks can report a throughput that other load on a shared machine
// does not distort. The caller must lock its goroutine to the thread.
func threadCPUTime() (time.Duration, bool) {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
