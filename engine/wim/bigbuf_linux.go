package wim

import "golang.org/x/sys/unix"

// bigBuf returns a zero buffer of n bytes outside the Go heap, in huge
// pages where the system gives them (a first touch then faults once per
// 2 MiB, not per 4 KiB), and the function that frees it: nothing may
// refer to the buffer after. It returns nil when the system refuses (the
// caller then allocates as usual). Pages never written cost no memory, as
// on the heap.
func bigBuf(n int64) ([]byte, func()) { return mapBuf(n, true) }

// mapBuf is bigBuf, in small pages unless huge: a buffer written only in
// part (a compressed chunk's output) then holds only the pages written,
// not each 2 MiB they fall in.
func mapBuf(n int64, huge bool) ([]byte, func()) {
	b, err := unix.Mmap(-1, 0, int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, func() {}
	}
	advice := unix.MADV_NOHUGEPAGE // also where huge pages are the default
	if huge {
		advice = unix.MADV_HUGEPAGE // best effort: small pages otherwise
	}
	unix.Madvise(b, advice)
	return b, func() { unix.Munmap(b) }
}

// dropPages gives the pages of a buffer of mapBuf back to the system: it
// reads as zeros after, and its pages cost memory again only once written.
func dropPages(b []byte) { unix.Madvise(b, unix.MADV_DONTNEED) }
