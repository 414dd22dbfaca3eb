package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestThreadCounts checks that the thread's CPU time grows while it works
// and does not count time it sleeps.
func TestThreadCounts(t *testing.T) {
	if !ThreadSupported {
		t.Skip("no per-thread CPU time on " + runtime.GOOS)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := Thread()
	start := time.Now()
	x := uint64(1)
	for time.Since(start) < 50*time.Millisecond {
		for i := 0; i < 1000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	busy := Thread() - t0
	if x == 0 {
		t.Log(x) // keeps the loop
	}
	if busy <= 0 {
		t.Fatalf("thread CPU time did not grow over 50 ms of work: %v", busy)
	}
	t1 := Thread()
	time.Sleep(100 * time.Millisecond)
	if slept := Thread() - t1; slept > 50*time.Millisecond {
		t.Fatalf("thread CPU time grew by %v over a 100 ms sleep", slept)
	}
}
