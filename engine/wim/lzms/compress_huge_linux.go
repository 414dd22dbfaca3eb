package lzms

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// wordMap is an anonymous mapping of its own holding the interval tree's
// words, asked for in huge pages. The walk reads its two arrays (4 bytes a
// byte of the chunk each) at random: in 4 KiB pages nearly every access
// misses the TLB, and in a virtual machine a page walk costs many memory
// reads. madvise(MADV_HUGEPAGE) only gives huge pages to pages not yet
// touched: heap memory the runtime reuses has been (it zeroes it), so the
// words get a fresh mapping rather than a slice of the heap. (On the heap,
// with transparent huge pages in madvise mode, as on this project's bench
// machine, the arrays got almost none.) Tree A of the small corpus, the
// first two 64 MiB chunks, runs of the old and the new binary at once on a
// shared machine, CPU per chunk (old, new): chunk 0 47.9 and 45.1 s, 43.4
// and 41.8 s; chunk 1 51.0 and 47.1 s, 52.9 and 49.8 s; output unchanged.
type wordMap struct {
	b       []byte
	cleanup runtime.Cleanup
}

// hugePage is the size of a huge page on amd64.
const hugePage = 2 << 20

// mapWords returns n zero words in a mapping of their own and the mapping,
// or nil, nil for fewer words than a huge page holds or where the system
// refuses (the caller then uses the heap). The mapping is unmapped by free,
// or else once it is unreachable.
func mapWords(n int) ([]uint32, *wordMap) {
	if n*4 < hugePage {
		// No gain, and many small finders (tests) would pile up
		// mappings until a collection unmaps them.
		return nil, nil
	}
	b, err := unix.Mmap(-1, 0, n*4, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, nil
	}
	unix.Madvise(b, unix.MADV_HUGEPAGE) // best effort: small pages otherwise
	m := &wordMap{b: b}
	m.cleanup = runtime.AddCleanup(m, func(b []byte) { unix.Munmap(b) }, b)
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), n), m
}

// free unmaps m at once (nil: nothing to do); nothing may use its words
// after.
func (m *wordMap) free() {
	if m == nil {
		return
	}
	m.cleanup.Stop()
	unix.Munmap(m.b)
}
