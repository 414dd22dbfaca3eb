//go:build !amd64

package lzms

// prefetch3 starts the cache misses of the three words by loading them, and
// returns their sum, which the caller keeps so that the loads are not
// dropped (amd64 prefetches instead; see compress_prefetch_amd64.go).
func prefetch3(a, b, c *uint32) uint32 { return *a + *b + *c }

// prefetch3d is prefetch3 that also loads the delta finder's table entries
// table[slots[k]] (slots below len(table)), summed in.
func prefetch3d(a, b, c *uint32, table []uint32, slots *[deltaPowers]uint32) uint32 {
	sum := *a + *b + *c
	for _, h := range slots {
		sum += table[h]
	}
	return sum
}

// prefetchTails does nothing here: amd64 prefetches the matches' source
// bytes (see compress_prefetch_amd64.go), which relaxAt reads anyway.
func prefetchTails(at *byte, ms []lzMatch) {}

// prefetchSources does nothing here: amd64 prefetches the queued matches'
// sources (see compress_prefetch_amd64.go), which the copies read anyway.
func prefetchSources(out *byte, ms *[pendBatch]pendingMatch) {}
