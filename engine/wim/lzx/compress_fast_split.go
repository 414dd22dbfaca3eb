package lzx

// The fast level's block splitting. The default level's (splitRegion)
// estimates both sides of every token boundary, moving the tokens one by one
// from one side to the other: on 32 KiB chunks it took an eighth of the fast
// level's time, and split few of them. The fast level instead keeps the
// symbol counts of its parse at a few points of the region (every
// fastSplitSeg of it, at the first token start there), and cuts the region
// where the entropy estimates of both sides (as splitRegion estimates them)
// save the most, if they save more than a block costs; then each side the
// same way, fastSplitDepth levels deep.

const (
	fastSplitSegs  = 16 // points of a region where the parse's counts are kept
	fastSplitDepth = 2  // levels of cuts: at most 1<<fastSplitDepth blocks
	// fastSplitMin is the shortest region split: a shorter one (most
	// files are a few KiB) keeps no counts and stays one block. Down to
	// 2 KiB (two blocks of encMinBlock), the counts kept every KiB cost
	// about 5% of the fast level's time on tree A (most of it copying the
	// counts, then the estimates), and the cuts saved 0.004% of its
	// output.
	fastSplitMin = 16 << 10
)

// fastSplit is the fast level's splitting state for one region.
type fastSplit struct {
	seg  int           // distance between points
	next int           // region position of the next point
	pos  []int         // region positions of the points: 0, those kept, the region's end
	snap []symbolFreqs // the counts before each point (snap[0] stays zero)
	used []uint16      // symbols used in the region: main, length, then aligned ones
	nm   int           // main symbols in used
	nl   int           // length symbols in used
	cuts []int         // the cuts chosen, in order

	// memo[a][b] is est(a, b) once known[a][b] (for this region): the
	// second level of cuts asks again for half the estimates it needs,
	// those from a side of the first cut to the region's end.
	memo  [fastSplitSegs + 2][fastSplitSegs + 2]float64
	known [fastSplitSegs + 2][fastSplitSegs + 2]bool
}

// begin prepares for a region of rlen bytes.
func (s *fastSplit) begin(rlen int) {
	if s.snap == nil {
		s.snap = make([]symbolFreqs, fastSplitSegs+2)
	}
	s.pos = append(s.pos[:0], 0)
	s.seg = max(encMinBlock, rlen/fastSplitSegs)
	s.next = s.seg
	if rlen < fastSplitMin {
		s.next = rlen + 1 // no point
	}
}

// keep records counts f before region position p (a token start, p >=
// s.next).
func (s *fastSplit) keep(p int, f *symbolFreqs) {
	if len(s.pos) < len(s.snap)-1 {
		s.snap[len(s.pos)] = *f
		s.pos = append(s.pos, p)
	}
	s.next = p - p%s.seg + s.seg
}

// split returns the region positions where a region of rlen bytes, whose
// symbol counts are f, is best cut (none to keep it whole), in order.
func (s *fastSplit) split(f *symbolFreqs, rlen, numMain int) []int {
	s.cuts = s.cuts[:0]
	if len(s.pos) == 1 {
		return s.cuts
	}
	s.snap[len(s.pos)] = *f
	s.pos = append(s.pos, rlen)
	used := s.used[:0]
	for sym, n := range f.main[:numMain] {
		if n != 0 {
			used = append(used, uint16(sym))
		}
	}
	s.nm = len(used)
	for sym, n := range f.length {
		if n != 0 {
			used = append(used, uint16(sym))
		}
	}
	s.nl = len(used) - s.nm
	for sym, n := range f.aligned {
		if n != 0 {
			used = append(used, uint16(sym))
		}
	}
	s.used = used
	s.known = [fastSplitSegs + 2][fastSplitSegs + 2]bool{}
	s.splitRange(0, len(s.pos)-1, fastSplitDepth, xlogx())
	return s.cuts
}

// splitRange cuts the region between points a and b at the point that
// saves the most, if any, and recurses on both sides (depth levels in
// all), appending the cuts to s.cuts in order.
func (s *fastSplit) splitRange(a, b, depth int, t []float64) {
	p0, p1 := s.pos[a], s.pos[b]
	if depth == 0 || p1-p0 < 2*encMinBlock {
		return
	}
	best := min(s.est(a, b, t), rawBits(p1-p0))
	bestK := -1
	for k := a + 1; k < b; k++ {
		p := s.pos[k]
		if p-p0 < encMinBlock || p1-p < encMinBlock {
			continue
		}
		v := min(s.est(a, k, t), rawBits(p-p0)) + min(s.est(k, b, t), rawBits(p1-p))
		if v+encBlockBits < best {
			best, bestK = v, k
		}
	}
	if bestK < 0 {
		return
	}
	s.splitRange(a, bestK, depth-1, t)
	s.cuts = append(s.cuts, s.pos[bestK])
	s.splitRange(bestK, b, depth-1, t)
}

// est estimates the bits of a block from point a to point b, as
// blockEst.bits does.
func (s *fastSplit) est(a, b int, t []float64) float64 {
	if !s.known[a][b] {
		s.memo[a][b], s.known[a][b] = s.estNew(a, b, t), true
	}
	return s.memo[a][b]
}

// estNew is est worked out.
func (s *fastSplit) estNew(a, b int, t []float64) float64 {
	lo, hi := &s.snap[a], &s.snap[b]
	u := s.used
	me, _, mu := fastEntropy(lo.main[:], hi.main[:], u[:s.nm], t)
	le, _, lu := fastEntropy(lo.length[:], hi.length[:], u[s.nm:s.nm+s.nl], t)
	ae, an, _ := fastEntropy(lo.aligned[:], hi.aligned[:], u[s.nm+s.nl:], t)
	al := min(float64(alignedBits*an), ae+alignedLenBits*numAligned)
	return 3*numPreSyms*preLenBits + 20 + me + encTableBits*float64(mu) + le + encTableBits*float64(lu) + al
}

// fastEntropy returns the entropy in bits of the counts hi less lo of
// symbols syms, their total and how many are nonzero.
//
// The loop has no branch: a symbol of the region unused between the two
// points adds t[0], 0, which leaves the sum exactly as it was (a branch
// on it was mispredicted often enough to cost a third of the loop).
func fastEntropy(lo, hi []uint32, syms []uint16, t []float64) (float64, uint32, int) {
	var s float64
	var n uint32
	u := 0
	for _, sym := range syms {
		f := hi[sym] - lo[sym]
		s += t[f]
		n += f
		if f != 0 {
			u++
		}
	}
	return t[n] - s, n, u
}
