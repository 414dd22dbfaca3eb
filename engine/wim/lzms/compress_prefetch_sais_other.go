//go:build !amd64

package lzms

import "unsafe"

// saPrefetch8 starts the cache misses of the text bytes the induced sorts
// will read for the m suffix array entries at sa (s[j-1] for each entry j,
// marked or not, without saFlag, if j-1 < n) by loading them, and returns their sum, which
// the caller keeps so that the loads are not dropped (amd64 prefetches
// instead; see compress_prefetch_sais_amd64.go).
func saPrefetch8(s *byte, sa *uint32, m int, n uint32) uint32 {
	return saLoadAhead(unsafe.Slice(s, n), unsafe.Slice(sa, m))
}

// saPrefetch32 is saPrefetch8 for a text of 32-bit symbols.
func saPrefetch32(s *uint32, sa *uint32, m int, n uint32) uint32 {
	return saLoadAhead(unsafe.Slice(s, n), unsafe.Slice(sa, m))
}

func saLoadAhead[T byte | uint16 | uint32](s []T, sa []uint32) (sink uint32) {
	for _, j := range sa {
		if p := saUnmark(j)&^saFlag - 1; p < uint32(len(s)) {
			sink += uint32(s[p])
		}
	}
	return sink
}

// saPrefetchBkt loads bkt[s[j-1]] for each entry j of the m at sa, if
// j-1 < n.
func saPrefetchBkt(s, bkt, sa *uint32, m int, n uint32) uint32 {
	var sink uint32
	for _, j := range unsafe.Slice(sa, m) {
		if p := saUnmark(j) - 1; p < n {
			c := *(*uint32)(unsafe.Add(unsafe.Pointer(s), p*4))
			sink += *(*uint32)(unsafe.Add(unsafe.Pointer(bkt), c*4))
		}
	}
	return sink
}

// saUnmark is entry j with its mark taken off, if any.
func saUnmark(j uint32) uint32 { return j ^ uint32(int32(j)>>31) }

// saPrefetch16 loads s[j-1] of an array of 16-bit words for each entry j of
// the m at sa, if j-1 < n.
func saPrefetch16(s *uint16, sa *uint32, m int, n uint32) uint32 {
	return saLoadAhead(unsafe.Slice(s, n), unsafe.Slice(sa, m))
}
