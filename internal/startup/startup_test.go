package startup

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// sink keeps churn's allocations from being optimised away.
var sink [][]byte

// churn allocates n bytes of garbage in 64 KiB pieces.
func churn(n int) {
	for range n >> 16 {
		sink = append(sink, make([]byte, 64<<10))
		if len(sink) == 16 {
			sink = sink[:0]
		}
	}
	sink = nil
}

// readMetric returns the runtime metric name (a uint64 value).
func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestCollectFrom checks the heap floor: no collection while the runtime's
// memory stays under it; past it, a collection, after which the collector
// runs at the percent given and the memory limit is lifted.
func TestCollectFrom(t *testing.T) {
	percent := debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	limit := debug.SetMemoryLimit(-1)
	defer func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}()
	runtime.GC()
	inUse := readMetric("/memory/classes/total:bytes") - readMetric("/memory/classes/heap/released:bytes")
	collectFrom(int64(inUse)+32<<20, 77)
	if got := int64(readMetric("/gc/gogc:percent")); got != -1 {
		t.Fatalf("GOGC %d under the floor, want -1 (off)", got)
	}
	gcs := readMetric("/gc/cycles/total:gc-cycles")
	churn(8 << 20)
	if n := readMetric("/gc/cycles/total:gc-cycles") - gcs; n != 0 {
		t.Fatalf("%d collections with 8 MiB allocated under a floor 32 MiB above the memory in use", n)
	}
	churn(256 << 20)
	if readMetric("/gc/cycles/total:gc-cycles") == gcs {
		t.Fatal("no collection with 256 MiB allocated past the floor")
	}
	// The cleanup that turns the collector on runs in its own goroutine
	// after the collection.
	deadline := time.Now().Add(5 * time.Second)
	for readMetric("/gc/gogc:percent") != 77 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := readMetric("/gc/gogc:percent"); got != 77 {
		t.Fatalf("GOGC %d past the floor, want 77", got)
	}
	if got := readMetric("/gc/gomemlimit:bytes"); got != math.MaxInt64 {
		t.Fatalf("memory limit %d past the floor, want none (%d)", got, int64(math.MaxInt64))
	}
}
