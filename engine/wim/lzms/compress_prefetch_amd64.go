package lzms

// prefetch3 starts the cache misses of the three words with PREFETCHT0 and
// returns 0. Unlike a load kept in a sum, a prefetch retires at once: the
// interval tree's walk (lcpFinder.advance) asks for words it needs a few
// positions on, and a load that missed there held up the retirement of the
// parse's work behind it.
//
//go:noescape
func prefetch3(a, b, c *uint32) uint32

// prefetch3d is prefetch3 that also prefetches, in the same call, the delta
// finder's table entries table[slots[0]] to table[slots[deltaPowers-1]]
// (see deltaFinder.keysAt), with PREFETCHT0, and returns 0. The slots are
// below the table's length. Loads of those entries a position early (the
// former deltaFinder.touch) blocked retirement as prefetch3's note says;
// folded into the walk's call, the prefetches cost no call of their own.
// Tree A of the small corpus, shared machine, interleaved runs, median CPU
// per chunk: 16 MiB chunks 0, 1, 10-13 (5 runs) 1.6-22% less; the first
// 64 MiB chunk 38.1 to 33.8 s (7 runs), the second 32.8 to 33.4 s (5 runs,
// within the noise); output unchanged.
//
//go:noescape
func prefetch3d(a, b, c *uint32, table []uint32, slots *[deltaPowers]uint32) uint32

var _ [0]struct{} = [deltaPowers - 6]struct{}{} // prefetch3d's assembly takes six slots

// prefetchTails starts, with PREFETCHT0, the cache misses of the source
// bytes that relaxAt's match + literal + rep0 check reads for each match of
// ms found at position p (at = &data[p]): the source's byte one past the
// match's end, at[1+length-offset]. The interval tree finds matches without
// reading their sources, so that read missed (15.6 % of relaxAt's samples);
// asked for as soon as the walk returns, it overlaps the delta finder's
// insert and the repeat and literal relaxations. The addresses may lie
// outside data (a prefetch does not fault); the caller keeps ms's offsets
// at most p.
//
//go:noescape
func prefetchTails(at *byte, ms []lzMatch)

// prefetchSources starts, with PREFETCHT0, the cache misses of the sources
// of the queued matches ms of the output that starts at out: for each, the
// bytes at pos-off and pos-off-span (a delta match reads both).
//
//go:noescape
func prefetchSources(out *byte, ms *[pendBatch]pendingMatch)

var _ [0]struct{} = [pendBatch - 16]struct{}{} // prefetchSources' assembly takes 16 matches
