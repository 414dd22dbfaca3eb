package lzms

// saPrefetch8 starts the cache misses of the text bytes the induced sorts
// will read for the m suffix array entries at sa: for each entry j (taken
// as ^j if marked: top bit set; saFlag cleared), s[j-1] if j-1 < n, with
// PREFETCHT0. It returns 0.
// A call costs a few nanoseconds, so the sorts ask for a block at a time.
//
//go:noescape
func saPrefetch8(s *byte, sa *uint32, m int, n uint32) uint32

// saPrefetch32 is saPrefetch8 for a text of 32-bit symbols.
//
//go:noescape
func saPrefetch32(s *uint32, sa *uint32, m int, n uint32) uint32

// saPrefetchBkt starts the cache misses of the bucket table entries the
// induced sorts will use for the m entries at sa, in a text of 32-bit
// symbols below len(bkt): bkt[s[j-1]] for each entry j, if j-1 < n. It
// loads s[j-1], which an earlier saPrefetch32 should have brought in.
//
//go:noescape
func saPrefetchBkt(s, bkt, sa *uint32, m int, n uint32) uint32

// saPrefetch16 is saPrefetch8 for an array of 16-bit words, or, at half
// the address, the word j/2 of an array of 32-bit words (the LMS names).
//
//go:noescape
func saPrefetch16(s *uint16, sa *uint32, m int, n uint32) uint32
