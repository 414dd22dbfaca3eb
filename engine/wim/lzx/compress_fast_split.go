package lzx

// The fast level's block splitting. The default level's (splitRegion)
// estimates both sides of every token boundary, moving the tokens one by one
// from one side to the other: on 32 KiB chunks it took an eighth of the fast
// level's time, and split few of them. The fast level instead keeps the
// symbol counts of its parse at a few points of the region (every
// fastSplitSeg of it, at the first token start there), and cuts the region
// in two at the point where the entropy estimates of both sides (as
// splitRegion estimates them) save the most, if they save more than a block
// costs.

const fastSplitSegs = 16 // points of a region where the parse's counts are kept

// fastSplit is the fast level's splitting state for one region.
type fastSplit struct {
	seg  int           // distance between points
	next int           // region position of the next point
	pos  []int         // region positions of the points kept
	snap []symbolFreqs // the counts before each of them
	used []uint16      // symbols used in the region: main, length, then aligned ones
}

// begin prepares for a region of rlen bytes.
func (s *fastSplit) begin(rlen int) {
	if s.snap == nil {
		s.snap = make([]symbolFreqs, fastSplitSegs)
	}
	s.pos = s.pos[:0]
	s.seg = max(encMinBlock, rlen/fastSplitSegs)
	s.next = s.seg
	if rlen < 2*encMinBlock {
		s.next = rlen + 1 // no point
	}
}

// keep records counts f before region position p (a token start, p >=
// s.next).
func (s *fastSplit) keep(p int, f *symbolFreqs) {
	if len(s.pos) < len(s.snap) {
		s.snap[len(s.pos)] = *f
		s.pos = append(s.pos, p)
	}
	s.next = p - p%s.seg + s.seg
}

// best returns the region position where a region of rlen bytes, whose
// symbol counts are f, is best cut in two, or 0 to keep it whole.
func (s *fastSplit) best(f *symbolFreqs, rlen, numMain int) int {
	if len(s.pos) == 0 {
		return 0
	}
	t := xlogx()
	used := s.used[:0]
	for sym, n := range f.main[:numMain] {
		if n != 0 {
			used = append(used, uint16(sym))
		}
	}
	nMainUsed := len(used)
	for sym, n := range f.length {
		if n != 0 {
			used = append(used, uint16(sym))
		}
	}
	nLenUsed := len(used) - nMainUsed
	for sym, n := range f.aligned {
		if n != 0 {
			used = append(used, uint16(sym))
		}
	}
	s.used = used
	whole := fastEst(f, f, used, nMainUsed, nLenUsed, false, t)
	bestV, bestP := min(whole, rawBits(rlen)), 0
	for k, p := range s.pos {
		if p < encMinBlock || rlen-p < encMinBlock {
			continue
		}
		left := fastEst(&s.snap[k], f, used, nMainUsed, nLenUsed, false, t)
		right := fastEst(&s.snap[k], f, used, nMainUsed, nLenUsed, true, t)
		if v := min(left, rawBits(p)) + min(right, rawBits(rlen-p)); v+encBlockBits < bestV {
			bestV, bestP = v, p
		}
	}
	return bestP
}

// fastEst estimates the bits of a block whose counts are a (or, with rest,
// total less a), as blockEst.bits does, over the symbols used: the first
// nMain of used are main symbols, the next nLen length symbols, the rest
// aligned ones.
func fastEst(a, total *symbolFreqs, used []uint16, nMain, nLen int, rest bool, t []float64) float64 {
	me, _, mu := fastEntropy(a.main[:], total.main[:], used[:nMain], rest, t)
	le, _, lu := fastEntropy(a.length[:], total.length[:], used[nMain:nMain+nLen], rest, t)
	ae, an, _ := fastEntropy(a.aligned[:], total.aligned[:], used[nMain+nLen:], rest, t)
	al := min(float64(alignedBits*an), ae+alignedLenBits*numAligned)
	return 3*numPreSyms*preLenBits + 20 + me + encTableBits*float64(mu) + le + encTableBits*float64(lu) + al
}

// fastEntropy returns the entropy in bits of the counts cnt (or, with rest,
// tot less cnt) of symbols syms, their total and how many are nonzero.
func fastEntropy(cnt, tot []uint32, syms []uint16, rest bool, t []float64) (float64, uint32, int) {
	var s float64
	var n uint32
	u := 0
	for _, sym := range syms {
		f := cnt[sym]
		if rest {
			f = tot[sym] - f
		}
		if f != 0 {
			s += t[f]
			n += f
			u++
		}
	}
	return t[n] - s, n, u
}
