package wim

import (
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"

	"golang.org/x/sys/unix"
)

// minorFaults returns the process's minor page faults so far.
func minorFaults(t *testing.T) int64 {
	t.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Minflt
}

// TestBlobIndexFaultsOnce: building an index faults each page of its slots
// in once, by a write (see newSlots), not twice (a read mapping the zero
// page, then a copy-on-write with a TLB shootdown): 256-265 faults for its
// 256 pages here, 521 before. (Pages the heap reuses fault not at all.)
func TestBlobIndexFaultsOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's shadow memory faults pages of its own")
	}
	const n = 1 << 16
	entries := make([]BlobEntry, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range entries {
		for j := range entries[i].Hash {
			entries[i].Hash[j] = byte(r.Uint32())
		}
	}
	// No collection in the measure: it could fault pages of its own.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	runtime.GC()
	pages := int64(blobIndexSize(n) * 8 / 4096)
	f0 := minorFaults(t)
	x := newBlobIndex(n)
	for i := range entries {
		if !x.insert(entries, i) {
			t.Fatalf("entry %d refused", i)
		}
	}
	faults := minorFaults(t) - f0
	t.Logf("%d faults for %d pages of slots", faults, pages)
	// Twice a page without newSlots; the half page over one leaves room
	// for a stray fault elsewhere in the process (a test binary's leftover
	// goroutines).
	if faults > pages*3/2 {
		t.Errorf("%d page faults building an index of %d pages, want about one a page", faults, pages)
	}
	if i, ok := x.find(entries, entries[n/2].Hash); !ok || i != n/2 {
		t.Errorf("find = %d, %v; want %d", i, ok, n/2)
	}
}
